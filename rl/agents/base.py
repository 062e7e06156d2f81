"""The agent interface: what the one training loop (``rl.loop.run_loop``) asks of every agent.

An agent acts, remembers, learns, and says what it has -- DQN today, SAC, a
Stable-Baselines3 model or a watched PyTorch loop next. Per environment step the loop
calls::

    decision = agent.act(obs, step)         # the action and what the agent knew about it
    agent.observe(obs, decision.action, reward, next_obs, terminated)
    update = agent.learn(step)              # one learning step when due, else None

What it knows about a decision goes in a :class:`Decision` (Q-values per action, action
probabilities, a policy's mean and std, a state value, whether it explored); a learning
step reports its losses in an :class:`Update`. Both fit discrete and continuous actions.
Its networks are named (``{"q_network": ..., "target_network": ...}``; SAC: ``actor``,
``critic_1``, ``critic_2``, ``target_critic_1``, ``target_critic_2``) and described by
:meth:`Agent.network_infos`, which say which of them the probe watches live.

No torch at import: the command line lists agents without loading it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from torch import nn

    from rl.telemetry import NetworkInfo

#: An action: an index into a discrete set, or a vector of numbers (continuous).
Action = Any


def plain_action(action: Action) -> int | list[float]:
    """An action as plain data: an int for a discrete action (Python's or numpy's), else
    the list of its numbers (a continuous action, flattened)."""
    import numbers

    import numpy as np

    if isinstance(action, numbers.Integral):
        return int(action)
    return [float(v) for v in np.ravel(action)]


@dataclass(frozen=True, slots=True)
class Decision:
    """What an agent chose for one observation, and what it knew when it chose.

    Only ``action`` is required; an agent fills what it knows. ``explored`` is True when
    the action is not the agent's best guess (an epsilon-greedy random move, a sampled
    action other than the most likely one) and None when the agent does not say.
    ``critics``: each critic's estimate of the action taken, by critic (SAC's twin critics:
    ``{"critic_1": ..., "critic_2": ...}``). ``exploration`` holds the settings that govern
    exploring at this step, by name (``{"epsilon": 0.3}``; a SAC agent: its temperature
    ``alpha``).
    """

    action: Action
    explored: bool | None = None
    q: Sequence[float] | None = None
    probs: Sequence[float] | None = None
    mean: Sequence[float] | None = None
    std: Sequence[float] | None = None
    value: float | None = None
    advantages: Sequence[float] | None = None
    critics: dict[str, float] | None = None
    exploration: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Update:
    """One learning step: its ``losses`` by name (DQN ``{"loss"}``; SAC ``{"critic_loss",
    "actor_loss", "alpha_loss"}``), other figures of the step in ``stats`` (mean Q, TD
    target, gradient norm, entropy, ...), and the ``networks`` whose parameters it changed
    (their gradients are still in ``p.grad`` when the loop reports the update)."""

    losses: dict[str, float]
    stats: dict[str, float] = field(default_factory=dict)
    networks: tuple[str, ...] = ()


@runtime_checkable
class Agent(Protocol):
    """What ``rl.loop.run_loop``, the probe and the checkpoints need of an agent.

    An agent class also offers two classmethods: ``unsupported(observation_space,
    action_space)`` -- why it cannot drive an environment with these spaces, in words that
    follow "environment X ...", or None -- and ``build(observation_space, action_space,
    config, *, total_steps, seed)``; see :class:`AgentSpec`.
    """

    #: the name used on the command line and in checkpoints ("dqn")
    name: str
    #: the agent's config dataclass (saved with the run and the checkpoints)
    config: Any
    #: the network whose outputs are a Q-value per action, which the attribution explains
    #: (a DQN's "q_network", a discrete SAC's "critic_1"); None when none has them
    q_network_name: str | None

    def act(self, obs: np.ndarray, step: int, *, greedy: bool = False) -> Decision:
        """The action for ``obs`` at (0-based) ``step``, with what the agent knew; with
        ``greedy``, its best choice without exploring (for evaluation)."""

    def observe(self, obs: np.ndarray, action: Action, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        """Remember one transition (``terminated`` only: a time limit is not an end)."""

    def learn(self, step: int) -> Update | None:
        """One learning step when one is due, else None."""

    def networks(self) -> dict[str, nn.Module]:
        """Every network by name, the one shown first first."""

    def network_infos(self, feature_names: Sequence[str], action_names: Sequence[str]) -> list[NetworkInfo]:
        """Each network's layers and the names of its inputs and outputs; which are watched."""

    def obs_samples(self, n: int = 1000) -> np.ndarray:
        """Up to ``n`` recent observations (for dead-neuron checks of a checkpoint)."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to carry on training later (networks, optimisers, counters)."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (networks at least)."""


class AgentClass(Protocol):
    """What the worker asks of an agent *class* (its classmethods), before an agent exists."""

    name: str

    def unsupported(self, observation_space: Any, action_space: Any) -> str | None: ...

    def build(
        self, observation_space: Any, action_space: Any, config: Any, *, total_steps: int, seed: int | None = None
    ) -> Agent: ...


@dataclass(frozen=True)
class AgentSpec:
    """Where an agent lives, so the command line can list it without importing torch:
    ``module`` defines the agent class ``agent_class``, its config dataclass
    ``config_class`` and ``make_config(env_id, **overrides)`` (the environment's preset,
    then the overrides); ``config_module`` is the file the config class is written in,
    when not ``module`` (the command line reads its fields from there)."""

    module: str
    agent_class: str
    config_class: str
    make_config: str
    config_module: str | None = None

    @property
    def config_source(self) -> str:
        """The module whose source defines ``config_class``."""
        return self.config_module or self.module

    def load(self) -> tuple[AgentClass, Any, Any]:
        """(agent class, config class, make_config) -- imports the module (and torch)."""
        import importlib

        module = importlib.import_module(self.module)
        return getattr(module, self.agent_class), getattr(module, self.config_class), getattr(module, self.make_config)


#: Agents neurodash can train, by the name used on the command line.
AGENTS: dict[str, AgentSpec] = {
    "dqn": AgentSpec("rl.agents.dqn", "DQNAgent", "DQNConfig", "config_for_env"),
    "sac": AgentSpec("rl.agents.sac", "SACAgent", "SACConfig", "config_for_env", "rl.agents.sac_config"),
}


def agent_spec(name: str) -> AgentSpec:
    """The spec of agent ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return AGENTS[name]
    except KeyError:
        raise ValueError(f"unknown agent {name!r}; known: {', '.join(sorted(AGENTS))}") from None
