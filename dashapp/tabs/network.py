"""The Network tab: the network drawn as it is, lighting up as the agent plays.

The graph is drawn in the browser, on a canvas (``assets/network_graph.js``), from three
stores the server fills -- so each update sends only what changed:

* **graph** (server) -- ``network-scene`` (columns, names, the strongest edges) once, and
  again only when the run, the network's shape or *k* changes or the weights were
  re-sampled (at most every :data:`EDGE_REFRESH_S`); ``network-values`` (every neuron's
  output: the colours) when the probe published a new sample. When training is paused
  nothing new is published, so nothing is sent: the picture holds still.
* **select** (browser) -- a click on a neuron or a layer's title sets ``network-selection``
  directly; the ring is drawn at once.
* **highlight** (server) -- the selected neuron's strongest weights, ``network-highlight``,
  when the selection changes or the edges were drawn again (``network-scene-key``).
* **draw** (browser) -- redraws the canvas when any of the four stores changes (two
  callbacks: the highlight apart, so the graph never waits for it).
* **inspector** (server) -- the neuron inspector or the layer inspector for the selection.
* **analysis** (server) -- input saliency (or integrated gradients), the feature/action
  correlation heatmap and the feature-response curves, from the attribution record. It
  runs after the graph callback (on its ``network-view``), so the graph is drawn first
  and the browser is not busy drawing these charts when the graph arrives; while
  training runs it redraws at most every :data:`ANALYSIS_REFRESH_S`.

Server callbacks run on the tab's own poll ("network-poll", ticking only while the tab
is shown) and read the run's store through :mod:`dashapp.read`; nothing here imports
torch or touches the training process.
"""

from __future__ import annotations

import json
import math
import time
from html import unescape as html_unescape

import dash_bootstrap_components as dbc
import numpy as np
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html, no_update

from dashapp import read
from dashapp.components import panel
from dashapp.figures import network as N
from dashapp.figures import svg as SVG
from dashapp.figures.common import GRAPH_CONFIG

TAB_ID = "network"
TAB_LABEL = "Network"

#: Seconds between two redraws of the edges while the weights keep changing (they move
#: slowly; redrawing thousands of edges every second would cost more than it shows).
EDGE_REFRESH_S = 5.0
#: Seconds between two redraws of the analysis charts while training runs (each redraw
#: is three Plotly charts, about 0.2 s of the browser's time; a new choice in the panel
#: redraws at once).
ANALYSIS_REFRESH_S = 3.0
#: Q-value records behind an action's history in the inspector.
OUTPUT_HISTORY = 500
ANALYSIS_HEIGHT = 420  # saliency and correlation charts

CHOICE = "choice"  # the action dropdown's "the network's choice"
METHODS = {"saliency": "saliency", "ig": "integrated gradients"}

HIDDEN = {"display": "none"}
SHOWN = {"display": "block"}
COLLAPSED = "nd-collapsed"  # laid out but invisible and 0 px tall (assets/neurodash.css)


def _graph(id_: str, message: str, height: int) -> dcc.Graph:
    return dcc.Graph(id=id_, figure=N.empty_figure(message, height=height), config=GRAPH_CONFIG,
                     style={"height": f"{height}px"})


def _network_graph() -> html.Div:
    """The canvas the graph is drawn on (by assets/network_graph.js), its hover box and
    the caption under it."""
    return html.Div([
        html.Div(
            [html.Canvas(id="network-canvas", role="img",
                         **{"aria-label": "The network graph: neurons in columns from the inputs to the Q-values, "
                                          "coloured by their current output. Click a neuron or a layer's name to "
                                          "inspect it; with the keyboard, the arrow keys move from neuron to "
                                          "neuron."}),
             html.Div(className="network-tooltip", role="tooltip")],
            id="network-graph", className="network-graph", style={"height": f"{N.GRAPH_HEIGHT}px"},
        ),
        html.Div(id="network-graph-caption", className="small text-muted"),
    ])


