"""The per-episode series as the Live tab draws it: score (and its moving average), the
losses the agent reported, its exploration settings, episode length and speed."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dashapp.read.series import Position, int_or, number, pick_indices, rolling_at, rows_since, stride_for
from dashapp.read.sessions import Session
from rl import telemetry as T

#: Points per line on the episode charts.
EPISODE_POINTS = 1_000
#: Episodes behind the score's moving average.
SCORE_WINDOW = 10
#: The most episode records the series holds.
EPISODE_SPAN = T.DEFAULT_CAPS[T.EPISODES]


@dataclass(frozen=True)
class EpisodePoints:
    """Chart points for the per-episode series; ``score_mean`` is the average score of
    the :data:`SCORE_WINDOW` episodes ending at each point. ``losses`` and ``exploration``
    and ``stats`` hold one line per name the agent reported (DQN: ``loss``, ``epsilon``; SAC:
    ``critic_loss``, ``actor_loss``, ``alpha_loss``, ``alpha``, ``entropy``,
    ``target_entropy``), NaN where an episode had none."""

    seq: int = -1
    stride: int = 1
    episode: list[int] = field(default_factory=list)
    step: list[int] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    score_mean: list[float] = field(default_factory=list)
    sps: list[float] = field(default_factory=list)
    length: list[float] = field(default_factory=list)
    losses: dict[str, list[float]] = field(default_factory=dict)
    exploration: dict[str, list[float]] = field(default_factory=dict)
    stats: dict[str, list[float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.episode)

    @property
    def position(self) -> Position:
        return Position(self.seq, self.stride)

    @property
    def loss(self) -> list[float]:
        """The main loss per point (the first the agent reported), NaN where none."""
        return next(iter(self.losses.values()), [float("nan")] * len(self))

    @property
    def epsilon(self) -> list[float]:
        """The exploration rate epsilon per point, NaN where the agent has none."""
        return self.exploration.get("epsilon", [float("nan")] * len(self))

    def line(self, group: str, name: str) -> list[float]:
        """One named figure per point from ``losses``, ``exploration`` or ``stats`` (NaN
        where none)."""
        return getattr(self, group).get(name, [float("nan")] * len(self))


def _named_columns(records: list[T.EpisodeRecord], attr: str, idx: np.ndarray) -> dict[str, list[float]]:
    names: list[str] = []
    for rec in records:
        names += [k for k in getattr(rec, attr) if k not in names]
    return {name: [number(getattr(records[i], attr).get(name)) for i in idx] for name in names}


def _episode_points(s: Session, rows: list[dict], first_new: int, stride: int, window: int, seq: int) -> EpisodePoints:
    idx = pick_indices(first_new, len(rows), stride)
    if len(idx) == 0:
        return EpisodePoints(seq=seq, stride=stride)
    with s.decoding("its episode records"):
        records = [T.EpisodeRecord.from_dict(r) for r in rows]
    score = np.array([number(r.score) for r in records])
    return EpisodePoints(
        seq=seq,
        stride=stride,
        episode=[int_or(records[i].episode, rows[i]["seq"]) for i in idx],
        step=[int_or(records[i].step, rows[i]["seq"]) for i in idx],
        score=score[idx].tolist(),
        score_mean=rolling_at(score, idx, window, "mean").tolist(),
        sps=[number(records[i].sps) for i in idx],
        length=[number(records[i].length) for i in idx],
        losses=_named_columns(records, "losses", idx),
        exploration=_named_columns(records, "exploration", idx),
        stats=_named_columns(records, "stats", idx),
    )


def episode_history(s: Session, max_points: int = EPISODE_POINTS, window: int = SCORE_WINDOW) -> EpisodePoints:
    """All stored episodes, downsampled to at most ``max_points`` (newest kept)."""
    rows = s.read(T.EPISODES)
    if not rows:
        return EpisodePoints()
    return _episode_points(s, rows, 0, stride_for(len(rows), max_points), window, rows[-1]["seq"])


def episode_tick(
    s: Session,
    drawn: Position | None,
    max_points: int = EPISODE_POINTS,
    window: int = SCORE_WINDOW,
    span: int = EPISODE_SPAN,
) -> EpisodePoints | None:
    """Like ``steps.step_tick``, for the episode charts (None: redraw from
    :func:`episode_history`)."""
    got = rows_since(s, T.EPISODES, drawn, max_points, window, span)
    if got is None:
        return None
    rows, first_new, stride = got
    if first_new == len(rows):
        return EpisodePoints(seq=(drawn or Position()).seq, stride=stride)
    return _episode_points(s, rows, first_new, stride, window, rows[-1]["seq"])
