"""The Weights tab: what the network has stored, and how fast it is changing.

Per layer: weight statistics, the latest weight histogram, the chosen layer's histogram
over time, and the update velocity ||ΔW|| / ||W|| between weight samples. Data: the
probe's WEIGHTS series (a sample every N training steps, 100 by default) of the network
chosen in the picker -- a watched one, or a target network (the probe samples their
weights too; the other probe tabs list the watched networks only).

Polls only while shown (on "weights-poll"; HTTP 204 if called while hidden). The charts
follow the tick / load split of :mod:`dashapp.tabs.reloading`: after a load has drawn them,
each tick sends only the new samples -- heatmap columns through a ``Patch`` (while they fit
its value range), velocity points through ``extendData``.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, Patch, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp import read
from dashapp.components import graph, panel
from dashapp.figures import histograms as H
from dashapp.figures import weights as F
from dashapp.figures.common import empty_figure, fmt, is_empty_figure, percent
from dashapp.figures.layers import layer_names
from dashapp.tabs import layer_picker as L
from dashapp.tabs import network_picker as NP
from dashapp.tabs import reloading as R
from health import thresholds as TH
from rl import telemetry as T

TAB_ID = "weights"
TAB_LABEL = "Weights"
POLL = R.poll_id(TAB_ID)

HIST_HEIGHT, TIME_HEIGHT, VELOCITY_HEIGHT = 260, 320, 320
MAX_COLUMNS = 2 * read.probe.PROBE_RECORDS

NOTES = {
    "table": "A weight is the strength of one connection between two neurons; learning means changing "
    "them. Freshly initialised layers have small weights centred on zero; during training the spread "
    f"usually grows a little. Near zero counts weights smaller than {TH.LIVE_NEAR_ZERO_WEIGHT:g}, which "
    "contribute almost nothing. Norm is the overall size of the layer's weights.",
    "hist": "How each layer's weights are spread. A healthy layer looks like a smooth hill around zero. "
    "Values drifting far out, or everything collapsing onto zero, are signs of trouble.",
    "time": "The chosen layer's weight histogram over training, one column per weight sample. "
    "The pattern changes slowly: weights learn in small steps.",
    "velocity": "How much each layer's weights changed since the previous sample, relative to their size "
    f"(‖ΔW‖ / ‖W‖, log scale). Values near 0.001–0.01 mean steady learning; below {TH.LIVE_VELOCITY_STALL:g} "
    "(dashed line) the layer has stopped learning; a sudden jump upwards often comes with exploding "
    "gradients. A target network (target_critic_1, a DQN's target_network) never learns by itself: it only "
    "follows its online network. Moved a share tau of the way towards it at each update (Polyak averaging), "
    "it changes smoothly and late: its velocity starts small and trails the online network's, without its "
    "jitter. Copied whole every so many steps (tau = 1), it is zero between copies and jumps at each -- "
    "neither is a stall.",
}


def layout():
    return html.Div(
        [
            NP.network_picker(TAB_ID),
            panel(
                "Weight statistics per layer",
                html.Div(
                    id="weights-table",
                    children=html.P("Waiting for the first weight sample...", className="empty-note"),
                ),
                NOTES["table"],
                class_name="mb-3",
            ),
            panel(
                "Weight histograms per layer",
                graph("weights-hist-graph", "Waiting for the first weight sample...", HIST_HEIGHT),
                NOTES["hist"],
                class_name="mb-3",
            ),
            L.layer_picker(TAB_ID),
            panel(
                "How the chosen layer's weights change over time",
                graph("weights-hist-time", "Waiting for weight samples...", TIME_HEIGHT),
                NOTES["time"],
                class_name="mb-3",
            ),
            panel(
                "Update velocity per layer",
                graph("weights-velocity", "Waiting for two weight samples...", VELOCITY_HEIGHT),
                NOTES["velocity"],
                class_name="mb-3",
            ),
            dcc.Store(id="weights-cursor"),
            dcc.Store(id="weights-reload"),
            dcc.Store(id="weights-panels"),
        ],
        className="tab-body",
    )


def stats_table(rows: list[dict], learns: bool = True):
    """The weight statistics table from :func:`dashapp.figures.weights.weight_stat_rows`;
    velocities below the stall line are marked when the network ``learns`` (not for a
    target network, which is still between two copies of its online network)."""
    if not rows:
        return html.P("Waiting for the first weight sample...", className="empty-note")
    head = html.Thead(
        html.Tr(
            [html.Th(h) for h in ("layer", "weights", "mean", "std", "min", "max", "norm", "near zero", "velocity")]
        )
    )
    body = []
    for r in rows:
        near = "–" if r["near_zero"] is None else f"{r['near_zero']} ({percent(r['near_zero_share'] or 0)})"
        stalled = learns and r["velocity"] is not None and r["velocity"] < TH.LIVE_VELOCITY_STALL
        body.append(
            html.Tr(
                [
                    html.Td(html.Strong(r["layer"])),
                    html.Td(f"{r['size']:,}"),
                    html.Td(fmt(r["mean"])),
                    html.Td(fmt(r["std"])),
                    html.Td(fmt(r["min"])),
                    html.Td(fmt(r["max"])),
                    html.Td(fmt(r["norm"])),
                    html.Td(near),
                    html.Td(fmt(r["velocity"]), className="text-danger" if stalled else None),
                ]
            )
        )
    return dbc.Table([head, html.Tbody(body)], size="sm", hover=True, className="mb-0")


update_network_choice = NP.register(TAB_ID, POLL, NP.weight_choices)


@callback(
    Output("weights-layer", "options"),
    Output("weights-layer", "value"),
    Output("weights-layer-run", "data"),
    Input(POLL, "n_intervals"),
    State("app-tabs", "active_tab"),
    Input("app-run", "data"),
    State("weights-layer", "value"),
    State("weights-layer", "options"),
    State("weights-layer-run", "data"),
    Input("weights-network", "value"),
)
def update_layer_choice(n, active_tab, run, current, current_options, listed_run=None, network=None):
    """The chosen network's layers (from its newest weight sample); keeps the choice."""
    return L.layer_choice(n, TAB_ID, active_tab, run, T.WEIGHTS, current, current_options, listed_run, network)


