"""The health watch's analyses as the Health tab reads them: typed
``rl.telemetry.HealthRecord``\\ s read from where the page's charts stand, the watch's
status (what it is doing, when the next analysis is due), and the networks to choose from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dashapp.read.sessions import Session
from rl import telemetry as T

#: Analyses a page draws on first load (the newest ones): at the defaults a 200,000-step
#: run has about twenty.
HEALTH_RECORDS = 500


@dataclass(frozen=True)
class HealthAnalyses:
    """Analyses, oldest first. ``seq``: the newest one read (or where the page stood, when
    nothing is new); ``full``: these are the newest analyses as a whole, and the page must
    draw its charts anew from them."""

    records: list[T.HealthRecord] = field(default_factory=list)
    seq: int = -1
    full: bool = True

    @property
    def latest(self) -> T.HealthRecord | None:
        return self.records[-1] if self.records else None


def _decode(s: Session, rows: list[dict]) -> list[T.HealthRecord]:
    with s.decoding("its health analyses"):
        return [T.HealthRecord.from_dict(row) for row in rows]


def health_records(s: Session, limit: int = HEALTH_RECORDS) -> HealthAnalyses:
    """The newest ``limit`` analyses."""
    rows = s.read(T.HEALTH, limit=limit)
    return HealthAnalyses(_decode(s, rows), rows[-1]["seq"] if rows else -1, True)


def health_update(s: Session, drawn: int | None, limit: int = HEALTH_RECORDS) -> HealthAnalyses:
    """The analyses newer than ``drawn`` (the newest one the page's charts hold), or -- when
    the page has drawn none (``drawn`` None), the series restarted, or the page fell more
    than ``limit`` behind -- the newest ``limit`` with ``full`` set."""
    last = s.last_seq(T.HEALTH)
    if drawn is None or not (drawn <= last <= drawn + limit):
        return health_records(s, limit)
    rows = s.read(T.HEALTH, after=drawn) if last > drawn else []
    return HealthAnalyses(_decode(s, rows), rows[-1]["seq"] if rows else drawn, False)


def health_status(s: Session) -> T.HealthStatus | None:
    """What the health watch is doing, or None when it never reported (a run trained with
    the watch off, or by a neurodash before it)."""
    data = s.get(T.HEALTH_STATUS)
    if data is None:
        return None
    with s.decoding("its health status"):
        if not isinstance(data, dict):
            raise TypeError("it is not a JSON object")
        return T.HealthStatus.from_dict(data)


def health_enabled(s: Session) -> bool | None:
    """Whether the run was trained with the health watch on (its saved worker config);
    None when the config does not say (a run of a neurodash before the watch)."""
    meta = s.meta()
    worker = meta.config.get("worker") if meta is not None and isinstance(meta.config, dict) else None
    value = worker.get("health") if isinstance(worker, dict) else None
    return value if isinstance(value, bool) else None


def health_networks(s: Session) -> list[str]:
    """Every network of the run's agent, the one shown first first: the watched ones,
    then their target networks (the health watch analyses them all)."""
    meta = s.meta()
    if meta is None:
        return []
    names = [n.name for n in meta.networks] or [meta.network]
    first = meta.network if meta.network in names else names[0]
    return [first, *(n for n in names if n != first)]
