"""Live network-health checks: one rule per training signal, saying whether its condition holds now.

Pure functions over the latest per-layer statistics (numpy only), so the training worker,
the dashboard and the tests all run the very same rules: dead and saturated neurons
(:func:`check_activations`), vanishing and exploding gradients (:func:`check_gradients`,
from :func:`gradient_verdicts`), stalled learning (:func:`check_velocity`) and diverging
Q-values (:func:`check_q_values`). Each gives one :class:`Check` per rule and layer; the
alerts built from them live in :mod:`health.live_alerts`. Every threshold comes from
:mod:`health.thresholds` ("Live training alerts" section), where its source is written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from health import thresholds as TH
from health.live_neurons import dead_rule, enough_samples, saturation_limits

#: How serious a check is when it fires (an alert keeps its check's level).
INFO, WARNING, CRITICAL = "info", "warning", "critical"
LEVEL_RANK = {INFO: 0, WARNING: 1, CRITICAL: 2}

# rule ids
DEAD_NEURONS = "dead_neurons"
SATURATED_NEURONS = "saturated_neurons"
VANISHING_GRADIENTS = "vanishing_gradients"
EXPLODING_GRADIENTS = "exploding_gradients"
LEARNING_STALLED = "learning_stalled"
Q_DIVERGING = "q_diverging"

RULE_TITLES = {
    DEAD_NEURONS: "Dead neurons",
    SATURATED_NEURONS: "Saturated neurons",
    VANISHING_GRADIENTS: "Vanishing gradients",
    EXPLODING_GRADIENTS: "Exploding gradients",
    LEARNING_STALLED: "Learning stalled",
    Q_DIVERGING: "Q-values diverging",
}

REMEDIES = {
    DEAD_NEURONS: (
        "A dead neuron adds nothing; a dead ReLU also passes no gradient back, so it rarely comes "
        "back to life (a leaky or smooth unit still gets a little). If the neurons died during "
        "training, lower the learning rate (large steps push "
        "them into the always-negative region) or try LeakyReLU or ELU, which still let a "
        "little gradient through. If they were silent from the start, check the "
        "initialisation (biases at zero or slightly positive, not strongly negative) -- or the layer is simply "
        "wider than the task needs, and a smaller one would do as well."
    ),
    SATURATED_NEURONS: (
        "A saturated neuron sits on the flat end of its activation, where the slope is "
        "almost zero, so it hardly learns. Scale the inputs to a small range, lower the "
        "learning rate or the initial weight scale, or use a ReLU-family activation."
    ),
    VANISHING_GRADIENTS: (
        "This layer's learning signal is tiny. Under Adam (the optimiser our agents use; a run does not record "
        "its optimiser) the layer still moves -- Adam scales each step to about the learning rate -- but in a "
        "direction set by noise, so the updates are unreliable; the Weights tab's update velocity shows how "
        "much it moves. Look for dead or saturated layers between it and the output (they block the "
        "gradient), prefer ReLU-family activations with He initialisation, and consider normalisation "
        "layers or a shallower network."
    ),
    EXPLODING_GRADIENTS: (
        "Updates this large can wreck what the network learned. Lower the learning rate, "
        "clip the gradient norm (10 is a common choice for DQN), use the Huber loss for "
        "TD errors, and scale inputs and rewards to small ranges."
    ),
    LEARNING_STALLED: (
        "The optimiser runs but these weights do not move. Check that the optimiser was "
        "given this layer's parameters, that the learning rate is not zero or decayed "
        "away, and look for vanishing gradients or dead layers."
    ),
    Q_DIVERGING: (
        "Q-values learn from their own estimates and can run away. Update the target "
        "network less often (or softly), lower the learning rate, use Double DQN and the "
        "Huber loss, and clip or scale the rewards."
    ),
}


@dataclass(frozen=True)
class Check:
    """Whether one rule's condition holds for one layer at one evaluation."""

    rule: str
    layer: str
    firing: bool
    level: str = WARNING
    message: str = ""
    value: float | None = None

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.layer}"


