"""The Network tab's graph: the canvas's scene, colours and highlight, sent only when they
changed, and the browser-side callbacks that draw them."""

from __future__ import annotations

import time

from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, no_update

from dashapp import read
from dashapp.figures import graph as G
from dashapp.tabs import network_picker as NP
from dashapp.tabs.network import view as V
from dashapp.tabs.network.view import ANALYSIS_REFRESH_S, EDGE_REFRESH_S, TAB_ID

PICKER = NP.picker_id(TAB_ID)  # "network-network": the network shown
update_network_choice = NP.register(TAB_ID, "network-poll")

# --------------------------------------------------------------------------- select, draw
# A click on the canvas sets "network-selection" in the browser (network_graph.js);
# the button clears it, also in the browser, and so does choosing another run or network
# (a selection names a column and an index: in another network they are another neuron).
clientside_callback(  # the button, another run or another network: nothing selected
    "function () { return null; }",
    Output("network-selection", "data"),
    Input("network-clear", "n_clicks"),
    Input("app-run", "data"),
    Input(PICKER, "value"),
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
def analysis_due(analysis_view, versions: dict, now: float) -> bool:
    """True when the analysis charts show an older attribution than the newest and their
    last redraw is ANALYSIS_REFRESH_S old: the graph's poll then wakes them (the trailing
    edge of their throttle -- without it a run paused just after a skipped redraw would
    keep showing an older decision than the graph and the inspector). Not while the charts
    explain why there is nothing to show for this network (``idle``: a newer attribution
    would not change that)."""
    newest = versions.get("attribution")
    drawn = analysis_view if isinstance(analysis_view, dict) else {}
    if newest is None or drawn.get("idle"):
        return False
    return drawn.get("step") != newest and now - drawn.get("at", 0) >= ANALYSIS_REFRESH_S


@callback(
    Output("network-scene", "data"),
    Output("network-values", "data"),
    Output("network-scene-key", "data"),
    Output("network-k", "value"),
    Output("network-view", "data"),
    Output("network-graph-note", "children"),
    Input("network-poll", "n_intervals"),
    Input("network-k", "value"),
    State("app-tabs", "active_tab"),
    State("app-run", "data"),
    State("network-view", "data"),
    State("network-analysis-view", "data"),
    Input(PICKER, "value"),
)
def update_graph(_n, k, active_tab, run, view, analysis_view=None, network=None):
    """Send the scene once, then only what changed (see the module docstring); the graph's
    note with the scene (it names the chosen network's outputs)."""
    nothing = (no_update,) * 6
    if active_tab != TAB_ID:
        return nothing
    view = view if isinstance(view, dict) else {}
    if not run:
        if view == {"run": None}:
            return nothing
        return V.message("Choose a run above."), None, None, no_update, {"run": None}, no_update
    k = int(k or G.DEFAULT_K)
    try:
        with read.session(run) as s:  # one store session: the markers, then what they say is new
            network = NP.shown_network(s, network)
            same_run = view.get("run") == run and view.get("network") == network and view.get("drawn")
            versions = read.network.versions(s, network).as_dict()
            now = time.time()
            due = analysis_due(analysis_view, versions, now)
            if (
                same_run
                and view.get("k") == k
                and versions == view.get("versions")
                and not due
                and versions["weights"] == view.get("edge_weights")
            ):
                return nothing  # nothing new: paused, or between two probe samples
            weights_moved = (
                versions["weights"] != view.get("edge_weights") and now - view.get("edges_at", 0) >= EDGE_REFRESH_S
            )
            need_scene = not same_run or k != view.get("k") or weights_moved
            # a colour update needs the current outputs only: the weights (megabytes for a
            # 3x512 network) are decoded only when the edges are drawn again
            net = read.network.snapshot(s, network, weights=need_scene, histories=False)
            if net is not None and not need_scene and view.get("shape") != net.shape_key():
                need_scene = True  # the network changed shape (e.g. a new run in the same folder)
                net = read.network.snapshot(s, network, histories=False)
    except read.BrokenRun as exc:
        return V.message(f"This run cannot be read: {exc}"), None, None, no_update, None, no_update
    if net is None:
        waiting = {"run": run, "network": network, "drawn": False}
        if view == waiting:
            return nothing
        message = V.message("Waiting for the worker's first sample of the network...")
        return message, None, None, no_update, waiting, no_update
    new_view = {
        "run": run,
        "network": network,
        "drawn": True,
        "versions": versions,
        "k": k,
        "shape": net.shape_key(),
        "sample": [net.step, versions["activations"]],
        "edges_at": view.get("edges_at", now),
        "edge_weights": view.get("edge_weights"),
    }
    if due:
        new_view["analysis_due"] = now  # a changed view is what wakes the analysis charts
    new_k = no_update
    if not same_run or view.get("shape") != new_view["shape"]:
        k = G.default_k(net.sizes)  # a new run or network: k chosen for the network's width
        new_k = k if k != new_view["k"] else no_update
        new_view.update(k=k)
        view = {}
    scene = scene_key = note = no_update
    if need_scene:
        scene = V.wire(G.graph_scene(net, k))
        scene_key = {"run": run, "network": network, "at": now}  # wakes the highlight: the selected neuron again
        new_view.update(edges_at=now, edge_weights=versions["weights"])
        note = V.graph_note(G.network_outputs(net))
    values = V.wire(G.graph_values(net)) if view.get("sample") != new_view["sample"] else no_update
    return scene, values, scene_key, new_k, new_view, note


@callback(
    Output("network-highlight", "data"),
    Input("network-selection", "data"),
    Input("network-scene-key", "data"),
    State("app-run", "data"),
    prevent_initial_call=True,
)
def update_highlight(selection, scene_key, run):
    """The selected neuron's own strongest weights, drawn over the graph: again when the
    selection changes or the edges were drawn from new weights."""
    if not run or not isinstance(selection, dict) or selection.get("kind") != "neuron":
        return None
    column = selection.get("column")
    if not isinstance(column, int) or isinstance(column, bool):
        return None
    try:  # the weights into and out of the neuron's column only
        with read.session(run) as s:
            network = scene_key.get("network") if isinstance(scene_key, dict) else None  # the network drawn
            net = read.network.snapshot(s, network, weights={column, column + 1}, histories=False)
    except read.BrokenRun:
        return None
    return V.wire(G.graph_highlight(net, selection)) if net is not None else None