def layout():
    controls = dbc.Row(
        [
            dbc.Col(html.Label("Connections drawn per neuron (k)", htmlFor="network-k", className="small mb-0"),
                    width="auto"),
            dbc.Col(dcc.Slider(id="network-k", min=1, max=N.MAX_K, step=1, value=N.DEFAULT_K,
                               marks={1: "1", 3: "3", 8: "8", N.MAX_K: str(N.MAX_K)}), md=5),
            dbc.Col(dbc.Button("Clear selection", id="network-clear", size="sm", color="secondary", outline=True),
                    width="auto"),
        ],
        className="align-items-center g-2 mb-1",
    )
    body = html.Div(
        [
            html.H3(id="network-inspector-title", className="h6 mb-1", **{"aria-live": "polite"}),
            html.Div(id="network-inspector-facts", className="small mb-2"),
            # SVG images, not Plotly: shown at once (see dashapp/figures/svg.py)
            html.Div(id="network-inspector-charts", className="inspector-charts"),
            html.P(id="network-inspector-note", className="panel-note"),
        ],
        id="network-inspector-body", className=COLLAPSED,
    )
    inspector = panel(
        "Inspector",
        html.Div([
            html.P("Click a neuron in the network to see its story, or a layer's name (above its column) "
                   "for the whole layer.", id="network-inspector-hint", className="empty-note"),
            body,
        ]),
        "What you clicked, up close. It follows the training live and holds still while training is paused.",
        id="network-inspector",
    )
    saliency = panel(
        "Which inputs matter right now",
        html.Div([
            dbc.Row([
                dbc.Col(dbc.RadioItems(id="network-method", value="saliency", inline=True,
                                       options=[{"label": " saliency", "value": "saliency"},
                                                {"label": " integrated gradients", "value": "ig"}]), md=7),
                dbc.Col(dcc.Dropdown(id="network-action", value=CHOICE, clearable=False, searchable=False,
                                     options=[{"label": "the network's choice", "value": CHOICE}]), md=5),
            ], className="g-2 mb-1"),
            _graph("network-saliency", "Waiting for the worker's first attribution sample...", ANALYSIS_HEIGHT),
            html.Div(id="network-saliency-caption", className="small text-muted"),
        ]),
        N.EXPLAIN["saliency"],
    )
    correlation = panel("Which features go with which choices",
                        _graph("network-correlation", "Waiting for recent game states...", ANALYSIS_HEIGHT),
                        N.EXPLAIN["correlation"])
    response = panel(
        "What if one feature were different?",
        html.Div([
            dcc.Dropdown(id="network-feature", value="0", clearable=False, searchable=False, options=[],
                         className="mb-1"),
            _graph("network-response", "Waiting for the worker's first attribution sample...", 320),
        ]),
        N.EXPLAIN["response"],
    )
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(panel("The network, live", html.Div([controls, _network_graph()]),
                                  N.EXPLAIN["graph"]), lg=8, className="mb-3"),
                    dbc.Col(inspector, lg=4, className="mb-3"),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(saliency, lg=4, className="mb-3"),
                    dbc.Col(correlation, lg=4, className="mb-3"),
                    dbc.Col(response, lg=4, className="mb-3"),
                ]
            ),
            dcc.Store(id="network-selection"),
            dcc.Store(id="network-scene"),
            dcc.Store(id="network-values"),
            dcc.Store(id="network-highlight"),
            dcc.Store(id="network-scene-key"),
            dcc.Store(id="network-highlight-drawn"),  # the highlight's draw callback needs an output
            dcc.Store(id="network-view"),
            dcc.Store(id="network-inspector-view"),
            dcc.Store(id="network-analysis-view"),
        ],
        className="tab-body",
    )


# --------------------------------------------------------------------------- helpers
def _fmt(v, digits: int = 3) -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{digits}g}"


def _facts(rows: list[tuple[str, object]]) -> html.Table:
    return html.Table(html.Tbody([html.Tr([html.Th(k, className="pe-2 fw-normal text-muted"), html.Td(v)])
                                  for k, v in rows]), className="stat-table")


def _index(value, n: int, default: int | None = 0) -> int | None:
    """A dropdown's value ("3") as an index below ``n``, else ``default``."""
    try:
        i = int(value)
    except (TypeError, ValueError):
        return default
    return i if 0 <= i < n else default


def _selection_key(selection) -> list | None:
    if not isinstance(selection, dict):
        return None
    return [selection.get("kind"), selection.get("column"), selection.get("index")]


