"""The dashboard's one window onto the telemetry store.

Only this module knows which store keys and series hold what (the names themselves are
declared in ``rl.telemetry``). Callbacks ask it for plain data, hand that to a pure figure
builder, and return the result. It

* lists the runs under a folder and reports a run it cannot read as *broken* (with a
  one-line reason) instead of failing -- the dashboard keeps serving the others;
* turns the worker's heartbeat into a status a person can read, including "not
  responding" when the heartbeat stops arriving;
* reads series **incrementally** from a cursor (the sequence number of the last record a
  page has already drawn), and **downsamples** long series to what a screen can show,
  always keeping the newest record (as TensorBoard does);
* opens stores with ``rl.store.open_run`` -- diskcache and JSON only, never torch.

Nothing here keeps state between calls: everything comes from the store, so any number
of dashboard processes show the same thing.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Iterator, Sequence

import numpy as np

from rl import store as S
from rl import telemetry as T

#: A running or paused worker writes a heartbeat about twice a second; when the newest
#: one is older than this, the worker is shown as "not responding".
STALE_AFTER_S = 5.0
#: Status shown when the heartbeat is too old (the worker hung, was killed, or crashed
#: before it could write "failed").
NOT_RESPONDING = "not responding"
#: Status shown for a run whose store has no heartbeat at all (yet).
NO_HEARTBEAT = "no heartbeat"
#: Status shown for a run the dashboard cannot read.
BROKEN = "broken"

#: Points per line on the step charts (Q-values, action shares): about what a chart a
#: few hundred pixels wide can show.
Q_POINTS = 600
#: Points per line on the episode charts.
EPISODE_POINTS = 1_000
#: Steps behind each moving average, min/max band and action share on the step charts.
ROLLING_WINDOW = 100
#: Steps behind the statistic cards and the action-frequency bars.
RECENT_STEPS = 1_000
#: Most records one poll reads from a series; a page further behind redraws from the
#: (downsampled) history instead, so a poll stays fast.
MAX_TICK_RECORDS = 2_000
#: Episodes behind the score's moving average.
SCORE_WINDOW = 10
#: Upper bounds on what a series' ring buffer holds (the downsampling stride is chosen
#: so that this many records fit on a chart).
STEP_SPAN = T.DEFAULT_CAPS[T.STEPS]
EPISODE_SPAN = T.DEFAULT_CAPS[T.EPISODES]

_COMMANDS = {T.CMD_PAUSE, T.CMD_RESUME, T.CMD_STEP, T.CMD_STOP, T.CMD_SPEED}
_SPEEDS = {T.SPEED_WATCH, T.SPEED_FULL}


class BrokenRun(ValueError):
    """A run folder the dashboard cannot read; the message says which and why, in one line."""


# =========================================================================== runs
@dataclass(frozen=True)
class RunInfo:
    """One run folder as the run picker shows it."""

    path: str
    name: str
    env_id: str = ""
    agent: str = ""
    created: float = 0.0
    broken: str | None = None

    @property
    def label(self) -> str:
        if self.broken:
            return f"{self.name} (broken)"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created)) if self.created else ""
        parts = [p for p in (self.agent.upper() if self.agent else "", self.env_id) if p]
        detail = " on ".join(parts)
        return " · ".join(p for p in (self.name, detail, when) if p)


def list_runs(runs_dir: str | Path) -> list[RunInfo]:
    """The run folders in ``runs_dir`` (or ``runs_dir`` itself if it is one), newest first.

    Reads only each run's ``run.json`` (cheap enough to call on every poll). A run whose
    marker cannot be read or was written by a newer neurodash comes back with
    ``broken`` set to the reason; it never raises for one bad run.
    """
    return [_describe_run(p) for p in S.find_runs(runs_dir)]


def _describe_run(path: Path) -> RunInfo:
    name = path.name or str(path)
    try:
        data = json.loads((path / S.RUN_MARKER).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise BrokenRun(f"{S.RUN_MARKER} does not hold a JSON object")
        meta = T.RunMeta.from_dict(data)
    except T.SchemaError as exc:
        return RunInfo(str(path), name, broken=str(exc))
    except BrokenRun as exc:
        return RunInfo(str(path), name, broken=str(exc))
    except (OSError, UnicodeDecodeError) as exc:
        return RunInfo(str(path), name, broken=f"cannot read {S.RUN_MARKER}: {getattr(exc, 'strerror', None) or exc}")
    except json.JSONDecodeError as exc:
        return RunInfo(str(path), name, broken=f"{S.RUN_MARKER} is not valid JSON ({exc.msg}, line {exc.lineno})")
    except TypeError as exc:
        return RunInfo(str(path), name, broken=f"{S.RUN_MARKER} is missing run details ({exc})")
    created = meta.created if isinstance(meta.created, (int, float)) else 0.0
    return RunInfo(str(path), meta.run_id or name, str(meta.env_id), str(meta.agent), float(created))


#: Flask config key holding the folder a dashboard serves (set by ``create_app``).
RUNS_DIR_CONFIG = "NEURODASH_RUNS_DIR"


def served_root() -> Path | None:
    """The runs folder this dashboard process serves, when called inside a request."""
    try:
        import flask

        if flask.has_app_context():
            root = flask.current_app.config.get(RUNS_DIR_CONFIG)
            return Path(root) if root else None
    except ImportError:  # pragma: no cover - flask comes with dash
        pass
    return None


def check_served(run_path: str | Path) -> Path:
    """``run_path`` as a Path, refused unless it is the served folder or directly inside it.

    Run paths come back from the browser; without this check a page could make the
    server open any folder on the machine. Outside a request (tests, scripts) there is
    no served folder and nothing to check.
    """
    path = Path(run_path)
    root = served_root()
    if root is not None:
        resolved = path.resolve()
        if resolved != root and resolved.parent != root:
            raise BrokenRun(f"{path} is not a run in the folder this dashboard serves ({root})")
    return path


@contextmanager
def open_store(run_path: str | Path) -> Iterator[S.Store]:
    """Open a run's store for one read; any failure becomes :class:`BrokenRun`.

    The store is closed again on exit, so no connection outlives the callback that
    asked for it.
    """
    path = check_served(run_path)
    try:
        store = S.open_run(path)
    except (S.RunDirError, T.SchemaError) as exc:
        raise BrokenRun(str(exc)) from None
    except (sqlite3.Error, OSError) as exc:
        raise BrokenRun(f"run {path.name}: its telemetry store cannot be opened ({exc})") from None
    try:
        yield store
    except BrokenRun:
        raise
    except T.SchemaError as exc:
        raise BrokenRun(f"run {path.name}: {exc}") from None
    except (sqlite3.Error, OSError, ValueError, TypeError, KeyError) as exc:
        raise BrokenRun(f"run {path.name}: its telemetry cannot be read ({type(exc).__name__}: {exc})") from None
    finally:
        store.close()


def run_meta(run_path: str | Path) -> T.RunMeta | None:
    """The run's metadata (env, agent, action and feature names, layers), or None if the
    worker has not written it yet."""
    with open_store(run_path) as store:
        data = store.get(T.META)
        if data is None:
            return None
        if not isinstance(data, dict):
            raise BrokenRun(f"run {Path(run_path).name}: its metadata is not a JSON object")
        return T.RunMeta.from_dict(data)


def action_names(run_path: str | Path) -> list[str]:
    """The run's action names, or [] when its metadata is not there yet."""
    meta = run_meta(run_path)
    return [str(a) for a in meta.action_names] if meta else []


