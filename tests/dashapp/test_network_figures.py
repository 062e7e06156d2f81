"""Pure figure builders of the network view: layout, edge selection, patches, statistics."""

from __future__ import annotations

import base64
import copy
import json
import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from dashapp.figures import network as N
from health import thresholds as TH


def make_net(sizes=(3, 4, 2), seed=0, activation="relu", history=20, weights=True, **kw):
    rng = np.random.default_rng(seed)
    n = len(sizes)
    kinds = ("input",) + ("hidden",) * (n - 2) + ("output",)
    names = ("input",) + tuple(f"fc{i}" for i in range(1, n - 1)) + ("q_out",)
    acts = ("input",) + (activation,) * (n - 2) + ("linear",)
    values = tuple(rng.random(s) for s in sizes)
    ws = (None,) + tuple(rng.normal(size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:])) if weights else (None,) * n
    hist = (None,) + tuple(rng.random((history, s)) for s in sizes[1:-1]) + (None,)
    args = dict(names=names, kinds=kinds, activations=acts, values=values, weights=ws, histories=hist,
                feature_names=tuple(f"feat {i}" for i in range(sizes[0])),
                action_names=tuple(f"act {i}" for i in range(sizes[-1])), action=0, step=7)
    args.update(kw)
    return N.NetworkData(**args)


def apply(fig_dict: dict, paths: dict) -> dict:
    """What the browser does with a Patch: assign each path."""
    out = copy.deepcopy(fig_dict)
    for path, value in paths.items():
        target = out
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return out


