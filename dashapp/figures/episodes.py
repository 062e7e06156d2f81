"""The Live tab's episode charts: one small chart per figure the agent reports, sharing
the episode axis. A DQN's grid (score, loss, exploration rate, speed) and an actor-critic's
(score, policy entropy against its target, temperature, and the critic, actor and
temperature losses) are both declared as a list of :class:`EpisodeTrace` and drawn by one
builder; :func:`episodes_extension` turns new episodes into the matching ``extendData``.

Pure: an :class:`dashapp.read.episodes.EpisodePoints` in, ``go.Figure`` out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashapp.figures.common import HOVER_NUMBER, base_layout, clean, color, empty_figure, rgba


@dataclass(frozen=True)
class EpisodeTrace:
    """One line of an episode grid: the figure ``name`` (an attribute of EpisodePoints, or
    a name in its ``group`` -- ``losses``, ``exploration`` or ``stats``), the cell it is
    drawn in (1-based ``row``, ``col``) and its Plotly style (its ``name`` shows on hover)."""

    name: str
    row: int
    col: int
    style: dict[str, Any]
    group: str | None = None

    def values(self, points) -> list:
        return clean(points.line(self.group, self.name) if self.group else getattr(points, self.name))


@dataclass(frozen=True)
class EpisodeGrid:
    """A grid of small charts: titles row by row, and its traces in drawing order."""

    titles: tuple[str, ...]
    cols: int
    traces: tuple[EpisodeTrace, ...]
    unit_range: tuple[tuple[int, int], ...] = ()  # cells whose values are shares (0 to 1)

    @property
    def rows(self) -> int:
        return -(-len(self.titles) // self.cols)


def _line(label: str, c: str, width: float = 1.6, **extra) -> dict[str, Any]:
    return dict(name=label, mode="lines", line=dict(width=width, color=c, **extra))


def _score_traces() -> tuple[EpisodeTrace, ...]:
    return (
        EpisodeTrace(
            "score", 1, 1, dict(name="score", mode="markers", marker=dict(size=4, color=rgba(color(0), 0.45)))
        ),
        EpisodeTrace("score_mean", 1, 1, _line("score, average of recent episodes", color(0), 2.4)),
    )


#: A value-based agent (DQN): epsilon-greedy exploration and one loss.
VALUE_GRID = EpisodeGrid(
    titles=(
        "Score per episode",
        "Training loss (after learning starts)",
        "Exploration rate ε",
        "Training speed (steps per second)",
    ),
    cols=2,
    traces=(
        *_score_traces(),
        EpisodeTrace("loss", 1, 2, _line("loss", color(5))),
        EpisodeTrace("epsilon", 2, 1, _line("ε", color(2), 1.8)),
        EpisodeTrace("sps", 2, 2, _line("steps/s", color(3))),
    ),
    unit_range=((2, 1),),
)

#: An actor-critic (SAC): a policy whose randomness (entropy) is held near a target by the
#: temperature α, twin critics, and the three losses that train them.
ACTOR_CRITIC_GRID = EpisodeGrid(
    titles=(
        "Score per episode",
        "Policy entropy and its target",
        "Temperature α",
        "Critic loss",
        "Actor loss",
        "Temperature loss",
    ),
    cols=3,
    traces=(
        *_score_traces(),
        EpisodeTrace("entropy", 1, 2, _line("entropy", color(2), 1.8), "stats"),
        EpisodeTrace("target_entropy", 1, 2, _line("target entropy", "#495057", 1.4, dash="dash"), "stats"),
        EpisodeTrace("alpha", 1, 3, _line("α", color(3), 1.8), "exploration"),
        EpisodeTrace("critic_loss", 2, 1, _line("critic loss", color(5)), "losses"),
        EpisodeTrace("actor_loss", 2, 2, _line("actor loss", color(1)), "losses"),
        EpisodeTrace("alpha_loss", 2, 3, _line("temperature loss", color(4)), "losses"),
    ),
)

NO_EPISODES = "No finished episodes yet: the first one appears when the agent's first game ends."


def episodes_figure(points, grid: EpisodeGrid = VALUE_GRID, *, height: int = 440) -> go.Figure:
    """The episode grid ``grid`` drawn from ``points`` (an EpisodePoints); NaN (an episode
    before learning started) is a gap."""
    if len(points) == 0:
        return empty_figure(NO_EPISODES, height=height)
    fig = make_subplots(
        rows=grid.rows,
        cols=grid.cols,
        shared_xaxes=True,
        vertical_spacing=0.14,
        horizontal_spacing=0.09 if grid.cols == 2 else 0.07,
        subplot_titles=grid.titles,
    )
    x = list(points.episode)
    for trace in grid.traces:
        fig.add_scatter(
            x=x,
            y=trace.values(points),
            showlegend=False,
            hovertemplate="episode %{x}: %{y:" + HOVER_NUMBER + "}<extra>" + trace.style["name"] + "</extra>",
            **trace.style,
            row=trace.row,
            col=trace.col,
        )
    base_layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest", margin=dict(l=52, r=16, t=36, b=40))
    fig.update_annotations(font=dict(size=12))
    for col in range(1, grid.cols + 1):
        fig.update_xaxes(title_text="episode", row=grid.rows, col=col)
    for row, col in grid.unit_range:
        fig.update_yaxes(range=[0, 1.02], row=row, col=col)
    return fig


def episodes_extension(points, max_points: int, grid: EpisodeGrid = VALUE_GRID) -> list | None:
    """``extendData`` for :func:`episodes_figure` of the same ``grid`` (None if nothing new)."""
    if len(points) == 0:
        return None
    x = list(points.episode)
    return [
        {"x": [x for _ in grid.traces], "y": [t.values(points) for t in grid.traces]},
        list(range(len(grid.traces))),
        max_points,
    ]


__all__ = ["EpisodeTrace", "EpisodeGrid", "VALUE_GRID", "ACTOR_CRITIC_GRID", "episodes_figure", "episodes_extension"]
