"""The layer picker the Activations and Weights tabs share: a dropdown of the chosen
network's layers that keeps the user's choice, looked at again only now and then (the
network picker, :mod:`dashapp.tabs.network_picker`, keeps its choice the same way)."""

from __future__ import annotations

from dash import dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp import read
from dashapp.figures.layers import layer_names

#: Polls between looks at which layers a run has (they hardly ever change).
LAYER_CHECK_TICKS = 10


def labelled_picker(label: str, dropdown_id: str, store_id: str, **div) -> html.Div:
    """A dropdown ``dropdown_id`` (empty until a callback fills it) with its ``label``, and
    the store ``store_id`` holding what its options were read for; ``div``: the row's own
    properties (an id, a style)."""
    return html.Div(
        [
            html.Label(label, htmlFor=dropdown_id, className="me-2"),
            dcc.Dropdown(
                id=dropdown_id,
                options=[],
                value=None,
                clearable=False,
                searchable=False,
                placeholder=f"Choose a {label.lower()}...",
                style={"minWidth": "12rem"},
            ),
            dcc.Store(id=store_id),
        ],
        className="d-flex align-items-center mb-2",
        **div,
    )


def layer_picker(tab_id: str):
    """The layer picker of a probe tab: "<tab_id>-layer" (a dropdown filled by
    :func:`layer_choice`) with its label, and the "<tab_id>-layer-run" store holding the
    run whose layers it lists."""
    return labelled_picker("Layer", f"{tab_id}-layer", f"{tab_id}-layer-run")


def listed_view(run: str | None, network: str | None) -> object:
    """What a picker's options were read for, kept in its store: the run, and the network
    when one was chosen (None: the one the run shows first)."""
    return run if network is None else [run, network]


def still_listed(n: int | None, listed: object, view: object, current, current_options: list | None) -> bool:
    """True while the options were read for ``view`` and hold the choice ``current`` and
    this poll is not one of every ``LAYER_CHECK_TICKS`` that looks again."""
    return bool(
        listed == view
        and current
        and any(o.get("value") == current for o in current_options or [])
        and (n or 0) % LAYER_CHECK_TICKS
    )


def kept_choice(names: list[str], current, current_options: list | None, listed: object, view: object) -> tuple:
    """``(options, value, listed)`` for a picker of ``names``: the choice kept while it
    exists, else the first name; ``no_update`` where nothing changed."""
    options = [{"label": name, "value": name} for name in names]
    value = current if current in names else (names[0] if names else None)
    return (
        (no_update if options == current_options else options),
        (no_update if value == current else value),
        (no_update if listed == view else view),
    )


def layer_choice(
    n: int | None,
    tab_id: str,
    active_tab: str | None,
    run: str | None,
    series: str,
    current: str | None,
    current_options: list | None,
    listed_run: object = None,
    network: str | None = None,
) -> tuple:
    """The layer picker of a probe tab: ``(options, value, listed view)`` from the newest
    record of ``network``'s ``series``, keeping the user's choice while it still exists.
    ``listed_run`` is what the current options were read for (:func:`listed_view`, kept
    in a store by the tab).

    A hidden tab reads nothing (``PreventUpdate``: HTTP 204). While the options belong to
    ``run`` and ``network`` and hold the choice, the layers are looked at again only every
    ``LAYER_CHECK_TICKS`` polls; a run chosen while the tab was hidden is seen on the
    first poll after it is shown, another network at once.
    """
    if active_tab != tab_id:
        raise PreventUpdate
    if not run:
        return [], None, None
    view = listed_view(run, network)
    if still_listed(n, listed_run, view, current, current_options):
        raise PreventUpdate
    try:
        with read.session(run) as s:
            latest = read.probe.latest_probe_record(s, series, network)
    except read.BrokenRun:
        return [], None, view
    return kept_choice(layer_names([latest] if latest else []), current, current_options, listed_run, view)
