"""One store session per callback tick: a run's store opened once, read, and closed.

A callback opens ``with session(run) as s:`` and hands ``s`` to every read function it
needs, so a tick costs one store opening (a few milliseconds with diskcache) however many
things it reads. A session opened inside another one of the same run (a callback that
serves several panels calls each panel's own code) is the outer one again.

Any failure -- a folder that is not a run, a newer schema, a store that cannot be opened,
a record that cannot be decoded -- becomes :class:`BrokenRun`, a one-line reason the page
shows instead of a traceback.

Run paths come back from the browser, so :func:`check_served` refuses any folder outside
the one this dashboard serves.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

from rl import store as S
from rl import telemetry as T

#: Flask config key holding the folder a dashboard serves (set by ``create_app``).
RUNS_DIR_CONFIG = "NEURODASH_RUNS_DIR"


class BrokenRun(ValueError):
    """A run folder the dashboard cannot read; the message says which and why, in one line."""


def served_root() -> Path | None:
    """The runs folder this dashboard process serves, when called inside a request."""
    import flask

    if flask.has_app_context():
        root = flask.current_app.config.get(RUNS_DIR_CONFIG)
        return Path(root) if root else None
    return None


def check_served(run_path: str | Path) -> Path:
    """``run_path`` as a Path, refused unless it is the served folder or directly inside it.

    Without this check a page could make the server open any folder on the machine.
    Outside a request (tests, scripts) there is no served folder and nothing to check.
    """
    path = Path(run_path)
    root = served_root()
    if root is not None:
        resolved = path.resolve()
        if resolved != root and resolved.parent != root:
            raise BrokenRun(f"{path} is not a run in the folder this dashboard serves ({root})")
    return path


#: What a store raises when its files cannot be read (a damaged or half-written store).
_STORE_ERRORS = (sqlite3.Error, OSError, json.JSONDecodeError)


class Session:
    """A run's open store, for the duration of one callback: the raw reads the read
    modules build on (a store that fails to read becomes :class:`BrokenRun`), the run's
    metadata (read once), and the names of its per-network probe series (which depend on
    the schema the run was written with)."""

    def __init__(self, store: S.Store, path: Path) -> None:
        self.store, self.path, self.name = store, path, path.name or str(path)
        self._meta: T.RunMeta | None = None
        self._meta_read = False
        self._schema = T.SCHEMA_VERSION

    def broken(self, what: str, exc: BaseException | str) -> BrokenRun:
        """A :class:`BrokenRun` saying ``what`` of this run cannot be read, and why."""
        return BrokenRun(f"run {self.name}: {what} cannot be read ({exc})")

    @contextmanager
    def decoding(self, what: str) -> Iterator[None]:
        """Decode ``what`` of this run: a record of a newer schema, or one that is not what
        its type says, becomes :class:`BrokenRun` naming the run and ``what``."""
        try:
            yield
        except BrokenRun:
            raise  # already says what is wrong
        except T.SchemaError as exc:
            raise BrokenRun(f"run {self.name}: {exc}") from None
        except (TypeError, ValueError, KeyError) as exc:
            raise self.broken(what, exc) from None

    def _store(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _STORE_ERRORS as exc:
            raise BrokenRun(f"run {self.name}: its telemetry cannot be read ({type(exc).__name__}: {exc})") from None

    def meta(self) -> T.RunMeta | None:
        """The run's metadata, or None if the worker has not written it yet."""
        if not self._meta_read:
            data = self.get(T.META)
            self._meta_read = True
            if data is not None:
                if not isinstance(data, dict):
                    raise BrokenRun(f"run {self.name}: its metadata is not a JSON object")
                with self.decoding("its metadata"):
                    self._schema = T.check_version(data, where=f"run {self.name}")
                    self._meta = T.RunMeta.from_dict(data)
        return self._meta

    @property
    def schema(self) -> int:
        """The telemetry schema the run was written with."""
        self.meta()
        return self._schema

    def network(self, network: str | None = None) -> str:
        """``network``, or the network the run shows first."""
        meta = self.meta()
        return network or (meta.network if meta else "q_network")

    def probe_key(self, base: str, network: str | None = None) -> str:
        """Where this run keeps ``network``'s copy of probe series or key ``base``."""
        return T.probe_key(base, self.network(network), self.schema)

    def get(self, key: str) -> Any:
        return self._store(self.store.get, key)

    def read(self, series: str, after: int = -1, limit: int | None = None) -> list[dict]:
        rows = self._store(self.store.read, series, after=after, limit=limit)
        for row in (rows[0], rows[-1]) if rows else ():
            # a series is written by one worker: its oldest and newest share a version
            if not isinstance(row, dict):
                raise BrokenRun(f"run {self.name}: its {series} records are not JSON objects")
            with self.decoding(f"its {series} records"):
                T.check_version(row, where=f"a {series} record")
        return rows

    def last_seq(self, series: str) -> int:
        return self._store(self.store.last_seq, series)


_open = threading.local()  # the sessions open in this thread (one request), by run folder


@contextmanager
def session(run_path: str | Path) -> Iterator[Session]:
    """Open a run's store for one callback (an unusable run folder becomes
    :class:`BrokenRun`); every read through the session translates its own failures. The
    store is closed again on exit, so no connection outlives the callback; an error in the
    callback's own code goes through as it is."""
    path = check_served(run_path)
    open_here: dict[Path, Session] = _open.__dict__.setdefault("sessions", {})
    if path in open_here:  # inside a session of this run: read through it
        yield open_here[path]
        return
    try:
        store = S.open_run(path)
    except (S.RunDirError, T.SchemaError) as exc:
        raise BrokenRun(str(exc)) from None
    except _STORE_ERRORS as exc:
        raise BrokenRun(f"run {path.name}: its telemetry store cannot be opened ({exc})") from None
    open_here[path] = Session(store, path)
    try:
        yield open_here[path]
    finally:
        del open_here[path]
        store.close()


@contextmanager
def shared_session(run_path: str | Path | None) -> Iterator[None]:
    """One store session for every panel a callback serves: inside, each panel's own
    ``session(run_path)`` reads through it. A run that cannot be opened (or none) opens
    nothing here: each panel's own session says why, as it would alone."""
    with ExitStack() as opened:
        if run_path:
            with suppress(BrokenRun):
                opened.enter_context(session(run_path))
        yield
