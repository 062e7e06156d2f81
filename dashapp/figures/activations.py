"""Figure builders for the Activations tab: statistic cards, the dead-neuron grid and
single neurons' sparklines, from typed probe data (``rl.telemetry.ActivationRecord``; the
neuron histories of ``dashapp.read.probe.NeuronActivity``). Pure: data in, figure or
plain data out."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from dashapp.figures.common import HOVER_NUMBER, base_layout, clean, color, empty_figure
from dashapp.figures.layers import chart_title, grid_axes, num
from health import live_rules as R

DEAD_COLOR, ACTIVE_COLOR, SATURATED_COLOR = "#3d4451", "#009E73", "#E69F00"
STATE_COLORS = {R.DEAD: DEAD_COLOR, R.ACTIVE: ACTIVE_COLOR, R.SATURATED: SATURATED_COLOR}
#: Neurons per page of sparklines.
SPARKLINES_PER_PAGE = 16


def _share(count: int | None, size: int) -> float | None:
    return count / size if size and count is not None else None


def activation_cards(record: Any | None) -> list[dict]:
    """One dict per hidden layer for the statistic cards (plain data)."""
    cards = []
    for layer in record.layers if record is not None else []:
        size = int(layer.size or 0)
        window = int(layer.window or 0)
        # the probe's judgement, shown only on a full window (health.live_neurons.enough_samples)
        judged = R.enough_samples(window) and layer.dead is not None
        dead, saturated, always = (layer.dead, layer.saturated, layer.always_active) if judged else (None,) * 3
        cards.append(
            {
                "name": layer.name,
                "activation": layer.activation,
                "size": size,
                "mean": num(layer.mean),
                "std": num(layer.std),
                "min": num(layer.min),
                "max": num(layer.max),
                "dead": dead,
                "dead_share": _share(dead, size),
                "saturated": saturated,
                "saturated_share": _share(saturated, size),
                "always_active": always,
                "always_active_share": _share(always, size),
                "window": window,
                "judged": judged,
                "saturates": R.saturation_limits(str(layer.activation)) != (None, None),
            }
        )
    return cards


def dead_grid_data(record: Any | None) -> dict | None:
    """The dead-neuron grid's cells: ``{"names", "z" (rows of states, padded with None),
    "text" (hover text), "window"}``; None when no layer has neuron states on a full window."""
    layers = [
        layer
        for layer in (record.layers if record is not None else [])
        if layer.states and R.enough_samples(int(layer.window or 0))
    ]
    if not layers:
        return None
    width = max(len(layer.states) for layer in layers)
    z, text = [], []
    for layer in layers:
        states = [int(s) if s in (R.DEAD, R.ACTIVE, R.SATURATED) else None for s in layer.states]
        pad = width - len(states)
        z.append(states + [None] * pad)
        text.append(
            [
                f"{layer.name} neuron {j}: {R.STATE_NAMES.get(s, '?') if s is not None else '?'}"
                for j, s in enumerate(states)
            ]
            + [""] * pad
        )
    return {
        "names": [str(layer.name) for layer in layers],
        "z": z,
        "text": text,
        "window": min(int(layer.window or 0) for layer in layers),
    }


def dead_grid_figure(record: Any | None, *, height: int = 260) -> go.Figure:
    """One cell per neuron, one row per hidden layer: dead, active or saturated."""
    grid = dead_grid_data(record)
    if grid is None:
        return empty_figure("Waiting for activation samples...", height=height)
    width = len(grid["z"][0])
    scale = [
        [0.0, DEAD_COLOR],
        [1 / 3, DEAD_COLOR],
        [1 / 3, ACTIVE_COLOR],
        [2 / 3, ACTIVE_COLOR],
        [2 / 3, SATURATED_COLOR],
        [1.0, SATURATED_COLOR],
    ]
    fig = go.Figure(
        go.Heatmap(
            z=grid["z"],
            x=list(range(width)),
            y=grid["names"],
            text=grid["text"],
            hovertemplate="%{text}<extra></extra>",
            colorscale=scale,
            zmin=-0.5,
            zmax=2.5,
            xgap=1,
            ygap=3,
            colorbar=dict(tickvals=[0, 1, 2], ticktext=["dead", "active", "saturated"], thickness=12),
        )
    )
    base_layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest", meta={"window": grid["window"], "layers": grid["names"], "width": width})
    fig.update_xaxes(title_text="neuron", showgrid=False)
    fig.update_yaxes(autorange="reversed", showgrid=False, type="category")
    return fig


def sparkline_page_options(size: int, per_page: int = SPARKLINES_PER_PAGE) -> list[dict]:
    """Dropdown options for pages of neurons: "neurons 0–15", ..."""
    return [
        {"label": f"neurons {i}–{min(i + per_page, size) - 1}", "value": i} for i in range(0, max(size, 0), per_page)
    ]


def _history(activity: Any | None, name: str | None) -> np.ndarray | None:
    layer = activity.layer(name) if activity is not None else None
    if layer is None:
        return None
    history = np.asarray(layer.history, dtype=float)
    return history if history.ndim == 2 and history.shape[0] else None


def _sample_numbers(activity: Any, n: int) -> list[int]:
    samples = int(activity.samples or n)
    return list(range(samples - n, samples))


def sparklines_figure(
    activity: Any | None, name: str | None, first: int = 0, *, per_page: int = SPARKLINES_PER_PAGE, height: int = 420
) -> go.Figure:
    """Recent activations of ``per_page`` neurons of layer ``name`` (from ``first``), one
    small line chart each; x = sample number. ``activity`` is a
    ``dashapp.read.probe.NeuronActivity``."""
    history = _history(activity, name)
    if history is None:
        return empty_figure("Waiting for neuron activations...", height=height)
    size = history.shape[1]
    first = max(0, min(int(first or 0), max(size - 1, 0)))
    neurons = list(range(first, min(first + per_page, size)))
    x = _sample_numbers(activity, history.shape[0])
    layout: dict = {}
    data, titles = [], []
    for k, (suffix, xaxis, yaxis) in enumerate(grid_axes(len(neurons), 4)):
        j = neurons[k]
        layout[f"xaxis{suffix}"] = {**xaxis, "showticklabels": False, "gridcolor": "#e9ecef"}
        layout[f"yaxis{suffix}"] = {**yaxis, "tickfont": {"size": 9}, "nticks": 3, "gridcolor": "#e9ecef"}
        data.append(
            go.Scatter(
                x=x,
                y=clean(history[:, j]),
                mode="lines",
                name=f"neuron {j}",
                xaxis=f"x{suffix}",
                yaxis=f"y{suffix}",
                line=dict(width=1.2, color=color(0)),
                showlegend=False,
                hovertemplate=f"neuron {j}<br>sample %{{x}}<br>activation %{{y:{HOVER_NUMBER}}}<extra></extra>",
            )
        )
        titles.append(chart_title(f"neuron {j}", sum(xaxis["domain"]) / 2, yaxis["domain"][1], 11))
    fig = go.Figure(data=data, layout={**layout, "annotations": titles})
    base_layout(fig, height=height, legend=False)
    fig.update_layout(
        hovermode="closest",
        margin=dict(l=40, r=12, t=24, b=16),
        meta={"layer": name, "first": first, "neurons": neurons},
    )
    return fig


def sparklines_extension(
    activity: Any | None,
    name: str | None,
    first: int,
    drawn: int,
    *,
    per_page: int = SPARKLINES_PER_PAGE,
    max_points: int = 500,
) -> list | None:
    """``extendData`` for the traces of :func:`sparklines_figure` with the samples not
    drawn yet (samples are numbered from 0; the page has drawn the first ``drawn``).
    None when nothing is new."""
    history = _history(activity, name)
    if history is None:
        return None
    x = _sample_numbers(activity, history.shape[0])
    new = [i for i, s in enumerate(x) if s >= drawn]
    if not new:
        return None
    neurons = list(range(first, min(first + per_page, history.shape[1])))
    return [
        {"x": [[x[i] for i in new] for _ in neurons], "y": [clean(history[new, j]) for j in neurons]},
        list(range(len(neurons))),
        max_points,
    ]
