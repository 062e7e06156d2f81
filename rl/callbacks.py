"""Side behaviour hooks into training through callbacks, not edits to the loop.

The worker's loop (``rl.worker``) knows one seam: a :class:`CallbackList`. Telemetry
publishing, the probe, periodic health checks, the dashboard's pause/stop commands and
third-party integrations (Stable-Baselines3, ``watch(model)``) are all callbacks, so
they serve every agent without being copied between training loops.

Order of calls per environment step::

    on_step(ctx, step)            # after env.step; return False to stop training
    on_update(ctx, update)        # after each optimisation step (gradients still in .grad)
    on_episode_end(ctx, episode)  # when an episode finishes
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch

    from rl.store import Store
    from rl.telemetry import RunMeta


@dataclass
class RunContext:
    """What every callback can see of the run. Owned and updated by the worker."""

    store: "Store"
    meta: "RunMeta"
    #: the network whose insides we show (a DQN's q_network, a SAC actor, ...).
    network: "torch.nn.Module"
    #: the agent object (its type depends on the algorithm).
    agent: Any = None
    #: the training configuration (a dataclass instance).
    config: Any = None
    #: global environment step count.
    step: int = 0
    episode: int = 0
    #: extra named networks (SAC: actor, critic_1, ...); ``network`` is one of them.
    networks: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepInfo:
    """One environment step as the agent saw it."""

    step: int
    episode: int
    obs: "np.ndarray"  # the observation the action was chosen from
    action: int
    q: Sequence[float] | None
    explored: bool
    reward: float
    next_obs: "np.ndarray"
    terminated: bool
    truncated: bool
    epsilon: float = 0.0
    value: float | None = None
    advantages: Sequence[float] | None = None


@dataclass
class UpdateInfo:
    """One optimisation step. Parameter gradients are still in ``p.grad``."""

    step: int
    loss: float
    extra: dict = field(default_factory=dict)


@dataclass
class EpisodeInfo:
    episode: int
    step: int
    score: float
    length: int
    mean_loss: float | None
    epsilon: float
    sps: float


class Callback:
    """Base class: override what you need; every hook defaults to doing nothing."""

    def on_training_start(self, ctx: RunContext) -> None:
        pass

    def on_step(self, ctx: RunContext, step: StepInfo) -> bool:
        """Return False to stop training."""
        return True

    def on_update(self, ctx: RunContext, update: UpdateInfo) -> None:
        pass

    def on_episode_end(self, ctx: RunContext, episode: EpisodeInfo) -> None:
        pass

    def on_training_end(self, ctx: RunContext) -> None:
        pass


class CallbackList(Callback):
    """Several callbacks as one; training stops when any ``on_step`` returns False."""

    def __init__(self, callbacks: Sequence[Callback] = ()) -> None:
        self.callbacks = list(callbacks)

    def on_training_start(self, ctx):
        for cb in self.callbacks:
            cb.on_training_start(ctx)

    def on_step(self, ctx, step):
        keep_going = True
        for cb in self.callbacks:
            keep_going = cb.on_step(ctx, step) is not False and keep_going
        return keep_going

    def on_update(self, ctx, update):
        for cb in self.callbacks:
            cb.on_update(ctx, update)

    def on_episode_end(self, ctx, episode):
        for cb in self.callbacks:
            cb.on_episode_end(ctx, episode)

    def on_training_end(self, ctx):
        for cb in self.callbacks:
            cb.on_training_end(ctx)


class EveryNSteps(Callback):
    """Run a callback's ``on_step`` only every ``n`` environment steps."""

    def __init__(self, n: int, callback: Callback) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n, self.callback = n, callback

    def on_training_start(self, ctx):
        self.callback.on_training_start(ctx)

    def on_step(self, ctx, step):
        if step.step % self.n == 0:
            return self.callback.on_step(ctx, step)
        return True

    def on_training_end(self, ctx):
        self.callback.on_training_end(ctx)
