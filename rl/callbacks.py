"""Side behaviour hooks into training through callbacks, not edits to the loop.

The training loop (``rl.loop``) knows one seam: a :class:`CallbackList`. Telemetry
publishing, the probe, periodic health checks, the dashboard's pause/stop commands and
third-party integrations (Stable-Baselines3, ``watch(model)``) are all callbacks, so
they serve every agent without being copied between training loops.

Order of calls per environment step::

    on_step(ctx, step)            # after env.step; return False to stop training
    on_update(ctx, update)        # after each optimisation step (gradients still in .grad)
    on_episode_end(ctx, episode)  # when an episode finishes
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch

    from rl.agents.base import Decision, Update
    from rl.store import Store
    from rl.telemetry import RunMeta


@dataclass
class RunContext:
    """What every callback can see of the run. Owned and updated by the worker."""

    store: Store
    meta: RunMeta
    #: the agent (any ``rl.agents.base.Agent``).
    agent: Any = None
    #: the training configuration (a dataclass instance).
    config: Any = None
    #: global environment step count.
    step: int = 0
    episode: int = 0
    #: every network of the agent by name (a DQN's q_network and target_network; SAC's
    #: actor, critics and target critics).
    networks: dict[str, Any] = field(default_factory=dict)
    #: the names of the networks the probe watches live (``RunMeta.watched``).
    watched: tuple[str, ...] = ()
    #: the target networks, each with the network it follows (``RunMeta.targets``); the
    #: probe samples their weights only.
    targets: dict[str, str] = field(default_factory=dict)

    @property
    def network(self) -> torch.nn.Module:
        """The network shown first (the first watched one: a DQN's q_network)."""
        return self.networks[self.watched[0] if self.watched else next(iter(self.networks))]


@dataclass
class StepInfo:
    """One environment step as the agent saw it: the observation it acted on, its
    :class:`~rl.agents.base.Decision`, and what the environment answered."""

    step: int
    episode: int
    obs: np.ndarray
    decision: Decision
    reward: float
    next_obs: np.ndarray
    terminated: bool
    truncated: bool

    @property
    def action(self):
        return self.decision.action

    @property
    def q(self) -> Sequence[float] | None:
        return self.decision.q


@dataclass
class UpdateInfo:
    """One learning step at environment step ``step`` (see :class:`~rl.agents.base.Update`).
    The gradients of the networks it changed are still in ``p.grad``."""

    step: int
    update: Update


@dataclass
class EpisodeInfo:
    """A finished episode: its score and length, the mean of each loss and of each other
    figure over its learning steps, the agent's exploration settings at its end, and steps
    per second."""

    episode: int
    step: int
    score: float
    length: int
    losses: dict[str, float]
    exploration: dict[str, float]
    sps: float
    stats: dict[str, float] = field(default_factory=dict)


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
