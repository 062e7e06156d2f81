"""Histograms of a layer's values (activations or weights): the latest one per layer, and
one layer's histogram over training as a heatmap that grows a column per record.

Builders take typed probe records whose layers carry ``hist``, ``hist_lo`` and ``hist_hi``
(``rl.telemetry.ActivationLayer``, ``WeightLayer``). The heatmap's columns are appended by
a ``Patch`` while new records fit its value range (:func:`histogram_columns`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dashapp.figures.common import HOVER_NUMBER, base_layout, clean, color, empty_figure
from dashapp.figures.layers import chart_title, grid_axes, layer_of, num

#: Rows of the histogram-over-time heatmaps (each record's bins are spread onto them).
GRID_BINS = 40
#: When a new histogram falls outside the heatmap's value range, the range is widened
#: by this much on each side (so redraws get rarer as training settles).
GRID_HEADROOM = 0.25


def bin_centres(lo: float, hi: float, n: int) -> list[float]:
    width = (hi - lo) / n
    return [lo + (i + 0.5) * width for i in range(n)]


def histogram_bars(record: Any | None, names: Sequence[str] | None = None) -> list[dict]:
    """Each layer's latest histogram as bars: ``{"name", "x" (bin centres), "y" (counts),
    "width"}``; layers without a usable histogram are left out."""
    bars = []
    for layer in record.layers if record is not None else []:
        if (names is not None and layer.name not in names) or not layer.hist:
            continue
        lo, hi = num(layer.hist_lo), num(layer.hist_hi)
        if lo is None or hi is None:
            continue
        counts = clean(layer.hist)
        bars.append(
            {
                "name": str(layer.name),
                "x": bin_centres(lo, hi, len(counts)),
                "y": counts,
                "width": (hi - lo) / max(len(counts), 1),
            }
        )
    return bars


def histograms_figure(
    record: Any | None, *, value_label: str, height: int = 300, names: Sequence[str] | None = None
) -> go.Figure:
    """The latest histogram of every layer, one small chart per layer (the layers' names
    are in ``layout.meta["layers"]``; :func:`histogram_bars` gives what changes)."""
    bars = histogram_bars(record, names)
    if not bars:
        return empty_figure("Waiting for the first histogram...", height=height)
    layout: dict = {}
    data, titles = [], []
    for i, (suffix, xaxis, yaxis) in enumerate(grid_axes(len(bars), len(bars), gap_x=0.06, gap_y=0.0)):
        bar = bars[i]
        layout[f"xaxis{suffix}"] = {**xaxis, "title": {"text": value_label}, "gridcolor": "#e9ecef"}
        layout[f"yaxis{suffix}"] = {
            **yaxis,
            "domain": [0.0, 0.9],
            "gridcolor": "#e9ecef",
            **({"title": {"text": "count"}} if i == 0 else {}),
        }
        data.append(
            go.Bar(
                x=bar["x"],
                y=bar["y"],
                width=bar["width"],
                xaxis=f"x{suffix}",
                yaxis=f"y{suffix}",
                marker_color=color(i),
                name=bar["name"],
                showlegend=False,
                hovertemplate=f"{bar['name']}<br>{value_label} %{{x:{HOVER_NUMBER}}}<br>count %{{y}}<extra></extra>",
            )
        )
        titles.append(chart_title(bar["name"], sum(xaxis["domain"]) / 2, 1.0, 12))
    fig = go.Figure(data=data, layout={**layout, "annotations": titles})
    base_layout(fig, height=height, legend=False)
    fig.update_layout(
        hovermode="closest",
        bargap=0.02,
        margin=dict(l=48, r=16, t=28, b=40),
        meta={"layers": [b["name"] for b in bars]},
    )
    return fig


def rebin(
    counts: Sequence[float], lo: float, hi: float, grid_lo: float, grid_hi: float, n: int = GRID_BINS
) -> np.ndarray:
    """Spread a histogram over [lo, hi] onto ``n`` equal bins over [grid_lo, grid_hi],
    assuming values are uniform inside each source bin. Counts outside the grid are
    dropped; NaN counts count as zero."""
    values = np.nan_to_num(np.asarray(clean(counts), dtype=float), nan=0.0)
    out = np.zeros(n)
    k = values.size
    if k == 0 or not (hi > lo) or not (grid_hi > grid_lo):
        return out
    src = np.linspace(lo, hi, k + 1)
    dst = np.linspace(grid_lo, grid_hi, n + 1)
    # overlap of every source bin with every target bin, as a fraction of the source bin
    left = np.maximum(src[:-1, None], dst[None, :-1])
    right = np.minimum(src[1:, None], dst[None, 1:])
    overlap = np.clip(right - left, 0.0, None) / (src[1:, None] - src[:-1, None])
    return values @ overlap


def _record_range(rec: Any, name: str) -> tuple[float, float, list[int]] | None:
    """(lo, hi, counts) of layer ``name``'s histogram in ``rec``, when it has a usable one."""
    layer = layer_of(rec, name)
    if layer is None or not layer.hist:
        return None
    lo, hi = num(layer.hist_lo), num(layer.hist_hi)
    if lo is None or hi is None or not hi > lo:
        return None
    return lo, hi, layer.hist


