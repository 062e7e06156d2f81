"""The network graph: what the browser's canvas (``assets/network_graph.js``) draws.

A 3x512 network has 1,551 neurons and thousands of drawn weights, and redrawing that as
SVG every second (what a Plotly scatter does) costs the browser 100-200 ms a time, long
enough to swallow clicks; so the graph is drawn on a ``<canvas>``, from three parts that
travel separately and each update sends only what changed:

* :func:`graph_scene` -- the columns (positions, titles, input and output names) and
  the strongest edges (:func:`edge_groups`); sent again only for a new run or network,
  another *k*, or a new sample of the weights;
* :func:`graph_values` -- every neuron's current output: the live colours;
* :func:`graph_highlight` -- the selected neuron's own strongest weights.

Pure: numpy in (``dashapp.read.network.NetworkData``), plain data out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from dashapp.figures import common as C
from dashapp.figures.common import as_floats
from dashapp.figures.outputs import Outputs, outputs_of
from dashapp.read.network import NetworkData

# --------------------------------------------------------------------------- look
#: Diverging colours: negative red, zero pale, positive blue.
COLORSCALE = [[0.0, C.NEGATIVE], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, C.POSITIVE]]
#: the edge colours, as the canvas mixes them with an alpha: "r, g, b"
POSITIVE, NEGATIVE = (", ".join(str(int(c[i : i + 2], 16)) for i in (1, 3, 5)) for c in (C.POSITIVE, C.NEGATIVE))
#: Edge strength bins, as fractions of the layer's strongest |weight| shown.
EDGE_BINS = (1 / 3, 2 / 3)
EDGE_WIDTHS = (0.5, 1.2, 2.4)
EDGE_ALPHAS = (0.25, 0.45, 0.8)
#: At most this many of the selected neuron's incoming and outgoing edges are drawn.
SELECTED_EDGES = 64
#: Default and largest k (strongest edges kept per neuron, each direction). The default
#: shrinks for wide layers (see :func:`default_k`) so a 3x512 network stays readable.
DEFAULT_K, MAX_K = 3, 16
#: About this many neurons' worth of edges per layer at the default k.
EDGE_BUDGET = 768
#: Largest vertical gap between two neurons of a column (small layers do not spread
#: over the whole height, so input and output labels stay close and legible).
MAX_GAP = 0.085
GRAPH_HEIGHT = 640


def network_outputs(net: NetworkData) -> Outputs:
    """The words for ``net``'s outputs (Q-values, action logits, a policy)."""
    return outputs_of(net.output_names, net.input_names)


def column_title(net: NetworkData, column: int) -> list[str]:
    """The lines of text above a column."""
    kind, size = net.kinds[column], net.sizes[column]
    if kind == "input":
        return [f"inputs ({size})"]
    if kind == "output":
        head, title = net.names[column], f"{network_outputs(net).column} ({size})"
        # a dueling network's probe record names its advantage head: say where the lines come from
        return [title] if head in ("q_out", "output", "policy_out", "logits_out") else [title, f"lines: {head}"]
    return [f"{net.names[column]} ({size}, {net.activations[column]})"]


# --------------------------------------------------------------------------- layout
def column_positions(sizes: Sequence[int], max_gap: float = MAX_GAP, span: float = 1.0) -> list[np.ndarray]:
    """Node positions, one ``(n, 2)`` array of (x, y) per column.

    Column ``c`` sits at ``x = c``; its nodes run top (index 0) to bottom, centred on
    ``y = 0``, spaced ``min(max_gap, span / (n - 1))`` apart -- a wide layer fills the
    height ``span``, a small one keeps its nodes ``max_gap`` apart.
    """
    out = []
    for c, n in enumerate(sizes):
        n = int(n)
        if n < 0:
            raise ValueError(f"column {c} has a negative size {n}")
        gap = min(max_gap, span / (n - 1)) if n > 1 else 0.0
        y = (n - 1) * gap / 2 - gap * np.arange(n)
        out.append(np.column_stack([np.full(n, float(c)), y]))
    return out


