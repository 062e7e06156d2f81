"""The Network tab: the network drawn as it is, lighting up as the agent plays.

The graph is drawn in the browser, on a canvas (``assets/network_graph.js``), from three
stores the server fills -- so each update sends only what changed:

* **graph** (server) -- ``network-scene`` (columns, names, the strongest edges) once, and
  again only when the run, the network's shape or *k* changes or the weights were
  re-sampled (at most every :data:`EDGE_REFRESH_S`); ``network-values`` (every neuron's
  output: the colours) when the probe published a new sample. When training is paused
  nothing new is published, so nothing is sent: the picture holds still.
* **select** (browser) -- a click on a neuron or a layer's title sets ``network-selection``
  directly; the ring is drawn at once.
* **highlight** (server) -- the selected neuron's strongest weights, ``network-highlight``,
  when the selection changes or the edges were drawn again (``network-scene-key``).
* **draw** (browser) -- redraws the canvas when any of the four stores changes (two
  callbacks: the highlight apart, so the graph never waits for it).
* **inspector** (server) -- the neuron inspector or the layer inspector for the selection.
* **analysis** (server) -- input saliency (or integrated gradients), the feature/action
  correlation heatmap and the feature-response curves, from the attribution record. It
  runs after the graph callback (on its ``network-view``), so the graph is drawn first
  and the browser is not busy drawing these charts when the graph arrives; while
  training runs it redraws at most every :data:`ANALYSIS_REFRESH_S`.

A run with several watched networks (SAC: actor, critic_1, critic_2) gets a network
picker ("network-network", :mod:`dashapp.tabs.network_picker`): the graph, the inspector
and the analysis show the chosen one, named with its own inputs and outputs
(:mod:`dashapp.figures.outputs`); the analysis says so when the attribution explains
another network, or when the run has none (continuous actions).

Server callbacks run on the tab's own poll ("network-poll", ticking only while the tab
is shown) and read the run's store through :mod:`dashapp.read`; nothing here imports
torch or touches the training process.
"""

from dashapp.tabs.network import analysis, graph, inspector
from dashapp.tabs.network.analysis import analysis_figures, update_analysis
from dashapp.tabs.network.graph import analysis_due, update_graph, update_highlight, update_network_choice
from dashapp.tabs.network.inspector import layer_view, neuron_view, update_inspector
from dashapp.tabs.network.view import TAB_ID, TAB_LABEL, layout

__all__ = [
    "TAB_ID",
    "TAB_LABEL",
    "analysis",
    "analysis_due",
    "analysis_figures",
    "graph",
    "inspector",
    "layer_view",
    "layout",
    "neuron_view",
    "update_analysis",
    "update_graph",
    "update_highlight",
    "update_inspector",
    "update_network_choice",
]
