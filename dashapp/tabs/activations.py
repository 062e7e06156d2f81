"""The Activations tab: what the hidden neurons output while the agent plays.

Per hidden layer: statistic cards, the latest activation histogram, a dead-neuron grid,
the chosen layer's histogram over time, and sparklines of single neurons. Everything
comes from the probe (``rl.probe``): the ACTIVATIONS series (one record per publish) and
the NEURONS key (each neuron's last few hundred samples).

The callbacks run on the tab's own poll ("activations-poll"), which ticks only while the
tab is shown; triggered otherwise while hidden, they do nothing (HTTP 204). The growing
charts follow the tick / load split of :mod:`dashapp.tabs.reloading`: on each poll the tick
appends only what is new -- the heatmap gets the new records' columns through a
``Patch`` while they fit its value range, the sparklines the samples taken since the
last tick through ``extendData`` -- and asks a separate load callback when a chart must
be drawn whole. Cards, the latest histograms and the grid show the current state and
are small, so the tick replaces them whole.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, Patch, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp import read
from dashapp.components import graph, panel
from dashapp.figures import activations as F
from dashapp.figures import histograms as H
from dashapp.figures.common import empty_figure, fmt, is_empty_figure, percent
from dashapp.tabs import layer_picker as L
from dashapp.tabs import network_picker as NP
from dashapp.tabs import reloading as R
from health import live_rules as LR
from health import thresholds as TH
from rl import telemetry as T

TAB_ID = "activations"
TAB_LABEL = "Activations"
POLL = R.poll_id(TAB_ID)

HIST_HEIGHT, GRID_HEIGHT, TIME_HEIGHT, SPARK_HEIGHT = 260, 260, 320, 440
#: Heatmap columns kept before the figure is redrawn from the newest records.
MAX_COLUMNS = 2 * read.probe.PROBE_RECORDS

NOTES = {
    "cards": "One card per hidden layer. An activation is a neuron's output for the state the agent "
    "is looking at. Mean, spread (std) and range are over the samples since the last update; "
    f"dead and saturated neurons are judged over each neuron's last {TH.LIVE_DEAD_WINDOW} samples.",
    "hist": "How the layer's outputs are spread. A healthy ReLU layer has a peak at zero (neurons "
    "that stay quiet for this state) and a tail of positive values; a single spike at zero means "
    "the whole layer has gone silent, and tanh/sigmoid values piled up at the ends mean saturation.",
    "grid": f"One square per neuron, once a layer has {TH.LIVE_DEAD_WINDOW} samples. Dark: dead -- its "
    f"output was never above {TH.LIVE_DEAD_ACTIVATION:g} in its last {TH.LIVE_DEAD_WINDOW} samples (for "
    f"leaky or smooth activations such as GELU: or it did not change, variance below "
    f"{TH.LIVE_DEAD_VARIANCE:g}), so it tells the next layer nothing; a dead ReLU also gets no gradient "
    "to learn from. Green: active. Orange: saturated -- stuck at the end of its range, where it barely "
    "learns. A few dark squares are normal; whole dark rows are not.",
    "time": "The chosen layer's histogram over training, one column per update: bright cells are the "
    "values most outputs take. Watch the spread widen as the layer learns -- or collapse onto zero "
    "if its neurons die.",
    "spark": "The last few hundred outputs of single neurons of the chosen layer, oldest on the left. "
    "A flat line at zero is a dead neuron; a neuron that only jumps up in some states has learned "
    "to detect something about the game.",
}


def layout():
    return html.Div(
        [
            NP.network_picker(TAB_ID),
            panel(
                "Layer statistics",
                html.Div(
                    id="activations-cards", children=html.P("Waiting for activation samples...", className="empty-note")
                ),
                NOTES["cards"],
                class_name="mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "Activation histograms per layer",
                            graph("activations-hist-graph", "Waiting for activation samples...", HIST_HEIGHT),
                            NOTES["hist"],
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                    dbc.Col(
                        panel(
                            "Dead-neuron grid",
                            html.Div(
                                [
                                    graph("activations-dead-graph", "Waiting for activation samples...", GRID_HEIGHT),
                                    html.Div(id="activations-dead-caption", className="panel-caption"),
                                ]
                            ),
                            NOTES["grid"],
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                ]
            ),
            L.layer_picker(TAB_ID),
            panel(
                "How the chosen layer's activations change over time",
                graph("activations-hist-time", "Waiting for activation samples...", TIME_HEIGHT),
                NOTES["time"],
                class_name="mb-3",
            ),
            panel(
                "Single neurons: recent activations",
                html.Div(
                    [
                        html.Div(
                            [
                                html.Label("Show", htmlFor="activations-page", className="me-2"),
                                dcc.Dropdown(
                                    id="activations-page",
                                    options=[],
                                    value=0,
                                    clearable=False,
                                    searchable=False,
                                    style={"minWidth": "12rem"},
                                ),
                            ],
                            className="d-flex align-items-center mb-2",
                        ),
                        graph("activations-sparklines", "Waiting for neuron activations...", SPARK_HEIGHT),
                    ]
                ),
                NOTES["spark"],
                class_name="mb-3",
            ),
            dcc.Store(id="activations-cursor"),
            dcc.Store(id="activations-reload"),
            dcc.Store(id="activations-panels"),
            dcc.Store(id="activations-spark-cursor"),
            dcc.Store(id="activations-spark-reload"),
        ],
        className="tab-body",
    )


# --------------------------------------------------------------------------- components
def layer_cards(cards: list[dict]) -> list:
    """Statistic cards from :func:`dashapp.figures.activations.activation_cards` (plain data)."""
    if not cards:
        return [html.P("Waiting for activation samples...", className="empty-note")]
    cols = []
    for c in cards:
        dead_color = "danger" if (c["dead_share"] or 0) > TH.LIVE_DEAD_ALERT_SHARE else "success"
        rows = [
            html.Tr([html.Th("mean ± std"), html.Td(f"{fmt(c['mean'])} ± {fmt(c['std'])}")]),
            html.Tr([html.Th("min … max"), html.Td(f"{fmt(c['min'])} … {fmt(c['max'])}")]),
            html.Tr(
                [
                    html.Th("dead"),
                    html.Td(
                        [
                            f"{c['dead'] if c['dead'] is not None else '–'} of {c['size']} ",
                            dbc.Badge(percent(c["dead_share"]), color=dead_color),
                        ]
                    ),
                ]
            ),
        ]
        if c["saturates"]:
            sat_color = "danger" if (c["saturated_share"] or 0) > TH.LIVE_SATURATED_ALERT_SHARE else "success"
            rows.append(
                html.Tr(
                    [
                        html.Th("saturated"),
                        html.Td(
                            [
                                f"{c['saturated']} of {c['size']} ",
                                dbc.Badge(percent(c["saturated_share"]), color=sat_color),
                            ]
                        ),
                    ]
                )
            )
        elif c["always_active"] is not None:
            rows.append(
                html.Tr(
                    [
                        html.Th("always on", title="never silent: acts like a plain linear unit"),
                        html.Td(f"{c['always_active']} of {c['size']} ({percent(c['always_active_share'])})"),
                    ]
                )
            )
        footer = (
            f"judged over the last {c['window']} samples"
            if c["judged"]
            else f"only {c['window']} of {TH.LIVE_DEAD_WINDOW} samples so far: not judged yet"
        )
        cols.append(
            dbc.Col(
                dbc.Card(
                    [
                        dbc.CardHeader(
                            [
                                html.Strong(c["name"]),
                                html.Span(f" {c['activation']} · {c['size']} neurons", className="text-muted"),
                            ]
                        ),
                        dbc.CardBody(
                            [
                                html.Table(html.Tbody(rows), className="stat-table"),
                                html.Small(footer, className="text-muted"),
                            ]
                        ),
                    ],
                    className="stat-card",
                    id={"type": "activations-card", "layer": c["name"]},
                ),
                md=6,
                xl=4,
                className="mb-2",
            )
        )
    return [dbc.Row(cols, className="g-3")]


def _small_panels(
    latest: T.ActivationRecord | None,
    message: str | None = None,
    shown: dict | None = None,
    run=None,
    network: str | None = None,
):
    """Cards, latest histograms, dead-neuron grid and its caption -- the current state --
    and what the two figures now show. When the figures on the page already show the same
    layers of the same network (``shown``), only their numbers are sent (a ``Patch``), not
    new figures."""
    if latest is None:
        message = message or "Waiting for activation samples (the probe publishes about once a second)..."
        return (
            [html.P(message, className="empty-note")],
            empty_figure(message, height=HIST_HEIGHT),
            empty_figure(message, height=GRID_HEIGHT),
            "",
            {"run": run, "network": network},
        )
    shown = R.panels_shown(shown, run, network)
    bars, grid = H.histogram_bars(latest), F.dead_grid_data(latest)
    names = [b["name"] for b in bars]
    if bars and shown.get("hist") == names:
        hists = Patch()
        for i, bar in enumerate(bars):
            hists["data"][i]["x"], hists["data"][i]["y"], hists["data"][i]["width"] = bar["x"], bar["y"], bar["width"]
    else:
        hists = H.histograms_figure(latest, value_label="activation", height=HIST_HEIGHT)
    shape = None if grid is None else [grid["names"], len(grid["z"][0])]
    if grid is not None and shown.get("grid") == shape:
        grid_out = Patch()
        grid_out["data"][0]["z"], grid_out["data"][0]["text"] = grid["z"], grid["text"]
    else:
        grid_out = F.dead_grid_figure(latest, height=GRID_HEIGHT)
    window = None if grid is None else grid["window"]
    caption = (
        ""
        if window is None
        else (
            f"Step {latest.step:,}; neuron states from the last {window} samples"
            + ("" if LR.enough_samples(window) else f" (a verdict needs {TH.LIVE_DEAD_WINDOW})")
            + "."
        )
    )
    return (
        layer_cards(F.activation_cards(latest)),
        hists,
        grid_out,
        caption,
        {"run": run, "network": network, "hist": names if bars else None, "grid": shape},
    )


# --------------------------------------------------------------------------- callbacks
update_network_choice = NP.register(TAB_ID, POLL)


@callback(
    Output("activations-layer", "options"),
    Output("activations-layer", "value"),
    Output("activations-layer-run", "data"),
    Input(POLL, "n_intervals"),
    State("app-tabs", "active_tab"),
    Input("app-run", "data"),
    State("activations-layer", "value"),
    State("activations-layer", "options"),
    State("activations-layer-run", "data"),
    Input("activations-network", "value"),
)
def update_layer_choice(n, active_tab, run, current, current_options, listed_run=None, network=None):
    """The chosen network's hidden layers (from its newest record); keeps the choice."""
    return L.layer_choice(n, TAB_ID, active_tab, run, T.ACTIVATIONS, current, current_options, listed_run, network)


