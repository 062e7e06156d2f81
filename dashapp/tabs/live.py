"""The Live tab: the game, the Q-values, the actions and the episodes of the selected run.

Each growing chart family (the step charts: Q-value trend and action mix; the episode
charts) has two callbacks and keeps a cursor in its own ``dcc.Store``:

* a **tick**, driven by the tab's own poll ("live-poll", running only while the tab is
  shown), that reads only what is newer than the cursor (a bounded number of records)
  and sends it with ``extendData``;
* a **load**, triggered only when the tick asks for it through a ``*-reload`` store (first
  view, another run, a restart, or the page fell far behind -- e.g. while another tab
  was shown), that draws the downsampled history as a whole figure.

The split matters: Dash drops a callback's answer when the interval triggers the same
callback again before it has returned (dash-core-components#661), so the slower
history load must not hang off the interval, while the tick stays fast. The action bars
and statistic cards summarise a fixed window of recent steps; they are small and are
replaced whole on each tick. The game frame is sent only when it changed. While
another tab is shown nothing polls, and a run switch gets no answer (``no_update``);
on showing the tab again the first tick catches up through the cursors.
"""

from __future__ import annotations

from dash import Input, Output, State, callback, dcc, html, no_update
import dash_bootstrap_components as dbc

from dashapp import read
from dashapp.components import graph, panel
from dashapp.figures import live as F
from dashapp.figures.common import color, empty_figure, is_empty_figure
from dashapp.tabs.reloading import poll_id

TAB_ID = "live"
TAB_LABEL = "Live"
POLL = poll_id(TAB_ID)

Q_HEIGHT, ACTIONS_HEIGHT, EPISODES_HEIGHT = 360, 300, 460

NOTES = {
    "game": "What the agent is playing right now, refreshed about once a second. "
    "At full speed the agent makes many moves between two pictures.",
    "q": "For each move, the network's guess of the total future reward if it makes that move now; when not "
    "exploring, the agent picks the move with the highest guess. Thin line: the guess at each recorded step; "
    f"thick line: its average over the last {read.ROLLING_WINDOW}; shaded band: the lowest to highest guess "
    "among those; dot: the guess right now.",
    "cards": f"Each card sums up one move's guesses over the last {read.RECENT_STEPS:,} recorded steps (at full "
    "speed only a sample of the steps is recorded); the trend compares the newer half of them with the older "
    "half. Confidence is 1 / (1 + CV), where CV, the coefficient of variation, is the standard deviation "
    "divided by the size of the mean: steady guesses score near 100%, guesses that swing a lot for their size "
    "(or sit near zero) score low.",
    "bars": f"How often each move was made in the last {read.RECENT_STEPS:,} recorded steps. Solid: the network "
    "chose it as its best guess (exploiting); striped: a random move, made to try something new (exploring).",
    "share": f"How the mix of moves changes during training, as shares of the last {read.ROLLING_WINDOW} "
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
                                    html.Div(id="live-frame-box", className="live-frame-box",
                                             children=html.P("Waiting for the first picture of the game...",
                                                             className="empty-note")),
                                    html.Div(id="live-frame-caption", className="live-frame-caption"),
                                ]
                            ),
                            NOTES["game"],
                        ),
                        lg=4,
                        className="mb-3",
                    ),
                    dbc.Col(
                        panel("Q-values: how good the network thinks each move is",
                              graph("live-q-graph", "Waiting for Q-values...", Q_HEIGHT), NOTES["q"]),
                        lg=8,
                        className="mb-3",
                    ),
                ]
            ),
            panel(
                "Q-value statistics per move",
                dbc.Row(id="live-q-cards", className="g-3",
                        children=dbc.Col(html.P("Waiting for Q-values...", className="empty-note"))),
                NOTES["cards"],
                class_name="mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(panel("Which moves it makes: exploring vs exploiting",
                                  graph("live-actions-bar", "Waiting for actions...", ACTIONS_HEIGHT), NOTES["bars"]),
                            lg=5, className="mb-3"),
                    dbc.Col(panel("How the choice of moves changes over time",
                                  graph("live-actions-trend", "Waiting for actions...", ACTIONS_HEIGHT), NOTES["share"]),
                            lg=7, className="mb-3"),
                ]
            ),
            panel("Episodes: score, loss, exploration and speed",
                  graph("live-episodes-graph", "Waiting for the first finished game...", EPISODES_HEIGHT),
                  NOTES["episodes"], class_name="mb-3"),
            dcc.Store(id="live-steps-cursor"),
            dcc.Store(id="live-steps-reload"),
            dcc.Store(id="live-episodes-cursor"),
            dcc.Store(id="live-episodes-reload"),
            dcc.Store(id="live-frame-cursor"),
        ],
        className="tab-body",
    )


