"""Live alerts with hysteresis: :class:`AlertTracker` turns checks into alerts that do not flicker.

An alert is raised only after its condition held for several evaluations in a row,
cleared only after it was false for several, and remembered (with start and end) after
clearing. The checks come from :mod:`health.live_checks`; the counts from
:mod:`health.thresholds` ("Live training alerts" section).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from health import thresholds as TH
from health.live_checks import LEVEL_RANK, REMEDIES, RULE_TITLES, Check


@dataclass
class Alert:
    """One alert as the dashboard shows it. ``active`` False: cleared (kept as history)."""

    id: str
    rule: str
    layer: str
    level: str
    title: str
    message: str
    remedy: str
    value: float | None
    active: bool
    started_step: int
    started_time: float
    last_step: int
    ended_step: int | None = None
    ended_time: float | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        if data["value"] is not None and not math.isfinite(data["value"]):
            data["value"] = None
        return data


@dataclass
class _Track:
    trues: int = 0
    falses: int = 0
    first_true_step: int = 0
    first_true_time: float = 0.0
    alert: Alert | None = None


@dataclass
class AlertTracker:
    """Turns checks into alerts that do not flicker.

    A condition must hold for ``raise_after`` evaluations in a row before its alert is
    raised (its start is the first of those evaluations), and be false for
    ``clear_after`` in a row before the alert is cleared. Rules not checked in an
    evaluation (no new data) keep their state. Cleared alerts are kept, newest first,
    up to ``history``.
    """

    raise_after: int = TH.LIVE_ALERT_RAISE_AFTER
    clear_after: int = TH.LIVE_ALERT_CLEAR_AFTER
    history: int = TH.LIVE_ALERT_HISTORY
    _tracks: dict[str, _Track] = field(default_factory=dict)
    _cleared: list[Alert] = field(default_factory=list)

    def update(self, checks: Iterable[Check], step: int, time: float) -> None:
        for check in checks:
            track = self._tracks.setdefault(check.key, _Track())
            if check.firing:
                if track.trues == 0:
                    track.first_true_step, track.first_true_time = int(step), float(time)
                track.trues += 1
                track.falses = 0
                if track.alert is None and track.trues >= self.raise_after:
                    track.alert = Alert(
                        id=check.key,
                        rule=check.rule,
                        layer=check.layer,
                        level=check.level,
                        title=RULE_TITLES.get(check.rule, check.rule),
                        message=check.message,
                        remedy=REMEDIES.get(check.rule, ""),
                        value=check.value,
                        active=True,
                        started_step=track.first_true_step,
                        started_time=track.first_true_time,
                        last_step=int(step),
                    )
                elif track.alert is not None:
                    track.alert.level = check.level
                    track.alert.message = check.message
                    track.alert.value = check.value
                    track.alert.last_step = int(step)
            else:
                track.trues = 0
                track.falses += 1
                if track.alert is not None and track.falses >= self.clear_after:
                    done = track.alert
                    done.active, done.ended_step, done.ended_time = False, int(step), float(time)
                    self._cleared.insert(0, done)
                    del self._cleared[self.history :]
                    track.alert = None

    def active(self) -> list[Alert]:
        """Active alerts, most severe first, then oldest first."""
        alerts = [t.alert for t in self._tracks.values() if t.alert is not None]
        return sorted(alerts, key=lambda a: (-LEVEL_RANK.get(a.level, 0), a.started_step, a.id))

    def cleared(self) -> list[Alert]:
        return list(self._cleared)

    def to_dicts(self) -> list[dict]:
        """Active alerts first, then recently cleared ones -- what the ALERTS key holds."""
        return [a.to_dict() for a in self.active()] + [a.to_dict() for a in self._cleared]
