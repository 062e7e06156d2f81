"""Pure figure builders for the network view (numpy + plotly only, no I/O, no globals).

The network graph is two figures drawn one over the other, with the same size, margins
and axis ranges:

* the **edges** figure (underneath): no traces, the weights drawn as six SVG path shapes
  (positive/negative x weak/medium/strong). It changes only when the edges do -- a new
  weight sample or another *k* -- via :func:`edges_patch`;
* the **nodes** figure (on top, transparent, the one that is clicked). Its traces come
  in a fixed order, so a live update patches just the colours (:func:`activation_patch`)
  and a click just the highlight (:func:`selection_patch`)::

      0, 1            the selected neuron's own edges (positive, negative)
      2 .. 2+C-1      nodes, one trace per column (input, hidden layers, output)
      2+C             the selection ring
      2+C+1           the clickable layer labels

Keeping the thousands of edges out of the nodes figure is what keeps a live update
cheap in the browser: Plotly redraws every trace of a figure when any data changes.

A node's ``customdata`` is ``[column, index]``; a layer label's is ``[column, -1]``. Node,
ring and label traces carry a ``uid`` (``nodes<column>``, ``ring``, ``labels``), which
Plotly puts in the drawn SVG's class names (``g.tracenodes1``): handy to find a marker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from dashapp.figures.common import TEMPLATE
from dashapp.figures.common import empty_figure as _empty_figure
from health import live_rules as LR
from health import thresholds as TH

# --------------------------------------------------------------------------- look
#: Diverging colours: negative red, zero pale, positive blue.
COLORSCALE = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]
POSITIVE, NEGATIVE = "33, 102, 172", "178, 24, 43"  # rgb of the edge colours
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

N_EDGE_BINS = 6
HILITE_POS, HILITE_NEG = 0, 1
FIRST_NODE_TRACE = 2

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


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class NetworkData:
    """The network as the graph draws it: columns from input to output.

    ``values[c]`` are column ``c``'s current outputs; ``weights[c]`` its incoming weights
    (``(size_c, size_{c-1})``, None for the input column or when unknown);
    ``histories[c]`` its recent outputs ``(n, size_c)`` when known.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]  # "input" | "hidden" | "output"
    activations: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray | None, ...]
    histories: tuple[np.ndarray | None, ...] = ()
    biases: tuple[np.ndarray | None, ...] = ()
    feature_names: tuple[str, ...] = ()
    action_names: tuple[str, ...] = ()
    action: int | None = None
    step: int = 0

    @property
    def sizes(self) -> list[int]:
        return [int(np.size(v)) for v in self.values]

    def history(self, column: int) -> np.ndarray | None:
        return self.histories[column] if column < len(self.histories) else None

    def labels(self, column: int) -> list[str]:
        size = self.sizes[column]
        if self.kinds[column] == "input":
            names = list(self.feature_names)
            return [names[i] if i < len(names) else f"x{i}" for i in range(size)]
        if self.kinds[column] == "output":
            names = list(self.action_names)
            return [names[i] if i < len(names) else f"action {i}" for i in range(size)]
        return [f"{self.names[column]} #{i}" for i in range(size)]

    def label(self, column: int, index: int) -> str:
        """One node's label (cheaper than :meth:`labels` for a wide layer)."""
        kind = self.kinds[column]
        names = self.feature_names if kind == "input" else self.action_names if kind == "output" else ()
        if kind == "hidden":
            return f"{self.names[column]} #{index}"
        if index < len(names):
            return str(names[index])
        return f"x{index}" if kind == "input" else f"action {index}"

    def shape_key(self) -> list:
        """What decides the figure's structure (a change means: rebuild, not patch)."""
        return [list(self.names), self.sizes, list(self.feature_names), list(self.action_names)]


def column_title(net: NetworkData, column: int) -> str:
    kind, size = net.kinds[column], net.sizes[column]
    if kind == "input":
        return f"inputs ({size})"
    if kind == "output":
        head = net.names[column]
        # a dueling network's probe record names its advantage head: say where the lines come from
        return f"Q-values ({size})" if head in ("q_out", "output") else f"Q-values ({size})<br>lines: {head}"
    return f"{net.names[column]} ({size}, {net.activations[column]})"


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
    kth = np.take(-np.partition(-strength, k - 1, axis=axis), [k - 1], axis=axis)
    greater = strength > kth
    equal = strength == kth
    need = k - greater.sum(axis=axis, keepdims=True)
    if not np.any(equal.sum(axis=axis, keepdims=True) > need):  # the usual case: no ties
        return greater | equal
    return greater | (equal & (np.cumsum(equal, axis=axis) <= need))


