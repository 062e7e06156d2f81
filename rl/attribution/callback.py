"""The attribution in the worker: :class:`AttributionCallback` remembers recent states and
publishes :func:`~rl.attribution.maths.compute_attribution` for the current one on a
sampled schedule."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from torch import nn

from rl import telemetry as T
from rl.attribution.maths import IG_STEPS, RESPONSE_POINTS, compute_attribution, private_copy
from rl.callbacks import Callback, RunContext, StepInfo
from rl.schedule import Throttle

#: Recent observations kept for the IG baseline, the response ranges and the
#: feature/action correlation.
RECENT_OBSERVATIONS = 500
#: Publish at most every this many seconds (like the probe): the cost grows with this
#: rate, not with the training speed.
DEFAULT_PUBLISH_S = 1.0


class AttributionCallback(Callback):
    """Publishes :func:`compute_attribution` for the current state on a sampled schedule.

    Every step it only copies the observation and the greedy action into a ring buffer
    (cheap). The attribution itself -- a few batched backward passes through a private
    copy of the network, a few milliseconds for a 12-256-256-3 DQN -- runs at most every
    ``publish_every_s`` seconds and every ``every`` steps, so its cost grows with that
    rate, not with the training speed. Before the worker pauses (or after a single step
    while paused) ``flush`` publishes the state it stops on, so the network view and the
    game agree. A failure is reported once on stderr and never stops training.
    """

    def __init__(
        self,
        publish_every_s: float = DEFAULT_PUBLISH_S,
        every: int = 1,
        recent: int = RECENT_OBSERVATIONS,
        ig_steps: int = IG_STEPS,
        baseline: str = "mean",
        response_points: int = RESPONSE_POINTS,
        clock=time.monotonic,
    ) -> None:
        if not publish_every_s >= 0:
            raise ValueError(f"publish_every_s must be >= 0, got {publish_every_s!r}")
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if recent < 1:
            raise ValueError(f"recent must be >= 1, got {recent}")
        if ig_steps < 1:
            raise ValueError(f"ig_steps must be >= 1, got {ig_steps}")
        if response_points < 2:
            raise ValueError(f"response_points must be >= 2, got {response_points}")
        if baseline not in ("mean", "zeros"):
            raise ValueError(f"baseline must be 'mean' or 'zeros', got {baseline!r}")
        self.publish_every_s, self.every = float(publish_every_s), int(every)
        self.capacity, self.ig_steps = int(recent), int(ig_steps)
        self.baseline, self.response_points = baseline, int(response_points)
        self.clock = clock
        self._obs: np.ndarray | None = None
        self._actions = np.zeros(self.capacity, np.int64)
        self._count = 0
        self._clone: nn.Module | None = None
        self._last: StepInfo | None = None
        self._published_step: int | None = None
        self._publishes = Throttle(self.publish_every_s, clock)
        self._disabled = False
        #: publishes so far, and seconds spent in the last one (for bench/)
        self.publishes = 0
        self.last_seconds = 0.0

    def on_training_start(self, ctx: RunContext) -> None:
        self._obs, self._count, self._clone, self._last = None, 0, None, None
        self._published_step = None
        self._publishes.start()

    def _remember(self, obs: np.ndarray, action: int) -> None:
        obs = np.asarray(obs, dtype=np.float32).reshape(-1)
        if self._obs is None or self._obs.shape[1] != obs.size:
            self._obs, self._count = np.zeros((self.capacity, obs.size), np.float32), 0
        slot = self._count % self.capacity
        self._obs[slot], self._actions[slot] = obs, action
        self._count += 1

    def recent(self) -> tuple[np.ndarray, np.ndarray]:
        """The remembered observations and greedy actions, oldest first."""
        if self._obs is None:
            return np.empty((0, 0), np.float32), np.empty(0, np.int64)
        n = min(self._count, self.capacity)
        order = (np.arange(n) + (self._count - n)) % self.capacity
        return self._obs[order].copy(), self._actions[order].copy()

    def on_step(self, ctx: RunContext, step: StepInfo) -> bool:
        if self._disabled:
            return True
        if step.q is None or not len(step.q):
            return True  # it explains Q-values: an agent that reports none has nothing to explain
        greedy = int(np.argmax(step.q))
        self._remember(step.obs, greedy)
        self._last = step
        due_by_steps = self._published_step is None or step.step - self._published_step >= self.every
        if due_by_steps and self._publishes.due():
            self.publish(ctx, step)
        return True

    def flush(self, ctx: RunContext) -> None:
        """Publish the newest state now (the worker is about to wait on it)."""
        if self._last is not None and self._last.step != self._published_step and not self._disabled:
            self.publish(ctx, self._last)

    def on_training_end(self, ctx: RunContext) -> None:
        self.flush(ctx)

    def publish(self, ctx: RunContext, step: StepInfo) -> T.AttributionRecord | None:
        started = self.clock()
        self._publishes.start(started, due_now=False)
        self._published_step = step.step
        try:
            name = explained_network(ctx)
            if name is None:
                self._disabled = True  # no network gives Q-values per action: nothing to explain
                return None
            network = ctx.networks[name]
            if self._clone is None:
                self._clone = private_copy(network)
            else:
                self._clone.load_state_dict(network.state_dict())
            recent_obs, recent_actions = self.recent()
            record = compute_attribution(
                self._clone,
                step.obs,
                recent_obs,
                recent_actions,
                step=step.step,
                taken=step.action,
                ig_steps=self.ig_steps,
                baseline=self.baseline,
                response_points=self.response_points,
                copy_network=False,
            )
            record = dataclasses.replace(record, network=name)
            ctx.store.put_many({T.ATTRIBUTION: record.to_dict(), T.ATTRIBUTION_STEP: int(step.step)})
        except Exception as exc:  # a diagnostic must never stop training
            import sys

            print(f"neurodash: attribution disabled for this run: {type(exc).__name__}: {exc}", file=sys.stderr)
            self._disabled = True
            return None
        finally:
            self.last_seconds = self.clock() - started
        self.publishes += 1
        return record


def explained_network(ctx: RunContext) -> str | None:
    """The name of the network the attribution explains: the agent's ``q_network_name`` (its
    outputs are a Q-value per action), else the first watched one; None when the agent
    says no network has Q-values."""
    if ctx.agent is not None and hasattr(ctx.agent, "q_network_name"):
        name = ctx.agent.q_network_name
        return name if name in ctx.networks else None
    return ctx.watched[0] if ctx.watched else next(iter(ctx.networks), None)


def attribution_callbacks(settings) -> list[Callback]:
    """The attribution publisher's entry in ``rl.worker.default_callbacks``: one
    :class:`AttributionCallback` when the worker's ``probe`` setting is on (the network
    views are switched on and off together), else nothing."""
    if not getattr(settings, "probe", True):
        return []
    return [AttributionCallback()]
