"""The one training loop: act, step the environment, remember, learn, end episodes.

Every agent trains through :func:`run_loop` (DQN today, SAC next); only the agent knows
its algorithm (``rl.agents.base.Agent``: ``act`` / ``observe`` / ``learn``). Everything
else -- telemetry, checkpoints, the probe, the dashboard's commands, a progress bar -- is
a :class:`~rl.callbacks.Callback`, so no agent gets a copy of the loop, of the publisher
or of stop handling.

Steps are counted from 1: after the first environment step ``ctx.step == 1``, and a run
of ``steps`` steps ends with ``ctx.step == steps`` (as ``num_timesteps`` in SB3).
"""

from __future__ import annotations

import time

from rl.agents.base import Agent, Update
from rl.callbacks import Callback, EpisodeInfo, RunContext, StepInfo, UpdateInfo


class EpisodeTally:
    """What an episode adds up to while it runs: return, length, each loss's sum."""

    def __init__(self, now: float) -> None:
        self.score, self.length, self.started = 0.0, 0, now
        self._losses, self._stats = _Means(), _Means()

    def add_step(self, reward: float) -> None:
        self.score += float(reward)
        self.length += 1

    def add_update(self, update: Update) -> None:
        self._losses.add(update.losses)
        self._stats.add(update.stats)

    def mean_losses(self) -> dict[str, float]:
        return self._losses.means()

    def mean_stats(self) -> dict[str, float]:
        return self._stats.means()


class _Means:
    """Running means of named figures."""

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    def add(self, values: dict[str, float]) -> None:
        for name, value in values.items():
            self._sums[name] = self._sums.get(name, 0.0) + float(value)
            self._counts[name] = self._counts.get(name, 0) + 1

    def means(self) -> dict[str, float]:
        return {name: total / self._counts[name] for name, total in self._sums.items()}


def run_loop(env, agent: Agent, ctx: RunContext, callbacks: Callback, total_steps: int, start_step: int = 0) -> bool:
    """Train ``agent`` on ``env`` until step ``total_steps`` (from ``start_step``: an agent
    resumed from a checkpoint carries on where it stopped); True if a callback stopped it early."""
    stopped = False
    obs, _ = env.reset()
    ctx.step = start_step
    callbacks.on_training_start(ctx)
    tally = EpisodeTally(time.perf_counter())
    for global_step in range(start_step, total_steps):
        # Act. The agent says what it knew: Q-values, probabilities, whether it explored.
        decision = agent.act(obs, global_step)
        next_obs, reward, terminated, truncated, _ = env.step(decision.action)
        # Remember `terminated` only: a time limit (truncated) is not the end of the game,
        # so the next state keeps its bootstrapped value.
        agent.observe(obs, decision.action, reward, next_obs, terminated)
        ctx.step = global_step + 1
        tally.add_step(reward)
        keep_going = callbacks.on_step(
            ctx, StepInfo(ctx.step, ctx.episode, obs, decision, float(reward), next_obs, terminated, truncated)
        )

        # Learn: one learning step when the agent says it is due.
        update = agent.learn(global_step)
        if update is not None:
            tally.add_update(update)
            callbacks.on_update(ctx, UpdateInfo(ctx.step, update))

        # Careful: after the last step of an episode, continue from reset()'s observation.
        obs = next_obs
        if terminated or truncated:
            now = time.perf_counter()
            callbacks.on_episode_end(
                ctx,
                EpisodeInfo(
                    episode=ctx.episode,
                    step=ctx.step,
                    score=tally.score,
                    length=tally.length,
                    losses=tally.mean_losses(),
                    stats=tally.mean_stats(),
                    exploration=dict(decision.exploration),
                    sps=tally.length / max(now - tally.started, 1e-9),
                ),
            )
            ctx.episode += 1
            obs, _ = env.reset()
            tally = EpisodeTally(now)
        if not keep_going:
            stopped = True
            break
    callbacks.on_training_end(ctx)
    return stopped
