"""Load any supported checkpoint file safely and find the networks in it.

Every file is untrusted data. Nothing here runs code from a file:

* PyTorch files (``torch.save``) are read with ``torch.load(..., weights_only=True)``,
  which only rebuilds tensors and plain containers and refuses any other pickled object;
* Stable-Baselines3 ``.zip`` saves are opened with :mod:`zipfile` and only the member
  named exactly ``policy.pth`` (plus the small ``data`` JSON) is read, into memory, with
  its size bounded -- nothing is extracted, so member names such as ``../../evil`` are
  never turned into paths;
* ``.safetensors`` files are read with the safetensors library (a JSON header + raw
  tensor bytes, no pickle at all).

Supported layouts (networks are found by name):

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

import io
import json
import os
import pickle
import re
import struct
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from health import thresholds as TH
from health.networks import Network, build_network, group_state_dict

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "Checkpoint",
    "CheckpointError",
    "find_checkpoints",
    "load_checkpoint",
]

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".zip", ".safetensors", ".cleanrl_model", ".bin")

_OUR_FORMAT = "neurodash-checkpoint"
_ENV_KEYS = ("env_id", "env", "env_name", "environment")
_STEP_KEYS = ("step", "global_step", "num_timesteps", "timesteps", "total_timesteps")
_UNRECOGNISED = "not a PyTorch checkpoint, Stable-Baselines3 .zip or .safetensors file (unrecognised content)"
_FORMAT_LABELS = {
    "neurodash": "neurodash run checkpoint",
    "state_dict": "plain state dict",
    "networks_dict": "dict of networks + metadata",
    "sb3_zip": "Stable-Baselines3 .zip save",
    "safetensors": "safetensors file",
}


class CheckpointError(ValueError):
    """A checkpoint file could not be used. ``str(err)`` is ``"<path>: <problem>"``."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # always one line
        super().__init__(f"{self.path}: {self.problem}")


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
    if not p.exists():
        raise CheckpointError(p, "no such file")
    if p.is_dir():
        raise CheckpointError(p, "is a folder, not a checkpoint file")
    size = p.stat().st_size
    if size == 0:
        raise CheckpointError(p, "file is empty (0 bytes)")
    if size > max_bytes:
        raise CheckpointError(p, f"file is {_mb(size)}, over the {_mb(max_bytes)} limit for a checkpoint")
    with open(p, "rb") as fh:
        head = fh.read(16)

    if head.startswith(b"PK"):
        if not zipfile.is_zipfile(p):
            raise CheckpointError(p, "file is truncated or corrupt (a zip archive without its table of contents)")
        return _load_zip(p, default_activation, max_bytes)
    if _looks_like_safetensors(head, size) or p.suffix == ".safetensors":
        return _load_safetensors(p, default_activation)
    if head[:1] != b"\x80":  # every pickle-based torch.save file starts with the PROTO opcode
        raise CheckpointError(p, _UNRECOGNISED)
    obj = _torch_load(p, p, max_bytes)
    return _interpret(p, obj, default_activation, fmt_hint=None)


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


# ----------------------------------------------------------------------------- formats
def _load_zip(p: Path, default_activation: str, max_bytes: int) -> Checkpoint:
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            if len(infos) > TH.ZIP_MAX_MEMBERS:
                raise CheckpointError(p, f"zip archive has {len(infos)} members, over the limit of {TH.ZIP_MAX_MEMBERS}")
            names = {info.filename for info in infos}
            if "policy.pth" in names:
                policy_bytes = _read_member(p, zf, "policy.pth", max_bytes)
                data = _read_sb3_data(zf)
                version = None
                if "_stable_baselines3_version" in names:
                    raw = _read_member(p, zf, "_stable_baselines3_version", 1024)
                    version = raw.decode("utf-8", "replace").strip() or None
            elif any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
                _check_zip_sizes(p, infos, max_bytes)
                policy_bytes = None
            else:
                raise CheckpointError(
                    p,
                    "zip archive holds neither a Stable-Baselines3 policy.pth nor a PyTorch checkpoint",
                )
    except zipfile.BadZipFile as exc:
        raise CheckpointError(p, f"corrupt zip archive ({exc})") from None

    if policy_bytes is None:  # a torch.save file (PyTorch's own zip format)
        obj = _torch_load(p, p, max_bytes)
        return _interpret(p, obj, default_activation, fmt_hint=None)

    # Stable-Baselines3: policy.pth is itself a torch.save'd state dict.
    inner = io.BytesIO(policy_bytes)
    if zipfile.is_zipfile(inner):
        with zipfile.ZipFile(inner) as izf:
            _check_zip_sizes(p, izf.infolist(), max_bytes, where="policy.pth")
    inner.seek(0)
    obj = _torch_load(p, inner, max_bytes, where="policy.pth")
    if not isinstance(obj, Mapping) or not _is_state_dict(obj):
        raise CheckpointError(p, "policy.pth inside the Stable-Baselines3 archive is not a state dict of tensors")
    groups = group_state_dict(obj, sb3=True)
    networks = _build_networks(p, groups, {}, default_activation)
    metadata: dict[str, Any] = {}
    if version:
        metadata["stable_baselines3_version"] = version
    step = None
    if isinstance(data, dict):
        for key in ("num_timesteps", "n_envs", "seed", "learning_rate", "gamma", "batch_size"):
            value = data.get(key)
            if isinstance(value, (int, float, str, bool)):
                metadata[key] = value
        if isinstance(data.get("num_timesteps"), int):
            step = int(data["num_timesteps"])
    return Checkpoint(str(p), "sb3_zip", networks, step=step, metadata=metadata)


