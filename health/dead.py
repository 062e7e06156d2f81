"""Dead neurons: hidden units that contribute (almost) nothing.

Two methods (thresholds in :mod:`health.thresholds`):

* ``activation`` (default): run input samples through the rebuilt network; a hidden
  unit is dead when the variance of its post-activation output over the samples is below
  ``DEAD_ACTIVATION_VARIANCE`` (1e-6). A constant output carries no information whatever
  the activation function (ReLU stuck at 0, a saturated tanh, a leaky ReLU that is always
  on its negative side...).
* ``weight``: a unit is dead when the L2 norm of its incoming weights is below
  ``DEAD_WEIGHT_NORM`` (for a convolution: the whole kernel of that output channel).
  Quicker, needs no inputs, but blind to units that die through their bias or inputs.

Only hidden layers count (see :meth:`health.networks.Network.hidden_indices`): output
units (Q-values, action means) are not followed by an activation and are never "dead".

Input samples (:func:`input_samples`), in order of preference:
  1. observations stored in the checkpoint (``obs_samples``, our own format);
  2. observations from the environment the checkpoint names, when ``gymnasium.make``
     can build it on its own (ids registered with gymnasium, nothing of ours imported),
     collected with a random policy; for a critic that takes (observation, action), a
     random action from the action space is appended;
  3. fallback: standard-normal random inputs (seeded), which suit networks trained on
     roughly standardised observations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from health import thresholds as TH
from health.networks import Network, forward_hidden

__all__ = ["DeadNeurons", "InputSamples", "dead_neurons", "input_samples", "collect_env_observations"]


@dataclass
class InputSamples:
    """Inputs for the activation method and a sentence saying where they came from."""

    values: np.ndarray  # n x input size, float32
    source: str  # "checkpoint" | "environment" | "standard-normal"
    description: str


@dataclass
class DeadNeurons:
    """Dead-neuron count for one network. ``per_layer`` maps layer index -> (dead, units);
    ``dead_units`` maps layer index -> the dead units' indices."""

    method: str  # "activation" | "weight" (the one actually used)
    dead: int
    total: int
    per_layer: dict[int, tuple[int, int]]
    dead_units: dict[int, list[int]]
    threshold: float
    samples: InputSamples | None = None
    note: str | None = None  # e.g. why the activation method could not be used

    @property
    def ratio(self) -> float | None:
        return self.dead / self.total if self.total else None

    @property
    def measured(self) -> str:
        """What "dead" measured here, in words (to follow "their output" / "their weights")."""
        if self.method == "activation":
            n = self.samples_used
            return f"output did not change over {n} inputs (variance < {self.threshold:g})"
        return f"incoming weights' L2 norm is below {self.threshold:g}"

    @property
    def samples_used(self) -> int | None:
        """How many inputs the activation method ran (None for the weight method)."""
        return len(self.samples.values) if self.method == "activation" and self.samples is not None else None

    @property
    def confidence(self) -> str | None:
        """ "low" when the activation method ran fewer than ``DEAD_NEURON_SAMPLES_MIN`` inputs
        (a checkpoint holding only a few observations): rarely firing units may then be
        counted dead. "normal" otherwise; None for the weight method, which takes no inputs."""
        n = self.samples_used
        if n is None:
            return None
        return "low" if n < TH.DEAD_NEURON_SAMPLES_MIN else "normal"


def dead_neurons(
    network: Network,
    method: str = "activation",
    samples: InputSamples | None = None,
    *,
    variance_threshold: float = TH.DEAD_ACTIVATION_VARIANCE,
    weight_threshold: float = TH.DEAD_WEIGHT_NORM,
) -> DeadNeurons:
    """Count dead hidden units in ``network`` with ``method`` ("activation" or "weight").

    The activation method needs ``samples`` and a known layer graph; when either is
    missing it falls back to the weight method and says why in ``note``.
    """
    if method not in ("activation", "weight"):
        raise ValueError(f"unknown dead-neuron method {method!r} (use 'activation' or 'weight')")
    hidden = network.hidden_indices()
    note = None
    if method == "activation":
        if not network.has_graph:
            note = f"activation method not possible ({network.graph_problem}); used the weight method instead"
        elif samples is None or len(samples.values) == 0:
            note = "activation method not possible (no input samples); used the weight method instead"
        elif samples.values.shape[1] != network.input_size:
            note = (
                f"activation method not possible (samples have {samples.values.shape[1]} features, "
                f"the network takes {network.input_size}); used the weight method instead"
            )
        else:
            outputs = forward_hidden(network, samples.values)
            per_layer, units = {}, {}
            for i in hidden:
                var = outputs[i].var(axis=0)
                # a NaN variance (non-finite weights) cannot vouch for the unit: count it dead
                dead_idx = np.flatnonzero(~(var >= variance_threshold))
                per_layer[i] = (int(dead_idx.size), int(var.size))
                units[i] = [int(u) for u in dead_idx]
            return _result("activation", per_layer, units, variance_threshold, samples, None)
    per_layer, units = {}, {}
    for i in hidden:
        w = network.layers[i].weight
        norms = np.sqrt((w.reshape(w.shape[0], -1).astype(np.float64) ** 2).sum(axis=1))
        dead_idx = np.flatnonzero(~(norms >= weight_threshold))
        per_layer[i] = (int(dead_idx.size), int(norms.size))
        units[i] = [int(u) for u in dead_idx]
    return _result("weight", per_layer, units, weight_threshold, None, note)


