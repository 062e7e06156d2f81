"""Figure builders for the Gradients tab: a verdict per layer, the gradient-flow heatmap
(layers x time, colour = gradient norm on a log scale) and each layer's gradient norm as a
line, from typed ``rl.telemetry.GradientRecord``s. Pure: data in, figure or plain data out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from dashapp.figures.common import base_layout, color, empty_figure, fmt, has_numbers
from dashapp.figures.layers import field_series, layer_names, layer_of, log_line, log_values, num, steps_of
from health import live_rules as R
from health import thresholds as TH

VANISHING_COLOR, EXPLODING_COLOR, HEALTHY_COLOR = "#0072B2", "#D55E00", "#009E73"
VERDICT_COLORS = {
    R.VANISHING: VANISHING_COLOR,
    R.EXPLODING: EXPLODING_COLOR,
    R.HEALTHY: HEALTHY_COLOR,
    R.NO_DATA: "#6c757d",
}
#: Log-scale charts cannot show zero: norms below this are drawn at it (the hover still
#: says the real value).
GRAD_DISPLAY_FLOOR = TH.LIVE_GRAD_VANISHING_FLOOR / 100
#: The heatmap's colour axis: log10 of the gradient norm.
GRAD_ZMIN = math.floor(math.log10(TH.LIVE_GRAD_VANISHING_FLOOR)) - 2
GRAD_ZMAX = math.ceil(math.log10(TH.LIVE_GRAD_EXPLODING_NORM)) + 1


def gradient_colorscale() -> list:
    """Blues below the vanishing floor, yellow-to-green for the healthy range, reds
    above the exploding ceiling (positions on the GRAD_ZMIN..GRAD_ZMAX axis)."""
    span = GRAD_ZMAX - GRAD_ZMIN
    floor = (math.log10(TH.LIVE_GRAD_VANISHING_FLOOR) - GRAD_ZMIN) / span
    ceiling = (math.log10(TH.LIVE_GRAD_EXPLODING_NORM) - GRAD_ZMIN) / span
    return [
        [0.0, "#08306b"],
        [floor, "#6baed6"],
        [floor, "#ffffcc"],
        [(floor + ceiling) / 2, "#78c679"],
        [ceiling, "#006837"],
        [ceiling, "#fc9272"],
        [1.0, "#a50f15"],
    ]


def _log10_norms(values: Sequence[float | None]) -> list[float | None]:
    return [None if v is None else min(max(math.log10(max(v, 10.0**GRAD_ZMIN)), GRAD_ZMIN), GRAD_ZMAX) for v in values]


def gradient_heatmap_columns(records: Sequence[Any], names: Sequence[str]) -> dict:
    """New heatmap columns: ``{"x": steps, "z": rows, "customdata": rows}`` with one row
    per layer (log10 norm, and the real norm for the hover)."""
    z, custom = [], []
    for name in names:
        norms = field_series(records, name, "norm")
        z.append(_log10_norms(norms))
        custom.append([fmt(v) for v in norms])
    return {"x": steps_of(records), "z": z, "customdata": custom}


def gradient_heatmap(records: Sequence[Any], names: Sequence[str] | None = None, *, height: int = 300) -> go.Figure:
    """Gradient flow: layers (input at the top) x training step, colour = gradient norm
    on a log scale, with the vanishing and exploding ranges in their own colours."""
    names = list(names or layer_names(records))
    cols = gradient_heatmap_columns(records, names)
    if not names or not any(v is not None for row in cols["z"] for v in row):
        return empty_figure("Waiting for the first optimisation step...", height=height)
    ticks = list(range(GRAD_ZMIN, GRAD_ZMAX + 1))
    labels = [f"1e{t}" for t in ticks]
    labels[ticks.index(round(math.log10(TH.LIVE_GRAD_VANISHING_FLOOR)))] += " vanishing ↓"
    labels[ticks.index(round(math.log10(TH.LIVE_GRAD_EXPLODING_NORM)))] += " exploding ↑"
    fig = go.Figure(
        go.Heatmap(
            x=cols["x"],
            y=names,
            z=cols["z"],
            customdata=cols["customdata"],
            colorscale=gradient_colorscale(),
            zmin=GRAD_ZMIN,
            zmax=GRAD_ZMAX,
            ygap=2,
            colorbar=dict(
                title=dict(text="gradient norm", side="right"), tickvals=ticks, ticktext=labels, thickness=12
            ),
            hovertemplate="%{y} at step %{x}<br>gradient norm %{customdata}<extra></extra>",
        )
    )
    base_layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(autorange="reversed", type="category", showgrid=False)
    return fig


def log_lines(
    records: Sequence[Any],
    names: Sequence[str],
    attr: str,
    floor: float,
    *,
    height: int,
    empty: str,
    markers: bool = False,
) -> go.Figure:
    """Layer ``attr`` per layer over training on a log scale (the hover says the real value)."""
    if not names or not any(has_numbers(field_series(records, n, attr)) for n in names):
        return empty_figure(empty, height=height)
    fig = go.Figure()
    x = steps_of(records)
    for i, name in enumerate(names):
        values = field_series(records, name, attr)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=log_values(values, floor),
                customdata=[fmt(v) for v in values],
                mode="lines+markers" if markers else "lines",
                marker=dict(size=4),
                name=name,
                line=dict(color=color(i), width=1.6),
                hovertemplate=f"{name}: %{{customdata}}<extra></extra>",
            )
        )
    base_layout(fig, height=height)
    fig.update_xaxes(title_text="training step")
    return fig


def lines_extension(
    records: Sequence[Any], names: Sequence[str], attr: str, floor: float, max_points: int
) -> list | None:
    """``extendData`` adding ``records``' ``attr`` per layer to the traces of :func:`log_lines`."""
    if not records or not names:
        return None
    x = steps_of(records)
    xs, ys, custom = [], [], []
    for name in names:
        values = field_series(records, name, attr)
        xs.append(x)
        ys.append(log_values(values, floor))
        custom.append([fmt(v) for v in values])
    return [{"x": xs, "y": ys, "customdata": custom}, list(range(len(names))), max_points]