# --------------------------------------------------------------------------- select, draw
# A click on the canvas sets "network-selection" in the browser (network_graph.js);
# the button clears it, also in the browser, and so does choosing another run (a
# selection names a column and an index: in another network they are another neuron).
clientside_callback(  # the button, or another run: nothing selected
    "function () { return null; }",
    Output("network-selection", "data"),
    Input("network-clear", "n_clicks"),
    Input("app-run", "data"),
    prevent_initial_call=True,
)
clientside_callback(
    ClientsideFunction(namespace="neurodash", function_name="drawNetwork"),
    Output("network-graph-caption", "children"),
    Input("network-scene", "data"),
    Input("network-values", "data"),
    Input("network-selection", "data"),
)
# apart from drawNetwork: Dash would hold that back until a highlight asked for after a
# new scene has arrived (a round trip later), and the graph would wait for it
clientside_callback(
    ClientsideFunction(namespace="neurodash", function_name="drawHighlight"),
    Output("network-highlight-drawn", "data"),
    Input("network-highlight", "data"),
)


# --------------------------------------------------------------------------- graph
def _wire(value) -> str | None:
    """What the canvas is sent, as JSON text: Dash passes a string through as it is,
    where a nested object of thousands of numbers costs its renderer tens of
    milliseconds to store and compare on every update."""
    return None if value is None else json.dumps(value, separators=(",", ":"), allow_nan=False)


def _message(text: str) -> str:
    """A scene that is just a sentence (drawn in the middle of the canvas)."""
    return _wire({"message": text})


def analysis_due(analysis_view, versions: dict, now: float) -> bool:
    """True when the analysis charts show an older attribution than the newest and their
    last redraw is ANALYSIS_REFRESH_S old: the graph's poll then wakes them (the trailing
    edge of their throttle -- without it a run paused just after a skipped redraw would
    keep showing an older decision than the graph and the inspector)."""
    newest = versions.get("attribution")
    if newest is None:
        return False
    drawn = analysis_view if isinstance(analysis_view, dict) else {}
    return drawn.get("step") != newest and now - drawn.get("at", 0) >= ANALYSIS_REFRESH_S


@callback(
    Output("network-scene", "data"),
    Output("network-values", "data"),
    Output("network-scene-key", "data"),
    Output("network-k", "value"),
    Output("network-view", "data"),
    Input("network-poll", "n_intervals"),
    Input("network-k", "value"),
    State("app-tabs", "active_tab"),
    State("app-run", "data"),
    State("network-view", "data"),
    State("network-analysis-view", "data"),
)
def update_graph(_n, k, active_tab, run, view, analysis_view=None):
    """Send the scene once, then only what changed (see the module docstring)."""
    nothing = (no_update,) * 5
    if active_tab != TAB_ID:
        return nothing
    view = view if isinstance(view, dict) else {}
    if not run:
        if view == {"run": None}:
            return nothing
        return _message("Choose a run above."), None, None, no_update, {"run": None}
    k = int(k or N.DEFAULT_K)
    same_run = view.get("run") == run and view.get("drawn")
    try:
        versions = read.network_versions(run)
        now = time.time()
        due = analysis_due(analysis_view, versions, now)
        if (same_run and view.get("k") == k and versions == view.get("versions") and not due
                and versions["weights"] == view.get("edge_weights")):
            return nothing  # nothing new: paused, or between two probe samples
        weights_moved = (versions["weights"] != view.get("edge_weights")
                         and now - view.get("edges_at", 0) >= EDGE_REFRESH_S)
        need_scene = not same_run or k != view.get("k") or weights_moved
        # a colour update needs the current outputs only: the weights (megabytes for a
        # 3x512 network) are decoded only when the edges are drawn again
        net = read.network_bundle(run, weights=need_scene, histories=False).net
        if net is not None and not need_scene and view.get("shape") != net.shape_key():
            need_scene = True  # the network changed shape (e.g. a new run in the same folder)
            net = read.network_bundle(run, histories=False).net
    except read.BrokenRun as exc:
        return _message(f"This run cannot be read: {exc}"), None, None, no_update, None
    if net is None:
        waiting = {"run": run, "drawn": False}
        if view == waiting:
            return nothing
        return _message("Waiting for the worker's first sample of the network..."), None, None, no_update, waiting
    new_view = {"run": run, "drawn": True, "versions": versions, "k": k, "shape": net.shape_key(),
                "sample": [net.step, versions["activations"]],
                "edges_at": view.get("edges_at", now), "edge_weights": view.get("edge_weights")}
    if due:
        new_view["analysis_due"] = now  # a changed view is what wakes the analysis charts
    new_k = no_update
    if not same_run or view.get("shape") != new_view["shape"]:
        k = N.default_k(net.sizes)  # a new run or network: k chosen for the network's width
        new_k = k if k != new_view["k"] else no_update
        new_view.update(k=k)
        view = {}
    scene = scene_key = no_update
    if need_scene:
        scene = _wire(N.graph_scene(net, k))
        scene_key = {"run": run, "at": now}  # wakes the highlight: the selected neuron's weights again
        new_view.update(edges_at=now, edge_weights=versions["weights"])
    values = _wire(N.graph_values(net)) if view.get("sample") != new_view["sample"] else no_update
    return scene, values, scene_key, new_k, new_view