# --------------------------------------------------------------------------- components
def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


_TREND_ICON = {F.RISING: ("▲", "text-success"), F.FALLING: ("▼", "text-danger"),
               F.STEADY: ("▶", "text-secondary"), F.UNKNOWN: ("·", "text-secondary")}
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
            html.Div([html.Span(_fmt(s.now), className="stat-now"), html.Span(" now", className="stat-unit")]),
            html.Table(
                html.Tbody(
                    [
                        html.Tr([html.Th("mean ± std"), html.Td(f"{_fmt(s.mean)} ± {_fmt(s.std)}")]),
                        html.Tr([html.Th("min … max"), html.Td(f"{_fmt(s.low)} … {_fmt(s.high)}")]),
                        html.Tr([html.Th("trend"), html.Td([html.Span(icon, className=f"{icon_class} me-1"), s.trend])]),
                        html.Tr([html.Th("confidence"),
                                 html.Td(f"{s.confidence_label}" + ("" if conf is None else f" ({100 * conf:.0f}%)"))]),
                    ]
                ),
                className="stat-table",
            ),
            dbc.Progress(value=0 if conf is None else 100 * conf, color=_CONFIDENCE_COLOR.get(s.confidence_label, "secondary"),
                         className="stat-confidence", style={"height": "6px"}),
        ]
        cols.append(
            dbc.Col(
                dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)],
                         className="stat-card" + (" stat-card-best" if s.greedy else ""),
                         style={"borderTopColor": color(s.action)}),
                md=12 // min(len(stats), 4),
                id={"type": "live-q-card", "index": s.action},
            )
        )
    return cols


def _frame_view(frame: read.FrameImage | None, message: str):
    if frame is None:
        return html.P(message, className="empty-note")
    return html.Img(src=frame.src, alt=f"Game frame at step {frame.step:,}", className="live-frame",
                    width=frame.width, height=frame.height)


# --------------------------------------------------------------------------- callbacks
#: Ticks a requested reload may take before the tick asks again (it may have been lost).
RELOAD_PATIENCE = 10


def _reload_pending(cursor, run, n) -> bool:
    """True while a reload asked for ``run`` at tick ``n0`` may still be on its way."""
    pending = cursor.get("pending") if isinstance(cursor, dict) else None
    return isinstance(pending, dict) and pending.get("run") == run and 0 <= (n or 0) - pending.get("tick", -99) < RELOAD_PATIENCE


def _ask_reload(cursor, run, n) -> tuple[dict, int]:
    """(cursor marked "reload pending", value for the reload store)."""
    base = cursor if isinstance(cursor, dict) else {"run": None, "drawn": False}
    return {**base, "pending": {"run": run, "tick": n or 0}}, n or 0


def _reload_to_explain(cursor, run, n):
    """For a broken run: ask the load callback once to put the reason on the charts."""
    if (isinstance(cursor, dict) and cursor.get("run") == run) or _reload_pending(cursor, run, n):
        return no_update, no_update
    return _ask_reload(cursor, run, n)


