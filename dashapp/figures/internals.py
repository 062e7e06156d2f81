"""Figure builders for the network's insides: activations, gradients, weights.

Pure functions: plain data in (probe records as the store holds them -- dicts -- and
the decoded NEURONS snapshot), ``go.Figure`` or plain data out; no I/O, no Dash. Charts
that grow while training have a full builder for the first draw and an *extension*
builder that turns only new records into an ``extendData`` payload or into the columns
a ``Patch`` appends, so a poll sends only what is new. Both agree on the trace order.

Empty, partial and non-finite input give a labelled empty figure or gaps, never errors.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from dashapp.figures.common import base_layout, clean, color, empty_figure, has_numbers
from health import live_rules as R
from health import thresholds as TH

DEAD_COLOR, ACTIVE_COLOR, SATURATED_COLOR = "#3d4451", "#009E73", "#E69F00"
VANISHING_COLOR, EXPLODING_COLOR, HEALTHY_COLOR = "#0072B2", "#D55E00", "#009E73"
STATE_COLORS = {R.DEAD: DEAD_COLOR, R.ACTIVE: ACTIVE_COLOR, R.SATURATED: SATURATED_COLOR}
VERDICT_COLORS = {R.VANISHING: VANISHING_COLOR, R.EXPLODING: EXPLODING_COLOR,
                  R.HEALTHY: HEALTHY_COLOR, R.NO_DATA: "#6c757d"}

#: Rows of the histogram-over-time heatmaps (each record's bins are spread onto them).
GRID_BINS = 40
#: When a new histogram falls outside the heatmap's value range, the range is widened
#: by this much on each side (so redraws get rarer as training settles).
GRID_HEADROOM = 0.25
#: Log-scale charts cannot show zero: values below these are drawn at them (the hover
#: still says the real value).
GRAD_DISPLAY_FLOOR = TH.LIVE_GRAD_VANISHING_FLOOR / 100
VELOCITY_DISPLAY_FLOOR = TH.LIVE_VELOCITY_STALL / 100
#: Neurons per page of sparklines.
SPARKLINES_PER_PAGE = 16


# =========================================================================== helpers
def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def layer_names(records: Iterable[Mapping], hidden_only: bool = False) -> list[str]:
    """Layer names in order of first appearance across ``records``."""
    names: list[str] = []
    for rec in records:
        for layer in rec.get("layers") or []:
            name = layer.get("name")
            if isinstance(name, str) and name not in names:
                names.append(name)
    return names


def _layer(record: Mapping, name: str) -> Mapping | None:
    for layer in record.get("layers") or []:
        if layer.get("name") == name:
            return layer
    return None


def _field_series(records: Sequence[Mapping], name: str, key: str) -> list[float | None]:
    out = []
    for rec in records:
        layer = _layer(rec, name)
        out.append(None if layer is None else _num(layer.get(key)))
    return out


def _steps(records: Sequence[Mapping]) -> list[int]:
    return [int(r.get("step") or 0) for r in records]


def _log_values(values: Sequence[float | None], floor: float) -> list[float | None]:
    return [None if v is None else max(v, floor) for v in values]


def _log_line(fig: go.Figure, value: float, line_color: str, text: str, above: bool) -> None:
    """A dashed horizontal line at ``value`` on a log-scale y axis, labelled ``text``.
    (A shape takes data units, but an annotation on a log axis takes log10 units.)"""
    fig.add_hline(y=value, line=dict(color=line_color, dash="dash", width=1))
    fig.add_annotation(x=0, xref="paper", y=math.log10(value), yref="y", text=text, showarrow=False,
                       xanchor="left", yanchor="bottom" if above else "top",
                       font=dict(size=10, color=line_color))


def fmt(v, digits: int = 3) -> str:
    """A number as a short string ("–" for missing), e.g. for tables and cards."""
    f = _num(v)
    if f is None:
        return "–"
    if f != 0 and (abs(f) < 1e-3 or abs(f) >= 1e4):
        return f"{f:.{max(digits - 1, 1)}e}"
    return f"{f:.{digits}g}"


# =========================================================================== histograms
def bin_centres(lo: float, hi: float, n: int) -> list[float]:
    width = (hi - lo) / n
    return [lo + (i + 0.5) * width for i in range(n)]


def histogram_bars(record: Mapping | None, names: Sequence[str] | None = None) -> list[dict]:
    """Each layer's latest histogram as bars: ``{"name", "x" (bin centres), "y" (counts),
    "width"}``; layers without a usable histogram are left out."""
    bars = []
    for layer in (record or {}).get("layers") or []:
        if (names is not None and layer.get("name") not in names) or not layer.get("hist"):
            continue
        lo, hi = _num(layer.get("hist_lo")), _num(layer.get("hist_hi"))
        if lo is None or hi is None:
            continue
        counts = clean(layer["hist"])
        bars.append({"name": str(layer.get("name")), "x": bin_centres(lo, hi, len(counts)), "y": counts,
                     "width": (hi - lo) / max(len(counts), 1)})
    return bars


def histograms_figure(record: Mapping | None, *, value_label: str, height: int = 300,
                      names: Sequence[str] | None = None) -> go.Figure:
    """The latest histogram of every layer, one small chart per layer (the layers' names
    are in ``layout.meta["layers"]``; :func:`histogram_bars` gives what changes)."""
    bars = histogram_bars(record, names)
    if not bars:
        return empty_figure("Waiting for the first histogram...", height=height)
    layout: dict = {}
    data, titles = [], []
    for i, (suffix, xaxis, yaxis) in enumerate(_grid_axes(len(bars), len(bars), gap_x=0.06, gap_y=0.0)):
        bar = bars[i]
        layout[f"xaxis{suffix}"] = {**xaxis, "title": {"text": value_label}, "gridcolor": "#e9ecef"}
        layout[f"yaxis{suffix}"] = {**yaxis, "domain": [0.0, 0.9], "gridcolor": "#e9ecef",
                                    **({"title": {"text": "count"}} if i == 0 else {})}
        data.append(go.Bar(x=bar["x"], y=bar["y"], width=bar["width"], xaxis=f"x{suffix}",
                           yaxis=f"y{suffix}", marker_color=color(i), name=bar["name"], showlegend=False,
                           hovertemplate=f"{bar['name']}<br>{value_label} %{{x:.3g}}<br>count %{{y}}<extra></extra>"))
        titles.append(dict(text=bar["name"], x=sum(xaxis["domain"]) / 2, y=1.0, xref="paper", yref="paper",
                           xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=12)))
    fig = go.Figure(data=data, layout={**layout, "annotations": titles})
    base_layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest", bargap=0.02, margin=dict(l=48, r=16, t=28, b=40),
                      meta={"layers": [b["name"] for b in bars]})
    return fig


def rebin(counts: Sequence[float], lo: float, hi: float, grid_lo: float, grid_hi: float,
          n: int = GRID_BINS) -> np.ndarray:
    """Spread a histogram over [lo, hi] onto ``n`` equal bins over [grid_lo, grid_hi],
    assuming values are uniform inside each source bin. Counts outside the grid are
    dropped; NaN counts count as zero."""
    counts = np.nan_to_num(np.asarray(clean(counts), dtype=float), nan=0.0)
    out = np.zeros(n)
    k = counts.size
    if k == 0 or not (hi > lo) or not (grid_hi > grid_lo):
        return out
    src = np.linspace(lo, hi, k + 1)
    dst = np.linspace(grid_lo, grid_hi, n + 1)
    # overlap of every source bin with every target bin, as a fraction of the source bin
    left = np.maximum(src[:-1, None], dst[None, :-1])
    right = np.minimum(src[1:, None], dst[None, 1:])
    overlap = np.clip(right - left, 0.0, None) / (src[1:, None] - src[:-1, None])
    return counts @ overlap


def _record_range(rec: Mapping, name: str) -> tuple[float, float] | None:
    layer = _layer(rec, name)
    if layer is None or not layer.get("hist"):
        return None
    lo, hi = _num(layer.get("hist_lo")), _num(layer.get("hist_hi"))
    if lo is None or hi is None or not hi > lo:
        return None
    return lo, hi


def histogram_grid(records: Sequence[Mapping], name: str) -> list[float] | None:
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


def histogram_columns(records: Sequence[Mapping], name: str, grid: Sequence[float]) -> dict | None:
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
        layer = _layer(rec, name)
        col = rebin(layer["hist"], rng[0], rng[1], lo, hi)
        total = col.sum()
        xs.append(int(rec.get("step") or 0))
        cols.append(col / total if total > 0 else col)
    return {"x": xs, "z": [[round(float(v), 5) for v in col] for col in cols]}


def histogram_heatmap(records: Sequence[Mapping], name: str | None, *, value_label: str,
                      height: int = 320) -> tuple[go.Figure, list[float] | None]:
    """How layer ``name``'s histogram changes over time: x = training step, y = value,
    colour = share of the values in that range. Returns the figure and its grid."""
    if not name:
        return empty_figure("No layer to show yet.", height=height), None
    grid = histogram_grid(records, name)
    if grid is None:
        return empty_figure(f"Waiting for histograms of {name}...", height=height), None
    cols = histogram_columns(records, name, grid)
    centres = bin_centres(grid[0], grid[1], GRID_BINS)
    fig = go.Figure(go.Heatmap(
        x=cols["x"], y=centres, z=cols["z"], transpose=True, colorscale="Viridis", zmin=0,
        colorbar=dict(title=dict(text="share", side="right"), thickness=12),
        hovertemplate=f"step %{{x}}<br>{value_label} ≈ %{{y:.3g}}<br>share %{{z:.1%}}<extra></extra>",
    ))
    base_layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text=f"{value_label} ({name})")
    return fig, grid


# =========================================================================== activations
def activation_cards(record: Mapping | None) -> list[dict]:
    """One dict per hidden layer for the statistic cards (plain data)."""
    cards = []
    for layer in (record or {}).get("layers") or []:
        size = int(layer.get("size") or 0)
        dead, sat = layer.get("dead"), layer.get("saturated")
        window = int(layer.get("window") or 0)
        always = layer.get("always_active")
        cards.append({
            "name": layer.get("name", "?"), "activation": layer.get("activation", ""), "size": size,
            "mean": _num(layer.get("mean")), "std": _num(layer.get("std")),
            "min": _num(layer.get("min")), "max": _num(layer.get("max")),
            "dead": dead, "dead_share": (dead / size) if size and dead is not None else None,
            "saturated": sat, "saturated_share": (sat / size) if size and sat is not None else None,
            "always_active": always,
            "always_active_share": (always / size) if size and always is not None else None,
            "window": window, "judged": window >= TH.LIVE_DEAD_WINDOW,
            "saturates": R.saturation_limits(str(layer.get("activation", ""))) != (None, None),
        })
    return cards


def dead_grid_data(record: Mapping | None) -> dict | None:
    """The dead-neuron grid's cells: ``{"names", "z" (rows of states, padded with None),
    "text" (hover text), "window"}``; None when no layer has neuron states."""
    layers = [l for l in (record or {}).get("layers") or [] if isinstance(l.get("states"), list)]
    if not layers:
        return None
    width = max(len(l["states"]) for l in layers)
    z, text = [], []
    for layer in layers:
        states = [int(s) if s in (R.DEAD, R.ACTIVE, R.SATURATED) else None for s in layer["states"]]
        pad = width - len(states)
        z.append(states + [None] * pad)
        text.append([f"{layer['name']} neuron {j}: {R.STATE_NAMES.get(s, '?')}" for j, s in enumerate(states)]
                    + [""] * pad)
    return {"names": [str(l["name"]) for l in layers], "z": z, "text": text,
            "window": min(int(l.get("window") or 0) for l in layers)}


def dead_grid_figure(record: Mapping | None, *, height: int = 260) -> go.Figure:
    """One cell per neuron, one row per hidden layer: dead, active or saturated."""
    grid = dead_grid_data(record)
    if grid is None:
        return empty_figure("Waiting for activation samples...", height=height)
    width = len(grid["z"][0])
    scale = [[0.0, DEAD_COLOR], [1 / 3, DEAD_COLOR], [1 / 3, ACTIVE_COLOR], [2 / 3, ACTIVE_COLOR],
             [2 / 3, SATURATED_COLOR], [1.0, SATURATED_COLOR]]
    fig = go.Figure(go.Heatmap(
        z=grid["z"], x=list(range(width)), y=grid["names"], text=grid["text"], hovertemplate="%{text}<extra></extra>",
        colorscale=scale, zmin=-0.5, zmax=2.5, xgap=1, ygap=3,
        colorbar=dict(tickvals=[0, 1, 2], ticktext=["dead", "active", "saturated"], thickness=12),
    ))
    base_layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest", meta={"window": grid["window"], "layers": grid["names"], "width": width})
    fig.update_xaxes(title_text="neuron", showgrid=False)
    fig.update_yaxes(autorange="reversed", showgrid=False, type="category")
    return fig


def sparkline_page_options(size: int, per_page: int = SPARKLINES_PER_PAGE) -> list[dict]:
    """Dropdown options for pages of neurons: "neurons 0–15", ..."""
    return [{"label": f"neurons {i}–{min(i + per_page, size) - 1}", "value": i}
            for i in range(0, max(size, 0), per_page)]


def _snapshot_layer(snapshot: Mapping | None, name: str | None) -> Mapping | None:
    for layer in (snapshot or {}).get("layers") or []:
        if layer.get("name") == name:
            return layer
    return None


def _history_x(snapshot: Mapping, n: int) -> list[int]:
    samples = int(snapshot.get("samples") or n)
    return list(range(samples - n, samples))


def _grid_axes(n: int, cols: int, *, gap_x: float = 0.03, gap_y: float = 0.07) -> list[tuple[str, dict, dict]]:
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


def sparklines_figure(snapshot: Mapping | None, name: str | None, first: int = 0, *,
                      per_page: int = SPARKLINES_PER_PAGE, height: int = 420) -> go.Figure:
    """Recent activations of ``per_page`` neurons of layer ``name`` (from ``first``),
    one small line chart each; x = sample number. ``snapshot`` is the decoded NEURONS
    key: layers with a ``history`` array of shape (samples, neurons)."""
    layer = _snapshot_layer(snapshot, name)
    if layer is None:
        return empty_figure("Waiting for neuron activations...", height=height)
    history = np.asarray(layer.get("history"), dtype=float)
    if history.ndim != 2 or history.shape[0] == 0:
        return empty_figure("Waiting for neuron activations...", height=height)
    size = history.shape[1]
    first = max(0, min(int(first or 0), max(size - 1, 0)))
    neurons = list(range(first, min(first + per_page, size)))
    x = _history_x(snapshot, history.shape[0])
    layout: dict = {}
    data, titles = [], []
    for k, (suffix, xaxis, yaxis) in enumerate(_grid_axes(len(neurons), 4)):
        j = neurons[k]
        layout[f"xaxis{suffix}"] = {**xaxis, "showticklabels": False, "gridcolor": "#e9ecef"}
        layout[f"yaxis{suffix}"] = {**yaxis, "tickfont": {"size": 9}, "nticks": 3, "gridcolor": "#e9ecef"}
        data.append(go.Scatter(x=x, y=clean(history[:, j]), mode="lines", name=f"neuron {j}",
                               xaxis=f"x{suffix}", yaxis=f"y{suffix}", line=dict(width=1.2, color=color(0)),
                               showlegend=False,
                               hovertemplate=f"neuron {j}<br>sample %{{x}}<br>activation %{{y:.3g}}<extra></extra>"))
        titles.append(dict(text=f"neuron {j}", x=sum(xaxis["domain"]) / 2, y=yaxis["domain"][1], xref="paper",
                           yref="paper", xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=11)))
    fig = go.Figure(data=data, layout={**layout, "annotations": titles})
    base_layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest", margin=dict(l=40, r=12, t=24, b=16),
                      meta={"layer": name, "first": first, "neurons": neurons})
    return fig


def sparklines_extension(snapshot: Mapping | None, name: str | None, first: int, drawn: int, *,
                         per_page: int = SPARKLINES_PER_PAGE, max_points: int = 500) -> list | None:
    """``extendData`` for the traces of :func:`sparklines_figure` with the samples not
    drawn yet (samples are numbered from 0; the page has drawn the first ``drawn``).
    None when nothing is new."""
    layer = _snapshot_layer(snapshot, name)
    if layer is None:
        return None
    history = np.asarray(layer.get("history"), dtype=float)
    if history.ndim != 2 or history.shape[0] == 0:
        return None
    x = _history_x(snapshot, history.shape[0])
    new = [i for i, s in enumerate(x) if s >= drawn]
    if not new:
        return None
    size = history.shape[1]
    neurons = list(range(first, min(first + per_page, size)))
    xs = [[x[i] for i in new] for _ in neurons]
    ys = [clean(history[new, j]) for j in neurons]
    return [{"x": xs, "y": ys}, list(range(len(neurons))), max_points]


# =========================================================================== gradients
#: The gradient heatmap's colour axis: log10 of the gradient norm.
GRAD_ZMIN = math.floor(math.log10(TH.LIVE_GRAD_VANISHING_FLOOR)) - 2
GRAD_ZMAX = math.ceil(math.log10(TH.LIVE_GRAD_EXPLODING_NORM)) + 1


def gradient_colorscale() -> list:
    """Blues below the vanishing floor, yellow-to-green for the healthy range, reds
    above the exploding ceiling (positions on the GRAD_ZMIN..GRAD_ZMAX axis)."""
    span = GRAD_ZMAX - GRAD_ZMIN
    floor = (math.log10(TH.LIVE_GRAD_VANISHING_FLOOR) - GRAD_ZMIN) / span
    ceiling = (math.log10(TH.LIVE_GRAD_EXPLODING_NORM) - GRAD_ZMIN) / span
    return [[0.0, "#08306b"], [floor, "#6baed6"],
            [floor, "#ffffcc"], [(floor + ceiling) / 2, "#78c679"], [ceiling, "#006837"],
            [ceiling, "#fc9272"], [1.0, "#a50f15"]]


def _log10_norms(values: Sequence[float | None]) -> list[float | None]:
    out = []
    for v in values:
        if v is None:
            out.append(None)
        else:
            out.append(min(max(math.log10(max(v, 10.0 ** GRAD_ZMIN)), GRAD_ZMIN), GRAD_ZMAX))
    return out


def gradient_heatmap_columns(records: Sequence[Mapping], names: Sequence[str]) -> dict:
    """New heatmap columns: ``{"x": steps, "z": rows, "customdata": rows}`` with one row
    per layer (log10 norm, and the real norm for the hover)."""
    z, custom = [], []
    for name in names:
        norms = _field_series(records, name, "norm")
        z.append(_log10_norms(norms))
        custom.append([fmt(v) for v in norms])
    return {"x": _steps(records), "z": z, "customdata": custom}


def gradient_heatmap(records: Sequence[Mapping], names: Sequence[str] | None = None, *,
                     height: int = 300) -> go.Figure:
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
    fig = go.Figure(go.Heatmap(
        x=cols["x"], y=names, z=cols["z"], customdata=cols["customdata"],
        colorscale=gradient_colorscale(), zmin=GRAD_ZMIN, zmax=GRAD_ZMAX, ygap=2,
        colorbar=dict(title=dict(text="gradient norm", side="right"), tickvals=ticks, ticktext=labels,
                      thickness=12),
        hovertemplate="%{y} at step %{x}<br>gradient norm %{customdata}<extra></extra>",
    ))
    base_layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(autorange="reversed", type="category", showgrid=False)
    return fig


def gradient_lines(records: Sequence[Mapping], names: Sequence[str] | None = None, *,
                   height: int = 320) -> go.Figure:
    """Gradient norm per layer over training (log scale), with the vanishing floor and
    the exploding ceiling drawn as dashed lines."""
    names = list(names or layer_names(records))
    if not names or not any(has_numbers(_field_series(records, n, "norm")) for n in names):
        return empty_figure("Waiting for the first optimisation step...", height=height)
    fig = go.Figure()
    x = _steps(records)
    for i, name in enumerate(names):
        norms = _field_series(records, name, "norm")
        fig.add_trace(go.Scatter(x=x, y=_log_values(norms, GRAD_DISPLAY_FLOOR), customdata=[fmt(v) for v in norms],
                                 mode="lines", name=name, line=dict(color=color(i), width=1.6),
                                 hovertemplate=f"{name}: %{{customdata}}<extra></extra>"))
    _log_line(fig, TH.LIVE_GRAD_VANISHING_FLOOR, VANISHING_COLOR, "vanishing below", above=False)
    _log_line(fig, TH.LIVE_GRAD_EXPLODING_NORM, EXPLODING_COLOR, "exploding above", above=True)
    base_layout(fig, height=height)
    fig.update_yaxes(type="log", title_text="gradient norm (log scale)", exponentformat="power")
    fig.update_xaxes(title_text="training step")
    return fig


def lines_extension(records: Sequence[Mapping], names: Sequence[str], key: str, floor: float,
                    max_points: int) -> list | None:
    """``extendData`` adding ``records``' ``key`` per layer to one trace per layer."""
    if not records or not names:
        return None
    x = _steps(records)
    xs, ys, custom = [], [], []
    for name in names:
        values = _field_series(records, name, key)
        xs.append(x)
        ys.append(_log_values(values, floor))
        custom.append([fmt(v) for v in values])
    return [{"x": xs, "y": ys, "customdata": custom}, list(range(len(names))), max_points]


