"""The Network tab's analysis panels: saliency or integrated gradients, the feature/action
correlation and the feature-response curves, from the newest attribution record -- when
it explains the network shown (the graph's view names it); else one sentence saying why
there is nothing to show (:func:`dashapp.tabs.network.view.attribution_for`)."""

from __future__ import annotations

import time

import numpy as np
from dash import Input, Output, State, callback, no_update

from dashapp import read
from dashapp.figures import analysis as A
from dashapp.figures.common import empty_figure, fmt
from dashapp.figures.outputs import outputs_of
from dashapp.read.network import AttributionView
from dashapp.tabs import network_picker as NP
from dashapp.tabs.network import view as V
from dashapp.tabs.network.view import ANALYSIS_HEIGHT, ANALYSIS_REFRESH_S, CHOICE, METHODS, TAB_ID
from rl.telemetry import action_label, action_labels, feature_labels


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
    """Saliency / integrated gradients, the correlation heatmap and the response curves of
    the network the graph shows."""
    if active_tab != TAB_ID:
        return (no_update,) * 8
    if not run:
        if view == {"run": None}:
            return (no_update,) * 8
        return _explained("Choose a run above.", {"run": None})
    graph_view = graph_view if isinstance(graph_view, dict) else {}
    network, newest = graph_view.get("network"), graph_view.get("versions", {}).get("attribution")
    if isinstance(view, dict) and view.get("idle") and [view.get("run"), view.get("network")] == [run, network]:
        return (no_update,) * 8  # explains why this network has no attribution: a newer one changes nothing
    if newest is not None and _analysis_unchanged(view, run, network, newest, method, action, feature):
        return (no_update,) * 8  # decided from the graph's change markers, before reading the record
    try:
        with read.session(run) as s:
            shown = NP.shown_network(s, network)
            attributed = V.attribution_for(read.network.attribution(s), shown, s.meta())
    except read.BrokenRun as exc:
        return _explained(f"This run cannot be read: {exc}", None)
    attr, why = attributed.attr, attributed.why
    if attr is None:
        waiting = {"run": run, "network": network, "step": None}
        if why != V.WAITING_ATTRIBUTION:  # another network's, or none for this run: say so, once
            return _explained(why, {**waiting, "idle": True})
        if view == waiting:
            return (no_update,) * 8
        return _explained(why, waiting, "Waiting for recent game states...")
    if _analysis_unchanged(view, run, network, attr.step, method, action, feature):
        return (no_update,) * 8
    key = {"run": run, "network": network, "step": attr.step, "method": method, "action": action, "feature": feature}
    figures = analysis_figures(attr, method, action, feature)
    # a dropdown drops a value its (still empty) options do not hold: set it once they exist
    n_features = len(figures[5])
    value = no_update if V.chosen_index(feature, n_features) is not None or not n_features else "0"
    return (*figures, value, {**key, "at": time.time()})


def _explained(message: str, view: dict | None, correlation: str | None = None) -> tuple:
    """The panels' outputs when there is nothing to analyse: ``message`` on each chart."""
    return (
        empty_figure(message, height=ANALYSIS_HEIGHT),
        "",
        empty_figure(correlation or message, height=ANALYSIS_HEIGHT),
        empty_figure(message, height=320),
        no_update,
        no_update,
        no_update,
        view,
    )


def _analysis_unchanged(view, run, network, step: int, method, action, feature) -> bool:
    """True when the charts already show these choices for ``network`` and either
    attribution ``step`` or one drawn less than ANALYSIS_REFRESH_S ago (a new attribution
    waits that long)."""
    shown = [view.get(k) for k in ("run", "network", "method", "action", "feature")] if isinstance(view, dict) else []
    if shown != [run, network, method, action, feature]:
        return False
    return view.get("step") == step or time.time() - view.get("at", 0) < ANALYSIS_REFRESH_S


def analysis_figures(attr: AttributionView, method: str, action, feature) -> tuple:
    """(saliency figure, caption, correlation figure, response figure, action options,
    feature options) from one attribution record -- pure."""
    n_actions, n_features = attr.saliency.shape if attr.saliency.ndim == 2 else (0, 0)
    features, actions = feature_labels(attr.feature_names, n_features), action_labels(attr.action_names, n_actions)
    words = outputs_of(attr.action_names, attr.feature_names)  # Q-values, or an actor's logits
    chosen = V.chosen_index(action, n_actions)
    target = V.index_of(attr.action, n_actions) if chosen is None else chosen  # a record's action is checked too
    label = actions[target] if target < len(actions) else action_label(target)
    if chosen is None:
        label = f"{label} (its choice)"
    method_name = METHODS.get(method, "saliency")
    per_action = attr.integrated_gradients if method == "ig" else attr.saliency
    values = per_action[target] if target < per_action.shape[0] else None
    caption = ""
    if method == "ig":
        delta = attr.ig.delta
        delta_t = delta[target] if target < len(delta) else None
        caption = (
            f"Integrated gradients: {attr.ig.steps}-point Gauss-Legendre path from the baseline "
            f"({attr.ig.baseline_label}) to this state; the bars add up to "
            f"{words.symbol}(now) − {words.symbol}(baseline) within "
            f"{fmt(abs(delta_t) if delta_t is not None else None)}."
        )
    else:
        caption = f"Saliency: |{words.d}/d feature| of the chosen action at this state (the same as Captum's Saliency)."
    sal = A.saliency_figure(
        values, features, method_name, label, step=attr.step, height=ANALYSIS_HEIGHT, symbol=words.symbol
    )
    corr = (
        A.feature_action_correlation(attr.recent_obs, attr.recent_actions, n_actions)
        if attr.recent_obs.ndim == 2 and attr.recent_obs.shape[0] == attr.recent_actions.size
        else np.zeros((0, 0))
    )
    corr_fig = A.correlation_figure(corr, features, actions, int(attr.recent_actions.size), height=ANALYSIS_HEIGHT)
    f = V.index_of(feature, n_features)
    if n_features and attr.response_values.ndim == 2 and f < attr.response_values.shape[0]:
        current = float(attr.input[f]) if f < attr.input.size else None
        resp = A.response_figure(
            attr.response_values[f],
            attr.response_q[f],
            actions,
            features[f],
            current,
            chosen=attr.action,
            value=words.value,
            symbol=words.symbol,
        )
    else:
        resp = empty_figure("no features to sweep", height=320)
    action_options = [{"label": "the network's choice", "value": CHOICE}] + [
        {"label": name, "value": str(i)} for i, name in enumerate(actions)
    ]
    feature_options = [{"label": name, "value": str(i)} for i, name in enumerate(features)]
    return sal, caption, corr_fig, resp, action_options, feature_options
