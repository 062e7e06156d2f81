"""Pure builders for the network view (numpy + plotly only, no I/O, no globals).

The network graph is drawn in the browser on a ``<canvas>`` (``assets/network_graph.js``):
a 3x512 network has 1,551 neurons and thousands of drawn weights, and redrawing that as
SVG every second (what a Plotly scatter does) costs the browser 100-200 ms a time, long
enough to swallow clicks. What the canvas draws comes from here, in three parts that
travel separately, so each update sends only what changed:

* :func:`graph_scene` -- the columns (positions, titles, input and output names) and
  the strongest edges (:func:`edge_groups`); sent again only for a new run or network,
  another *k*, or a new sample of the weights;
* :func:`graph_values` -- every neuron's current output: the live colours;
* :func:`graph_highlight` -- the selected neuron's own strongest weights.

The inspector's small charts are SVG (:mod:`dashapp.figures.svg`, shown at once on a
click); the analysis panels' charts are Plotly figures, built below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from dashapp.figures import svg as SVG
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


def column_title(net: NetworkData, column: int) -> list[str]:
    """The lines of text above a column."""
    kind, size = net.kinds[column], net.sizes[column]
    if kind == "input":
        return [f"inputs ({size})"]
    if kind == "output":
        head = net.names[column]
        # a dueling network's probe record names its advantage head: say where the lines come from
        return [f"Q-values ({size})"] if head in ("q_out", "output") else [f"Q-values ({size})", f"lines: {head}"]
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
                    groups.append({"column": c, "sign": sign, "level": b,
                                   "src": src[m].tolist(), "dst": dst[m].tolist()})
    return groups


def _color_range(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    m = float(finite.max()) if finite.size else 0.0
    return m if m > 0 else 1.0


def _clean(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _rounded(values: np.ndarray) -> list:
    """Node values for the browser: 4 significant digits; NaN/inf as None (drawn grey)."""
    out = [float(f"{v:.4g}") if math.isfinite(v) else None for v in values.tolist()]
    return [None if r is None or not math.isfinite(r) else r for r in out]  # 1.7977e308 rounds up to inf


#: How the browser draws the graph (assets/network_graph.js reads these from the scene,
#: so the look is defined once, here).
STYLE = {
    "colorscale": COLORSCALE,
    "no_value": "#d3d3d3",  # a node whose output is NaN or infinite
    "positive": POSITIVE, "negative": NEGATIVE,
    "edge_widths": list(EDGE_WIDTHS), "edge_alphas": list(EDGE_ALPHAS),
    "selected_width": 2.2, "selected_alpha": 0.95,
    "node_line": "#777", "title": "#1a4d80", "text": "#1f2933",
}


def graph_scene(net: NetworkData, k: int = DEFAULT_K) -> dict:
    """What the browser's network canvas draws that changes rarely -- sent when the run,
    the network's shape or ``k`` changes, or the weights were re-sampled.

    ``columns``: per column its name, kind, activation, title lines, the nodes' vertical
    positions (:func:`column_positions`; column ``c`` is drawn at x = c) and, for the
    input and output columns, the nodes' names. ``edges``: :func:`edge_groups`.
    """
    k = int(np.clip(k, 1, MAX_K))
    pos = column_positions(net.sizes)
    columns = [{"name": net.names[c], "kind": net.kinds[c], "activation": net.activations[c],
                "size": net.sizes[c], "title": column_title(net, c),
                "y": np.round(pos[c][:, 1], 5).tolist(),
                "labels": net.labels(c) if net.kinds[c] != "hidden" else None}
               for c in range(len(net.values))]
    return {"columns": columns, "edges": edge_groups(net, k), "k": k, "style": STYLE}


def graph_values(net: NetworkData) -> dict:
    """What changes with every probe sample: each column's outputs (4 significant
    digits, None where not finite) and the range its colours span (symmetric around 0),
    the action the network picks, and the step they were recorded at."""
    values = [_clean(v) for v in net.values]
    return {"step": int(net.step), "action": net.action, "values": [_rounded(v) for v in values],
            "ranges": [_color_range(v) for v in values]}


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


def _title(text: str) -> dict:
    return dict(title=dict(text=text))


# --------------------------------------------------------------------------- inspector charts
# SVG (dashapp.figures.svg), not Plotly: shown in a millisecond or two where four Plotly
# charts cost the browser most of a click's 200 ms.
def sparkline_chart(history, title: str = "activation over the last samples", ylabel: str = "output") -> str:
    """A line of recent values (oldest left), the newest marked."""
    return SVG.line_chart(history, title, ylabel, empty="no activation samples yet")


def histogram_chart(values, title: str, xlabel: str = "weight") -> str:
    return SVG.histogram_chart(values, title, xlabel)


def outgoing_chart(weights, target_names: Sequence[str] | None, title: str = "outgoing weights") -> str:
    """Outgoing weights: one bar per action when they go to the Q-values, else a histogram."""
    if weights is None:
        return SVG.message_chart(title, "this neuron feeds nothing further")
    if target_names is not None:
        return SVG.bar_chart(weights, list(target_names), title + " (to each action)", "weight")
    return SVG.histogram_chart(weights, title + " (to the next layer)")


def contribution_chart(contribution, action_names: Sequence[str], chosen: int | None, step: int | None,
                       method: str = "gradient x activation") -> str:
    """This neuron's contribution to each action's Q-value, the chosen action outlined."""
    title = "contribution to each Q-value"
    if contribution is None:
        return SVG.message_chart(title, "waiting for the worker's first attribution sample")
    when = f" at step {step:,}" if step is not None else ""
    return SVG.bar_chart(contribution, list(action_names), f"{title}{when} ({method})", "contribution",
                         highlight=chosen)


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
