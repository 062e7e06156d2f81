"""Diagnose a network or a checkpoint: run the metrics, count dead neurons, judge and list issues.

Pure functions over plain data: give them networks (or a checkpoint path) and they
return dataclasses (:mod:`health.results`); nothing here prints or writes files (that is
:mod:`health.report`). The bands are in :mod:`health.verdicts`, the findings in
:mod:`health.issues`, and every number they compare against in :mod:`health.thresholds`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from health import thresholds as TH
from health.dead import collect_env_observations, dead_neurons, input_samples
from health.issues import Issue, actor_critic_issues, network_issues
from health.loading import Checkpoint, CheckpointError, load_checkpoint
from health.metrics import weightwatcher_metrics
from health.networks import Network
from health.results import CheckpointHealth, LayerHealth, NetworkHealth
from health.verdicts import (
    SEVERITIES,
    Verdict,
    alpha_verdict,
    dead_verdict,
    spectral_verdict,
    stable_rank_verdict,
)

__all__ = [
    "SEVERITIES",
    "CheckpointHealth",
    "Issue",
    "LayerHealth",
    "NetworkHealth",
    "Verdict",
    "actor_critic_issues",
    "alpha_verdict",
    "analyze_checkpoint",
    "analyze_network",
    "dead_verdict",
    "network_issues",
    "spectral_verdict",
    "stable_rank_verdict",
    "too_few_samples",
]


def analyze_network(
    network: Network,
    *,
    dead_method: str = "activation",
    samples=None,
    variance_threshold: float = TH.DEAD_ACTIVATION_VARIANCE,
    weight_threshold: float = TH.DEAD_WEIGHT_NORM,
) -> NetworkHealth:
    """Analyse one rebuilt network: WeightWatcher metrics per layer, dead neurons
    (``samples``: an :class:`health.dead.InputSamples`, needed by the activation method),
    verdicts and a list of potential issues."""
    metrics = weightwatcher_metrics(network)
    dead = dead_neurons(
        network, dead_method, samples, variance_threshold=variance_threshold, weight_threshold=weight_threshold
    )
    hidden = set(network.hidden_indices())
    layers = []
    for i, (layer, m) in enumerate(zip(network.layers, metrics)):
        units = dead_count = None
        if i in dead.per_layer:
            dead_count, units = dead.per_layer[i]
        layers.append(
            LayerHealth(
                network.name,
                i,
                layer.name,
                layer.kind,
                layer.shape,
                m,
                hidden=i in hidden,
                units=units,
                dead=dead_count,
                dead_units=dead.dead_units.get(i, []),
                dead_samples=dead.samples_used,
                dead_confidence=dead.confidence,
            )
        )
    health = NetworkHealth(network.name, layers, dead, [], list(network.ignored), network.graph_problem)
    nonfinite = [layer.name for layer in network.layers if not layer.finite]
    health.issues = network_issues(health, nonfinite)
    return health


def too_few_samples(n: int) -> str:
    """Why ``n`` inputs are refused for the dead-neuron check (one sentence)."""
    miss = 0.95 ** max(n, 0)
    return (
        f"{n} samples are too few to judge dead neurons: at least {TH.DEAD_NEURON_SAMPLES_MIN} are needed "
        f"(with {n}, a unit that fires on 1 input in 20 looks dead {miss:.0%} of the time)"
    )


def analyze_checkpoint(
    source: str | os.PathLike | Checkpoint,
    *,
    networks: Sequence[str] | None = None,
    dead_method: str = "activation",
    dead_samples: int = TH.DEAD_NEURON_SAMPLES_DEFAULT,
    default_activation: str = "relu",
    variance_threshold: float = TH.DEAD_ACTIVATION_VARIANCE,
    weight_threshold: float = TH.DEAD_WEIGHT_NORM,
    seed: int = 0,
) -> CheckpointHealth:
    """Load (if given a path) and analyse one checkpoint.

    ``networks`` picks networks by name (default: every network holding weights); a name
    the file does not hold raises :class:`CheckpointError` listing the names it does.
    ``dead_samples`` below ``DEAD_NEURON_SAMPLES_MIN`` raises ``ValueError`` for the
    activation method (too few to tell a rarely firing unit from a dead one).
    """
    if dead_method == "activation" and dead_samples < TH.DEAD_NEURON_SAMPLES_MIN:
        raise ValueError(too_few_samples(dead_samples))
    ckpt = source if isinstance(source, Checkpoint) else load_checkpoint(source, default_activation=default_activation)
    chosen = list(ckpt.networks)
    notes = list(ckpt.notes)
    if networks:
        missing = [n for n in networks if n not in ckpt.networks]
        chosen = [n for n in networks if n in ckpt.networks]
        holds = f"(it holds: {', '.join(ckpt.networks)})"
        if not chosen:
            raise CheckpointError(ckpt.path, f"has no network named {', '.join(map(repr, networks))} {holds}")
        if missing:
            notes.append(f"no network named {', '.join(map(repr, missing))} in this file {holds}")

    env_obs = env_sampler = env_problem = None
    results: dict[str, NetworkHealth] = {}
    for name in chosen:
        net = ckpt.networks[name]
        samples = None
        if dead_method == "activation" and net.has_graph:
            size = net.input_size
            stored_ok = ckpt.obs_samples is not None and ckpt.obs_samples.shape[1] == size
            if not stored_ok and ckpt.env_id and env_obs is None and env_problem is None:
                env_obs, env_sampler, env_problem = collect_env_observations(ckpt.env_id, dead_samples, seed)
            samples = input_samples(
                size,
                dead_samples,
                stored=ckpt.obs_samples,
                env_observations=env_obs,
                env_id=ckpt.env_id,
                env_action_sampler=env_sampler,
                env_problem=env_problem,
                seed=seed,
            )
        results[name] = analyze_network(
            net,
            dead_method=dead_method,
            samples=samples,
            variance_threshold=variance_threshold,
            weight_threshold=weight_threshold,
        )
    return CheckpointHealth(
        path=ckpt.path,
        format_label=ckpt.format_label,
        step=ckpt.step,
        env_id=ckpt.env_id,
        networks=results,
        issues=actor_critic_issues(results),
        notes=notes,
        metadata={k: v for k, v in ckpt.metadata.items() if isinstance(v, (str, int, float, bool))},
    )
