"""The Network tab's inspector: one neuron or one layer up close, kept live while training
runs and still while it is paused."""

from __future__ import annotations

from html import unescape as html_unescape

import dash_bootstrap_components as dbc
import numpy as np
from dash import Input, Output, State, callback, html, no_update

from dashapp import read
from dashapp.figures import graph as G
from dashapp.figures import inspector as I
from dashapp.figures import svg as SVG
from dashapp.figures.common import fmt, percent
from dashapp.read.network import AttributionView, NetworkData
from dashapp.tabs import network_picker as NP
from dashapp.tabs.network import view as V
from dashapp.tabs.network.graph import PICKER
from dashapp.tabs.network.view import COLLAPSED, EXPLAIN, HIDDEN, OUTPUT_HISTORY, SHOWN, TAB_ID
from rl import telemetry as T

# --------------------------------------------------------------------------- inspector
_INSPECTOR_OUTPUTS = 7


def _chart(svg: str) -> html.Img:
    """One SVG chart as an image; its title (the SVG's own <title>) is its alt text."""
    alt = svg[svg.index("<title>") + 7 : svg.index("</title>")] if "<title>" in svg else "chart"
    return html.Img(src=SVG.data_uri(svg), alt=html_unescape(alt), className="inspector-chart")


def _inspector(title="", facts="", charts=(), note="") -> tuple:
    """The inspector's outputs (all but its view): the hint when nothing is shown."""
    if not title:
        return SHOWN, COLLAPSED, "", "", [], ""
    return HIDDEN, "", title, facts, [_chart(svg) for svg in charts], note


