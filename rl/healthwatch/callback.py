"""The health watch in the worker: :class:`HealthWatch` has ``health`` analyse every
network of the agent at each checkpoint and every ``every`` steps, in a process of its own.

On the training thread, a due step costs a copy of the weights (each state dict as numpy
arrays) and of the replay buffer's newest observations, handed to the analysis process
(:class:`~rl.healthwatch.process.AnalysisProcess`) without waiting. A thread of the
watch's own takes the answers and publishes them (the HEALTH series, the HEALTH_STATUS
key), also while training is paused; the training thread takes the watch's lock only at
due steps. When an analysis is still running at the next due step, that step is skipped
(nothing queues) and the published record lists it. A failure is reported once on stderr
and never stops training. When training ends, the final step is analysed too (its
checkpoint), and the worker waits at most ``final_wait_s`` for the last answer.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from health import thresholds as TH
from rl import telemetry as T
from rl.callbacks import Callback, RunContext, StepInfo
from rl.healthwatch.analysis import HealthJob
from rl.healthwatch.process import DONE, AnalysisProcess

__all__ = ["FINAL_WAIT_S", "HealthWatch", "health_callbacks", "next_due", "recent_inputs"]

#: How long the worker waits, after its last step, for the last analysis to come back.
FINAL_WAIT_S = 10.0
#: How often the watch's thread looks whether the analysis process is still alive.
CHECK_S = 1.0


def health_callbacks(settings: Any, checkpoints: Any = None) -> list[Callback]:
    """The health watch's entry in ``rl.worker.default_callbacks``: a :class:`HealthWatch`
    analysing every ``settings.health_every`` steps and at each checkpoint of
    ``checkpoints`` (an ``rl.checkpoints.CheckpointSaver``), or nothing when switched off."""
    if not getattr(settings, "health", False):
        return []
    every, priority = int(getattr(settings, "health_every", 0)), getattr(settings, "health_priority", "idle")
    return [HealthWatch(every, checkpoints, priority=priority)]


def next_due(after: int, every: int, checkpoint_every: int, total: int | None) -> int | None:
    """The first step after ``after`` at which an analysis is due (a multiple of ``every``
    or of ``checkpoint_every``; 0 means never), or None when there is none up to ``total``."""
    candidates = [(after // e + 1) * e for e in (every, checkpoint_every) if e > 0]
    step = min(candidates) if candidates else None
    return step if step is not None and (total is None or step <= total) else None


def recent_inputs(agent: Any, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The agent's ``n`` newest observations (``obs_samples``) and, when its replay buffer
    holds vector actions, the actions taken in them (a continuous critic reads both)."""
    obs = np.asarray(agent.obs_samples(n), dtype=np.float32)
    buffer = getattr(agent, "replay_buffer", None)
    recent_actions = getattr(buffer, "recent_actions", None)
    actions = np.asarray(recent_actions(n), dtype=np.float32) if callable(recent_actions) else None
    if actions is not None and (actions.ndim != 2 or len(actions) != len(obs)):
        actions = None
    return (obs if obs.ndim == 2 and len(obs) else None), actions


