"""Figure builders for the Live tab of an actor-critic agent (SAC): what the twin critics
expect, what the policy would do, and the actions it took.

Like :mod:`dashapp.figures.live`: each growing chart has a builder for the whole
(downsampled) history and one for the ``extendData`` of new points, agreeing on the trace
order declared here. Pure: :class:`dashapp.read.policy.PolicyPoints` in, ``go.Figure`` out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dashapp.figures.common import HOVER_NUMBER, base_layout, clean, color, empty_figure, has_numbers, rgba
from rl.telemetry import action_labels

# --------------------------------------------------------------------------- critics
#: Trace order of the critics chart: each critic, then the smaller of the two.
CRITIC_TRACES = ("critic_1", "critic_2", "min")
# The critics usually agree closely: wide coloured lines with the smaller one dotted on
# top, so that where they overlap all three stay visible.
_CRITIC_STYLE = {
    "critic_1": dict(name="critic 1", line=dict(width=3, color=rgba(color(0), 0.75))),
    "critic_2": dict(name="critic 2", line=dict(width=3, color=rgba(color(1), 0.75))),
    "min": dict(name="smaller of the two (used for learning)", line=dict(width=1.6, color="#212529", dash="dot")),
}


def critics_figure(points, *, height: int = 340) -> go.Figure:
    """Each critic's estimate of the action taken (its expected future reward), and the
    smaller of the two, over training steps; rolling means. ``points``: PolicyPoints."""
    if len(points) == 0:
        return empty_figure("No critic estimates yet: they appear once the agent takes its first steps.", height=height)
    if not any(has_numbers(points.critics.get(name, ())) for name in CRITIC_TRACES):
        return empty_figure("The critics' estimates so far are all missing or not numbers (NaN).", height=height)
    fig = go.Figure()
    for name in CRITIC_TRACES:
        fig.add_scatter(
            x=list(points.step),
            y=clean(points.critics.get(name, [None] * len(points))),
            mode="lines",
            hovertemplate="%{y:" + HOVER_NUMBER + "}",
            **_CRITIC_STYLE[name],
        )
    base_layout(fig, height=height)
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text="expected future reward")
    return fig


def critics_extension(points, max_points: int) -> list | None:
    """``extendData`` for :func:`critics_figure` (None if nothing new)."""
    if len(points) == 0:
        return None
    n = len(points)
    return [
        {
            "x": [list(points.step) for _ in CRITIC_TRACES],
            "y": [clean(points.critics.get(name, [None] * n)) for name in CRITIC_TRACES],
        },
        list(range(len(CRITIC_TRACES))),
        max_points,
    ]


# --------------------------------------------------------------------------- policy
#: Traces per action dimension of a continuous policy: band bottom, band top (filled), mean.
BAND_LOW, BAND_HIGH, MEAN = range(3)
GAUSSIAN_TRACES = 3


def _column(rows: Sequence[Sequence[float]], k: int) -> list:
    return clean(r[k] if k < len(r) else None for r in rows)


def _policy_columns(points) -> list[list]:
    """The y values of every trace of :func:`policy_figure`, in trace order."""
    if points.discrete:
        return [[None if v is None else 100 * v for v in _column(points.probs, a)] for a in range(points.width)]
    out = []
    for k in range(points.width):
        mean, std = np.array(_column(points.mean, k), dtype=float), np.array(_column(points.std, k), dtype=float)
        out += [clean(mean - std), clean(mean + std), clean(mean)]
    return out


def policy_figure(points, action_names: Sequence[str] | None = None, *, height: int = 300) -> go.Figure:
    """What the policy would do over training steps (rolling means). Discrete actions: the
    probability of each (stacked to 100%). Continuous: per action dimension, the mean of
    the policy's distribution with a band of one standard deviation either side."""
    if len(points) == 0 or points.width == 0:
        return empty_figure("No policy outputs yet: they appear once the agent takes its first steps.", height=height)
    columns = _policy_columns(points)
    if not any(has_numbers(c) for c in columns):
        return empty_figure("The policy's outputs so far are all missing or not numbers (NaN).", height=height)
    names = action_labels(action_names, points.width)
    x = list(points.step)
    fig = go.Figure()
    if points.discrete:
        for a, name in enumerate(names):
            fig.add_scatter(
                x=x,
                y=columns[a],
                name=name,
                mode="lines",
                stackgroup="probs",
                line=dict(width=0.5, color=color(a)),
                fillcolor=rgba(color(a), 0.45),
                hovertemplate="%{y:.0f}%",
            )
        base_layout(fig, height=height)
        fig.update_layout(legend_traceorder="normal")
        fig.update_yaxes(title_text="probability (%)", range=[0, 100])
    else:
        for k, name in enumerate(names):
            c = color(k)
            low, high, mean = columns[GAUSSIAN_TRACES * k : GAUSSIAN_TRACES * (k + 1)]
            common = dict(x=x, legendgroup=name, mode="lines")
            fig.add_scatter(**common, y=low, line=dict(width=0, color=c), showlegend=False, hoverinfo="skip")
            fig.add_scatter(
                **common,
                y=high,
                line=dict(width=0, color=c),
                fill="tonexty",
                fillcolor=rgba(c, 0.18),
                showlegend=False,
                hoverinfo="skip",
            )
            fig.add_scatter(
                **common, y=mean, name=name, line=dict(width=2.2, color=c), hovertemplate="%{y:" + HOVER_NUMBER + "}"
            )
        base_layout(fig, height=height)
        fig.update_yaxes(title_text="action (mean ± one std)")
    fig.update_xaxes(title_text="training step")
    return fig


