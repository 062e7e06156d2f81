"""The tick / load split every tab's growing charts share (Live, Activations, Gradients,
Weights), and the per-tab poll every tab uses.

Each tab has its own ``dcc.Interval``, ``poll_id(TAB_ID)`` ("<TAB_ID>-poll"), made by the
shell: only the shown tab's poll runs, and the shell bumps it once when the tab is
shown, so a hidden tab sends no requests and a tab switch triggers the shown tab only.
A tab's callbacks take that poll as their Input and ``app-tabs.active_tab`` as State,
to answer 204 when something else (the run store, the page load) triggers them while
the tab is hidden.

A chart that grows while training has two callbacks and a cursor in a ``dcc.Store``:

* a **tick**, driven by the tab's poll, that reads only the records newer than the
  cursor and sends them (``Patch`` / ``extendData``); and
* a **load**, triggered only through a ``*-reload`` store that the tick writes when the
  chart must be drawn whole (first view, another run or layer, a value range the chart
  cannot stretch to, a page that fell far behind -- e.g. while the tab was hidden).

Dash drops a callback's answer when the interval triggers the same callback again
before it has returned (dash-core-components#661; the Live tab hit it first), so a
whole-figure draw that can take longer than one poll must not hang off the interval.

The cursor says which view it belongs to (``key``: run, layer, ...), whether the chart
holds real traces (``drawn``), the newest record drawn (``seq``), what else the chart's
extension needs (e.g. the Live tab's ``stride``), whether the run could not be read
(``broken``: the load has put the reason on the chart) and -- while a load is on its
way -- ``pending``.
"""

from __future__ import annotations

from typing import Any

from dash import no_update

#: Ticks a requested load may take before the tick asks again (the request may be lost).
RELOAD_PATIENCE = 10


def poll_id(tab_id: str) -> str:
    """The id of the tab's own ``dcc.Interval``: it runs only while the tab is shown."""
    return f"{tab_id}-poll"


def same_view(cursor: Any, key: dict) -> bool:
    """True when ``cursor`` belongs to the view ``key`` (drawn or not)."""
    return isinstance(cursor, dict) and cursor.get("key") == key


def matches(cursor: Any, key: dict) -> bool:
    """True when ``cursor`` belongs to the view ``key`` and its chart has been drawn."""
    return same_view(cursor, key) and bool(cursor.get("drawn"))


def drawn_seq(cursor: Any, key: dict) -> int | None:
    """The newest record the chart of view ``key`` holds, or None when it holds none."""
    if not matches(cursor, key):
        return None
    seq = cursor.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else -1


def reload_pending(cursor: Any, key: dict, n: int | None) -> bool:
    """True while a load asked for ``key`` at tick ``n0`` may still be on its way."""
    pending = cursor.get("pending") if isinstance(cursor, dict) else None
    return (
        isinstance(pending, dict)
        and pending.get("key") == key
        and 0 <= (n or 0) - pending.get("tick", -99) < RELOAD_PATIENCE
    )


def ask_reload(cursor: Any, key: dict, n: int | None) -> tuple[Any, Any]:
    """(cursor, reload-store value) for a tick that needs the chart drawn whole: marks the
    request as pending, or -- when one is pending already -- changes nothing."""
    if reload_pending(cursor, key, n):
        return no_update, no_update
    base = cursor if isinstance(cursor, dict) else {"run": None, "key": None, "drawn": False}
    return {**base, "pending": {"key": key, "tick": n or 0}}, {"key": key, "tick": n or 0}


def unless_shown(cursor: Any, key: dict, n: int | None) -> tuple[Any, Any]:
    """(cursor, reload-store value) for a tick with nothing to draw (no run chosen, no
    records yet, a run that cannot be read): a load once, to put the reason on the chart,
    and nothing while the chart already shows view ``key``."""
    if same_view(cursor, key):
        return no_update, no_update
    return ask_reload(cursor, key, n)


def explain_broken(cursor: Any, key: dict, n: int | None) -> tuple[Any, Any]:
    """(cursor, reload-store value) for a tick that found the run unreadable: a load, which
    puts the reason on the chart and marks the cursor ``broken`` -- once, not every poll."""
    if same_view(cursor, key) and cursor.get("broken"):
        return no_update, no_update
    return ask_reload(cursor, key, n)


def panels_shown(shown: Any, run: str | None, network: str | None) -> dict:
    """What a tab's small panels (replaced whole each tick, or patched) show, when they
    show ``run``'s ``network``; else ``{}`` (they must be drawn anew)."""
    if isinstance(shown, dict) and shown.get("run") == run and shown.get("network") == network:
        return shown
    return {}


def loaded(key: dict, seq: int, drawn: bool, **extra: Any) -> dict:
    """The cursor a load leaves behind after drawing up to record ``seq``."""
    return {"run": key.get("run"), "key": key, "seq": seq, "drawn": bool(drawn), **extra}


__all__ = [
    "RELOAD_PATIENCE",
    "poll_id",
    "same_view",
    "matches",
    "drawn_seq",
    "reload_pending",
    "ask_reload",
    "unless_shown",
    "explain_broken",
    "panels_shown",
    "loaded",
]
