"""Checkpoint files: what a trained agent's networks looked like at a step.

A checkpoint is ``torch.save`` of a plain dict of tensors, numbers, strings, lists and
dicts -- nothing else -- so it loads with ``torch.load(..., weights_only=True)`` and a
file from elsewhere can never run code. Its layout (format version 2; ``health/`` reads
it too, through the same reader, ``health.loading.read_run_checkpoint``)::

    {"format": "neurodash-checkpoint", "version": 2, "step": int, "env_id": str,
     "agent": "dqn", "config": {...},
     "networks": {name: state dict, ...},            # every network of the agent
     "training_state": {...},                        # the rest of agent.state_dict(): optimisers, counters
     "network_layers": {name: [layer, ...], ...},    # each network's layers, input to output
     "watched": [name, ...],                         # the networks watched live
     "layers": [layer, ...],                         # the first watched network's layers
     "observation_shape": [obs_dim], "action_space": {"kind": "discrete", "n": 3, ...},
     "obs_samples": FloatTensor[N, obs_dim], "feature_names": [...], "action_names": [...]}

with each layer ``{"name", "in_features", "out_features", "activation"}``. Version 1
(before several networks and continuous actions) had no ``network_layers``, ``watched``,
``observation_shape``, ``action_space`` or ``training_state``; it still loads (its reader
fills in what its one network's layers say).

Files live in ``<run-dir>/checkpoints/ckpt_<step:09d>.pt`` (see :func:`checkpoint_path`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from health.loading import OUR_FORMAT, OUR_VERSION, CheckpointError, read_run_checkpoint
from rl.agents.base import agent_spec
from rl.callbacks import Callback, RunContext
from rl.store import CHECKPOINT_DIR

__all__ = [
    "BEST_NAME",
    "CheckpointError",
    "CheckpointSaver",
    "FORMAT",
    "VERSION",
    "agent_from_checkpoint",
    "checkpoint_path",
    "load_checkpoint",
    "save_checkpoint",
    "save_run_checkpoint",
]

#: Our format's name and newest version, declared once, by its reader.
FORMAT, VERSION = OUR_FORMAT, OUR_VERSION
#: Observations kept in a checkpoint for activation-based (dead-neuron) checks.
MAX_OBS_SAMPLES = 1000
BEST_NAME = "best.pt"


def checkpoint_path(run_dir: str | os.PathLike, step: int) -> Path:
    """``<run_dir>/checkpoints/ckpt_<step:09d>.pt``."""
    return Path(run_dir) / CHECKPOINT_DIR / f"ckpt_{int(step):09d}.pt"


def _names_from(meta: Any, key: str) -> list[str] | None:
    if meta is None:
        return None
    value = meta.get(key) if isinstance(meta, Mapping) else getattr(meta, key, None)
    return [str(v) for v in value] if value else None


def save_checkpoint(
    path: str | os.PathLike,
    agent,
    step: int,
    env_id: str,
    *,
    feature_names: list[str] | None = None,
    action_names: list[str] | None = None,
    meta: Any = None,
    max_obs_samples: int = MAX_OBS_SAMPLES,
) -> Path:
    """Write ``agent``'s networks to ``path`` (parent folders are created).

    ``feature_names``/``action_names`` default to those in ``meta`` (a
    ``telemetry.RunMeta`` or its dict), else to ``x0, x1, ...`` / ``action 0, ...``.
    The file is written to a temporary name and renamed into place, so a reader never
    sees half a checkpoint.
    """
    from rl.envs import action_space_info

    features = feature_names if feature_names is not None else _names_from(meta, "feature_names")
    actions = action_names if action_names is not None else _names_from(meta, "action_names")
    infos = agent.network_infos(features or [], actions or [])
    watched = [info.name for info in infos if info.watched]
    primary = next((info for info in infos if info.watched), infos[0])
    obs_shape = [int(n) for n in agent.observation_space.shape]
    samples = torch.as_tensor(agent.obs_samples(max_obs_samples), dtype=torch.float32).reshape(-1, *obs_shape)
    checkpoint = {
        "format": FORMAT,
        "version": VERSION,
        "step": int(step),
        "env_id": str(env_id),
        "agent": agent.name,
        "config": agent.config.to_dict(),
        "networks": {name: _plain_state_dict(net) for name, net in agent.networks().items()},
        # what else training needs to carry on (optimiser state, counters); the networks are above
        "training_state": {k: v for k, v in agent.state_dict().items() if k != "networks"},
        "network_layers": {info.name: [layer.to_dict() for layer in info.layers] for info in infos},
        "watched": watched,
        "layers": [layer.to_dict() for layer in primary.layers],
        "observation_shape": obs_shape,
        "action_space": action_space_info(agent.action_space).to_dict(),
        "obs_samples": samples.clone(),
        "feature_names": list(features) if features is not None else list(primary.inputs),
        "action_names": list(actions) if actions is not None else list(primary.outputs),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _plain_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    # a plain dict of detached CPU tensors (no OrderedDict metadata, no autograd state)
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a checkpoint written by :func:`save_checkpoint` (any version).

    Loads with ``weights_only=True`` (tensors and plain data only), through the one reader
    of our format (``health.loading.read_run_checkpoint``). Raises :class:`CheckpointError`
    with a one-line message naming the file and the problem.
    """
    return read_run_checkpoint(path)