def neuron_view(
    net: NetworkData,
    attr: AttributionView | None,
    column: int,
    index: int,
    q_history=None,
    why: str = "waiting for the worker's first attribution sample",
    shown_first: bool = True,
    activations=None,
) -> tuple:
    """(title, facts, [history, contribution, incoming, outgoing]) for one node. ``attr``
    is the attribution of this network (None: ``why`` says, as a small chart, why there is
    none); ``q_history`` an output's Q-values as the step records hold them -- those of the
    network the run shows first (``shown_first``), when it is a Q-network; ``activations``
    the probe's newest activation record, whose judgement of the neuron is shown."""
    stats = I.neuron_stats(net, column, index, activations)
    words = G.network_outputs(net)
    kind = net.kinds[column]
    actions = net.labels(len(net.values) - 1)
    w_in = net.weights[column] if column > 0 and _fits(net, column) else None
    w_out = net.weights[column + 1] if column + 1 < len(net.values) and _fits(net, column + 1) else None
    incoming = w_in[index] if w_in is not None else None
    outgoing = w_out[:, index] if w_out is not None else None
    to_actions = actions if column + 1 == len(net.values) - 1 else None
    attr_note = f" (attribution at step {attr.step:,})" if attr is not None else ""
    if kind == "input":
        name = stats["label"]
        history = (
            attr.recent_obs[:, index]
            if attr is not None and attr.recent_obs.ndim == 2 and index < attr.recent_obs.shape[1]
            else None
        )
        sens = attr.saliency[:, index] if attr is not None and index < attr.saliency.shape[1] else None
        title = f"Input feature “{name}”"
        facts = V.facts(
            [("value now", fmt(stats["current"])), ("recent states", "–" if history is None else f"{len(history)}")]
        )
        return (
            title,
            facts,
            [
                I.sparkline_chart(history, f"{name} over the last recent states", "value"),
                SVG.message_chart(f"how sensitive each {words.value} is", why)
                if sens is None
                else SVG.bar_chart(
                    sens, actions, f"how sensitive each {words.value} is to {name}{attr_note}", f"|{words.d}/dx|"
                ),
                SVG.message_chart("incoming weights", "an input has no incoming weights: it is the game's state"),
                I.outgoing_chart(outgoing, to_actions),
            ],
        )
    if kind == "output":
        name = stats["label"]
        contrib = None
        if attr is not None:
            last_hidden = next((net.names[c] for c in range(len(net.values) - 2, 0, -1)), None)
            contrib = attr.contributions.get(last_hidden) if last_hidden else None
        rows = [(f"{words.value} now", fmt(stats["current"]))]
        if words.pick:
            rows.append((f"the network's {words.pick}", "yes" if net.action == index else "no"))
        if contrib is not None and index < contrib.shape[0]:
            row = contrib[index]
            top = np.argsort(-np.abs(np.nan_to_num(row)), kind="stable")[:12]
            contrib_fig = SVG.bar_chart(
                row[top],
                [f"#{j}" for j in top],
                f"neurons of {net.names[-2]} pushing this {words.value} most{attr_note}",
                "contribution",
            )
        else:
            contrib_fig = SVG.message_chart(f"neurons pushing this {words.value} most", why)
        return (
            _output_title(words, name),
            V.facts(rows),
            [
                SVG.line_chart(
                    q_history,
                    f"Q({name}) over recent recorded steps",
                    "Q-value",
                    xlabel="records ago",
                    empty="no Q-values recorded yet",
                )
                if shown_first and words.kind == "q"
                else SVG.message_chart(f"{name} over recent steps", "the run records no history of these outputs"),
                contrib_fig,
                I.histogram_chart(incoming, "incoming weights"),
                SVG.message_chart("outgoing", words.use),
            ],
        )
    # a hidden neuron
    contrib = attr.contributions.get(net.names[column]) if attr is not None else None
    contrib = contrib[:, index] if contrib is not None and index < contrib.shape[1] else None
    status = {"dead": "danger", "saturated": "warning", "active": "success"}.get(stats["status"], "secondary")
    title = f"{net.names[column]} · neuron #{index} of {net.sizes[column]} ({stats['activation']})"
    facts = html.Div(
        [
            V.facts(
                [
                    ("output now", f"{fmt(stats['current'])} (step {net.step:,})"),
                    (
                        f"last {stats['samples']} samples",
                        f"mean {fmt(stats['mean'])}, min {fmt(stats['min'])}, max {fmt(stats['max'])}",
                    ),
                ]
            ),
            html.Div(
                [
                    dbc.Badge(stats["status"], color=status, className="me-2", id="network-neuron-status"),
                    html.Span(stats["why"]),
                ],
                className="mt-1",
            ),
        ]
    )
    history = net.history(column)
    own = np.asarray(history)[:, index] if history is not None and np.ndim(history) == 2 else None
    return (
        title,
        facts,
        [
            I.sparkline_chart(own, "activation over the last samples"),
            I.contribution_chart(
                contrib,
                actions,
                attr.action if attr is not None else None,
                attr.step if attr is not None else None,
                attr.method if attr is not None else "gradient x activation",
                value=words.value,
                empty=why,
            ),
            I.histogram_chart(incoming, "incoming weights"),
            I.outgoing_chart(outgoing, to_actions),
        ],
    )


def _output_title(words, name: str) -> str:
    """The inspector's title for output ``name`` (DQN: "Action “LEFT”: its Q-value")."""
    if words.kind == "q" and not words.takes_action:
        return f"Action “{name}”: its Q-value"
    return f"Output “{name}”" + (f": the {words.value}" if words.kind == "q" else f" of the {words.column}")


def _fits(net: NetworkData, column: int) -> bool:
    w = net.weights[column] if column < len(net.weights) else None
    return w is not None and np.shape(w) == (net.sizes[column], net.sizes[column - 1])


