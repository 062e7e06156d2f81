"""The telemetry store: the only state the worker and the dashboard share.

One contract, several backends (``MemoryStore`` for tests and headless runs,
``DiskStore`` -- diskcache in the run folder -- by default). A store holds

* **series**: bounded ring buffers of JSON-able dicts. ``append`` gives each record the
  next sequence number ``seq`` and drops records older than the series' capacity, all
  in one transaction; ``read(series, after=cursor)`` returns what is newer than the
  cursor, oldest first.
* **keys**: one latest value each (``put``/``get``); ``put_many`` writes several at once,
  atomically.

Values must be JSON-able (dicts, lists, str, numbers, bools, None); nothing is pickled
as a class instance, so a run stays readable whatever happens to the code.
"""

from __future__ import annotations

import json
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rl import telemetry as T

#: The file that marks a folder as a neurodash run (holds a copy of the run metadata).
RUN_MARKER = "run.json"
#: The diskcache folder inside a run folder.
STORE_DIR = "telemetry"
#: Checkpoints inside a run folder.
CHECKPOINT_DIR = "checkpoints"


class RunDirError(ValueError):
    """A folder cannot be used as (or read as) a run folder."""


class Store(ABC):
    """The store contract. Every backend passes ``tests/rl/test_store_contract.py``."""

    # ---- series
    @abstractmethod
    def append(self, series: str, records: Sequence[Mapping[str, Any]], cap: int | None = None) -> int:
        """Append ``records`` (in order) to ``series``; return the last sequence number.

        Sequence numbers start at 0 and increase by one per record. Only the newest
        ``cap`` records are kept (default: ``telemetry.default_cap`` or 10,000).
        """

    @abstractmethod
    def read(self, series: str, after: int = -1, limit: int | None = None) -> list[dict]:
        """Records with ``seq > after``, oldest first, each with its ``seq``.

        With ``limit``, only the newest ``limit`` of them (a reader that fell behind
        skips to the present rather than replaying history).
        """

    @abstractmethod
    def last_seq(self, series: str) -> int:
        """The sequence number of the newest record, or -1 for an empty series."""

    # ---- keys
    @abstractmethod
    def put(self, key: str, value: Any) -> None: ...

    @abstractmethod
    def get(self, key: str, default: Any = None) -> Any: ...

    @abstractmethod
    def put_many(self, values: Mapping[str, Any]) -> None:
        """Write several keys in one atomic step."""

    def close(self) -> None:  # noqa: B027 - a store with nothing to release need not override it
        """Release what the store holds open (nothing, for an in-memory store)."""

    # ---- conveniences shared by every backend
    def write_meta(self, meta: T.RunMeta) -> None:
        self.put(T.META, meta.to_dict())

    def read_meta(self) -> T.RunMeta | None:
        data = self.get(T.META)
        return None if data is None else T.RunMeta.from_dict(data)

    def send_command(self, action: str, value: Any = None, now: float | None = None) -> int:
        import time

        cmd = T.Command(action=action, value=value, time=time.time() if now is None else now)
        return self.append(T.COMMANDS, [cmd.to_dict()])

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cap_for(series: str, cap: int | None) -> int:
    cap = cap if cap is not None else (T.default_cap(series) or 10_000)
    if cap < 1:
        raise ValueError(f"capacity of {series!r} must be at least 1, got {cap}")
    return int(cap)


def _check_jsonable(record: Mapping[str, Any]) -> dict:
    # Round-trip through JSON: proves the record is plain data and detaches it from
    # caller-owned mutable objects.
    try:
        return json.loads(json.dumps(record, allow_nan=True))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"telemetry records must be JSON-able: {exc}") from None


