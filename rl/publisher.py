"""Telemetry of the run as it trains: step and episode records in batched store writes,
the game frame a few times a second, and a progress bar for the command line.

Costs follow the wall clock, not the training speed (``rl.schedule``): at most
``step_records_per_s`` step records a second, one store write per series every
``publish_interval`` seconds, ``frame_fps`` frames a second.
"""

from __future__ import annotations

import base64
import io
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rl import telemetry as T
from rl.agents.base import plain_action
from rl.callbacks import Callback, RunContext, StepInfo
from rl.schedule import Clock, Throttle


def short(x: float) -> float:
    """Six significant digits: plenty for a chart, and a third of the JSON of a full float."""
    x = float(x)
    return float(f"{x:.6g}") if math.isfinite(x) else x


def _shorts(values) -> list[float] | None:
    return None if values is None else [short(v) for v in values]


def step_record(step: StepInfo) -> T.StepRecord:
    """The record of one step: the action and what the agent knew about it."""
    d = step.decision
    action = plain_action(d.action)
    return T.StepRecord(
        step=step.step,
        action=action if isinstance(action, int) else [short(v) for v in action],
        reward=short(step.reward),
        episode=step.episode,
        explored=None if d.explored is None else bool(d.explored),
        q=_shorts(d.q),
        probs=_shorts(d.probs),
        mean=_shorts(d.mean),
        std=_shorts(d.std),
        value=None if d.value is None else short(d.value),
        advantages=_shorts(d.advantages),
        critics=None if d.critics is None else {k: short(v) for k, v in d.critics.items()},
    )


def encode_frame(rgb) -> tuple[str, int, int]:
    """An HxWx3 uint8 image as (PNG in base64, width, height)."""
    from PIL import Image

    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"a frame must be an HxWx3 image, got shape {arr.shape}")
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8, copy=False)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii"), int(arr.shape[1]), int(arr.shape[0])


class TelemetryPublisher(Callback):
    """Step and episode records in batched store writes; the game frame a few times a second.

    ``config`` is a ``rl.worker.WorkerConfig`` (``step_records_per_s``, ``publish_interval``,
    ``publish_batch``, ``frame_fps``, ``steps_cap``, ``episodes_cap``). :meth:`flush` writes
    everything now, including the latest step even if sampling skipped it (the worker
    calls it before it waits, so a paused dashboard shows the step it is paused on).
    """

    def __init__(self, config, render: Callable[[], Any] | None = None, clock: Clock = time.monotonic) -> None:
        self.config, self.render = config, render
        self._records = Throttle.per_second(config.step_records_per_s, clock)
        self._frames = Throttle.per_second(config.frame_fps, clock) if config.frame_fps > 0 else None
        self._writes = Throttle(config.publish_interval, clock, due_now=False)
        self._steps: list[dict] = []
        self._episodes: list[dict] = []
        self._skipped: StepInfo | None = None  # the latest step, if sampling left it out
        #: why frames cannot be rendered (published frames stop after the first error)
        self.frame_error: str | None = None

    def on_training_start(self, ctx):
        self._records.start()
        if self._frames is not None:
            self._frames.start()
        self._writes.start(due_now=False)

    def on_step(self, ctx, step):
        if self._records.ready():
            self._record(step)
        else:
            self._skipped = step
        if self._frames is not None and self._frames.ready():
            self._publish_frame(ctx)
        if self._writes.ready() or len(self._steps) + len(self._episodes) >= self.config.publish_batch:
            self._write(ctx)
            self._writes.start(due_now=False)
        return True

    def on_episode_end(self, ctx, episode):
        self._episodes.append(
            T.EpisodeRecord(
                episode=episode.episode,
                step=episode.step,
                score=float(episode.score),
                length=int(episode.length),
                sps=float(episode.sps),
                losses={k: short(v) for k, v in episode.losses.items()},
                exploration={k: short(v) for k, v in episode.exploration.items()},
                stats={k: short(v) for k, v in episode.stats.items()},
            ).to_dict()
        )

    def flush(self, ctx: RunContext) -> None:
        """Write every buffered record, the latest step and the current frame now."""
        if self._skipped is not None:
            self._record(self._skipped)
        self._write(ctx)
        if self._frames is not None:
            self._publish_frame(ctx)

    def on_training_end(self, ctx):
        self.flush(ctx)

    def _record(self, step: StepInfo) -> None:
        self._skipped = None
        self._steps.append(step_record(step).to_dict())

    def _write(self, ctx: RunContext) -> None:
        if self._steps:
            ctx.store.append(T.STEPS, self._steps, cap=self.config.steps_cap)
            self._steps = []
        if self._episodes:
            ctx.store.append(T.EPISODES, self._episodes, cap=self.config.episodes_cap)
            self._episodes = []

    def _publish_frame(self, ctx: RunContext) -> None:
        if self.render is None or self.frame_error is not None:
            return
        try:
            rgb = self.render()
            if rgb is None:
                return
            png, width, height = encode_frame(rgb)
        except Exception as exc:  # a broken renderer must not stop training
            self.frame_error = f"{type(exc).__name__}: {exc}"
            ctx.store.put(T.FRAME_UNAVAILABLE, {"reason": self.frame_error})  # the dashboard says why
            return
        ctx.store.put(T.FRAME, T.Frame(step=ctx.step, png_base64=png, width=width, height=height).to_dict())


class ProgressBar(Callback):
    """A tqdm progress bar on stderr, refreshed a few times per second."""

    def __init__(self, total: int, clock: Clock = time.monotonic, **tqdm_kwargs) -> None:
        self.total, self.tqdm_kwargs = total, tqdm_kwargs
        self._refreshes = Throttle(0.2, clock)
        self._bar: Any = None
        self._shown = 0
        self._last_score: float | None = None

    def on_training_start(self, ctx):
        from tqdm import tqdm

        self._bar = tqdm(total=self.total, unit="step", dynamic_ncols=True, **self.tqdm_kwargs)
        self._shown = ctx.step
        self._refreshes.start()

    def on_step(self, ctx, step):
        if self._refreshes.ready():
            self._refresh(ctx)
        return True

    def on_episode_end(self, ctx, episode):
        self._last_score = episode.score

    def on_training_end(self, ctx):
        if self._bar is not None:
            self._refresh(ctx)
            self._bar.close()

    def _refresh(self, ctx):
        if self._bar is None:
            return
        self._bar.update(ctx.step - self._shown)
        self._shown = ctx.step
        if self._last_score is not None:
            self._bar.set_postfix(episode=ctx.episode, score=f"{self._last_score:.2f}", refresh=False)
