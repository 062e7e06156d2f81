"""The network-health alerts panel, shown above every tab by the app shell.

The probe's rules (``health.live_rules``) watch the training network and keep a list of
alerts in the run's ALERTS key: dead or saturated neurons, vanishing or exploding
gradients, stalled learning, diverging Q-values -- each with a level, the layer, a
message and a suggested remedy, when it started and whether it is still active. This
panel shows the active ones (most severe first) and, folded away, the recently cleared
ones. The shell reads one small key on each of its polls (``dashapp.app.update_shell``)
and re-renders only when the alerts changed.
"""

from __future__ import annotations

import time

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.exceptions import PreventUpdate

from dashapp import read
from dashapp.read.probe import AlertsView
from health import thresholds as TH
from rl import telemetry as T

_LEVEL_COLOR = {"critical": "danger", "warning": "warning", "info": "info"}
_LEVEL_ICON = {"critical": "⚠", "warning": "⚠", "info": "•"}

NOTE = (
    "While the agent trains, neurodash checks the network for trouble: neurons that died or got stuck, "
    "gradients too small to learn from or so large they wreck learning, weights that stopped changing, "
    f"Q-values running away. An alert appears once a problem shows in {TH.LIVE_ALERT_RAISE_AFTER} checks "
    f"in a row and clears after {TH.LIVE_ALERT_CLEAR_AFTER} calm checks, so it does not flicker."
)


_FLOAT_STYLE = {
    "position": "fixed",
    "right": "1rem",
    "bottom": "1rem",
    "zIndex": 1030,
    "textDecoration": "none",
    "boxShadow": "0 2px 8px rgba(0,0,0,.25)",
    "borderRadius": "0.4rem",
}


def layout():
    return html.Div(
        [
            html.Div(
                id="alerts-panel",
                className="alerts-panel",
                role="status",
                **{"aria-live": "polite"},
                children=summary_line(0, None),
            ),
            # the same count, pinned to the corner of the window: in view on every tab, however far
            # down the page is scrolled; a click scrolls back to the panel
            html.A(
                id="alerts-float",
                href="#alerts-panel",
                title="Network-health alerts: click to see them",
                style={**_FLOAT_STYLE, "display": "none"},
            ),
            dcc.Store(id="alerts-seen"),
        ]
    )


def floating_badge(view: AlertsView | None) -> tuple[list, dict]:
    """(children, style) of the corner badge: shown only while alerts are active."""
    active = view.active if view is not None else []
    if not active:
        return [], {**_FLOAT_STYLE, "display": "none"}
    worst = active[0].level
    label = f"{_LEVEL_ICON.get(worst, '⚠')} {len(active)} network alert{'s' if len(active) != 1 else ''}"
    return [dbc.Badge(label, color=_LEVEL_COLOR.get(worst, "warning"), className="p-2 fs-6")], {
        **_FLOAT_STYLE,
        "display": "block",
    }


def _when(step, seconds) -> str:
    parts = []
    if isinstance(step, int):
        parts.append(f"step {step:,}")
    if isinstance(seconds, (int, float)) and seconds > 0:
        parts.append(time.strftime("%H:%M:%S", time.localtime(seconds)))
    return " · ".join(parts)


def summary_line(n_active: int, worst: str | None, extra=None):
    if n_active == 0:
        badge = dbc.Badge("✓ no alerts", color="success", className="alerts-badge", id="alerts-badge")
        text = "Network health: nothing wrong found so far."
    else:
        badge = dbc.Badge(
            f"{_LEVEL_ICON.get(worst or 'warning', '⚠')} {n_active} active alert{'s' if n_active != 1 else ''}",
            color=_LEVEL_COLOR.get(worst or "warning", "warning"),
            className="alerts-badge",
            id="alerts-badge",
        )
        text = "Network health: see below for what is wrong and what to try."
    return [
        html.Div([badge, html.Span(text, className="alerts-summary ms-2")], className="d-flex align-items-center"),
        *(extra or []),
    ]


def where(alert: T.AlertEntry, networks: int = 1) -> str:
    """Where the alert is: " in fc1", and " of critic_1" when the run watches several networks."""
    text = f" in {alert.layer}" if alert.layer else ""
    return text + (f" of {alert.network}" if alert.network and networks > 1 else "")


def alert_item(alert: T.AlertEntry, active: bool = True, networks: int = 1):
    """One alert: a line saying what, where, how bad and since when; the message under it;
    the suggested remedy folded away under "What to try"."""
    level = alert.level
    since = _when(alert.started_step, alert.started_time)
    status = f"since {since}" if active else f"from {since} to {_when(alert.ended_step, alert.ended_time)}"
    return dbc.Alert(
        [
            html.Div(
                [
                    html.Strong(f"{_LEVEL_ICON.get(level, '⚠')} {alert.title or alert.rule}"),
                    html.Span(where(alert, networks)),
                    dbc.Badge(level, color=_LEVEL_COLOR.get(level, "secondary"), className="ms-2"),
                    html.Small(status, className="ms-2 text-muted"),
                    html.Span(" — " + str(alert.message), className="alert-message small"),
                ]
            ),
            html.Details(
                [html.Summary("What to try", className="small"), html.Div(alert.remedy, className="alert-remedy small")]
            ),
        ],
        color=_LEVEL_COLOR.get(level, "warning") if active else "light",
        className="alert-item mb-1 py-1 px-2",
        id={
            "type": "alerts-item",
            "alert": f"{alert.network}:{alert.id}" if alert.network else alert.id,
            "active": bool(active),
        },
    )


def render(view: AlertsView | None):
    """The panel's children for the run's alerts (pure)."""
    active, cleared = (view.active, view.cleared) if view is not None else ([], [])
    networks = len({a.network for a in active + cleared})
    extra = []
    if active:
        extra.append(
            html.Div(
                [alert_item(a, networks=networks) for a in active],
                className="mt-2 alerts-list",
                style={"maxHeight": "40vh", "overflowY": "auto"},
            )
        )
    if cleared:
        extra.append(
            html.Details(
                [
                    html.Summary(f"{len(cleared)} cleared alert{'s' if len(cleared) != 1 else ''}"),
                    *[alert_item(a, active=False, networks=networks) for a in cleared],
                ],
                className="alerts-cleared mt-1",
            )
        )
    if active or cleared:
        extra.append(html.P(NOTE, className="panel-note"))
    return summary_line(len(active), active[0].level if active else None, extra)


def signature(view: AlertsView | None) -> list:
    """What the panel shows, in short: re-render only when this changes."""
    if view is None:
        return []
    return [[a.network, a.id, a.level, a.message, a.started_step, a.ended_step] for a in view.active + view.cleared]


def update_alerts(_n, run, seen):
    """The alerts of the selected run: read -> render (only when they changed; else
    PreventUpdate). The shell's poll (``dashapp.app.update_shell``) calls it."""
    if not run:
        key: dict[str, object] = {"run": None, "sig": []}
        if seen == key:
            raise PreventUpdate
        return (summary_line(0, None), *floating_badge(None), key)
    try:
        with read.session(run) as s:
            data = read.probe.alerts(s)
    except read.BrokenRun as exc:
        return (
            [html.Span(f"Network health: cannot read this run's alerts ({exc}).", className="text-muted")],
            *floating_badge(None),
            None,
        )
    key = {"run": run, "sig": signature(data)}
    if seen == key:
        raise PreventUpdate  # unchanged: nothing is sent
    return (render(data), *floating_badge(data), key)


__all__ = ["layout", "render", "signature", "update_alerts", "alert_item", "floating_badge"]
