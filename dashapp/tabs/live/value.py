"""The Live tab: the game, the Q-values, the actions and the episodes of the selected run.

Each growing chart family (the step charts: Q-value trend and action mix; the episode
charts) follows the tick / load split of :mod:`dashapp.tabs.reloading`: a tick on the
tab's own poll reads (in one store session) only what is newer than where the charts
stand and sends it with ``extendData``; a load, asked for by the tick, draws the
downsampled history whole (first view, another run, a restart, a page that fell far
behind). The action bars and statistic cards summarise a fixed window of recent steps;
they are small and are replaced whole on each tick. The game frame is sent only when it
changed.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from dashapp import read
from dashapp.components import graph, panel
from dashapp.figures import live as F
from dashapp.figures.common import color, empty_figure, fmt, is_empty_figure, percent
from dashapp.tabs import reloading as R

TAB_ID = "live"
TAB_LABEL = "Live"
POLL = R.poll_id(TAB_ID)

Q_HEIGHT, ACTIONS_HEIGHT, EPISODES_HEIGHT = 360, 300, 460

NOTES = {
    "game": "What the agent is playing right now, refreshed about once a second. "
    "At full speed the agent makes many moves between two pictures.",
    "q": "For each move, the network's guess of the total future reward if it makes that move now; when not "
    "exploring, the agent picks the move with the highest guess. Thin line: the guess at each recorded step; "
    f"thick line: its average over the last {read.steps.ROLLING_WINDOW}; shaded band: the lowest to highest guess "
    "among those; dot: the guess right now.",
    "cards": f"Each card sums up one move's guesses over the last {read.steps.RECENT_STEPS:,} recorded steps (at full "
    "speed only a sample of the steps is recorded); the trend compares the newer half of them with the older "
    "half. Confidence is 1 / (1 + CV), where CV, the coefficient of variation, is the standard deviation "
    "divided by the size of the mean: steady guesses score near 100%, guesses that swing a lot for their size "
    "(or sit near zero) score low.",
    "bars": f"How often each move was made in the last {read.steps.RECENT_STEPS:,} recorded steps. Solid: the network "
    "chose it as its best guess (exploiting); striped: a random move, made to try something new (exploring).",
    "share": f"How the mix of moves changes during training, as shares of the last {read.steps.ROLLING_WINDOW} "
    "recorded steps. The dotted line is the share of random moves: high at first, falling as the agent "
    "starts trusting its own guesses.",
    "episodes": "One point per game: a rising score means the agent is learning, and the loss (how far the "
    "network's guesses were from what then happened) should settle rather than grow. ε is the chance of a "
    "random move, lowered on a schedule; steps per second is the training speed.",
}


def layout():
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "The game",
                            html.Div(
                                [
                                    html.Div(
                                        id="live-frame-box",
                                        className="live-frame-box",
                                        children=html.P(
                                            "Waiting for the first picture of the game...", className="empty-note"
                                        ),
                                    ),
                                    html.Div(id="live-frame-caption", className="live-frame-caption"),
                                ]
                            ),
                            NOTES["game"],
                        ),
                        lg=4,
                        className="mb-3",
                    ),
                    dbc.Col(
                        panel(
                            "Q-values: how good the network thinks each move is",
                            graph("live-q-graph", "Waiting for Q-values...", Q_HEIGHT),
                            NOTES["q"],
                        ),
                        lg=8,
                        className="mb-3",
                    ),
                ]
            ),
            panel(
                "Q-value statistics per move",
                dbc.Row(
                    id="live-q-cards",
                    className="g-3",
                    children=dbc.Col(html.P("Waiting for Q-values...", className="empty-note")),
                ),
                NOTES["cards"],
                class_name="mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "Which moves it makes: exploring vs exploiting",
                            graph("live-actions-bar", "Waiting for actions...", ACTIONS_HEIGHT),
                            NOTES["bars"],
                        ),
                        lg=5,
                        className="mb-3",
                    ),
                    dbc.Col(
                        panel(
                            "How the choice of moves changes over time",
                            graph("live-actions-trend", "Waiting for actions...", ACTIONS_HEIGHT),
                            NOTES["share"],
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                ]
            ),
            panel(
                "Episodes: score, loss, exploration and speed",
                graph("live-episodes-graph", "Waiting for the first finished game...", EPISODES_HEIGHT),
                NOTES["episodes"],
                class_name="mb-3",
            ),
            dcc.Store(id="live-steps-cursor"),
            dcc.Store(id="live-steps-reload"),
            dcc.Store(id="live-episodes-cursor"),
            dcc.Store(id="live-episodes-reload"),
            dcc.Store(id="live-frame-cursor"),
        ],
        className="tab-body",
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


def _frame_view(frame: read.runs.FrameImage | None, message: str):
    if frame is None:
        return html.P(message, className="empty-note")
    return html.Img(
        src=frame.src,
        alt=f"Game frame at step {frame.step:,}",
        className="live-frame",
        width=frame.width,
        height=frame.height,
    )


# --------------------------------------------------------------------------- callbacks
def _placeholder(message: str) -> list:
    return [dbc.Col(html.P(message, className="empty-note"))]


def _action_names(s: read.Session) -> list[str]:
    meta = s.meta()
    return list(meta.action_names) if meta else []


@callback(
    Output("live-q-graph", "extendData"),
    Output("live-actions-trend", "extendData"),
    Output("live-actions-bar", "figure"),
    Output("live-q-cards", "children"),
    Output("live-steps-cursor", "data"),
    Output("live-steps-reload", "data"),
    Input(POLL, "n_intervals"),
    State("app-tabs", "active_tab"),  # not an Input: a tab switch starts the tab's poll instead
    Input("app-run", "data"),
    State("live-steps-cursor", "data"),
)
def tick_steps(n, active_tab, run, cursor):
    """New Q-values and actions: extend the step charts, refresh the cards and bars."""
    if active_tab != TAB_ID:
        return (no_update,) * 6
    key = {"run": run}
    if not run:
        cursor_out, reload = R.unless_shown(cursor, key, n)
        if cursor_out is no_update:
            return (no_update,) * 6
        msg = "Choose a run above."
        return no_update, no_update, empty_figure(msg, height=ACTIONS_HEIGHT), _placeholder(msg), cursor_out, reload
    drawn = _position(cursor, key)
    try:
        with read.session(run) as s:  # one store session for the whole tick
            names = _action_names(s)
            points = read.steps.step_tick(s, drawn)
            recent = read.steps.recent_steps(s)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        return (
            no_update,
            no_update,
            empty_figure(msg, height=ACTIONS_HEIGHT),
            _placeholder(msg),
            *R.explain_broken(cursor, key, n),
        )
    bars = F.action_bar_figure(recent, names, height=ACTIONS_HEIGHT)
    cards = q_cards(F.action_stats(recent.q, names))
    if points is None or (drawn is None and not R.same_view(cursor, key)):  # the charts need the history
        return (no_update, no_update, bars, cards, *R.ask_reload(cursor, key, n))
    if len(points) == 0:
        return no_update, no_update, bars, cards, no_update, no_update
    return (
        F.q_trend_extension(points, read.steps.Q_POINTS),
        F.action_share_extension(points, read.steps.Q_POINTS),
        bars,
        cards,
        _advanced(cursor, points),
        no_update,
    )


def _position(cursor, key) -> read.series.Position | None:
    """Where the page's step or episode charts stand, if they are drawn for view ``key``."""
    seq = R.drawn_seq(cursor, key)
    if seq is None:
        return None
    return read.series.Position(seq, int(cursor.get("stride") or 1), int(cursor.get("n_actions") or 0))


