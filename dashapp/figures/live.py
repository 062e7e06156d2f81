"""Figure builders for the Live tab of a value-based agent: the Q-value statistics and
trend, the action mix (the episode charts are in :mod:`dashapp.figures.episodes`, an
actor-critic's in :mod:`dashapp.figures.policy`). Plain data in, ``go.Figure`` out.

No I/O and no Dash here. Each chart that grows while training has two builders: one
that draws the whole (downsampled) history on first load, and one that turns only the
new points into a ``dcc.Graph.extendData`` payload, so a poll sends what is new and
nothing else. Both agree on the trace order, declared once per chart below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from dashapp.figures.common import (
    HOVER_NUMBER,
    base_layout,
    clean,
    color,
    empty_figure,
    finite,
    has_numbers,
    percent,
    rgba,
)
from dashapp.read.series import number
from health import thresholds as TH
from rl.telemetry import action_labels

# --------------------------------------------------------------------------- statistic cards
# The cards' trend and confidence thresholds live in health.thresholds with their reasons;
# these names stay for callers of this module.
TREND_MIN_CHANGE = TH.LIVE_Q_TREND_MIN_CHANGE
CONFIDENCE_HIGH = TH.LIVE_Q_CONFIDENCE_HIGH
CONFIDENCE_MEDIUM = TH.LIVE_Q_CONFIDENCE_MEDIUM

RISING, FALLING, STEADY, UNKNOWN = "rising", "falling", "steady", "unknown"


@dataclass(frozen=True)
class ActionStats:
    """Summary of one action's Q-value estimates over the recent window."""

    action: int
    name: str
    count: int  # finite estimates in the window
    now: float | None
    mean: float | None
    std: float | None
    low: float | None
    high: float | None
    trend: str
    change: float | None  # newer-half mean minus older-half mean
    cv: float | None  # coefficient of variation, std / |mean|
    confidence: float | None  # 1 / (1 + cv), in (0, 1]
    confidence_label: str
    greedy: bool  # the action with the highest Q-value right now


def confidence_from_cv(cv: float | None) -> tuple[float | None, str]:
    """(confidence in (0, 1], label) from a coefficient of variation."""
    if cv is None or math.isnan(cv):
        return None, UNKNOWN
    conf = 0.0 if math.isinf(cv) else 1.0 / (1.0 + cv)
    if conf >= TH.LIVE_Q_CONFIDENCE_HIGH:
        return conf, "high"
    if conf >= TH.LIVE_Q_CONFIDENCE_MEDIUM:
        return conf, "medium"
    return conf, "low"


def trend_of(values: np.ndarray) -> tuple[str, float | None]:
    """(rising/falling/steady/unknown, change) for a 1-D series with NaNs ignored."""
    v = values[np.isfinite(values)]
    if len(v) < 4:
        return UNKNOWN, None
    half = len(v) // 2
    change = float(v[half:].mean() - v[:half].mean())
    spread = float(v.std())
    if change > TH.LIVE_Q_TREND_MIN_CHANGE * spread and change > 0:
        return RISING, change
    if change < -TH.LIVE_Q_TREND_MIN_CHANGE * spread and change < 0:
        return FALLING, change
    return STEADY, change


def action_stats(q: Sequence[Sequence[float]], action_names: Sequence[str] | None = None) -> list[ActionStats]:
    """Per-action statistics of a window of Q-value vectors (oldest first).

    Missing and non-finite estimates are ignored; an action with none gets None values
    and "unknown" trend and confidence rather than an error.
    """
    rows = [list(r) for r in q]
    n_actions = max((len(r) for r in rows), default=0)
    if n_actions == 0:
        return []
    arr = np.full((len(rows), n_actions), np.nan)
    for i, r in enumerate(rows):
        for a, v in enumerate(r):
            arr[i, a] = number(v)
    names = action_labels(action_names, n_actions)
    last = arr[-1]
    greedy = int(np.nanargmax(last)) if np.isfinite(last).any() else -1
    out = []
    for a in range(n_actions):
        col = arr[:, a]
        seen = col[np.isfinite(col)]
        if len(seen) == 0:
            out.append(
                ActionStats(a, names[a], 0, None, None, None, None, None, UNKNOWN, None, None, None, UNKNOWN, False)
            )
            continue
        mean, std = float(seen.mean()), float(seen.std())
        cv = std / abs(mean) if abs(mean) > 1e-12 else (0.0 if std == 0 else math.inf)
        conf, label = confidence_from_cv(cv)
        trend, change = trend_of(col)
        out.append(
            ActionStats(
                action=a,
                name=names[a],
                count=int(len(seen)),
                now=finite(last[a]),
                mean=mean,
                std=std,
                low=float(seen.min()),
                high=float(seen.max()),
                trend=trend,
                change=change,
                cv=None if math.isinf(cv) else cv,
                confidence=conf,
                confidence_label=label,
                greedy=a == greedy,
            )
        )
    return out


