"""The analysis process: ``health`` runs in a process of its own, off the training thread.

:class:`AnalysisProcess` starts ``python -m rl.healthwatch`` (:func:`serve`) -- a fresh
interpreter that imports nothing of the caller's script (``multiprocessing``'s spawn would
run an unguarded training script again in the child) -- at a lower CPU priority (by
default SCHED_IDLE: only CPU time nothing else wants, see :data:`PRIORITIES`), on one
torch and one BLAS thread, so on a machine with few cores training keeps its core. Its
start (importing torch and WeightWatcher, about 7 s of CPU) is by far its largest cost.

Jobs (:class:`~rl.healthwatch.analysis.HealthJob`) are pickled to its stdin by a sender
thread, so :meth:`AnalysisProcess.submit` returns at once; a reader thread takes its
answers from its stdout -- ``(DONE, step, record dict)`` or ``(FAILED, step, reason)`` --
for :meth:`AnalysisProcess.get`. What the analysis prints goes to stderr. When stdin
closes (the worker closed it, or exited), the process ends after the job in hand.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

__all__ = ["DONE", "FAILED", "PRIORITIES", "AnalysisProcess", "lower_priority", "serve"]

DONE, FAILED = "done", "failed"
#: The analysis process's CPU priorities (``WorkerConfig.health_priority``): "idle" runs it
#: only on CPU time nothing else wants (Linux's SCHED_IDLE; elsewhere the lowest nice
#: level), "low" at nice 10 (it still takes a share of a busy machine, so its results come
#: sooner there, at training's expense), "normal" as the worker.
PRIORITIES = ("idle", "low", "normal")
LOW_NICE, LOWEST_NICE = 10, 19
#: One thread for the numerical libraries (WeightWatcher's SVDs run in numpy's BLAS).
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: The folder that holds the ``rl`` package (also when running from a checkout, uninstalled).
_ROOT = str(Path(__file__).resolve().parents[2])


def lower_priority(priority: str = "idle") -> str:
    """Lower this process's CPU priority to ``priority`` (one of :data:`PRIORITIES`);
    returns what it got ("idle", "nice 10", "nice 19" or "normal")."""
    if priority not in PRIORITIES:
        raise ValueError(f"health priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
    if priority == "normal":
        return "normal"
    if priority == "idle" and hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return "idle"
        except OSError:
            pass
    nice = LOW_NICE if priority == "low" else LOWEST_NICE
    try:
        os.nice(nice)
    except OSError:  # not allowed here: run at the worker's priority
        return "normal"
    return f"nice {nice}"


def serve(jobs: IO[bytes], results: IO[bytes], priority: str = "idle") -> None:
    """The analysis process's loop: analyse each pickled job read from ``jobs`` until
    it closes; pickle each answer to ``results``. A failing job is answered with its
    reason, and the process serves on."""
    lower_priority(priority)
    import torch

    torch.set_num_threads(1)
    from health.metrics import import_weightwatcher
    from rl.healthwatch.analysis import analyse

    import_weightwatcher()  # the slow import now, before the first job is due
    while True:
        try:
            job = pickle.load(jobs)
        except EOFError:
            return
        try:
            answer: tuple = (DONE, job.step, analyse(job).to_dict())
        except Exception as exc:  # a job's failure is reported, the process serves on
            answer = (FAILED, job.step, f"{type(exc).__name__}: {exc}")
        pickle.dump(answer, results, protocol=pickle.HIGHEST_PROTOCOL)
        results.flush()


class AnalysisProcess:
    """The analysis process, seen from the worker: :meth:`start`, :meth:`submit` a job,
    :meth:`get` an answer (waiting at most ``timeout`` seconds), :meth:`close`."""

    def __init__(self, priority: str = "idle") -> None:
        if priority not in PRIORITIES:
            raise ValueError(f"health priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
        self.priority = priority
        self._proc: subprocess.Popen | None = None
        self._jobs: queue.Queue = queue.Queue()
        self._answers: queue.Queue = queue.Queue()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, **ONE_THREAD, "PYTHONPATH": _ROOT + (os.pathsep + path if path else "")}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "rl.healthwatch", self.priority],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._threads = [
            threading.Thread(target=self._send, name="neurodash-health-send", daemon=True),
            threading.Thread(target=self._receive, name="neurodash-health-receive", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _send(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        while (job := self._jobs.get()) is not None:
            try:
                pickle.dump(job, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                proc.stdin.flush()
            except (OSError, ValueError):  # the process is gone; get() and alive say so
                break
        with contextlib.suppress(OSError):
            proc.stdin.close()

    def _receive(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        while True:
            try:
                self._answers.put(pickle.load(proc.stdout))
            except (EOFError, OSError, ValueError, pickle.UnpicklingError):
                return

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exitcode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def submit(self, job: Any) -> None:
        """Hand ``job`` over (returns at once)."""
        self._jobs.put(job)

    def get(self, timeout: float) -> tuple | None:
        """The next answer, or None when none came within ``timeout`` seconds."""
        try:
            return self._answers.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self, timeout: float = 2.0) -> None:
        """Close the process's input (it ends after the job in hand), and kill it if it
        has not ended within ``timeout``."""
        if self._proc is None:
            return
        self._jobs.put(None)
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout)
        for thread in self._threads:
            thread.join(timeout)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc = None