# =========================================================================== worker status
@dataclass(frozen=True)
class WorkerStatus:
    """What the status badge shows."""

    state: str
    step: int = 0
    total_steps: int | None = None
    sps: float = 0.0
    speed: str | None = None
    message: str = ""
    age: float | None = None
    pid: int | None = None

    @property
    def controllable(self) -> bool:
        """True while a worker is alive to obey pause/resume/step/stop/speed."""
        return self.state in (T.RUNNING, T.PAUSED)

    @property
    def progress(self) -> float | None:
        """Fraction of the planned steps done, or None when the total is unknown."""
        if not self.total_steps or self.total_steps <= 0:
            return None
        return max(0.0, min(1.0, self.step / self.total_steps))


def classify_heartbeat(heartbeat: Any, now: float) -> WorkerStatus:
    """Turn a stored heartbeat (a dict, or None) into a :class:`WorkerStatus`.

    A worker that says it is running or paused but whose heartbeat is older than
    :data:`STALE_AFTER_S` is "not responding"; finished, stopped and failed runs keep
    their state however old the heartbeat is.
    """
    if heartbeat is None:
        return WorkerStatus(state=NO_HEARTBEAT)
    if not isinstance(heartbeat, dict):
        raise BrokenRun("the heartbeat is not a JSON object")
    hb = T.Heartbeat.from_dict(heartbeat)
    age = max(0.0, now - float(hb.time))
    state = str(hb.state)
    if state in (T.RUNNING, T.PAUSED) and age > STALE_AFTER_S:
        state = NOT_RESPONDING
    return WorkerStatus(
        state=state,
        step=int(hb.step),
        total_steps=int(hb.total_steps) if hb.total_steps else None,
        sps=float(hb.sps or 0.0),
        speed=hb.speed,
        message=str(hb.message or ""),
        age=age,
        pid=hb.pid,
    )


def worker_status(run_path: str | Path, now: float | None = None) -> WorkerStatus:
    """The worker's status for the run at ``run_path`` (from its heartbeat)."""
    with open_store(run_path) as store:
        heartbeat = store.get(T.HEARTBEAT)
    try:
        return classify_heartbeat(heartbeat, time.time() if now is None else now)
    except (T.SchemaError, BrokenRun, TypeError, ValueError) as exc:
        raise BrokenRun(f"run {Path(run_path).name}: {exc}") from None


