"""The inspector's numbers and charts: one neuron or one layer of a watched network up
close. The numbers come from ``health.live_rules`` -- the very rules the probe applies --
over the same window (the last ``LIVE_DEAD_WINDOW`` samples), so the inspector and the
alerts agree. The charts are SVG (:mod:`dashapp.figures.svg`): shown in a millisecond or
two, where four Plotly charts cost the browser most of a click's 200 ms."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from dashapp.figures import svg as SVG
from dashapp.figures.common import as_floats
from dashapp.read.network import NetworkData
from health import live_rules as LR
from health import thresholds as TH


def _window(history) -> np.ndarray | None:
    if history is None or np.ndim(history) != 2 or np.shape(history)[0] == 0:
        return None
    return np.asarray(history, dtype=np.float64)[-TH.LIVE_DEAD_WINDOW :]


def weight_stats(weight) -> dict:
    """mean, std, min, max of the finite weights (NaN when there are none) + counts."""
    w = np.asarray(weight, dtype=np.float64).reshape(-1) if weight is not None else np.zeros(0)
    finite = w[np.isfinite(w)]
    if finite.size == 0:
        return {
            "mean": math.nan,
            "std": math.nan,
            "min": math.nan,
            "max": math.nan,
            "count": int(w.size),
            "non_finite": int(w.size),
        }
    return {
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "count": int(w.size),
        "non_finite": int(w.size - finite.size),
    }


def layer_stats(net: NetworkData, column: int) -> dict:
    """The layer inspector's numbers for one column.

    ``mean_abs_activation`` is over the window (or the current values when there is no
    history); ``dead``/``saturated`` count neurons in that state over the window
    (hidden layers only); ``saturated`` is None for activations without a bound to
    saturate at (ReLU), where ``always_active`` -- never silent, i.e. acting as a
    plain linear unit -- is reported instead.
    """
    size, act, kind = net.sizes[column], net.activations[column], net.kinds[column]
    window = _window(net.history(column))
    values = as_floats(net.values[column])
    sample = window if window is not None else values.reshape(1, -1)
    finite = np.abs(sample[np.isfinite(sample)])
    out = {
        "name": net.names[column],
        "kind": kind,
        "activation": act,
        "size": size,
        "samples": 0 if window is None else int(window.shape[0]),
        "mean_abs_activation": float(finite.mean()) if finite.size else math.nan,
        "dead": None,
        "dead_share": None,
        "saturated": None,
        "saturation_rate": None,
        "always_active": None,
        "weights": weight_stats(net.weights[column] if column < len(net.weights) else None),
    }
    if kind == "hidden" and window is not None and size:
        summary = LR.summarize_neurons(window, act)
        bounded = LR.saturation_limits(act) != (None, None)
        out.update(
            dead=summary["dead"],
            dead_share=summary["dead"] / size,
            saturated=summary["saturated"] if bounded else None,
            saturation_rate=summary["saturated"] / size if bounded else None,
            always_active=summary["always_active"],
        )
    return out


def neuron_stats(net: NetworkData, column: int, index: int) -> dict:
    """The neuron inspector's numbers for one neuron."""
    act, kind = net.activations[column], net.kinds[column]
    window = _window(net.history(column))
    history = net.history(column)
    h = (
        np.asarray(history, dtype=np.float64)[:, index]
        if history is not None and np.ndim(history) == 2 and np.shape(history)[0]
        else np.zeros(0)
    )
    values = as_floats(net.values[column])
    current = float(values[index]) if index < values.size else math.nan
    status, why = kind, ""
    if kind == "hidden":
        if window is None:
            status, why = "unknown", "no activation samples yet"
        else:
            state = int(LR.neuron_states(window[:, index : index + 1], act)[0])
            status = LR.STATE_NAMES[state]
            n = window.shape[0]
            why = {
                LR.DEAD: f"its output stayed below {TH.LIVE_DEAD_ACTIVATION} for all of the last {n} samples, "
                "so it passes nothing on and learns nothing",
                LR.SATURATED: f"its output sat at the limit of its {act} for all of the last {n} samples, "
                "where the slope is flat and it hardly learns",
                LR.ACTIVE: f"its output varied over the last {n} samples",
            }[state]
    finite = h[np.isfinite(h)]
    return {
        "name": net.names[column],
        "kind": kind,
        "index": index,
        "activation": act,
        "label": net.label(column, index),
        "current": current,
        "samples": int(h.size),
        "mean": float(finite.mean()) if finite.size else math.nan,
        "min": float(finite.min()) if finite.size else math.nan,
        "max": float(finite.max()) if finite.size else math.nan,
        "status": status,
        "why": why,
    }


def sparkline_chart(history, title: str = "activation over the last samples", ylabel: str = "output") -> str:
    """A line of recent values (oldest left), the newest marked."""
    return SVG.line_chart(history, title, ylabel, empty="no activation samples yet")


def histogram_chart(values, title: str, xlabel: str = "weight") -> str:
    return SVG.histogram_chart(values, title, xlabel)


def outgoing_chart(weights, target_names: Sequence[str] | None, title: str = "outgoing weights") -> str:
    """Outgoing weights: one bar per action when they go to the Q-values, else a histogram."""
    if weights is None:
        return SVG.message_chart(title, "this neuron feeds nothing further")
    if target_names is not None:
        return SVG.bar_chart(weights, list(target_names), title + " (to each action)", "weight")
    return SVG.histogram_chart(weights, title + " (to the next layer)")


def contribution_chart(
    contribution,
    action_names: Sequence[str],
    chosen: int | None,
    step: int | None,
    method: str = "gradient x activation",
    value: str = "Q-value",
    empty: str = "waiting for the worker's first attribution sample",
) -> str:
    """This neuron's contribution to each output (``value``: an action's Q-value), the
    chosen action outlined; ``empty`` says why there is none."""
    title = f"contribution to each {value}"
    if contribution is None:
        return SVG.message_chart(title, empty)
    when = f" at step {step:,}" if step is not None else ""
    return SVG.bar_chart(
        contribution, list(action_names), f"{title}{when} ({method})", "contribution", highlight=chosen
    )
