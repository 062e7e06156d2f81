"""Read untrusted checkpoint files safely, one reader per file format; nothing in a file is run.

* PyTorch files (``torch.save``) are read with ``torch.load(..., weights_only=True)``,
  which only rebuilds tensors and plain containers and refuses any other pickled object;
* Stable-Baselines3 ``.zip`` saves are opened with :mod:`zipfile` and only the member
  named exactly ``policy.pth`` (plus the small ``data`` JSON) is read, into memory, with
  its size bounded -- nothing is extracted, so member names such as ``../../evil`` are
  never turned into paths;
* ``.safetensors`` files are read with the safetensors library (a JSON header + raw
  tensor bytes, no pickle at all).

What the readers return is raw (tensors, dicts, metadata); :mod:`health.loading` makes
sense of it. Every failure raises :class:`CheckpointError`, whose message is one line
naming the file and what is wrong with it.
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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from health import thresholds as TH

__all__ = [
    "UNRECOGNISED",
    "CheckpointError",
    "Sb3Save",
    "read_safetensors",
    "read_torch",
    "read_zip",
    "sniff",
]

UNRECOGNISED = "not a PyTorch checkpoint, Stable-Baselines3 .zip or .safetensors file (unrecognised content)"


class CheckpointError(ValueError):
    """A checkpoint file could not be used. ``str(err)`` is ``"<path>: <problem>"``."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # always one line
        super().__init__(f"{self.path}: {self.problem}")


@dataclass
class Sb3Save:
    """What a Stable-Baselines3 ``.zip`` holds: ``policy`` is what ``torch.load`` gave for
    ``policy.pth``, ``data`` the parsed ``data`` JSON (None: missing, too big or not JSON),
    ``version`` the ``_stable_baselines3_version`` text."""

    policy: Any
    data: dict | None
    version: str | None


# ----------------------------------------------------------------------------- which reader
def sniff(p: Path, max_bytes: int) -> str:
    """Which reader the file needs, from its first bytes: "zip", "safetensors" or "torch".

    Refuses (:class:`CheckpointError`) a missing, empty or over-large file, a folder, a
    zip without its table of contents and content no reader knows.
    """
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
        return "zip"
    if _looks_like_safetensors(head, size) or p.suffix == ".safetensors":
        return "safetensors"
    if head[:1] != b"\x80":  # every pickle-based torch.save file starts with the PROTO opcode
        raise CheckpointError(p, UNRECOGNISED)
    return "torch"


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= size - 8 and head[8:9] == b"{"


# ----------------------------------------------------------------------------- zip archives
def read_zip(p: Path, max_bytes: int) -> Any:
    """A zip archive: a Stable-Baselines3 save (-> :class:`Sb3Save`) or PyTorch's own zip
    format of ``torch.save`` (-> what ``torch.load`` returned)."""
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            if len(infos) > TH.ZIP_MAX_MEMBERS:
                raise CheckpointError(
                    p, f"zip archive has {len(infos)} members, over the limit of {TH.ZIP_MAX_MEMBERS}"
                )
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
        return read_torch(p)

    # Stable-Baselines3: policy.pth is itself a torch.save'd state dict.
    inner = io.BytesIO(policy_bytes)
    if zipfile.is_zipfile(inner):
        with zipfile.ZipFile(inner) as izf:
            _check_zip_sizes(p, izf.infolist(), max_bytes, where="policy.pth")
    inner.seek(0)
    return Sb3Save(read_torch(p, inner, where="policy.pth"), data, version)


def _check_zip_sizes(p: Path, infos: Iterable[zipfile.ZipInfo], max_bytes: int, where: str = "") -> None:
    total = 0
    inside = f" in {where}" if where else ""
    for info in infos:
        if info.file_size > max_bytes:
            raise CheckpointError(
                p,
                f"archive member {info.filename!r}{inside} would decompress to {_mb(info.file_size)}, "
                f"over the {_mb(max_bytes)} limit",
            )
        total += info.file_size
    if total > max_bytes:
        raise CheckpointError(p, f"archive{inside} would decompress to {_mb(total)}, over the {_mb(max_bytes)} limit")


def _read_member(p: Path, zf: zipfile.ZipFile, name: str, max_bytes: int) -> bytes:
    """Read one archive member into memory, never more than ``max_bytes`` (whatever its
    header claims: a zip bomb is cut off, not inflated)."""
    info = zf.getinfo(name)
    _check_zip_sizes(p, [info], max_bytes)  # what the header claims
    chunks, total = [], 0
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise CheckpointError(
                    p, f"archive member {name!r} decompresses to more than the {_mb(max_bytes)} limit"
                )
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


# ----------------------------------------------------------------------------- safetensors
def read_safetensors(p: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The tensors of a ``.safetensors`` file (name -> tensor, in file order) and its metadata."""
    try:
        from safetensors import safe_open

        tensors: dict[str, Any] = {}
        with safe_open(str(p), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
            # safe_open is not a dict: it has keys() but is not iterable, so `in fh` would fail
            for key in fh.keys():  # noqa: SIM118
                tensors[key] = fh.get_tensor(key)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(p, f"not a valid safetensors file ({_first_line(exc)})") from None
    if not tensors:
        raise CheckpointError(p, "safetensors file holds no tensors")
    return tensors, meta


# ----------------------------------------------------------------------------- torch.save
def read_torch(p: Path, source: Any = None, where: str = "") -> Any:
    """``torch.load(..., weights_only=True)`` of the file ``p`` (or of ``source``, an
    in-memory archive member named ``where``); every failure becomes one clear line."""
    import torch

    inside = f"{where}: " if where else ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4" chatter
            if source is None:
                # an open file, not the path: torch.load must not pick a reader from the suffix
                with open(p, "rb") as fh:
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
        return UNRECOGNISED
    if isinstance(exc, (EOFError, struct.error)) or "Ran out of input" in msg or "unexpected EOF" in msg.lower():
        return "file is truncated (the data ends too early)"
    if "PytorchStreamReader" in msg or "zip archive" in msg:
        return f"file is truncated or corrupt ({_first_line(exc).split('. ')[0]})"
    if "Invalid magic number" in msg or "invalid load key" in msg:
        return UNRECOGNISED
    return f"could not be read as a checkpoint ({type(exc).__name__}: {_first_line(exc)})"


def _is_plain_pickle(path: Path) -> bool:
    """True when the file starts like a pickle written with protocol 2..5 (PROTO opcode)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
    except OSError:
        return False
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


# ----------------------------------------------------------------------------- messages
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