def decode(value):
    """A trace array as a float list, whether plain or in plotly's typed-array form."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype={"f4": "<f4", "f8": "<f8", "i4": "<i4",
                                                                      "i1": "i1", "u1": "u1"}[value["dtype"]]).tolist()
    return list(np.asarray(value, dtype=float))


def as_json(fig) -> dict:
    return json.loads(pio.to_json(fig))


# --------------------------------------------------------------------------- layout
def test_column_positions():
    pos = N.column_positions([3, 1, 0, 20], max_gap=0.1, span=1.0)
    assert [p.shape for p in pos] == [(3, 2), (1, 2), (0, 2), (20, 2)]
    np.testing.assert_allclose(pos[0], [[0, 0.1], [0, 0.0], [0, -0.1]])  # small: max_gap apart, centred
    np.testing.assert_allclose(pos[1], [[1, 0.0]])
    ys = pos[3][:, 1]  # wide: fills the span, top to bottom, evenly
    assert ys[0] == pytest.approx(0.5) and ys[-1] == pytest.approx(-0.5)
    np.testing.assert_allclose(np.diff(ys), -1 / 19)
    assert np.all(pos[3][:, 0] == 3)
    with pytest.raises(ValueError):
        N.column_positions([-1])


# --------------------------------------------------------------------------- edges
def test_top_k_edges_by_hand():
    w = np.array([[1.0, -5.0, 2.0],
                  [0.5, 0.1, -3.0]])
    # k=1: strongest incoming of dst0 is src1 (-5), of dst1 src2 (-3); strongest outgoing of
    # src0 -> dst0 (1 > 0.5), src1 -> dst0 (5 > 0.1), src2 -> dst1 (3 > 2)
    src, dst, val = N.top_k_edges(w, 1)
    assert src.tolist() == [0, 1, 2] and dst.tolist() == [0, 0, 1]
    assert val.tolist() == [1.0, -5.0, -3.0]
    src, dst, val = N.top_k_edges(w, 3)  # k >= both sizes: every edge
    assert len(val) == 6 and sorted(val.tolist()) == sorted(w.ravel().tolist())


def test_top_k_edges_ties_go_to_the_lower_index():
    src, dst, _ = N.top_k_edges(np.ones((3, 3)), 1)
    assert sorted(zip(dst.tolist(), src.tolist())) == [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0)]
    src, dst, _ = N.top_k_edges(np.ones((4, 4)), 2)
    pairs = set(zip(dst.tolist(), src.tolist()))
    assert pairs == {(d, s) for d in range(4) for s in range(2)} | {(d, s) for d in range(2) for s in range(4)}


def test_top_k_edges_every_neuron_keeps_its_k_strongest_both_ways():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(64, 32))
    k = 3
    src, dst, val = N.top_k_edges(w, k)
    kept = set(zip(dst.tolist(), src.tolist()))
    for d in range(64):
        for s in np.argsort(-np.abs(w[d]))[:k]:
            assert (d, s) in kept
    for s in range(32):
        for d in np.argsort(-np.abs(w[:, s]))[:k]:
            assert (d, s) in kept
    assert len(kept) <= 64 * k + 32 * k
    np.testing.assert_array_equal(val, w[dst, src])


def test_top_k_edges_skips_non_finite_and_rejects_bad_input():
    w = np.array([[np.nan, 1.0], [np.inf, -np.inf]])
    src, dst, val = N.top_k_edges(w, 2)
    assert val.tolist() == [1.0]
    assert N.top_k_edges(np.full((2, 2), np.nan), 1)[2].size == 0
    assert N.top_k_edges(np.zeros((0, 3)), 1)[2].size == 0
    with pytest.raises(ValueError):
        N.top_k_edges(np.ones(3), 1)
    with pytest.raises(ValueError):
        N.top_k_edges(np.ones((2, 2)), 0)


def test_edge_bins_split_by_sign_and_relative_strength():
    net = make_net((2, 2, 1))
    w1 = np.array([[1.0, -0.2], [-0.9, 0.5]])
    w2 = np.array([[0.01, -2.0]])
    net = N.NetworkData(**{**net.__dict__, "weights": (None, w1, w2)})
    bins = N.edge_bins(net, k=2)
    count = [len(x) // 3 for x, _ in bins]
    # layer 1 (max 1.0): +1.0 strong, +0.5 medium, -0.9 strong, -0.2 weak
    # layer 2 (max 2.0): +0.01 weak, -2.0 strong
    assert count == [1, 1, 1, 1, 0, 2]  # pos weak/medium/strong, neg weak/medium/strong
    x, y = bins[3]  # negative weak: -0.2 (fc1 from input 1 to neuron 0)
    pos = N.column_positions(net.sizes)
    assert x[:2].tolist() == [0.0, 1.0]
    np.testing.assert_allclose(y[:2], [pos[0][1, 1], pos[1][0, 1]], rtol=1e-6)
    assert math.isnan(x[2]) and math.isnan(y[2])


# --------------------------------------------------------------------------- the graph
def n_segments(shapes) -> int:
    return sum(sh["path"].count("M") if isinstance(sh, dict) else sh.path.count("M") for sh in shapes)


def test_default_k_shrinks_for_wide_layers():
    assert N.default_k([12, 256, 256, 3]) == 3
    assert N.default_k([12, 512, 512, 512, 3]) == 1
    assert N.default_k([4, 16, 2]) == 3 and N.default_k([]) == 3


def test_nodes_and_edges_figures():
    net = make_net((3, 5, 4, 2))
    nodes = N.nodes_figure(net)
    c = 4
    assert len(nodes.data) == N.FIRST_NODE_TRACE + c + 2
    go.Figure(nodes.to_dict())  # every property valid (the builder skips validation for speed)
    for col in range(c):
        node = nodes.data[N.node_trace(col)]
        assert len(node.x) == net.sizes[col] and node.uid == f"nodes{col}"
        assert [list(cd) for cd in node.customdata] == [[col, i] for i in range(net.sizes[col])]
        np.testing.assert_allclose(node.marker.color, net.values[col], rtol=1e-3)  # 4 significant digits
    assert list(nodes.data[N.node_trace(0)].text) == ["feat 0", "feat 1", "feat 2"]
    out_text = list(nodes.data[N.node_trace(3)].text)
    assert out_text[0].startswith("act 0") and "best" in out_text[0] and "best" not in out_text[1]
    labels = nodes.data[N.label_trace(c)]
    assert [list(cd) for cd in labels.customdata] == [[i, -1] for i in range(c)]
    assert "fc1 (5, relu)" in labels.text[1] and "Q-values (2)" in labels.text[3]
    dueling = N.NetworkData(**{**net.__dict__, "names": net.names[:-1] + ("advantage_out",)})
    assert N.column_title(dueling, 3) == "Q-values (2)<br>lines: advantage_out"
    assert len(nodes.data[N.ring_trace(c)].x) == 0 and nodes.layout.shapes == ()
    assert nodes.layout.paper_bgcolor == "rgba(0,0,0,0)"  # drawn over the edges
    edges = N.edges_figure(net, k=2)
    go.Figure(edges.to_dict())
    assert len(edges.data) == 0
    expected = sum(len(N.top_k_edges(net.weights[i], 2)[0]) for i in range(1, c))
    assert n_segments(edges.layout.shapes) == expected
    # both figures share the same geometry, so the nodes sit on their edges
    for key in ("height", "margin", "xaxis", "yaxis"):
        assert edges.layout[key] == nodes.layout[key]


def test_edge_path_by_hand():
    xs = np.array([0, 1, np.nan, 1, 2, np.nan], dtype=np.float32)
    ys = np.array([0.5, -0.25, np.nan, 0.0, 0.125, np.nan], dtype=np.float32)
    assert N.edge_path(xs, ys) == "M0,0.5000L1,-0.2500M1,0.0000L2,0.1250"


def test_figures_handle_nan_missing_weights_and_empty_layers():
    net = make_net((3, 4, 2), weights=False)
    vals = (np.array([np.nan, 1.0, 2.0]), np.full(4, np.nan), np.array([np.inf, 1.0]))
    net = N.NetworkData(**{**net.__dict__, "values": vals})
    fig = N.nodes_figure(net)
    go.Figure(fig.to_dict())
    assert N.edges_figure(net).layout.shapes == ()
    assert list(fig.data[N.node_trace(1)].marker.color) == [N.NO_VALUE] * 4
    assert fig.data[N.node_trace(0)].marker.color[0] == N.NO_VALUE
    assert fig.data[N.node_trace(1)].marker.cmax == 1.0
    assert "?" in fig.data[N.node_trace(2)].text[0]
    # weights of the wrong shape are not drawn (rather than mis-drawn)
    bad = N.NetworkData(**{**net.__dict__, "weights": (None, np.ones((3, 4)), np.ones((2, 4)))})
    assert n_segments(N.edges_figure(bad).layout.shapes) == 8


def test_activation_patch_equals_a_rebuild_and_is_small():
    net = make_net((12, 256, 256, 3))
    before = as_json(N.nodes_figure(net))
    later = make_net((12, 256, 256, 3), seed=5)
    later = N.NetworkData(**{**later.__dict__, "weights": net.weights, "action": 2})
    patch = N.activation_patch(later)
    patched = apply(before, patch)
    rebuilt = as_json(N.nodes_figure(later))
    for c in range(4):
        t = N.node_trace(c)
        got, want = patched["data"][t]["marker"], rebuilt["data"][t]["marker"]
        assert got["color"] == want["color"] and got["cmax"] == want["cmax"] and got["cmin"] == want["cmin"]
    assert patched["data"][N.node_trace(3)]["text"] == rebuilt["data"][N.node_trace(3)]["text"]
    # only colours travel: the patch is a small fraction of the graph
    assert {p[0] for p in patch} == {"data"} and {p[2] for p in patch} <= {"marker", "text"}
    whole = len(pio.to_json(N.nodes_figure(later))) + len(pio.to_json(N.edges_figure(later)))
    assert len(json.dumps(list(patch.values()))) < 0.1 * whole


def test_edges_patch_equals_a_rebuild_with_the_new_k():
    net = make_net((6, 16, 3))
    patched = apply(as_json(N.edges_figure(net, k=1)), N.edges_patch(net, 4))
    rebuilt = as_json(N.edges_figure(net, k=4))
    assert patched["layout"]["shapes"] == rebuilt["layout"]["shapes"]
    assert n_segments(rebuilt["layout"]["shapes"]) > n_segments(as_json(N.edges_figure(net, k=1))["layout"]["shapes"])


def test_selection_highlights_the_neuron_and_its_edges():
    net = make_net((3, 5, 2), seed=2)
    sel = {"kind": "neuron", "column": 1, "index": 3}
    patch = N.selection_patch(net, sel)
    pos = N.column_positions(net.sizes)
    ring = N.ring_trace(3)
    assert patch[("data", ring, "x")] == [1.0] and patch[("data", ring, "y")] == [pytest.approx(pos[1][3, 1])]
    n_pos = len(decode(patch[("data", N.HILITE_POS, "x")])) // 3
    n_neg = len(decode(patch[("data", N.HILITE_NEG, "x")])) // 3
    incoming, outgoing = net.weights[1][3], net.weights[2][:, 3]
    assert n_pos == int((incoming > 0).sum() + (outgoing > 0).sum())
    assert n_neg == int((incoming < 0).sum() + (outgoing < 0).sum())
    # the same as building the figure with the selection
    built = as_json(N.nodes_figure(net, selection=sel))
    patched = apply(as_json(N.nodes_figure(net)), patch)
    for t in (N.HILITE_POS, N.HILITE_NEG):
        np.testing.assert_allclose(decode(patched["data"][t]["x"]), decode(built["data"][t]["x"]), equal_nan=True)
        np.testing.assert_allclose(decode(patched["data"][t]["y"]), decode(built["data"][t]["y"]), rtol=1e-6,
                                   equal_nan=True)
    assert patched["data"][ring]["y"] == pytest.approx(built["data"][ring]["y"])
    # clearing removes it all
    cleared = N.selection_patch(net, None)
    assert cleared[("data", ring, "x")] == [] and cleared[("layout", "shapes")] == []
    assert decode(cleared[("data", N.HILITE_POS, "x")]) == []


def test_selected_neuron_edges_are_capped():
    net = make_net((200, 2, 2))
    patch = N.selection_patch(net, {"kind": "neuron", "column": 1, "index": 0})
    n = sum(len(decode(patch[("data", t, "x")])) // 3 for t in (N.HILITE_POS, N.HILITE_NEG))
    assert n == N.SELECTED_EDGES + 2  # the 64 strongest of 200 incoming, both outgoing


def test_layer_selection_draws_a_box_and_stale_selections_are_ignored():
    net = make_net((3, 5, 2))
    patch = N.selection_patch(net, {"kind": "layer", "column": 2})
    (box,) = patch[("layout", "shapes")]
    assert box["x0"] < 2 < box["x1"]
    assert N.nodes_figure(net, selection={"kind": "layer", "column": 2}).layout.shapes[0].x0 == box["x0"]
    for stale in ({"kind": "neuron", "column": 1, "index": 99}, {"kind": "layer", "column": 9},
                  {"kind": "neuron", "column": True, "index": 0}, "nonsense", None):
        p = N.selection_patch(net, stale)
        assert p[("data", N.ring_trace(3), "x")] == [] and p[("layout", "shapes")] == []


def test_selection_from_click():
    click = {"points": [{"curveNumber": 9, "pointNumber": 4, "customdata": [1, 4]}]}
    assert N.selection_from_click(click) == {"kind": "neuron", "column": 1, "index": 4}
    assert N.selection_from_click({"points": [{"customdata": [2, -1]}]}) == {"kind": "layer", "column": 2}
    for junk in (None, {}, {"points": []}, {"points": [{"x": 1}]}, {"points": [{"customdata": "ab"}]},
                 {"points": [{"customdata": [-1, 0]}]}, {"points": [{"customdata": [1.5, 2]}]}):
        assert N.selection_from_click(junk) is None


# --------------------------------------------------------------------------- statistics
def test_layer_stats_by_hand():
    # four ReLU neurons over 3 samples: 0 silent (dead), 1 always on, 2 and 3 sometimes
    history = np.array([[0.0, 1.0, 0.0, 2.0],
                        [0.0, 2.0, 3.0, 0.0],
                        [0.005, 3.0, 0.0, 0.0]])
    w = np.array([[1.0, -1.0], [2.0, 0.0], [-2.0, 4.0], [0.0, 1.0]])
    net = N.NetworkData(names=("input", "fc1", "q_out"), kinds=("input", "hidden", "output"),
                        activations=("input", "relu", "linear"),
                        values=(np.zeros(2), history[-1], np.zeros(1)), weights=(None, w, np.ones((1, 4))),
                        histories=(None, history, None))
    s = N.layer_stats(net, 1)
    assert s["size"] == 4 and s["samples"] == 3
    assert s["mean_abs_activation"] == pytest.approx(np.abs(history).mean())
    assert s["dead"] == 1 and s["dead_share"] == 0.25
    assert s["saturated"] is None and s["saturation_rate"] is None  # ReLU has no upper limit
    assert s["always_active"] == 1
    assert s["weights"] == {"mean": pytest.approx(0.625), "std": pytest.approx(np.std(w)), "min": -2.0, "max": 4.0,
                            "count": 8, "non_finite": 0}
    assert N.neuron_stats(net, 1, 0)["status"] == "dead"
    assert N.neuron_stats(net, 1, 2)["status"] == "active"
    assert N.neuron_stats(net, 1, 1)["mean"] == pytest.approx(2.0)


def test_layer_stats_saturation_for_tanh_and_window():
    # 150 samples: the window is the last LIVE_DEAD_WINDOW; neuron 0 saturated there only
    h = np.zeros((150, 2)) + 0.3
    h[-TH.LIVE_DEAD_WINDOW:, 0] = 0.99
    h[:, 1] = np.linspace(-0.5, 0.5, 150)
    net = N.NetworkData(names=("input", "fc1", "q_out"), kinds=("input", "hidden", "output"),
                        activations=("input", "tanh", "linear"), values=(np.zeros(1), h[-1], np.zeros(1)),
                        weights=(None, None, None), histories=(None, h, None))
    s = N.layer_stats(net, 1)
    assert s["samples"] == TH.LIVE_DEAD_WINDOW
    assert s["saturated"] == 1 and s["saturation_rate"] == 0.5 and s["dead"] == 0
    assert s["always_active"] is None
    assert N.neuron_stats(net, 1, 0)["status"] == "saturated"
    assert math.isnan(s["weights"]["mean"])


def test_stats_without_history_and_for_inputs():
    net = make_net((3, 4, 2))
    net = N.NetworkData(**{**net.__dict__, "histories": ()})
    s = N.layer_stats(net, 1)
    assert s["samples"] == 0 and s["dead"] is None
    assert s["mean_abs_activation"] == pytest.approx(np.abs(net.values[1]).mean())
    assert N.neuron_stats(net, 1, 0)["status"] == "unknown"
    inp = N.neuron_stats(net, 0, 2)
    assert inp["label"] == "feat 2" and inp["status"] == "input"
    assert N.weight_stats(np.array([np.nan, 1.0, 3.0]))["non_finite"] == 1


def test_feature_action_correlation():
    obs = np.array([[0.0, 5.0], [1.0, 5.0], [0.0, 5.0], [1.0, 5.0], [np.nan, 1.0]])
    actions = np.array([0, 1, 0, 1, 2])
    c = N.feature_action_correlation(obs, actions, 3)
    assert c.shape == (2, 3)
    assert c[0, 0] == pytest.approx(-1.0) and c[0, 1] == pytest.approx(1.0)
    assert math.isnan(c[0, 2])  # the NaN row is dropped: action 2 never chosen
    assert np.all(np.isnan(c[1]))  # a constant feature
    rng = np.random.default_rng(0)
    x, a = rng.random((200, 3)), rng.integers(0, 2, 200)
    c = N.feature_action_correlation(x, a, 2)
    for f in range(3):
        assert c[f, 1] == pytest.approx(np.corrcoef(x[:, f], a == 1)[0, 1])
    assert np.all(np.isnan(N.feature_action_correlation(x[:1], a[:1], 2)))
    with pytest.raises(ValueError):
        N.feature_action_correlation(x, a[:5], 2)


# --------------------------------------------------------------------------- small figures
def _annotation(fig) -> str:
    return " ".join(a.text for a in fig.layout.annotations)


def test_small_figures_empty_and_nan():
    assert "no activation samples" in _annotation(N.sparkline_figure(None))
    assert "no activation samples" in _annotation(N.sparkline_figure([np.nan, np.nan]))
    assert "nothing to show" in _annotation(N.histogram_figure([np.nan], "incoming weights"))
    assert "waiting" in _annotation(N.contribution_figure(None, ["a"], 0, None))
    assert "waiting" in _annotation(N.saliency_figure(None, [], "saliency", "LEFT"))
    assert "waiting" in _annotation(N.correlation_figure(np.zeros((0, 0)), [], [], 0))
    assert "waiting" in _annotation(N.response_figure(None, None, [], "x", None))
    assert "feeds nothing" in _annotation(N.outgoing_figure(None, None))


def valid(fig):
    """The builders skip plotly's validation for speed: validate here, the slow way."""
    go.Figure(fig.to_dict())
    return fig