@callback(
    Output("activations-cards", "children"),
    Output("activations-hist-graph", "figure"),
    Output("activations-dead-graph", "figure"),
    Output("activations-dead-caption", "children"),
    Output("activations-panels", "data"),
    Output("activations-hist-time", "figure"),
    Output("activations-cursor", "data"),
    Output("activations-reload", "data"),
    Input(POLL, "n_intervals"),
    State("app-tabs", "active_tab"),
    Input("activations-layer", "value"),
    State("app-run", "data"),
    State("activations-cursor", "data"),
    State("activations-panels", "data"),
    Input("activations-network", "value"),
)
def tick_activations(n, active_tab, layer, run, cursor, shown=None, network=None):
    """Cards, histograms and grid from the chosen network's newest record; the heatmap
    gets the new records' columns -- or, when it must be drawn whole, a request to
    load_activations."""
    if active_tab != TAB_ID:
        raise PreventUpdate  # a hidden tab reads nothing and sends nothing (HTTP 204)
    key = {"run": run, "network": network, "layer": layer}
    if not run:
        return (*_small_panels(None, "Choose a run above."), no_update, *R.unless_shown(cursor, key, n))
    try:
        with read.session(run) as s:
            key["network"] = network = NP.shown_network(s, network)
            got = read.probe.probe_update(s, T.ACTIVATIONS, R.drawn_seq(cursor, key), network)
    except read.BrokenRun as exc:
        return (
            *_small_panels(None, f"This run cannot be read: {exc}", run=run, network=network),
            no_update,
            *R.explain_broken(cursor, key, n),
        )
    records = got.records
    if got.full:
        panels = _small_panels(got.latest, shown=shown, run=run, network=network)
        if not records:
            return (*panels, no_update, *R.unless_shown(cursor, key, n))  # nothing to draw yet
        return (*panels, no_update, *R.ask_reload(cursor, key, n))
    if not records:
        raise PreventUpdate  # nothing new since the last tick
    panels = _small_panels(got.latest, shown=shown, run=run, network=network)
    columns = None
    if cursor.get("grid") and cursor.get("columns", 0) + len(records) <= MAX_COLUMNS:
        columns = H.histogram_columns(records, layer, cursor["grid"])
    if columns is None:  # a new record left the value range, or too many columns: draw it whole
        return (*panels, no_update, *R.ask_reload(cursor, key, n))
    patch = Patch()
    patch["data"][0]["x"].extend(columns["x"])
    patch["data"][0]["z"].extend(columns["z"])  # one column per record (transposed heatmap)
    return (*panels, patch, {**cursor, "seq": got.seq, "columns": cursor["columns"] + len(columns["x"])}, no_update)


