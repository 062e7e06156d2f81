"""The Health tab: ``health``'s diagnosis of the run's networks while the agent trains.

The worker's health watch (``rl.healthwatch``) analyses every network of the agent at
each checkpoint and every ``health_every`` steps, in a process of its own, and publishes
one typed ``HealthRecord`` per analysis. This tab shows, for the network chosen in the
picker (every network of the agent, target networks included): the overall alpha and its
verdict of each network, the per-layer table of the newest analysis, alpha per layer over
training on the alpha bands, stable-rank and dead-neuron shares over training, the
pattern so far with the checkpoint to keep, and the early-stopping signal when alpha falls
below 2. While the first analysis runs, the status line says so.

Polls only while shown ("health-poll"; HTTP 204 while hidden). The charts follow the tick /
load split of :mod:`dashapp.tabs.reloading`: a load draws them from every analysis; a tick
sends the new analyses only, as a ``Patch`` that extends each line, and rewrites the small
panels; the overall alphas the pattern needs ride in the cursor.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, Patch, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp import read
from dashapp.components import graph, panel
from dashapp.figures import health as F
from dashapp.figures.alpha_bands import alpha_axis_range
from dashapp.figures.common import empty_figure
from dashapp.tabs import health_panels as V
from dashapp.tabs import network_picker as NP
from dashapp.tabs import reloading as R
from health import thresholds as TH
from rl import telemetry as T

TAB_ID = "health"
TAB_LABEL = "Health"
POLL = R.poll_id(TAB_ID)
ALPHA_HEIGHT, SHARE_HEIGHT = 360, 300
#: The over-training charts, by series: their graph's id.
CHARTS = {"alpha": "health-alpha", "stable_rank": "health-rank", "dead": "health-dead"}

NOTES = {
    "cards": "Alpha is WeightWatcher's measure of how much structure a layer's weights have learned: random "
    f"weights sit near {TH.ALPHA_RANDOM_TYPICAL:g} or above, well-trained layers between "
    f"{TH.ALPHA_RECOMMENDED_LOW:g} and {TH.ALPHA_RECOMMENDED_HIGH:g} (best near {TH.ALPHA_OPTIMAL:g}), and "
    f"below {TH.ALPHA_RECOMMENDED_LOW:g} a layer has started to memorise. A network's overall alpha is the mean "
    "over the layers WeightWatcher could fit. A target network only follows its online network, so its "
    "figures trail behind.",
    "table": "One row per weight layer of the chosen network, from its newest analysis. Stable rank counts how "
    "many directions really carry the layer's signal, also as a share of the most it could have (full rank: "
    "the number of eigenvalues). Log spectral norm is log10 of the layer's largest stretch of its input. A "
    "layer with too few eigenvalues (an output layer with a handful of outputs) is not analysed: WeightWatcher "
    "cannot fit a power law to so few. Dead neurons are counted two ways: by activation (the output hardly "
    "varies over the newest observations in the replay buffer) and by weight (all incoming weights near zero).",
    "alpha": "Each thin line is one layer's alpha at each analysis, the thick line the network's overall alpha. "
    f"Learning usually pulls alpha down from the random-like band towards {TH.ALPHA_OPTIMAL:g}; falling below "
    f"{TH.ALPHA_RECOMMENDED_LOW:g} (the red band) is the early-stopping signal. A gap means WeightWatcher could "
    "not fit that layer at that analysis.",
    "rank": "Stable rank as a share of full rank, per layer. Between "
    f"{TH.STABLE_RANK_HEALTHY_LOW:.0%} and {TH.STABLE_RANK_HEALTHY_HIGH:.0%} (shaded) the layer uses its "
    "capacity well; a share that keeps falling means ever fewer directions carry the signal.",
    "dead": "The share of each hidden layer's neurons that are dead (by activation where it could be measured, "
    f"else by weight). Above {TH.DEAD_RATIO_HIGH:.0%} (dashed line) a large part of the layer does nothing.",
    "pattern": "How the chosen network's overall alpha has moved over the analyses so far: falling towards "
    f"{TH.ALPHA_OPTIMAL:g} is a healthy progression; reaching {TH.ALPHA_RECOMMENDED_LOW:g} and then falling "
    f"below it is overtraining; staying above {TH.ALPHA_RECOMMENDED_HIGH:g} without falling fast enough to "
    "reach the recommended band soon means it is not learning. The "
    f"checkpoint to keep is the analysed checkpoint whose alpha is nearest {TH.ALPHA_OPTIMAL:g} without being "
    "below it.",
}

WAITING = "Waiting for the first analysis..."


def layout():
    return html.Div(
        [
            NP.network_picker(TAB_ID),
            html.Div(
                id="health-watch", children=html.P("Reading the run's health analyses...", className="empty-note")
            ),
            html.Div(id="health-early-stop"),
            panel("Overall alpha per network", html.Div(id="health-cards"), NOTES["cards"], class_name="mb-3"),
            panel("Layer by layer", html.Div(id="health-table"), NOTES["table"], class_name="mb-3"),
            panel(
                "Alpha per layer over training",
                graph(CHARTS["alpha"], WAITING, ALPHA_HEIGHT),
                NOTES["alpha"],
                class_name="mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "Stable rank over training",
                            graph(CHARTS["stable_rank"], WAITING, SHARE_HEIGHT),
                            NOTES["rank"],
                        ),
                        md=6,
                    ),
                    dbc.Col(
                        panel(
                            "Dead neurons over training", graph(CHARTS["dead"], WAITING, SHARE_HEIGHT), NOTES["dead"]
                        ),
                        md=6,
                    ),
                ],
                className="mb-3 g-3",
            ),
            panel("The pattern so far", html.Div(id="health-pattern"), NOTES["pattern"], class_name="mb-3"),
            dcc.Store(id="health-cursor"),
            dcc.Store(id="health-reload"),
        ],
        className="tab-body",
    )


update_network_choice = NP.register(TAB_ID, POLL, read.health.health_networks)


def _panels(latest: T.HealthRecord | None, network: str | None, points: list, checkpoint_every: int | None) -> tuple:
    """The early-stopping signal, the cards, the table and the pattern, from the newest
    analysis and the overall alphas so far."""
    net = latest.network(network) if latest is not None else None
    view = F.pattern_view(points)
    step = latest.step if latest is not None else None
    return (
        V.early_stop_alert(F.early_stop(latest), step, view, network),
        V.network_cards(F.network_cards(latest), network),
        V.layer_table(F.layer_rows(net), network, step, V.network_notes(net)),
        V.pattern_panel(view, network, checkpoint_every),
    )


def _alpha_span(points: list[dict], span: list | None) -> list | None:
    """The smallest and largest alpha drawn, with ``points``' new ones."""
    values = [v for p in points for v in p["y"] if v is not None] + [v for v in span or [] if v is not None]
    return [min(values), max(values)] if values else None


