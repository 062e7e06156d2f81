"""The dashboard's hand on training: pause, resume, single step, stop and speed commands,
"watch" pacing, and the heartbeat that says the worker is alive (also while paused)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rl import telemetry as T
from rl.callbacks import Callback, RunContext
from rl.schedule import Clock, Pacer, Throttle


class WorkerControl(Callback):
    """Obeys the dashboard's commands, paces "watch" speed, and writes the heartbeat.

    ``config`` is a ``rl.worker.WorkerConfig`` (``speed``, ``watch_sps``, ``steps``,
    ``heartbeat_interval``, ``command_poll_interval``, ``command_poll_steps``). Commands
    are read from ``telemetry.COMMANDS`` (only those sent after training started) at most
    every ``command_poll_interval`` seconds or ``command_poll_steps`` steps, whichever
    comes first -- one cheap ``last_seq`` look-up, the records are read only when there is
    something new:

    * ``pause`` -- wait after the current step; the heartbeat keeps coming;
    * ``resume`` -- carry on;
    * ``step`` -- while paused, advance exactly one environment step, then wait again;
    * ``stop`` -- end training (state "stopped"), also while paused;
    * ``speed`` with value ``"watch"`` or ``"full"``.

    Before it waits, it calls every ``flush`` hook, so what the dashboard shows matches
    the step the worker is paused on. It belongs last in the callback list: every other
    callback has then seen that step.
    """

    def __init__(
        self,
        config,
        flush: Sequence[Callable[[RunContext], None]] = (),
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config, self.flush_hooks = config, list(flush)
        self.clock, self.sleep = clock, sleep
        self.speed = config.speed
        self.state = T.RUNNING
        self.message = "training"
        self.stop_requested = False
        self._credits = 0  # single steps granted while paused
        self._cursor = -1
        self._steps_since_poll = 0
        self._polls = Throttle(config.command_poll_interval, clock, due_now=False)
        self._beats = Throttle(config.heartbeat_interval, clock, due_now=False)
        self._pacer = Pacer(config.watch_sps, clock, sleep)
        self._beat_step, self._beat_time = 0, 0.0

    # ---- callback hooks
    def on_training_start(self, ctx):
        self._cursor = ctx.store.last_seq(T.COMMANDS)  # commands sent before this run are not ours
        now = self.clock()
        self._polls.start(now, due_now=False)
        self._pacer.restart(now)
        self._beat_step, self._beat_time = ctx.step, now
        self.beat(ctx, now)

    def on_step(self, ctx, step):
        now = self.clock()
        self._steps_since_poll += 1
        changed = False
        if self._polls.due(now) or self._steps_since_poll >= self.config.command_poll_steps:
            changed = self._poll(ctx, now)
        if self.state == T.PAUSED and not self.stop_requested:
            self._wait(ctx)  # publishes this step, then beats "paused"
            now = self.clock()
            changed = self.state != T.PAUSED  # resumed: say so at once
        if self.stop_requested:
            return False  # the worker writes the final "stopped" heartbeat
        if self.speed == T.SPEED_WATCH:
            now = self._pacer.wait(now)
        if changed or self._beats.due(now):
            self.beat(ctx, now)
        return True

    # ---- heartbeat
    def beat(self, ctx: RunContext, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        elapsed = now - self._beat_time
        sps = (ctx.step - self._beat_step) / elapsed if elapsed > 0 and self.state == T.RUNNING else 0.0
        ctx.store.put(
            T.HEARTBEAT,
            T.Heartbeat(
                time=time.time(),
                step=ctx.step,
                state=self.state,
                pid=os.getpid(),
                speed=self.speed,
                sps=round(sps, 1),
                total_steps=self.config.steps,
                message=self.message,
            ).to_dict(),
        )
        self._beat_step, self._beat_time = ctx.step, now
        self._beats.start(now, due_now=False)

    # ---- commands
    def _poll(self, ctx: RunContext, now: float) -> bool:
        """Obey new commands; True if something changed that the heartbeat should show."""
        self._steps_since_poll = 0
        self._polls.start(now, due_now=False)
        if ctx.store.last_seq(T.COMMANDS) <= self._cursor:
            return False
        records = ctx.store.read(T.COMMANDS, after=self._cursor)
        if records:
            self._cursor = records[-1]["seq"]
        before = self.state, self.speed, self.stop_requested
        notes = [note for note in map(self._handle, records) if note]
        if notes:
            self.message = "; ".join(notes)
        return bool(notes) or (self.state, self.speed, self.stop_requested) != before

    def _handle(self, record: Mapping[str, Any]) -> str | None:
        """Obey one command; return what to tell the dashboard about it, if anything."""
        try:
            cmd = T.Command.from_dict(record)
        except (TypeError, ValueError) as exc:
            return f"ignored a command this worker cannot read: {exc}"
        if cmd.action == T.CMD_PAUSE:
            self.state, self._credits = T.PAUSED, 0
            return "paused from the dashboard"
        if cmd.action == T.CMD_RESUME:
            self.state, self._credits = T.RUNNING, 0
            self._pacer.restart()
            return "training"
        if cmd.action == T.CMD_STEP:
            if self.state != T.PAUSED:
                return "ignored 'step': single steps work while paused"
            self._credits += 1
            return None
        if cmd.action == T.CMD_STOP:
            self.stop_requested = True
            return "stopped from the dashboard"
        if cmd.action == T.CMD_SPEED:
            if cmd.value not in T.SPEEDS:
                return f"ignored speed {cmd.value!r}: use 'watch' or 'full'"
            self.speed = cmd.value
            self._pacer.restart()
            return None
        return f"ignored unknown command {cmd.action!r}"

    def _wait(self, ctx: RunContext) -> None:
        """Paused: keep the heartbeat and the command poll going until resumed, stopped,
        or granted a single step."""
        for hook in self.flush_hooks:
            hook(ctx)
        self.beat(ctx)
        poll_period = min(self.config.command_poll_interval, 0.05)
        while self.state == T.PAUSED and not self.stop_requested:
            if self._credits > 0:
                self._credits -= 1
                return
            self.sleep(poll_period)
            now = self.clock()
            changed = self._poll(ctx, now)
            if self.state == T.PAUSED and (changed or self._beats.due(now)):
                self.beat(ctx, now)
        self._pacer.restart()
