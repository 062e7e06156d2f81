"""Experience replay: a fixed-size ring buffer of transitions that off-policy agents
(DQN, SAC) sample their learning batches from."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class Batch(NamedTuple):
    obs: torch.Tensor  # (B, obs_dim) float32
    actions: torch.Tensor  # (B,) int64 for discrete actions, (B, action_dim) float32 for continuous ones
    rewards: torch.Tensor  # (B,) float32
    next_obs: torch.Tensor  # (B, obs_dim) float32
    dones: torch.Tensor  # (B,) float32, 1.0 where the episode terminated (no bootstrap)


class ReplayBuffer:
    """A fixed-size ring buffer of transitions in preallocated numpy arrays.

    Once full, each new transition overwrites the oldest one. ``terminated`` is stored
    as ``done``: a truncated episode (time limit) is *not* done, its next state still
    has a value. Actions are indices (``action_dim`` None) or vectors of ``action_dim``
    numbers.
    """

    def __init__(self, capacity: int, obs_dim: int, seed: int | None = None, action_dim: int | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"replay buffer capacity must be >= 1, got {capacity}")
        self.capacity, self.obs_dim = int(capacity), int(obs_dim)
        self.obs = np.zeros((self.capacity, self.obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((self.capacity, self.obs_dim), dtype=np.float32)
        self.actions = (
            np.zeros(self.capacity, dtype=np.int64)
            if action_dim is None
            else np.zeros((self.capacity, int(action_dim)), dtype=np.float32)
        )
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.dones = np.zeros(self.capacity, dtype=np.float32)
        self.pos = 0  # where the next transition goes
        self.size = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action, reward: float, next_obs, done: bool) -> None:
        i = self.pos
        self.obs[i] = obs
        self.next_obs[i] = next_obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.dones[i] = float(done)
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        """``batch_size`` transitions drawn uniformly, with replacement."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = self.rng.integers(0, self.size, size=batch_size)
        return Batch(
            torch.from_numpy(self.obs[idx]),
            torch.from_numpy(self.actions[idx]),
            torch.from_numpy(self.rewards[idx]),
            torch.from_numpy(self.next_obs[idx]),
            torch.from_numpy(self.dones[idx]),
        )

    def recent_observations(self, n: int = 1000) -> np.ndarray:
        """Up to ``n`` of the newest stored observations, oldest first, shape (k, obs_dim)."""
        k = min(int(n), self.size)
        if k <= 0:
            return np.zeros((0, self.obs_dim), dtype=np.float32)
        idx = (self.pos - k + np.arange(k)) % self.capacity
        return self.obs[idx].copy()

    def recent_actions(self, n: int = 1000) -> np.ndarray:
        """The actions taken in the observations :meth:`recent_observations` returns (the
        same ``n``), oldest first: shape (k,) for indices, (k, action_dim) for vectors."""
        k = min(int(n), self.size)
        idx = (self.pos - k + np.arange(k)) % self.capacity
        return self.actions[idx].copy()
