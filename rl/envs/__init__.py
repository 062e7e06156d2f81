"""Environments the agents train on: our Breakout, and any Gymnasium environment with a
vector observation (CartPole-v1, Acrobot-v1, ...; the agent says which actions it drives).

Importing this package registers our Breakout as ``"neurodash/Breakout-v0"``.
:func:`make_env` builds an environment and refuses, with a one-line :class:`EnvError`,
one whose observation is not a flat vector of numbers; :func:`feature_names` and
:func:`action_names` give the labels the dashboard puts on the network's input and
output neurons.
"""

from __future__ import annotations

import os

# Pictures are only ever drawn off screen (render_mode="rgb_array"): Gymnasium's
# classic-control environments draw with pygame, whose SDL then needs no display.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rl.envs.breakout import ACTION_NAMES, BreakoutEnv
from rl.telemetry import ActionSpace, action_labels, feature_labels

__all__ = ["BREAKOUT_ID", "BreakoutEnv", "EnvError", "action_names", "action_space_info", "feature_names", "make_env"]

BREAKOUT_ID = "neurodash/Breakout-v0"

if BREAKOUT_ID not in gym.registry:
    # No max_episode_steps here: the env truncates itself at ``max_steps`` (default 1000),
    # so a BreakoutEnv built directly behaves exactly like one from gym.make.
    gym.register(id=BREAKOUT_ID, entry_point="rl.envs.breakout:BreakoutEnv")


class EnvError(ValueError):
    """An environment id neurodash cannot build, or an environment it cannot train on."""


#: Input labels for well-known Gymnasium environments, by ``env.spec.name``.
KNOWN_FEATURES: dict[str, list[str]] = {
    "CartPole": ["cart position", "cart velocity", "pole angle", "pole angular velocity"],
    "Acrobot": [
        "cos(angle 1)",
        "sin(angle 1)",
        "cos(angle 2)",
        "sin(angle 2)",
        "angular velocity 1",
        "angular velocity 2",
    ],
    "MountainCar": ["car position", "car velocity"],
    "MountainCarContinuous": ["car position", "car velocity"],
    "Pendulum": ["cos(angle)", "sin(angle)", "angular velocity"],
    "LunarLander": [
        "x",
        "y",
        "x velocity",
        "y velocity",
        "angle",
        "angular velocity",
        "left leg touching",
        "right leg touching",
    ],
}

#: Output labels for well-known Gymnasium environments, by ``env.spec.name``.
KNOWN_ACTIONS: dict[str, list[str]] = {
    "CartPole": ["push left", "push right"],
    "Acrobot": ["torque -1", "torque 0", "torque +1"],
    "MountainCar": ["push left", "no push", "push right"],
    "LunarLander": ["do nothing", "fire left engine", "fire main engine", "fire right engine"],
    # continuous actions: a name per number of the action vector
    "MountainCarContinuous": ["push"],
    "Pendulum": ["torque"],
}


def make_env(env_id: str, seed: int | None = None, render_mode: str | None = None) -> gym.Env:
    """Build ``env_id`` and check that neurodash can watch an agent on it.

    With a ``seed``, the environment is reset once with it (and its action space seeded),
    so later plain ``env.reset()`` calls continue a reproducible stream.

    Raises :class:`EnvError` for an id Gymnasium does not know (or cannot build, e.g. a
    missing optional dependency), and for an environment whose observation is not a flat
    vector of numbers.
    """
    if not isinstance(env_id, str) or not env_id.strip():
        raise EnvError(f"environment id must be a non-empty string, got {env_id!r}")
    try:
        env = gym.make(env_id, render_mode=render_mode)
    except gym.error.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EnvError(f"cannot make environment {env_id!r}: {first_line}") from None
    except TypeError as exc:  # e.g. an env whose constructor takes no render_mode
        raise EnvError(f"cannot make environment {env_id!r}: {exc}") from None

    problem = _unsupported(env)
    if problem:
        env.close()
        raise EnvError(f"environment {env_id!r} {problem}")
    if seed is not None:
        env.reset(seed=int(seed))
        env.action_space.seed(int(seed))
        env.observation_space.seed(int(seed))
    return env


def _unsupported(env: gym.Env) -> str | None:
    """Why neurodash cannot watch an agent on ``env`` (its observation must be a flat vector
    of numbers), or None. Whether the agent can drive its actions, the agent says."""
    obs = env.observation_space
    if not isinstance(obs, spaces.Box) or len(obs.shape) != 1:
        return (
            f"has a {type(obs).__name__} observation of shape {getattr(obs, 'shape', None)}; "
            "neurodash needs a flat vector of numbers (a 1-D gymnasium.spaces.Box)"
        )
    if not np.issubdtype(obs.dtype, np.number):
        return f"has a non-numeric observation dtype {obs.dtype}"
    return None


def _spec_name(env: gym.Env) -> str | None:
    spec = getattr(env, "spec", None) or getattr(env.unwrapped, "spec", None)
    return getattr(spec, "name", None)


def feature_names(env: gym.Env) -> list[str]:
    """A readable name for each number in ``env``'s observation vector."""
    n = int(np.prod(env.observation_space.shape)) if env.observation_space.shape else 0
    base = env.unwrapped
    if isinstance(base, BreakoutEnv):
        return list(base.feature_names)
    known = KNOWN_FEATURES.get(_spec_name(env) or "")
    if known is not None and len(known) == n:
        return list(known)
    return feature_labels([], n)


def action_names(env: gym.Env) -> list[str]:
    """A readable name for each of ``env``'s discrete actions, or each number of a
    continuous action."""
    space = env.action_space
    if isinstance(space, spaces.Discrete):
        n = int(space.n)
    elif isinstance(space, spaces.Box):
        n = int(np.prod(space.shape))
    else:
        n = 0
    if isinstance(env.unwrapped, BreakoutEnv):
        return list(ACTION_NAMES)
    known = KNOWN_ACTIONS.get(_spec_name(env) or "")
    if known is not None and len(known) == n:
        return list(known)
    return action_labels([], n)


def action_space_info(space: gym.Space) -> ActionSpace:
    """``space`` as the run's metadata describes it (discrete, or a box of numbers)."""
    if isinstance(space, spaces.Discrete):
        return ActionSpace("discrete", n=int(space.n))
    if isinstance(space, spaces.Box):
        return ActionSpace(
            "box",
            shape=[int(n) for n in space.shape],
            low=[float(v) for v in np.ravel(space.low)],
            high=[float(v) for v in np.ravel(space.high)],
        )
    return ActionSpace(type(space).__name__.lower())