def _pct(share: float) -> str:
    return f"{100.0 * share:.0f}%"


def check_activations(layers: Sequence[Mapping], window: int | None = None) -> list[Check]:
    """Dead- and saturated-neuron checks from per-layer activation summaries.

    Each layer is a mapping with ``name``, ``size``, ``dead``, ``saturated``,
    ``activation`` and ``window`` (how many samples the counts are based on). A layer
    not judged yet (:func:`health.live_neurons.enough_samples`: a window shorter than
    ``LIVE_DEAD_WINDOW``, or no counts) gives no check; ``window`` asks for a longer one.
    """
    checks: list[Check] = []
    for layer in layers:
        name, size = str(layer.get("name", "?")), int(layer.get("size") or 0)
        samples = int(layer.get("window") or 0)
        judged = enough_samples(samples) and (window is None or samples >= window)
        if size <= 0 or not judged or layer.get("dead") is None:
            continue
        dead = int(layer.get("dead") or 0)
        share = dead / size
        critical = share > TH.LIVE_DEAD_CRITICAL_SHARE
        activation = str(layer.get("activation", ""))
        checks.append(
            Check(
                DEAD_NEURONS,
                name,
                share > TH.LIVE_DEAD_ALERT_SHARE,
                CRITICAL if critical else WARNING,
                f"{dead} of {size} neurons in {name} ({_pct(share)}) are dead: their output "
                f"{dead_rule(activation, samples)}; "
                + (
                    f"more than {_pct(TH.LIVE_DEAD_CRITICAL_SHARE)} dead is critical."
                    if critical
                    else f"more than {_pct(TH.LIVE_DEAD_ALERT_SHARE)} dead is a warning."
                ),
                share,
            )
        )
        lo, hi = saturation_limits(activation)
        if lo is None and hi is None:
            continue
        sat = int(layer.get("saturated") or 0)
        sat_share = sat / size
        checks.append(
            Check(
                SATURATED_NEURONS,
                name,
                sat_share > TH.LIVE_SATURATED_ALERT_SHARE,
                WARNING,
                f"{sat} of {size} neurons in {name} ({_pct(sat_share)}) stayed at the ends of "
                f"their range for the whole window; more than "
                f"{_pct(TH.LIVE_SATURATED_ALERT_SHARE)} saturated is a warning.",
                sat_share,
            )
        )
    return checks