class MemoryStore(Store):
    """In-process store for tests and headless benchmarks; same semantics as DiskStore."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[str, dict] = {}
        self._keys: dict[str, Any] = {}

    def append(self, series, records, cap=None):
        cap = _cap_for(series, cap)
        rows = [_check_jsonable(r) for r in records]
        with self._lock:
            s = self._series.setdefault(series, {"head": 0, "rows": {}})
            for row in rows:
                row["seq"] = s["head"]
                # Kept as JSON text, like DiskStore: readers can never reach into it.
                s["rows"][s["head"]] = json.dumps(row, allow_nan=True)
                s["head"] += 1
            # Rows are kept in seq order, so the ones to drop are at the front.
            kept_from = s["head"] - cap
            while s["rows"] and next(iter(s["rows"])) < kept_from:
                del s["rows"][next(iter(s["rows"]))]
            return s["head"] - 1

    def read(self, series, after=-1, limit=None):
        with self._lock:
            s = self._series.get(series)
            if not s:
                return []
            seqs = sorted(k for k in s["rows"] if k > after)
            if limit is not None:
                seqs = seqs[-limit:] if limit > 0 else []
            texts = [s["rows"][k] for k in seqs]
        return [json.loads(t) for t in texts]

    def last_seq(self, series):
        with self._lock:
            s = self._series.get(series)
            return -1 if not s else s["head"] - 1

    def put(self, key, value):
        value = _check_jsonable({"v": value})["v"]
        with self._lock:
            self._keys[key] = value

    def get(self, key, default=None):
        with self._lock:
            value = self._keys.get(key, default)
        return json.loads(json.dumps(value)) if value is not default else default

    def put_many(self, values):
        values = {k: _check_jsonable({"v": v})["v"] for k, v in values.items()}
        with self._lock:
            self._keys.update(values)


class DiskStore(Store):
    """diskcache in a folder: safe across processes (SQLite underneath), no server.

    Layout: ``<series>#head`` holds the next sequence number, ``<series>#cap`` the
    capacity, ``<series>#<seq>`` each record (a JSON string); plain keys hold JSON.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        import diskcache

        self.directory = Path(directory)
        # No size-based eviction: capacities are ours, and nothing vanishes silently.
        self._cache = diskcache.Cache(str(self.directory), eviction_policy="none", timeout=60)

    # Records are stored as JSON text, never as pickled objects.
    @staticmethod
    def _dump(value: Any) -> str:
        return json.dumps(value, allow_nan=True)

    @staticmethod
    def _load(text: str | None) -> Any:
        return None if text is None else json.loads(text)

    def append(self, series, records, cap=None):
        cap = _cap_for(series, cap)
        rows = [_check_jsonable(r) for r in records]
        cache = self._cache
        with cache.transact():
            head = cache.get(f"{series}#head", 0)
            old_cap = cache.get(f"{series}#cap", cap)
            for row in rows:
                row["seq"] = head
                cache.set(f"{series}#{head}", self._dump(row))
                head += 1
            # Drop everything that fell out of the window (covers a shrunken cap too).
            first_kept = max(0, head - cap)
            first_stored = max(0, head - len(rows) - old_cap)
            for seq in range(first_stored, first_kept):
                cache.delete(f"{series}#{seq}")
            cache.set(f"{series}#head", head)
            cache.set(f"{series}#cap", cap)
        return head - 1

    def read(self, series, after=-1, limit=None):
        cache = self._cache
        with cache.transact():
            head = cache.get(f"{series}#head", 0)
            cap = cache.get(f"{series}#cap", 0)
            start = max(after + 1, head - cap, 0)
            if limit is not None:
                start = max(start, head - max(limit, 0))
            texts = [cache.get(f"{series}#{seq}") for seq in range(start, head)]
        return [self._load(t) for t in texts if t is not None]

    def last_seq(self, series):
        return self._cache.get(f"{series}#head", 0) - 1

    def put(self, key, value):
        self._cache.set(key, self._dump(value))

    def get(self, key, default=None):
        text = self._cache.get(key)
        return default if text is None else self._load(text)

    def put_many(self, values):
        with self._cache.transact():
            for key, value in values.items():
                self._cache.set(key, self._dump(value))

    def close(self):
        self._cache.close()


# --------------------------------------------------------------------------- run folders
def is_run_dir(path: str | os.PathLike) -> bool:
    return (Path(path) / RUN_MARKER).is_file()


def create_run_dir(path: str | os.PathLike, meta: T.RunMeta) -> DiskStore:
    """Make ``path`` a run folder (or reuse one of ours) and return its store.

    Refuses a folder that holds something else, and says so, rather than mixing our
    files into someone's data.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path} exists and is not a folder; choose another --run-dir")
    if path.is_dir() and any(path.iterdir()) and not is_run_dir(path):
        raise RunDirError(
            f"{path} already holds files that are not a neurodash run; choose an empty or new folder for --run-dir"
        )
    if is_run_dir(path):
        # Reusing one of our folders: never write into a run a newer neurodash made.
        try:
            previous = json.loads((path / RUN_MARKER).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RunDirError(f"{path / RUN_MARKER} is unreadable: {exc}; choose another --run-dir") from None
        if not isinstance(previous, dict):
            raise RunDirError(f"{path / RUN_MARKER} does not hold run details; choose another --run-dir")
        version = previous.get("v", T.SCHEMA_VERSION)
        if not isinstance(version, int) or version > T.SCHEMA_VERSION:
            raise T.SchemaError(
                f"{path} holds a run written by a newer neurodash (telemetry schema {version!r}, "
                f"this one writes {T.SCHEMA_VERSION}); upgrade neurodash or choose another --run-dir"
            )
    try:
        (path / CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
        marker = path / RUN_MARKER
        marker.write_text(json.dumps(meta.to_dict(), indent=2))
    except OSError as exc:
        raise RunDirError(
            f"cannot write to run folder {path}: {exc.strerror or exc}; choose another --run-dir"
        ) from None
    store = DiskStore(path / STORE_DIR)
    store.write_meta(meta)
    return store


def open_run(path: str | os.PathLike) -> DiskStore:
    """Open an existing run folder's store for reading (and sending commands)."""
    path = Path(path)
    if not is_run_dir(path):
        raise RunDirError(f"{path} is not a neurodash run folder (no {RUN_MARKER})")
    try:
        T.check_version(json.loads((path / RUN_MARKER).read_text()), where=f"run {path.name}")
    except (OSError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path / RUN_MARKER} is unreadable: {exc}") from None
    return DiskStore(path / STORE_DIR)


def find_runs(root: str | os.PathLike) -> list[Path]:
    """Run folders at ``root`` (itself a run) or directly below it, newest first."""
    root = Path(root)
    if is_run_dir(root):
        return [root]
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and is_run_dir(p)]
    return sorted(runs, key=lambda p: (p / RUN_MARKER).stat().st_mtime, reverse=True)


def iter_new(store: Store, series: str, cursor: int, limit: int | None = None) -> tuple[list[dict], int]:
    """Read what is newer than ``cursor``; return the records and the new cursor."""
    rows = store.read(series, after=cursor, limit=limit)
    return rows, (rows[-1]["seq"] if rows else cursor)


__all__: list[str] = [
    "Store",
    "MemoryStore",
    "DiskStore",
    "RunDirError",
    "create_run_dir",
    "open_run",
    "find_runs",
    "is_run_dir",
    "iter_new",
    "RUN_MARKER",
    "STORE_DIR",
    "CHECKPOINT_DIR",
]