def _saying(cursor, text: str):
    """``cursor`` noting the status line the page shows (so an unchanged one is not sent again)."""
    return {**cursor, "watch": text} if isinstance(cursor, dict) else cursor


def _extend(points: list[dict]) -> Patch | None:
    """A Patch that extends each line of a chart with its new ``points`` (None: none)."""
    if not any(p["x"] for p in points):
        return None
    patch = Patch()
    for i, p in enumerate(points):
        for axis in ("x", "y", "text"):
            patch["data"][i][axis].extend(p[axis])
    return patch


@callback(
    Output("health-watch", "children"),
    Output("health-early-stop", "children"),
    Output("health-cards", "children"),
    Output("health-table", "children"),
    Output("health-pattern", "children"),
    Output(CHARTS["alpha"], "figure"),
    Output(CHARTS["stable_rank"], "figure"),
    Output(CHARTS["dead"], "figure"),
    Output("health-cursor", "data"),
    Output("health-reload", "data"),
    Input(POLL, "n_intervals"),
    State("app-tabs", "active_tab"),
    State("app-run", "data"),
    State("health-cursor", "data"),
    Input("health-network", "value"),
)
def tick_health(n, active_tab, run, cursor, network=None):
    """The watch's status; the analyses since the last tick -- lines extended, panels
    rewritten -- or a request to draw the charts whole."""
    if active_tab != TAB_ID:
        raise PreventUpdate  # a hidden tab reads nothing and sends nothing (HTTP 204)
    key = {"run": run, "network": network}
    unchanged = (no_update,) * 7
    if not run:
        return html.P("Choose a run above.", className="empty-note"), *unchanged, *R.unless_shown(cursor, key, n)
    try:
        with read.session(run) as s:
            key["network"] = network = NP.shown_network(s, network, read.health.health_networks)
            status = read.health.health_status(s)
            got = read.health.health_update(s, R.drawn_seq(cursor, key))
            enabled = read.health.health_enabled(s)
            analysed = got.latest is not None or R.matches(cursor, key)
            step = None if analysed else read.runs.worker_status(s).step
    except read.BrokenRun as exc:
        broken = html.P(f"This run cannot be read: {exc}", className="empty-note")
        return broken, *unchanged, *R.explain_broken(cursor, key, n)
    summary = F.watch_summary(status, analysed, step, enabled)
    text = summary["text"]
    said = R.same_view(cursor, key) and cursor.get("watch") == text
    watch = no_update if said else V.watch_line(summary)
    if got.full:  # first view, another run or network, or far behind: draw it whole
        cursor_out, reload = R.ask_reload(cursor, key, n) if got.records else R.unless_shown(cursor, key, n)
        if cursor_out is no_update and not said:
            cursor_out = cursor
        return watch, *unchanged, _saying(cursor_out, text), reload
    if not got.records:  # nothing new
        if said:
            raise PreventUpdate
        return watch, *unchanged, _saying(cursor, text), no_update
    extensions = {}
    for series, names in (cursor.get("lines") or {}).items():
        points = F.series_points(got.records, network, series, names)
        if points is None:  # a line the charts do not have yet: draw them whole
            return watch, *unchanged, *R.ask_reload(cursor, key, n)
        extensions[series] = points
    figures = {series: _extend(points) for series, points in extensions.items()}
    span = _alpha_span(extensions.get("alpha", []), cursor.get("alpha_span"))
    alpha_patch = figures.get("alpha")
    if alpha_patch is not None and span is not None:
        alpha_patch["layout"]["yaxis"]["range"] = alpha_axis_range(span)
    alphas = [*(cursor.get("points") or []), *F.alpha_points(got.records, network)]
    panels = _panels(got.latest, network, alphas, status.checkpoint_every if status else None)
    charts = [figures.get(series) or no_update for series in CHARTS]
    new_cursor = {**cursor, "seq": got.seq, "points": alphas, "alpha_span": span, "watch": text}
    return watch, *panels, *charts, new_cursor, no_update


