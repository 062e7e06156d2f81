"""The Network tab's page: its layout, the notes a student reads under each panel, and the
small helpers its callbacks share (see the package docstring for how the tab works)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.components import panel
from dashapp.figures import graph as G
from dashapp.figures.common import GRAPH_CONFIG, empty_figure
from dashapp.figures.outputs import Outputs, outputs_of
from dashapp.read.network import AttributionView
from dashapp.tabs import network_picker as NP
from health import thresholds as TH
from rl import telemetry as T

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


def graph_note(words: Outputs) -> str:
    """What a student reads under the graph, for a network with outputs ``words``."""
    dueling = (
        " (In a dueling network the lines into the Q-values are the advantage head's weights; "
        "the value head adds the same amount to every action.)"
        if words.kind == "q" and not words.takes_action
        else ""
    )
    return (
        "Each circle is a neuron and each column a layer: the network's inputs (the game's features"
        + (" and the action" if words.takes_action else "")
        + f") on the left, the hidden layers in the middle, {words.graph}. "
        "A circle's colour is its output for the current game state (blue positive, red "
        "negative, pale near zero); a line is a weight (blue positive, red negative, "
        "thicker = stronger). Only each neuron's strongest connections are drawn. "
        "Click a circle to inspect that neuron, or a layer's name to inspect the layer." + dueling
    )


def neuron_note(words: Outputs, hidden: bool = False) -> str:
    """What a student reads under the neuron inspector (``hidden``: a hidden neuron, whose
    contribution chart is explained too)."""
    note = (
        "One neuron up close: what it has output over recent moments, the weights that "
        f"feed it and that it feeds, and how much it pushes each {words.value} up or down right now."
    )
    if not hidden:
        return note
    return (
        f"{note} Contribution = the neuron's output times how much the {words.value} would change "
        "if that output changed (gradient x activation). Positive bars mean this "
        "neuron pushes that output up right now."
    )


#: What a student reads under each panel (the graph's and the inspector's notes depend
#: on the network shown: :func:`graph_note`, :func:`neuron_note`).
EXPLAIN = {
    "graph": graph_note(outputs_of()),
    "neuron": neuron_note(outputs_of()),
    "contribution": neuron_note(outputs_of(), hidden=True),
    "layer": "A whole layer at a glance: how strongly its neurons fire, how many are dead (a ReLU "
    "that never fires; a leaky or smooth unit whose output does not change) or sit stuck at their "
    f"limit (saturated) over the last {TH.LIVE_DEAD_WINDOW} samples, and the spread of its weights.",
    "saliency": "Which input features the chosen action's Q-value (an actor's: its logit) is most "
    "sensitive to right now. Saliency is the size of the gradient: how much Q would move if a "
    "feature moved a tiny bit. Integrated gradients instead add the gradient up along the way "
    "from an ordinary (average) game state to this one, so the bars add up to how far "
    "this state's Q-value is from the average state's.",
    "correlation": "Over recent game states: when a feature is high, how much more (blue) or less "
    "(red) often does the network pick each action? +1/-1 is a perfect link, 0 none.",
    "response": "Pick a feature and slide it across the values it recently took, keeping "
    "everything else as it is now: the lines show what the network would think each "
    "action is worth (an actor: how much it favours each action). The dashed line marks "
    "the current value; where two lines cross, the network would change its mind.",
}

#: The analysis panels' attribution explains one Q-value per action: a continuous action has none.
NO_ATTRIBUTION = (
    "Continuous actions: the attribution explains one Q-value per action, which a continuous "
    "action does not have, so it is not available for this run."
)
WAITING_ATTRIBUTION = "Waiting for the worker's first attribution sample..."


@dataclass(frozen=True)
class Attributed:
    """The attribution of the network shown (``attr``), or None and why: ``why`` in one
    sentence (the analysis panels), ``short`` as a small chart says it (the inspector)."""

    attr: AttributionView | None
    why: str = ""
    short: str = ""


def attribution_for(attr: AttributionView | None, network: str, meta: T.RunMeta | None) -> Attributed:
    """The attribution, if it explains ``network``; else None and why."""
    if attr is None:
        if meta is not None and meta.action_space is not None and meta.action_space.kind == "box":
            return Attributed(None, NO_ATTRIBUTION, "continuous actions: no attribution for this run")
        return Attributed(None, WAITING_ATTRIBUTION, "waiting for the worker's first attribution sample")
    if attr.network != network:
        return Attributed(
            None,
            f"The attribution explains the {attr.network}'s outputs, not the {network}'s: choose {attr.network}.",
            f"the attribution explains the {attr.network}: choose it above",
        )
    return Attributed(attr)


def _graph(id_: str, message: str, height: int) -> dcc.Graph:
    return dcc.Graph(
        id=id_, figure=empty_figure(message, height=height), config=GRAPH_CONFIG, style={"height": f"{height}px"}
    )


def _network_graph() -> html.Div:
    """The canvas the graph is drawn on (by assets/network_graph.js), its hover box and
    the caption under it."""
    return html.Div(
        [
            html.Div(
                [
                    html.Canvas(
                        id="network-canvas",
                        role="img",
                        **{
                            "aria-label": "The network graph: neurons in columns from the inputs to the outputs, "
                            "coloured by their current output. Click a neuron or a layer's name to "
                            "inspect it; with the keyboard, the arrow keys move from neuron to "
                            "neuron."
                        },
                    ),
                    html.Div(className="network-tooltip", role="tooltip"),
                ],
                id="network-graph",
                className="network-graph",
                style={"height": f"{G.GRAPH_HEIGHT}px"},
            ),
            html.Div(id="network-graph-caption", className="small text-muted"),
        ]
    )


def _graph_panel(controls) -> dbc.Card:
    """The graph's panel: its note is the chosen network's (set with the scene)."""
    return panel(
        "The network, live",
        html.Div([controls, _network_graph()]),
        html.Span(EXPLAIN["graph"], id="network-graph-note"),
    )


def layout():
    controls = dbc.Row(
        [
            dbc.Col(
                html.Label("Connections drawn per neuron (k)", htmlFor="network-k", className="small mb-0"),
                width="auto",
            ),
            dbc.Col(
                dcc.Slider(
                    id="network-k",
                    min=1,
                    max=G.MAX_K,
                    step=1,
                    value=G.DEFAULT_K,
                    marks={1: "1", 3: "3", 8: "8", G.MAX_K: str(G.MAX_K)},
                ),
                md=5,
            ),
            dbc.Col(
                dbc.Button("Clear selection", id="network-clear", size="sm", color="secondary", outline=True),
                width="auto",
            ),
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
        id="network-inspector-body",
        className=COLLAPSED,
    )
    inspector = panel(
        "Inspector",
        html.Div(
            [
                html.P(
                    "Click a neuron in the network to see its story, or a layer's name (above its column) "
                    "for the whole layer.",
                    id="network-inspector-hint",
                    className="empty-note",
                ),
                body,
            ]
        ),
        "What you clicked, up close. It follows the training live and holds still while training is paused.",
        id="network-inspector",
    )
    saliency = panel(
        "Which inputs matter right now",
        html.Div(
            [
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.RadioItems(
                                id="network-method",
                                value="saliency",
                                inline=True,
                                options=[
                                    {"label": " saliency", "value": "saliency"},
                                    {"label": " integrated gradients", "value": "ig"},
                                ],
                            ),
                            md=7,
                        ),
                        dbc.Col(
                            dcc.Dropdown(
                                id="network-action",
                                value=CHOICE,
                                clearable=False,
                                searchable=False,
                                options=[{"label": "the network's choice", "value": CHOICE}],
                            ),
                            md=5,
                        ),
                    ],
                    className="g-2 mb-1",
                ),
                _graph("network-saliency", "Waiting for the worker's first attribution sample...", ANALYSIS_HEIGHT),
                html.Div(id="network-saliency-caption", className="small text-muted"),
            ]
        ),
        EXPLAIN["saliency"],
    )
    correlation = panel(
        "Which features go with which choices",
        _graph("network-correlation", "Waiting for recent game states...", ANALYSIS_HEIGHT),
        EXPLAIN["correlation"],
    )
    response = panel(
        "What if one feature were different?",
        html.Div(
            [
                dcc.Dropdown(
                    id="network-feature", value="0", clearable=False, searchable=False, options=[], className="mb-1"
                ),
                _graph("network-response", "Waiting for the worker's first attribution sample...", 320),
            ]
        ),
        EXPLAIN["response"],
    )
    return html.Div(
        [
            NP.network_picker(TAB_ID),
            dbc.Row(
                [
                    dbc.Col(_graph_panel(controls), lg=8, className="mb-3"),
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
def facts(rows: Sequence[tuple[str, object]]) -> html.Table:
    return html.Table(
        html.Tbody([html.Tr([html.Th(k, className="pe-2 fw-normal text-muted"), html.Td(v)]) for k, v in rows]),
        className="stat-table",
    )


def chosen_index(value, n: int) -> int | None:
    """A dropdown's value ("3") as an index below ``n``, else None (nothing chosen)."""
    try:
        i = int(value)
    except (TypeError, ValueError):
        return None
    return i if 0 <= i < n else None


def index_of(value, n: int, default: int = 0) -> int:
    """A dropdown's value ("3") as an index below ``n``, else ``default``."""
    i = chosen_index(value, n)
    return default if i is None else i


def selection_key(selection) -> list | None:
    if not isinstance(selection, dict):
        return None
    return [selection.get("kind"), selection.get("column"), selection.get("index")]


def wire(value) -> str | None:
    """What the canvas is sent, as JSON text: Dash passes a string through as it is,
    where a nested object of thousands of numbers costs its renderer tens of
    milliseconds to store and compare on every update."""
    return None if value is None else _json(value)


def message(text: str) -> str:
    """A scene that is just a sentence (drawn in the middle of the canvas)."""
    return _json({"message": text})


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