def _advanced(cursor: dict, points) -> dict:
    """The cursor after extending the charts by ``points``."""
    pos = points.position
    return {**cursor, "seq": pos.seq, "stride": pos.stride, "n_actions": pos.n_actions or cursor.get("n_actions", 0)}


def _loaded(key: dict, points, drawn: bool) -> dict:
    pos = points.position
    return R.loaded(key, pos.seq, drawn, stride=pos.stride, n_actions=pos.n_actions)


@callback(
    Output("live-q-graph", "figure"),
    Output("live-actions-trend", "figure"),
    Output("live-steps-cursor", "data", allow_duplicate=True),
    Input("live-steps-reload", "data"),
    State("app-run", "data"),
    prevent_initial_call=True,
)
def load_steps(_reload, run):
    """Draw the step charts from the downsampled history (on request of tick_steps)."""
    key = {"run": run}
    if not run:
        msg = "Choose a run above."
        return empty_figure(msg, height=Q_HEIGHT), empty_figure(msg, height=ACTIONS_HEIGHT), R.loaded(key, -1, False)
    try:
        with read.session(run) as s:
            names = _action_names(s)
            points = read.steps.step_history(s)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        return (
            empty_figure(msg, height=Q_HEIGHT),
            empty_figure(msg, height=ACTIONS_HEIGHT),
            R.loaded(key, -1, False, broken=True),
        )
    q_fig = F.q_trend_figure(points, names, height=Q_HEIGHT)
    share_fig = F.action_share_figure(points, names, height=ACTIONS_HEIGHT)
    return q_fig, share_fig, _loaded(key, points, not is_empty_figure(q_fig) and not is_empty_figure(share_fig))