# --------------------------------------------------------------------------- Q-value trend
#: Traces per action, in this order: band bottom, band top (filled), value, average.
Q_TRACES_PER_ACTION = 4
BAND_LOW, BAND_HIGH, VALUE, AVERAGE = range(Q_TRACES_PER_ACTION)


def q_trace_index(action: int, part: int) -> int:
    """Index of ``part`` (BAND_LOW, BAND_HIGH, VALUE, AVERAGE) of ``action``'s traces."""
    return action * Q_TRACES_PER_ACTION + part


def q_marker_index(action: int, n_actions: int) -> int:
    """Index of the "current value" marker of ``action`` (after all line traces)."""
    return n_actions * Q_TRACES_PER_ACTION + action


def _column(rows: Sequence[Sequence[float]], a: int) -> list:
    return clean(r[a] if a < len(r) else None for r in rows)


def q_trend_figure(points, action_names: Sequence[str] | None = None, *, height: int = 340) -> go.Figure:
    """Q-value per action over training steps, with each action's recent min-max band
    and moving average, and a marker on the newest value.

    ``points`` is a :class:`dashapp.read.steps.StepPoints` (or anything with its fields).
    """
    n_actions = points.n_actions
    if len(points) == 0 or n_actions == 0:
        return empty_figure("No Q-values yet: they appear once the agent takes its first steps.", height=height)
    if not any(has_numbers(_column(points.q, a)) for a in range(n_actions)):
        return empty_figure("The Q-values so far are all missing or not numbers (NaN).", height=height)
    names = action_labels(action_names, n_actions)
    fig = go.Figure()
    x = list(points.step)
    for a, name in enumerate(names):
        c = color(a)
        common = dict(x=x, legendgroup=name, mode="lines")
        fig.add_scatter(
            **common,
            y=_column(points.q_low, a),
            line=dict(width=0, color=c),
            showlegend=False,
            hoverinfo="skip",
            name=f"{name} low",
        )
        fig.add_scatter(
            **common,
            y=_column(points.q_high, a),
            line=dict(width=0, color=c),
            fill="tonexty",
            fillcolor=rgba(c, 0.13),
            showlegend=False,
            hoverinfo="skip",
            name=f"{name} range",
        )
        fig.add_scatter(
            **common,
            y=_column(points.q, a),
            line=dict(width=1, color=rgba(c, 0.55)),
            showlegend=False,
            name=f"{name}",
            hovertemplate="%{y:" + HOVER_NUMBER + "}",
        )
        fig.add_scatter(
            **common,
            y=_column(points.q_mean, a),
            line=dict(width=2.6, color=c),
            name=name,
            hovertemplate="avg %{y:" + HOVER_NUMBER + "}",
        )
    last_q = points.q[-1]
    for a, name in enumerate(names):
        fig.add_scatter(
            x=[x[-1]],
            y=clean([last_q[a] if a < len(last_q) else None]),
            mode="markers",
            legendgroup=name,
            showlegend=False,
            name=f"{name} now",
            hoverinfo="skip",
            marker=dict(size=11, color=color(a), line=dict(width=2, color="white")),
        )
    base_layout(fig, height=height)
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text="Q-value (expected future reward)")
    return fig


def q_trend_extension(points, max_points: int) -> list | None:
    """``extendData`` for :func:`q_trend_figure`: new points on every line (keeping the
    last ``max_points``), the "now" markers moved to the newest value. None if nothing new."""
    n_actions = points.n_actions
    if len(points) == 0 or n_actions == 0:
        return None
    xs, ys, idx, caps = [], [], [], []
    for a in range(n_actions):
        for part, rows in (
            (BAND_LOW, points.q_low),
            (BAND_HIGH, points.q_high),
            (VALUE, points.q),
            (AVERAGE, points.q_mean),
        ):
            idx.append(q_trace_index(a, part))
            xs.append(list(points.step))
            ys.append(_column(rows, a))
            caps.append(max_points)
    last_q = points.q[-1]
    for a in range(n_actions):
        idx.append(q_marker_index(a, n_actions))
        xs.append([points.step[-1]])
        ys.append(clean([last_q[a] if a < len(last_q) else None]))
        caps.append(1)
    return [{"x": xs, "y": ys}, idx, {"x": caps, "y": caps}]


# --------------------------------------------------------------------------- actions
@dataclass(frozen=True)
class ChoiceKinds:
    """What the two parts of an action bar are called: the agent's best guess and the rest
    (legend text, and the word in the hover box)."""

    best: str
    other: str
    best_word: str
    other_word: str


