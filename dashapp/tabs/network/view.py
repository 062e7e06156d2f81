"""The Network tab's page: its layout, the notes a student reads under each panel, and the
small helpers its callbacks share (see the package docstring for how the tab works)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.components import panel
from dashapp.figures import graph as G
from dashapp.figures.common import GRAPH_CONFIG, empty_figure

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


#: What a student reads under each panel.
EXPLAIN = {
    "graph": "Each circle is a neuron and each column a layer: the game's input features on "
    "the left, the hidden layers in the middle, one Q-value per action on the right. "
    "A circle's colour is its output for the current game state (blue positive, red "
    "negative, pale near zero); a line is a weight (blue positive, red negative, "
    "thicker = stronger). Only each neuron's strongest connections are drawn. "
    "Click a circle to inspect that neuron, or a layer's name to inspect the layer. "
    "(In a dueling network the lines into the Q-values are the advantage head's weights; "
    "the value head adds the same amount to every action.)",
    "neuron": "One neuron up close: what it has output over recent moments, the weights that "
    "feed it and that it feeds, and how much it pushes each action's Q-value up or "
    "down right now.",
    "contribution": "Contribution = the neuron's output times how much the Q-value would change "
    "if that output changed (gradient x activation). Positive bars mean this "
    "neuron is arguing for that action right now.",
    "layer": "A whole layer at a glance: how strongly its neurons fire, how many never fire "
    "(dead) or sit stuck at their limit (saturated), and the spread of its weights.",
    "saliency": "Which input features the chosen action's Q-value is most sensitive to right now. "
    "Saliency is the size of the gradient: how much Q would move if a feature moved "
    "a tiny bit. Integrated gradients instead add the gradient up along the way from "
    "an ordinary (average) game state to this one, so the bars add up to how far "
    "this state's Q-value is from the average state's.",
    "correlation": "Over recent game states: when a feature is high, how much more (blue) or less "
    "(red) often does the network pick each action? +1/-1 is a perfect link, 0 none.",
    "response": "Pick a feature and slide it across the values it recently took, keeping "
    "everything else as it is now: the lines show what the network would think each "
    "action is worth. The dashed line marks the current value; where two lines "
    "cross, the network would change its mind.",
}


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
                            "aria-label": "The network graph: neurons in columns from the inputs to the Q-values, "
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
            dbc.Row(
                [
                    dbc.Col(
                        panel("The network, live", html.Div([controls, _network_graph()]), EXPLAIN["graph"]),
                        lg=8,
                        className="mb-3",
                    ),
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