def _histograms(latest: dict | None, shown: dict | None, run, network: str | None = None) -> tuple:
    """The per-layer histograms -- only their numbers (a ``Patch``) when the page already
    shows the same layers of the same network -- and what the figure shows afterwards."""
    shown = R.panels_shown(shown, run, network)
    bars = H.histogram_bars(latest)
    names = [b["name"] for b in bars]
    if bars and shown.get("hist") == names:
        patch = Patch()
        for i, bar in enumerate(bars):
            patch["data"][i]["x"], patch["data"][i]["y"], patch["data"][i]["width"] = bar["x"], bar["y"], bar["width"]
        return patch, {"run": run, "network": network, "hist": names}
    return (
        H.histograms_figure(latest, value_label="weight", height=HIST_HEIGHT),
        {"run": run, "network": network, "hist": names if bars else None},
    )


@callback(
    Output("weights-table", "children"),
    Output("weights-hist-graph", "figure"),
    Output("weights-panels", "data"),
    Output("weights-hist-time", "figure"),
    Output("weights-velocity", "extendData"),
    Output("weights-cursor", "data"),
    Output("weights-reload", "data"),
    Input(POLL, "n_intervals"),
    State("app-tabs", "active_tab"),
    Input("weights-layer", "value"),
    State("app-run", "data"),
    State("weights-cursor", "data"),
    State("weights-panels", "data"),
    Input("weights-network", "value"),
)
def tick_weights(n, active_tab, layer, run, cursor, shown=None, network=None):
    """Statistics and histograms from the chosen network's newest sample; heatmap columns
    and velocity points for the samples since the last tick -- or a request to load the
    charts whole."""
    if active_tab != TAB_ID:
        raise PreventUpdate  # a hidden tab reads nothing and sends nothing (HTTP 204)
    key = {"run": run, "network": network, "layer": layer}
    if not run:
        msg = "Choose a run above."
        return (
            stats_table([]),
            empty_figure(msg, height=HIST_HEIGHT),
            {"run": None},
            no_update,
            no_update,
            *R.unless_shown(cursor, key, n),
        )
    try:
        with read.session(run) as s:
            key["network"] = network = NP.shown_network(s, network, NP.weight_choices)
            learns = network in NP.watched_choices(s)
            got = read.probe.probe_update(s, T.WEIGHTS, R.drawn_seq(cursor, key), network)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        return (
            html.P(msg, className="empty-note"),
            empty_figure(msg, height=HIST_HEIGHT),
            {"run": run},
            no_update,
            no_update,
            *R.explain_broken(cursor, key, n),
        )
    records = got.records
    if not records and not got.full:
        raise PreventUpdate  # nothing new since the last tick
    table = stats_table(F.weight_stat_rows(got.latest), learns)
    hists, shown = _histograms(got.latest, shown, run, network)
    columns = None
    if (
        not got.full
        and not set(layer_names(records)) - set(cursor.get("layers") or [])
        and cursor.get("grid")
        and cursor.get("columns", 0) + len(records) <= MAX_COLUMNS
    ):
        columns = H.histogram_columns(records, layer, cursor["grid"])
    if columns is None:  # first view, new layers, out of range or too long: draw it whole
        if not records:
            return table, hists, shown, no_update, no_update, *R.unless_shown(cursor, key, n)  # nothing yet
        return table, hists, shown, no_update, no_update, *R.ask_reload(cursor, key, n)
    patch = Patch()
    patch["data"][0]["x"].extend(columns["x"])
    patch["data"][0]["z"].extend(columns["z"])  # one column per record (transposed heatmap)
    ext = F.velocity_lines_extension(records, cursor["layers"], MAX_COLUMNS)
    return (
        table,
        hists,
        shown,
        patch,
        ext or no_update,
        {**cursor, "seq": got.seq, "columns": cursor["columns"] + len(columns["x"])},
        no_update,
    )


