"""Helpers the probe tabs' figure builders share: reading a layer's figures across typed
probe records (``rl.telemetry``'s ActivationRecord, GradientRecord, WeightRecord), log-scale
values and lines, and a grid of small charts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import plotly.graph_objects as go

from dashapp.figures.common import finite as num


def layer_names(records: Iterable[Any]) -> list[str]:
    """Layer names in order of first appearance across ``records``."""
    names: list[str] = []
    for rec in records:
        for layer in rec.layers:
            if layer.name not in names:
                names.append(layer.name)
    return names


def layer_of(record: Any, name: str | None) -> Any | None:
    """The layer called ``name`` in ``record`` (None when it has none such)."""
    return next((layer for layer in record.layers if layer.name == name), None) if record is not None else None


def field_series(records: Sequence[Any], name: str, attr: str) -> list[float | None]:
    """Layer ``name``'s ``attr`` across ``records`` (None where missing or not finite)."""
    out = []
    for rec in records:
        layer = layer_of(rec, name)
        out.append(None if layer is None else num(getattr(layer, attr)))
    return out


def steps_of(records: Sequence[Any]) -> list[int]:
    return [int(r.step or 0) for r in records]


def log_values(values: Sequence[float | None], floor: float) -> list[float | None]:
    """Values for a log-scale axis: those below ``floor`` (zero included) drawn at it."""
    return [None if v is None else max(v, floor) for v in values]


def log_line(fig: go.Figure, value: float, line_color: str, text: str, above: bool) -> None:
    """A dashed horizontal line at ``value`` on a log-scale y axis, labelled ``text``.
    (A shape takes data units, but an annotation on a log axis takes log10 units.)"""
    fig.add_hline(y=value, line=dict(color=line_color, dash="dash", width=1))
    fig.add_annotation(
        x=0,
        xref="paper",
        y=math.log10(value),
        yref="y",
        text=text,
        showarrow=False,
        xanchor="left",
        yanchor="bottom" if above else "top",
        font=dict(size=10, color=line_color),
    )


def grid_axes(n: int, cols: int, *, gap_x: float = 0.03, gap_y: float = 0.07) -> list[tuple[str, dict, dict]]:
    """Axes for ``n`` small charts on a ``cols``-wide grid: (suffix, xaxis, yaxis) each.
    Built by hand -- ``make_subplots`` takes ten times longer, too slow for a poll."""
    rows = max(1, math.ceil(n / cols))
    axes = []
    for k in range(n):
        r, c = divmod(k, cols)
        suffix = "" if k == 0 else str(k + 1)
        x0, x1 = c / cols + gap_x / 2, (c + 1) / cols - gap_x / 2
        y1, y0 = 1 - r / rows - gap_y / 2, 1 - (r + 1) / rows + gap_y / 2
        axes.append((suffix, dict(domain=[x0, x1], anchor=f"y{suffix}"), dict(domain=[y0, y1], anchor=f"x{suffix}")))
    return axes


def chart_title(text: str, x: float, y: float, size: int) -> dict:
    """A small chart's title, centred at paper coordinates (x, y), for a grid of charts."""
    return dict(
        text=text,
        x=x,
        y=y,
        xref="paper",
        yref="paper",
        xanchor="center",
        yanchor="bottom",
        showarrow=False,
        font=dict(size=size),
    )