@callback(
    Output("health-early-stop", "children", allow_duplicate=True),
    Output("health-cards", "children", allow_duplicate=True),
    Output("health-table", "children", allow_duplicate=True),
    Output("health-pattern", "children", allow_duplicate=True),
    Output(CHARTS["alpha"], "figure", allow_duplicate=True),
    Output(CHARTS["stable_rank"], "figure", allow_duplicate=True),
    Output(CHARTS["dead"], "figure", allow_duplicate=True),
    Output("health-cursor", "data", allow_duplicate=True),
    Input("health-reload", "data"),
    State("app-run", "data"),
    State("health-network", "value"),
    State("health-cursor", "data"),
    prevent_initial_call=True,
)
def load_health(_reload, run, network=None, cursor=None):
    """Draw the panels and the charts from every analysis of the chosen network."""
    key = {"run": run, "network": network}
    said = {"watch": cursor.get("watch")} if isinstance(cursor, dict) else {}
    if not run:
        msg = "Choose a run above."
        empty = html.P(msg, className="empty-note")
        return (
            None,
            empty,
            empty,
            empty,
            empty_figure(msg, height=ALPHA_HEIGHT),
            empty_figure(msg, height=SHARE_HEIGHT),
            empty_figure(msg, height=SHARE_HEIGHT),
            R.loaded(key, -1, False),
        )
    try:
        with read.session(run) as s:
            key["network"] = network = NP.shown_network(s, network, read.health.health_networks)
            got = read.health.health_records(s)
            status = read.health.health_status(s)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        empty = html.P(msg, className="empty-note")
        return (
            None,
            empty,
            empty,
            empty,
            empty_figure(msg, height=ALPHA_HEIGHT),
            empty_figure(msg, height=SHARE_HEIGHT),
            empty_figure(msg, height=SHARE_HEIGHT),
            R.loaded(key, -1, False, broken=True, **said),
        )
    records = got.records
    points = F.alpha_points(records, network)
    panels = _panels(got.latest, network, points, status.checkpoint_every if status else None)
    alpha = F.alpha_figure(records, network, height=ALPHA_HEIGHT)
    rank = F.share_figure(records, network, "stable_rank", height=SHARE_HEIGHT)
    dead = F.share_figure(records, network, "dead", height=SHARE_HEIGHT)
    lines = {series: F.series_names(records, network, series) for series in CHARTS}
    span = _alpha_span([{"y": list(t.y)} for t in alpha.data], None)
    cursor_out = R.loaded(key, got.seq, bool(records), lines=lines, points=points, alpha_span=span, **said)
    return *panels, alpha, rank, dead, cursor_out


__all__ = [
    "CHARTS",
    "NOTES",
    "TAB_ID",
    "TAB_LABEL",
    "layout",
    "load_health",
    "tick_health",
    "update_network_choice",
]