def _spaces(checkpoint: Mapping[str, Any], where: str):
    """The observation and action spaces a checkpoint's agent was built for."""
    import numpy as np
    from gymnasium import spaces

    try:
        shape = tuple(int(n) for n in checkpoint["observation_shape"])
        action = checkpoint["action_space"]
        observation_space = spaces.Box(-np.inf, np.inf, shape=shape, dtype=np.float32)
        if action.get("kind") == "discrete":
            return observation_space, spaces.Discrete(int(action["n"]))
        if action.get("kind") == "box":
            low, high = np.asarray(action["low"], np.float32), np.asarray(action["high"], np.float32)
            return observation_space, spaces.Box(low.reshape(action["shape"]), high.reshape(action["shape"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(where, f"does not say which environment its agent was built for ({exc})") from None
    raise CheckpointError(where, f"has an action space of kind {action.get('kind')!r} that no agent drives")


def agent_from_checkpoint(
    checkpoint: Mapping[str, Any] | str | os.PathLike, total_steps: int = 1, agent: str | None = None
):
    """The agent a checkpoint holds, its networks loaded (for evaluation, a demo, or
    carrying on training). ``checkpoint`` is a path or a dict from :func:`load_checkpoint`;
    with ``agent``, a checkpoint of another agent is refused."""
    where = "checkpoint"
    if not isinstance(checkpoint, Mapping):
        where = str(checkpoint)
        checkpoint = load_checkpoint(checkpoint)
    name = checkpoint.get("agent")
    if agent is not None and name != agent:
        raise CheckpointError(where, f"holds a {name!r} agent, not {agent!r}")
    try:
        agent_class, config_class, _make_config = agent_spec(str(name)).load()
    except ValueError as exc:
        raise CheckpointError(where, str(exc)) from None
    try:
        config = config_class.from_dict(dict(checkpoint["config"]), strict=False)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(where, f"config is not a valid {config_class.__name__} ({exc})") from None
    observation_space, action_space = _spaces(checkpoint, where)
    try:
        learner = agent_class.build(observation_space, action_space, config, total_steps=total_steps)
        learner.load_state_dict({**dict(checkpoint.get("training_state") or {}), "networks": checkpoint["networks"]})
    except (RuntimeError, KeyError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            where, f"weights do not fit the networks its config and spaces describe ({reason})"
        ) from None
    return learner


def save_run_checkpoint(run_dir: str | os.PathLike, ctx: RunContext) -> Path:
    """:func:`save_checkpoint` of the run's agent into ``<run_dir>/checkpoints``."""
    return save_checkpoint(checkpoint_path(run_dir, ctx.step), ctx.agent, ctx.step, ctx.meta.env_id, meta=ctx.meta)


class CheckpointSaver(Callback):
    """Saves a checkpoint every ``every`` steps (0: never on the way) and at the end.

    ``save(run_dir, ctx) -> path`` writes one (default: :func:`save_run_checkpoint`).
    """

    def __init__(
        self, run_dir: str | os.PathLike, every: int, save: Callable[[Path, RunContext], Any] = save_run_checkpoint
    ) -> None:
        self.run_dir, self.every = Path(run_dir), int(every)
        self._save = save
        self._last_saved = -1
        #: paths written, oldest first
        self.saved: list[Path] = []

    def on_step(self, ctx, step):
        if self.every and step.step % self.every == 0:
            self.save(ctx)
        return True

    def on_training_end(self, ctx):
        if ctx.step > 0 and ctx.step != self._last_saved:
            self.save(ctx)

    def saved_at(self, step: int) -> Path | None:
        """The checkpoint saved at ``step``, when the newest one was (else None)."""
        return self.saved[-1] if self.saved and self._last_saved == step else None

    def save(self, ctx: RunContext) -> Path:
        path = Path(self._save(self.run_dir, ctx))
        self._last_saved = ctx.step
        self.saved.append(path)
        return path
