"""The inspector's numbers and charts: one neuron or one layer of a watched network up
close. Which neurons are dead or saturated is not judged here: it is the probe's judgement
(``health.live_rules.summarize_neurons`` on its float32 window of the last
``LIVE_DEAD_WINDOW`` samples), read from its newest activation record -- the numbers the
alerts and the Activations tab show. Before a full window there is none, and the
inspector says so. The activation histories (float16) only draw the sparklines and the
mean, min and max. The charts are SVG (:mod:`dashapp.figures.svg`): shown in a
millisecond or two, where four Plotly charts cost the browser most of a click's 200 ms."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

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


def judged_layer(record: Any | None, name: str) -> Any | None:
    """Layer ``name`` of the probe's newest activation record (an ``ActivationLayer``)
    when it holds a judgement of its neurons, else None."""
    layer = next((la for la in (record.layers if record is not None else []) if la.name == name), None)
    if layer is None or layer.dead is None or not LR.enough_samples(layer.window):
        return None
    return layer


def not_judged_yet(record: Any | None, name: str) -> str:
    """Why a layer has no judgement yet, in words."""
    layer = next((la for la in (record.layers if record is not None else []) if la.name == name), None)
    have = int(layer.window or 0) if layer is not None else 0
    return f"not enough samples yet ({have} of the {TH.LIVE_DEAD_WINDOW} a verdict needs)"


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


def layer_stats(net: NetworkData, column: int, activations: Any | None = None) -> dict:
    """The layer inspector's numbers for one column.

    ``mean_abs_activation`` is over the window (or the current values when there is no
    history); ``dead``/``saturated`` are the probe's counts from ``activations`` (its
    newest ``ActivationRecord``; hidden layers only, None before a full window, and
    ``judged`` says which); ``saturated`` is None for activations without a bound to
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
        "judged": False,
        "judged_window": None,
        "not_judged": None,
        "weights": weight_stats(net.weights[column] if column < len(net.weights) else None),
    }
    if kind != "hidden" or not size:
        return out
    layer = judged_layer(activations, net.names[column])
    if layer is None or len(layer.states) != size:
        out["not_judged"] = not_judged_yet(activations, net.names[column])
        return out
    bounded = LR.saturation_limits(act) != (None, None)
    saturated = int(layer.saturated or 0)
    out.update(
        judged=True,
        judged_window=int(layer.window),
        dead=int(layer.dead),
        dead_share=int(layer.dead) / size,
        saturated=saturated if bounded else None,
        saturation_rate=saturated / size if bounded else None,
        always_active=layer.always_active,
    )
    return out


def neuron_stats(net: NetworkData, column: int, index: int, activations: Any | None = None) -> dict:
    """The neuron inspector's numbers for one neuron; its state is the probe's (from
    ``activations``, its newest ``ActivationRecord``), "unknown" before a full window."""
    act, kind = net.activations[column], net.kinds[column]
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
        layer = judged_layer(activations, net.names[column])
        if layer is None or index >= len(layer.states):
            status, why = "unknown", not_judged_yet(activations, net.names[column])
        else:
            state = int(layer.states[index])
            status = LR.STATE_NAMES.get(state, "unknown")
            n = int(layer.window)
            why = {
                LR.DEAD: f"its output {LR.dead_rule(act, n)}, {LR.dead_consequence(act)}",
                LR.SATURATED: f"its output sat at the limit of its {act} for all of the last {n} samples, "
                "where the slope is flat and it hardly learns",
                LR.ACTIVE: f"its output varied over the last {n} samples",
            }.get(state, "")
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
