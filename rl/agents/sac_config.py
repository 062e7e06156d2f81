"""SAC's settings: :class:`SACConfig` (a docstring per field, shown in ``neurodash train
--help`` and saved with the run) and the presets per environment (:data:`PRESETS`).
Pure: no torch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["PRESETS", "SACConfig", "config_for_env"]


@dataclass
class SACConfig:
    """SAC hyper-parameters. The defaults suit continuous control such as Pendulum-v1 (as the
    SB3 RL Zoo tunes it); discrete environments start from a preset of their own."""

    hidden_sizes: tuple[int, ...] = (256, 256)
    """width of each hidden layer of the actor and of each critic, input side first"""
    actor_learning_rate: float = 1e-3
    """the actor's Adam learning rate"""
    critic_learning_rate: float = 1e-3
    """the critics' Adam learning rate (both critics share one optimiser)"""
    alpha_learning_rate: float = 1e-3
    """the learning rate of the entropy temperature alpha (with autotune)"""
    buffer_size: int = 100_000
    """how many past transitions the replay buffer keeps (the oldest are overwritten)"""
    batch_size: int = 256
    """how many transitions each learning step samples from the replay buffer"""
    gamma: float = 0.99
    """the discount factor: how much a reward one step later is worth compared to now"""
    tau: float = 0.005
    """how far each update moves the target critics towards the critics (1.0 = copy them)"""
    learning_starts: int = 1_000
    """environment steps of uniformly random actions before the first learning step"""
    train_frequency: int = 1
    """run one learning step every this many environment steps"""
    policy_frequency: int = 1
    """update the actor (and alpha) every this many learning steps, that many times in a row"""
    target_network_frequency: int = 1
    """move the target critics every this many learning steps"""
    alpha: float = 0.2
    """the entropy temperature: how much the actor is paid for keeping its actions random
    (the start value when autotune is on)"""
    autotune: bool = True
    """tune alpha so that the policy's entropy stays near target_entropy"""
    target_entropy_scale: float = 0.89
    """discrete actions: the target entropy as a share of the largest one, log |A| (continuous
    actions aim at -action_dim, as is usual)"""

    def __post_init__(self) -> None:
        self.hidden_sizes = tuple(int(h) for h in self.hidden_sizes)
        checks = [
            (bool(self.hidden_sizes) and all(h >= 1 for h in self.hidden_sizes), "hidden_sizes needs a positive width"),
            (
                min(self.actor_learning_rate, self.critic_learning_rate, self.alpha_learning_rate) > 0,
                "the learning rates must be > 0",
            ),
            (self.buffer_size >= 1 and self.batch_size >= 1, "buffer_size and batch_size must be >= 1"),
            (0.0 <= self.gamma <= 1.0, "gamma must be in [0, 1]"),
            (0.0 < self.tau <= 1.0, "tau must be in (0, 1]"),
            (self.learning_starts >= 0, "learning_starts must be >= 0"),
            (
                min(self.train_frequency, self.policy_frequency, self.target_network_frequency) >= 1,
                "train_frequency, policy_frequency and target_network_frequency must be >= 1",
            ),
            (self.alpha > 0, "alpha must be > 0"),
            (0.0 < self.target_entropy_scale <= 1.0, "target_entropy_scale must be in (0, 1]"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"SACConfig: {message}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able copy (tuples become lists), as saved with a run and a checkpoint."""
        data = dataclasses.asdict(self)
        data["hidden_sizes"] = list(self.hidden_sizes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], strict: bool = True) -> SACConfig:
        """Inverse of :meth:`to_dict`. Unknown keys raise ``ValueError`` unless ``strict=False``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown and strict:
            raise ValueError(f"SACConfig has no field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        return cls(**{k: v for k, v in data.items() if k in names})


#: Overrides of :class:`SACConfig`'s defaults for other environments (see bench/README.md).
PRESETS: dict[str, dict[str, Any]] = {
    "Pendulum-v1": {},
    # discrete SAC: small networks learning from every 2nd step; with only 3 moves, a target
    # entropy of half of log 3 (0.89 of it keeps the policy nearly uniform) -- see bench/README.md
    "neurodash/Breakout-v0": {
        "hidden_sizes": (64, 64),
        "buffer_size": 50_000,
        "batch_size": 64,
        "learning_starts": 1_000,
        "train_frequency": 2,
        "tau": 0.02,
        "target_network_frequency": 1,
        "target_entropy_scale": 0.5,
    },
    "CartPole-v1": {
        "hidden_sizes": (64, 64),
        "batch_size": 64,
        "learning_starts": 1_000,
        "train_frequency": 2,
        "tau": 0.02,
        "target_entropy_scale": 0.5,
    },
}


def config_for_env(env_id: str, **overrides: Any) -> SACConfig:
    """The default config for ``env_id`` (its :data:`PRESETS` entry), then ``overrides``."""
    values = dict(PRESETS.get(env_id, {}))
    values.update(overrides)
    return SACConfig.from_dict(values)