def _load_safetensors(p: Path, default_activation: str) -> Checkpoint:
    try:
        from safetensors import safe_open

        tensors: dict[str, Any] = {}
        with safe_open(str(p), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
            for key in fh.keys():
                tensors[key] = fh.get_tensor(key)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(p, f"not a valid safetensors file ({_first_line(exc)})") from None
    if not tensors:
        raise CheckpointError(p, "safetensors file holds no tensors")
    networks = _build_networks(p, group_state_dict(tensors), {}, default_activation)
    env_id = next((meta[k] for k in _ENV_KEYS if isinstance(meta.get(k), str)), None)
    step = None
    for key in _STEP_KEYS:
        if key in meta and str(meta[key]).isdigit():
            step = int(meta[key])
            break
    return Checkpoint(str(p), "safetensors", networks, step=step, env_id=env_id, metadata=meta)


def _interpret(p: Path, obj: Any, default_activation: str, fmt_hint: str | None) -> Checkpoint:
    """Turn what ``torch.load`` returned into a :class:`Checkpoint`."""
    import torch

    if isinstance(obj, torch.Tensor):
        raise CheckpointError(p, "holds a single tensor, not named network weights")
    if not isinstance(obj, Mapping):
        raise CheckpointError(p, f"holds a {type(obj).__name__}, not a dict of network weights")

    if obj.get("format") == _OUR_FORMAT:
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
    step = next((int(obj[k]) for k in _STEP_KEYS if isinstance(obj.get(k), int) and not isinstance(obj.get(k), bool)), None)
    samples = _obs_samples(p, obj.get("obs_samples"))
    return Checkpoint(str(p), "networks_dict", networks, step=step, env_id=env_id, obs_samples=samples, metadata=metadata)


def _interpret_ours(p: Path, obj: Mapping[str, Any], default_activation: str) -> Checkpoint:
    notes = []
    version = obj.get("version")
    if isinstance(version, int) and version > 1:
        notes.append(f"written by a newer neurodash (checkpoint version {version}); read as version 1")
    nets = obj.get("networks")
    if not isinstance(nets, Mapping) or not nets:
        raise CheckpointError(p, "neurodash checkpoint without a 'networks' dict")
    activations: dict[str, str] = {}
    for info in obj.get("layers") or []:
        if isinstance(info, Mapping) and isinstance(info.get("name"), str):
            act = info.get("activation")
            activations[info["name"]] = act if isinstance(act, str) else "identity"
    found = {}
    for name, sd in nets.items():
        if isinstance(name, str) and isinstance(sd, Mapping) and _is_state_dict(sd):
            found[name] = sd
        else:
            notes.append(f"entry networks[{name!r}] is not a state dict of tensors; skipped")
    if not found:
        raise CheckpointError(p, "neurodash checkpoint whose 'networks' hold no state dicts of tensors")
    networks = _build_networks(p, found, {n: activations for n in found}, default_activation)
    metadata = _plain_metadata(obj)
    for key in ("config", "feature_names", "action_names"):
        if key in obj:
            metadata[key] = obj[key]
    step = obj.get("step") if isinstance(obj.get("step"), int) else None
    env_id = obj.get("env_id") if isinstance(obj.get("env_id"), str) else None
    samples = _obs_samples(p, obj.get("obs_samples"))
    return Checkpoint(str(p), "neurodash", networks, step=step, env_id=env_id, obs_samples=samples,
                      metadata=metadata, notes=notes)


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


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= size - 8 and head[8:9] == b"{"


def _check_zip_sizes(p: Path, infos: Iterable[zipfile.ZipInfo], max_bytes: int, where: str = "") -> None:
    total = 0
    inside = f" in {where}" if where else ""
    for info in infos:
        if info.file_size > max_bytes:
            raise CheckpointError(
                p, f"archive member {info.filename!r}{inside} would decompress to {_mb(info.file_size)}, over the {_mb(max_bytes)} limit"
            )
        total += info.file_size
    if total > max_bytes:
        raise CheckpointError(p, f"archive{inside} would decompress to {_mb(total)}, over the {_mb(max_bytes)} limit")


def _read_member(p: Path, zf: zipfile.ZipFile, name: str, max_bytes: int) -> bytes:
    """Read one archive member into memory, never more than ``max_bytes`` (whatever its
    header claims: a zip bomb is cut off, not inflated)."""
    info = zf.getinfo(name)
    if info.file_size > max_bytes:
        raise CheckpointError(p, f"archive member {name!r} would decompress to {_mb(info.file_size)}, over the {_mb(max_bytes)} limit")
    chunks, total = [], 0
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise CheckpointError(p, f"archive member {name!r} decompresses to more than the {_mb(max_bytes)} limit")
    return b"".join(chunks)


def _read_sb3_data(zf: zipfile.ZipFile) -> dict | None:
    """The SB3 ``data`` member is JSON (some values hold base64 pickles, which we never
    decode). Returns the parsed dict, or None when missing, too big or not JSON."""
    try:
        info = zf.getinfo("data")
    except KeyError:
        return None
    if info.file_size > TH.SB3_DATA_MAX_BYTES:
        return None
    try:
        with zf.open(info) as fh:
            raw = fh.read(TH.SB3_DATA_MAX_BYTES + 1)
        if len(raw) > TH.SB3_DATA_MAX_BYTES:
            return None
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError):
        return None
    return data if isinstance(data, dict) else None