def top_k_edges(weight, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The strongest edges of a ``(n_out, n_in)`` weight matrix: for every neuron, its
    ``k`` largest-|w| incoming edges and its ``k`` largest-|w| outgoing edges (union).

    Returns ``(src, dst, w)`` sorted by (dst, src); ties go to the lower index. Non-finite
    weights are never drawn. ``k >= n_in and k >= n_out`` keeps every finite edge.
    """
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"weight must be a 2-D (out, in) matrix, got shape {w.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    n_out, n_in = w.shape
    if w.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    strength = np.where(np.isfinite(w), np.abs(w), -1.0)
    keep = _top_k_mask(strength, min(k, n_in), axis=1) | _top_k_mask(strength, min(k, n_out), axis=0)
    keep &= strength >= 0
    dst, src = np.nonzero(keep)  # row-major: sorted by dst then src
    return src.astype(np.int64), dst.astype(np.int64), w[dst, src]


def _top_k_mask(strength: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Mask of the ``k`` largest entries along ``axis``; ties broken towards lower index.

    ``np.partition`` finds each line's k-th largest value in linear time; everything
    above it is kept, then entries equal to it in index order until ``k`` are kept.
    """
    n = strength.shape[axis]
    if k >= n:
        return np.ones(strength.shape, dtype=bool)
    if k == 1:  # the default for wide layers: the maximum, without a partition (50x faster)
        kth = strength.max(axis=axis, keepdims=True)
    else:
        kth = np.take(-np.partition(-strength, k - 1, axis=axis), [k - 1], axis=axis)
    greater = strength > kth
    equal = strength == kth
    need = k - greater.sum(axis=axis, keepdims=True)
    if not np.any(equal.sum(axis=axis, keepdims=True) > need):  # the usual case: no ties
        return greater | equal
    return greater | (equal & (np.cumsum(equal, axis=axis) <= need))


def default_k(sizes: Sequence[int]) -> int:
    """k for a network of these layer sizes: 3 up to 256-wide layers, fewer beyond."""
    widest = max((int(n) for n in sizes), default=1)
    return int(np.clip(EDGE_BUDGET // max(widest, 1), 1, DEFAULT_K))


def _weights_into(net: NetworkData, column: int) -> np.ndarray | None:
    """Column ``column``'s incoming weights when known and of the right shape (a record
    whose shapes disagree is not drawn rather than mis-drawn)."""
    w = net.weights[column] if 0 < column < len(net.weights) else None
    if w is None or np.shape(w) != (net.sizes[column], net.sizes[column - 1]):
        return None
    return np.asarray(w, dtype=np.float64)


def edge_groups(net: NetworkData, k: int) -> list[dict]:
    """The strongest ``k`` edges per neuron and side, grouped the way they are drawn:
    one group per (layer, sign, strength level).

    ``{"column": c, "sign": 1 | -1, "level": 0 | 1 | 2, "src": [...], "dst": [...]}``: edge
    ``i`` runs from node ``src[i]`` of column ``c - 1`` to node ``dst[i]`` of column ``c``.
    The level is the edge's |w| as a fraction of the layer's strongest drawn edge (weak
    up to 1/3, medium up to 2/3, strong above; see :data:`EDGE_BINS`).
    """
    groups = []
    for c in range(1, len(net.values)):
        w = _weights_into(net, c)
        if w is None:
            continue
        src, dst, val = top_k_edges(w, k)
        if val.size == 0:
            continue
        scale = float(np.max(np.abs(val))) or 1.0
        level = np.digitize(np.abs(val) / scale, EDGE_BINS, right=True)
        for sign, of_sign in ((1, val >= 0), (-1, val < 0)):
            for b in range(3):
                m = of_sign & (level == b)
                if m.any():
                    groups.append(
                        {"column": c, "sign": sign, "level": b, "src": src[m].tolist(), "dst": dst[m].tolist()}
                    )
    return groups


def _color_range(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    m = float(finite.max()) if finite.size else 0.0
    return m if m > 0 else 1.0


def _rounded(values: np.ndarray) -> list:
    """Node values for the browser: 4 significant digits (the canvas writes them with the
    dashboard's number format); NaN/inf as None (drawn grey)."""
    out = [float(f"{v:.4g}") if math.isfinite(v) else None for v in values.tolist()]
    return [None if r is None or not math.isfinite(r) else r for r in out]  # 1.7977e308 rounds up to inf


#: How the browser draws the graph (assets/network_graph.js reads these from the scene,
#: so the look is defined once, here).
STYLE = {
    "colorscale": COLORSCALE,
    "no_value": "#d3d3d3",  # a node whose output is NaN or infinite
    "positive": POSITIVE,
    "negative": NEGATIVE,
    "edge_widths": list(EDGE_WIDTHS),
    "edge_alphas": list(EDGE_ALPHAS),
    "selected_width": 2.2,
    "selected_alpha": 0.95,
    "node_line": "#777",
    "title": "#1a4d80",
    "text": "#1f2933",
}


def graph_scene(net: NetworkData, k: int = DEFAULT_K) -> dict:
    """What the browser's network canvas draws that changes rarely -- sent when the run,
    the network's shape or ``k`` changes, or the weights were re-sampled.

    ``columns``: per column its name, kind, activation, title lines, the nodes' vertical
    positions (:func:`column_positions`; column ``c`` is drawn at x = c) and, for the
    input and output columns, the nodes' names. ``edges``: :func:`edge_groups`. ``value``
    names one output number ("Q-value") and ``pick`` what the highest output is ("best";
    None: the canvas marks none).
    """
    k = int(np.clip(k, 1, MAX_K))
    pos = column_positions(net.sizes)
    columns = [
        {
            "name": net.names[c],
            "kind": net.kinds[c],
            "activation": net.activations[c],
            "size": net.sizes[c],
            "title": column_title(net, c),
            "y": np.round(pos[c][:, 1], 5).tolist(),
            "labels": net.labels(c) if net.kinds[c] != "hidden" else None,
        }
        for c in range(len(net.values))
    ]
    words = network_outputs(net)
    return {
        "columns": columns,
        "edges": edge_groups(net, k),
        "k": k,
        "value": words.value,
        "pick": words.pick,
        "style": STYLE,
    }


def graph_values(net: NetworkData) -> dict:
    """What changes with every probe sample: each column's outputs (4 significant
    digits, None where not finite) and the range its colours span (symmetric around 0),
    the action the network picks (None when its outputs are not one number per action),
    and the step they were recorded at."""
    values = [as_floats(v) for v in net.values]
    return {
        "step": int(net.step),
        "action": net.action if network_outputs(net).pick else None,
        "values": [_rounded(v) for v in values],
        "ranges": [_color_range(v) for v in values],
    }


def graph_highlight(net: NetworkData, selection: Mapping | None) -> dict | None:
    """The selected neuron's strongest incoming and outgoing weights (at most
    :data:`SELECTED_EDGES` each side), drawn from it to the nodes they connect:
    ``{"column", "index", "edges": [[other_column, other_index, 1 | -1], ...]}``.
    None unless the selection is a neuron of this network."""
    sel = valid_selection(net, selection)
    if sel is None or sel["kind"] != "neuron":
        return None
    c, j = sel["column"], sel["index"]
    edges = []
    for other, w in ((c - 1, _incoming(net, c, j)), (c + 1, _outgoing(net, c, j))):
        if w is None:
            continue
        w = np.where(np.isfinite(w), w, 0.0)
        idx = np.argsort(-np.abs(w), kind="stable")[:SELECTED_EDGES]
        edges += [[other, int(i), 1 if w[i] >= 0 else -1] for i in idx.tolist() if w[i] != 0]
    return {"column": c, "index": j, "edges": edges}


def _incoming(net: NetworkData, c: int, j: int) -> np.ndarray | None:
    w = _weights_into(net, c)
    return None if w is None else w[j]


def _outgoing(net: NetworkData, c: int, j: int) -> np.ndarray | None:
    w = _weights_into(net, c + 1) if c + 1 < len(net.values) else None
    return None if w is None else w[:, j]


def valid_selection(net: NetworkData, selection: Mapping | None) -> dict | None:
    """The selection if it still names something in this network, else None. The page
    sends ``{"kind": "neuron", "column", "index"}`` or ``{"kind": "layer", "column"}``;
    like anything from the page it is checked, never trusted."""
    if not isinstance(selection, Mapping):
        return None
    kind, c = selection.get("kind"), selection.get("column")
    if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < len(net.values):
        return None
    if kind == "layer":
        return {"kind": "layer", "column": c}
    j = selection.get("index")
    if kind == "neuron" and isinstance(j, int) and not isinstance(j, bool) and 0 <= j < net.sizes[c]:
        return {"kind": "neuron", "column": c, "index": j}
    return None
