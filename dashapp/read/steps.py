"""The per-step series as the Live tab draws it: Q-values per action and the actions
chosen, downsampled for the trend charts, and the newest raw steps for the cards and bars.

A page reads the whole (downsampled) history once (:func:`step_history`) and then, on
each poll, only what is newer than where its chart stands (:func:`step_tick`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dashapp.read.series import Position, int_or, number, pick_indices, rolling_at, rows_since, stride_for
from dashapp.read.sessions import Session
from rl import telemetry as T

#: Points per line on the step charts (Q-values, action shares): about what a chart a
#: few hundred pixels wide can show.
Q_POINTS = 600
#: Steps behind each moving average, min/max band and action share on the step charts.
ROLLING_WINDOW = 100
#: Steps behind the statistic cards and the action-frequency bars.
RECENT_STEPS = 1_000
#: The most step records the series holds (the downsampling stride is chosen so that this
#: many records fit on a chart).
STEP_SPAN = T.DEFAULT_CAPS[T.STEPS]

#: The StepRecord fields the step charts read straight from the stored rows: decoding up to
#: 20,000 rows into records would cost a load more than everything else, so the names are
#: checked against the record type instead (a renamed field fails on import).
Q, ACTION, EXPLORED, STEP = "q", "action", "explored", "step"
if not {Q, ACTION, EXPLORED, STEP} <= {f.name for f in dataclasses.fields(T.StepRecord)}:
    raise ImportError("dashapp.read.steps reads step records by fields StepRecord does not have")


@dataclass(frozen=True)
class StepPoints:
    """Chart points for the per-step series (Q-values and action choices).

    Each point stands for the step records since the previous point; its ``q`` is the
    Q-values at the point's own (newest) step, and ``q_mean``/``q_low``/``q_high``,
    ``share`` and ``explore`` summarise the :data:`ROLLING_WINDOW` steps ending there.
    ``seq`` is the newest record read, ``stride`` the downsampling step.
    """

    seq: int = -1
    stride: int = 1
    n_actions: int = 0
    step: list[int] = field(default_factory=list)
    q: list[list[float]] = field(default_factory=list)
    q_mean: list[list[float]] = field(default_factory=list)
    q_low: list[list[float]] = field(default_factory=list)
    q_high: list[list[float]] = field(default_factory=list)
    share: list[list[float]] = field(default_factory=list)
    explore: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.step)

    @property
    def position(self) -> Position:
        """Where a chart stands after drawing these points."""
        return Position(self.seq, self.stride, self.n_actions)


def matrix(rows: Sequence[dict], field: str, width: int) -> np.ndarray:
    """(n, width) float matrix of the rows' vector field ``field`` (Q-values per action, a
    policy's probabilities, ...); NaN where a number is missing."""
    out = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        values = row.get(field) or []
        if not isinstance(values, (list, tuple)):
            continue
        for a, v in enumerate(values[:width]):
            out[i, a] = number(v)
    return out


def q_matrix(rows: Sequence[dict], n_actions: int) -> np.ndarray:
    """(n, n_actions) float matrix of the rows' Q-values; NaN where one is missing."""
    return matrix(rows, Q, n_actions)


def _n_actions(rows: Sequence[dict]) -> int:
    for row in reversed(rows):
        q = row.get(Q)
        if isinstance(q, (list, tuple)) and q:
            return len(q)
    return 0


def _action(row: dict, n_actions: int) -> int:
    """The row's action index, or -1 when it is missing or out of range (or a vector)."""
    a = row.get(ACTION)
    return a if isinstance(a, int) and not isinstance(a, bool) and 0 <= a < n_actions else -1


def _step_points(rows: list[dict], first_new: int, stride: int, window: int, n_actions: int, seq: int) -> StepPoints:
    """Points for ``rows[first_new:]``; ``rows[:first_new]`` is context for the windows."""
    idx = pick_indices(first_new, len(rows), stride)
    if len(idx) == 0 or n_actions == 0:
        return StepPoints(seq=seq, stride=stride, n_actions=n_actions)
    q = q_matrix(rows, n_actions)
    actions = np.array([_action(row, n_actions) for row in rows])
    chosen = (actions[:, None] == np.arange(n_actions)[None, :]).astype(float)
    explored = np.array([1.0 if row.get(EXPLORED) is True else 0.0 for row in rows])
    return StepPoints(
        seq=seq,
        stride=stride,
        n_actions=n_actions,
        step=[int_or(rows[i].get(STEP), rows[i]["seq"]) for i in idx],
        q=q[idx].tolist(),
        q_mean=rolling_at(q, idx, window, "mean").tolist(),
        q_low=rolling_at(q, idx, window, "min").tolist(),
        q_high=rolling_at(q, idx, window, "max").tolist(),
        share=rolling_at(chosen, idx, window, "mean").tolist(),
        explore=rolling_at(explored, idx, window, "mean").tolist(),
    )


def step_history(s: Session, max_points: int = Q_POINTS, window: int = ROLLING_WINDOW) -> StepPoints:
    """Everything the step series still holds, downsampled to at most ``max_points``
    points (the newest step always included). Used on first load and after a jump."""
    rows = s.read(T.STEPS)
    if not rows:
        return StepPoints()
    return _step_points(rows, 0, stride_for(len(rows), max_points), window, _n_actions(rows), rows[-1]["seq"])


def step_tick(
    s: Session, drawn: Position | None, max_points: int = Q_POINTS, window: int = ROLLING_WINDOW, span: int = STEP_SPAN
) -> StepPoints | None:
    """What one poll adds to step charts drawn up to ``drawn``.

    Returns the new points (possibly none), or None when the charts must instead be
    redrawn from :func:`step_history`: nothing is drawn yet (``drawn`` None) while
    records exist, the series restarted, the number of actions changed, or the page fell
    more than ``series.MAX_TICK_RECORDS`` records behind. A poll therefore reads a
    bounded number of records and stays fast however long the run is.
    """
    got = rows_since(s, T.STEPS, drawn, max_points, window, span)
    if got is None:
        return None
    rows, first_new, stride = got
    pos = drawn or Position()
    if first_new == len(rows):
        return StepPoints(seq=pos.seq, stride=stride, n_actions=pos.n_actions)
    points = _step_points(rows, first_new, stride, window, _n_actions(rows), rows[-1]["seq"])
    return None if len(points) and points.n_actions != pos.n_actions else points


@dataclass(frozen=True)
class RecentSteps:
    """The newest raw step records, for the statistic cards and the action bars."""

    n_actions: int = 0
    step: list[int] = field(default_factory=list)
    q: list[list[float]] = field(default_factory=list)
    action: list[int] = field(default_factory=list)
    explored: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.step)


def recent_steps(s: Session, n: int = RECENT_STEPS) -> RecentSteps:
    """The last ``n`` step records as columns (Q-values with NaN where missing)."""
    rows = s.read(T.STEPS, limit=n)
    if not rows:
        return RecentSteps()
    n_actions = _n_actions(rows)
    return RecentSteps(
        n_actions=n_actions,
        step=[int_or(r.get(STEP), r["seq"]) for r in rows],
        q=q_matrix(rows, n_actions).tolist(),
        action=[_action(r, n_actions) for r in rows],
        explored=[r.get(EXPLORED) is True for r in rows],
    )


def q_history(s: Session, action: int, n: int = 500) -> list[float]:
    """One action's Q-values over the newest ``n`` step records, oldest first (NaN where
    a record has none)."""
    rows = s.read(T.STEPS, limit=n)
    return q_matrix(rows, action + 1)[:, action].tolist() if rows else []