class HealthWatch(Callback):
    """Analyses the agent's networks every ``every`` steps (0: only at checkpoints) and at
    every checkpoint ``checkpoints`` saves, off the training thread (see the module).

    The process starts with training when an analysis will be due before the run ends (its
    imports take a few seconds, on another core); a run too short for one costs nothing.
    ``samples``: observations for the activation method's dead neurons; ``priority``: the
    analysis process's CPU priority (``rl.healthwatch.process.PRIORITIES``); ``process``
    makes the analysis process from it. ``published``: the steps whose analyses
    were published, oldest first.
    """

    def __init__(
        self,
        every: int,
        checkpoints: Any = None,
        *,
        samples: int = TH.DEAD_NEURON_SAMPLES_DEFAULT,
        priority: str = "idle",
        final_wait_s: float = FINAL_WAIT_S,
        process: Callable[[str], Any] = AnalysisProcess,
    ) -> None:
        if every < 0:
            raise ValueError(f"health_every must be >= 0, got {every}")
        self.every, self.checkpoints = int(every), checkpoints
        self.samples, self.priority, self.final_wait_s = int(samples), priority, float(final_wait_s)
        self.published: list[int] = []
        self._new_process = process
        self._process: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()  # the state below, shared with the watch's thread
        self._store: Any = None
        self._total: int | None = None
        self._checkpoint_every = 0
        self._activations: dict[str, dict[str, str]] = {}
        self._targets: dict[str, str] = {}
        self._pending: int | None = None
        self._last: tuple[int | None, str | None, float | None] = (None, None, None)  # the newest published
        self._skipped: list[int] = []
        self._skipped_total = self._analyses = 0
        self._last_step = self._submitted = -1
        self._error: str | None = None
        self._failed = self._ended = self._reported = False

    # ---- callback hooks
    def on_training_start(self, ctx: RunContext) -> None:
        self._store = ctx.store
        steps = getattr(ctx.config, "steps", None)
        self._total = int(steps) if steps else None
        self._checkpoint_every = int(getattr(self.checkpoints, "every", 0) or 0)
        infos = ctx.meta.networks
        self._activations = {n.name: {layer.name: layer.activation for layer in n.layers} for n in infos}
        self._targets = {n.name: n.target_of for n in infos if n.target_of}
        self._last_step = ctx.step
        if next_due(ctx.step, self.every, self._checkpoint_every, self._total) is not None:
            try:
                self._process = self._new_process(self.priority)
                self._process.start()
                self._thread = threading.Thread(target=self._collect, name="neurodash-health-results", daemon=True)
                self._thread.start()
            except Exception as exc:
                self._fail(f"could not start its process ({type(exc).__name__}: {exc})")
        with self._lock:
            self._publish_status()

    def on_step(self, ctx: RunContext, step: StepInfo) -> bool:
        n = step.step
        if (self.every and n % self.every == 0) or (self._checkpoint_every and n % self._checkpoint_every == 0):
            self._due(ctx, n)
        return True

    def on_training_end(self, ctx: RunContext) -> None:
        if self._process is not None:
            deadline = time.monotonic() + self.final_wait_s
            if not self._failed and ctx.step > 0 and ctx.step != self._submitted:
                with self._lock:  # the last step is analysed after the running analysis, not skipped
                    if ctx.step in self._skipped:
                        self._skipped.remove(ctx.step)
                        self._skipped_total -= 1
                self._idle.wait(self.final_wait_s)
                self._due(ctx, ctx.step)
            self._idle.wait(max(0.0, deadline - time.monotonic()))
            with self._lock:
                unfinished = self._pending
            if unfinished is not None:
                self._report(
                    f"of step {unfinished} did not finish within {self.final_wait_s:g} s of the end of training "
                    "and is not published"
                )
            self._stop.set()
            if self._thread is not None:
                self._thread.join(2 * CHECK_S + 1.0)
            self._process.close()
            self._process = None
        with self._lock:
            self._ended, self._pending = True, None
            self._publish_status()

    # ---- the training thread's side
    def _due(self, ctx: RunContext, n: int) -> None:
        if self._process is None or self._failed:
            return
        with self._lock:
            self._last_step = n
            if self._pending is not None:  # still analysing: skip this one, never queue
                self._skipped.append(n)
                self._skipped_total += 1
                self._publish_status()
                return
            self._pending, self._submitted = n, n
            self._idle.clear()
        try:
            self._process.submit(self.snapshot(ctx, n))
        except Exception as exc:
            self._fail(f"could not hand over the weights of step {n} ({type(exc).__name__}: {exc})")
            return
        with self._lock:
            self._publish_status()

    def snapshot(self, ctx: RunContext, n: int) -> HealthJob:
        """The weights of step ``n`` and the recent experience, copied for the analysis."""
        saved = self.checkpoints.saved_at(n) if self.checkpoints is not None else None
        weights = {
            name: {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items() if v.is_floating_point()}
            for name, net in ctx.networks.items()
        }
        obs, actions = recent_inputs(ctx.agent, self.samples)
        return HealthJob(
            step=n,
            time=time.time(),
            weights=weights,
            activations=self._activations,
            targets=self._targets,
            observations=obs,
            actions=actions,
            checkpoint=saved.name if saved is not None else None,
        )

    # ---- the watch's thread
    def _collect(self) -> None:
        """Publish each answer of the analysis process until told to stop."""
        process = self._process
        assert process is not None
        while True:
            answer = process.get(timeout=CHECK_S)
            if answer is None:
                if self._stop.is_set():
                    return
                if not process.alive:
                    self._fail(f"process exited unexpectedly (exit code {process.exitcode})")
                    return
                continue
            kind, step, payload = answer
            try:
                if kind == DONE:
                    self._publish(step, payload)
                else:
                    self._report(f"of step {step} failed: {payload}")
                    with self._lock:
                        self._error, self._pending = f"the analysis of step {step} failed: {payload}", None
                        self._publish_status()
                        self._idle.set()
            except Exception as exc:
                self._fail(f"results could not be published ({type(exc).__name__}: {exc})")
                return

    def _publish(self, step: int, record: dict) -> None:
        with self._lock:
            self._store.append(T.HEALTH, [{**record, "skipped": list(self._skipped)}])
            self._skipped, self._pending = [], None
            self._analyses += 1
            self._last = (step, record.get("checkpoint"), record.get("seconds"))
            self.published.append(step)
            self._publish_status()
            self._idle.set()

    # ---- both sides
    def _publish_status(self) -> None:
        """Write what the watch is doing (the caller holds the lock); a store that fails
        here is reported, never raised into training."""
        if self._store is None:
            return
        if self._failed:
            state = T.HEALTH_FAILED
        elif self._pending is not None:
            state = T.HEALTH_ANALYSING
        else:
            state = T.HEALTH_IDLE if self._analyses else T.HEALTH_WAITING
        ahead = self._process is not None and not (self._failed or self._ended)
        status = T.HealthStatus(
            state=state,
            time=time.time(),
            every=self.every,
            checkpoint_every=self._checkpoint_every,
            total_steps=self._total or 0,
            next_step=next_due(self._last_step, self.every, self._checkpoint_every, self._total) if ahead else None,
            running_step=self._pending,
            analyses=self._analyses,
            last_step=self._last[0],
            last_checkpoint=self._last[1],
            last_seconds=self._last[2],
            skipped=self._skipped_total,
            error=self._error,
        )
        try:
            self._store.put(T.HEALTH_STATUS, status.to_dict())
        except Exception as exc:
            self._report(f"status could not be written ({type(exc).__name__}: {exc})")

    def _fail(self, reason: str) -> None:
        """No more analyses in this run."""
        self._report(reason)
        with self._lock:
            self._failed, self._error, self._pending = True, reason, None
            self._publish_status()
            self._idle.set()

    def _report(self, what: str) -> None:
        if not self._reported:  # once per run: the status and the records say the rest
            self._reported = True
            print(f"neurodash: health analysis {what}", file=sys.stderr)