#: Epsilon-greedy: the network's best guess, or a random move.
EPSILON_GREEDY = ChoiceKinds("greedy (network's choice)", "random (exploring)", "greedy", "random")
#: A stochastic policy: its most likely action, or another one it sampled.
SAMPLED = ChoiceKinds("most likely (policy's top choice)", "sampled otherwise", "most likely", "sampled otherwise")


def action_bar_figure(
    recent, action_names: Sequence[str] | None = None, *, kinds: ChoiceKinds = EPSILON_GREEDY, height: int = 300
) -> go.Figure:
    """How often each action was chosen in the recent steps, split into the agent's best
    guess and the other choices (``kinds`` names them: random exploration for DQN, a
    sampled less likely action for SAC). ``recent`` is a
    :class:`dashapp.read.steps.RecentSteps`."""
    n_actions = recent.n_actions
    valid = [a for a in recent.action if a >= 0]
    if n_actions == 0 or not valid:
        return empty_figure("No actions yet.", height=height)
    names = action_labels(action_names, n_actions)
    total = len(valid)
    greedy = [0] * n_actions
    explored = [0] * n_actions
    for a, e in zip(recent.action, recent.explored):
        if a < 0:
            continue
        (explored if e else greedy)[a] += 1
    pct = lambda counts: [100.0 * c / total for c in counts]
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=pct(greedy),
        name=kinds.best,
        showlegend=False,
        marker_color=[color(a) for a in range(n_actions)],
        text=[percent(v / 100) for v in pct(greedy)],
        textposition="inside",
        hovertemplate="%{x}: %{y:.1f}% " + kinds.best_word + "<extra></extra>",
    )
    fig.add_bar(
        x=names,
        y=pct(explored),
        name=kinds.other,
        showlegend=False,
        marker=dict(
            color=[rgba(color(a), 0.35) for a in range(n_actions)], pattern=dict(shape="/", fgcolor="white", size=6)
        ),
        text=[percent(v / 100) for v in pct(explored)],
        textposition="inside",
        hovertemplate="%{x}: %{y:.1f}% " + kinds.other_word + "<extra></extra>",
    )
    # Legend-only entries in grey: the bars take each action's colour.
    for label, shade in ((kinds.best, "#495057"), (kinds.other, "rgba(73,80,87,0.3)")):
        fig.add_scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=label,
            hoverinfo="skip",
            marker=dict(symbol="square", size=12, color=shade),
        )
    base_layout(fig, height=height)
    fig.update_layout(barmode="stack", hovermode="closest", legend_traceorder="normal")
    fig.update_xaxes(title_text=f"last {total:,} recorded steps")
    fig.update_yaxes(title_text="% of steps", rangemode="tozero")
    return fig


def action_share_figure(points, action_names: Sequence[str] | None = None, *, height: int = 300) -> go.Figure:
    """Share of each action (stacked) and the exploration rate over training steps,
    each over the rolling window that ends at the point."""
    n_actions = points.n_actions
    if len(points) == 0 or n_actions == 0:
        return empty_figure("No actions yet.", height=height)
    names = action_labels(action_names, n_actions)
    x = list(points.step)
    fig = go.Figure()
    for a, name in enumerate(names):
        fig.add_scatter(
            x=x,
            y=[None if v is None else 100 * v for v in _column(points.share, a)],
            name=name,
            mode="lines",
            stackgroup="share",
            line=dict(width=0.5, color=color(a)),
            fillcolor=rgba(color(a), 0.45),
            hovertemplate="%{y:.0f}%",
        )
    fig.add_scatter(
        x=x,
        y=[None if v is None else 100 * v for v in clean(points.explore)],
        name="exploring (random)",
        mode="lines",
        line=dict(width=2, color="#212529", dash="dot"),
        hovertemplate="%{y:.0f}%",
    )
    base_layout(fig, height=height)
    fig.update_layout(legend_traceorder="normal")
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text="% of recent steps", range=[0, 100])
    return fig


def action_share_extension(points, max_points: int) -> list | None:
    """``extendData`` for :func:`action_share_figure` (None if nothing new)."""
    n_actions = points.n_actions
    if len(points) == 0 or n_actions == 0:
        return None
    xs, ys = [], []
    for a in range(n_actions):
        xs.append(list(points.step))
        ys.append([None if v is None else 100 * v for v in _column(points.share, a)])
    xs.append(list(points.step))
    ys.append([None if v is None else 100 * v for v in clean(points.explore)])
    return [{"x": xs, "y": ys}, list(range(n_actions + 1)), max_points]