def gradient_lines_extension(records: Sequence[Mapping], names: Sequence[str], max_points: int) -> list | None:
    return lines_extension(records, names, "norm", GRAD_DISPLAY_FLOOR, max_points)


def gradient_verdict_rows(records: Sequence[Mapping], names: Sequence[str] | None = None) -> list[dict]:
    """The current verdict per layer -- healthy, vanishing or exploding -- by the same
    rules that raise the alerts (:func:`health.live_rules.gradient_verdicts`)."""
    names = list(names or layer_names(records))
    history = {}
    for name in names:
        values = []
        for rec in records:
            layer = _layer(rec, name)
            if layer is None:
                continue
            norm = _num(layer.get("norm"))
            values.append(math.nan if norm is None and layer.get("finite") is False else norm)
        history[name] = [v for v in values if v is not None]
    rows = []
    for v in R.gradient_verdicts(history):
        rows.append({"layer": v.layer, "verdict": v.verdict, "norm": None if math.isnan(v.norm) else v.norm,
                     "reason": v.reason, "color": VERDICT_COLORS.get(v.verdict, "#6c757d")})
    return rows


# =========================================================================== weights
def weight_stat_rows(record: Mapping | None) -> list[dict]:
    """The latest weight statistics per layer (plain data for a table)."""
    rows = []
    for layer in (record or {}).get("layers") or []:
        size = int(layer.get("size") or 0)
        near = layer.get("near_zero")
        rows.append({
            "layer": layer.get("name", "?"), "size": size,
            "mean": _num(layer.get("mean")), "std": _num(layer.get("std")),
            "min": _num(layer.get("min")), "max": _num(layer.get("max")),
            "norm": _num(layer.get("norm")), "near_zero": near,
            "near_zero_share": (near / size) if size and near is not None else None,
            "velocity": _num(layer.get("velocity")),
        })
    return rows


