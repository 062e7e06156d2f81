"""Verdicts, issues and the per-network / per-checkpoint analysis.

Pure functions over plain data: give them networks (or a checkpoint path) and they
return dataclasses; nothing here prints or writes files (that is :mod:`health.report`).
Every number they compare against comes from :mod:`health.thresholds`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from health import thresholds as TH
from health.dead import DeadNeurons, collect_env_observations, dead_neurons, input_samples
from health.loading import Checkpoint, CheckpointError, load_checkpoint
from health.metrics import WW_EXTRA_COLUMNS, LayerMetrics, weightwatcher_metrics
from health.networks import Network

__all__ = [
    "CheckpointHealth",
    "Issue",
    "LayerHealth",
    "NetworkHealth",
    "Verdict",
    "alpha_verdict",
    "analyze_checkpoint",
    "analyze_network",
    "dead_verdict",
    "spectral_verdict",
    "stable_rank_verdict",
]

SEVERITIES = ("ok", "note", "warn", "bad")


@dataclass(frozen=True)
class Verdict:
    """A band a value falls in: ``key`` (stable id), ``label`` (short, upper case),
    ``meaning`` (one plain sentence), ``advice`` (what to do; may be empty) and
    ``severity`` ("ok" < "note" < "warn" < "bad")."""

    key: str
    label: str
    meaning: str
    advice: str
    severity: str


@dataclass(frozen=True)
class Issue:
    severity: str  # "note" | "warn" | "bad"
    text: str


# ----------------------------------------------------------------------------- verdicts
def alpha_verdict(alpha: float | None) -> Verdict | None:
    """Where a WeightWatcher alpha falls among the guide's bands (None: no alpha)."""
    if alpha is None or not math.isfinite(alpha):
        return None
    if alpha < TH.ALPHA_RECOMMENDED_LOW:
        return Verdict(
            "overfit", "OVER-FIT",
            f"below {TH.ALPHA_RECOMMENDED_LOW:g}, the weights have started to memorise the training data",
            "an early-stopping signal: keep this checkpoint or an earlier one with alpha closer to 2.0",
            "bad",
        )
    if alpha <= TH.ALPHA_NEAR_OPTIMAL_HIGH:
        return Verdict(
            "optimal", "OPTIMAL",
            f"close to {TH.ALPHA_OPTIMAL:g}, where the best-trained networks sit",
            "", "ok",
        )
    if alpha <= TH.ALPHA_RECOMMENDED_HIGH:
        return Verdict(
            "good", "GOOD",
            f"inside the recommended {TH.ALPHA_RECOMMENDED_LOW:g}-{TH.ALPHA_RECOMMENDED_HIGH:g} band, well trained "
            "and should generalise (lower, towards 2.0, is better)",
            "", "ok",
        )
    if alpha <= TH.ALPHA_UNDERTRAINED_HIGH:
        return Verdict(
            "undertrained", "UNDER-TRAINED",
            f"between {TH.ALPHA_RECOMMENDED_HIGH:g} and {TH.ALPHA_UNDERTRAINED_HIGH:g}, "
            "learning has started but is not finished",
            "train longer or tune the optimisation (learning rate, updates per step)",
            "warn",
        )
    return Verdict(
        "random", "SEVERELY UNDER-TRAINED",
        f"above {TH.ALPHA_UNDERTRAINED_HIGH:g}, the weights still look random "
        f"(untrained layers sit near {TH.ALPHA_RANDOM_TYPICAL:g})",
        "check that the loss falls and updates really happen; raise the learning rate or train longer",
        "bad",
    )


