"""The runs a dashboard serves, their workers' status, their commands and their game frame.

* :func:`list_runs` reads each run folder's ``run.json`` only (cheap on every poll) and
  reports a run it cannot read as *broken*, with a one-line reason, instead of failing;
* :func:`worker_status` turns the heartbeat into a status a person can read, including
  "not responding" when the heartbeat stops arriving (``telemetry.worker_alive``: the
  same rule the worker uses to refuse a run that is being trained);
* :func:`send_command` queues pause / resume / step / stop / speed for the worker.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashapp.read.sessions import BrokenRun, Session, session
from rl import store as S
from rl import telemetry as T

#: Status shown when the heartbeat is too old (the worker hung, was killed, or crashed
#: before it could write "failed").
NOT_RESPONDING = "not responding"
#: Status shown for a run whose store has no heartbeat at all (yet).
NO_HEARTBEAT = "no heartbeat"
#: Status shown for a run the dashboard cannot read.
BROKEN = "broken"


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
        detail = " on ".join(p for p in (self.agent.upper() if self.agent else "", self.env_id) if p)
        return " · ".join(p for p in (self.name, detail, when) if p)


def list_runs(runs_dir: str | Path) -> list[RunInfo]:
    """The run folders in ``runs_dir`` (or ``runs_dir`` itself if it is one), newest first."""
    return [_describe_run(p) for p in S.find_runs(runs_dir)]


def _describe_run(path: Path) -> RunInfo:
    name = path.name or str(path)
    try:
        data = json.loads((path / S.RUN_MARKER).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            return RunInfo(str(path), name, broken=f"{S.RUN_MARKER} does not hold a JSON object")
        meta = T.RunMeta.from_dict(data)
    except T.SchemaError as exc:
        return RunInfo(str(path), name, broken=str(exc))
    except (OSError, UnicodeDecodeError) as exc:
        return RunInfo(str(path), name, broken=f"cannot read {S.RUN_MARKER}: {getattr(exc, 'strerror', None) or exc}")
    except json.JSONDecodeError as exc:
        return RunInfo(str(path), name, broken=f"{S.RUN_MARKER} is not valid JSON ({exc.msg}, line {exc.lineno})")
    except (TypeError, ValueError, KeyError) as exc:
        return RunInfo(str(path), name, broken=f"{S.RUN_MARKER} is missing run details ({exc})")
    created = meta.created if isinstance(meta.created, (int, float)) else 0.0
    return RunInfo(str(path), meta.run_id or name, str(meta.env_id), str(meta.agent), float(created))


# --------------------------------------------------------------------------- worker status
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
    """A stored heartbeat (a dict, or None) as a :class:`WorkerStatus`: a worker that says
    it is running or paused but is no longer alive (``telemetry.worker_alive``) is "not
    responding"; finished, stopped and failed runs keep their state however old."""
    if heartbeat is None:
        return WorkerStatus(state=NO_HEARTBEAT)
    if not isinstance(heartbeat, dict):
        raise BrokenRun("the heartbeat is not a JSON object")
    hb = T.Heartbeat.from_dict(heartbeat)
    state = str(hb.state)
    if state in (T.RUNNING, T.PAUSED) and not T.worker_alive(hb, now):
        state = NOT_RESPONDING
    return WorkerStatus(
        state=state,
        step=int(hb.step),
        total_steps=int(hb.total_steps) if hb.total_steps else None,
        sps=float(hb.sps or 0.0),
        speed=hb.speed,
        message=str(hb.message or ""),
        age=max(0.0, now - float(hb.time)),
        pid=hb.pid,
    )


def worker_status(s: Session, now: float | None = None) -> WorkerStatus:
    """The worker's status (from its heartbeat)."""
    heartbeat = s.get(T.HEARTBEAT)
    try:
        return classify_heartbeat(heartbeat, time.time() if now is None else now)
    except (T.SchemaError, BrokenRun, TypeError, ValueError) as exc:
        raise BrokenRun(f"run {s.name}: {exc}") from None


def send_command(run_path: str | Path, action: str, value: Any = None) -> int:
    """Queue a command (pause, resume, step, stop, speed) for the run's worker."""
    if action not in T.COMMANDS_ACCEPTED:
        raise ValueError(f"unknown command {action!r}; expected one of {sorted(T.COMMANDS_ACCEPTED)}")
    if action == T.CMD_SPEED and value not in T.SPEEDS:
        raise ValueError(f"speed must be one of {sorted(T.SPEEDS)}, got {value!r}")
    with session(run_path) as s:
        return s.store.send_command(action, value)


# --------------------------------------------------------------------------- frame
@dataclass(frozen=True)
class FrameImage:
    step: int
    png_base64: str
    width: int
    height: int

    @property
    def src(self) -> str:
        return f"data:image/png;base64,{self.png_base64}"


@dataclass(frozen=True)
class GameView:
    """The game as the page can show it: the newest frame, or why there is none yet
    (``unavailable``: the environment's renderer failed)."""

    frame: FrameImage | None = None
    unavailable: str | None = None


def game(s: Session) -> GameView:
    """The newest rendered game frame, or the reason the worker cannot draw one."""
    data = s.get(T.FRAME)
    if data is None:
        reason = s.get(T.FRAME_UNAVAILABLE)
        reason = reason.get("reason") if isinstance(reason, dict) else None
        return GameView(unavailable=str(reason) if reason else None)
    with s.decoding("the game frame"):
        frame = T.Frame.from_dict(data)
        if not isinstance(frame.png_base64, str):
            raise TypeError("png_base64 is not text")
        return GameView(FrameImage(int(frame.step), frame.png_base64, int(frame.width), int(frame.height)))
