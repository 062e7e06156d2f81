"""Which neurons of a training layer are dead, active or saturated, from a window of its activations.

Pure functions over plain numbers (numpy only), so the training worker, the dashboard and
the tests all judge neurons alike. Every threshold comes from :mod:`health.thresholds`
("Live training alerts" section), where its source is written.

:func:`summarize_neurons` is the one judgement: the probe calls it on the float32 window it
keeps, and the alerts, the Activations tab and the Network tab all show what it decided
(the probe's activation records); none of them judges a layer again. It judges only a full
window (:func:`enough_samples`) and refuses float16 activations, whose rounding near the
thresholds is of the thresholds' own size. :func:`dead_rule` says in words what "dead"
measured for an activation function.
"""

from __future__ import annotations

import numpy as np

from health import thresholds as TH

#: Codes of a neuron's state in a layer's ``states`` list (the dead-neuron grid).
DEAD, ACTIVE, SATURATED = 0, 1, 2
STATE_NAMES = {DEAD: "dead", ACTIVE: "active", SATURATED: "saturated"}

#: Activations with a hard zero region: a dead neuron outputs exactly zero.
RELU_FAMILY = frozenset({"relu", "relu6"})
#: Leaky or smooth activations: a dead neuron's output is constant but need not be zero,
#: so a near-zero variance over the window also counts as dead.
LEAKY_OR_SMOOTH = frozenset(
    {
        "leaky_relu",
        "leakyrelu",
        "prelu",
        "rrelu",
        "elu",
        "selu",
        "celu",
        "gelu",
        "silu",
        "swish",
        "mish",
        "softplus",
        "hardswish",
    }
)
#: Where an activation saturates (its slope goes flat): (low bound, high bound); None
#: for a side that does not saturate.
SATURATION_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "tanh": (-1.0, 1.0),
    "hardtanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
    "sigmoid": (0.0, 1.0),
    "hardsigmoid": (0.0, 1.0),
    "relu6": (None, 6.0),
}


def normalise_activation(name: str | None) -> str:
    """A module class or function name as a lower-case activation kind ("ReLU" -> "relu")."""
    if not name:
        return "linear"
    key = str(name).strip().lower().replace("-", "_")
    aliases = {"leakyrelu": "leaky_relu", "swish": "silu", "identity": "linear"}
    return aliases.get(key, key)


def saturation_limits(activation: str) -> tuple[float | None, float | None]:
    """Values below the first / above the second limit count as saturated (None: never)."""
    lo, hi = SATURATION_BOUNDS.get(normalise_activation(activation), (None, None))
    if lo is None and hi is None:
        return None, None
    scale = max(abs(lo) if lo is not None else 0.0, abs(hi) if hi is not None else 0.0)
    margin = TH.LIVE_SATURATION_MARGIN * scale
    return (None if lo is None else lo + margin), (None if hi is None else hi - margin)


def enough_samples(samples: int | None) -> bool:
    """Whether ``samples`` activation samples are enough to judge a layer's neurons: a full
    ``LIVE_DEAD_WINDOW``. Before that, every view says "not enough samples yet"."""
    return samples is not None and samples >= TH.LIVE_DEAD_WINDOW


def dead_rule(activation: str, samples: int) -> str:
    """What "dead" measured for a neuron with this activation, as words that follow "its
    output" / "their output": for ReLU-like units never above ``LIVE_DEAD_ACTIVATION``; for
    leaky or smooth ones also (or rather) that it did not change."""
    quiet = f"was never above {TH.LIVE_DEAD_ACTIVATION:g} in magnitude in the last {samples} samples"
    if normalise_activation(activation) in LEAKY_OR_SMOOTH:
        return (
            f"did not change over the last {samples} samples (variance < {TH.LIVE_DEAD_VARIANCE:g}) "
            f"or never left +-{TH.LIVE_DEAD_ACTIVATION:g}"
        )
    return quiet


def dead_consequence(activation: str) -> str:
    """Why a dead neuron matters, true for its activation function."""
    if normalise_activation(activation) in LEAKY_OR_SMOOTH:
        return "so it tells the next layer nothing about the state"
    return "so it passes nothing on and gets no gradient to learn from"