def velocity_lines(records: Sequence[Mapping], names: Sequence[str] | None = None, *,
                   height: int = 320) -> go.Figure:
    """Update velocity ||ΔW|| / ||W|| per layer between weight samples (log scale),
    with the stall line below which the weights count as frozen."""
    names = list(names or layer_names(records))
    if not names or not any(has_numbers(_field_series(records, n, "velocity")) for n in names):
        return empty_figure("Waiting for two weight samples...", height=height)
    fig = go.Figure()
    x = _steps(records)
    for i, name in enumerate(names):
        values = _field_series(records, name, "velocity")
        fig.add_trace(go.Scatter(x=x, y=_log_values(values, VELOCITY_DISPLAY_FLOOR),
                                 customdata=[fmt(v) for v in values], mode="lines+markers",
                                 marker=dict(size=4), name=name, line=dict(color=color(i), width=1.6),
                                 hovertemplate=f"{name}: %{{customdata}}<extra></extra>"))
    _log_line(fig, TH.LIVE_VELOCITY_STALL, VANISHING_COLOR, "stalled below", above=False)
    base_layout(fig, height=height)
    fig.update_yaxes(type="log", title_text="‖ΔW‖ / ‖W‖ (log scale)", exponentformat="power")
    fig.update_xaxes(title_text="training step")
    return fig


def velocity_lines_extension(records: Sequence[Mapping], names: Sequence[str], max_points: int) -> list | None:
    return lines_extension(records, names, "velocity", VELOCITY_DISPLAY_FLOOR, max_points)


# =========================================================================== alerts
_LEVEL_ORDER = {R.CRITICAL: 0, R.WARNING: 1, R.INFO: 2}


def alert_view(data: Mapping | None) -> dict:
    """The ALERTS key as the panel shows it: ``{"active": [...], "cleared": [...],
    "step": int | None}``, active alerts most severe first. Malformed entries are
    skipped, missing data gives empty lists."""
    alerts = [a for a in (data or {}).get("alerts") or [] if isinstance(a, Mapping) and a.get("id")]
    active = [dict(a) for a in alerts if a.get("active")]
    cleared = [dict(a) for a in alerts if not a.get("active")]
    active.sort(key=lambda a: (_LEVEL_ORDER.get(a.get("level"), 3), a.get("started_step") or 0))
    step = (data or {}).get("step")
    return {"active": active, "cleared": cleared, "step": step if isinstance(step, int) else None}