@callback(
    Output("network-highlight", "data"),
    Input("network-selection", "data"),
    Input("network-scene-key", "data"),
    State("app-run", "data"),
    prevent_initial_call=True,
)
def update_highlight(selection, _scene_key, run):
    """The selected neuron's own strongest weights, drawn over the graph: again when the
    selection changes or the edges were drawn from new weights."""
    if not run or not isinstance(selection, dict) or selection.get("kind") != "neuron":
        return None
    column = selection.get("column")
    if not isinstance(column, int) or isinstance(column, bool):
        return None
    try:  # the weights into and out of the neuron's column only
        net = read.network_bundle(run, weights={column, column + 1}, histories=False).net
    except read.BrokenRun:
        return None
    return _wire(N.graph_highlight(net, selection)) if net is not None else None


# --------------------------------------------------------------------------- inspector
_INSPECTOR_OUTPUTS = 7


def _chart(svg: str) -> html.Img:
    """One SVG chart as an image; its title (the SVG's own <title>) is its alt text."""
    alt = svg[svg.index("<title>") + 7:svg.index("</title>")] if "<title>" in svg else "chart"
    return html.Img(src=SVG.data_uri(svg), alt=html_unescape(alt), className="inspector-chart")


def _inspector(title="", facts="", charts=(), note="") -> tuple:
    """The inspector's outputs (all but its view): the hint when nothing is shown."""
    if not title:
        return SHOWN, COLLAPSED, "", "", [], ""
    return HIDDEN, "", title, facts, [_chart(svg) for svg in charts], note