def _result(method, per_layer, units, threshold, samples, note) -> DeadNeurons:
    dead = sum(d for d, _ in per_layer.values())
    total = sum(t for _, t in per_layer.values())
    return DeadNeurons(method, dead, total, per_layer, units, threshold, samples, note)


# ----------------------------------------------------------------------------- samples
def input_samples(
    input_size: int | None,
    n: int,
    *,
    stored: np.ndarray | None = None,
    env_observations: np.ndarray | None = None,
    env_id: str | None = None,
    env_action_sampler=None,
    env_problem: str | None = None,
    seed: int = 0,
) -> InputSamples | None:
    """Pick input samples for a network taking ``input_size`` features (see module doc).

    ``stored``: observations from the checkpoint; ``env_observations``: observations
    collected from ``env_id`` (with ``env_action_sampler(k) -> k x action_dim`` for
    critics that also take an action); ``env_problem``: why no environment was usable.
    """
    if input_size is None or n <= 0:
        return None
    if stored is not None and stored.ndim == 2 and stored.shape[1] == input_size and len(stored):
        values = stored[:n].astype(np.float32)
        more = "" if len(values) >= n else f" (the checkpoint holds only {len(values)}; {n} were asked for)"
        return InputSamples(values, "checkpoint", f"{len(values)} observations stored in the checkpoint{more}")
    if env_observations is not None and len(env_observations):
        obs = env_observations[:n].astype(np.float32)
        if obs.shape[1] == input_size:
            return InputSamples(obs, "environment", f"{len(obs)} observations from {env_id} with a random policy")
        if env_action_sampler is not None:
            actions = env_action_sampler(len(obs))
            if actions is not None and obs.shape[1] + actions.shape[1] == input_size:
                values = np.concatenate([obs, actions.astype(np.float32)], axis=1)
                return InputSamples(
                    values,
                    "environment",
                    f"{len(values)} (observation, random action) pairs from {env_id} with a random policy",
                )
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((n, input_size)).astype(np.float32)
    if stored is not None and len(stored):
        why = f"the stored observations have {stored.shape[1]} features, the network takes {input_size}"
    elif env_observations is not None and len(env_observations):
        why = f"{env_id}'s observations do not match the network's {input_size} inputs"
    elif env_problem:
        why = env_problem
    else:
        why = "the checkpoint holds no observations and names no environment"
    return InputSamples(values, "standard-normal", f"{n} standard-normal random inputs (fallback: {why})")


def collect_env_observations(env_id: str, n: int, seed: int = 0):
    """Observations from ``env_id`` under a uniformly random policy.

    Returns ``(observations, action_sampler, problem)``: observations is an n x obs_dim
    float32 array (or None), action_sampler(k) draws k random actions as a k x action_dim
    array for Box action spaces (else None), and problem says why nothing was collected.
    Only ids already registered with gymnasium are built (an id naming a module to
    import, ``"pkg.mod:Env-v0"``, is refused: loading a file must not import code).
    """
    try:
        import gymnasium as gym
    except ImportError:  # pragma: no cover - gymnasium is a dependency
        return None, None, "gymnasium is not installed"
    if ":" in env_id:
        return None, None, f"environment id {env_id!r} asks to import a module; refused"
    if env_id not in gym.envs.registry:
        return None, None, f"environment {env_id!r} is not registered with gymnasium on its own"
    try:
        env = gym.make(env_id)
    except Exception as exc:  # missing optional dependencies (Box2D, MuJoCo, ALE...)
        return None, None, f"gymnasium could not build {env_id!r} ({type(exc).__name__})"
    try:
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            return None, None, f"{env_id} observations are not a flat vector"
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        rows = []
        for _ in range(n):
            rows.append(np.asarray(obs, dtype=np.float32).ravel())
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                obs, _ = env.reset()
        observations = np.stack(rows) if rows else None
        sampler = None
        aspace = env.action_space
        if isinstance(aspace, gym.spaces.Box) and len(aspace.shape) == 1:
            rng = np.random.default_rng(seed + 1)
            low = np.where(np.isfinite(aspace.low), aspace.low, -1.0)
            high = np.where(np.isfinite(aspace.high), aspace.high, 1.0)

            def sampler(k: int) -> np.ndarray:
                return rng.uniform(low, high, size=(k, aspace.shape[0])).astype(np.float32)

        return observations, sampler, None
    except Exception as exc:
        return None, None, f"stepping {env_id} failed ({type(exc).__name__})"
    finally:
        env.close()