def _refuse_half_precision(window) -> None:
    if np.asarray(window).dtype == np.float16:
        raise ValueError(
            "float16 activations are too coarse to judge neurons (their rounding near 0.01 and a variance "
            "of 1e-6 is of the thresholds' own size); pass the float32 window"
        )


def neuron_states(window: np.ndarray, activation: str) -> np.ndarray:
    """Each neuron's state (DEAD / ACTIVE / SATURATED) over a window of activations.

    ``window`` has shape ``(samples, neurons)``, oldest sample first; NaNs are ignored
    (a neuron with no finite value in the window counts as dead). Dead: ``|a|`` below
    ``LIVE_DEAD_ACTIVATION`` on every sample -- or, for leaky/smooth activations, a
    variance below ``LIVE_DEAD_VARIANCE``. Saturated: near a bound of the activation's
    range on every sample. Dead wins when both hold. This is the rule on any window;
    :func:`summarize_neurons` applies it only to a full one.
    """
    _refuse_half_precision(window)
    window = np.asarray(window, dtype=np.float64)
    if window.ndim != 2:
        raise ValueError(f"window must be 2-D (samples, neurons), got shape {window.shape}")
    samples, size = window.shape
    states = np.full(size, ACTIVE, dtype=np.int8)
    if size == 0 or samples == 0:
        return states
    finite = np.isfinite(window)
    safe = np.where(finite, window, 0.0)
    any_finite = finite.any(axis=0)
    quiet = np.where(finite, np.abs(safe) < TH.LIVE_DEAD_ACTIVATION, True).all(axis=0)
    dead = quiet | ~any_finite
    kind = normalise_activation(activation)
    if kind in LEAKY_OR_SMOOTH and samples > 1:
        count = np.maximum(finite.sum(axis=0), 1)
        mean = safe.sum(axis=0) / count
        var = np.where(finite, (safe - mean) ** 2, 0.0).sum(axis=0) / count
        dead |= (var < TH.LIVE_DEAD_VARIANCE) & (finite.sum(axis=0) > 1)
    lo, hi = saturation_limits(kind)
    if lo is not None or hi is not None:
        near = np.zeros_like(finite)
        if lo is not None:
            near |= safe < lo
        if hi is not None:
            near |= safe > hi
        saturated = np.where(finite, near, False).all(axis=0) & any_finite
        states[saturated] = SATURATED
    states[dead] = DEAD
    return states


def always_active(window: np.ndarray) -> np.ndarray:
    """Neurons whose activation exceeded ``LIVE_DEAD_ACTIVATION`` on every sample.

    For ReLU layers this replaces "saturated": such a neuron never uses its zero region,
    so it acts as a plain linear unit.
    """
    window = np.asarray(window, dtype=np.float64)
    if window.ndim != 2 or window.shape[0] == 0:
        return np.zeros(window.shape[-1] if window.ndim else 0, dtype=bool)
    # a 2-D window gives an array, one flag per neuron; numpy's annotations for all(axis=...) also
    # allow a scalar (for 1-D input), so np.asarray (a no-op on an array) states the array type
    return np.asarray(np.where(np.isfinite(window), window > TH.LIVE_DEAD_ACTIVATION, False).all(axis=0))


def summarize_neurons(window: np.ndarray, activation: str) -> dict:
    """Dead / saturated / always-active counts and per-neuron states for one layer: the
    one judgement every view shows.

    ``window`` (samples, neurons), float32 or float64, oldest first; ``"window"`` in the
    result is how many samples the judgement rests on. A window shorter than
    ``LIVE_DEAD_WINDOW`` is not judged: ``judged`` is False, the counts are None and
    ``states`` is empty. ``always_active`` is reported for ReLU-family layers only (None
    otherwise), where it stands in for saturation.
    """
    _refuse_half_precision(window)
    window = np.asarray(window, dtype=np.float64)
    samples = int(window.shape[0]) if window.ndim == 2 else 0
    if not enough_samples(samples):
        return {
            "window": samples,
            "judged": False,
            "dead": None,
            "saturated": None,
            "always_active": None,
            "states": [],
        }
    states = neuron_states(window, activation)
    relu = normalise_activation(activation) in RELU_FAMILY
    return {
        "window": samples,
        "judged": True,
        "dead": int((states == DEAD).sum()),
        "saturated": int((states == SATURATED).sum()),
        "always_active": int(always_active(window).sum()) if relu else None,
        "states": states.astype(int).tolist(),
    }