def test_small_figures_with_data():
    fig = valid(N.sparkline_figure([0.0, 1.0, np.nan, 2.0]))
    assert list(fig.data[0].x) == [-3, -2, -1, 0] and fig.data[1].y[0] == 2.0
    fig = valid(N.histogram_figure([1.0, 1.0, 1.0], "w"))  # a single value still shows one bar
    assert sum(fig.data[0].y) == 3
    fig = valid(N.outgoing_figure([0.5, -1.0, 2.0], ["L", "S", "R"]))
    assert list(fig.data[0].x) == ["L", "S", "R"] and fig.data[0].marker.color[1] == "#b2182b"
    assert valid(N.outgoing_figure(np.ones(40), None)).data[0].type == "bar"  # histogram of 40 weights
    fig = valid(N.contribution_figure([1.0, -2.0], ["L", "R"], 1, 12))
    assert "step 12" in fig.layout.title.text and list(fig.data[0].marker.line.width) == [0, 3]
    fig = valid(N.saliency_figure([0.1, -0.3], ["ball x", "paddle x"], "integrated gradients", "LEFT", step=4))
    assert list(fig.data[0].y) == ["ball x", "paddle x"] and fig.data[0].marker.color[1] == "#b2182b"
    assert fig.layout.title.text == "integrated gradients: LEFT<br><sup>step 4</sup>"
    fig = valid(N.saliency_figure([0.1, 0.3], ["ball x"], "saliency", "LEFT"))
    assert list(fig.data[0].y) == ["ball x", "x1"] and set(fig.data[0].marker.color) == {"#2166ac"}
    fig = valid(N.correlation_figure(np.array([[0.5, np.nan]]), ["ball x"], ["L", "R"], 30))
    assert fig.data[0].text[0][1] == "" and "blank" in fig.layout.title.text
    fig = valid(N.response_figure([0, 1, 2], [[1, 2], [2, 2], [3, 2]], ["L", "R"], "ball x", 1.5, chosen=0))
    assert len(fig.data) == 2 and fig.data[0].line.width == 3 and fig.layout.shapes[0].x0 == 1.5
    fig = valid(N.response_figure([1, 1, 1], [[1, 2]] * 3, ["L", "R"], "brick 1", 1.0))
    assert fig.data[0].mode == "markers" and "one value" in fig.layout.title.text


def test_every_panel_explains_itself():
    for key in ("graph", "neuron", "contribution", "layer", "saliency", "correlation", "response"):
        assert len(N.EXPLAIN[key].split()) >= 15
