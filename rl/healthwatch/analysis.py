"""One analysis: the weights of every network of the agent at one step, diagnosed by
``health``, as a typed :class:`rl.telemetry.HealthRecord`.

:class:`HealthJob` is what the training thread hands over -- plain numpy copies of the
state dicts, the layers' activations, recent observations (and the actions taken in them)
from the replay buffer -- and :func:`analyse` runs in the analysis process. Every figure
comes from ``health``: ``health.analyze_network`` (WeightWatcher, the activation method's
dead neurons, verdicts and issues) and ``health.dead_neurons`` with the weight method;
:func:`network_record` only copies its rows, summary and verdicts into the record's types.
torch is imported inside the functions that need it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rl import telemetry as T

if TYPE_CHECKING:  # pragma: no cover
    from health import DeadNeurons, InputSamples, NetworkHealth, Verdict

__all__ = ["HealthJob", "analyse", "analyse_network", "input_samples_for", "network_record", "verdict_part"]

#: InputSamples.source of the observations the watch hands to the activation method.
REPLAY_SOURCE = "replay buffer"


@dataclass
class HealthJob:
    """The weights of step ``step`` and what the analysis needs besides.

    ``weights``: per network, its state dict as float numpy arrays; ``activations``: per
    network, each layer's activation (``rl.telemetry.LayerInfo.activation``);
    ``targets``: each target network and the network it follows; ``observations``:
    recent observations (k, obs_dim) and ``actions`` the vector actions taken in them (k,
    action_dim), None for discrete actions -- a critic of continuous actions reads both.
    """

    step: int
    time: float
    weights: dict[str, dict[str, np.ndarray]]
    activations: dict[str, dict[str, str]] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    observations: np.ndarray | None = None
    actions: np.ndarray | None = None
    checkpoint: str | None = None


def input_samples_for(job: HealthJob, input_size: int | None) -> InputSamples | None:
    """Inputs for a network of ``input_size`` inputs from the job's recent experience: the
    observations, or (observation, action) pairs for a critic that reads both; None when
    neither fits (then ``health`` counts dead neurons by the weight method and says why)."""
    from health import InputSamples

    obs = job.observations
    if input_size is None or obs is None or obs.ndim != 2 or not len(obs):
        return None
    if obs.shape[1] == input_size:
        return InputSamples(
            obs.astype(np.float32), REPLAY_SOURCE, f"the {len(obs)} newest observations in the replay buffer"
        )
    actions = job.actions
    if (
        actions is not None
        and actions.ndim == 2
        and len(actions) == len(obs)
        and obs.shape[1] + actions.shape[1] == input_size
    ):
        values = np.concatenate([obs, actions], axis=1).astype(np.float32)
        return InputSamples(
            values, REPLAY_SOURCE, f"the {len(values)} newest (observation, action) pairs in the replay buffer"
        )
    return None


def analyse(job: HealthJob) -> T.HealthRecord:
    """Every network of the job, analysed (a network whose analysis fails carries the
    error and no layers; the others are unaffected)."""
    started = time.perf_counter()
    networks = [
        analyse_network(
            name,
            weights,
            job.activations.get(name, {}),
            lambda size: input_samples_for(job, size),
            job.targets.get(name),
        )
        for name, weights in job.weights.items()
    ]
    return T.HealthRecord(
        step=int(job.step),
        time=float(job.time),
        networks=networks,
        checkpoint=job.checkpoint,
        seconds=round(time.perf_counter() - started, 4),
    )


def analyse_network(
    name: str,
    weights: Mapping[str, np.ndarray],
    activations: Mapping[str, str],
    samples,
    target_of: str | None = None,
) -> T.HealthNetwork:
    """One network: rebuilt from its weights (``health.build_network``), analysed with the
    activation method's dead neurons on ``samples(input_size)`` and counted again by the
    weight method."""
    try:
        import torch

        from health import analyze_network, build_network, dead_neurons

        state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()}
        net = build_network(name, state, dict(activations))
        result = analyze_network(net, dead_method="activation", samples=samples(net.input_size))
        by_weight = dead_neurons(net, "weight")
        return network_record(result, by_weight, target_of)
    except Exception as exc:  # one network's failure is reported in its record, never raised
        return T.HealthNetwork(name, target_of=target_of, error=f"{type(exc).__name__}: {exc}")


def verdict_part(verdict: Verdict | None) -> T.HealthVerdict | None:
    """A ``health`` verdict as the record's part."""
    if verdict is None:
        return None
    return T.HealthVerdict(verdict.key, verdict.label, verdict.meaning, verdict.advice, verdict.severity)


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def network_record(h: NetworkHealth, by_weight: DeadNeurons, target_of: str | None = None) -> T.HealthNetwork:
    """``health``'s diagnosis of one network (its ``rows()``, ``summary()`` and verdicts)
    with the weight method's dead neurons (``by_weight``), as a record part."""
    from health import dead_verdict

    summary = h.summary()
    activation_method = summary["dead_method"] == "activation"
    layers = []
    for lh, row in zip(h.layers, h.rows()):
        analysed = bool(row["analysed"])
        units = _int(row["units"])
        by_activation = _int(row["dead_neurons"]) if activation_method else None
        weight_count = by_weight.per_layer.get(lh.index)
        dead_weight = int(weight_count[0]) if weight_count is not None else None
        dead = by_activation if by_activation is not None else dead_weight
        layers.append(
            T.HealthLayer(
                name=str(row["layer"]),
                kind=str(row["kind"]),
                shape=[int(s) for s in lh.shape],
                hidden=bool(row["hidden"]),
                analysed=analysed,
                reason=row["not_analysed_reason"],
                num_evals=_int(row["num_evals"]),
                alpha=_float(row["alpha"]) if analysed else None,  # never a number for a layer not fitted
                alpha_verdict=verdict_part(lh.alpha_verdict),
                confidence=row["confidence"],
                stable_rank=_float(row["stable_rank"]),
                full_rank=_int(row["full_rank"]),
                stable_rank_share=_float(row["stable_rank_ratio"]),
                stable_rank_verdict=verdict_part(lh.stable_rank_verdict),
                log_spectral_norm=_float(row["log_spectral_norm"]),
                spectral_verdict=verdict_part(lh.spectral_verdict),
                units=units,
                dead_activation=by_activation,
                dead_weight=dead_weight,
                dead_verdict=verdict_part(dead_verdict(dead / units)) if dead is not None and units else None,
            )
        )
    samples = h.dead.samples
    return T.HealthNetwork(
        name=h.name,
        layers=layers,
        alpha=_float(summary["alpha"]),
        alpha_verdict=verdict_part(h.alpha_verdict),
        alpha_confidence=summary["alpha_confidence"],
        layers_analysed=int(summary["layers_analysed"]),
        dead_method=summary["dead_method"],
        dead=_int(summary["dead_neurons"]),
        dead_weight=int(by_weight.dead),
        hidden_units=_int(summary["hidden_units"]),
        dead_verdict=verdict_part(h.dead_verdict),
        dead_inputs=samples.description if samples is not None else None,
        dead_note=h.dead.note,
        issues=[T.HealthIssue(i.severity, i.text) for i in h.issues],
        target_of=target_of,
    )
