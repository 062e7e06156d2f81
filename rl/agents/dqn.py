"""Deep Q-Network (DQN) agent: replay buffer, target network, epsilon-greedy exploration,
Huber loss, with Double DQN and a dueling head as options.

The agent does not run the training loop (that is ``rl.loop``); it implements the agent
interface of ``rl.agents.base``, in this order per environment step::

    decision = agent.act(obs, step)        # epsilon-greedy action + the Q-values it saw
    agent.observe(obs, decision.action, reward, next_obs, terminated)
    update = agent.learn(step)             # one optimisation step when due, else None

Names follow the math (``q_network``, ``target_network``, ``td_target``), after CleanRL's
``dqn.py``.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from rl.agents.base import Decision, Update
from rl.agents.mlp import MLP, adam
from rl.agents.replay import ReplayBuffer
from rl.telemetry import LayerInfo, NetworkInfo, action_labels, feature_labels

__all__ = [
    "DQNAgent",
    "DQNConfig",
    "PRESETS",
    "QNetwork",
    "config_for_env",
    "linear_schedule",
    "td_target",
]


@dataclass
class DQNConfig:
    """DQN hyper-parameters. The defaults are tuned for our Breakout (``neurodash/Breakout-v0``)."""

    hidden_sizes: tuple[int, ...] = (64, 64)
    """width of each hidden layer of the Q-network, input side first (each followed by a ReLU)"""
    dueling: bool = True
    """split the output into a state value V(s) and advantages A(s, a), with Q = V + A - mean(A)"""
    double_dqn: bool = True
    """Double DQN: the online network picks the next action, the target network values it"""
    learning_rate: float = 7e-4
    """the Adam optimiser's learning rate (at 1e-3 a quarter of fc2's ReLUs on Breakout were dead after
    60k steps; see hidden_bias)"""
    buffer_size: int = 50_000
    """how many past transitions the replay buffer keeps (the oldest are overwritten)"""
    batch_size: int = 64
    """how many transitions each optimisation step samples from the replay buffer"""
    gamma: float = 0.99
    """the discount factor: how much a reward one step later is worth compared to now"""
    target_network_frequency: int = 2
    """update the target network every this many environment steps"""
    tau: float = 0.02
    """how far each update moves the target network towards the online one (1.0 = copy it)"""
    start_e: float = 1.0
    """exploration probability epsilon at the start of training"""
    end_e: float = 0.05
    """exploration probability epsilon once the schedule has finished"""
    exploration_fraction: float = 0.2
    """fraction of the total training steps over which epsilon falls linearly from start_e to end_e"""
    learning_starts: int = 1_000
    """environment steps collected at random-ish before the first optimisation step"""
    train_frequency: int = 2
    """run one optimisation step every this many environment steps"""
    huber_delta: float = 1.0
    """the Huber loss is quadratic for TD errors below this size and linear above it; pick it near the
    size of typical TD errors (1 suits rewards of about 1 per event, as in Breakout)"""
    max_grad_norm: float | None = 10.0
    """clip the gradient's total norm to this value before each step (None: no clipping)"""
    hidden_bias: float | None = 0.5
    """start the hidden layers' biases at this value (None: PyTorch's default, small random ones). On
    Breakout, whose twelve brick flags sit near 1 (a large common offset), PyTorch's init leaves about
    a third of each hidden layer silent over the probe's 100-sample window from the first step; 0.5
    with learning rate 7e-4 ends 60k steps with fc1 at 0 % and fc2 at 0-9 % dead (seeds 0-2), learning
    as clearly as before (bench/dqn_dead_neurons.py, bench/README.md)"""

    def __post_init__(self) -> None:
        self.hidden_sizes = tuple(int(h) for h in self.hidden_sizes)
        checks = [
            (
                len(self.hidden_sizes) >= 1 and all(h >= 1 for h in self.hidden_sizes),
                "hidden_sizes needs at least one positive width",
            ),
            (self.learning_rate > 0, "learning_rate must be > 0"),
            (self.buffer_size >= 1, "buffer_size must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (0.0 <= self.gamma <= 1.0, "gamma must be in [0, 1]"),
            (self.target_network_frequency >= 1, "target_network_frequency must be >= 1"),
            (0.0 < self.tau <= 1.0, "tau must be in (0, 1]"),
            (0.0 <= self.end_e <= 1.0 and 0.0 <= self.start_e <= 1.0, "start_e and end_e must be in [0, 1]"),
            (0.0 <= self.exploration_fraction <= 1.0, "exploration_fraction must be in [0, 1]"),
            (self.learning_starts >= 0, "learning_starts must be >= 0"),
            (self.train_frequency >= 1, "train_frequency must be >= 1"),
            (self.huber_delta > 0, "huber_delta must be > 0"),
            (self.max_grad_norm is None or self.max_grad_norm > 0, "max_grad_norm must be > 0 or None"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"DQNConfig: {message}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able copy (tuples become lists), as saved with a run and a checkpoint."""
        data = dataclasses.asdict(self)
        data["hidden_sizes"] = list(self.hidden_sizes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], strict: bool = True) -> DQNConfig:
        """Inverse of :meth:`to_dict`. Unknown keys raise ``ValueError`` unless ``strict=False``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown and strict:
            raise ValueError(f"DQNConfig has no field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        return cls(**{k: v for k, v in data.items() if k in names})


#: Overrides of :class:`DQNConfig`'s (Breakout-tuned) defaults for other environments.
#:
#: CartPole-v1 uses CleanRL's published ``dqn.py`` settings (its 500k-step benchmark).
#: CleanRL's loss is the mean squared TD error; ours is Huber, and its ``huber_delta``
#: must suit CartPole's scale: +1 per step makes Q-values approach 100. With delta 1
#: the loss is almost an absolute error, whose best fit is the *median* target, so the
#: rare "pole fell" transitions are outvoted and the Q-values run away (measured: Q > 600
#: by 40k steps, return stuck at 9). Delta 10 learned, but late and unsteadily (seed 1
#: reached a mean of 475 at 464k steps, seed 2 not within 500k). Delta 100 keeps
#: CartPole's TD errors (its Q-values stay below 100) in the quadratic part -- CleanRL's
#: squared error, up to a factor 1/2 that Adam cancels -- and reached 475 by ~240k steps
#: on seeds 1 and 2
#: (bench/cartpole_dqn.py, bench/README.md).
#:
PRESETS: dict[str, dict[str, Any]] = {
    "neurodash/Breakout-v0": {},
    "CartPole-v1": {
        "hidden_sizes": (120, 84),
        "dueling": False,
        "double_dqn": False,
        "learning_rate": 2.5e-4,
        "buffer_size": 10_000,
        "batch_size": 128,
        "target_network_frequency": 500,
        "tau": 1.0,
        "exploration_fraction": 0.5,
        "learning_starts": 10_000,
        "train_frequency": 10,
        "huber_delta": 100.0,
        "max_grad_norm": None,
        "hidden_bias": None,
    },
}


def config_for_env(env_id: str, **overrides: Any) -> DQNConfig:
    """The default config for ``env_id`` (its :data:`PRESETS` entry), then ``overrides``."""
    values = dict(PRESETS.get(env_id, {}))
    values.update(overrides)
    return DQNConfig.from_dict(values)


def linear_schedule(start_e: float, end_e: float, duration: float, t: int) -> float:
    """Epsilon falls linearly from ``start_e`` to ``end_e`` over ``duration`` steps, then stays."""
    if duration <= 0:
        return end_e
    slope = (end_e - start_e) / duration
    return max(slope * t + start_e, end_e) if end_e <= start_e else min(slope * t + start_e, end_e)


# --------------------------------------------------------------------------- network
class QNetwork(MLP):
    """A fully connected Q-network (:class:`rl.agents.mlp.MLP`: hidden layers ``fcN`` +
    ``reluN``). The output is ``q_out`` (one Q-value per action), or with ``dueling=True``
    the two heads ``value_out`` (V(s), one number) and ``advantage_out`` (A(s, a) per
    action), combined as ``Q = V + A - mean(A)``.
    """

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden_sizes=(64, 64),
        dueling: bool = False,
        hidden_bias: float | None = None,
    ) -> None:
        if obs_dim < 1 or n_actions < 1:
            raise ValueError(f"QNetwork needs obs_dim >= 1 and n_actions >= 1, got {obs_dim}, {n_actions}")
        heads = {"value_out": 1, "advantage_out": int(n_actions)} if dueling else {"q_out": int(n_actions)}
        super().__init__(obs_dim, hidden_sizes, heads, hidden_bias)
        self.obs_dim, self.n_actions, self.dueling = int(obs_dim), int(n_actions), bool(dueling)

    def forward(self, x: torch.Tensor, return_parts: bool = False):
        """Q-values, shape (batch, n_actions). With ``return_parts`` (dueling only):
        ``(q, value, advantages)`` with shapes (batch, n), (batch, 1), (batch, n)."""
        x = self.features(x)
        if not self.dueling:
            q = self.head("q_out")(x)
            return (q, None, None) if return_parts else q
        value = self.head("value_out")(x)
        advantages = self.head("advantage_out")(x)
        q = value + advantages - advantages.mean(dim=1, keepdim=True)
        return (q, value, advantages) if return_parts else q


# --------------------------------------------------------------------------- math
def td_target(
    rewards: torch.Tensor,
    next_obs: torch.Tensor,
    dones: torch.Tensor,
    gamma: float,
    q_network: nn.Module,
    target_network: nn.Module,
    double_dqn: bool,
) -> torch.Tensor:
    """The one-step TD target ``r + gamma * (1 - done) * Q_target(s', a*)``.

    Plain DQN: ``a* = argmax_a Q_target(s', a)``. Double DQN: the online network picks
    ``a* = argmax_a Q_online(s', a)`` and the target network only values it, which
    curbs the over-estimation of taking a max over noisy estimates.
    """
    with torch.no_grad():
        target_q = target_network(next_obs)
        if double_dqn:
            best = q_network(next_obs).argmax(dim=1, keepdim=True)
            next_value = target_q.gather(1, best).squeeze(1)
        else:
            next_value = target_q.max(dim=1).values
        return rewards + gamma * (1.0 - dones) * next_value


# --------------------------------------------------------------------------- agent
class DQNAgent:
    """A DQN agent (``rl.agents.base.Agent``); see the module docstring for how the loop drives it."""

    name = "dqn"
    q_network_name = "q_network"

    def __init__(
        self, obs_dim: int, n_actions: int, config: DQNConfig, total_steps: int, seed: int | None = None
    ) -> None:
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        self.config = config
        self.obs_dim, self.n_actions = int(obs_dim), int(n_actions)
        #: the spaces the agent acts in (``build`` keeps the environment's own)
        self.observation_space: Any = spaces.Box(-np.inf, np.inf, shape=(self.obs_dim,), dtype=np.float32)
        self.action_space: Any = spaces.Discrete(self.n_actions)
        self.total_steps = int(total_steps)
        self.seed = seed
        # seeded initial weights without disturbing the caller's global torch RNG
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            args = (obs_dim, n_actions, config.hidden_sizes, config.dueling, config.hidden_bias)
            self.q_network = QNetwork(*args)
            self.target_network = QNetwork(*args)
        self.target_network.load_state_dict(self.q_network.state_dict())
        for p in self.target_network.parameters():
            p.requires_grad_(False)
        # parameter lists fetched once: parameters() walks the module tree on every call
        self._params: list[torch.Tensor] = list(self.q_network.parameters())
        self._target_params: list[torch.Tensor] = list(self.target_network.parameters())
        self.optimizer = adam(self._params, config.learning_rate)
        self.replay_buffer = ReplayBuffer(config.buffer_size, obs_dim, seed=seed)
        self._rng = random.Random(seed)
        self._exploration_steps = config.exploration_fraction * self.total_steps
        #: optimisation steps taken so far
        self.updates = 0

    @classmethod
    def unsupported(cls, observation_space, action_space) -> str | None:
        """Why a DQN cannot drive an environment with these spaces (its actions must be a
        discrete set), or None when it can."""
        if not isinstance(action_space, spaces.Discrete):
            kind = "continuous" if isinstance(action_space, spaces.Box) else type(action_space).__name__
            return (
                f"has a {kind} action space ({action_space}); the DQN agent needs a discrete one "
                "(gymnasium.spaces.Discrete), e.g. CartPole-v1 or neurodash/Breakout-v0; for continuous "
                "actions use --agent sac"
            )
        return None

    @classmethod
    def build(
        cls, observation_space, action_space, config: DQNConfig, *, total_steps: int, seed: int | None = None
    ) -> DQNAgent:
        """A fresh agent for an environment with these spaces (see :meth:`unsupported`)."""
        problem = cls.unsupported(observation_space, action_space)
        if problem:
            raise ValueError(f"the environment {problem}")
        agent = cls(int(np.prod(observation_space.shape)), int(action_space.n), config, total_steps, seed)
        agent.observation_space, agent.action_space = observation_space, action_space
        return agent

    # ---- acting
    def epsilon(self, step: int) -> float:
        c = self.config
        return linear_schedule(c.start_e, c.end_e, self._exploration_steps, step)

    def act(self, obs: np.ndarray, step: int, *, greedy: bool = False) -> Decision:
        """Epsilon-greedy action for ``obs`` (``greedy``: the highest Q-value, never a random
        move, and the exploration stream untouched). The network always runs (batch of 1),
        even when exploring, so the Q-values -- and the probe's hooks -- see every state."""
        epsilon = 0.0 if greedy else self.epsilon(step)
        x = torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)  # no copy for float32 numpy
        with torch.no_grad():
            q_t, v_t, a_t = self.q_network(x, return_parts=True)
        q = q_t[0].tolist()
        value = advantages = None
        if v_t is not None:
            value, advantages = float(v_t[0, 0]), a_t[0].tolist()
        explored = not greedy and self._rng.random() < epsilon
        if explored:
            action = self._rng.randrange(self.n_actions)
        else:
            action = max(range(len(q)), key=q.__getitem__)
        return Decision(
            action, explored=explored, q=q, value=value, advantages=advantages, exploration={"epsilon": epsilon}
        )

    def observe(self, obs, action: int, reward: float, next_obs, terminated: bool) -> None:
        """Store one transition. Pass ``terminated`` only (not ``truncated``): a time limit
        is not the end of the game, so its next state still gets a bootstrapped value."""
        self.replay_buffer.add(obs, action, reward, next_obs, terminated)

    # ---- learning
    def learn(self, step: int) -> Update | None:
        """One optimisation step when due (its loss and figures), else None.

        Due when ``step >= learning_starts``, the buffer holds a batch, and ``step`` is a
        multiple of ``train_frequency``. The target network is refreshed (copied, or
        moved by ``tau``) every ``target_network_frequency`` steps once learning started.
        Gradients stay in ``p.grad`` after the call, for the probe.
        """
        c = self.config
        if step < c.learning_starts or len(self.replay_buffer) < c.batch_size:
            return None
        update = None
        if step % c.train_frequency == 0:
            batch = self.replay_buffer.sample(c.batch_size)
            target = td_target(
                batch.rewards, batch.next_obs, batch.dones, c.gamma, self.q_network, self.target_network, c.double_dqn
            )
            q_taken = self.q_network(batch.obs).gather(1, batch.actions.unsqueeze(1)).squeeze(1)
            loss = F.huber_loss(q_taken, target, delta=c.huber_delta)

            self.optimizer.zero_grad()
            loss.backward()
            if c.max_grad_norm is not None:
                grad_norm = float(nn.utils.clip_grad_norm_(self._params, c.max_grad_norm))
            else:
                grad_norm = _grad_norm(self._params)
            self.optimizer.step()

            self.updates += 1
            update = Update(
                losses={"loss": float(loss.detach())},
                stats={
                    "q_mean": float(q_taken.detach().mean()),
                    "td_target_mean": float(target.mean()),
                    "grad_norm": grad_norm,
                },
                networks=("q_network",),
            )
        if step % c.target_network_frequency == 0:
            self.update_target()
        return update

    def update_target(self) -> None:
        """Move the target network towards the online one by ``tau`` (1.0: copy)."""
        tau = self.config.tau
        with torch.no_grad():
            if tau >= 1.0:
                self.target_network.load_state_dict(self.q_network.state_dict())
            else:
                torch._foreach_lerp_(self._target_params, self._params, tau)

    # ---- introspection and persistence
    def layer_infos(self) -> list[LayerInfo]:
        return self.q_network.layer_infos()

    def networks(self) -> dict[str, nn.Module]:
        return {"q_network": self.q_network, "target_network": self.target_network}

    def network_infos(self, feature_names: Sequence[str] = (), action_names: Sequence[str] = ()) -> list[NetworkInfo]:
        """The Q-network (watched live) and its target network: inputs are the observation's
        features, outputs one Q-value per action."""
        layers = self.layer_infos()
        inputs, outputs = feature_labels(feature_names, self.obs_dim), action_labels(action_names, self.n_actions)
        return [
            NetworkInfo("q_network", layers, inputs, outputs, watched=True),
            NetworkInfo("target_network", layers, inputs, outputs, watched=False, target_of="q_network"),
        ]

    def obs_samples(self, n: int = 1000) -> np.ndarray:
        """Up to ``n`` recent observations from the replay buffer (for dead-neuron checks)."""
        return self.replay_buffer.recent_observations(n)

    def state_dict(self) -> dict[str, Any]:
        return {
            "networks": {name: net.state_dict() for name, net in self.networks().items()},
            "optimizer": self.optimizer.state_dict(),
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load the networks (and the optimiser, when present) saved by :meth:`state_dict`
        (a checkpoint's ``networks`` fit too; without a target network, it starts as a copy)."""
        networks = state["networks"]
        self.q_network.load_state_dict(networks["q_network"])
        self.target_network.load_state_dict(networks.get("target_network", networks["q_network"]))
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
        self.updates = int(state.get("updates", self.updates))


def _grad_norm(params: Sequence[torch.Tensor]) -> float:
    norms = [p.grad.detach().norm() for p in params if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0