def send_command(run_path: str | Path, action: str, value: Any = None) -> int:
    """Queue a command (pause, resume, step, stop, speed) for the run's worker."""
    if action not in _COMMANDS:
        raise ValueError(f"unknown command {action!r}; expected one of {sorted(_COMMANDS)}")
    if action == T.CMD_SPEED and value not in _SPEEDS:
        raise ValueError(f"speed must be one of {sorted(_SPEEDS)}, got {value!r}")
    with open_store(run_path) as store:
        return store.send_command(action, value)


# =========================================================================== frame
@dataclass(frozen=True)
class FrameImage:
    step: int
    png_base64: str
    width: int
    height: int

    @property
    def src(self) -> str:
        return f"data:image/png;base64,{self.png_base64}"


def latest_frame(run_path: str | Path) -> FrameImage | None:
    """The newest rendered game frame, or None if the worker has not drawn one yet."""
    with open_store(run_path) as store:
        data = store.get(T.FRAME)
    if data is None:
        return None
    try:
        frame = T.Frame.from_dict(data)
        if not isinstance(frame.png_base64, str):
            raise TypeError("png_base64 is not text")
        return FrameImage(int(frame.step), frame.png_base64, int(frame.width), int(frame.height))
    except (T.SchemaError, TypeError, ValueError, AttributeError) as exc:
        raise BrokenRun(f"run {Path(run_path).name}: the game frame cannot be read ({exc})") from None


def frame_unavailable(run_path: str | Path) -> str | None:
    """Why the worker cannot draw the game (its renderer failed), or None."""
    with open_store(run_path) as store:
        data = store.get(T.FRAME_UNAVAILABLE)
    reason = data.get("reason") if isinstance(data, dict) else None
    return str(reason) if reason else None


# =========================================================================== downsampling
def stride_for(count: int, max_points: int) -> int:
    """Records per chart point so that ``count`` records fit in ``max_points`` points."""
    return max(1, math.ceil(max(count, 0) / max(max_points, 1)))


def pick_indices(start: int, stop: int, stride: int) -> np.ndarray:
    """Every ``stride``-th index of ``range(start, stop)``, counted back from the newest,
    so the newest record (``stop - 1``) is always among them. Oldest first."""
    if stop <= start:
        return np.zeros(0, dtype=int)
    return np.arange(stop - 1, start - 1, -max(1, stride))[::-1].copy()


def rolling_at(values: np.ndarray, indices: np.ndarray, window: int, how: str) -> np.ndarray:
    """``how`` (mean/min/max) over the ``window`` rows ending at each of ``indices``.

    ``values`` is (n,) or (n, k) with NaN for missing numbers; NaNs are ignored, and a
    window holding no number gives NaN. Near the start, the window is shorter.
    """
    values = np.asarray(values, dtype=float)
    squeeze = values.ndim == 1
    if squeeze:
        values = values[:, None]
    if len(indices) == 0:
        empty = np.zeros((0, values.shape[1]))
        return empty[:, 0] if squeeze else empty
    window = max(1, int(window))
    padded = np.concatenate([np.full((window - 1, values.shape[1]), np.nan), values])
    # windows[i] covers values[i - window + 1 .. i]; shape (n, k, window)
    windows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)[np.asarray(indices)]
    func = {"mean": np.nanmean, "min": np.nanmin, "max": np.nanmax}[how]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window is fine: NaN
        out = func(windows, axis=-1)
    return out[:, 0] if squeeze else out


def _number(v: Any) -> float:
    if isinstance(v, bool) or v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _q_matrix(rows: Sequence[dict], n_actions: int) -> np.ndarray:
    """(n, n_actions) float matrix of the rows' Q-values; NaN where one is missing."""
    q = np.full((len(rows), n_actions), np.nan)
    for i, row in enumerate(rows):
        values = row.get("q") or []
        if not isinstance(values, (list, tuple)):
            continue
        for a, v in enumerate(values[:n_actions]):
            q[i, a] = _number(v)
    return q


def _n_actions(rows: Sequence[dict]) -> int:
    for row in reversed(rows):
        q = row.get("q")
        if isinstance(q, (list, tuple)) and q:
            return len(q)
    return 0


def _int_or(value: Any, fallback: int) -> int:
    v = _number(value)
    return int(v) if math.isfinite(v) else int(fallback)


def _action(row: dict, n_actions: int) -> int:
    """The row's action index, or -1 when it is missing or out of range."""
    a = row.get("action")
    return a if isinstance(a, int) and not isinstance(a, bool) and 0 <= a < n_actions else -1


def _check_rows(run_path: str | Path, rows: Sequence[dict], what: str) -> None:
    """Refuse records written by a newer neurodash (the oldest and newest are checked;
    a series is written by one worker, so they share a version)."""
    for row in (rows[0], rows[-1]) if rows else ():
        if not isinstance(row, dict):
            raise BrokenRun(f"run {Path(run_path).name}: its {what} records are not JSON objects")
        try:
            T.check_version(row, where=f"a {what} record")
        except T.SchemaError as exc:
            raise BrokenRun(f"run {Path(run_path).name}: {exc}") from None