@callback(
    Output("activations-hist-time", "figure", allow_duplicate=True),
    Output("activations-cursor", "data", allow_duplicate=True),
    Input("activations-reload", "data"),
    State("app-run", "data"),
    State("activations-layer", "value"),
    State("activations-network", "value"),
    prevent_initial_call=True,
)
def load_activations(_reload, run, layer, network=None):
    """Draw the chosen layer's histogram over time from the newest records (asked by the tick)."""
    key = {"run": run, "network": network, "layer": layer}
    if not run:
        return empty_figure("Choose a run above.", height=TIME_HEIGHT), R.loaded(key, -1, False)
    try:
        with read.session(run) as s:
            key["network"] = network = NP.shown_network(s, network)
            got = read.probe.probe_records(s, T.ACTIVATIONS, network)
    except read.BrokenRun as exc:
        return (
            empty_figure(f"This run cannot be read: {exc}", height=TIME_HEIGHT),
            R.loaded(key, -1, False, broken=True),
        )
    fig, grid = H.histogram_heatmap(got.records, layer, value_label="activation", height=TIME_HEIGHT)
    drawn = grid is not None
    return fig, R.loaded(key, got.seq, drawn, grid=grid, columns=len(fig.data[0].x) if drawn else 0)


@callback(
    Output("activations-sparklines", "extendData"),
    Output("activations-page", "options"),
    Output("activations-page", "value"),
    Output("activations-spark-cursor", "data"),
    Output("activations-spark-reload", "data"),
    Input(POLL, "n_intervals"),
    State("app-tabs", "active_tab"),
    Input("activations-layer", "value"),
    Input("activations-page", "value"),
    State("app-run", "data"),
    State("activations-spark-cursor", "data"),
    State("activations-page", "options"),
    Input("activations-network", "value"),
)
def tick_sparklines(n, active_tab, layer, first, run, cursor, page_options, network=None):
    """Append the samples taken since the last tick to the sparklines (or ask for a load)."""
    if active_tab != TAB_ID:
        raise PreventUpdate  # a hidden tab reads nothing and sends nothing (HTTP 204)
    if not run or not layer:
        key = {"run": run, "network": network, "layer": layer, "first": 0}
        return (no_update, ([] if page_options else no_update), no_update, *R.unless_shown(cursor, key, n))
    try:
        with read.session(run) as s:
            network = NP.shown_network(s, network)
            activity = read.probe.neuron_activity(s, network)
    except read.BrokenRun:
        activity = None
    layer_data = activity.layer(layer) if activity is not None else None
    options = F.sparkline_page_options(layer_data.size) if layer_data else []
    page = first if any(o["value"] == first for o in options) else 0
    key = {"run": run, "network": network, "layer": layer, "first": page}
    options_out = no_update if options == page_options else options
    page_out = no_update if page == first else page
    samples = activity.samples if activity is not None else 0
    if R.matches(cursor, key):
        drawn_samples = cursor.get("samples", 0)
        if samples <= drawn_samples:
            return no_update, options_out, page_out, no_update, no_update
        if samples - drawn_samples <= read.probe.PROBE_RECORDS:
            ext = F.sparklines_extension(activity, layer, page, drawn_samples)
            return ext or no_update, options_out, page_out, {**cursor, "samples": samples}, no_update
    elif isinstance(cursor, dict) and cursor.get("key") == key and not samples:
        return no_update, options_out, page_out, no_update, no_update  # still nothing to draw
    return (no_update, options_out, page_out, *R.ask_reload(cursor, key, n))


