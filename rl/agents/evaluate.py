"""Measuring an agent: greedy evaluation episodes, a random-policy baseline, and a
callback that keeps the learning curve of a run of ``rl.worker.train``.

Used by the learning tests and the benchmarks in ``bench/``; training itself always
goes through the worker's one loop.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from rl.callbacks import Callback


def evaluate(agent, env_id: str, episodes: int = 20, seed: int = 0, epsilon: float = 0.0) -> list[float]:
    """Scores (episode returns) of ``agent`` (any ``rl.agents.base.Agent``) acting greedily,
    or epsilon-greedily with ``epsilon`` > 0, on ``episodes`` fresh episodes seeded ``seed,
    seed + 1, ...``."""
    from rl.envs import make_env

    env = make_env(env_id)
    rng = np.random.default_rng(seed)
    space = env.action_space

    def random_action():
        if isinstance(space, spaces.Discrete):
            return int(rng.integers(int(space.n)))
        if isinstance(space, spaces.Box):
            return np.asarray(rng.uniform(space.low, space.high), dtype=space.dtype)
        raise ValueError(f"evaluate() plays discrete or box actions; {env_id} has {space}")

    scores = []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            done, score = False, 0.0
            while not done:
                if epsilon >= 1 or (epsilon > 0 and rng.random() < epsilon):  # epsilon 1: no network needed
                    action = random_action()
                else:
                    action = agent.act(obs, 0, greedy=True).action
                obs, reward, terminated, truncated, _ = env.step(action)
                score += float(reward)
                done = terminated or truncated
            scores.append(score)
    finally:
        env.close()
    return scores


def random_policy_scores(env_id: str, episodes: int = 100, seed: int = 0) -> list[float]:
    """Scores of a policy that picks uniformly random actions (the baseline to beat)."""
    return evaluate(None, env_id, episodes, seed, epsilon=1.0)


class LearningCurve(Callback):
    """Keeps every finished episode's ``(step, score)`` and a handle on the trained agent."""

    def __init__(self) -> None:
        self.episodes: list[tuple[int, float]] = []
        self.agent = None

    def on_training_start(self, ctx) -> None:
        self.agent = ctx.agent

    def on_episode_end(self, ctx, episode) -> None:
        self.episodes.append((int(episode.step), float(episode.score)))

    def recent_mean(self, n: int = 20) -> float:
        """Mean score of the last ``n`` episodes (NaN before the first one ends)."""
        scores = [score for _, score in self.episodes[-n:]]
        return float(np.mean(scores)) if scores else float("nan")
