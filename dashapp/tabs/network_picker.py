"""The network picker the Network, Activations, Gradients and Weights tabs share: a
dropdown of the networks the probe watches in the run (SAC: "actor", "critic_1",
"critic_2"), the first watched one chosen by default, the user's choice kept while the
run has it. A run with one network to choose from shows no picker.

Each tab calls :func:`network_picker` in its layout and :func:`register` once; the tab's
callbacks take ``"<tab>-network".value`` and pass it to every read call (None until the
picker has answered: the network the run shows first) and into their views' keys, and
ask :func:`shown_network` which network that is. What a tab lists is its ``choices``: the
watched networks (:func:`watched_choices`: the Network, Activations and Gradients tabs --
a target network never acts and never runs a backward pass of its own, so it has no
activations or gradients), or those with weight samples (:func:`weight_choices`: the
Weights tab, which lists the target networks after them, e.g. SAC's "target_critic_1" or
a DQN's "target_network").
"""

from __future__ import annotations

from collections.abc import Callable

from dash import Input, Output, State, callback, html
from dash.exceptions import PreventUpdate

from dashapp import read
from dashapp.tabs import layer_picker as L
from rl import telemetry as T

HIDDEN = {"display": "none"}
SHOWN: dict = {}


def picker_id(tab_id: str) -> str:
    """The picker's dropdown, "<tab_id>-network"; its value is the chosen network's name."""
    return f"{tab_id}-network"


def network_picker(tab_id: str) -> html.Div:
    """The labelled dropdown "<tab_id>-network" (filled by :func:`network_choice`, hidden
    until the run has more than one network to choose from) and the "<tab_id>-network-run"
    store holding what its options were read for."""
    return L.labelled_picker(
        "Network", picker_id(tab_id), f"{tab_id}-network-run", id=f"{tab_id}-network-picker", style=HIDDEN
    )


def watched_networks(meta: T.RunMeta | None) -> list[str]:
    """The networks to choose from: the watched ones, the one shown first first."""
    return list(meta.watched) if meta is not None else []


#: What a tab's picker lists: the names of a run's networks to choose from, first first.
Choices = Callable[[read.Session], list[str]]


def watched_choices(s: read.Session) -> list[str]:
    """The watched networks (the Network, Activations and Gradients tabs)."""
    return watched_networks(s.meta())


def weight_choices(s: read.Session) -> list[str]:
    """The networks with weight samples: the watched ones, then the target networks (the
    Weights tab)."""
    return read.probe.weight_networks(s)


def shown_network(s: read.Session, network: str | None, choices: Choices = watched_choices) -> str:
    """The network a tab shows: the one chosen while it is among the tab's ``choices`` of
    the run, else the one the run shows first (nothing chosen yet, or a choice left over
    from another run)."""
    meta = s.meta()
    if not network or meta is None:
        return s.network()
    return network if network in meta.watched or network in choices(s) else s.network()


def picker_style(names: list[str]) -> dict:
    """Shown only when there is a choice to make."""
    return SHOWN if len(names) > 1 else HIDDEN


def network_choice(
    n: int | None,
    tab_id: str,
    active_tab: str | None,
    run: str | None,
    current: str | None,
    current_options: list | None,
    listed_run: object = None,
    choices: Choices = watched_choices,
) -> tuple:
    """The network picker of a tab: ``(options, value, listed run, style)`` from the run's
    ``choices``, keeping the user's choice while the run has that network.

    A hidden tab reads nothing (``PreventUpdate``: HTTP 204). While the options belong to
    ``run`` and hold the choice, the metadata is looked at again only every
    ``LAYER_CHECK_TICKS`` polls (as the layer picker does).
    """
    if active_tab != tab_id:
        raise PreventUpdate
    if not run:
        return [], None, None, HIDDEN
    if L.still_listed(n, listed_run, run, current, current_options):
        raise PreventUpdate
    try:
        with read.session(run) as s:
            names = choices(s)
    except read.BrokenRun:
        names = []
    return (*L.kept_choice(names, current, current_options, listed_run, run), picker_style(names))


def register(tab_id: str, poll: str, choices: Choices = watched_choices) -> Callable[..., tuple]:
    """Register the picker's callback for tab ``tab_id``, listing the run's ``choices``, and
    return it. It runs on the tab's ``poll`` only (the run is State: another run is seen on
    the next poll, and the tabs' callbacks show the run's first network until then), so
    the page's first load does not wait for it."""

    @callback(
        Output(picker_id(tab_id), "options"),
        Output(picker_id(tab_id), "value"),
        Output(f"{tab_id}-network-run", "data"),
        Output(f"{tab_id}-network-picker", "style"),
        Input(poll, "n_intervals"),
        State("app-tabs", "active_tab"),
        State("app-run", "data"),
        State(picker_id(tab_id), "value"),
        State(picker_id(tab_id), "options"),
        State(f"{tab_id}-network-run", "data"),
    )
    def update_network_choice(n, active_tab, run, current, current_options, listed_run=None):
        """The networks to choose from; keeps the choice."""
        return network_choice(n, tab_id, active_tab, run, current, current_options, listed_run, choices)

    return update_network_choice


__all__ = [
    "HIDDEN",
    "SHOWN",
    "Choices",
    "network_choice",
    "network_picker",
    "picker_id",
    "picker_style",
    "register",
    "shown_network",
    "watched_choices",
    "watched_networks",
    "weight_choices",
]
