"""Checkpoint files: what a trained agent's networks looked like at a step.

A checkpoint is ``torch.save`` of a plain dict of tensors, numbers, strings, lists and
dicts -- nothing else -- so it loads with ``torch.load(..., weights_only=True)`` and a
file from elsewhere can never run code. The layout (agreed in INTERFACES.md, read by
``health/``)::

    {"format": "neurodash-checkpoint", "version": 1, "step": int, "env_id": str,
     "agent": "dqn", "config": {...}, "networks": {"q_network": sd, "target_network": sd},
     "layers": [{"name", "in_features", "out_features", "activation"}, ...],
     "obs_samples": FloatTensor[N, obs_dim], "feature_names": [...], "action_names": [...]}

Files live in ``<run-dir>/checkpoints/ckpt_<step:09d>.pt`` (see :func:`checkpoint_path`).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import torch

from rl.store import CHECKPOINT_DIR

FORMAT = "neurodash-checkpoint"
VERSION = 1
#: Refuse to load files larger than this (our checkpoints are a few hundred KB).
MAX_CHECKPOINT_BYTES = 512 * 1024 * 1024
#: Observations kept in a checkpoint for activation-based (dead-neuron) checks.
MAX_OBS_SAMPLES = 1000
BEST_NAME = "best.pt"
REQUIRED_KEYS = ("format", "version", "step", "env_id", "agent", "config", "networks", "layers")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or is not a neurodash checkpoint."""


def checkpoint_path(run_dir: str | os.PathLike, step: int) -> Path:
    """``<run_dir>/checkpoints/ckpt_<step:09d>.pt``."""
    return Path(run_dir) / CHECKPOINT_DIR / f"ckpt_{int(step):09d}.pt"


def _names_from(meta: Any, key: str) -> list[str] | None:
    if meta is None:
        return None
    value = meta.get(key) if isinstance(meta, Mapping) else getattr(meta, key, None)
    return [str(v) for v in value] if value is not None else None


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
    obs_dim, n_actions = int(agent.obs_dim), int(agent.n_actions)
    features = feature_names if feature_names is not None else _names_from(meta, "feature_names")
    actions = action_names if action_names is not None else _names_from(meta, "action_names")
    samples = torch.as_tensor(agent.obs_samples(max_obs_samples), dtype=torch.float32).reshape(-1, obs_dim)
    checkpoint = {
        "format": FORMAT,
        "version": VERSION,
        "step": int(step),
        "env_id": str(env_id),
        "agent": "dqn",
        "config": agent.config.to_dict(),
        "networks": {name: _plain_state_dict(net) for name, net in agent.networks().items()},
        "layers": [dataclasses.asdict(info) for info in agent.layer_infos()],
        "obs_samples": samples.clone(),
        "feature_names": list(features) if features is not None else [f"x{i}" for i in range(obs_dim)],
        "action_names": list(actions) if actions is not None else [f"action {i}" for i in range(n_actions)],
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
    """Read and validate a checkpoint written by :func:`save_checkpoint`.

    Loads with ``weights_only=True`` (tensors and plain data only). Raises
    :class:`CheckpointError` with a one-line message naming the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    size = path.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{path}: {size} bytes is larger than the {MAX_CHECKPOINT_BYTES} byte limit")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any parse failure of an untrusted file is "not loadable"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a loadable torch checkpoint ({reason})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a neurodash checkpoint (no 'format': '{FORMAT}')")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {version!r} is newer than this neurodash reads ({VERSION})")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise CheckpointError(f"{path}: checkpoint is missing {', '.join(missing)}")
    if not isinstance(data["networks"], dict) or "q_network" not in data["networks"]:
        raise CheckpointError(f"{path}: checkpoint has no 'q_network' weights")
    data.setdefault("feature_names", [])
    data.setdefault("action_names", [])
    data.setdefault("obs_samples", torch.zeros(0, 0))
    return data


def agent_from_checkpoint(checkpoint: Mapping[str, Any] | str | os.PathLike, total_steps: int = 1):
    """A :class:`rl.agents.dqn.DQNAgent` with a checkpoint's networks loaded (for evaluation
    or a demo). ``checkpoint`` is a path or a dict from :func:`load_checkpoint`."""
    from rl.agents.dqn import DQNAgent, DQNConfig

    where = "checkpoint"
    if not isinstance(checkpoint, Mapping):
        where = str(checkpoint)
        checkpoint = load_checkpoint(checkpoint)
    if checkpoint.get("agent") != "dqn":
        raise CheckpointError(f"{where}: holds a {checkpoint.get('agent')!r} agent, not 'dqn'")
    layers = checkpoint["layers"]
    if not layers:
        raise CheckpointError(f"{where}: lists no layers")
    try:
        config = DQNConfig.from_dict(dict(checkpoint["config"]), strict=False)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: config is not a valid DQNConfig ({exc})") from None
    obs_dim = int(layers[0]["in_features"])
    n_actions = int(layers[-1]["out_features"])
    agent = DQNAgent(obs_dim, n_actions, config, total_steps=total_steps)
    networks = checkpoint["networks"]
    try:
        agent.q_network.load_state_dict(networks["q_network"])
        agent.target_network.load_state_dict(networks.get("target_network", networks["q_network"]))
    except (RuntimeError, KeyError) as exc:
        reason = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"{where}: weights do not fit its layer list ({reason})") from None
    return agent