def neuron_view(net: N.NetworkData, attr: read.AttributionView | None, column: int, index: int,
                q_history=None) -> tuple:
    """(title, facts, [history, contribution, incoming, outgoing]) for one node."""
    stats = N.neuron_stats(net, column, index)
    kind = net.kinds[column]
    actions = net.labels(len(net.values) - 1)
    incoming = net.weights[column][index] if column > 0 and _fits(net, column) else None
    outgoing = net.weights[column + 1][:, index] if column + 1 < len(net.values) and _fits(net, column + 1) else None
    to_actions = actions if column + 1 == len(net.values) - 1 else None
    attr_note = f" (attribution at step {attr.step:,})" if attr is not None else ""
    if kind == "input":
        name = stats["label"]
        history = attr.recent_obs[:, index] if attr is not None and attr.recent_obs.ndim == 2 \
            and index < attr.recent_obs.shape[1] else None
        sens = attr.saliency[:, index] if attr is not None and index < attr.saliency.shape[1] else None
        title = f"Input feature “{name}”"
        facts = _facts([("value now", _fmt(stats["current"])),
                        ("recent states", "–" if history is None else f"{len(history)}")])
        return (title, facts, [
                N.sparkline_chart(history, f"{name} over the last recent states", "value"),
                SVG.message_chart("how sensitive each Q-value is", "waiting for the worker's first attribution sample")
                if sens is None else
                SVG.bar_chart(sens, actions, f"how sensitive each Q-value is to {name}{attr_note}", "|dQ/dx|"),
                SVG.message_chart("incoming weights", "an input has no incoming weights: it is the game's state"),
                N.outgoing_chart(outgoing, to_actions)])
    if kind == "output":
        name = stats["label"]
        contrib = None
        if attr is not None:
            last_hidden = next((net.names[c] for c in range(len(net.values) - 2, 0, -1)), None)
            contrib = attr.contributions.get(last_hidden) if last_hidden else None
        title = f"Action “{name}”: its Q-value"
        facts = _facts([("Q-value now", _fmt(stats["current"])),
                        ("the network's pick", "yes" if net.action == index else "no")])
        if contrib is not None and index < contrib.shape[0]:
            row = contrib[index]
            top = np.argsort(-np.abs(np.nan_to_num(row)), kind="stable")[:12]
            contrib_fig = SVG.bar_chart(row[top], [f"#{j}" for j in top],
                                       f"neurons of {net.names[-2]} pushing this Q-value most{attr_note}",
                                       "contribution")
        else:
            contrib_fig = SVG.message_chart("neurons pushing this Q-value most",
                                            "waiting for the worker's first attribution sample")
        return (title, facts, [SVG.line_chart(q_history, f"Q({name}) over recent recorded steps", "Q-value",
                                              xlabel="records ago", empty="no Q-values recorded yet"),
                contrib_fig, N.histogram_chart(incoming, "incoming weights"),
                SVG.message_chart("outgoing", "the agent takes the action with the highest Q-value")])
    # a hidden neuron
    contrib = attr.contributions.get(net.names[column]) if attr is not None else None
    contrib = contrib[:, index] if contrib is not None and index < contrib.shape[1] else None
    status = {"dead": "danger", "saturated": "warning", "active": "success"}.get(stats["status"], "secondary")
    title = f"{net.names[column]} · neuron #{index} of {net.sizes[column]} ({stats['activation']})"
    facts = html.Div([
        _facts([("output now", f"{_fmt(stats['current'])} (step {net.step:,})"),
                (f"last {stats['samples']} samples", f"mean {_fmt(stats['mean'])}, min {_fmt(stats['min'])}, "
                                                     f"max {_fmt(stats['max'])}")]),
        html.Div([dbc.Badge(stats["status"], color=status, className="me-2", id="network-neuron-status"),
                  html.Span(stats["why"])], className="mt-1"),
    ])
    history = net.history(column)
    own = np.asarray(history)[:, index] if history is not None and np.ndim(history) == 2 else None
    return (title, facts, [N.sparkline_chart(own, "activation over the last samples"),
            N.contribution_chart(contrib, actions, attr.action if attr is not None else None,
                                  attr.step if attr is not None else None,
                                  attr.method if attr is not None else "gradient x activation"),
            N.histogram_chart(incoming, "incoming weights"), N.outgoing_chart(outgoing, to_actions)])


def _fits(net: N.NetworkData, column: int) -> bool:
    w = net.weights[column] if column < len(net.weights) else None
    return w is not None and np.shape(w) == (net.sizes[column], net.sizes[column - 1])


def layer_view(net: N.NetworkData, column: int) -> tuple:
    """(title, facts, [weight histogram, activation histogram]) for one column."""
    s = N.layer_stats(net, column)
    w = s["weights"]
    kind = s["kind"]
    title = {"input": "The input layer", "output": "The output layer (Q-values)"}.get(
        kind, f"Layer {s['name']} ({s['activation']})")
    rows = [("neurons", f"{s['size']}"),
            ("average |activation|", _fmt(s["mean_abs_activation"]) + (f" over the last {s['samples']} samples"
                                                                        if s["samples"] else " now"))]
    if kind == "hidden":
        dead = "–" if s["dead"] is None else f"{s['dead']} ({100 * s['dead_share']:.1f}%)"
        if s["saturation_rate"] is not None:
            sat = f"{100 * s['saturation_rate']:.1f}% ({s['saturated']} neurons)"
        else:
            sat = ("not applicable: ReLU has no upper limit to get stuck at"
                   + (f"; {s['always_active']} never switch off" if s["always_active"] is not None else ""))
        rows += [("dead", dead), ("saturation rate", sat)]
    if w["count"]:
        rows += [("weights (incoming)", f"{w['count']:,}"),
                 ("weight mean ± std", f"{_fmt(w['mean'])} ± {_fmt(w['std'])}"),
                 ("weight min … max", f"{_fmt(w['min'])} … {_fmt(w['max'])}")]
    weights = net.weights[column] if column < len(net.weights) else None
    return (title, _facts(rows), [
            N.histogram_chart(weights, "incoming weights of the layer") if weights is not None else
            SVG.message_chart("incoming weights", "the input layer has no incoming weights"),
            N.histogram_chart(net.values[column], "outputs of its neurons now", "output")])


