"""Reading a run folder the way the dashboard does, for tests: one store session per call.

``read_once(path, read.steps.step_history, max_points=100)`` opens ``path`` with
``dashapp.read.session``, calls the read function with the session and closes it again,
so a test reads what a callback tick would. Importable from any test package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashapp import read


def read_once(path: str | Path, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """``fn(session, *args, **kw)`` in one store session of the run at ``path``."""
    with read.session(path) as s:
        return fn(s, *args, **kw)


def worker_status(path: str | Path) -> read.WorkerStatus:
    """The worker's status as the status badge reads it."""
    return read_once(path, read.runs.worker_status)
