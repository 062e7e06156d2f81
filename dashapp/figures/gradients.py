"""Figure builders for the Gradients tab: a verdict per layer, the gradient-flow heatmap
(layers x time) and each layer's gradient norm as a line, from typed
``rl.telemetry.GradientRecord``s. Pure: data in, figure or plain data out.

The heatmap and the verdict table follow one rule, ``health.live_rules.gradient_verdicts``
(the alerts' own): a cell's colour family is the layer's verdict at that sample (blue
vanishing, green healthy, red exploding), its shade the gradient norm on a log scale."""

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


#: The verdicts' bands on the heatmap's colour axis: a cell's z is its band's start plus
#: where its log norm sits between GRAD_ZMIN and GRAD_ZMAX (0..1).
VERDICT_BANDS = {R.VANISHING: 0.0, R.HEALTHY: 1.0, R.EXPLODING: 2.0}


def gradient_colorscale() -> list:
    """Three families on the 0..3 axis, one per verdict: blues (vanishing), yellow-to-greens
    (healthy), reds (exploding), each from small to large gradient norms."""
    edge = 1e-6  # each family ends just below the next one's start
    return [
        [0.0, "#08306b"],
        [1 / 3 - edge, "#6baed6"],
        [1 / 3, "#ffffcc"],
        [1 / 2, "#78c679"],
        [2 / 3 - edge, "#006837"],
        [2 / 3, "#fc9272"],
        [1.0, "#a50f15"],
    ]


def _rule_values(records: Sequence[Any], name: str) -> list[float | None]:
    """Per record, the layer's gradient norm as the rule reads it (a non-finite one as
    NaN), or None when the record holds no sample of it."""
    values: list[float | None] = []
    for rec in records:
        layer = layer_of(rec, name)
        norm = None if layer is None else num(layer.norm)
        values.append(math.nan if layer is not None and norm is None and layer.finite is False else norm)
    return values


def _norm_history(records: Sequence[Any], name: str) -> list[float]:
    return [v for v in _rule_values(records, name) if v is not None]


def _cell(norm: float | None, verdict: str | None) -> float | None:
    if norm is None or verdict not in VERDICT_BANDS:
        return None
    if not math.isfinite(norm):
        return 3.0 - 1e-9  # non-finite: the reddest red
    frac = (math.log10(max(norm, 10.0**GRAD_ZMIN)) - GRAD_ZMIN) / (GRAD_ZMAX - GRAD_ZMIN)
    return VERDICT_BANDS[verdict] + min(max(frac, 0.0), 0.999)


def gradient_heatmap_columns(records: Sequence[Any], names: Sequence[str], context: Sequence[Any] = ()) -> dict:
    """New heatmap columns: ``{"x": steps, "z": rows, "customdata": rows}`` with one row
    per layer (the verdict band + log norm, and the real norm and verdict for the hover).
    ``context``: the records just before ``records``, which the rule also reads."""
    earlier = [r for r in context if not records or r.step < records[0].step]
    # one judgement over all the layers together: the rule compares each layer with the others
    series = R.gradient_verdict_series({name: _norm_history([*earlier, *records], name) for name in names})
    z, custom = [], []
    for name in names:
        norms = field_series(records, name, "norm")
        # the verdicts of this layer's samples in ``records``, aligned with ``norms`` (None: no sample)
        own = iter(series[name][len(_norm_history(earlier, name)) :])
        values = _rule_values(records, name)
        verdicts = [None if v is None else next(own, None) for v in values]
        z.append([_cell(v, verdict) for v, verdict in zip(values, verdicts)])
        custom.append([f"{fmt(v)} ({verdict or 'no data'})" for v, verdict in zip(norms, verdicts)])
    return {"x": steps_of(records), "z": z, "customdata": custom}


def gradient_heatmap(records: Sequence[Any], names: Sequence[str] | None = None, *, height: int = 300) -> go.Figure:
    """Gradient flow: layers (input at the top) x training step; the colour family is the
    layer's verdict at that sample (the verdict table's and the alerts' rule), the shade its
    gradient norm on a log scale."""
    names = list(names or layer_names(records))
    cols = gradient_heatmap_columns(records, names)
    if not names or not any(v is not None for row in cols["z"] for v in row):
        return empty_figure("Waiting for the first optimisation step...", height=height)
    fig = go.Figure(
        go.Heatmap(
            x=cols["x"],
            y=names,
            z=cols["z"],
            customdata=cols["customdata"],
            colorscale=gradient_colorscale(),
            zmin=0.0,
            zmax=3.0,
            ygap=2,
            colorbar=dict(
                title=dict(text="verdict (shade: gradient norm)", side="right"),
                tickvals=[0.5, 1.5, 2.5],
                ticktext=[R.VANISHING, R.HEALTHY, R.EXPLODING],
                thickness=12,
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
    history = {name: _norm_history(records, name) for name in list(names or layer_names(records))}
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