@callback(
    Output("network-inspector-hint", "style"),
    Output("network-inspector-body", "className"),
    Output("network-inspector-title", "children"),
    Output("network-inspector-facts", "children"),
    Output("network-inspector-charts", "children"),
    Output("network-inspector-note", "children"),
    Output("network-inspector-view", "data"),
    Input("network-poll", "n_intervals"),
    Input("network-selection", "data"),
    State("app-tabs", "active_tab"),
    State("app-run", "data"),
    State("network-inspector-view", "data"),
)
def update_inspector(_n, selection, active_tab, run, view):
    """The neuron or layer inspector for the selection, kept live while training runs."""
    if active_tab != TAB_ID:
        return (no_update,) * _INSPECTOR_OUTPUTS
    if not run or not isinstance(selection, dict):
        if view is None:  # the hint is already showing
            return (no_update,) * _INSPECTOR_OUTPUTS
        return (*_inspector(), None)
    key_sel = _selection_key(selection)
    try:
        if isinstance(view, dict) and view.get("run") == run and view.get("selection") == key_sel:
            # the change markers (new activations, weights or attribution) only
            if read.network_versions(run) == view.get("versions"):
                return (no_update,) * _INSPECTOR_OUTPUTS  # nothing new (e.g. paused): nothing sent
        column = selection.get("column")
        column = column if isinstance(column, int) and not isinstance(column, bool) else -1
        # the selected column's weights (in and out) and history only: each is megabytes in a 3x512 network
        bundle = read.network_bundle(run, attribution=True, weights={column, column + 1},
                                     histories=column if column >= 0 else False)
        net, attr = bundle.net, bundle.attribution
        sel = N.valid_selection(net, selection) if net is not None else None
        q_history = None
        if sel is not None and sel["kind"] == "neuron" and net.kinds[sel["column"]] == "output":
            q_history = read.network_bundle(run, snapshot=False, q_action=sel["index"]).q_history
    except read.BrokenRun as exc:
        return (*_inspector(f"This run cannot be read: {exc}"), None)
    if sel is None:  # e.g. the network has not been sampled yet, or changed shape
        return (*_inspector(), None) if view is not None else (no_update,) * _INSPECTOR_OUTPUTS
    new_view = {"run": run, "versions": bundle.versions, "selection": key_sel}
    if sel["kind"] == "neuron":
        title, facts, charts = neuron_view(net, attr, sel["column"], sel["index"], q_history)
        note = N.EXPLAIN["neuron"] + (" " + N.EXPLAIN["contribution"] if net.kinds[sel["column"]] == "hidden" else "")
    else:
        title, facts, charts = layer_view(net, sel["column"])
        note = N.EXPLAIN["layer"]
    return (*_inspector(title, facts, charts, note), new_view)


# --------------------------------------------------------------------------- analysis
@callback(
    Output("network-saliency", "figure"),
    Output("network-saliency-caption", "children"),
    Output("network-correlation", "figure"),
    Output("network-response", "figure"),
    Output("network-action", "options"),
    Output("network-feature", "options"),
    Output("network-feature", "value"),
    Output("network-analysis-view", "data"),
    Input("network-view", "data"),  # after the graph: it is drawn first, on the same sample
    Input("network-method", "value"),
    Input("network-action", "value"),
    Input("network-feature", "value"),
    State("app-tabs", "active_tab"),
    State("app-run", "data"),
    State("network-analysis-view", "data"),
)
def update_analysis(graph_view, method, action, feature, active_tab, run, view):
    """Saliency / integrated gradients, the correlation heatmap and the response curves."""
    if active_tab != TAB_ID:
        return (no_update,) * 8
    if not run:
        if view == {"run": None}:
            return (no_update,) * 8
        msg = "Choose a run above."
        return (N.empty_figure(msg, height=ANALYSIS_HEIGHT), "", N.empty_figure(msg, height=ANALYSIS_HEIGHT),
                N.empty_figure(msg, height=320),
                no_update, no_update, no_update, {"run": None})
    newest = graph_view.get("versions", {}).get("attribution") if isinstance(graph_view, dict) else None
    if newest is not None and _analysis_unchanged(view, run, newest, method, action, feature):
        return (no_update,) * 8  # decided from the graph's change markers, before reading the record
    try:
        attr = read.attribution(run)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        return (N.empty_figure(msg, height=ANALYSIS_HEIGHT), "", N.empty_figure(msg, height=ANALYSIS_HEIGHT),
                N.empty_figure(msg, height=320),
                no_update, no_update, no_update, None)
    if attr is None:
        waiting = {"run": run, "step": None}
        if view == waiting:
            return (no_update,) * 8
        msg = "Waiting for the worker's first attribution sample..."
        return (N.empty_figure(msg, height=ANALYSIS_HEIGHT), "",
                N.empty_figure("Waiting for recent game states...", height=ANALYSIS_HEIGHT),
                N.empty_figure(msg, height=320), no_update, no_update, no_update, waiting)
    if _analysis_unchanged(view, run, attr.step, method, action, feature):
        return (no_update,) * 8
    key = {"run": run, "step": attr.step, "method": method, "action": action, "feature": feature}
    figures = analysis_figures(attr, method, action, feature)
    # a dropdown drops a value its (still empty) options do not hold: set it once they exist
    n_features = len(figures[5])
    value = no_update if _index(feature, n_features, None) is not None or not n_features else "0"
    return (*figures, value, {**key, "at": time.time()})