def _median(values: Iterable[float]) -> float:
    arr = np.asarray([v for v in values if v is not None], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(np.median(arr)) if arr.size else math.nan


HEALTHY, VANISHING, EXPLODING, NO_DATA = "healthy", "vanishing", "exploding", "no data"


@dataclass(frozen=True)
class GradientVerdict:
    layer: str
    verdict: str  # HEALTHY / VANISHING / EXPLODING / NO_DATA
    norm: float  # median gradient norm over the recent samples (nan: no data)
    reason: str = ""
    level: str = WARNING


def gradient_verdicts(history: Mapping[str, Sequence[float]]) -> list[GradientVerdict]:
    """Per layer: healthy, vanishing or exploding, from its recent gradient norms.

    ``history`` maps layer name -> gradient norms, oldest first. The judgement uses the
    median of the last ``LIVE_GRAD_RULE_SAMPLES`` norms (robust to one odd mini-batch):

    * exploding: any non-finite norm (critical), the median above
      ``LIVE_GRAD_EXPLODING_NORM``, or the median grown ``LIVE_GRAD_GROWTH_FACTOR``-fold
      against the samples just before while above ``LIVE_GRAD_GROWTH_MIN_NORM``;
    * vanishing: the median below ``LIVE_GRAD_VANISHING_FLOOR``, or below
      ``LIVE_GRAD_VANISHING_RATIO`` times the median of the other layers' medians.
    """
    k = TH.LIVE_GRAD_RULE_SAMPLES
    recent = {name: list(values)[-k:] for name, values in history.items()}
    medians = {name: _median(vals) for name, vals in recent.items()}
    verdicts = []
    for name, vals in recent.items():
        m = medians[name]
        if not vals:
            verdicts.append(GradientVerdict(name, NO_DATA, math.nan, "no gradient samples yet"))
            continue
        arr = np.asarray([math.nan if v is None else v for v in vals], dtype=np.float64)
        if (~np.isfinite(arr)).any():
            verdicts.append(GradientVerdict(name, EXPLODING, m, "the gradient became infinite or NaN", CRITICAL))
            continue
        if m > TH.LIVE_GRAD_EXPLODING_NORM:
            verdicts.append(
                GradientVerdict(
                    name, EXPLODING, m, f"gradient norm {m:.3g} is above the ceiling {TH.LIVE_GRAD_EXPLODING_NORM:g}"
                )
            )
            continue
        g = TH.LIVE_GRAD_GROWTH_SAMPLES
        full = [v for v in history[name] if v is not None]
        if len(full) >= 2 * g:
            before, last = _median(full[-2 * g : -g]), _median(full[-g:])
            if last > TH.LIVE_GRAD_GROWTH_MIN_NORM and before > 0 and last >= TH.LIVE_GRAD_GROWTH_FACTOR * before:
                verdicts.append(
                    GradientVerdict(
                        name,
                        EXPLODING,
                        m,
                        f"gradient norm grew {last / before:.0f}-fold within {2 * g} samples (to {last:.3g})",
                    )
                )
                continue
        if m < TH.LIVE_GRAD_VANISHING_FLOOR:
            verdicts.append(
                GradientVerdict(
                    name, VANISHING, m, f"gradient norm {m:.2g} is below the floor {TH.LIVE_GRAD_VANISHING_FLOOR:g}"
                )
            )
            continue
        others = [v for other, v in medians.items() if other != name and math.isfinite(v)]
        if others:
            ref = float(np.median(others))
            if ref > 0 and m < TH.LIVE_GRAD_VANISHING_RATIO * ref:
                verdicts.append(
                    GradientVerdict(
                        name,
                        VANISHING,
                        m,
                        f"gradient norm {m:.2g} is {ref / max(m, 1e-300):.0e} times smaller "
                        f"than the other layers' (median {ref:.2g})",
                    )
                )
                continue
        verdicts.append(GradientVerdict(name, HEALTHY, m, f"gradient norm {m:.3g}"))
    return verdicts


def vanishing_meaning(optimizer: str | None = None) -> str:
    """What a vanishing gradient does to a layer under ``optimizer`` (its class name, e.g.
    "Adam", "SGD"), in one sentence. Adaptive optimisers (Adam, AdamW, RMSprop, ...)
    normalise each step, so the layer still moves, in an unreliable direction; plain SGD
    moves it in proportion to the gradient, so it barely moves. Unknown (None): worded
    for Adam, which our agents use, and saying so."""
    name = (optimizer or "").strip().lower()
    if name.startswith("sgd"):
        return (
            "with SGD each step is the gradient times the learning rate, so this layer's weights barely move: "
            "it has practically stopped learning"
        )
    adaptive = (
        "its weights still move -- the optimiser scales each step to about the learning rate, whatever the "
        "gradient's size -- but the direction comes from a signal near numerical noise, so the updates are "
        "unreliable; the Weights tab's update velocity shows how much the layer moves"
    )
    if not name:
        return f"under Adam (our agents' optimiser; this run does not record its own) {adaptive}"
    return f"under {optimizer} {adaptive}"


def gradient_verdict_series(history: Mapping[str, Sequence[float]]) -> dict[str, list[str]]:
    """Each layer's verdict at every one of its samples: :func:`gradient_verdicts` on the
    samples up to and including that one (what the table and the alerts said then), so a
    chart coloured by it and the verdict table cannot disagree."""
    out: dict[str, list[str]] = {name: [] for name in history}
    longest = max((len(v) for v in history.values()), default=0)
    for t in range(longest):
        upto = {name: list(values)[: t + 1] for name, values in history.items() if len(values) > t}
        for v in gradient_verdicts(upto):
            out[v.layer].append(v.verdict)
    return out


def check_gradients(history: Mapping[str, Sequence[float]]) -> list[Check]:
    """Vanishing- and exploding-gradient checks (one of each per layer with data)."""
    checks = []
    for v in gradient_verdicts(history):
        if v.verdict == NO_DATA:
            continue
        value = None if not math.isfinite(v.norm) else v.norm
        checks.append(
            Check(
                VANISHING_GRADIENTS,
                v.layer,
                v.verdict == VANISHING,
                WARNING,
                f"Gradients reaching {v.layer} are vanishing: {v.reason}; {vanishing_meaning()}.",
                value,
            )
        )
        checks.append(
            Check(
                EXPLODING_GRADIENTS,
                v.layer,
                v.verdict == EXPLODING,
                v.level if v.verdict == EXPLODING else WARNING,
                f"Gradients in {v.layer} are exploding: {v.reason}.",
                value,
            )
        )
    return checks


def check_velocity(history: Mapping[str, Sequence[tuple[float | None, int]]]) -> list[Check]:
    """Learning-stalled check from weight-update velocities.

    ``history`` maps layer -> ``(velocity, updates)`` pairs, oldest first: the relative
    change ``||W_now - W_prev|| / ||W_prev||`` between two weight samples and how many
    optimisation steps happened in between. Stalled: the last
    ``LIVE_VELOCITY_STALL_SAMPLES`` samples all had optimisation steps and a velocity
    below ``LIVE_VELOCITY_STALL``. Samples without optimisation steps (before learning
    starts, while paused) are skipped, neither proving nor disproving a stall.
    """
    n = TH.LIVE_VELOCITY_STALL_SAMPLES
    checks = []
    for name, pairs in history.items():
        moving = [(v, u) for v, u in pairs if v is not None and u and u > 0]
        if len(moving) < n:
            continue
        last = [v for v, _ in moving[-n:]]
        stalled = all(math.isfinite(v) and v < TH.LIVE_VELOCITY_STALL for v in last)
        checks.append(
            Check(
                LEARNING_STALLED,
                name,
                stalled,
                WARNING,
                f"The weights of {name} changed by less than {TH.LIVE_VELOCITY_STALL:g} of "
                f"their size in each of the last {n} samples (latest {last[-1]:.2g}), although "
                f"the optimiser ran.",
                last[-1],
            )
        )
    return checks


def check_q_values(q_abs_max: Sequence[float], layer: str = "Q-values") -> list[Check]:
    """Q-value divergence from the largest |Q| of each acting sample, oldest first.

    Critical: any non-finite Q-value among the recent samples. Warning: the recent
    median grown ``LIVE_Q_GROWTH_FACTOR``-fold within ``LIVE_Q_GROWTH_SAMPLES`` samples
    while above ``LIVE_Q_GROWTH_MIN`` (why there is no rule against a bound on the return:
    ``health.thresholds``, "Q-values diverging").
    """
    values = [math.nan if v is None else float(v) for v in q_abs_max]
    if not values:
        return []
    w = TH.LIVE_Q_GROWTH_SAMPLES
    k = max(1, w // 5)
    recent_vals = values[-k:]
    if any(not math.isfinite(v) for v in recent_vals):
        return [Check(Q_DIVERGING, layer, True, CRITICAL, "The network produced an infinite or NaN Q-value.", None)]
    recent = _median(recent_vals)
    if len(values) >= w:
        earlier = _median(values[-w : -w + k])
        if recent > TH.LIVE_Q_GROWTH_MIN and earlier > 0 and recent >= TH.LIVE_Q_GROWTH_FACTOR * earlier:
            return [
                Check(
                    Q_DIVERGING,
                    layer,
                    True,
                    WARNING,
                    f"The largest |Q| grew from {earlier:.3g} to {recent:.3g} within {w} samples.",
                    recent,
                )
            ]
    return [Check(Q_DIVERGING, layer, False, WARNING, f"The largest |Q| is {recent:.3g}.", recent)]