def _segments(x0, y0, x1, y1) -> tuple[np.ndarray, np.ndarray]:
    """NaN-separated polyline coordinates for straight segments (one trace, many lines)."""
    n = len(x0)
    xs = np.full(3 * n, np.nan, dtype=np.float32)
    ys = np.full(3 * n, np.nan, dtype=np.float32)
    xs[0::3], xs[1::3] = x0, x1
    ys[0::3], ys[1::3] = y0, y1
    return xs, ys


def default_k(sizes: Sequence[int]) -> int:
    """k for a network of these layer sizes: 3 up to 256-wide layers, fewer beyond."""
    widest = max((int(n) for n in sizes), default=1)
    return int(np.clip(EDGE_BUDGET // max(widest, 1), 1, DEFAULT_K))


def edge_bins(net: NetworkData, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The segments of the six edge bins (sign x strength), as NaN-separated (x, y)
    arrays: ``x[3i], y[3i]`` to ``x[3i+1], y[3i+1]`` is one edge."""
    pos = column_positions(net.sizes)
    buckets: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(N_EDGE_BINS)]
    for c in range(1, len(net.values)):
        w = net.weights[c] if c < len(net.weights) else None
        if w is None or np.shape(w) != (net.sizes[c], net.sizes[c - 1]):
            continue
        src, dst, val = top_k_edges(w, k)
        if val.size == 0:
            continue
        scale = np.max(np.abs(val)) or 1.0
        level = np.digitize(np.abs(val) / scale, EDGE_BINS, right=True)
        for sign_i, sign in enumerate((val >= 0, val < 0)):
            for b in range(3):
                m = sign & (level == b)
                if m.any():
                    buckets[sign_i * 3 + b].append(
                        _segments(pos[c - 1][src[m], 0], pos[c - 1][src[m], 1], pos[c][dst[m], 0], pos[c][dst[m], 1]))
    out = []
    for parts in buckets:
        if parts:
            out.append((np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])))
        else:
            out.append((np.zeros(0, np.float32), np.zeros(0, np.float32)))
    return out


def _color_range(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    m = float(finite.max()) if finite.size else 0.0
    return m if m > 0 else 1.0


def _clean(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


#: Colour of a node whose value is NaN or infinite (plotly takes a colour string in a
#: numeric colour array as that colour).
NO_VALUE = "lightgrey"


def _rounded(values: np.ndarray) -> list:
    """Node colours for the browser: 4 significant digits; NaN/inf drawn grey."""
    return [NO_VALUE if not math.isfinite(v) else float(f"{v:.4g}") for v in values.tolist()]


def _node_text(net: NetworkData, c: int) -> list[str] | None:
    """Text next to input and output nodes (hidden nodes carry none)."""
    if net.kinds[c] == "input":
        return net.labels(c)
    if net.kinds[c] == "output":
        vals = _clean(net.values[c])
        return [f"{name} {v:.3g}" + (" ◀ best" if net.action == i else "") if math.isfinite(v) else f"{name} ?"
                for i, (name, v) in enumerate(zip(net.labels(c), vals))]
    return None


def _marker_size(n: int) -> float:
    return float(np.clip(0.7 * GRAPH_HEIGHT * 0.85 / max(n, 1), 4, 16))


def _highlight(net: NetworkData, selection: Mapping | None) -> dict:
    """Coordinates of the selected neuron's edges (pos, neg) and of its ring."""
    empty = {"pos": (np.zeros(0), np.zeros(0)), "neg": (np.zeros(0), np.zeros(0)), "ring": ([], [])}
    sel = _valid_selection(net, selection)
    if sel is None or sel["kind"] != "neuron":
        return empty
    c, j = sel["column"], sel["index"]
    pos = column_positions(net.sizes)
    seg_pos, seg_neg = [], []
    # incoming: weights[c][j, :] from column c-1; outgoing: weights[c+1][:, j] to column c+1
    for other, w in ((c - 1, _incoming(net, c, j)), (c + 1, _outgoing(net, c, j))):
        if w is None:
            continue
        w = np.where(np.isfinite(w), w, 0.0)
        idx = np.argsort(-np.abs(w), kind="stable")[:SELECTED_EDGES]
        idx = idx[np.abs(w[idx]) > 0]
        x0, y0 = np.full(idx.size, float(c)), np.full(idx.size, pos[c][j, 1])
        x1, y1 = pos[other][idx, 0], pos[other][idx, 1]
        for target, m in ((seg_pos, w[idx] >= 0), (seg_neg, w[idx] < 0)):
            if m.any():
                target.append(_segments(x0[m], y0[m], x1[m], y1[m]))

    def join(parts):
        if not parts:
            return np.zeros(0), np.zeros(0)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    return {"pos": join(seg_pos), "neg": join(seg_neg), "ring": ([float(c)], [float(pos[c][j, 1])])}


def _incoming(net: NetworkData, c: int, j: int) -> np.ndarray | None:
    w = net.weights[c] if 0 < c < len(net.weights) else None
    if w is None or np.shape(w) != (net.sizes[c], net.sizes[c - 1]):
        return None
    return np.asarray(w, dtype=np.float64)[j]


def _outgoing(net: NetworkData, c: int, j: int) -> np.ndarray | None:
    if c + 1 >= len(net.values):
        return None
    w = net.weights[c + 1] if c + 1 < len(net.weights) else None
    if w is None or np.shape(w) != (net.sizes[c + 1], net.sizes[c]):
        return None
    return np.asarray(w, dtype=np.float64)[:, j]


def _valid_selection(net: NetworkData, selection: Mapping | None) -> dict | None:
    """The selection if it still names something in this network, else None."""
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


def selection_from_click(click: Mapping | None) -> dict | None:
    """Turn a graph ``clickData`` into a selection: a neuron ``{"kind": "neuron",
    "column", "index"}``, a layer ``{"kind": "layer", "column"}``, or None (an edge,
    or nothing usable). The page runs the same rule in the browser
    (``dashapp.tabs.network.SELECT_JS``); a browser test checks that they agree."""
    try:
        point = click["points"][0]
        column, index = point["customdata"][:2]
        if float(column) != int(column) or float(index) != int(index):  # 1.5 is no node
            return None
        column, index = int(column), int(index)
    except (TypeError, KeyError, IndexError, ValueError):
        return None
    if column < 0:
        return None
    if index < 0:
        return {"kind": "layer", "column": column}
    return {"kind": "neuron", "column": column, "index": index}


def _layer_box(net: NetworkData, c: int) -> dict:
    ys = column_positions(net.sizes)[c][:, 1]
    top = float(ys.max()) if ys.size else 0.0
    bottom = float(ys.min()) if ys.size else 0.0
    return dict(type="rect", xref="x", yref="y", x0=c - 0.3, x1=c + 0.3, y0=bottom - 0.04, y1=top + 0.1,
                line=dict(color="#444", width=1.5, dash="dot"), fillcolor="rgba(0,0,0,0.04)", layer="below")


def _top(net: NetworkData) -> float:
    return max((float(p[:, 1].max()) for p in column_positions(net.sizes) if len(p)), default=0.5)


def _geometry(net: NetworkData, **extra) -> dict:
    """The layout both figures share, so the nodes sit exactly on their edges."""
    n_cols = len(net.values)
    top = _top(net)
    return dict(
        height=GRAPH_HEIGHT, margin=dict(l=10, r=10, t=10, b=10), template=TEMPLATE.to_plotly_json(),
        hovermode="closest", hoverdistance=24, clickmode="event", dragmode=False, showlegend=False,
        uirevision="network",
        xaxis=dict(visible=False, range=[-1.1, n_cols - 1 + 1.1], fixedrange=True),
        yaxis=dict(visible=False, range=[-0.58, top + 0.18], fixedrange=True),
        **extra)


def edge_path(xs: np.ndarray, ys: np.ndarray) -> str:
    """NaN-separated segments as one SVG path in data coordinates ("M x0,y0L x1,y1...")."""
    x0, y0, x1, y1 = xs[0::3], ys[0::3], xs[1::3], ys[1::3]
    return "".join(f"M{a:.4g},{b:.4f}L{c:.4g},{d:.4f}" for a, b, c, d in zip(x0.tolist(), y0.tolist(),
                                                                          x1.tolist(), y1.tolist()))


def edge_shapes(net: NetworkData, k: int) -> list[dict]:
    """The six edge bins as path shapes (empty bins are left out)."""
    shapes = []
    for t, (xs, ys) in enumerate(edge_bins(net, int(np.clip(k, 1, MAX_K)))):
        if not len(xs):
            continue
        rgb, b = (POSITIVE if t < 3 else NEGATIVE), t % 3
        shapes.append(dict(type="path", path=edge_path(xs, ys), xref="x", yref="y", layer="below",
                           name=f"{'positive' if t < 3 else 'negative'} weights ({('weak', 'medium', 'strong')[b]})",
                           line=dict(width=EDGE_WIDTHS[b], color=f"rgba({rgb}, {EDGE_ALPHAS[b]})")))
    return shapes


def edges_figure(net: NetworkData, k: int = DEFAULT_K) -> go.Figure:
    """The weights, drawn underneath the nodes: the strongest ``k`` per neuron and side."""
    return go.Figure(data=[], layout=_geometry(net, shapes=edge_shapes(net, k), paper_bgcolor="white",
                                               plot_bgcolor="white"), _validate=False)


def nodes_figure(net: NetworkData, selection: Mapping | None = None) -> go.Figure:
    """The neurons (coloured by their current output), the labels, the selection -- on a
    transparent background, drawn over :func:`edges_figure`.

    Built from plain dicts and handed to plotly without per-property validation: a
    3x512 network has 1,551 nodes and validation would dominate the build time. (The
    tests validate the same figure the slow way.)
    """
    n_cols = len(net.values)
    pos = column_positions(net.sizes)
    sel = _valid_selection(net, selection)
    data: list[dict] = []
    hl = _highlight(net, sel)
    for key, rgb in (("pos", POSITIVE), ("neg", NEGATIVE)):
        data.append(dict(type="scatter", x=hl[key][0], y=hl[key][1], mode="lines", hoverinfo="skip",
                         showlegend=False, line=dict(width=2.2, color=f"rgba({rgb}, 0.95)"),
                         name=f"selected neuron's {'positive' if key == 'pos' else 'negative'} weights"))
    top = _top(net)
    for c in range(n_cols):
        vals = _clean(net.values[c])
        m = _color_range(vals)
        text = _node_text(net, c)
        kind = net.kinds[c]
        if kind == "input":
            hover = "<b>%{text}</b><br>value %{marker.color:.3f}<extra></extra>"
        elif kind == "output":
            hover = "<b>%{text}</b><br>Q-value %{marker.color:.3f}<extra></extra>"
        else:
            hover = f"<b>{net.names[c]} #%{{customdata[1]}}</b><br>output %{{marker.color:.3f}}<extra></extra>"
        trace = dict(
            type="scatter", x=pos[c][:, 0], y=pos[c][:, 1], mode="markers+text" if text else "markers",
            customdata=[[c, i] for i in range(len(vals))],  # plain lists: clickData must carry them as-is
            hovertemplate=hover, showlegend=False, name=column_title(net, c), uid=f"nodes{c}",
            marker=dict(color=_rounded(vals), colorscale=COLORSCALE, cmin=-m, cmax=m,
                        size=_marker_size(len(vals)), line=dict(width=0.6, color="#777")))
        if text:
            trace.update(text=text, textposition="middle left" if kind == "input" else "middle right",
                         textfont=dict(size=12))
        data.append(trace)
    ring = hl["ring"]
    data.append(dict(type="scatter", x=ring[0], y=ring[1], mode="markers", hoverinfo="skip", showlegend=False,
                     name="selected neuron", uid="ring",
                     marker=dict(symbol="circle-open", size=20, line=dict(width=3, color="#111"))))
    data.append(dict(
        type="scatter", x=list(range(n_cols)), y=[top + 0.1] * n_cols, mode="markers+text",
        text=[f"<b>{column_title(net, c)}</b>" for c in range(n_cols)], textposition="middle center",
        textfont=dict(size=13, color="#1a4d80"), customdata=[[c, -1] for c in range(n_cols)],
        hovertemplate="click to inspect this layer<extra></extra>",
        marker=dict(symbol="square", size=44, opacity=0), showlegend=False, name="layer labels", uid="labels"))
    layout = _geometry(net, paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
                       shapes=[_layer_box(net, sel["column"])] if sel and sel["kind"] == "layer" else [])
    return go.Figure(data=data, layout=layout, _validate=False)


# --------------------------------------------------------------------------- patches
Paths = dict  # {("data", 3, "marker", "color"): [...], ...}


def node_trace(column: int) -> int:
    return FIRST_NODE_TRACE + column


def ring_trace(n_columns: int) -> int:
    return FIRST_NODE_TRACE + n_columns


def label_trace(n_columns: int) -> int:
    return FIRST_NODE_TRACE + n_columns + 1


def activation_patch(net: NetworkData) -> Paths:
    """Nodes figure: just the colours (and the output texts) -- what changes every sample."""
    out: Paths = {}
    for c, values in enumerate(net.values):
        vals = _clean(values)
        m = _color_range(vals)
        t = node_trace(c)
        out[("data", t, "marker", "color")] = _rounded(vals)
        out[("data", t, "marker", "cmin")] = -m
        out[("data", t, "marker", "cmax")] = m
        if net.kinds[c] == "output":
            out[("data", t, "text")] = _node_text(net, c)
    return out


def edges_patch(net: NetworkData, k: int) -> Paths:
    """Edges figure: the edge shapes (after the weights changed or k did)."""
    return {("layout", "shapes"): edge_shapes(net, k)}


def selection_patch(net: NetworkData, selection: Mapping | None) -> Paths:
    """Nodes figure: highlight the selected neuron (its edges and a ring) or layer (a
    box), or clear the highlight."""
    hl = _highlight(net, selection)
    sel = _valid_selection(net, selection)
    ring = ring_trace(len(net.values))
    return {
        ("data", HILITE_POS, "x"): typed_array(hl["pos"][0]), ("data", HILITE_POS, "y"): typed_array(hl["pos"][1]),
        ("data", HILITE_NEG, "x"): typed_array(hl["neg"][0]), ("data", HILITE_NEG, "y"): typed_array(hl["neg"][1]),
        ("data", ring, "x"): hl["ring"][0], ("data", ring, "y"): hl["ring"][1],
        ("layout", "shapes"): [_layer_box(net, sel["column"])] if sel and sel["kind"] == "layer" else [],
    }


def typed_array(values) -> dict:
    """A float array as plotly.js's compact typed-array form (float32, NaN = gap)."""
    import base64

    arr = np.ascontiguousarray(np.asarray(values, dtype="<f4"))
    return {"dtype": "f4", "bdata": base64.b64encode(arr.tobytes()).decode("ascii")}


# --------------------------------------------------------------------------- statistics
# Dead / saturated come from health.live_rules -- the very rules the probe applies -- over
# the same window (the last LIVE_DEAD_WINDOW samples), so this view and the alerts agree.
def _window(history) -> np.ndarray | None:
    if history is None or np.ndim(history) != 2 or np.shape(history)[0] == 0:
        return None
    return np.asarray(history, dtype=np.float64)[-TH.LIVE_DEAD_WINDOW:]


def weight_stats(weight) -> dict:
    """mean, std, min, max of the finite weights (NaN when there are none) + counts."""
    w = np.asarray(weight, dtype=np.float64).reshape(-1) if weight is not None else np.zeros(0)
    finite = w[np.isfinite(w)]
    if finite.size == 0:
        return {"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan, "count": int(w.size),
                "non_finite": int(w.size)}
    return {"mean": float(finite.mean()), "std": float(finite.std()), "min": float(finite.min()),
            "max": float(finite.max()), "count": int(w.size), "non_finite": int(w.size - finite.size)}


def layer_stats(net: NetworkData, column: int) -> dict:
    """The layer inspector's numbers for one column.

    ``mean_abs_activation`` is over the window (or the current values when there is no
    history); ``dead``/``saturated`` count neurons in that state over the window
    (hidden layers only); ``saturated`` is None for activations without a bound to
    saturate at (ReLU), where ``always_active`` -- never silent, i.e. acting as a
    plain linear unit -- is reported instead.
    """
    size, act, kind = net.sizes[column], net.activations[column], net.kinds[column]
    window = _window(net.history(column))
    values = _clean(net.values[column])
    sample = window if window is not None else values.reshape(1, -1)
    finite = np.abs(sample[np.isfinite(sample)])
    out = {"name": net.names[column], "kind": kind, "activation": act, "size": size,
           "samples": 0 if window is None else int(window.shape[0]),
           "mean_abs_activation": float(finite.mean()) if finite.size else math.nan,
           "dead": None, "dead_share": None, "saturated": None, "saturation_rate": None, "always_active": None,
           "weights": weight_stats(net.weights[column] if column < len(net.weights) else None)}
    if kind == "hidden" and window is not None and size:
        summary = LR.summarize_neurons(window, act)
        bounded = LR.saturation_limits(act) != (None, None)
        out.update(dead=summary["dead"], dead_share=summary["dead"] / size,
                   saturated=summary["saturated"] if bounded else None,
                   saturation_rate=summary["saturated"] / size if bounded else None,
                   always_active=summary["always_active"])
    return out


def neuron_stats(net: NetworkData, column: int, index: int) -> dict:
    """The neuron inspector's numbers for one neuron."""
    act, kind = net.activations[column], net.kinds[column]
    window = _window(net.history(column))
    history = net.history(column)
    h = (np.asarray(history, dtype=np.float64)[:, index]
         if history is not None and np.ndim(history) == 2 and np.shape(history)[0] else np.zeros(0))
    values = _clean(net.values[column])
    current = float(values[index]) if index < values.size else math.nan
    status, why = kind, ""
    if kind == "hidden":
        if window is None:
            status, why = "unknown", "no activation samples yet"
        else:
            state = int(LR.neuron_states(window[:, index:index + 1], act)[0])
            status = LR.STATE_NAMES[state]
            n = window.shape[0]
            why = {
                LR.DEAD: f"its output stayed below {TH.LIVE_DEAD_ACTIVATION} for all of the last {n} samples, "
                         "so it passes nothing on and learns nothing",
                LR.SATURATED: f"its output sat at the limit of its {act} for all of the last {n} samples, "
                              "where the slope is flat and it hardly learns",
                LR.ACTIVE: f"its output varied over the last {n} samples",
            }[state]
    finite = h[np.isfinite(h)]
    return {
        "name": net.names[column], "kind": kind, "index": index, "activation": act,
        "label": net.label(column, index), "current": current, "samples": int(h.size),
        "mean": float(finite.mean()) if finite.size else math.nan,
        "min": float(finite.min()) if finite.size else math.nan,
        "max": float(finite.max()) if finite.size else math.nan,
        "status": status, "why": why,
    }


# --------------------------------------------------------------------------- small figures
def empty_figure(message: str, height: int = 220) -> go.Figure:
    """A labelled empty figure (never a blank box), in the dashboard's common look."""
    return _empty_figure(message, height=height)


def _figure(data: list[dict], title: str, height: int = 220, xaxis: dict | None = None, yaxis: dict | None = None,
            shapes: list[dict] | None = None, annotations: list[dict] | None = None, **layout) -> go.Figure:
    """A small figure from plain dicts, in the dashboard's template, without plotly's
    per-property validation (it costs more than the rest of an inspector update; the
    tests validate these figures the slow way)."""
    layout.setdefault("showlegend", False)
    lay = dict(title=dict(text=title, font=dict(size=13), x=0.02), height=height, template=TEMPLATE.to_plotly_json(),
               margin=dict(l=50, r=15, t=36 if "<br>" not in title else 52, b=36),
               xaxis=xaxis or {}, yaxis=yaxis or {}, shapes=shapes or [], annotations=annotations or [], **layout)
    return go.Figure(data=data, layout=lay, _validate=False)


def _vline(x: float, **line) -> dict:
    return dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line=line)


def _hline(y: float, **line) -> dict:
    return dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=y, y1=y, line=line)


def _title(text: str) -> dict:
    return dict(title=dict(text=text))


def sparkline_figure(history, title: str = "activation over the last samples", ylabel: str = "output") -> go.Figure:
    """A line of a neuron's recent outputs (oldest left), the newest marked."""
    h = _clean(history) if history is not None else np.zeros(0)
    if h.size == 0 or not np.isfinite(h).any():
        return empty_figure("no activation samples yet")
    x = np.arange(-h.size + 1, 1)
    last = np.flatnonzero(np.isfinite(h))[-1]
    data = [dict(type="scatter", x=x, y=np.where(np.isfinite(h), h, np.nan), mode="lines",
                 line=dict(width=1.4, color="#2166ac"), hovertemplate="%{x} samples ago: %{y:.3f}<extra></extra>"),
            dict(type="scatter", x=[int(x[last])], y=[float(h[last])], mode="markers",
                 marker=dict(size=8, color="#b2182b"), hovertemplate="latest: %{y:.3f}<extra></extra>")]
    return _figure(data, title, xaxis=_title(f"samples (last {h.size})"), yaxis=_title(ylabel))


def histogram_figure(values, title: str, xlabel: str = "weight", bins: int = 30) -> go.Figure:
    v = _clean(values) if values is not None else np.zeros(0)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return empty_figure(f"{title}: nothing to show")
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    colours = ["#b2182b" if c < 0 else "#2166ac" for c in centres]
    data = [dict(type="bar", x=centres, y=counts, width=np.diff(edges), marker=dict(color=colours),
                 hovertemplate="%{x:.3f}: %{y}<extra></extra>")]
    return _figure(data, title, xaxis=_title(xlabel), yaxis=_title("count"), bargap=0.05,
                   shapes=[_vline(0.0, color="#999", width=1, dash="dot")])


def bar_figure(values, names: Sequence[str], title: str, ylabel: str, highlight: int | None = None) -> go.Figure:
    """Signed bars with names (e.g. per action)."""
    v = _clean(values) if values is not None else np.zeros(0)
    if v.size == 0:
        return empty_figure(f"{title}: nothing to show")
    names = [str(names[i]) if i < len(names) else str(i) for i in range(v.size)]
    colours = ["#b2182b" if (math.isfinite(x) and x < 0) else "#2166ac" for x in v]
    lines = [3 if i == highlight else 0 for i in range(v.size)]
    data = [dict(type="bar", x=names, y=[x if math.isfinite(x) else None for x in v],
                 marker=dict(color=colours, line=dict(width=lines, color="#111")),
                 text=[f"{x:+.3g}" if math.isfinite(x) else "n/a" for x in v], textposition="outside",
                 hovertemplate="%{x}: %{y:.4f}<extra></extra>")]
    return _figure(data, title, yaxis=_title(ylabel), xaxis=dict(type="category"),
                   shapes=[_hline(0.0, color="#999", width=1)])


def outgoing_figure(weights, target_names: Sequence[str] | None, title: str = "outgoing weights") -> go.Figure:
    """Outgoing weights: one bar per action when they go to the Q-values, else a histogram."""
    if weights is None:
        return empty_figure("this neuron feeds nothing further")
    if target_names is not None:
        return bar_figure(weights, list(target_names), title + " (to each action)", "weight")
    return histogram_figure(weights, title + " (to the next layer)")


def contribution_figure(contribution, action_names: Sequence[str], chosen: int | None, step: int | None,
                        method: str = "gradient x activation") -> go.Figure:
    """This neuron's contribution to each action's Q-value, the chosen action outlined."""
    if contribution is None:
        return empty_figure("waiting for the worker's first attribution sample")
    when = f" at step {step}" if step is not None else ""
    return bar_figure(contribution, list(action_names), f"contribution to each Q-value{when} ({method})",
                      "contribution", highlight=chosen)


def saliency_figure(values, feature_names: Sequence[str], method: str, action_name: str,
                    step: int | None = None, note: str = "", height: int | None = None) -> go.Figure:
    """Horizontal bars over the named input features (order kept, so bars don't jump)."""
    v = _clean(values) if values is not None else np.zeros(0)
    if v.size == 0:
        return empty_figure("waiting for the worker's first attribution sample", height=320)
    names = [str(feature_names[i]) if i < len(feature_names) else f"x{i}" for i in range(v.size)]
    signed = method == "integrated gradients"
    colours = ["#b2182b" if (signed and math.isfinite(x) and x < 0) else "#2166ac" for x in v]
    data = [dict(type="bar", y=names, x=[x if math.isfinite(x) else None for x in v], orientation="h",
                 marker=dict(color=colours), hovertemplate="%{y}: %{x:.4f}<extra></extra>")]
    label = "|dQ/d feature|" if not signed else "attribution (adds up to Q(now) - Q(baseline))"
    sub = ", ".join(x for x in (f"step {step:,}" if step is not None else "", note) if x)
    title = f"{method}: {action_name}" + (f"<br><sup>{sub}</sup>" if sub else "")
    return _figure(data, title, height=height or max(260, 28 * v.size + 90), xaxis=_title(label),
                   yaxis=dict(autorange="reversed", type="category"),
                   shapes=[_vline(0.0, color="#999", width=1)] if signed else [])


def feature_action_correlation(observations, actions, n_actions: int) -> np.ndarray:
    """Pearson correlation of each feature with "the network chose action a" (0/1).

    Shape (F, A); NaN where a feature did not vary or an action was always/never chosen
    (a correlation is undefined there).
    """
    x = np.asarray(observations, dtype=np.float64)
    a = np.asarray(actions).reshape(-1)
    if x.ndim != 2 or x.shape[0] != a.size:
        raise ValueError(f"{x.shape[0] if x.ndim == 2 else '?'} observations but {a.size} actions")
    n_features = x.shape[1]
    out = np.full((n_features, n_actions), np.nan)
    keep = np.all(np.isfinite(x), axis=1)
    x, a = x[keep], a[keep]
    if x.shape[0] < 2:
        return out
    chosen = (a[:, None] == np.arange(n_actions)[None, :]).astype(np.float64)
    xc, cc = x - x.mean(axis=0), chosen - chosen.mean(axis=0)
    sx, sc = np.sqrt((xc**2).sum(axis=0)), np.sqrt((cc**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (xc.T @ cc) / np.outer(sx, sc)
    ok = np.outer(sx > 1e-12 * max(1.0, np.abs(x).max()), sc > 0)
    out[ok] = np.clip(corr[ok], -1, 1)
    return out


def correlation_figure(corr, feature_names: Sequence[str], action_names: Sequence[str], n_states: int,
                       height: int | None = None) -> go.Figure:
    c = np.asarray(corr, dtype=np.float64)
    if c.ndim != 2 or c.size == 0 or n_states < 2:
        return empty_figure("needs a few recent game states; waiting for the worker", height=320)
    feats = [str(feature_names[i]) if i < len(feature_names) else f"x{i}" for i in range(c.shape[0])]
    acts = [str(action_names[i]) if i < len(action_names) else f"action {i}" for i in range(c.shape[1])]
    text = [["" if not math.isfinite(v) else f"{v:+.2f}" for v in row] for row in c]
    data = [dict(type="heatmap", z=[[v if math.isfinite(v) else None for v in row] for row in c.tolist()],
                 x=acts, y=feats, zmin=-1, zmax=1, colorscale=COLORSCALE, text=text, texttemplate="%{text}",
                 hoverongaps=False, hovertemplate="%{y} vs choosing %{x}: %{z:.2f}<extra></extra>",
                 colorbar=dict(title=dict(text="r"), thickness=12))]
    blank = int((~np.isfinite(c)).sum())
    note = f"<br><sup>blank: feature did not vary or action never/always chosen ({blank} cells)</sup>" if blank else ""
    return _figure(data, f"features vs the network's choice, last {n_states} states{note}",
                   height=height or max(300, 26 * c.shape[0] + 110), yaxis=dict(autorange="reversed"))


def response_figure(values, q, action_names: Sequence[str], feature_name: str, current: float | None,
                    chosen: int | None = None) -> go.Figure:
    """Q per action as one feature sweeps its recent range, the others held fixed."""
    v = _clean(values) if values is not None else np.zeros(0)
    qa = np.asarray(q, dtype=np.float64) if q is not None else np.zeros((0, 0))
    if v.size == 0 or qa.ndim != 2 or qa.shape[0] != v.size:
        return empty_figure("waiting for the worker's first attribution sample", height=300)
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]
    constant = bool(np.nanmax(v) - np.nanmin(v) <= 0)
    data = []
    for a in range(qa.shape[1]):
        name = str(action_names[a]) if a < len(action_names) else f"action {a}"
        colour = palette[a % len(palette)]
        data.append(dict(type="scatter", x=v[:1] if constant else v, y=qa[:1, a] if constant else qa[:, a],
                         mode="markers" if constant else "lines", name=name,
                         line=dict(width=3 if a == chosen else 1.8, color=colour), marker=dict(size=10, color=colour),
                         hovertemplate=f"{name}: Q %{{y:.3f}} at {feature_name} = %{{x:.3f}}<extra></extra>"))
    shapes, notes = [], []
    if current is not None and math.isfinite(current):
        shapes.append(_vline(float(current), color="#444", width=1.2, dash="dash"))
        notes.append(dict(text="now", x=float(current), xref="x", y=1, yref="paper", yanchor="bottom",
                          showarrow=False, font=dict(size=11)))
    title = f"Q-values as {feature_name} varies" + (
        "<br><sup>this feature had one value in all recent states, so there is no range to sweep</sup>"
        if constant else "")
    return _figure(data, title, height=300, xaxis=_title(feature_name), yaxis=_title("Q-value"), shapes=shapes,
                   annotations=notes, showlegend=True, legend=dict(orientation="h", y=-0.25))