@callback(
    Output("live-episodes-graph", "extendData"),
    Output("live-episodes-cursor", "data"),
    Output("live-episodes-reload", "data"),
    Input(POLL, "n_intervals"),
    State("app-tabs", "active_tab"),  # not an Input: a tab switch starts the tab's poll instead
    Input("app-run", "data"),
    State("live-episodes-cursor", "data"),
)
def tick_episodes(n, active_tab, run, cursor):
    """New finished episodes: extend the episode charts."""
    if active_tab != TAB_ID:
        return no_update, no_update, no_update
    key = {"run": run}
    if not run:
        return (no_update, *R.unless_shown(cursor, key, n))
    drawn = _position(cursor, key)
    try:
        with read.session(run) as s:
            points = read.episodes.episode_tick(s, drawn)
    except read.BrokenRun:
        return (no_update, *R.explain_broken(cursor, key, n))
    if points is None or (drawn is None and not R.same_view(cursor, key)):
        return (no_update, *R.ask_reload(cursor, key, n))
    if len(points) == 0:
        return no_update, no_update, no_update
    return F.episodes_extension(points, read.episodes.EPISODE_POINTS), _advanced(cursor, points), no_update


@callback(
    Output("live-episodes-graph", "figure"),
    Output("live-episodes-cursor", "data", allow_duplicate=True),
    Input("live-episodes-reload", "data"),
    State("app-run", "data"),
    prevent_initial_call=True,
)
def load_episodes(_reload, run):
    """Draw the episode charts from the downsampled history (on request of tick_episodes)."""
    key = {"run": run}
    if not run:
        return empty_figure("Choose a run above.", height=EPISODES_HEIGHT), R.loaded(key, -1, False)
    try:
        with read.session(run) as s:
            points = read.episodes.episode_history(s)
    except read.BrokenRun as exc:
        return (
            empty_figure(f"This run cannot be read: {exc}", height=EPISODES_HEIGHT),
            R.loaded(key, -1, False, broken=True),
        )
    fig = F.episodes_figure(points, height=EPISODES_HEIGHT)
    return fig, _loaded(key, points, not is_empty_figure(fig))


@callback(
    Output("live-frame-box", "children"),
    Output("live-frame-caption", "children"),
    Output("live-frame-cursor", "data"),
    Input(POLL, "n_intervals"),
    State("app-tabs", "active_tab"),  # not an Input: a tab switch starts the tab's poll instead
    Input("app-run", "data"),
    State("live-frame-cursor", "data"),
)
def update_frame(_n, active_tab, run, cursor):
    """The newest game picture, sent only when it changed."""
    if active_tab != TAB_ID:
        return no_update, no_update, no_update
    if not run:
        return _frame_view(None, "Choose a run above."), "", None
    try:
        with read.session(run) as s:
            game = read.runs.game(s)
    except read.BrokenRun as exc:
        return _frame_view(None, f"This run cannot be read: {exc}"), "", None
    frame = game.frame
    if frame is None:
        if game.unavailable:
            return (
                _frame_view(
                    None,
                    f"This environment cannot draw its picture here ({game.unavailable}); "
                    "everything else on the page still works.",
                ),
                "",
                {"run": run, "step": None},
            )
        return _frame_view(None, "Waiting for the first picture of the game..."), "", {"run": run, "step": None}
    seen = {"run": run, "step": frame.step}
    if cursor == seen:
        return no_update, no_update, no_update
    return _frame_view(frame, ""), f"step {frame.step:,}", seen


__all__ = [
    "TAB_ID",
    "TAB_LABEL",
    "layout",
    "tick_steps",
    "load_steps",
    "tick_episodes",
    "load_episodes",
    "update_frame",
    "q_cards",
]
