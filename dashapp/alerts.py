"""The network-health alerts panel, shown above every tab by the app shell.

The probe's rules (``health.live_rules``) watch the training network and keep a list of
alerts in the run's ALERTS key: dead or saturated neurons, vanishing or exploding
gradients, stalled learning, diverging Q-values -- each with a level, the layer, a
message and a suggested remedy, when it started and whether it is still active. This
panel shows the active ones (most severe first) and, folded away, the recently cleared
ones. It polls one small key with the shell's ``app-poll`` and re-renders only when the
alerts changed.
"""

from __future__ import annotations

import time

from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate
import dash_bootstrap_components as dbc

from dashapp import read
from dashapp.figures.internals import alert_view
from health import thresholds as TH

_LEVEL_COLOR = {"critical": "danger", "warning": "warning", "info": "info"}
_LEVEL_ICON = {"critical": "⚠", "warning": "⚠", "info": "•"}

NOTE = ("While the agent trains, neurodash checks the network for trouble: neurons that died or got stuck, "
        "gradients too small to learn from or so large they wreck learning, weights that stopped changing, "
        f"Q-values running away. An alert appears once a problem shows in {TH.LIVE_ALERT_RAISE_AFTER} checks "
        f"in a row and clears after {TH.LIVE_ALERT_CLEAR_AFTER} calm checks, so it does not flicker.")


_FLOAT_STYLE = {"position": "fixed", "right": "1rem", "bottom": "1rem", "zIndex": 1030,
                "textDecoration": "none", "boxShadow": "0 2px 8px rgba(0,0,0,.25)", "borderRadius": "0.4rem"}


def layout():
    return html.Div(
        [
            html.Div(id="alerts-panel", className="alerts-panel", role="status", **{"aria-live": "polite"},
                     children=summary_line(0, None)),
            # the same count, pinned to the corner of the window: in view on every tab, however far
            # down the page is scrolled; a click scrolls back to the panel
            html.A(id="alerts-float", href="#alerts-panel", title="Network-health alerts: click to see them",
                   style={**_FLOAT_STYLE, "display": "none"}),
            dcc.Store(id="alerts-seen"),
        ]
    )


def floating_badge(data: dict | None) -> tuple[list, dict]:
    """(children, style) of the corner badge: shown only while alerts are active."""
    active = alert_view(data)["active"]
    if not active:
        return [], {**_FLOAT_STYLE, "display": "none"}
    worst = active[0].get("level", "warning")
    label = f"{_LEVEL_ICON.get(worst, '⚠')} {len(active)} network alert{'s' if len(active) != 1 else ''}"
    return [dbc.Badge(label, color=_LEVEL_COLOR.get(worst, "warning"), className="p-2 fs-6")], \
        {**_FLOAT_STYLE, "display": "block"}


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
        badge = dbc.Badge(f"{_LEVEL_ICON.get(worst, '⚠')} {n_active} active alert{'s' if n_active != 1 else ''}",
                          color=_LEVEL_COLOR.get(worst, "warning"), className="alerts-badge", id="alerts-badge")
        text = "Network health: see below for what is wrong and what to try."
    return [html.Div([badge, html.Span(text, className="alerts-summary ms-2")], className="d-flex align-items-center"),
            *(extra or [])]


def alert_item(alert: dict, active: bool = True):
    """One alert: a line saying what, where, how bad and since when; the message under it;
    the suggested remedy folded away under "What to try"."""
    level = alert.get("level", "warning")
    since = _when(alert.get("started_step"), alert.get("started_time"))
    status = (f"since {since}" if active else
              f"from {since} to {_when(alert.get('ended_step'), alert.get('ended_time'))}")
    return dbc.Alert(
        [
            html.Div([html.Strong(f"{_LEVEL_ICON.get(level, '⚠')} {alert.get('title', alert.get('rule', 'Alert'))}"),
                      html.Span(f" in {alert.get('layer')}" if alert.get("layer") else ""),
                      dbc.Badge(level, color=_LEVEL_COLOR.get(level, "secondary"), className="ms-2"),
                      html.Small(status, className="ms-2 text-muted"),
                      html.Span(" — " + str(alert.get("message", "")), className="alert-message small")]),
            html.Details([html.Summary("What to try", className="small"),
                          html.Div(alert.get("remedy", ""), className="alert-remedy small")]),
        ],
        color=_LEVEL_COLOR.get(level, "warning") if active else "light",
        className="alert-item mb-1 py-1 px-2",
        id={"type": "alerts-item", "alert": alert.get("id", "?"), "active": bool(active)},
    )


def render(data: dict | None):
    """The panel's children for an ALERTS value (pure)."""
    view = alert_view(data)
    active, cleared = view["active"], view["cleared"]
    extra = []
    if active:
        extra.append(html.Div([alert_item(a) for a in active], className="mt-2 alerts-list",
                              style={"maxHeight": "40vh", "overflowY": "auto"}))
    if cleared:
        extra.append(html.Details([html.Summary(f"{len(cleared)} cleared alert{'s' if len(cleared) != 1 else ''}"),
                                   *[alert_item(a, active=False) for a in cleared]], className="alerts-cleared mt-1"))
    if active or cleared:
        extra.append(html.P(NOTE, className="panel-note"))
    return summary_line(len(active), active[0].get("level") if active else None, extra)


def signature(data: dict | None) -> list:
    """What the panel shows, in short: re-render only when this changes."""
    view = alert_view(data)
    return [[a.get("id"), a.get("level"), a.get("message"), a.get("started_step"), a.get("ended_step")]
            for a in view["active"] + view["cleared"]]


@callback(
    Output("alerts-panel", "children"),
    Output("alerts-float", "children"),
    Output("alerts-float", "style"),
    Output("alerts-seen", "data"),
    Input("app-poll", "n_intervals"),
    Input("app-run", "data"),
    State("alerts-seen", "data"),
)
def update_alerts(_n, run, seen):
    """The alerts of the selected run: read -> render (only when they changed)."""
    if not run:
        key = {"run": None, "sig": []}
        if seen == key:
            raise PreventUpdate
        return (summary_line(0, None), *floating_badge(None), key)
    try:
        data = read.live_alerts(run)
    except read.BrokenRun as exc:
        return ([html.Span(f"Network health: cannot read this run's alerts ({exc}).", className="text-muted")],
                *floating_badge(None), None)
    key = {"run": run, "sig": signature(data)}
    if seen == key:
        raise PreventUpdate  # unchanged: nothing is sent
    return (render(data), *floating_badge(data), key)


__all__ = ["layout", "render", "signature", "update_alerts", "alert_item", "floating_badge"]
