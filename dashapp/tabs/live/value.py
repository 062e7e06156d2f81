"""The Live tab's panels for a value-based agent (DQN): the Q-value trend and the action
mix (growing charts on the tick / load split of :mod:`dashapp.tabs.reloading`), and the
Q-value statistic cards and greedy-vs-random action bars, which summarise a fixed window
of recent steps and are replaced whole on each tick. Nothing happens for an actor-critic
run: :mod:`dashapp.tabs.live.policy` draws its panels."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html, no_update

from dashapp import read
from dashapp.figures import live as F
from dashapp.figures.common import color, empty_figure, fmt, percent
from dashapp.tabs import reloading as R
from dashapp.tabs.live.view import (
    ACTIONS_HEIGHT,
    Q_HEIGHT,
    TAB_ID,
    VALUE,
    action_names,
    advanced,
    agent_of,
    load_pair,
    placeholder,
    position,
    summarised,
    summary_is_current,
)

# --------------------------------------------------------------------------- components
_TREND_ICON = {
    F.RISING: ("▲", "text-success"),
    F.FALLING: ("▼", "text-danger"),
    F.STEADY: ("▶", "text-secondary"),
    F.UNKNOWN: ("·", "text-secondary"),
}
_CONFIDENCE_COLOR = {"high": "success", "medium": "warning", "low": "danger", F.UNKNOWN: "secondary"}


def q_cards(stats: list[F.ActionStats]) -> list:
    """One card per action from :func:`dashapp.figures.live.action_stats` (pure)."""
    if not stats:
        return [dbc.Col(html.P("Waiting for Q-values...", className="empty-note"))]
    cols = []
    for s in stats:
        icon, icon_class = _TREND_ICON.get(s.trend, _TREND_ICON[F.UNKNOWN])
        conf = s.confidence
        header = html.Div(
            [
                html.Span(className="swatch", style={"backgroundColor": color(s.action)}),
                html.Span(s.name, className="card-action"),
                dbc.Badge("best move now", color="dark", className="ms-2") if s.greedy else None,
            ],
            className="d-flex align-items-center",
        )
        body = [
            html.Div([html.Span(fmt(s.now), className="stat-now"), html.Span(" now", className="stat-unit")]),
            html.Table(
                html.Tbody(
                    [
                        html.Tr([html.Th("mean ± std"), html.Td(f"{fmt(s.mean)} ± {fmt(s.std)}")]),
                        html.Tr([html.Th("min … max"), html.Td(f"{fmt(s.low)} … {fmt(s.high)}")]),
                        html.Tr(
                            [html.Th("trend"), html.Td([html.Span(icon, className=f"{icon_class} me-1"), s.trend])]
                        ),
                        html.Tr(
                            [
                                html.Th("confidence"),
                                html.Td(f"{s.confidence_label}" + ("" if conf is None else f" ({percent(conf)})")),
                            ]
                        ),
                    ]
                ),
                className="stat-table",
            ),
            dbc.Progress(
                value=0 if conf is None else 100 * conf,
                color=_CONFIDENCE_COLOR.get(s.confidence_label, "secondary"),
                className="stat-confidence",
                style={"height": "6px"},
            ),
        ]
        cols.append(
            dbc.Col(
                dbc.Card(
                    [dbc.CardHeader(header), dbc.CardBody(body)],
                    className="stat-card" + (" stat-card-best" if s.greedy else ""),
                    style={"borderTopColor": color(s.action)},
                ),
                md=12 // min(len(stats), 4),
                id={"type": "live-q-card", "index": s.action},
            )
        )
    return cols


def tick_steps(n, active_tab, agent, cursor):
    """New Q-values and actions: extend the step charts, refresh the cards and bars."""
    run, kind, _discrete = agent_of(agent)
    if active_tab != TAB_ID or kind != VALUE:
        return (no_update,) * 6
    key = {"run": run}
    if not run:
        cursor_out, reload = R.unless_shown(cursor, key, n)
        if cursor_out is no_update:
            return (no_update,) * 6
        msg = "Choose a run above."
        return no_update, no_update, empty_figure(msg, height=ACTIONS_HEIGHT), placeholder(msg), cursor_out, reload
    drawn = position(cursor, key)
    try:
        with read.session(run) as s:  # one store session for the whole tick
            newest, current = summary_is_current(s, drawn, cursor)
            if current:
                return (no_update,) * 6
            names = action_names(s)
            points = read.steps.step_tick(s, drawn)
            recent = read.steps.recent_steps(s)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        return (
            no_update,
            no_update,
            empty_figure(msg, height=ACTIONS_HEIGHT),
            placeholder(msg),
            *R.explain_broken(cursor, key, n),
        )
    bars = F.action_bar_figure(recent, names, height=ACTIONS_HEIGHT)
    cards = q_cards(F.action_stats(recent.q, names))
    if points is None or (drawn is None and not R.same_view(cursor, key)):  # the charts need the history
        return (no_update, no_update, bars, cards, *R.ask_reload(cursor, key, n))
    if len(points) == 0:  # records too few for a new chart point, but the cards and bars moved on
        return no_update, no_update, bars, cards, summarised(cursor, newest), no_update
    return (
        F.q_trend_extension(points, read.steps.Q_POINTS),
        F.action_share_extension(points, read.steps.Q_POINTS),
        bars,
        cards,
        summarised(advanced(cursor, points), newest),
        no_update,
    )


@callback(
    Output("live-q-graph", "figure"),
    Output("live-actions-trend", "figure"),
    Output("live-steps-cursor", "data", allow_duplicate=True),
    Input("live-steps-reload", "data"),
    State("live-agent", "data"),
    prevent_initial_call=True,
)
def load_steps(_reload, agent):
    """Draw the step charts from the downsampled history (on request of tick_steps)."""
    return load_pair(
        agent,
        read.steps.step_history,
        lambda points, names: (
            F.q_trend_figure(points, names, height=Q_HEIGHT),
            F.action_share_figure(points, names, height=ACTIONS_HEIGHT),
        ),
    )


__all__ = ["q_cards", "tick_steps", "load_steps"]
