"""Soft Actor-Critic (SAC): an actor that maximises reward plus entropy, twin soft Q critics
with slowly following target copies, and an entropy temperature ``alpha`` tuned towards a
target entropy -- for continuous (Box) actions and for discrete ones.

Like every agent it implements ``rl.agents.base.Agent`` and trains in the one loop::

    decision = agent.act(obs, step)       # a sampled action, its probabilities or mean/std, Q1/Q2
    agent.observe(obs, decision.action, reward, next_obs, terminated)
    update = agent.learn(step)            # critics, then (every policy_frequency) actor and alpha

Its networks: ``actor``, ``critic_1``, ``critic_2`` (watched live by the probe) and
``target_critic_1``, ``target_critic_2``. Names follow the math (``td_target``,
``target_entropy``). After CleanRL's ``sac_continuous_action.py`` (continuous) and
``sac_atari.py`` (discrete: the expectation over actions is taken exactly).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from rl.agents.base import Decision, Update
from rl.agents.mlp import adam
from rl.agents.replay import ReplayBuffer
from rl.agents.sac_config import PRESETS, SACConfig, config_for_env
from rl.agents.sac_networks import CategoricalActor, Critic, GaussianActor
from rl.telemetry import NetworkInfo, action_labels, feature_labels

__all__ = ["PRESETS", "SACAgent", "SACConfig", "config_for_env"]


def soft_update(target: Sequence[torch.Tensor], source: Sequence[torch.Tensor], tau: float) -> None:
    """Move ``target`` towards ``source`` by ``tau`` (1.0: copy)."""
    with torch.no_grad():
        torch._foreach_lerp_(list(target), list(source), tau)


class SACAgent:
    """A SAC agent (``rl.agents.base.Agent``); see the module docstring."""

    name = "sac"

    def __init__(
        self, observation_space, action_space, config: SACConfig, total_steps: int, seed: int | None = None
    ) -> None:
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        self.config, self.total_steps, self.seed = config, int(total_steps), seed
        self.observation_space, self.action_space = observation_space, action_space
        self.discrete = isinstance(action_space, spaces.Discrete)
        #: a discrete critic gives a Q-value per action (the attribution explains it)
        self.q_network_name: str | None = "critic_1" if self.discrete else None
        self.obs_dim = int(np.prod(observation_space.shape))
        self.action_dim = int(action_space.n) if self.discrete else int(np.prod(action_space.shape))
        hidden = config.hidden_sizes
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            self.actor: CategoricalActor | GaussianActor = (
                CategoricalActor(self.obs_dim, self.action_dim, hidden)
                if self.discrete
                else GaussianActor(self.obs_dim, self.action_dim, hidden, action_space.low, action_space.high)
            )
            self.critic_1 = Critic(self.obs_dim, self.action_dim, hidden, self.discrete)
            self.critic_2 = Critic(self.obs_dim, self.action_dim, hidden, self.discrete)
            self.target_critic_1 = Critic(self.obs_dim, self.action_dim, hidden, self.discrete)
            self.target_critic_2 = Critic(self.obs_dim, self.action_dim, hidden, self.discrete)
        for target, online in ((self.target_critic_1, self.critic_1), (self.target_critic_2, self.critic_2)):
            target.load_state_dict(online.state_dict())
            target.requires_grad_(False)
        self._critic_params: list[torch.Tensor] = [*self.critic_1.parameters(), *self.critic_2.parameters()]
        self._target_params: list[torch.Tensor] = [
            *self.target_critic_1.parameters(),
            *self.target_critic_2.parameters(),
        ]
        self.actor_optimizer = adam(self.actor.parameters(), config.actor_learning_rate)
        self.critic_optimizer = adam(self._critic_params, config.critic_learning_rate)
        # the temperature, learned as its log (alpha stays positive)
        self.log_alpha = torch.tensor([math.log(config.alpha)], requires_grad=config.autotune)
        self.alpha_optimizer = adam([self.log_alpha], config.alpha_learning_rate)
        self.target_entropy = (
            config.target_entropy_scale * math.log(self.action_dim) if self.discrete else -float(self.action_dim)
        )
        self.replay_buffer = ReplayBuffer(
            config.buffer_size, self.obs_dim, seed=seed, action_dim=None if self.discrete else self.action_dim
        )
        self._rng = np.random.default_rng(seed)
        self._generator = torch.Generator().manual_seed(seed if seed is not None else int(self._rng.integers(2**31)))
        #: learning steps taken so far
        self.updates = 0

    @property
    def alpha(self) -> float:
        return float(self.log_alpha.detach().exp())

    # ---- the agent interface: building
    @classmethod
    def unsupported(cls, observation_space, action_space) -> str | None:
        """Why SAC cannot drive an environment with these spaces (its actions must be a
        discrete set or a box of numbers with finite bounds), or None when it can."""
        if isinstance(action_space, spaces.Discrete):
            return None
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            return (
                f"has a {type(action_space).__name__} action space ({action_space}); SAC needs a Discrete or a 1-D Box"
            )
        if not (np.isfinite(action_space.low).all() and np.isfinite(action_space.high).all()):
            return f"has an unbounded action space ({action_space}); SAC needs finite bounds to squash its actions into"
        return None

    @classmethod
    def build(
        cls, observation_space, action_space, config: SACConfig, *, total_steps: int, seed: int | None = None
    ) -> SACAgent:
        problem = cls.unsupported(observation_space, action_space)
        if problem:
            raise ValueError(f"the environment {problem}")
        return cls(observation_space, action_space, config, total_steps, seed)

    # ---- acting
    def act(self, obs: np.ndarray, step: int, *, greedy: bool = False) -> Decision:
        """A sampled action for ``obs`` (uniformly random before ``learning_starts``; the
        policy's most likely one with ``greedy``), with what the policy and the critics say
        of it. The networks always run (batch of 1), so the probe sees every state."""
        x = torch.as_tensor(obs, dtype=torch.float32).reshape(1, -1)
        random_phase = not greedy and step < self.config.learning_starts
        exploration = {"alpha": self.alpha}
        with torch.no_grad():
            if self.discrete:
                return self._act_discrete(x, random_phase, greedy, exploration)
            return self._act_continuous(x, random_phase, greedy, exploration)

    def _categorical(self) -> CategoricalActor:
        assert isinstance(self.actor, CategoricalActor), "a discrete SAC's actor is categorical"
        return self.actor

    def _gaussian(self) -> GaussianActor:
        assert isinstance(self.actor, GaussianActor), "a continuous SAC's actor is Gaussian"
        return self.actor

    def _act_discrete(self, x, random_phase: bool, greedy: bool, exploration) -> Decision:
        probs_t, _log = self._categorical().probabilities(x)
        probs = probs_t[0]
        likeliest = int(probs.argmax())
        if greedy:
            action = likeliest
        elif random_phase:
            action = int(self._rng.integers(self.action_dim))
        else:
            action = int(torch.multinomial(probs, 1, generator=self._generator))
        q1, q2 = self.critic_1(x)[0], self.critic_2(x)[0]
        return Decision(
            action,
            explored=action != likeliest,
            q=torch.minimum(q1, q2).tolist(),
            probs=probs.tolist(),
            critics={"critic_1": float(q1[action]), "critic_2": float(q2[action])},
            exploration=exploration,
        )

    def _act_continuous(self, x, random_phase: bool, greedy: bool, exploration) -> Decision:
        actor = self._gaussian()
        mean, log_std = actor.distribution(x)
        likeliest, spread = actor.describe(mean, log_std)
        if greedy:
            action_t = likeliest
        elif random_phase:
            low, high = self.action_space.low, self.action_space.high
            action_t = torch.as_tensor(self._rng.uniform(low, high), dtype=torch.float32).reshape(1, -1)
        else:
            noise = torch.randn(mean.shape, generator=self._generator)
            y = torch.tanh(mean + log_std.exp() * noise)
            action_t = y * actor.action_scale + actor.action_bias
        xa = torch.cat([x, action_t], dim=1)
        return Decision(
            action_t[0].numpy().astype(self.action_space.dtype),
            explored=random_phase or None,
            mean=likeliest[0].tolist(),
            std=spread[0].tolist(),
            critics={"critic_1": float(self.critic_1(xa)), "critic_2": float(self.critic_2(xa))},
            exploration=exploration,
        )

    def observe(self, obs, action, reward: float, next_obs, terminated: bool) -> None:
        """Store one transition (``terminated`` only: a time limit is not an end)."""
        self.replay_buffer.add(obs, action, reward, next_obs, terminated)

    # ---- learning
    def learn(self, step: int) -> Update | None:
        """One learning step when due: the critics towards the soft TD target, then every
        ``policy_frequency`` steps the actor (``policy_frequency`` times) and alpha; the
        target critics follow. Each network's gradients stay in ``p.grad`` afterwards."""
        c = self.config
        if step < c.learning_starts or len(self.replay_buffer) < c.batch_size or step % c.train_frequency:
            return None
        batch = self.replay_buffer.sample(c.batch_size)
        critic_loss, q_mean = self._learn_critics(batch)
        losses, stats = {"critic_loss": critic_loss}, {"q_mean": q_mean}
        networks: tuple[str, ...] = ("critic_1", "critic_2")
        self.updates += 1
        if self.updates % c.policy_frequency == 0:
            for _ in range(c.policy_frequency):
                actor_loss, entropy, alpha_loss = self._learn_actor(batch.obs)
            losses.update(actor_loss=actor_loss, **({"alpha_loss": alpha_loss} if c.autotune else {}))
            stats.update(entropy=entropy, target_entropy=self.target_entropy, alpha=self.alpha)
            networks += ("actor",)
        if self.updates % c.target_network_frequency == 0:
            soft_update(self._target_params, self._critic_params, c.tau)
        return Update(losses=losses, stats=stats, networks=networks)

    def td_target(self, rewards, next_obs, dones) -> torch.Tensor:
        """The soft TD target ``r + gamma (1 - done) (min Q_target(s', a') - alpha log pi(a'|s'))``,
        a' from the current policy (discrete actions: its expectation over all of them)."""
        alpha = self.alpha
        with torch.no_grad():
            if self.discrete:
                probs, log_probs = self._categorical().probabilities(next_obs)
                q = torch.minimum(self.target_critic_1(next_obs), self.target_critic_2(next_obs))
                next_value = (probs * (q - alpha * log_probs)).sum(dim=1)
            else:
                next_action, next_log_pi = self._gaussian().sample(next_obs)
                xa = torch.cat([next_obs, next_action], dim=1)
                q = torch.minimum(self.target_critic_1(xa), self.target_critic_2(xa))
                next_value = (q - alpha * next_log_pi).view(-1)
            return rewards + self.config.gamma * (1.0 - dones) * next_value

    def _critic_values(self, critic: nn.Module, obs, actions) -> torch.Tensor:
        if self.discrete:
            return critic(obs).gather(1, actions.long().unsqueeze(1)).view(-1)
        return critic(torch.cat([obs, actions], dim=1)).view(-1)

    def _learn_critics(self, batch) -> tuple[float, float]:
        target = self.td_target(batch.rewards, batch.next_obs, batch.dones)
        q1 = self._critic_values(self.critic_1, batch.obs, batch.actions)
        q2 = self._critic_values(self.critic_2, batch.obs, batch.actions)
        loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
        self.critic_optimizer.zero_grad()
        loss.backward()
        self.critic_optimizer.step()
        return float(loss.detach()), float(torch.minimum(q1, q2).detach().mean())

    def _learn_actor(self, obs) -> tuple[float, float, float]:
        """(actor loss, the policy's entropy over the batch, alpha loss)."""
        alpha = self.alpha
        if self.discrete:
            probs, log_probs = self._categorical().probabilities(obs)
            with torch.no_grad():  # the critics are not trained by the actor's loss
                q = torch.minimum(self.critic_1(obs), self.critic_2(obs))
            actor_loss = (probs * (alpha * log_probs - q)).sum(dim=1).mean()
            entropy = -(probs * log_probs).sum(dim=1)
        else:
            action, log_pi = self._gaussian().sample(obs)
            xa = torch.cat([obs, action], dim=1)
            # the gradient flows through the critics to the action, not into their weights:
            # they are not trained by the actor's loss (and the backward pass is a third cheaper)
            for p in self._critic_params:
                p.requires_grad_(False)
            try:
                q = torch.minimum(self.critic_1(xa), self.critic_2(xa))
            finally:
                for p in self._critic_params:
                    p.requires_grad_(True)
            actor_loss = (alpha * log_pi - q).mean()
            entropy = -log_pi.view(-1)  # a one-sample estimate, as the alpha loss uses
        self.actor_optimizer.zero_grad()
        actor_loss.backward()
        self.actor_optimizer.step()
        alpha_loss = 0.0
        if self.config.autotune:
            # push log alpha up when the entropy is below its target, down when above
            loss = (self.log_alpha.exp() * (entropy.detach() - self.target_entropy)).mean()
            self.alpha_optimizer.zero_grad()
            loss.backward()
            self.alpha_optimizer.step()
            alpha_loss = float(loss.detach())
        return float(actor_loss.detach()), float(entropy.detach().mean()), alpha_loss

    # ---- introspection and persistence
    def networks(self) -> dict[str, nn.Module]:
        return {
            "actor": self.actor,
            "critic_1": self.critic_1,
            "critic_2": self.critic_2,
            "target_critic_1": self.target_critic_1,
            "target_critic_2": self.target_critic_2,
        }

    def network_infos(self, feature_names: Sequence[str] = (), action_names: Sequence[str] = ()) -> list[NetworkInfo]:
        """The actor and the critics (watched live) and the target critics: the actor reads
        the observation's features; a continuous critic reads them and the action."""
        features = feature_labels(feature_names, self.obs_dim)
        actions = action_labels(action_names, self.action_dim)
        if self.discrete:
            actor_out, critic_in, critic_out = [f"logit {a}" for a in actions], features, [f"Q {a}" for a in actions]
        else:
            actor_out = [f"mean {a}" for a in actions] + [f"log std {a}" for a in actions]
            critic_in, critic_out = features + [f"action: {a}" for a in actions], ["Q"]
        infos = [NetworkInfo("actor", self.actor.layer_infos(), features, actor_out, watched=True)]
        critics = {"critic_1": self.critic_1, "critic_2": self.critic_2}
        for name, critic in critics.items():
            infos.append(NetworkInfo(name, critic.layer_infos(), critic_in, critic_out, watched=True))
        for name, critic in critics.items():
            infos.append(
                NetworkInfo(
                    f"target_{name}",
                    critic.layer_infos(),
                    critic_in,
                    critic_out,
                    watched=False,
                    target_of=name,
                )
            )
        return infos

    def obs_samples(self, n: int = 1000) -> np.ndarray:
        """Up to ``n`` recent observations from the replay buffer (for dead-neuron checks)."""
        return self.replay_buffer.recent_observations(n)

    def state_dict(self) -> dict[str, Any]:
        return {
            "networks": {name: net.state_dict() for name, net in self.networks().items()},
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "alpha_optimizer": self.alpha_optimizer.state_dict(),
            "log_alpha": self.log_alpha.detach().clone(),
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load what :meth:`state_dict` saved (a checkpoint's ``networks`` at least)."""
        for name, net in self.networks().items():
            net.load_state_dict(state["networks"][name])
        for key, optimizer in (
            ("actor_optimizer", self.actor_optimizer),
            ("critic_optimizer", self.critic_optimizer),
            ("alpha_optimizer", self.alpha_optimizer),
        ):
            if key in state:
                optimizer.load_state_dict(state[key])
        if "log_alpha" in state:
            with torch.no_grad():
                self.log_alpha.copy_(torch.as_tensor(state["log_alpha"]).reshape(1))
        self.updates = int(state.get("updates", self.updates))
