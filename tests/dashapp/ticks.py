"""The dashboard's poll-driven callbacks, called the way the page calls them, for tests.

``tick_and_load`` runs a tab's tick and, when it asks for a load (through its reload
store), the load too -- what the browser does. ``poll_ticks(run)`` lists every callback a
poll drives, each as ``(name, call)`` with the arguments of the page's first poll of its
tab; tests run them to count store sessions or to render a run. Importable from any test
package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dash import no_update

from dashapp import alerts
from dashapp import app as A
from dashapp.tabs import activations, gradients, health, live, network, weights

#: A selection the network inspector shows: the first neuron of the first hidden layer.
HIDDEN_NEURON = {"kind": "neuron", "column": 1, "index": 0}


def tick_and_load(tick, load, n, args, cursor, load_args, after=()):
    """What the browser does: run the tick (``after``: its arguments after the cursor); if
    it asks for a load, run the load too. Returns (tick outputs, the figures the load drew
    or None, the cursor afterwards)."""
    out = tick(n, *args, cursor, *after)
    cursor = out[-2] if out[-2] is not no_update else cursor
    if out[-1] is no_update:
        return out, None, cursor
    *figs, cursor = load(out[-1], *load_args)
    return out, figs, cursor


def poll_ticks(run: str, layer: str = "fc1", selection: dict | None = None) -> list[tuple[str, Callable[[], tuple]]]:
    """Every callback a poll drives (the shell's ``app-poll`` or a shown tab's own), as the
    first poll after the tab was shown calls it: nothing drawn yet, ``layer`` chosen, the
    network inspector showing ``selection``."""
    selection = HIDDEN_NEURON if selection is None else selection
    agent = live.describe_agent(run)  # the page's live-agent store
    return [
        ("app.update_status", lambda: A.update_status(1, run)),
        ("alerts.update_alerts", lambda: alerts.update_alerts(1, run, None)),
        ("app.update_shell", lambda: A.update_shell(1, run, str(Path(run).parent), None, None, None, None)),
        ("live.show_agent", lambda: live.show_agent(1, live.TAB_ID, run, None)),
        # the panels of the run's kind of agent (the other kind's callbacks answer without reading)
        (
            ("live.tick_policy", lambda: live.tick_policy(1, live.TAB_ID, agent, None))
            if agent["kind"] == live.ACTOR_CRITIC
            else ("live.tick_steps", lambda: live.tick_steps(1, live.TAB_ID, agent, None))
        ),
        ("live.tick_episodes", lambda: live.tick_episodes(1, live.TAB_ID, agent, None)),
        ("live.tick_live", lambda: live.tick_live(1, run, live.TAB_ID, None, None, None, None, None)),
        ("live.update_frame", lambda: live.update_frame(1, live.TAB_ID, run, None)),
        # the network pickers (each tab's own; hidden for a run with one watched network)
        *(
            (
                f"{tab.__name__}.update_network_choice",
                lambda tab=tab: tab.update_network_choice(1, tab.TAB_ID, run, None, [], None),
            )
            for tab in (network, activations, gradients, weights, health)
        ),
        ("network.update_graph", lambda: network.update_graph(1, None, network.TAB_ID, run, None, None)),
        ("network.update_inspector", lambda: network.update_inspector(1, selection, network.TAB_ID, run, None)),
        (
            "activations.update_layer_choice",
            lambda: activations.update_layer_choice(1, activations.TAB_ID, run, None, [], None),
        ),
        ("activations.tick_activations", lambda: activations.tick_activations(1, activations.TAB_ID, layer, run, None)),
        (
            "activations.tick_sparklines",
            lambda: activations.tick_sparklines(1, activations.TAB_ID, layer, 0, run, None, None),
        ),
        ("gradients.tick_gradients", lambda: gradients.tick_gradients(1, gradients.TAB_ID, run, None)),
        ("weights.update_layer_choice", lambda: weights.update_layer_choice(1, weights.TAB_ID, run, None, [], None)),
        ("weights.tick_weights", lambda: weights.tick_weights(1, weights.TAB_ID, layer, run, None)),
        ("health.tick_health", lambda: health.tick_health(1, health.TAB_ID, run, None)),
    ]