@callback(
    Output("activations-sparklines", "figure"),
    Output("activations-spark-cursor", "data", allow_duplicate=True),
    Input("activations-spark-reload", "data"),
    State("app-run", "data"),
    prevent_initial_call=True,
)
def load_sparklines(reload, run):
    """Draw the sparklines of the page (and network) the tick asked for."""
    key = (reload or {}).get("key") or {"run": run, "network": None, "layer": None, "first": 0}
    if not run or not key.get("layer"):
        return empty_figure("Choose a run and a layer above.", height=SPARK_HEIGHT), R.loaded(key, -1, False)
    try:
        with read.session(run) as s:
            activity = read.probe.neuron_activity(s, key.get("network"))
    except read.BrokenRun as exc:
        return (
            empty_figure(f"This run cannot be read: {exc}", height=SPARK_HEIGHT),
            R.loaded(key, -1, False, broken=True),
        )
    fig = F.sparklines_figure(activity, key["layer"], key.get("first") or 0, height=SPARK_HEIGHT)
    return fig, R.loaded(key, -1, not is_empty_figure(fig), samples=activity.samples if activity is not None else 0)


__all__ = [
    "TAB_ID",
    "TAB_LABEL",
    "layout",
    "layer_cards",
    "update_network_choice",
    "update_layer_choice",
    "tick_activations",
    "load_activations",
    "tick_sparklines",
    "load_sparklines",
]