def _torch_load(p: Path, source: Any, max_bytes: int, where: str = "") -> Any:
    import torch

    inside = f"{where}: " if where else ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4" chatter
            if isinstance(source, Path):
                # an open file, not the path: torch.load must not pick a reader from the suffix
                with open(source, "rb") as fh:
                    return torch.load(fh, map_location="cpu", weights_only=True)
            return torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # every failure becomes one clear line
        raise CheckpointError(p, inside + _explain_load_error(exc, p if not where else None)) from None


def _explain_load_error(exc: BaseException, path: Path | None) -> str:
    msg = str(exc)
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", msg)
    if found:
        name = found.group(1)
        if name.startswith("torch.nn.") or name.endswith("Module"):
            return (
                f"holds a whole pickled PyTorch module ({name}), not plain weights; a safe load "
                "will not run the code needed to rebuild it (nothing was executed). Re-save it with "
                "torch.save(model.state_dict())"
            )
        if name.startswith(("numpy.", "numpy._core")):
            return (
                f"holds pickled numpy objects ({name}); a weights-only load refuses them "
                "(nothing was executed). Save tensors instead of numpy arrays"
            )
        return (
            f"holds a pickled Python object or function ({name}) that only an unsafe load could "
            "rebuild; refused, nothing was executed"
        )
    if "Weights only load failed" in msg or isinstance(exc, pickle.UnpicklingError):
        if path is not None and _is_plain_pickle(path):
            return (
                "is a plain Python pickle, not a PyTorch checkpoint; refused without unpickling "
                "(it could hold objects or code), nothing was executed"
            )
        return _UNRECOGNISED
    if isinstance(exc, (EOFError, struct.error)) or "Ran out of input" in msg or "unexpected EOF" in msg.lower():
        return "file is truncated (the data ends too early)"
    if "PytorchStreamReader" in msg or "zip archive" in msg:
        return f"file is truncated or corrupt ({_first_line(exc).split('. ')[0]})"
    if "Invalid magic number" in msg or "invalid load key" in msg:
        return _UNRECOGNISED
    return f"could not be read as a checkpoint ({type(exc).__name__}: {_first_line(exc)})"


def _is_plain_pickle(path: Path) -> bool:
    """True when the file starts like a pickle written with protocol 2..5 (PROTO opcode)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
    except OSError:
        return False
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line[:200]


def _mb(n: int) -> str:
    if n >= 1024**3:
        return f"{n / 1024**3:.1f} GiB"
    if n >= 1024**2:
        return f"{n / 1024**2:.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"
