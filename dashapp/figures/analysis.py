"""The network view's analysis panels: which inputs matter right now (saliency or
integrated gradients), which features go with which choices (correlation), and what the
network would do if one feature were different (the response sweep). Plotly figures from
``dashapp.read.network.AttributionView`` data; pure."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dashapp.figures.common import HOVER_NUMBER, NEGATIVE, POSITIVE, TEMPLATE, as_floats, color, empty_figure
from dashapp.figures.graph import COLORSCALE
from dashapp.figures.outputs import derivative
from rl.telemetry import action_labels, feature_labels


def _figure(
    data: list[dict],
    title: str,
    height: int = 220,
    xaxis: dict | None = None,
    yaxis: dict | None = None,
    shapes: list[dict] | None = None,
    annotations: list[dict] | None = None,
    **layout,
) -> go.Figure:
    """A small figure from plain dicts, in the dashboard's template, without plotly's
    per-property validation (it costs more than the rest of an inspector update; the
    tests validate these figures the slow way)."""
    layout.setdefault("showlegend", False)
    lay = dict(
        title=dict(text=title, font=dict(size=13), x=0.02),
        height=height,
        template=TEMPLATE.to_plotly_json(),
        margin=dict(l=50, r=15, t=36 if "<br>" not in title else 52, b=36),
        xaxis=xaxis or {},
        yaxis=yaxis or {},
        shapes=shapes or [],
        annotations=annotations or [],
        **layout,
    )
    return go.Figure(data=data, layout=lay, _validate=False)


def _vline(x: float, **line) -> dict:
    return dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line=line)


def _title(text: str) -> dict:
    return dict(title=dict(text=text))


def saliency_figure(
    values,
    feature_names: Sequence[str],
    method: str,
    action_name: str,
    step: int | None = None,
    note: str = "",
    height: int | None = None,
    symbol: str = "Q",
) -> go.Figure:
    """Horizontal bars over the named input features (order kept, so bars don't jump);
    ``symbol`` names what is explained (Q, an actor's logit)."""
    v = as_floats(values) if values is not None else np.zeros(0)
    if v.size == 0:
        return empty_figure("waiting for the worker's first attribution sample", height=320)
    names = feature_labels(feature_names, v.size)
    signed = method == "integrated gradients"
    colours = [NEGATIVE if (signed and math.isfinite(x) and x < 0) else POSITIVE for x in v]
    data = [
        dict(
            type="bar",
            y=names,
            x=[x if math.isfinite(x) else None for x in v],
            orientation="h",
            marker=dict(color=colours),
            hovertemplate="%{y}: %{x:" + HOVER_NUMBER + "}<extra></extra>",
        )
    ]
    label = (
        f"|{derivative(symbol)}/d feature|"
        if not signed
        else f"attribution (adds up to {symbol}(now) - {symbol}(baseline))"
    )
    sub = ", ".join(x for x in (f"step {step:,}" if step is not None else "", note) if x)
    title = f"{method}: {action_name}" + (f"<br><sup>{sub}</sup>" if sub else "")
    return _figure(
        data,
        title,
        height=height or max(260, 28 * v.size + 90),
        xaxis=_title(label),
        yaxis=dict(autorange="reversed", type="category"),
        shapes=[_vline(0.0, color="#999", width=1)] if signed else [],
    )


def feature_action_correlation(observations, actions, n_actions: int) -> np.ndarray:
    """Pearson correlation of each feature with "the network chose action a" (0/1).

    Shape (F, A); NaN where a feature did not vary or an action was always/never chosen
    (a correlation is undefined there).
    """
    x = np.asarray(observations, dtype=np.float64)
    a = np.asarray(actions).reshape(-1)
    if x.ndim != 2 or x.shape[0] != a.size:
        raise ValueError(f"{x.shape[0] if x.ndim == 2 else '?'} observations but {a.size} actions")
    n_features = x.shape[1]
    out = np.full((n_features, n_actions), np.nan)
    keep = np.all(np.isfinite(x), axis=1)
    x, a = x[keep], a[keep]
    if x.shape[0] < 2:
        return out
    chosen = (a[:, None] == np.arange(n_actions)[None, :]).astype(np.float64)
    xc, cc = x - x.mean(axis=0), chosen - chosen.mean(axis=0)
    sx, sc = np.sqrt((xc**2).sum(axis=0)), np.sqrt((cc**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (xc.T @ cc) / np.outer(sx, sc)
    ok = np.outer(sx > 1e-12 * max(1.0, np.abs(x).max()), sc > 0)
    out[ok] = np.clip(corr[ok], -1, 1)
    return out


def correlation_figure(
    corr, feature_names: Sequence[str], action_names: Sequence[str], n_states: int, height: int | None = None
) -> go.Figure:
    c = np.asarray(corr, dtype=np.float64)
    if c.ndim != 2 or c.size == 0 or n_states < 2:
        return empty_figure("needs a few recent game states; waiting for the worker", height=320)
    feats, acts = feature_labels(feature_names, c.shape[0]), action_labels(action_names, c.shape[1])
    text = [["" if not math.isfinite(v) else f"{v:+.2f}" for v in row] for row in c]
    data = [
        dict(
            type="heatmap",
            z=[[v if math.isfinite(v) else None for v in row] for row in c.tolist()],
            x=acts,
            y=feats,
            zmin=-1,
            zmax=1,
            colorscale=COLORSCALE,
            text=text,
            texttemplate="%{text}",
            hoverongaps=False,
            hovertemplate="%{y} vs choosing %{x}: %{z:.2f}<extra></extra>",
            colorbar=dict(title=dict(text="r"), thickness=12),
        )
    ]
    blank = int((~np.isfinite(c)).sum())
    note = f"<br><sup>blank: feature did not vary or action never/always chosen ({blank} cells)</sup>" if blank else ""
    return _figure(
        data,
        f"features vs the network's choice, last {n_states} states{note}",
        height=height or max(300, 26 * c.shape[0] + 110),
        yaxis=dict(autorange="reversed"),
    )


def response_figure(
    values,
    q,
    action_names: Sequence[str],
    feature_name: str,
    current: float | None,
    chosen: int | None = None,
    value: str = "Q-value",
    symbol: str = "Q",
) -> go.Figure:
    """Q per action (``value``, written ``symbol``: an actor's logit) as one feature sweeps
    its recent range, the others held fixed."""
    v = as_floats(values) if values is not None else np.zeros(0)
    qa = np.asarray(q, dtype=np.float64) if q is not None else np.zeros((0, 0))
    if v.size == 0 or qa.ndim != 2 or qa.shape[0] != v.size:
        return empty_figure("waiting for the worker's first attribution sample", height=300)
    constant = bool(np.nanmax(v) - np.nanmin(v) <= 0)
    data = []
    for a in range(qa.shape[1]):
        name = action_labels(action_names, a + 1)[a]
        colour = color(a)  # the action's colour on every tab
        data.append(
            dict(
                type="scatter",
                x=v[:1] if constant else v,
                y=qa[:1, a] if constant else qa[:, a],
                mode="markers" if constant else "lines",
                name=name,
                line=dict(width=3 if a == chosen else 1.8, color=colour),
                marker=dict(size=10, color=colour),
                hovertemplate=f"{name}: {symbol} %{{y:{HOVER_NUMBER}}} at {feature_name} = "
                f"%{{x:{HOVER_NUMBER}}}<extra></extra>",
            )
        )
    shapes, notes = [], []
    if current is not None and math.isfinite(current):
        shapes.append(_vline(float(current), color="#444", width=1.2, dash="dash"))
        notes.append(
            dict(
                text="now",
                x=float(current),
                xref="x",
                y=1,
                yref="paper",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=11),
            )
        )
    title = f"{value}s as {feature_name} varies" + (
        "<br><sup>this feature had one value in all recent states, so there is no range to sweep</sup>"
        if constant
        else ""
    )
    return _figure(
        data,
        title,
        height=300,
        xaxis=_title(feature_name),
        yaxis=_title(value),
        shapes=shapes,
        annotations=notes,
        showlegend=True,
        legend=dict(orientation="h", y=-0.25),
    )
