"""Figures of checkpoints compared: alpha across checkpoints, and a layer x checkpoint grid.

Pure builders over a ``health.Comparison`` (``health.compare.comparison_from_results``
over the analysed checkpoints, in training order) -- the object ``neurodash health``
prints its comparison from, so the charts and the command show the same numbers. A
layer WeightWatcher could not fit never gets a number: its cells say "not analysed" and
why (the reason health gives), and an output layer has no dead-neuron share.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go

from dashapp.figures.alpha_bands import ALPHA_BANDS, alpha_axis_range, shade_alpha_bands
from dashapp.figures.common import HOVER_NUMBER, MUTED, base_layout, color, empty_figure, fmt, percent
from health import Comparison
from health.results import LayerHealth

__all__ = [
    "METRICS",
    "Cell",
    "LayerGrid",
    "alpha_figure",
    "heatmap_figure",
    "layer_grid",
    "layer_names",
    "not_analysed",
]

#: The heatmap's metrics: key -> the name the selector and the colour bar show.
METRICS: dict[str, str] = {
    "alpha": "alpha",
    "stable_rank_share": "stable-rank share",
    "dead_share": "dead-neuron share",
}


@dataclass(frozen=True)
class Cell:
    """One layer in one checkpoint: the value, or None and ``note`` saying why there is none."""

    value: float | None
    note: str = ""


@dataclass(frozen=True)
class LayerGrid:
    """A metric per layer (rows) and checkpoint (columns) of one network."""

    network: str
    metric: str
    layers: list[str]
    labels: list[str]
    cells: list[list[Cell]]  # [layer][checkpoint]

    def values(self) -> list[list[float | None]]:
        return [[c.value for c in row] for row in self.cells]


def _layers(cmp: Comparison, network: str) -> list[dict[str, LayerHealth]]:
    """Per checkpoint: the network's layers by name ({} when the checkpoint lacks the network)."""
    out = []
    for result in cmp.results:
        health = result.networks.get(network)
        out.append({lh.name: lh for lh in health.layers} if health is not None else {})
    return out


def layer_names(cmp: Comparison, network: str) -> list[str]:
    """The network's layer names, input to output, over every checkpoint."""
    names: list[str] = []
    for layers in _layers(cmp, network):
        names.extend(n for n in layers if n not in names)
    return names


def _cell(lh: LayerHealth | None, metric: str, network_present: bool) -> Cell:
    if not network_present:
        return Cell(None, "this checkpoint has no such network")
    if lh is None:
        return Cell(None, "this checkpoint's network has no such layer")
    m = lh.metrics
    if metric == "alpha":
        return Cell(m.alpha, "") if m.analysed else Cell(None, f"not analysed: {m.reason}")
    if metric == "stable_rank_share":
        if m.stable_rank_ratio is not None:
            return Cell(m.stable_rank_ratio, "")
        return Cell(None, f"not measured: {m.reason or 'WeightWatcher gave no stable rank'}")
    if metric == "dead_share":
        if lh.units and lh.dead is not None:
            return Cell(lh.dead / lh.units, f"{lh.dead} of {lh.units} units dead")
        if not lh.hidden:
            return Cell(None, "output layer: its units are the network's outputs, never counted as dead")
        return Cell(None, "no dead-neuron count for this layer")
    raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)}")


def layer_grid(cmp: Comparison, network: str, metric: str) -> LayerGrid:
    """``metric`` ("alpha", "stable_rank_share" or "dead_share") of every layer of
    ``network`` in every checkpoint."""
    per_ckpt = _layers(cmp, network)
    names = layer_names(cmp, network)
    present = [network in r.networks for r in cmp.results]
    cells = [[_cell(layers.get(name), metric, ok) for layers, ok in zip(per_ckpt, present)] for name in names]
    return LayerGrid(network, metric, names, list(cmp.labels), cells)


def not_analysed(cmp: Comparison, network: str) -> list[tuple[str, str, list[str]]]:
    """(layer, reason, checkpoints) for every layer WeightWatcher did not fit, grouped by
    reason, in layer order."""
    grid = layer_grid(cmp, network, "alpha")
    out: list[tuple[str, str, list[str]]] = []
    for name, row in zip(grid.layers, grid.cells):
        reasons: dict[str, list[str]] = {}
        for label, cell in zip(grid.labels, row):
            if cell.value is None and cell.note.startswith("not analysed: "):
                reasons.setdefault(cell.note.removeprefix("not analysed: "), []).append(label)
        out.extend((name, reason, labels) for reason, labels in reasons.items())
    return out