def dead_verdict(ratio: float | None) -> Verdict | None:
    """The guide's dead-neuron bands and remedies (ratio = dead / hidden units)."""
    if ratio is None:
        return None
    pct = lambda v: f"{100 * v:g}"  # noqa: E731
    if ratio < TH.DEAD_RATIO_MODERATE:
        return Verdict("good", "GOOD", f"under {pct(TH.DEAD_RATIO_MODERATE)} % dead, normal and healthy",
                       "nothing to do", "ok")
    if ratio < TH.DEAD_RATIO_HIGH:
        return Verdict(
            "moderate", "MODERATE",
            f"{pct(TH.DEAD_RATIO_MODERATE)}-{pct(TH.DEAD_RATIO_HIGH)} % dead, some capacity is wasted",
            "keep an eye on it in later checkpoints; no action needed while the agent performs well",
            "note",
        )
    if ratio <= TH.DEAD_RATIO_CRITICAL:
        return Verdict(
            "high", "HIGH",
            f"{pct(TH.DEAD_RATIO_HIGH)}-{pct(TH.DEAD_RATIO_CRITICAL)} % dead, a large part of the network does nothing",
            "consider a smaller network next time or prune the dead units; check the learning rate and the initialisation",
            "warn",
        )
    return Verdict(
        "critical", "CRITICAL",
        f"over {pct(TH.DEAD_RATIO_CRITICAL)} % dead, the network is very likely bigger than the task needs",
        "try about half as many units per layer, and review how many layers you need",
        "bad",
    )


def stable_rank_verdict(ratio: float | None) -> Verdict | None:
    """Stable rank as a share of full rank: how much of a layer's capacity is used."""
    if ratio is None or not math.isfinite(ratio):
        return None
    if ratio < TH.STABLE_RANK_LOW:
        return Verdict("low", "LOW", f"under {TH.STABLE_RANK_LOW:.0%} of full rank: few directions carry the signal",
                       "possibly over-parameterised: a smaller layer may work as well", "warn")
    if ratio < TH.STABLE_RANK_HEALTHY_LOW:
        return Verdict("below", "BELOW HEALTHY",
                       f"{TH.STABLE_RANK_LOW:.0%}-{TH.STABLE_RANK_HEALTHY_LOW:.0%} of full rank: somewhat redundant",
                       "", "note")
    if ratio <= TH.STABLE_RANK_HEALTHY_HIGH:
        return Verdict("healthy", "HEALTHY",
                       f"{TH.STABLE_RANK_HEALTHY_LOW:.0%}-{TH.STABLE_RANK_HEALTHY_HIGH:.0%} of full rank: good use of capacity",
                       "", "ok")
    return Verdict("high", "HIGH", f"over {TH.STABLE_RANK_HEALTHY_HIGH:.0%} of full rank: nearly all capacity in use",
                   "", "ok")


def spectral_verdict(log_spectral_norm: float | None) -> Verdict | None:
    """WeightWatcher's log10 spectral norm against the guide's 2.0 / 5.0 marks."""
    if log_spectral_norm is None or not math.isfinite(log_spectral_norm):
        return None
    if log_spectral_norm > TH.LOG_SPECTRAL_NORM_VERY_HIGH:
        return Verdict("very_high", "VERY HIGH",
                       f"above {TH.LOG_SPECTRAL_NORM_VERY_HIGH:g}: some weights are huge, a sign of unstable training",
                       "lower the learning rate, clip gradients or add weight decay", "bad")
    if log_spectral_norm > TH.LOG_SPECTRAL_NORM_REASONABLE:
        return Verdict("high", "HIGH", f"above {TH.LOG_SPECTRAL_NORM_REASONABLE:g}: larger than in well-conditioned layers",
                       "this layer may benefit from regularisation (weight decay)", "note")
    return Verdict("ok", "OK", f"at most {TH.LOG_SPECTRAL_NORM_REASONABLE:g}: well conditioned", "", "ok")


