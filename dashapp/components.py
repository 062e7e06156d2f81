"""Small layout helpers every tab uses, so panels look and read the same everywhere."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from dashapp.figures.common import GRAPH_CONFIG, empty_figure


def panel(title: str, body, note: str | Component, *, id: str | None = None, class_name: str = "") -> dbc.Card:
    """A titled card with ``body`` and, under it, ``note``: one or two plain sentences
    telling a student what the panel shows and how to read it (a component, e.g. a
    ``html.Span`` with an id, when a callback rewrites it)."""
    kwargs = {"id": id} if id else {}
    return dbc.Card(
        [
            dbc.CardHeader(html.H2(title, className="panel-title")),
            dbc.CardBody([body, html.P(note, className="panel-note")]),
        ],
        className=f"panel {class_name}".strip(),
        **kwargs,
    )


def graph(id: str, message: str = "Waiting for data...", height: int = 320) -> dcc.Graph:
    """A ``dcc.Graph`` that starts as a labelled empty figure (never a blank box)."""
    return dcc.Graph(
        id=id, figure=empty_figure(message, height=height), config=GRAPH_CONFIG, style={"height": f"{height}px"}
    )