@callback(
    Output("weights-hist-time", "figure", allow_duplicate=True),
    Output("weights-velocity", "figure"),
    Output("weights-cursor", "data", allow_duplicate=True),
    Input("weights-reload", "data"),
    State("app-run", "data"),
    State("weights-layer", "value"),
    State("weights-network", "value"),
    prevent_initial_call=True,
)
def load_weights(_reload, run, layer, network=None):
    """Draw the histogram over time and the velocity lines from the newest samples."""
    key = {"run": run, "network": network, "layer": layer}
    if not run:
        msg = "Choose a run above."
        return (
            empty_figure(msg, height=TIME_HEIGHT),
            empty_figure(msg, height=VELOCITY_HEIGHT),
            R.loaded(key, -1, False),
        )
    try:
        with read.session(run) as s:
            key["network"] = network = NP.shown_network(s, network, NP.weight_choices)
            got = read.probe.probe_records(s, T.WEIGHTS, network)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        return (
            empty_figure(msg, height=TIME_HEIGHT),
            empty_figure(msg, height=VELOCITY_HEIGHT),
            R.loaded(key, -1, False, broken=True),
        )
    records = got.records
    names = layer_names(records)
    heat, grid = H.histogram_heatmap(records, layer, value_label="weight", height=TIME_HEIGHT)
    velocity = F.velocity_lines(records, names, height=VELOCITY_HEIGHT)
    drawn = grid is not None and not is_empty_figure(velocity)
    return (
        heat,
        velocity,
        R.loaded(key, got.seq, drawn, layers=names, grid=grid, columns=len(heat.data[0].x) if grid is not None else 0),
    )


__all__ = [
    "TAB_ID",
    "TAB_LABEL",
    "layout",
    "stats_table",
    "update_network_choice",
    "update_layer_choice",
    "tick_weights",
    "load_weights",
]
