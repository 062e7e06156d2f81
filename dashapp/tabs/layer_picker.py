"""The layer picker the Activations and Weights tabs share: a dropdown of the run's layers
that keeps the user's choice, looked at again only now and then."""

from __future__ import annotations

from dash import dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp import read
from dashapp.figures.layers import layer_names

#: Polls between looks at which layers a run has (they hardly ever change).
LAYER_CHECK_TICKS = 10


def layer_picker(tab_id: str):
    """The layer picker of a probe tab: "<tab_id>-layer" (a dropdown filled by
    :func:`layer_choice`) with its label, and the "<tab_id>-layer-run" store holding the
    run whose layers it lists."""
    return html.Div(
        [
            html.Label("Layer", htmlFor=f"{tab_id}-layer", className="me-2"),
            dcc.Dropdown(
                id=f"{tab_id}-layer",
                options=[],
                value=None,
                clearable=False,
                searchable=False,
                placeholder="Choose a layer...",
                style={"minWidth": "12rem"},
            ),
            dcc.Store(id=f"{tab_id}-layer-run"),
        ],
        className="d-flex align-items-center mb-2",
    )


def layer_choice(
    n: int | None,
    tab_id: str,
    active_tab: str | None,
    run: str | None,
    series: str,
    current: str | None,
    current_options: list | None,
    listed_run: str | None = None,
) -> tuple:
    """The layer picker of a probe tab: ``(options, value, listed run)`` from the newest
    record of ``series``, keeping the user's choice while it still exists. ``listed_run``
    is the run the current options were read from (kept in a store by the tab).

    A hidden tab reads nothing (``PreventUpdate``: HTTP 204). While the options belong to
    ``run`` and hold the choice, the layers are looked at again only every
    ``LAYER_CHECK_TICKS`` polls; a run chosen while the tab was hidden is seen on the
    first poll after it is shown.
    """
    if active_tab != tab_id:
        raise PreventUpdate
    if not run:
        return [], None, None
    if (
        listed_run == run
        and current
        and any(o.get("value") == current for o in current_options or [])
        and (n or 0) % LAYER_CHECK_TICKS
    ):
        raise PreventUpdate
    try:
        with read.session(run) as s:
            latest = read.probe.latest_probe_record(s, series)
    except read.BrokenRun:
        return [], None, run
    names = layer_names([latest] if latest else [])
    options = [{"label": name, "value": name} for name in names]
    value = current if current in names else (names[0] if names else None)
    return (
        (no_update if options == current_options else options),
        (no_update if value == current else value),
        (no_update if listed_run == run else run),
    )