def _analysis_unchanged(view, run, step: int, method, action, feature) -> bool:
    """True when the charts already show these choices and either attribution ``step`` or
    one drawn less than ANALYSIS_REFRESH_S ago (a new attribution waits that long)."""
    if not isinstance(view, dict) or [view.get(k) for k in ("run", "method", "action", "feature")] != \
            [run, method, action, feature]:
        return False
    return view.get("step") == step or time.time() - view.get("at", 0) < ANALYSIS_REFRESH_S


def analysis_figures(attr: read.AttributionView, method: str, action, feature) -> tuple:
    """(saliency figure, caption, correlation figure, response figure, action options,
    feature options) from one attribution record -- pure."""
    n_actions, n_features = attr.saliency.shape if attr.saliency.ndim == 2 else (0, 0)
    features = [attr.feature_names[i] if i < len(attr.feature_names) else f"x{i}" for i in range(n_features)]
    actions = [attr.action_names[i] if i < len(attr.action_names) else f"action {i}" for i in range(n_actions)]
    chosen = _index(action, n_actions, default=None)
    target = _index(attr.action, n_actions) if chosen is None else chosen  # a record's action is checked too
    label = actions[target] if target < len(actions) else f"action {target}"
    if chosen is None:
        label = f"{label} (its choice)"
    method_name = METHODS.get(method, "saliency")
    values = (attr.integrated_gradients if method == "ig" else attr.saliency)
    values = values[target] if target < values.shape[0] else None
    caption = ""
    if method == "ig":
        delta = attr.ig.get("delta", [])
        delta_t = delta[target] if target < len(delta) else None
        caption = (f"Integrated gradients: {attr.ig.get('steps', '?')}-point Gauss-Legendre path from the baseline "
                   f"({attr.ig.get('baseline_label', 'not recorded')}) to this state; the bars add up to "
                   f"Q(now) − Q(baseline) within {_fmt(abs(delta_t) if delta_t is not None else None, 2)}.")
    else:
        caption = "Saliency: |dQ/d feature| of the chosen action at this state (the same as Captum's Saliency)."
    sal = N.saliency_figure(values, features, method_name, label, step=attr.step, height=ANALYSIS_HEIGHT)
    corr = N.feature_action_correlation(attr.recent_obs, attr.recent_actions, n_actions) \
        if attr.recent_obs.ndim == 2 and attr.recent_obs.shape[0] == attr.recent_actions.size else np.zeros((0, 0))
    corr_fig = N.correlation_figure(corr, features, actions, int(attr.recent_actions.size), height=ANALYSIS_HEIGHT)
    f = _index(feature, n_features)
    if n_features and attr.response_values.ndim == 2 and f < attr.response_values.shape[0]:
        current = float(attr.input[f]) if f < attr.input.size else None
        resp = N.response_figure(attr.response_values[f], attr.response_q[f], actions, features[f], current,
                                 chosen=attr.action)
    else:
        resp = N.empty_figure("no features to sweep", height=320)
    action_options = [{"label": "the network's choice", "value": CHOICE}] + [
        {"label": name, "value": str(i)} for i, name in enumerate(actions)]
    feature_options = [{"label": name, "value": str(i)} for i, name in enumerate(features)]
    return sal, caption, corr_fig, resp, action_options, feature_options