def layer_view(net: NetworkData, column: int, activations=None) -> tuple:
    """(title, facts, [weight histogram, activation histogram]) for one column;
    ``activations`` is the probe's newest activation record (its dead and saturated counts)."""
    s = I.layer_stats(net, column, activations)
    w = s["weights"]
    kind = s["kind"]
    title = {"input": "The input layer", "output": f"The output layer ({G.network_outputs(net).column})"}.get(
        kind, f"Layer {s['name']} ({s['activation']})"
    )
    rows = [
        ("neurons", f"{s['size']}"),
        (
            "average |activation|",
            fmt(s["mean_abs_activation"]) + (f" over the last {s['samples']} samples" if s["samples"] else " now"),
        ),
    ]
    if kind == "hidden" and not s["judged"]:
        rows += [("dead", s["not_judged"]), ("saturation rate", "–")]
    elif kind == "hidden":
        dead = f"{s['dead']} ({percent(s['dead_share'])}) over the last {s['judged_window']} samples"
        if s["saturation_rate"] is not None:
            sat = f"{percent(s['saturation_rate'])} ({s['saturated']} neurons)"
        else:
            sat = "not applicable: ReLU has no upper limit to get stuck at" + (
                f"; {s['always_active']} never switch off" if s["always_active"] is not None else ""
            )
        rows += [("dead", dead), ("saturation rate", sat)]
    if w["count"]:
        rows += [
            ("weights (incoming)", f"{w['count']:,}"),
            ("weight mean ± std", f"{fmt(w['mean'])} ± {fmt(w['std'])}"),
            ("weight min … max", f"{fmt(w['min'])} … {fmt(w['max'])}"),
        ]
    weights = net.weights[column] if column < len(net.weights) else None
    return (
        title,
        V.facts(rows),
        [
            I.histogram_chart(weights, "incoming weights of the layer")
            if weights is not None
            else SVG.message_chart("incoming weights", "the input layer has no incoming weights"),
            I.histogram_chart(net.values[column], "outputs of its neurons now", "output"),
        ],
    )


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
    Input(PICKER, "value"),
)
def update_inspector(_n, selection, active_tab, run, view, network=None):
    """The neuron or layer inspector for the selection in the chosen network, kept live
    while training runs."""
    if active_tab != TAB_ID:
        return (no_update,) * _INSPECTOR_OUTPUTS
    if not run or not isinstance(selection, dict):
        if view is None:  # the hint is already showing
            return (no_update,) * _INSPECTOR_OUTPUTS
        return (*_inspector(), None)
    key_sel = V.selection_key(selection)
    try:
        with read.session(run) as s:  # one store session: the markers, then what they say is new
            network = NP.shown_network(s, network)
            versions = read.network.versions(s, network).as_dict()
            if (
                isinstance(view, dict)
                and view.get("run") == run
                and view.get("network") == network
                and view.get("selection") == key_sel
                and versions == view.get("versions")
            ):
                return (no_update,) * _INSPECTOR_OUTPUTS  # nothing new (e.g. paused): nothing sent
            column = selection.get("column")
            column = column if isinstance(column, int) and not isinstance(column, bool) else -1
            # the selected column's weights (in and out) and history only: each is megabytes in a 3x512 network
            net = read.network.snapshot(
                s, network, weights={column, column + 1}, histories=column if column >= 0 else False
            )
            attributed = V.attribution_for(read.network.attribution(s), network, s.meta())
            activations = read.probe.latest_probe_record(s, T.ACTIVATIONS, network)  # the probe's judgement
            sel = G.valid_selection(net, selection) if net is not None else None
            q_history = None
            shown_first = network == s.network()  # the step records hold the Q-values of the network shown first
            if (
                shown_first
                and net is not None
                and sel is not None
                and sel["kind"] == "neuron"
                and net.kinds[sel["column"]] == "output"
            ):
                q_history = read.steps.q_history(s, sel["index"], OUTPUT_HISTORY)
    except read.BrokenRun as exc:
        return (*_inspector(f"This run cannot be read: {exc}"), None)
    if net is None or sel is None:  # e.g. the network has not been sampled yet, or changed shape
        return (*_inspector(), None) if view is not None else (no_update,) * _INSPECTOR_OUTPUTS
    new_view = {"run": run, "network": network, "versions": versions, "selection": key_sel}
    if sel["kind"] == "neuron":
        title, facts, charts = neuron_view(
            net, attributed.attr, sel["column"], sel["index"], q_history, attributed.short, shown_first, activations
        )
        note = V.neuron_note(G.network_outputs(net), hidden=net.kinds[sel["column"]] == "hidden")
    else:
        title, facts, charts = layer_view(net, sel["column"], activations)
        note = EXPLAIN["layer"]
    return (*_inspector(title, facts, charts, note), new_view)
