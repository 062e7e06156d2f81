"""The per-step series of an actor-critic agent (SAC) as the Live tab draws it: what the twin
critics estimate, what the policy would do -- its probability per action (discrete) or its
mean and spread per action dimension (continuous) -- and the actions it took.

Like :mod:`dashapp.read.steps`: the whole downsampled history once
(:func:`policy_history`), then on each poll only what is new (:func:`policy_tick`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dashapp.read.series import Position, int_or, number, pick_indices, rolling_at, rows_since, stride_for
from dashapp.read.sessions import Session
from dashapp.read.steps import Q_POINTS, RECENT_STEPS, ROLLING_WINDOW, STEP, STEP_SPAN, matrix
from rl import telemetry as T

#: The StepRecord fields read straight from the stored rows (see ``steps``), checked here.
CRITICS, PROBS, MEAN, STD, ACTION = "critics", "probs", "mean", "std", "action"
if not {CRITICS, PROBS, MEAN, STD, ACTION} <= {f.name for f in dataclasses.fields(T.StepRecord)}:
    raise ImportError("dashapp.read.policy reads step records by fields StepRecord does not have")
#: The twin critics, as SAC names them.
CRITIC_NAMES = ("critic_1", "critic_2")


@dataclass(frozen=True)
class PolicyPoints:
    """Chart points of an actor-critic's steps: each point summarises the
    :data:`~dashapp.read.steps.ROLLING_WINDOW` steps ending there (means). ``critics``: each
    critic's estimate of the action taken, and ``min`` of the two (what the TD target uses);
    ``probs`` (discrete actions) per action, or ``mean``/``std`` (continuous) per dimension;
    ``width``: the number of actions or dimensions."""

    seq: int = -1
    stride: int = 1
    width: int = 0
    discrete: bool = True
    step: list[int] = field(default_factory=list)
    critics: dict[str, list[float]] = field(default_factory=dict)
    probs: list[list[float]] = field(default_factory=list)
    mean: list[list[float]] = field(default_factory=list)
    std: list[list[float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.step)

    @property
    def position(self) -> Position:
        return Position(self.seq, self.stride, self.width)


def _critics(rows: Sequence[dict]) -> np.ndarray:
    """(n, 2) estimates of the twin critics; NaN where a row has none."""
    out = np.full((len(rows), len(CRITIC_NAMES)), np.nan)
    for i, row in enumerate(rows):
        critics = row.get(CRITICS)
        if isinstance(critics, dict):
            out[i] = [number(critics.get(name)) for name in CRITIC_NAMES]
    return out


def _shape(rows: Sequence[dict]) -> tuple[bool, int]:
    """(discrete, width) from the newest row that says: probabilities, or a mean."""
    for row in reversed(rows):
        for name, discrete in ((PROBS, True), (MEAN, False)):
            values = row.get(name)
            if isinstance(values, list) and values:
                return discrete, len(values)
    return True, 0


def _policy_points(rows: list[dict], first_new: int, stride: int, window: int, seq: int) -> PolicyPoints:
    discrete, width = _shape(rows)
    idx = pick_indices(first_new, len(rows), stride)
    if len(idx) == 0 or width == 0:
        return PolicyPoints(seq=seq, stride=stride, width=width, discrete=discrete)
    critics = _critics(rows)
    critics = np.column_stack([critics, np.min(critics, axis=1)])  # NaN where either is missing
    means = rolling_at(critics, idx, window, "mean")
    kw: dict = {}
    if discrete:
        kw["probs"] = rolling_at(matrix(rows, PROBS, width), idx, window, "mean").tolist()
    else:
        kw["mean"] = rolling_at(matrix(rows, MEAN, width), idx, window, "mean").tolist()
        kw["std"] = rolling_at(matrix(rows, STD, width), idx, window, "mean").tolist()
    return PolicyPoints(
        seq=seq,
        stride=stride,
        width=width,
        discrete=discrete,
        step=[int_or(rows[i].get(STEP), rows[i]["seq"]) for i in idx],
        critics={name: means[:, k].tolist() for k, name in enumerate((*CRITIC_NAMES, "min"))},
        **kw,
    )


def policy_history(s: Session, max_points: int = Q_POINTS, window: int = ROLLING_WINDOW) -> PolicyPoints:
    """Everything the step series still holds, downsampled to at most ``max_points`` points."""
    rows = s.read(T.STEPS)
    if not rows:
        return PolicyPoints()
    return _policy_points(rows, 0, stride_for(len(rows), max_points), window, rows[-1]["seq"])


def policy_tick(
    s: Session,
    drawn: Position | None,
    max_points: int = Q_POINTS,
    window: int = ROLLING_WINDOW,
    span: int = STEP_SPAN,
) -> PolicyPoints | None:
    """What one poll adds to the charts drawn up to ``drawn`` (None: redraw them from
    :func:`policy_history`, also when the number of actions changed)."""
    got = rows_since(s, T.STEPS, drawn, max_points, window, span)
    if got is None:
        return None
    rows, first_new, stride = got
    pos = drawn or Position()
    if first_new == len(rows):
        return PolicyPoints(seq=pos.seq, stride=stride, width=pos.n_actions)
    points = _policy_points(rows, first_new, stride, window, rows[-1]["seq"])
    return None if len(points) and points.width != pos.n_actions else points


def recent_actions(s: Session, n: int = RECENT_STEPS) -> np.ndarray:
    """The continuous actions of the last ``n`` step records, (k, dimensions); rows whose
    action is not a vector are left out."""
    rows = s.read(T.STEPS, limit=n)
    vectors: list[list] = [v for v in (row.get(ACTION) for row in rows) if isinstance(v, list) and v]
    if not vectors:
        return np.zeros((0, 0))
    width = len(vectors[-1])
    return np.array([[number(x) for x in v[:width]] for v in vectors if len(v) >= width], dtype=np.float64)


#: The network an actor-critic acts with (SAC's policy; the Live tab shows its panels).
ACTOR = "actor"


def is_actor_critic(meta: T.RunMeta | None) -> bool:
    """True when the run's agent acts with a policy network (``actor``) judged by critics
    (SAC), so the Live tab shows the policy and the critics instead of Q-values per move."""
    return meta is not None and any(n.name == ACTOR for n in meta.networks)
