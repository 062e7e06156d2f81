"""An analysis of several checkpoints as a job: a folder on disk, worked through in the background.

``start_job`` writes ``<state>/jobs/<id>/job.json`` (the files, in the order given, and the
settings) and returns at once; a thread of this server process then takes the files one
by one: a file whose result is cached (:mod:`dashapp.checkpoints.analysis`) counts as done
straight away, the others go to a small pool of worker processes (:func:`runner`), which
import torch and weightwatcher once and run ``health.analyze_checkpoint``. After every
file, and every :data:`HEARTBEAT_S` while one is under way, the thread rewrites
``progress.json`` (k of n); at the end it writes ``result.json``: each file's cache key or
its one-line error.

Everything a page shows comes from those files, so any server process can show a job's
progress and result; only the work itself runs in the process that started it. A job
whose progress has not been rewritten for :data:`STALE_S` (its process ended) reads as
"stopped": starting it again is quick, since what was finished is cached.

The state folder is ``$NEURODASH_CACHE_DIR/compare`` (default ``~/.cache/neurodash``).
``$NEURODASH_COMPARE_WORKERS`` sets the number of worker processes (default: one fewer
than the CPUs, at least one, at most four; 0 runs the analyses in threads of this process).
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import json
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dashapp.checkpoints.analysis import AnalysisSettings, FileOutcome, analyse_file, load_result, lookup

__all__ = [
    "HEARTBEAT_S",
    "STALE_S",
    "JobResult",
    "Progress",
    "Runner",
    "job_dir",
    "read_progress",
    "read_result",
    "runner",
    "start_job",
    "state_dir",
]

#: How often a running job rewrites its progress, and when a silent one counts as stopped.
HEARTBEAT_S, STALE_S = 2.0, 30.0
#: Job folders older than this are removed when a new job starts.
JOB_TTL_S = 24 * 3600.0
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
RUNNING, DONE, STOPPED, FAILED = "running", "done", "stopped", "failed"


def state_dir() -> Path:
    """Where jobs and the result cache live (shared by every server process of a user)."""
    base = os.environ.get("NEURODASH_CACHE_DIR") or Path.home() / ".cache" / "neurodash"
    return Path(base) / "compare"


def job_dir(root: Path, job_id: Any) -> Path | None:
    """The folder of job ``job_id`` (an id from the page: checked), or None."""
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        return None
    return root / "jobs" / job_id


def _write_json(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --------------------------------------------------------------------------- progress / result
@dataclass(frozen=True)
class Progress:
    """How far a job is: ``done`` of ``total`` files (cached ones count as done at once)."""

    state: str  # running | done | stopped | failed
    done: int
    total: int
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.state != RUNNING


@dataclass(frozen=True)
class JobResult:
    """A finished job: the folder, the settings, and each file's outcome in the order given."""

    folder: str
    settings: AnalysisSettings
    outcomes: tuple[FileOutcome, ...]

    @property
    def errors(self) -> list[str]:
        return [o.error for o in self.outcomes if o.error]

    @property
    def analysed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.key]


def read_progress(root: Path, job_id: Any, now: float | None = None) -> Progress | None:
    """The job's progress as its files say (None: no such job)."""
    folder = job_dir(root, job_id)
    data = _read_json(folder / "progress.json") if folder else None
    if data is None:
        return None
    state = str(data.get("state", RUNNING))
    message = str(data.get("message", ""))
    if state == RUNNING and (now or time.time()) - float(data.get("updated", 0)) > STALE_S:
        state, message = STOPPED, "the analysis stopped (the server process running it ended); start it again"
    return Progress(state, int(data.get("done", 0)), int(data.get("total", 0)), message)


def read_result(root: Path, job_id: Any) -> JobResult | None:
    """The finished job's result (None: unknown job, or not finished)."""
    folder = job_dir(root, job_id)
    data = _read_json(folder / "result.json") if folder else None
    if data is None:
        return None
    outcomes = tuple(FileOutcome(**o) for o in data.get("outcomes", []))
    return JobResult(str(data.get("folder", "")), AnalysisSettings.from_dict(data.get("settings", {})), outcomes)


def load_results(root: Path, result: JobResult) -> tuple[list, list[str]]:
    """(the analysed files' ``CheckpointHealth`` results from the cache, in order; the
    one-line errors, with a line for a cached result that has gone since)."""
    results, errors = [], list(result.errors)
    for o in result.analysed:
        assert o.key is not None  # analysed outcomes have a key
        loaded = load_result(root / "cache", o.key, o.path)
        if loaded is None:
            errors.append(f"{o.path}: its cached result is gone (the cache was cleared); analyse again")
        else:
            results.append(loaded)
    return results, errors