def _placeholder(message: str) -> list:
    return [dbc.Col(html.P(message, className="empty-note"))]


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
    if not run:
        if isinstance(cursor, dict) and cursor.get("run") is None:
            return (no_update,) * 6
        cursor, reload = _ask_reload(cursor, None, n)
        return no_update, no_update, empty_figure("Choose a run above.", height=ACTIONS_HEIGHT), \
            _placeholder("Choose a run above."), cursor, reload
    try:
        names = read.action_names(run)
        points = read.step_tick(run, cursor)
        recent = read.recent_steps(run)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        cursor, reload = _reload_to_explain(cursor, run, n)
        return no_update, no_update, empty_figure(msg, height=ACTIONS_HEIGHT), _placeholder(msg), cursor, reload
    bars = F.action_bar_figure(recent, names, height=ACTIONS_HEIGHT)
    cards = q_cards(F.action_stats(recent.q, names))
    if points is None:  # the charts need the history, drawn by load_steps
        if _reload_pending(cursor, run, n):
            return no_update, no_update, bars, cards, no_update, no_update
        cursor, reload = _ask_reload(cursor, run, n)
        return no_update, no_update, bars, cards, cursor, reload
    if len(points) == 0:
        return no_update, no_update, bars, cards, no_update, no_update
    return (F.q_trend_extension(points, read.Q_POINTS), F.action_share_extension(points, read.Q_POINTS), bars, cards,
            read.next_cursor(run, points, True, cursor), no_update)


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
    if not run:
        return (empty_figure("Choose a run above.", height=Q_HEIGHT),
                empty_figure("Choose a run above.", height=ACTIONS_HEIGHT), {"run": None, "drawn": False})
    try:
        names = read.action_names(run)
        points = read.step_history(run)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        return (empty_figure(msg, height=Q_HEIGHT), empty_figure(msg, height=ACTIONS_HEIGHT),
                {"run": run, "drawn": False, "broken": True})
    q_fig = F.q_trend_figure(points, names, height=Q_HEIGHT)
    share_fig = F.action_share_figure(points, names, height=ACTIONS_HEIGHT)
    drawn = not is_empty_figure(q_fig) and not is_empty_figure(share_fig)
    return q_fig, share_fig, read.next_cursor(run, points, drawn)


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
    if not run:
        if isinstance(cursor, dict) and cursor.get("run") is None:
            return no_update, no_update, no_update
        return (no_update, *_ask_reload(cursor, None, n))
    try:
        points = read.episode_tick(run, cursor)
    except read.BrokenRun:
        return (no_update, *_reload_to_explain(cursor, run, n))
    if points is None:
        if _reload_pending(cursor, run, n):
            return no_update, no_update, no_update
        return (no_update, *_ask_reload(cursor, run, n))
    if len(points) == 0:
        return no_update, no_update, no_update
    return F.episodes_extension(points, read.EPISODE_POINTS), read.next_cursor(run, points, True, cursor), no_update


@callback(
    Output("live-episodes-graph", "figure"),
    Output("live-episodes-cursor", "data", allow_duplicate=True),
    Input("live-episodes-reload", "data"),
    State("app-run", "data"),
    prevent_initial_call=True,
)
def load_episodes(_reload, run):
    """Draw the episode charts from the downsampled history (on request of tick_episodes)."""
    if not run:
        return empty_figure("Choose a run above.", height=EPISODES_HEIGHT), {"run": None, "drawn": False}
    try:
        points = read.episode_history(run)
    except read.BrokenRun as exc:
        return (empty_figure(f"This run cannot be read: {exc}", height=EPISODES_HEIGHT),
                {"run": run, "drawn": False, "broken": True})
    fig = F.episodes_figure(points, height=EPISODES_HEIGHT)
    return fig, read.next_cursor(run, points, not is_empty_figure(fig))


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
        frame = read.latest_frame(run)
    except read.BrokenRun as exc:
        return _frame_view(None, f"This run cannot be read: {exc}"), "", None
    if frame is None:
        reason = read.frame_unavailable(run)
        if reason:
            return _frame_view(None, f"This environment cannot draw its picture here ({reason}); "
                                     "everything else on the page still works."), "", {"run": run, "step": None}
        return _frame_view(None, "Waiting for the first picture of the game..."), "", {"run": run, "step": None}
    seen = {"run": run, "step": frame.step}
    if cursor == seen:
        return no_update, no_update, no_update
    return _frame_view(frame, ""), f"step {frame.step:,}", seen


__all__ = ["TAB_ID", "TAB_LABEL", "layout", "tick_steps", "load_steps", "tick_episodes", "load_episodes",
           "update_frame", "q_cards"]
