"""One checkpoint analysed as ``neurodash health`` analyses it, and cached on disk by its bytes.

:func:`analyse_file` calls ``health.analyze_checkpoint`` with :class:`AnalysisSettings`
(the defaults are ``neurodash health``'s own) and stores the ``CheckpointHealth`` it
returns under a key made of

* the SHA-256 of the file's bytes (a file copied or renamed is found again; a file
  rewritten in place is not),
* the settings, and
* a fingerprint of the ``health`` package's source (changed rules give new results).

Entries are written atomically (a temporary file, then a rename), so several server
processes and worker processes can share one cache folder. They are pickles of health's
own result classes, written by us; they are still read with an unpickler that builds
nothing but those dataclasses and numpy arrays (:func:`load_result`), and anything else
-- an entry of an older health, a damaged file -- is a cache miss.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import io
import json
import os
import pickle
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from health import thresholds as TH
from health.results import CheckpointHealth

__all__ = [
    "AnalysisSettings",
    "FileOutcome",
    "analyse_file",
    "cache_key",
    "file_digest",
    "load_result",
    "lookup",
    "store_result",
]

#: Cache entries' file name ending.
SUFFIX = ".health.pkl"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class AnalysisSettings:
    """The ``neurodash health`` flags that change an analysis; the defaults are the
    command's, so the tab and ``neurodash health --checkpoint FOLDER`` give the same figures."""

    dead_method: str = "activation"
    """``--dead-neuron-method``: "activation" (output variance over sample inputs) or "weight"."""
    dead_samples: int = TH.DEAD_NEURON_SAMPLES_DEFAULT
    """``--dead-neuron-samples``: inputs run through each network by the activation method."""
    default_activation: str = "relu"
    """``--activation``: assumed after hidden layers when the file does not record it."""
    variance_threshold: float = TH.DEAD_ACTIVATION_VARIANCE
    """``--dead-variance-threshold``."""
    weight_threshold: float = TH.DEAD_WEIGHT_NORM
    """``--dead-weight-threshold``."""
    seed: int = 0
    """``--seed``: for collected or random inputs."""

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``health.analyze_checkpoint``."""
        return dataclasses.asdict(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file: ``key`` of its cached result, or ``error`` (one line)."""

    path: str
    key: str | None = None
    error: str | None = None
    cached: bool = False  # True: found in the cache, no analysis was run


@functools.lru_cache(maxsize=1)
def health_fingerprint() -> str:
    """A digest of the ``health`` package's source files: part of every cache key."""
    import health

    digest = hashlib.sha256()
    for path in sorted(Path(health.__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of the file's bytes (raises ``OSError``)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(digest: str, settings: AnalysisSettings) -> str:
    """The cache key of a file with content ``digest`` analysed with ``settings``."""
    text = json.dumps([digest, settings.to_dict(), health_fingerprint()], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _entry(cache_dir: str | os.PathLike, key: str) -> Path:
    if not re.fullmatch(r"[0-9a-z]{1,64}", key):
        raise ValueError(f"not a cache key: {key!r}")
    return Path(cache_dir) / f"{key}{SUFFIX}"


class _ResultUnpickler(pickle.Unpickler):
    """Builds health's dataclasses and numpy arrays only; any other global is refused."""

    _NUMPY = {
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._NUMPY:
            return super().find_class(module, name)
        if module.startswith("health.") and "." not in name:
            found = getattr(importlib.import_module(module), name, None)
            if isinstance(found, type) and dataclasses.is_dataclass(found):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not a health result")


def load_result(
    cache_dir: str | os.PathLike, key: str, path: str | os.PathLike | None = None
) -> CheckpointHealth | None:
    """The cached result under ``key`` (its ``path`` set to ``path``: the same bytes may
    have been analysed under another name), or None when there is none usable."""
    try:
        data = _entry(cache_dir, key).read_bytes()
        result = _ResultUnpickler(io.BytesIO(data)).load()
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None
    if not isinstance(result, CheckpointHealth):
        return None
    return dataclasses.replace(result, path=str(path)) if path is not None else result


def store_result(cache_dir: str | os.PathLike, key: str, result: CheckpointHealth) -> None:
    """Write ``result`` under ``key`` atomically."""
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, _entry(folder, key))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def lookup(path: str | os.PathLike, settings: AnalysisSettings) -> tuple[str | None, str]:
    """(the cache key of ``path`` with ``settings``, or None when the file cannot be read;
    the one-line reason when it cannot)."""
    try:
        return cache_key(file_digest(path), settings), ""
    except OSError as exc:
        return None, f"{path}: cannot be read ({exc.strerror or exc})"


def analyse_file(path: str, settings: AnalysisSettings, cache_dir: str) -> FileOutcome:
    """Analyse one file with ``health.analyze_checkpoint`` unless its result is cached,
    and cache it. A file health cannot read gives its one-line ``CheckpointError``; an
    analysis that fails in another way gives a line naming the file and the failure."""
    key, problem = lookup(path, settings)
    if key is None:
        return FileOutcome(path, error=problem)
    if _entry(cache_dir, key).is_file() and load_result(cache_dir, key) is not None:
        return FileOutcome(path, key=key, cached=True)
    from health import CheckpointError, analyze_checkpoint

    try:
        result = analyze_checkpoint(path, **settings.kwargs())
    except CheckpointError as exc:
        return FileOutcome(path, error=str(exc))
    except Exception as exc:  # a bug or a layer WeightWatcher chokes on: this file fails, the others go on
        return FileOutcome(path, error=f"{path}: the analysis failed ({type(exc).__name__}: {exc})")
    store_result(cache_dir, key, result)
    return FileOutcome(path, key=key)
