"""The Gradients tab: how much learning signal reaches each layer.

A verdict per layer (healthy / vanishing / exploding, by the same rules that raise the
alerts), a gradient-flow heatmap (layers x time, colour = gradient norm on a log scale)
and a line chart of each layer's gradient norm. Data: the probe's GRADIENTS series, one
record per sampled optimisation step.

Polls only while shown (on "gradients-poll"; HTTP 204 if called while hidden). The charts
follow the tick / load split of :mod:`dashapp.tabs.reloading`: after a load has drawn them,
each tick sends only the new records -- heatmap columns through a ``Patch``, line points
through ``extendData``.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, Patch, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp import read
from dashapp.components import graph, panel
from dashapp.figures import gradients as F
from dashapp.figures.common import empty_figure, fmt, is_empty_figure
from dashapp.figures.layers import layer_names
from dashapp.tabs import network_picker as NP
from dashapp.tabs import reloading as R
from health import live_rules as R_LIVE
from health import thresholds as TH
from rl import telemetry as T

TAB_ID = "gradients"
TAB_LABEL = "Gradients"
POLL = R.poll_id(TAB_ID)

HEATMAP_HEIGHT, LINES_HEIGHT = 300, 340
#: Columns the heatmap may grow to before it is redrawn from the newest records.
MAX_COLUMNS = 2 * read.probe.PROBE_RECORDS
#: Records behind the verdicts (enough for the growth rule: two windows).
VERDICT_RECORDS = 2 * TH.LIVE_GRAD_GROWTH_SAMPLES

NOTES = {
    "verdicts": "A gradient tells a layer which way to change its weights to reduce the error. "
    f"Vanishing: the layer gets almost none (norm below {TH.LIVE_GRAD_VANISHING_FLOOR:g}, or a thousand "
    f"times less than the other layers) -- often because a dead or saturated layer after it blocks the "
    f"signal; {R_LIVE.vanishing_meaning()}. Exploding: norms above {TH.LIVE_GRAD_EXPLODING_NORM:g} or "
    "growing tenfold fast, so each update overshoots and training becomes unstable.",
    "heatmap": "Gradient flow: one row per layer (input side at the top), one column per sampled "
    "optimisation step. The colour is the verdict the table above gives, by the same rule, at that "
    "step -- green healthy, blue vanishing, red exploding -- and the shade the gradient norm (darker: "
    "larger). In a healthy network all rows stay green.",
    "lines": "The same gradient norms as lines, on a log scale where each grid line is ten times the one "
    "below. The dashed lines mark where gradients count as vanishing (bottom) and exploding (top). "
    "Norms usually fall slowly as the network gets better at its job.",
}


def layout():
    return html.Div(
        [
            NP.network_picker(TAB_ID),
            panel(
                "Gradient health per layer",
                html.Div(
                    id="gradients-verdicts",
                    children=html.P("Waiting for the first optimisation step...", className="empty-note"),
                ),
                NOTES["verdicts"],
                class_name="mb-3",
            ),
            panel(
                "Gradient flow over time",
                graph("gradients-heatmap", "Waiting for the first optimisation step...", HEATMAP_HEIGHT),
                NOTES["heatmap"],
                class_name="mb-3",
            ),
            panel(
                "Gradient norm per layer",
                graph("gradients-lines", "Waiting for the first optimisation step...", LINES_HEIGHT),
                NOTES["lines"],
                class_name="mb-3",
            ),
            dcc.Store(id="gradients-cursor"),
            dcc.Store(id="gradients-reload"),
        ],
        className="tab-body",
    )


_BADGE = {"healthy": "success", "vanishing": "primary", "exploding": "danger", "no data": "secondary"}


def verdict_table(rows: list[dict]):
    """The verdict table from :func:`dashapp.figures.gradients.gradient_verdict_rows`."""
    if not rows:
        return html.P("Waiting for the first optimisation step...", className="empty-note")
    body = [
        html.Tr(
            [
                html.Td(html.Strong(r["layer"])),
                html.Td(
                    dbc.Badge(r["verdict"], color=_BADGE.get(r["verdict"], "secondary"), className="verdict-badge"),
                    **{"data-verdict": r["verdict"]},
                ),
                html.Td(fmt(r["norm"])),
                html.Td(r["reason"], className="text-muted"),
            ],
            id={"type": "gradients-verdict", "layer": r["layer"]},
        )
        for r in rows
    ]
    head = html.Thead(html.Tr([html.Th("layer"), html.Th("verdict"), html.Th("gradient norm"), html.Th("why")]))
    return dbc.Table([head, html.Tbody(body)], size="sm", hover=True, className="mb-0")


update_network_choice = NP.register(TAB_ID, POLL)


@callback(
    Output("gradients-verdicts", "children"),
    Output("gradients-heatmap", "figure"),
    Output("gradients-lines", "extendData"),
    Output("gradients-cursor", "data"),
    Output("gradients-reload", "data"),
    Input(POLL, "n_intervals"),
    State("app-tabs", "active_tab"),
    State("app-run", "data"),
    State("gradients-cursor", "data"),
    Input("gradients-network", "value"),
)
def tick_gradients(n, active_tab, run, cursor, network=None):
    """Verdicts from the chosen network's newest records; heatmap columns and line points
    for the records since the last tick -- or, when the charts must be drawn whole, a
    request to load."""
    if active_tab != TAB_ID:
        raise PreventUpdate  # a hidden tab reads nothing and sends nothing (HTTP 204)
    key = {"run": run, "network": network}
    if not run:
        return verdict_table([]), no_update, no_update, *R.unless_shown(cursor, key, n)
    try:
        with read.session(run) as s:
            key["network"] = network = NP.shown_network(s, network)
            got = read.probe.probe_update(s, T.GRADIENTS, R.drawn_seq(cursor, key), network, tail=VERDICT_RECORDS)
    except read.BrokenRun as exc:
        return (
            html.P(f"This run cannot be read: {exc}", className="empty-note"),
            no_update,
            no_update,
            *R.explain_broken(cursor, key, n),
        )
    records = got.records
    if not records and not got.full:
        raise PreventUpdate  # nothing new since the last tick
    table = verdict_table(F.gradient_verdict_rows(got.tail))
    names = (cursor or {}).get("layers") or []
    if (
        got.full or set(layer_names(records)) - set(names) or cursor.get("columns", 0) + len(records) > MAX_COLUMNS
    ):  # draw it whole
        if not records:
            return table, no_update, no_update, *R.unless_shown(cursor, key, n)  # nothing to draw yet
        return table, no_update, no_update, *R.ask_reload(cursor, key, n)
    cols = F.gradient_heatmap_columns(records, names, got.tail)
    patch = Patch()
    patch["data"][0]["x"].extend(cols["x"])
    for i in range(len(names)):
        patch["data"][0]["z"][i].extend(cols["z"][i])
        patch["data"][0]["customdata"][i].extend(cols["customdata"][i])
    ext = F.gradient_lines_extension(records, names, MAX_COLUMNS)
    return (
        table,
        patch,
        ext or no_update,
        {**cursor, "seq": got.seq, "columns": cursor.get("columns", 0) + len(records)},
        no_update,
    )


@callback(
    Output("gradients-heatmap", "figure", allow_duplicate=True),
    Output("gradients-lines", "figure"),
    Output("gradients-cursor", "data", allow_duplicate=True),
    Input("gradients-reload", "data"),
    State("app-run", "data"),
    State("gradients-network", "value"),
    prevent_initial_call=True,
)
def load_gradients(_reload, run, network=None):
    """Draw the heatmap and the lines from the newest records (asked by the tick)."""
    key = {"run": run, "network": network}
    if not run:
        msg = "Choose a run above."
        return (
            empty_figure(msg, height=HEATMAP_HEIGHT),
            empty_figure(msg, height=LINES_HEIGHT),
            R.loaded(key, -1, False),
        )
    try:
        with read.session(run) as s:
            key["network"] = network = NP.shown_network(s, network)
            got = read.probe.probe_records(s, T.GRADIENTS, network)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        return (
            empty_figure(msg, height=HEATMAP_HEIGHT),
            empty_figure(msg, height=LINES_HEIGHT),
            R.loaded(key, -1, False, broken=True),
        )
    records = got.records
    names = layer_names(records)
    heat = F.gradient_heatmap(records, names, height=HEATMAP_HEIGHT)
    lines = F.gradient_lines(records, names, height=LINES_HEIGHT)
    drawn = not is_empty_figure(heat) and not is_empty_figure(lines)
    return heat, lines, R.loaded(key, got.seq, drawn, layers=names, columns=len(records) if drawn else 0)


__all__ = [
    "TAB_ID",
    "TAB_LABEL",
    "layout",
    "update_network_choice",
    "tick_gradients",
    "load_gradients",
    "verdict_table",
]