def gradient_lines(records: Sequence[Any], names: Sequence[str] | None = None, *, height: int = 320) -> go.Figure:
    """Gradient norm per layer over training (log scale), with the vanishing floor and
    the exploding ceiling drawn as dashed lines."""
    fig = log_lines(
        records,
        list(names or layer_names(records)),
        "norm",
        GRAD_DISPLAY_FLOOR,
        height=height,
        empty="Waiting for the first optimisation step...",
    )
    if fig.data:
        log_line(fig, TH.LIVE_GRAD_VANISHING_FLOOR, VANISHING_COLOR, "vanishing below", above=False)
        log_line(fig, TH.LIVE_GRAD_EXPLODING_NORM, EXPLODING_COLOR, "exploding above", above=True)
        fig.update_yaxes(type="log", title_text="gradient norm (log scale)", exponentformat="power")
    return fig


def gradient_lines_extension(records: Sequence[Any], names: Sequence[str], max_points: int) -> list | None:
    return lines_extension(records, names, "norm", GRAD_DISPLAY_FLOOR, max_points)


def gradient_verdict_rows(records: Sequence[Any], names: Sequence[str] | None = None) -> list[dict]:
    """The current verdict per layer -- healthy, vanishing or exploding -- by the same
    rules that raise the alerts (:func:`health.live_rules.gradient_verdicts`)."""
    history = {}
    for name in list(names or layer_names(records)):
        values = []
        for rec in records:
            layer = layer_of(rec, name)
            if layer is None:
                continue
            norm = num(layer.norm)
            values.append(math.nan if norm is None and layer.finite is False else norm)
        history[name] = [v for v in values if v is not None]
    return [
        {
            "layer": v.layer,
            "verdict": v.verdict,
            "norm": None if math.isnan(v.norm) else v.norm,
            "reason": v.reason,
            "color": VERDICT_COLORS.get(v.verdict, "#6c757d"),
        }
        for v in R.gradient_verdicts(history)
    ]