def alpha_figure(cmp: Comparison, network: str, *, height: int = 380) -> go.Figure:
    """Alpha of each analysed layer of ``network`` and the network's overall alpha (the
    mean of its analysed layers, as ``neurodash health`` gives it), one point per
    checkpoint, over the shaded alpha bands; the checkpoint to keep is starred. Points
    carry the checkpoint's label, so a click can open its report."""
    grid = layer_grid(cmp, network, "alpha")
    overall = cmp.alphas.get(network, [])
    if not any(v is not None for v in overall):
        return empty_figure(f"WeightWatcher could not fit any layer of {network} in these checkpoints", height=height)
    fig = go.Figure()
    shown: list[float | None] = list(overall)
    for i, (name, row) in enumerate(zip(grid.layers, grid.cells)):
        ys = [c.value for c in row]
        if not any(v is not None for v in ys):
            continue  # never analysed: listed under the chart with the reason, never drawn as a number
        shown.extend(ys)
        fig.add_trace(
            go.Scatter(
                x=grid.labels,
                y=ys,
                name=name,
                mode="lines+markers",
                line=dict(color=color(i), width=1.5),
                marker=dict(size=7),
                connectgaps=False,
                hovertemplate=f"{name}: %{{y:{HOVER_NUMBER}}}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=grid.labels,
            y=overall,
            name=f"{network} overall",
            mode="lines+markers",
            line=dict(color="#212529", width=3),
            marker=dict(size=9),
            hovertemplate=f"overall: %{{y:{HOVER_NUMBER}}}<extra></extra>",
        )
    )
    keep = cmp.patterns[network].keep if network in cmp.patterns else None
    if keep is not None and overall[keep] is not None:
        fig.add_trace(
            go.Scatter(
                x=[grid.labels[keep]],
                y=[overall[keep]],
                name="keep",
                mode="markers",
                marker=dict(symbol="star", size=18, color="#E69F00", line=dict(color="#212529", width=1)),
                hovertemplate="keep this one<extra></extra>",
            )
        )
    shade_alpha_bands(fig)
    base_layout(fig, height=height)
    fig.update_layout(margin=dict(l=52, r=16, t=40, b=60))
    fig.update_yaxes(title_text="alpha", range=alpha_axis_range(shown))
    fig.update_xaxes(title_text="checkpoint (training order)", type="category", tickangle=-30)
    return fig


def _opaque(fill: str, alpha: float = 0.6) -> str:
    """An ``rgba(...)`` band fill with a stronger opacity, for the heatmap's colours."""
    r, g, b = re.findall(r"[\d.]+", fill)[:3]
    return f"rgba({r},{g},{b},{alpha:g})"


def _band_colorscale(low: float, high: float) -> list[list]:
    """A step colour scale over [low, high] with the alpha bands' colours, so a cell's
    colour names the band its alpha is in."""
    scale: list[list] = []
    span = high - low
    for band in ALPHA_BANDS:
        lo = 0.0 if band.low is None else min(1.0, max(0.0, (band.low - low) / span))
        hi = 1.0 if band.high is None else min(1.0, max(0.0, (band.high - low) / span))
        if hi <= lo:
            continue
        scale += [[lo, _opaque(band.fill)], [hi, _opaque(band.fill)]]
    return scale


def heatmap_figure(grid: LayerGrid, *, height: int | None = None) -> go.Figure:
    """The grid as a heatmap: layers down, checkpoints across, the value written in each
    cell; a cell without a value says "not analysed" (WeightWatcher could not fit the
    layer) or "n/a", and on hover why."""
    if not grid.layers or not grid.labels:
        return empty_figure("No layers to show", height=height or 300)
    height = height or max(260, 90 + 44 * len(grid.layers))
    values = grid.values()
    flat = [v for row in values for v in row if v is not None]
    scale: list[list] | str
    write: Callable[[float], str]
    if grid.metric == "alpha":
        zmin, zmax = alpha_axis_range(flat)
        scale, write = _band_colorscale(zmin, zmax), fmt
    else:
        zmin, zmax = 0.0, 1.0
        scale, write = ("Blues" if grid.metric == "stable_rank_share" else "Reds"), percent
    label = [[write(v) if v is not None else "" for v in row] for row in values]
    notes = [[c.note for c in row] for row in grid.cells]
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=grid.labels,
            y=grid.layers,
            text=label,
            texttemplate="%{text}",
            customdata=notes,
            zmin=zmin,
            zmax=zmax,
            colorscale=scale,
            colorbar=dict(title=dict(text=METRICS[grid.metric], side="right"), thickness=12),
            hovertemplate="%{x}<br>%{y}: %{text}<br>%{customdata}<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    gaps = [
        (x, y, c.note) for y, row in zip(grid.layers, grid.cells) for x, c in zip(grid.labels, row) if c.value is None
    ]
    if gaps:
        fig.add_trace(
            go.Scatter(
                x=[g[0] for g in gaps],
                y=[g[1] for g in gaps],
                text=["not<br>analysed" if g[2].startswith("not analysed") else "n/a" for g in gaps],
                customdata=[g[2] for g in gaps],
                mode="text",
                textfont=dict(color=MUTED, size=10),
                hovertemplate="%{x}<br>%{y}: %{customdata}<extra></extra>",
                showlegend=False,
                name="no value",
            )
        )
    base_layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest", margin=dict(l=52, r=16, t=16, b=60))
    fig.update_xaxes(type="category", tickangle=-30, showgrid=False)
    fig.update_yaxes(type="category", autorange="reversed", showgrid=False)
    return fig