# ----------------------------------------------------------------------------- results
@dataclass
class LayerHealth:
    """Everything known about one layer: shape, WeightWatcher metrics, verdicts, dead units."""

    network: str
    index: int
    name: str
    kind: str
    shape: tuple[int, ...]
    metrics: LayerMetrics
    hidden: bool
    units: int | None = None  # hidden units counted for dead neurons (None: output layer)
    dead: int | None = None
    dead_units: list[int] = field(default_factory=list)

    @property
    def alpha_verdict(self) -> Verdict | None:
        return alpha_verdict(self.metrics.alpha) if self.metrics.analysed else None

    @property
    def confidence(self) -> str | None:
        if not self.metrics.analysed:
            return None
        return "weak" if self.metrics.weak_confidence else "normal"

    @property
    def stable_rank_verdict(self) -> Verdict | None:
        return stable_rank_verdict(self.metrics.stable_rank_ratio)

    @property
    def spectral_verdict(self) -> Verdict | None:
        return spectral_verdict(self.metrics.log_spectral_norm)

    def to_row(self) -> dict[str, Any]:
        """One flat dict (a CSV row / a dashboard table row); missing values are None."""
        m = self.metrics
        av, sv, spv = self.alpha_verdict, self.stable_rank_verdict, self.spectral_verdict
        row: dict[str, Any] = {
            "network": self.network,
            "layer": self.name,
            "layer_index": self.index,
            "kind": self.kind,
            "shape": "x".join(str(s) for s in self.shape),
            "num_evals": m.num_evals,
            "analysed": m.analysed,
            "not_analysed_reason": m.reason,
            "alpha": m.alpha,
            "alpha_verdict": av.key if av else None,
            "confidence": self.confidence,
            "alpha_weighted": m.alpha_weighted,
            "log_norm": m.log_norm,
            "log_spectral_norm": m.log_spectral_norm,
            "spectral_verdict": spv.key if spv else None,
            "stable_rank": m.stable_rank,
            "full_rank": m.full_rank,
            "stable_rank_ratio": m.stable_rank_ratio,
            "stable_rank_verdict": sv.key if sv else None,
            "hidden": self.hidden,
            "units": self.units,
            "dead_neurons": self.dead,
            "dead_ratio": (self.dead / self.units) if (self.units and self.dead is not None) else None,
        }
        for col in WW_EXTRA_COLUMNS:
            row[f"ww_{col}"] = m.extra.get(col)
        return row


@dataclass
class NetworkHealth:
    """The analysis of one network: per-layer rows, a summary and potential issues."""

    name: str
    layers: list[LayerHealth]
    dead: DeadNeurons
    issues: list[Issue]
    ignored: list[tuple[str, tuple[int, ...], str]] = field(default_factory=list)
    graph_problem: str | None = None

    # --- summary (all over analysed layers; None when there are none) -----------------
    @property
    def analysed_layers(self) -> list[LayerHealth]:
        return [lh for lh in self.layers if lh.metrics.analysed]

    @property
    def not_analysed_layers(self) -> list[LayerHealth]:
        return [lh for lh in self.layers if not lh.metrics.analysed]

    def _values(self, attr: str, only_analysed: bool = True) -> list[float]:
        rows = self.analysed_layers if only_analysed else self.layers
        vals = [getattr(lh.metrics, attr) for lh in rows]
        return [float(v) for v in vals if v is not None and math.isfinite(v)]

    @property
    def alpha(self) -> float | None:
        """Overall alpha: the mean alpha of the analysed layers (WeightWatcher's
        ``get_summary()["alpha"]`` when every layer fitted)."""
        vals = self._values("alpha")
        return float(np.mean(vals)) if vals else None

    @property
    def alpha_verdict(self) -> Verdict | None:
        return alpha_verdict(self.alpha)

    @property
    def alpha_confidence(self) -> str | None:
        rows = self.analysed_layers
        if not rows:
            return None
        return "weak" if all(lh.metrics.weak_confidence for lh in rows) else "normal"

    @property
    def weak_layers(self) -> list[LayerHealth]:
        return [lh for lh in self.analysed_layers if lh.metrics.weak_confidence]

    @property
    def alpha_min(self) -> float | None:
        vals = self._values("alpha")
        return min(vals) if vals else None

    @property
    def alpha_max(self) -> float | None:
        vals = self._values("alpha")
        return max(vals) if vals else None

    @property
    def alpha_std(self) -> float | None:
        """Spread of alpha across analysed layers (population standard deviation)."""
        vals = self._values("alpha")
        return float(np.std(vals)) if vals else None

    @property
    def log_spectral_norm_mean(self) -> float | None:
        """Mean over every layer WeightWatcher measured (a failed fit still has norms)."""
        vals = self._values("log_spectral_norm", only_analysed=False)
        return float(np.mean(vals)) if vals else None

    @property
    def stable_rank_mean(self) -> float | None:
        vals = self._values("stable_rank", only_analysed=False)
        return float(np.mean(vals)) if vals else None

    @property
    def stable_rank_ratio_mean(self) -> float | None:
        vals = [lh.metrics.stable_rank_ratio for lh in self.layers]
        vals = [v for v in vals if v is not None and math.isfinite(v)]
        return float(np.mean(vals)) if vals else None

    @property
    def dead_verdict(self) -> Verdict | None:
        return dead_verdict(self.dead.ratio)

    def rows(self) -> list[dict[str, Any]]:
        return [lh.to_row() for lh in self.layers]

    def summary(self) -> dict[str, Any]:
        """The headline figures as one flat dict (JSON-able)."""
        av, dv = self.alpha_verdict, self.dead_verdict
        return {
            "network": self.name,
            "alpha": self.alpha,
            "alpha_verdict": av.key if av else None,
            "alpha_confidence": self.alpha_confidence,
            "alpha_min": self.alpha_min,
            "alpha_max": self.alpha_max,
            "alpha_std": self.alpha_std,
            "log_spectral_norm_mean": self.log_spectral_norm_mean,
            "stable_rank_mean": self.stable_rank_mean,
            "stable_rank_ratio_mean": self.stable_rank_ratio_mean,
            "layers": len(self.layers),
            "layers_analysed": len(self.analysed_layers),
            "dead_method": self.dead.method,
            "dead_neurons": self.dead.dead,
            "hidden_units": self.dead.total,
            "dead_ratio": self.dead.ratio,
            "dead_verdict": dv.key if dv else None,
            "issues": [i.text for i in self.issues],
        }


