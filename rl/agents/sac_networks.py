"""The networks of Soft Actor-Critic: a policy (the actor) and a soft Q-function (a critic),
for continuous (Box) and discrete actions.

Every network is an :class:`rl.agents.mlp.MLP` (hidden layers ``fcN`` + ``reluN``, like the
DQN's) with one output layer:

* the continuous actor's ``policy_out`` gives, per action dimension, the Gaussian's mean
  and (squashed into [LOG_STD_MIN, LOG_STD_MAX]) its log standard deviation, side by
  side; actions are ``tanh``-squashed samples scaled into the action space's bounds;
* the discrete actor's ``logits_out`` gives one logit per action;
* a critic's ``q_out`` gives Q(s, a): one number for a continuous critic, which reads the
  state and the action side by side as its input, one per action for a discrete one.

After CleanRL's ``sac_continuous_action.py`` and ``sac_atari.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from rl.agents.mlp import MLP

#: Bounds of the continuous policy's log standard deviation (as CleanRL and SB3).
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class Critic(MLP):
    """A soft Q-function. Continuous actions: Q(s, a) of ``cat(state, action)``, one number;
    discrete: Q(s, ·), one number per action."""

    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: Sequence[int], discrete: bool) -> None:
        n_in = obs_dim if discrete else obs_dim + action_dim
        super().__init__(n_in, hidden_sizes, {"q_out": action_dim if discrete else 1})


class GaussianActor(MLP):
    """The continuous policy: a tanh-squashed Gaussian per action dimension, scaled into
    the action space's ``[low, high]``."""

    action_scale: torch.Tensor  # (action_dim,), buffers: saved with the weights, moved with them
    action_bias: torch.Tensor

    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: Sequence[int], low, high) -> None:
        super().__init__(obs_dim, hidden_sizes, {"policy_out": 2 * action_dim})
        self.action_dim = int(action_dim)
        low, high = np.asarray(low, dtype=np.float32), np.asarray(high, dtype=np.float32)
        self.register_buffer("action_scale", torch.as_tensor((high - low) / 2.0))
        self.register_buffer("action_bias", torch.as_tensor((high + low) / 2.0))

    def distribution(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log std) of the pre-squash Gaussian, each (batch, action_dim)."""
        out = self(obs)
        mean, log_std = out[:, : self.action_dim], torch.tanh(out[:, self.action_dim :])
        return mean, LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1.0)

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(action, log pi(action)) of a reparameterised sample; log pi is (batch, 1)."""
        mean, log_std = self.distribution(obs)
        std = log_std.exp()
        normal = torch.distributions.Normal(mean, std)
        x = normal.rsample()
        y = torch.tanh(x)
        action = y * self.action_scale + self.action_bias
        # the change of variables of the squash and the scaling
        log_prob = normal.log_prob(x) - torch.log(self.action_scale * (1 - y.pow(2)) + 1e-6)
        return action, log_prob.sum(dim=1, keepdim=True)

    def describe(self, mean: torch.Tensor, log_std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The policy in the action's units: its most likely action ``tanh(mean)``, scaled,
        and the spread of its actions around it (the std of the Gaussian through the slope
        of the squash at the mean)."""
        squashed = torch.tanh(mean)
        return (
            squashed * self.action_scale + self.action_bias,
            log_std.exp() * (1 - squashed.pow(2)) * self.action_scale,
        )


class CategoricalActor(MLP):
    """The discrete policy: a categorical distribution over the actions, from logits."""

    def __init__(self, obs_dim: int, n_actions: int, hidden_sizes: Sequence[int]) -> None:
        super().__init__(obs_dim, hidden_sizes, {"logits_out": n_actions})

    def probabilities(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(probabilities, log probabilities), each (batch, n_actions)."""
        logits = self(obs)
        return torch.softmax(logits, dim=1), torch.log_softmax(logits, dim=1)
