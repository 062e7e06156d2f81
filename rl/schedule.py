"""When sampled work is due: one rate limiter for every clock of the worker.

Everything the worker does besides training runs on a schedule of its own: step records
at most 50 a second, a store write every quarter second, game frames, heartbeats,
command polls, activation / gradient / weight samples, the probe's and the attribution's
publishes. Each asks a :class:`Throttle` -- "at most once every ``period`` seconds" --
instead of keeping a ``_next_*`` time of its own; the probe's samples add a count ("every
n-th pass") with :class:`Sampler`. Costs therefore follow the wall clock, not the
training speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class Throttle:
    """At most once every ``period`` seconds of ``clock`` (period 0: always).

    :meth:`ready` says whether the work is due now and, if so, books the next time;
    :meth:`start` sets the first time (at once, or a period from now); :meth:`due_at`
    sets it to a given time (e.g. later, after work that took long).
    """

    __slots__ = ("period", "clock", "next_at")

    def __init__(self, period: float, clock: Clock = time.monotonic, *, due_now: bool = True) -> None:
        if not period >= 0:
            raise ValueError(f"a throttle's period must be >= 0 seconds, got {period!r}")
        self.period, self.clock = float(period), clock
        self.next_at = 0.0 if due_now else clock() + self.period

    @classmethod
    def per_second(cls, rate: float | None, clock: Clock = time.monotonic, *, due_now: bool = True) -> Throttle:
        """At most ``rate`` times a second (None or 0: no limit)."""
        return cls(1.0 / rate if rate else 0.0, clock, due_now=due_now)

    def start(self, now: float | None = None, *, due_now: bool = True) -> None:
        now = self.clock() if now is None else now
        self.next_at = now if due_now else now + self.period

    def ready(self, now: float | None = None) -> bool:
        """True (and the next time booked) when the work is due."""
        if self.period <= 0 and self.next_at == 0.0:
            return True  # no limit and nothing booked: the hot path asks no clock
        now = self.clock() if now is None else now
        if now < self.next_at:
            return False
        self.next_at = now + self.period if self.period > 0 else 0.0
        return True

    def due(self, now: float | None = None) -> bool:
        """True when the work is due, without booking it (a time set by :meth:`due_at`
        counts also for period 0)."""
        return (self.clock() if now is None else now) >= self.next_at

    def due_at(self, when: float) -> None:
        """Due from ``when`` on (clock time)."""
        self.next_at = when


class Sampler:
    """Every ``every``-th event, but at most ``max_per_s`` a second: :meth:`ready` with the
    event's count says whether to sample it (and books the time when it does)."""

    __slots__ = ("every", "throttle")

    def __init__(self, every: int = 1, max_per_s: float | None = None, clock: Clock = time.monotonic) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every, self.throttle = int(every), Throttle.per_second(max_per_s, clock)

    def ready(self, count: int) -> bool:
        return count % self.every == 0 and self.throttle.ready()


class Pacer:
    """Holds a loop to at most ``rate`` iterations a second: :meth:`wait` sleeps until the
    next iteration is due. After a slow iteration it catches up by at most one, rather
    than rushing through a backlog."""

    __slots__ = ("rate", "clock", "sleep", "next_at")

    def __init__(self, rate: float, clock: Clock = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if not rate > 0:
            raise ValueError(f"a pacer's rate must be > 0, got {rate!r}")
        self.rate, self.clock, self.sleep = float(rate), clock, sleep
        self.next_at = 0.0

    def restart(self, now: float | None = None) -> None:
        """The next iteration is due at once (after a pause, or a change of speed)."""
        self.next_at = self.clock() if now is None else now

    def wait(self, now: float | None = None) -> float:
        """Sleep until the next iteration is due; returns the time then."""
        now = self.clock() if now is None else now
        if self.next_at > now:
            self.sleep(self.next_at - now)
            now = self.clock()
        period = 1.0 / self.rate
        self.next_at = max(self.next_at, now - period) + period
        return now