def _tolist(a: np.ndarray) -> list:
    return a.tolist()


# =========================================================================== steps
@dataclass(frozen=True)
class StepPoints:
    """Chart points for the per-step series (Q-values and action choices).

    Each point stands for the step records since the previous point; its ``q`` is the
    Q-values at the point's own (newest) step, and ``q_mean``/``q_low``/``q_high``,
    ``share`` and ``explore`` summarise the :data:`ROLLING_WINDOW` steps ending there.
    ``seq`` is the cursor to read from next time; ``stride`` the downsampling step.
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


def _step_points(rows: list[dict], first_new: int, stride: int, window: int, n_actions: int, seq: int) -> StepPoints:
    """Points for ``rows[first_new:]``; ``rows[:first_new]`` is context for the windows."""
    idx = pick_indices(first_new, len(rows), stride)
    if len(idx) == 0 or n_actions == 0:
        return StepPoints(seq=seq, stride=stride, n_actions=n_actions)
    q = _q_matrix(rows, n_actions)
    actions = np.array([_action(row, n_actions) for row in rows])
    chosen = (actions[:, None] == np.arange(n_actions)[None, :]).astype(float)
    explored = np.array([1.0 if row.get("explored") is True else 0.0 for row in rows])
    steps = [_int_or(rows[i].get("step"), rows[i]["seq"]) for i in idx]
    return StepPoints(
        seq=seq,
        stride=stride,
        n_actions=n_actions,
        step=steps,
        q=_tolist(q[idx]),
        q_mean=_tolist(rolling_at(q, idx, window, "mean")),
        q_low=_tolist(rolling_at(q, idx, window, "min")),
        q_high=_tolist(rolling_at(q, idx, window, "max")),
        share=_tolist(rolling_at(chosen, idx, window, "mean")),
        explore=_tolist(rolling_at(explored, idx, window, "mean")),
    )


def step_history(run_path: str | Path, max_points: int = Q_POINTS, window: int = ROLLING_WINDOW) -> StepPoints:
    """Everything the step series still holds, downsampled to at most ``max_points``
    points (the newest step always included). Used on first load and after a jump."""
    with open_store(run_path) as store:
        rows = store.read(T.STEPS)
    _check_rows(run_path, rows, "step")
    if not rows:
        return StepPoints()
    stride = stride_for(len(rows), max_points)
    return _step_points(rows, 0, stride, window, _n_actions(rows), rows[-1]["seq"])


def _rows_since(run_path, series: str, kind: str, seq: int, stride: int, max_points: int,
                window: int, span: int) -> tuple[list[dict], int, int] | None:
    """The records a tick needs: ``(rows, index of the first new one, stride)``.

    ``rows`` starts ``window - 1`` records before the first new one, so moving averages
    continue across the cursor. None means "redraw from the history": the series
    restarted (the cursor is ahead of it) or the page fell too far behind.
    """
    with open_store(run_path) as store:
        last = store.last_seq(series)
        if last < seq:
            return None
        stride = max(int(stride), stride_for(min(last + 1, span), max_points))
        if last == seq:
            return [], 0, stride
        if last - seq > min(stride * max_points, MAX_TICK_RECORDS):
            return None
        rows = store.read(series, after=max(-1, seq - window + 1))
    _check_rows(run_path, rows, kind)
    first_new = next((i for i, r in enumerate(rows) if r["seq"] > seq), len(rows))
    return rows, first_new, stride


def steps_since(
    run_path: str | Path,
    seq: int,
    stride: int,
    max_points: int = Q_POINTS,
    window: int = ROLLING_WINDOW,
    span: int = STEP_SPAN,
) -> StepPoints | None:
    """Points for the step records newer than cursor ``seq``.

    Returns None when the page should redraw from :func:`step_history` instead: the
    series restarted (the cursor is ahead of it) or the page fell more than
    :data:`MAX_TICK_RECORDS` behind (or more than the chart holds). The stride only
    grows, in step with how much history the chart covers, so a long run keeps a stable
    number of points.
    """
    got = _rows_since(run_path, T.STEPS, "step", seq, stride, max_points, window, span)
    if got is None:
        return None
    rows, first_new, stride = got
    if first_new == len(rows):
        return StepPoints(seq=seq, stride=stride)
    return _step_points(rows, first_new, stride, window, _n_actions(rows), rows[-1]["seq"])


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


def recent_steps(run_path: str | Path, n: int = RECENT_STEPS) -> RecentSteps:
    """The last ``n`` step records as columns (Q-values with NaN where missing)."""
    with open_store(run_path) as store:
        rows = store.read(T.STEPS, limit=n)
    _check_rows(run_path, rows, "step")
    if not rows:
        return RecentSteps()
    n_actions = _n_actions(rows)
    return RecentSteps(
        n_actions=n_actions,
        step=[_int_or(r.get("step"), r["seq"]) for r in rows],
        q=_tolist(_q_matrix(rows, n_actions)),
        action=[_action(r, n_actions) for r in rows],
        explored=[r.get("explored") is True for r in rows],
    )


# =========================================================================== episodes
_EPISODE_FIELDS = ("score", "loss", "epsilon", "sps", "length")


@dataclass(frozen=True)
class EpisodePoints:
    """Chart points for the per-episode series; ``score_mean`` is the average score of
    the :data:`SCORE_WINDOW` episodes ending at each point."""

    seq: int = -1
    stride: int = 1
    episode: list[int] = field(default_factory=list)
    step: list[int] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    score_mean: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    epsilon: list[float] = field(default_factory=list)
    sps: list[float] = field(default_factory=list)
    length: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.episode)


def _episode_points(rows: list[dict], first_new: int, stride: int, window: int, seq: int) -> EpisodePoints:
    idx = pick_indices(first_new, len(rows), stride)
    if len(idx) == 0:
        return EpisodePoints(seq=seq, stride=stride)
    cols = {name: np.array([_number(r.get(name)) for r in rows]) for name in _EPISODE_FIELDS}

    def ints(name: str) -> list[int]:
        return [_int_or(rows[i].get(name), rows[i]["seq"]) for i in idx]

    return EpisodePoints(
        seq=seq,
        stride=stride,
        episode=ints("episode"),
        step=ints("step"),
        score=_tolist(cols["score"][idx]),
        score_mean=_tolist(rolling_at(cols["score"], idx, window, "mean")),
        loss=_tolist(cols["loss"][idx]),
        epsilon=_tolist(cols["epsilon"][idx]),
        sps=_tolist(cols["sps"][idx]),
        length=_tolist(cols["length"][idx]),
    )


def episode_history(run_path: str | Path, max_points: int = EPISODE_POINTS, window: int = SCORE_WINDOW) -> EpisodePoints:
    """All stored episodes, downsampled to at most ``max_points`` (newest kept)."""
    with open_store(run_path) as store:
        rows = store.read(T.EPISODES)
    _check_rows(run_path, rows, "episode")
    if not rows:
        return EpisodePoints()
    return _episode_points(rows, 0, stride_for(len(rows), max_points), window, rows[-1]["seq"])


def episodes_since(
    run_path: str | Path,
    seq: int,
    stride: int,
    max_points: int = EPISODE_POINTS,
    window: int = SCORE_WINDOW,
    span: int = EPISODE_SPAN,
) -> EpisodePoints | None:
    """Episodes newer than cursor ``seq``; None means "redraw from the history"."""
    got = _rows_since(run_path, T.EPISODES, "episode", seq, stride, max_points, window, span)
    if got is None:
        return None
    rows, first_new, stride = got
    if first_new == len(rows):
        return EpisodePoints(seq=seq, stride=stride)
    return _episode_points(rows, first_new, stride, window, rows[-1]["seq"])


# =========================================================================== cursors
# A page keeps, per chart family, a cursor in a dcc.Store: which run it drew, the
# sequence number of the newest record drawn, the downsampling stride, and whether the
# chart holds real traces (an empty placeholder figure cannot be extended).
def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _can_extend(run_path: str | Path, cursor: Any) -> bool:
    return isinstance(cursor, dict) and cursor.get("run") == str(run_path) and bool(cursor.get("drawn"))


def _series_has_records(run_path: str | Path, series: str) -> bool:
    with open_store(run_path) as store:
        return store.last_seq(series) >= 0


def step_tick(run_path: str | Path, cursor: Any, max_points: int = Q_POINTS) -> StepPoints | None:
    """What one poll adds to the step charts the page has drawn (``cursor``).

    Returns the new points (possibly none), or None when the charts must instead be
    redrawn from :func:`step_history`: the page drew another run or nothing yet while
    records now exist, the series restarted, the number of actions changed, or the page
    fell more than :data:`MAX_TICK_RECORDS` records behind. A poll therefore reads a
    bounded number of records and stays fast however long the run is.
    """
    if not _can_extend(run_path, cursor):
        same_run = isinstance(cursor, dict) and cursor.get("run") == str(run_path)
        if same_run and not _series_has_records(run_path, T.STEPS):
            return StepPoints(seq=-1)  # drawn "no data yet", and still none: nothing to do
        return None
    points = steps_since(run_path, _as_int(cursor.get("seq"), -1), _as_int(cursor.get("stride"), 1), max_points)
    if points is not None and len(points) and points.n_actions != cursor.get("n_actions"):
        return None
    return points


def episode_tick(run_path: str | Path, cursor: Any, max_points: int = EPISODE_POINTS) -> EpisodePoints | None:
    """Like :func:`step_tick`, for the episode charts (None: redraw from
    :func:`episode_history`)."""
    if not _can_extend(run_path, cursor):
        same_run = isinstance(cursor, dict) and cursor.get("run") == str(run_path)
        if same_run and not _series_has_records(run_path, T.EPISODES):
            return EpisodePoints(seq=-1)
        return None
    return episodes_since(run_path, _as_int(cursor.get("seq"), -1), _as_int(cursor.get("stride"), 1), max_points)


def next_cursor(run_path: str | Path, points: StepPoints | EpisodePoints, drawn: bool, previous: Any = None) -> dict:
    """The cursor to keep after drawing ``points`` (``drawn``: the chart now has traces)."""
    prev = previous if isinstance(previous, dict) else {}
    n_actions = getattr(points, "n_actions", 0) or prev.get("n_actions", 0)
    return {"run": str(run_path), "seq": points.seq, "stride": points.stride, "n_actions": n_actions, "drawn": bool(drawn)}


# =========================================================================== network view
# (owner: the network view, dashapp/tabs/network.py) The probe's NEURONS key and the
# attribution publisher's ATTRIBUTION key, decoded into plain numpy data.
from dashapp.figures.network import NetworkData  # noqa: E402  (plain data container)


def _floats(values: Any) -> np.ndarray:
    """A JSON list of numbers as a float array, None/junk as NaN."""
    if not isinstance(values, (list, tuple)):
        return np.zeros(0)
    return np.array([_number(v) for v in values], dtype=np.float64)


def _array(data: Any, what: str, ndim: int | None = None) -> np.ndarray:
    if not isinstance(data, dict):
        raise ValueError(f"{what} is not an encoded array")
    arr = T.decode_array(data)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{what} has {arr.ndim} dimensions, expected {ndim}")
    return arr


def _network_versions(store: S.Store) -> dict:
    step = store.get(T.ATTRIBUTION_STEP)
    return {"activations": store.last_seq(T.ACTIVATIONS), "weights": store.last_seq(T.WEIGHTS),
            "attribution": step if isinstance(step, int) and not isinstance(step, bool) else None}


def network_versions(run_path: str | Path) -> dict:
    """Cheap change markers for the network view: the newest ACTIVATIONS and WEIGHTS
    sequence numbers (the probe appends one with every NEURONS it writes / weight sample)
    and the newest attribution's step. Nothing else is read, so an unchanged (e.g.
    paused) run costs three look-ups a poll."""
    return network_bundle(run_path, snapshot=False).versions


def _decode_neurons(data: Any, meta: Any, name: str, weights: bool | Collection[int] = True,
                    histories: bool | int = True) -> NetworkData:
    """The NEURONS record as a NetworkData. Decoding the weights and the histories is most
    of the work (a 3x512 network holds megabytes of them): leave out the weights with
    ``weights=False`` (biases go with them) or keep only those into the columns listed,
    and leave out the histories with ``histories=False`` or all but column ``histories``."""
    def weights_of(column: int) -> bool:
        return weights is True or (weights is not False and column in weights)

    try:
        if not isinstance(data, dict):
            raise TypeError("it is not a JSON object")
        rec = T.NeuronsRecord.from_dict(data)
        names, kinds, acts, values, weights_, histories_, biases = ["input"], ["input"], ["input"], \
            [_floats(rec.input)], [None], [None], [None]
        for layer in rec.layers or []:
            lname = str(layer.get("name", f"layer {len(names)}"))
            names.append(lname)
            kinds.append("hidden")
            acts.append(str(layer.get("activation") or "linear"))
            values.append(_floats(layer.get("current")))
            col = len(names) - 1
            weights_.append(_array(layer["weight"], f"{lname} weight", 2) if weights_of(col) and layer.get("weight")
                            else None)
            biases.append(_array(layer["bias"], f"{lname} bias", 1) if weights_of(col) and layer.get("bias")
                          else None)
            wanted = histories is True or (histories is not False and histories == len(names) - 1)
            history = _array(layer["history"], f"{lname} history", 2).astype(np.float32) \
                if wanted and layer.get("history") else None
            if history is not None and history.shape[1] != values[-1].size:
                raise ValueError(f"{lname} history has {history.shape[1]} neurons, the layer {values[-1].size}")
            histories_.append(history)
        out = rec.output if isinstance(rec.output, dict) else {}
        q = _floats(rec.q)
        names.append(str(out.get("name", "output")))
        kinds.append("output")
        acts.append("linear")
        values.append(q)
        col = len(names) - 1
        weights_.append(_array(out["weight"], "output weight", 2) if weights_of(col) and out.get("weight") else None)
        biases.append(_array(out["bias"], "output bias", 1) if weights_of(col) and out.get("bias") else None)
        histories_.append(None)
        meta_rec = T.RunMeta.from_dict(meta) if isinstance(meta, dict) else None
    except T.SchemaError as exc:
        raise BrokenRun(f"run {name}: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BrokenRun(f"run {name}: the probe's network record cannot be read ({exc})") from None
    finite_q = np.isfinite(q)
    return NetworkData(
        names=tuple(names), kinds=tuple(kinds), activations=tuple(acts), values=tuple(values),
        weights=tuple(weights_), histories=tuple(histories_), biases=tuple(biases),
        feature_names=tuple(str(f) for f in (meta_rec.feature_names if meta_rec else [])),
        action_names=tuple(str(a) for a in (meta_rec.action_names if meta_rec else [])),
        action=int(np.nanargmax(q)) if finite_q.any() else None,
        step=_int_or(rec.step, 0),
    )


def network_snapshot(run_path: str | Path) -> NetworkData | None:
    """The network as the graph draws it, from the probe's NEURONS key and the run's
    feature/action names; None until the probe has published once."""
    return network_bundle(run_path).net


@dataclass(frozen=True)
class AttributionView:
    """The ATTRIBUTION key decoded (see ``rl.attribution``): why the network acts as it
    does in one state. Arrays: ``saliency``/``integrated_gradients`` (actions, features),
    ``contributions[layer]`` (actions, size), ``response_values`` (features, points),
    ``response_q`` (features, points, actions), ``recent_obs`` (n, features),
    ``recent_actions`` (n,)."""

    step: int
    q: np.ndarray
    action: int
    taken: int
    input: np.ndarray
    method: str
    contributions: dict
    saliency: np.ndarray
    integrated_gradients: np.ndarray
    ig: dict
    response_values: np.ndarray
    response_q: np.ndarray
    recent_obs: np.ndarray
    recent_actions: np.ndarray
    feature_names: tuple = ()
    action_names: tuple = ()


def _decode_attribution(data: Any, meta: Any, name: str) -> AttributionView:
    try:
        if not isinstance(data, dict):
            raise TypeError("it is not a JSON object")
        rec = T.AttributionRecord.from_dict(data)
        meta_rec = T.RunMeta.from_dict(meta) if isinstance(meta, dict) else None
        contributions = {str(l["name"]): _array(l["contribution"], f"{l['name']} contribution", 2)
                         for l in rec.layers or []}
        return AttributionView(
            step=_int_or(rec.step, 0), q=_floats(rec.q), action=_int_or(rec.action, 0), taken=_int_or(rec.taken, 0),
            input=_floats(rec.input), method=str(rec.contribution_method), contributions=contributions,
            saliency=_array(rec.saliency, "saliency", 2),
            integrated_gradients=_array(rec.integrated_gradients, "integrated gradients", 2),
            ig=dict(rec.ig) if isinstance(rec.ig, dict) else {},
            response_values=_array(rec.response["values"], "response values", 2),
            response_q=_array(rec.response["q"], "response Q-values", 3),
            recent_obs=_array(rec.recent["obs"], "recent observations", 2),
            recent_actions=_array(rec.recent["actions"], "recent actions", 1).astype(np.int64),
            feature_names=tuple(str(f) for f in (meta_rec.feature_names if meta_rec else [])),
            action_names=tuple(str(a) for a in (meta_rec.action_names if meta_rec else [])),
        )
    except T.SchemaError as exc:
        raise BrokenRun(f"run {name}: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BrokenRun(f"run {name}: the attribution record cannot be read ({exc})") from None


def attribution(run_path: str | Path) -> AttributionView | None:
    """The newest attribution of the current state; None before the first one."""
    return network_bundle(run_path, snapshot=False, attribution=True).attribution


@dataclass(frozen=True)
class NetworkBundle:
    """What one network-view callback needs, read in one store session (opening and
    closing a store costs more than reading a few keys). ``q_history`` holds one action's
    Q-values over the newest step records when asked for."""

    versions: dict
    net: NetworkData | None = None
    attribution: AttributionView | None = None
    q_history: list | None = None


def network_bundle(run_path: str | Path, *, snapshot: bool = True, attribution: bool = False,
                   q_action: int | None = None, q_points: int = 500, weights: bool | Collection[int] = True,
                   histories: bool | int = True) -> NetworkBundle:
    """The change markers and, as asked, the network snapshot, the attribution and one
    action's recent Q-values -- in one store session. ``weights`` and ``histories`` say
    how much of the snapshot to decode (see :func:`_decode_neurons`): a live colour
    update needs neither."""
    name = Path(run_path).name
    with open_store(run_path) as store:
        versions = _network_versions(store)
        neurons = store.get(T.NEURONS) if snapshot else None
        attr = store.get(T.ATTRIBUTION) if attribution else None
        meta = store.get(T.META) if neurons is not None or attr is not None else None
        rows = store.read(T.STEPS, limit=q_points) if q_action is not None else None
    q_history = None
    if rows is not None:
        _check_rows(run_path, rows, "step")
        q_history = _tolist(_q_matrix(rows, q_action + 1)[:, q_action]) if rows else []
    return NetworkBundle(
        versions=versions,
        net=None if neurons is None else _decode_neurons(neurons, meta, name, weights, histories),
        attribution=None if attr is None else _decode_attribution(attr, meta, name),
        q_history=q_history,
    )


# =========================================================================== probe: activations, gradients, weights, alerts
# (owner: the probe's tabs -- dashapp/tabs/activations.py, gradients.py, weights.py -- and
# the alerts panel, dashapp/alerts.py)
#: Probe records a chart draws on first load (the newest ones). At one record per
#: publish (about a second) that is the last five minutes or so of training.
PROBE_RECORDS = 300
_PROBE_SERIES = {T.ACTIVATIONS: "activation", T.GRADIENTS: "gradient", T.WEIGHTS: "weight"}


def _probe_series(series: str) -> str:
    if series not in _PROBE_SERIES:
        raise ValueError(f"{series!r} is not a probe series")
    return _PROBE_SERIES[series]


def probe_records(run_path: str | Path, series: str, after: int = -1, limit: int | None = PROBE_RECORDS) -> list[dict]:
    """The probe's ``series`` records newer than ``after``, oldest first (at most the
    newest ``limit``). Records from a newer neurodash make the run :class:`BrokenRun`."""
    what = _probe_series(series)
    with open_store(run_path) as store:
        rows = store.read(series, after=after, limit=limit)
    _check_rows(run_path, rows, what)
    return [r for r in rows if isinstance(r.get("layers"), list)]


def probe_update(run_path: str | Path, series: str, cursor: Any, limit: int = PROBE_RECORDS, *,
                 tail: int = 0, **same: Any) -> tuple[list[dict], bool] | tuple[list[dict], bool, list[dict]]:
    """(records, full): the ``series`` records newer than the page's ``cursor``, or --
    when the page has nothing to extend, switched runs, changed any of the settings in
    ``same`` (e.g. the chosen layer), or fell more than ``limit`` records behind -- the
    newest ``limit`` records with ``full`` True, meaning "redraw". With ``tail``, also the
    newest ``tail`` records (read in the same store session): ``(records, full, tail)``."""
    what = _probe_series(series)
    extend = _can_extend(run_path, cursor) and all(cursor.get(k) == v for k, v in same.items())
    seq = _as_int(cursor.get("seq"), -1) if extend else -1
    with open_store(run_path) as store:  # one store session: opening one costs more than the reads
        last = store.last_seq(series)
        full = not (extend and seq <= last <= seq + limit)
        if full:
            rows = store.read(series, limit=limit)
        else:
            rows = store.read(series, after=seq) if last > seq else []
        tail_rows = (rows[-tail:] if full or len(rows) >= tail else store.read(series, limit=tail)) if tail else []
    _check_rows(run_path, rows, what)
    _check_rows(run_path, tail_rows, what)
    rows = [r for r in rows if isinstance(r.get("layers"), list)]
    if not tail:
        return rows, full
    return rows, full, [r for r in tail_rows if isinstance(r.get("layers"), list)]


def probe_cursor(run_path: str | Path, records: Sequence[dict], drawn: bool, previous: Any = None,
                 **extra: Any) -> dict:
    """The cursor to keep after drawing ``records`` (plus any tab-specific ``extra``)."""
    prev = previous if isinstance(previous, dict) else {}
    seq = records[-1]["seq"] if records else _as_int(prev.get("seq"), -1)
    return {**prev, **extra, "run": str(run_path), "seq": seq, "drawn": bool(drawn)}


def latest_probe_record(run_path: str | Path, series: str) -> dict | None:
    """The newest record of a probe series, or None."""
    rows = probe_records(run_path, series, limit=1)
    return rows[-1] if rows else None


def neuron_activity(run_path: str | Path) -> dict | None:
    """The probe's NEURONS key with each hidden layer's recent activations decoded:
    ``{"step", "samples", "layers": [{"name", "activation", "size", "history"}]}``
    (``history``: float array (samples, neurons), oldest first). None before the probe
    has published."""
    with open_store(run_path) as store:
        data = store.get(T.NEURONS)
    if data is None:
        return None
    name = Path(run_path).name
    if not isinstance(data, dict):
        raise BrokenRun(f"run {name}: its neuron activations are not a JSON object")
    try:
        T.check_version(data, where="the neuron record")
        layers = []
        for layer in data.get("layers") or []:
            history = T.decode_array(layer["history"]).astype(np.float32)
            if history.ndim != 2:
                raise ValueError(f"{layer.get('name')} history has {history.ndim} dimensions, expected 2")
            layers.append({"name": str(layer.get("name", f"layer {len(layers) + 1}")),
                           "activation": str(layer.get("activation", "")),
                           "size": int(history.shape[1]), "history": history})
    except T.SchemaError as exc:
        raise BrokenRun(f"run {name}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise BrokenRun(f"run {name}: its neuron activations cannot be read ({exc})") from None
    return {"step": _as_int(data.get("step"), 0), "samples": _as_int(data.get("samples"), 0), "layers": layers}


def live_alerts(run_path: str | Path) -> dict | None:
    """The ALERTS key (network-health alerts with their history), or None."""
    with open_store(run_path) as store:
        data = store.get(T.ALERTS)
    if data is None:
        return None
    if not isinstance(data, dict):
        raise BrokenRun(f"run {Path(run_path).name}: its alerts are not a JSON object")
    try:
        T.check_version(data, where="the alerts record")
    except T.SchemaError as exc:
        raise BrokenRun(f"run {Path(run_path).name}: {exc}") from None
    return data