@dataclass
class CheckpointHealth:
    """The analysis of one checkpoint file."""

    path: str
    format_label: str
    step: int | None
    env_id: str | None
    networks: dict[str, NetworkHealth]
    issues: list[Issue] = field(default_factory=list)  # across networks (actor vs critic)
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return os.path.basename(self.path)

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-able plain data (for a store or a dashboard callback)."""
        networks = {}
        for name, h in self.networks.items():
            samples = h.dead.samples
            networks[name] = {
                "summary": h.summary(),
                "layers": h.rows(),
                "issues": [{"severity": i.severity, "text": i.text} for i in h.issues],
                "dead_inputs": samples.description if samples is not None else None,
                "dead_note": h.dead.note,
            }
        return {
            "path": self.path,
            "label": self.label,
            "format": self.format_label,
            "step": self.step,
            "env_id": self.env_id,
            "notes": list(self.notes),
            "issues": [{"severity": i.severity, "text": i.text} for i in self.issues],
            "networks": networks,
        }


# ----------------------------------------------------------------------------- analysis
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
    dead = dead_neurons(network, dead_method, samples,
                        variance_threshold=variance_threshold, weight_threshold=weight_threshold)
    hidden = set(network.hidden_indices())
    layers = []
    for i, (layer, m) in enumerate(zip(network.layers, metrics)):
        units = dead_count = None
        if i in dead.per_layer:
            dead_count, units = dead.per_layer[i]
        layers.append(LayerHealth(network.name, i, layer.name, layer.kind, layer.shape, m,
                                  hidden=i in hidden, units=units, dead=dead_count,
                                  dead_units=dead.dead_units.get(i, [])))
    health = NetworkHealth(network.name, layers, dead, [], list(network.ignored), network.graph_problem)
    nonfinite = [layer.name for layer in network.layers if not layer.finite]
    health.issues = network_issues(health, nonfinite)
    return health


def _names(rows: Iterable[LayerHealth], with_alpha: bool = False) -> str:
    parts = []
    for lh in rows:
        text = lh.name
        if with_alpha and lh.metrics.alpha is not None:
            text += f" ({lh.metrics.alpha:.2f}{', weak: %d eigenvalues' % lh.metrics.num_evals if lh.metrics.weak_confidence else ''})"
        parts.append(text)
    return ", ".join(parts)


def network_issues(h: NetworkHealth, nonfinite: Sequence[str] = ()) -> list[Issue]:
    """The potential issues of one network, most serious first."""
    issues: list[Issue] = []
    if nonfinite:
        issues.append(Issue("bad", f"NaN or infinite weights in {', '.join(nonfinite)}: the checkpoint is corrupt "
                                   "or training diverged; these layers were not analysed"))
    alpha, av = h.alpha, h.alpha_verdict
    if alpha is None:
        issues.append(Issue("note", "WeightWatcher could not analyse any layer of this network, so there is no "
                                    "alpha verdict (see the layers marked 'not analysed')"))
    elif av.severity in ("warn", "bad"):
        weak = " (weak confidence: every analysed layer has few eigenvalues)" if h.alpha_confidence == "weak" else ""
        issues.append(Issue(av.severity, f"overall alpha {alpha:.2f} is {av.label.lower()}{weak}: {av.meaning}; {av.advice}"))
    analysed = h.analysed_layers
    random_layers = [lh for lh in analysed if lh.metrics.alpha > TH.ALPHA_UNDERTRAINED_HIGH]
    overfit_layers = [lh for lh in analysed if lh.metrics.alpha < TH.ALPHA_RECOMMENDED_LOW]
    if random_layers and (alpha is None or alpha <= TH.ALPHA_UNDERTRAINED_HIGH):
        issues.append(Issue("warn", f"layers that still look random (alpha > {TH.ALPHA_UNDERTRAINED_HIGH:g}): "
                                    f"{_names(random_layers, True)}; they have learned little so far"))
    if overfit_layers and (alpha is None or alpha >= TH.ALPHA_RECOMMENDED_LOW):
        issues.append(Issue("warn", f"layers with alpha below {TH.ALPHA_RECOMMENDED_LOW:g} (over-fit): "
                                    f"{_names(overfit_layers, True)}"))
    std = h.alpha_std
    very_high = [lh for lh in h.layers if (lh.spectral_verdict and lh.spectral_verdict.key == "very_high")]
    high = [lh for lh in h.layers if (lh.spectral_verdict and lh.spectral_verdict.key == "high")]
    large_spread = std is not None and len(analysed) >= 2 and std > TH.ALPHA_STD_LARGE
    if large_spread and very_high:
        issues.append(Issue("bad", f"signs of unstable training: alpha varies a lot between layers (std {std:.2f} > "
                                   f"{TH.ALPHA_STD_LARGE:g}) and {_names(very_high)} have very high spectral norms; "
                                   "lower the learning rate, use larger batches, check the gradients"))
    else:
        if large_spread:
            issues.append(Issue("warn", f"alpha varies a lot between layers (std {std:.2f} > {TH.ALPHA_STD_LARGE:g}): "
                                        "some layers learn and others do not; check the gradient flow and any normalisation layers"))
        if very_high:
            issues.append(Issue("bad", f"very high log spectral norm (> {TH.LOG_SPECTRAL_NORM_VERY_HIGH:g}) in "
                                       f"{_names(very_high)}: a sign of unstable training; lower the learning rate, "
                                       "clip gradients or add weight decay"))
    if high:
        issues.append(Issue("note", f"log spectral norm above {TH.LOG_SPECTRAL_NORM_REASONABLE:g} in {_names(high)}: "
                                    "these layers may benefit from regularisation"))
    dv = h.dead_verdict
    ratio = h.dead.ratio
    if dv is not None and dv.severity != "ok":
        issues.append(Issue(dv.severity, f"{h.dead.dead} of {h.dead.total} hidden units are dead ({100 * ratio:.1f} %, "
                                         f"{dv.label.lower()}): {dv.advice}"))
    low_sr = [lh for lh in h.layers if lh.stable_rank_verdict and lh.stable_rank_verdict.key == "low"]
    if low_sr:
        issues.append(Issue("warn", f"stable rank below {TH.STABLE_RANK_LOW:.0%} of full rank in {_names(low_sr)}: "
                                    "possibly over-parameterised, a smaller layer may do as well"))
    sr_mean = h.stable_rank_ratio_mean
    if ratio is not None and ratio >= TH.DEAD_RATIO_HIGH:
        if sr_mean is not None and sr_mean < TH.STABLE_RANK_LOW:
            issues.append(Issue("bad", "many dead units together with a low stable rank: strong evidence the network "
                                       "is over-parameterised; try about half as many units"))
        if alpha is not None and TH.ALPHA_RECOMMENDED_LOW <= alpha <= TH.ALPHA_RECOMMENDED_HIGH:
            issues.append(Issue("note", "despite the dead units, alpha is good, so the network can still generalise; "
                                        "a smaller network would likely do as well next time"))
        elif alpha is not None and alpha > TH.ALPHA_UNDERTRAINED_HIGH:
            issues.append(Issue("warn", "many dead units and alpha above 6: the network is both larger than needed "
                                        "and under-trained"))
    if h.dead.note:
        issues.append(Issue("note", f"dead neurons: {h.dead.note}"))
    order = {s: k for k, s in enumerate(reversed(SEVERITIES))}
    return sorted(issues, key=lambda i: order.get(i.severity, 9))


def _role(name: str) -> str | None:
    low = name.lower()
    if "target" in low:
        return None
    if "actor" in low or "policy" in low or low in ("pi", "mu"):
        return "actor"
    if "critic" in low or "qf" in low or low.startswith("q") or "value" in low:
        return "critic"
    return None


def actor_critic_issues(networks: dict[str, NetworkHealth]) -> list[Issue]:
    """Compare the actor's overall alpha with the critics' mean (targets excluded)."""
    actors = [h.alpha for n, h in networks.items() if _role(n) == "actor" and h.alpha is not None]
    critics = [h.alpha for n, h in networks.items() if _role(n) == "critic" and h.alpha is not None]
    if not actors or not critics:
        return []
    a, c = float(np.mean(actors)), float(np.mean(critics))
    gap = a - c
    if gap > TH.ACTOR_CRITIC_ALPHA_GAP:
        return [Issue("warn", f"actor alpha ({a:.2f}) is well above the critics' ({c:.2f}): the policy is learning "
                              "more slowly than the value function; consider a higher actor learning rate "
                              "(or a lower critic one)")]
    if gap < -TH.ACTOR_CRITIC_ALPHA_GAP:
        return [Issue("warn", f"actor alpha ({a:.2f}) is well below the critics' ({c:.2f}): the value estimate is "
                              "lagging behind the policy; consider a higher critic learning rate "
                              "(or a lower actor one)")]
    return []


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
    """
    ckpt = source if isinstance(source, Checkpoint) else load_checkpoint(source, default_activation=default_activation)
    chosen = list(ckpt.networks)
    notes = list(ckpt.notes)
    if networks:
        missing = [n for n in networks if n not in ckpt.networks]
        chosen = [n for n in networks if n in ckpt.networks]
        if not chosen:
            raise CheckpointError(ckpt.path, f"has no network named {', '.join(map(repr, networks))} "
                                             f"(it holds: {', '.join(ckpt.networks)})")
        if missing:
            notes.append(f"no network named {', '.join(map(repr, missing))} in this file (it holds: {', '.join(ckpt.networks)})")

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
            samples = input_samples(size, dead_samples, stored=ckpt.obs_samples, env_observations=env_obs,
                                    env_id=ckpt.env_id, env_action_sampler=env_sampler, env_problem=env_problem,
                                    seed=seed)
        results[name] = analyze_network(net, dead_method=dead_method, samples=samples,
                                        variance_threshold=variance_threshold, weight_threshold=weight_threshold)
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
