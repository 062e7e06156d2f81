"""The Live tab's one request per poll: every panel's tick in one callback.

Each panel keeps its own tick function (``show_agent``, ``tick_steps``, ``tick_policy``,
``tick_episodes``, ``update_frame``: pure functions of the poll, the run and the panel's
cursor, tested one by one); :func:`tick_live` calls them in turn inside one store session
and sends all their outputs in one response. One request a second instead of five: on a
machine with few cores, every request costs the browser (Dash's renderer handles each
response on its own) and the server as much as the panel's own work does. The kind of
agent found on this tick is handed to the panels at once, so a new run's panels do not
wait a poll for it.
"""

from __future__ import annotations

from dash import Input, Output, State, callback, no_update
from dash.exceptions import PreventUpdate

from dashapp import read
from dashapp.tabs.live.agent import show_agent
from dashapp.tabs.live.episodes import tick_episodes
from dashapp.tabs.live.frame import update_frame
from dashapp.tabs.live.policy import tick_policy
from dashapp.tabs.live.value import tick_steps
from dashapp.tabs.live.view import POLL, TAB_ID

#: Each panel's outputs, in the order its tick function returns them.
PANELS = {
    "agent": [
        ("live-agent", "data"),
        ("live-q-panel", "className"),
        ("live-value-panels", "className"),
        ("live-critics-panel", "className"),
        ("live-policy-panels", "className"),
        ("live-choice-title", "children"),
        ("live-choice-note", "children"),
        ("live-policy-note", "children"),
        ("live-episodes-title", "children"),
        ("live-episodes-note", "children"),
    ],
    "steps": [
        ("live-q-graph", "extendData"),
        ("live-actions-trend", "extendData"),
        ("live-actions-bar", "figure"),
        ("live-q-cards", "children"),
        ("live-steps-cursor", "data"),
        ("live-steps-reload", "data"),
    ],
    "policy": [
        ("live-critics-graph", "extendData"),
        ("live-policy-graph", "extendData"),
        ("live-choice-graph", "figure"),
        ("live-policy-cursor", "data"),
        ("live-policy-reload", "data"),
    ],
    "episodes": [
        ("live-episodes-graph", "extendData"),
        ("live-episodes-cursor", "data"),
        ("live-episodes-reload", "data"),
    ],
    "frame": [
        ("live-frame-box", "children"),
        ("live-frame-caption", "children"),
        ("live-frame-cursor", "data"),
    ],
}


def _answer(panel: str, tick, *args) -> tuple:
    """A panel's outputs ("nothing to send" is an answer: no_update for each)."""
    try:
        out = tick(*args)
    except PreventUpdate:
        return (no_update,) * len(PANELS[panel])
    assert len(out) == len(PANELS[panel]), panel
    return tuple(out)


@callback(
    *(Output(component, prop) for outputs in PANELS.values() for component, prop in outputs),
    Input(POLL, "n_intervals"),
    Input("app-run", "data"),
    State("app-tabs", "active_tab"),  # not an Input: a tab switch starts the tab's poll instead
    State("live-agent", "data"),
    State("live-steps-cursor", "data"),
    State("live-policy-cursor", "data"),
    State("live-episodes-cursor", "data"),
    State("live-frame-cursor", "data"),
)
def tick_live(n, run, active_tab, agent, steps_cursor, policy_cursor, episodes_cursor, frame_cursor):
    """Every Live panel's tick, in one store session and one response."""
    if active_tab != TAB_ID:
        raise PreventUpdate  # a hidden tab reads nothing and sends nothing (HTTP 204)
    with read.shared_session(run):  # one store opening for every panel
        shown = _answer("agent", show_agent, n, active_tab, run, agent)
        agent = agent if shown[0] is no_update else shown[0]
        return (
            *shown,
            *_answer("steps", tick_steps, n, active_tab, agent, steps_cursor),
            *_answer("policy", tick_policy, n, active_tab, agent, policy_cursor),
            *_answer("episodes", tick_episodes, n, active_tab, agent, episodes_cursor),
            *_answer("frame", update_frame, n, active_tab, run, frame_cursor),
        )


__all__ = ["PANELS", "tick_live"]