def histogram_grid(records: Sequence[Any], name: str) -> list[float] | None:
    """[lo, hi] of the heatmap's value axis for layer ``name``: the records' range with
    some headroom. None when no record has a histogram of that layer."""
    ranges = [r for r in (_record_range(rec, name) for rec in records) if r is not None]
    if not ranges:
        return None
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    pad = GRID_HEADROOM * (hi - lo)
    # ReLU-like activations never go below zero: do not waste rows below it
    low = lo - pad if lo < 0 or lo - pad >= 0 else 0.0
    return [low, hi + pad]


def histogram_columns(records: Sequence[Any], name: str, grid: Sequence[float]) -> dict | None:
    """The heatmap columns for ``records`` on ``grid``: ``{"x": steps, "z": columns}``
    (one column per record: the share of its values in each of the grid's rows -- the
    heatmap is drawn with ``transpose=True``, so a ``Patch`` appends a column with one
    ``extend``), or None when a record does not fit the grid (then redraw)."""
    lo, hi = float(grid[0]), float(grid[1])
    xs, cols = [], []
    for rec in records:
        rng = _record_range(rec, name)
        if rng is None:
            continue
        if rng[0] < lo - 1e-12 or rng[1] > hi + 1e-12:
            return None
        col = rebin(rng[2], rng[0], rng[1], lo, hi)
        total = col.sum()
        xs.append(int(rec.step or 0))
        cols.append(col / total if total > 0 else col)
    return {"x": xs, "z": [[round(float(v), 5) for v in col] for col in cols]}


def histogram_heatmap(
    records: Sequence[Any], name: str | None, *, value_label: str, height: int = 320
) -> tuple[go.Figure, list[float] | None]:
    """How layer ``name``'s histogram changes over time: x = training step, y = value,
    colour = share of the values in that range. Returns the figure and its grid."""
    if not name:
        return empty_figure("No layer to show yet.", height=height), None
    grid = histogram_grid(records, name)
    if grid is None:
        return empty_figure(f"Waiting for histograms of {name}...", height=height), None
    cols = histogram_columns(records, name, grid) or {"x": [], "z": []}
    centres = bin_centres(grid[0], grid[1], GRID_BINS)
    fig = go.Figure(
        go.Heatmap(
            x=cols["x"],
            y=centres,
            z=cols["z"],
            transpose=True,
            colorscale="Viridis",
            zmin=0,
            colorbar=dict(title=dict(text="share", side="right"), thickness=12),
            hovertemplate=f"step %{{x}}<br>{value_label} ≈ %{{y:{HOVER_NUMBER}}}<br>share %{{z:.1%}}<extra></extra>",
        )
    )
    base_layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text=f"{value_label} ({name})")
    return fig, grid
