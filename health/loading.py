"""Load a checkpoint: tell its layout from what the readers got out of the file and rebuild its networks.

The file is read by :mod:`health.readers` (safely: nothing in a file is ever run); this
module makes sense of what was read. Supported layouts (networks are found by name):

* our own run checkpoints (``{"format": "neurodash-checkpoint", "networks": {...}}``);
* a plain state dict, ``torch.save(model.state_dict())`` (also CleanRL's
  ``.cleanrl_model``), split into networks by :func:`health.networks.group_state_dict`;
* a dict of several networks plus metadata, SAC-style (``actor``, ``critic_1``,
  ``target_critic_1``, ... next to non-tensor entries such as ``step`` or ``env_id``);
* Stable-Baselines3 ``.zip`` saves;
* ``.safetensors`` files (flat, grouped like a plain state dict; env id from metadata).

Every failure raises :class:`CheckpointError`, whose message is one line naming the file
and what is wrong with it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from health import thresholds as TH
from health.networks import Network, build_network, group_state_dict
from health.readers import CheckpointError, Sb3Save, read_safetensors, read_torch, read_zip, sniff

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "Checkpoint",
    "CheckpointError",
    "find_checkpoints",
    "OUR_FORMAT",
    "OUR_VERSION",
    "load_checkpoint",
    "read_run_checkpoint",
]

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".zip", ".safetensors", ".cleanrl_model", ".bin")

OUR_FORMAT = "neurodash-checkpoint"
#: The newest version of our own checkpoint format this reader knows (``rl.checkpoints``).
OUR_VERSION = 2
_OUR_REQUIRED = ("step", "env_id", "agent", "config", "networks", "layers")
_ENV_KEYS = ("env_id", "env", "env_name", "environment")
_STEP_KEYS = ("step", "global_step", "num_timesteps", "timesteps", "total_timesteps")
_FORMAT_LABELS = {
    "neurodash": "neurodash run checkpoint",
    "state_dict": "plain state dict",
    "networks_dict": "dict of networks + metadata",
    "sb3_zip": "Stable-Baselines3 .zip save",
    "safetensors": "safetensors file",
}


@dataclass
class Checkpoint:
    """What a checkpoint file holds, as plain data.

    ``networks`` maps network names to rebuilt :class:`~health.networks.Network` objects
    in file order. ``obs_samples`` (n x obs_dim float32) are observations stored in the
    file, when it has some. ``metadata`` holds the file's small non-tensor entries.
    """

    path: str
    format: str
    networks: dict[str, Network]
    step: int | None = None
    env_id: str | None = None
    obs_samples: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return Path(self.path).name

    @property
    def format_label(self) -> str:
        return _FORMAT_LABELS.get(self.format, self.format)


# ----------------------------------------------------------------------------- entry
def load_checkpoint(
    path: str | os.PathLike,
    *,
    default_activation: str = "relu",
    max_bytes: int = TH.CHECKPOINT_MAX_BYTES,
) -> Checkpoint:
    """Load one checkpoint file safely and rebuild the networks in it.

    ``default_activation`` is the activation assumed after hidden layers when the file
    does not record it (our own checkpoints do). Raises :class:`CheckpointError`.
    """
    p = Path(path)
    kind = sniff(p, max_bytes)
    if kind == "safetensors":
        return _interpret_safetensors(p, *read_safetensors(p), default_activation)
    got = read_zip(p, max_bytes) if kind == "zip" else read_torch(p)
    if isinstance(got, Sb3Save):
        return _interpret_sb3(p, got, default_activation)
    return _interpret(p, got, default_activation)


def read_run_checkpoint(path: str | os.PathLike, *, max_bytes: int = TH.CHECKPOINT_MAX_BYTES) -> dict[str, Any]:
    """A neurodash run checkpoint (``rl.checkpoints`` writes them) as the plain dict it
    holds, checked: ours, complete, and of a format version this reader knows. Version 1
    gets ``network_layers`` and ``watched`` filled in (all its networks had its one layer
    list). The one reader of our format: ``neurodash health`` and ``rl.checkpoints`` both
    use it. Raises :class:`CheckpointError`."""
    p = Path(path)
    kind = sniff(p, max_bytes)
    got = read_zip(p, max_bytes) if kind == "zip" else read_torch(p) if kind == "torch" else None
    if not isinstance(got, Mapping) or got.get("format") != OUR_FORMAT:
        raise CheckpointError(p, f"not a neurodash checkpoint (no 'format': '{OUR_FORMAT}')")
    return _checked_ours(p, got, allow_newer=False)


def _checked_ours(p: Path, obj: Mapping[str, Any], *, allow_newer: bool) -> dict[str, Any]:
    """Our checkpoint's dict, complete and brought to the newest layout this reader knows;
    a newer version is refused, or (``allow_newer``) read as the newest known, with a note."""
    data, notes = dict(obj), []
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(p, f"neurodash checkpoint with an unknown format version {version!r}")
    if version > OUR_VERSION:
        if not allow_newer:
            raise CheckpointError(
                p, f"checkpoint version {version} is newer than this neurodash reads ({OUR_VERSION}); upgrade neurodash"
            )
        notes.append(f"written by a newer neurodash (checkpoint version {version}); read as version {OUR_VERSION}")
    missing = [k for k in _OUR_REQUIRED if k not in data]
    if missing:
        raise CheckpointError(p, f"checkpoint is missing {', '.join(missing)}")
    networks = data["networks"]
    if not isinstance(networks, Mapping) or not networks:
        raise CheckpointError(p, "neurodash checkpoint without a 'networks' dict")
    if version < 2:  # one network (and its target) acting on a discrete set: its layers say the sizes
        layers = data["layers"] if isinstance(data["layers"], list) else []
        if layers and all(isinstance(layer, Mapping) for layer in (layers[0], layers[-1])):
            data.setdefault("observation_shape", [int(layers[0].get("in_features", 0))])
            data.setdefault("action_space", {"kind": "discrete", "n": int(layers[-1].get("out_features", 0))})
        data.setdefault("network_layers", dict.fromkeys(networks, data["layers"]))
        data.setdefault("watched", ["q_network"] if "q_network" in networks else [next(iter(networks))])
    data.setdefault("feature_names", [])
    data.setdefault("action_names", [])
    data["notes"] = notes
    return data


def find_checkpoints(folder: str | os.PathLike) -> list[Path]:
    """Checkpoint files directly inside ``folder``, in training order: files whose name
    holds a number (``ckpt_000050000.pt``, ``generation_100.pt``) sorted by that number,
    then the others (``best.pt``) by name."""
    folder = Path(folder)
    files = [f for f in folder.iterdir() if f.is_file() and f.suffix in CHECKPOINT_SUFFIXES]

    def key(f: Path) -> tuple:
        numbers = re.findall(r"\d+", f.stem)
        return (0, int(numbers[-1]), f.name) if numbers else (1, 0, f.name)

    return sorted(files, key=key)


# ----------------------------------------------------------------------------- layouts
def _interpret_sb3(p: Path, save: Sb3Save, default_activation: str) -> Checkpoint:
    obj, data = save.policy, save.data
    if not isinstance(obj, Mapping) or not _is_state_dict(obj):
        raise CheckpointError(p, "policy.pth inside the Stable-Baselines3 archive is not a state dict of tensors")
    groups = group_state_dict(obj, sb3=True)
    networks = _build_networks(p, groups, {}, default_activation)
    metadata: dict[str, Any] = {}
    if save.version:
        metadata["stable_baselines3_version"] = save.version
    step = None
    if isinstance(data, dict):
        for key in ("num_timesteps", "n_envs", "seed", "learning_rate", "gamma", "batch_size"):
            value = data.get(key)
            if isinstance(value, (int, float, str, bool)):
                metadata[key] = value
        if isinstance(data.get("num_timesteps"), int):
            step = int(data["num_timesteps"])
    return Checkpoint(str(p), "sb3_zip", networks, step=step, metadata=metadata)


def _interpret_safetensors(
    p: Path, tensors: Mapping[str, Any], meta: dict[str, str], default_activation: str
) -> Checkpoint:
    networks = _build_networks(p, group_state_dict(tensors), {}, default_activation)
    env_id = next((meta[k] for k in _ENV_KEYS if isinstance(meta.get(k), str)), None)
    step = None
    for key in _STEP_KEYS:
        if key in meta and str(meta[key]).isdigit():
            step = int(meta[key])
            break
    return Checkpoint(str(p), "safetensors", networks, step=step, env_id=env_id, metadata=meta)


def _interpret(p: Path, obj: Any, default_activation: str) -> Checkpoint:
    """Turn what ``torch.load`` returned into a :class:`Checkpoint`."""
    import torch

    if isinstance(obj, torch.Tensor):
        raise CheckpointError(p, "holds a single tensor, not named network weights")
    if not isinstance(obj, Mapping):
        raise CheckpointError(p, f"holds a {type(obj).__name__}, not a dict of network weights")

    if obj.get("format") == OUR_FORMAT:
        return _interpret_ours(p, obj, default_activation)

    if _is_state_dict(obj):
        networks = _build_networks(p, group_state_dict(obj), {}, default_activation)
        return Checkpoint(str(p), "state_dict", networks)

    found: dict[str, Mapping[str, Any]] = {}
    _collect_state_dicts(obj, "", found, depth=0)
    if not found:
        raise CheckpointError(p, "holds no network weights (no '<layer>.weight' tensors found)")
    networks = _build_networks(p, found, {}, default_activation)
    metadata = _plain_metadata(obj)
    env_id = next((obj[k] for k in _ENV_KEYS if isinstance(obj.get(k), str)), None)
    step = next(
        (int(obj[k]) for k in _STEP_KEYS if isinstance(obj.get(k), int) and not isinstance(obj.get(k), bool)), None
    )
    samples = _obs_samples(p, obj.get("obs_samples"))
    return Checkpoint(
        str(p), "networks_dict", networks, step=step, env_id=env_id, obs_samples=samples, metadata=metadata
    )


def _layer_activations(layers: Any) -> dict[str, str]:
    """Layer name -> activation, from one of our layer lists."""
    activations: dict[str, str] = {}
    for info in layers if isinstance(layers, list) else []:
        if isinstance(info, Mapping) and isinstance(info.get("name"), str):
            act = info.get("activation")
            activations[info["name"]] = act if isinstance(act, str) else "identity"
    return activations


def _interpret_ours(p: Path, obj: Mapping[str, Any], default_activation: str) -> Checkpoint:
    obj = _checked_ours(p, obj, allow_newer=True)
    notes = list(obj["notes"])
    raw_layer_lists = obj.get("network_layers")
    layer_lists: Mapping[str, Any] = raw_layer_lists if isinstance(raw_layer_lists, Mapping) else {}
    found = {}
    for name, sd in obj["networks"].items():
        if isinstance(name, str) and isinstance(sd, Mapping) and _is_state_dict(sd):
            found[name] = sd
        else:
            notes.append(f"entry networks[{name!r}] is not a state dict of tensors; skipped")
    if not found:
        raise CheckpointError(p, "neurodash checkpoint whose 'networks' hold no state dicts of tensors")
    activations = {n: _layer_activations(layer_lists.get(n, obj.get("layers"))) for n in found}
    networks = _build_networks(p, found, activations, default_activation)
    metadata = _plain_metadata(obj)
    for key in ("config", "feature_names", "action_names"):
        if key in obj:
            metadata[key] = obj[key]
    step = obj.get("step") if isinstance(obj.get("step"), int) else None
    env_id = obj.get("env_id") if isinstance(obj.get("env_id"), str) else None
    samples = _obs_samples(p, obj.get("obs_samples"))
    return Checkpoint(
        str(p), "neurodash", networks, step=step, env_id=env_id, obs_samples=samples, metadata=metadata, notes=notes
    )


# ----------------------------------------------------------------------------- helpers
def _is_state_dict(obj: Mapping[str, Any]) -> bool:
    """A non-empty mapping of string keys to tensors, at least one a layer weight."""
    import torch

    if not obj:
        return False
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        return False
    return any((k == "weight" or k.endswith(".weight")) and v.dim() >= 2 for k, v in obj.items())


def _collect_state_dicts(obj: Mapping[str, Any], prefix: str, out: dict, depth: int) -> None:
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, Mapping):
            continue
        name = f"{prefix}{key}"
        if _is_state_dict(value):
            out[name] = value
        elif depth < 2:
            _collect_state_dicts(value, name + ".", out, depth + 1)


def _build_networks(
    p: Path,
    groups: Mapping[str, Mapping[str, Any]],
    activations: Mapping[str, Mapping[str, str]],
    default_activation: str,
) -> dict[str, Network]:
    networks = {}
    for name, sd in groups.items():
        net = build_network(name, sd, activations.get(name), default_activation)
        if net.layers:
            networks[name] = net
    if not networks:
        raise CheckpointError(p, "holds no network weights (no 2-D or convolution '.weight' tensors)")
    return networks


def _plain_metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = {}
    for key, value in obj.items():
        if isinstance(key, str) and (value is None or isinstance(value, (str, int, float, bool))):
            meta[key] = value
    return meta


def _obs_samples(p: Path, value: Any) -> np.ndarray | None:
    import torch

    if not isinstance(value, torch.Tensor) or value.dim() != 2 or value.shape[0] == 0:
        return None
    if not value.is_floating_point():
        value = value.float()
    samples = value[: TH.OBS_SAMPLES_MAX_ROWS].detach().to("cpu").float().numpy()
    return samples if np.isfinite(samples).all() else samples[np.isfinite(samples).all(axis=1)]