def policy_extension(points, max_points: int) -> list | None:
    """``extendData`` for :func:`policy_figure` of the same kind and width (None if nothing new)."""
    if len(points) == 0 or points.width == 0:
        return None
    columns = _policy_columns(points)
    return [{"x": [list(points.step) for _ in columns], "y": columns}, list(range(len(columns))), max_points]


# --------------------------------------------------------------------------- actions taken
def action_histogram_figure(
    actions: np.ndarray,
    action_names: Sequence[str] | None = None,
    bounds: tuple[Sequence[float], Sequence[float]] | None = None,
    *,
    height: int = 300,
) -> go.Figure:
    """How the continuous actions of the recent steps are spread: one histogram per action
    dimension, over the environment's range (``bounds``: low, high per dimension)."""
    actions = np.asarray(actions, dtype=np.float64)
    if actions.ndim != 2 or actions.shape[0] == 0 or actions.shape[1] == 0:
        return empty_figure("No actions yet.", height=height)
    names = action_labels(action_names, actions.shape[1])
    fig = go.Figure()
    for k, name in enumerate(names):
        fig.add_histogram(
            x=clean(actions[:, k]),
            name=name,
            marker_color=rgba(color(k), 0.6),
            nbinsx=30,
            histnorm="percent",
            hovertemplate="%{x}: %{y:.1f}% of steps<extra>" + name + "</extra>",
        )
    base_layout(fig, height=height, legend=actions.shape[1] > 1)
    fig.update_layout(barmode="overlay", hovermode="closest")
    if bounds is not None and len(bounds[0]) and len(bounds[1]):
        low, high = float(np.min(bounds[0])), float(np.max(bounds[1]))
        if np.isfinite(low) and np.isfinite(high) and high > low:
            fig.update_xaxes(range=[low, high])
    fig.update_xaxes(title_text=f"action taken, last {actions.shape[0]:,} recorded steps")
    fig.update_yaxes(title_text="% of steps", rangemode="tozero")
    return fig


__all__ = [
    "CRITIC_TRACES",
    "critics_figure",
    "critics_extension",
    "policy_figure",
    "policy_extension",
    "action_histogram_figure",
]