# --------------------------------------------------------------------------- the work
def _init_worker() -> None:  # pragma: no cover - runs in the worker processes
    """In a worker process: stop with the server (Linux), leave Ctrl-C to the server, one
    torch thread, and import torch and weightwatcher now rather than on the first file."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(1)
    import health.diagnosis  # noqa: F401
    from health.metrics import import_weightwatcher

    import_weightwatcher()


def _ready() -> int:  # pragma: no cover - runs in the worker processes
    return os.getpid()


def default_workers() -> int:
    raw = os.environ.get("NEURODASH_COMPARE_WORKERS")
    if raw is not None and raw.strip().isdigit():
        return int(raw)
    return max(1, min(4, (os.cpu_count() or 2) - 1))


class Runner:
    """Where analyses run: ``workers`` processes (started on first use, kept for the
    server's lifetime), or threads of this process when ``workers`` is 0."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._lock = threading.Lock()
        self._executor: cf.Executor | None = None
        self._warmed = False

    def executor(self) -> cf.Executor:
        with self._lock:
            if self._executor is None:
                if self.workers == 0:
                    self._executor = cf.ThreadPoolExecutor(2, thread_name_prefix="compare")
                else:
                    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
                    self._executor = cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker)
                    # let go of the pool before the interpreter tears its modules down (else
                    # concurrent.futures complains on the way out)
                    atexit.register(self.shutdown)
            return self._executor

    def warm(self) -> list[cf.Future]:
        """Start the worker processes now (they import torch and weightwatcher), so the
        first analysis does not wait for them; the futures finish when they are ready
        (none when they were started before)."""
        with self._lock:
            if self._warmed or not self.workers:
                return []
            self._warmed = True
        pool = self.executor()
        return [pool.submit(_ready) for _ in range(self.workers)]

    def reset(self) -> None:
        """Drop a broken pool (a worker was killed); the next use starts a new one."""
        with self._lock:
            executor, self._executor, self._warmed = self._executor, None, False
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_RUNNER: Runner | None = None
_RUNNER_LOCK = threading.Lock()


def runner() -> Runner:
    """This process's runner (process infrastructure, like a connection pool: it holds no
    job state -- that is on disk)."""
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is None:
            _RUNNER = Runner(default_workers())
        return _RUNNER


def _prune(root: Path, now: float) -> None:
    for folder in (root / "jobs").glob("*"):
        try:
            if now - folder.stat().st_mtime > JOB_TTL_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def start_job(
    files: Sequence[str | os.PathLike],
    settings: AnalysisSettings,
    *,
    folder: str,
    root: Path | None = None,
    run: Runner | None = None,
) -> str:
    """Write a job for ``files`` (in training order) and start it in the background;
    returns its id. ``root``: the state folder (default :func:`state_dir`)."""
    root = state_dir() if root is None else root
    job_id = uuid.uuid4().hex
    folder_path = root / "jobs" / job_id
    folder_path.mkdir(parents=True)
    paths = [str(f) for f in files]
    _write_json(folder_path / "job.json", {"folder": folder, "files": paths, "settings": settings.to_dict()})
    _write_json(
        folder_path / "progress.json", {"state": RUNNING, "done": 0, "total": len(paths), "updated": time.time()}
    )
    _prune(root, time.time())
    thread = threading.Thread(
        target=_drive,
        args=(folder_path, folder, paths, settings, root / "cache", run or runner()),
        name=f"compare-{job_id[:8]}",
        daemon=True,
    )
    thread.start()
    return job_id


def _drive(folder: Path, source: str, paths: list[str], settings: AnalysisSettings, cache: Path, run: Runner) -> None:
    outcomes: dict[int, FileOutcome] = {}
    pending: dict[cf.Future, int] = {}

    def progress(state: str = RUNNING, message: str = "") -> None:
        _write_json(
            folder / "progress.json",
            {
                "state": state,
                "done": len(outcomes),
                "total": len(paths),
                "message": message,
                "updated": time.time(),
            },
        )

    try:
        for i, path in enumerate(paths):
            key, problem = lookup(path, settings)
            if key is None:
                outcomes[i] = FileOutcome(path, error=problem)
            elif load_result(cache, key) is not None:
                outcomes[i] = FileOutcome(path, key=key, cached=True)
            else:
                pending[_submit(run, analyse_file, path, settings, str(cache))] = i
            progress()
        while pending:
            finished, _ = cf.wait(pending, timeout=HEARTBEAT_S, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                i = pending.pop(future)
                try:
                    outcomes[i] = future.result()
                except Exception as exc:  # the worker process died (killed, out of memory)
                    outcomes[i] = FileOutcome(paths[i], error=f"{paths[i]}: the analysis process ended ({exc})")
                    run.reset()
            progress()
        ordered = [asdict(outcomes[i]) for i in range(len(paths))]
        _write_json(folder / "result.json", {"folder": source, "settings": settings.to_dict(), "outcomes": ordered})
        progress(DONE)
    except Exception as exc:  # a bug here must still end the job visibly
        progress(FAILED, f"the analysis failed: {type(exc).__name__}: {exc}")
        raise


def _submit(run: Runner, fn: Callable, *args: Any) -> cf.Future:
    try:
        return run.executor().submit(fn, *args)
    except RuntimeError:  # a broken or shut-down pool: start a new one
        run.reset()
        return run.executor().submit(fn, *args)
