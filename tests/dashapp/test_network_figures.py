"""Pure builders of the network view: layout, edge selection, what the canvas is sent
(``figures.graph``), the inspector's statistics and charts (``figures.inspector``) and the
analysis figures (``figures.analysis``)."""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from dashapp.figures import analysis as A
from dashapp.figures import graph as G
from dashapp.figures import inspector as I
from dashapp.figures.common import color
from dashapp.read.network import NetworkData
from health import live_rules as LR
from health import thresholds as TH
from rl import telemetry as T


def make_net(sizes=(3, 4, 2), seed=0, activation="relu", history=20, weights=True, **kw):
    rng = np.random.default_rng(seed)
    n = len(sizes)
    kinds = ("input",) + ("hidden",) * (n - 2) + ("output",)
    names = ("input",) + tuple(f"fc{i}" for i in range(1, n - 1)) + ("q_out",)
    acts = ("input",) + (activation,) * (n - 2) + ("linear",)
    values = tuple(rng.random(s) for s in sizes)
    ws = (None,) + tuple(rng.normal(size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:])) if weights else (None,) * n
    hist = (None,) + tuple(rng.random((history, s)) for s in sizes[1:-1]) + (None,)
    args = dict(
        names=names,
        kinds=kinds,
        activations=acts,
        values=values,
        weights=ws,
        histories=hist,
        input_names=tuple(f"feat {i}" for i in range(sizes[0])),
        output_names=tuple(f"act {i}" for i in range(sizes[-1])),
        action=0,
        step=7,
    )
    args.update(kw)
    return NetworkData(**args)


# --------------------------------------------------------------------------- layout
def test_column_positions():
    pos = G.column_positions([3, 1, 0, 20], max_gap=0.1, span=1.0)
    assert [p.shape for p in pos] == [(3, 2), (1, 2), (0, 2), (20, 2)]
    np.testing.assert_allclose(pos[0], [[0, 0.1], [0, 0.0], [0, -0.1]])  # small: max_gap apart, centred
    np.testing.assert_allclose(pos[1], [[1, 0.0]])
    ys = pos[3][:, 1]  # wide: fills the span, top to bottom, evenly
    assert ys[0] == pytest.approx(0.5) and ys[-1] == pytest.approx(-0.5)
    np.testing.assert_allclose(np.diff(ys), -1 / 19)
    assert np.all(pos[3][:, 0] == 3)
    with pytest.raises(ValueError):
        G.column_positions([-1])


# --------------------------------------------------------------------------- edges
def test_top_k_edges_by_hand():
    w = np.array([[1.0, -5.0, 2.0], [0.5, 0.1, -3.0]])
    # k=1: strongest incoming of dst0 is src1 (-5), of dst1 src2 (-3); strongest outgoing of
    # src0 -> dst0 (1 > 0.5), src1 -> dst0 (5 > 0.1), src2 -> dst1 (3 > 2)
    src, dst, val = G.top_k_edges(w, 1)
    assert src.tolist() == [0, 1, 2] and dst.tolist() == [0, 0, 1]
    assert val.tolist() == [1.0, -5.0, -3.0]
    src, dst, val = G.top_k_edges(w, 3)  # k >= both sizes: every edge
    assert len(val) == 6 and sorted(val.tolist()) == sorted(w.ravel().tolist())


def test_top_k_edges_ties_go_to_the_lower_index():
    src, dst, _ = G.top_k_edges(np.ones((3, 3)), 1)
    assert sorted(zip(dst.tolist(), src.tolist())) == [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0)]
    src, dst, _ = G.top_k_edges(np.ones((4, 4)), 2)
    pairs = set(zip(dst.tolist(), src.tolist()))
    assert pairs == {(d, s) for d in range(4) for s in range(2)} | {(d, s) for d in range(2) for s in range(4)}


def test_top_k_edges_every_neuron_keeps_its_k_strongest_both_ways():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(64, 32))
    k = 3
    src, dst, val = G.top_k_edges(w, k)
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
    src, dst, val = G.top_k_edges(w, 2)
    assert val.tolist() == [1.0]
    assert G.top_k_edges(np.full((2, 2), np.nan), 1)[2].size == 0
    assert G.top_k_edges(np.zeros((0, 3)), 1)[2].size == 0
    with pytest.raises(ValueError):
        G.top_k_edges(np.ones(3), 1)
    with pytest.raises(ValueError):
        G.top_k_edges(np.ones((2, 2)), 0)


def test_edge_groups_split_by_sign_and_relative_strength():
    net = make_net((2, 2, 1))
    w1 = np.array([[1.0, -0.2], [-0.9, 0.5]])
    w2 = np.array([[0.01, -2.0]])
    net = NetworkData(**{**net.__dict__, "weights": (None, w1, w2)})
    groups = {(g["column"], g["sign"], g["level"]): list(zip(g["src"], g["dst"])) for g in G.edge_groups(net, k=2)}
    # layer 1 (strongest 1.0): +1.0 strong, +0.5 medium, -0.9 strong, -0.2 weak
    # layer 2 (strongest 2.0): +0.01 weak, -2.0 strong
    assert groups == {
        (1, 1, 2): [(0, 0)],
        (1, 1, 1): [(1, 1)],
        (1, -1, 2): [(0, 1)],
        (1, -1, 0): [(1, 0)],
        (2, 1, 0): [(0, 0)],
        (2, -1, 2): [(1, 0)],
    }


# --------------------------------------------------------------------------- the graph
def n_edges(scene) -> int:
    return sum(len(g["src"]) for g in scene["edges"])


def test_default_k_shrinks_for_wide_layers():
    assert G.default_k([12, 256, 256, 3]) == 3
    assert G.default_k([12, 512, 512, 512, 3]) == 1
    assert G.default_k([4, 16, 2]) == 3 and G.default_k([]) == 3


def test_graph_scene():
    net = make_net((3, 5, 4, 2))
    scene = G.graph_scene(net, k=2)
    json.dumps(scene, allow_nan=False)  # what travels to the browser is plain JSON
    cols = scene["columns"]
    assert [c["kind"] for c in cols] == ["input", "hidden", "hidden", "output"]
    assert [c["size"] for c in cols] == [3, 5, 4, 2]
    pos = G.column_positions(net.sizes)
    for c, col in enumerate(cols):
        np.testing.assert_allclose(col["y"], pos[c][:, 1], atol=1e-5)
    assert cols[0]["labels"] == ["feat 0", "feat 1", "feat 2"] and cols[3]["labels"] == ["act 0", "act 1"]
    assert cols[1]["labels"] is None  # hidden neurons are named by the page ("fc1 #3")
    assert cols[1]["title"] == ["fc1 (5, relu)"] and cols[3]["title"] == ["Q-values (2)"]
    assert cols[0]["title"] == ["inputs (3)"]
    dueling = NetworkData(**{**net.__dict__, "names": net.names[:-1] + ("advantage_out",)})
    assert G.column_title(dueling, 3) == ["Q-values (2)", "lines: advantage_out"]
    assert scene["k"] == 2 and scene["style"]["colorscale"] == G.COLORSCALE
    assert n_edges(scene) == sum(len(G.top_k_edges(net.weights[i], 2)[0]) for i in range(1, 4))
    assert G.graph_scene(net, k=99)["k"] == G.MAX_K and G.graph_scene(net, k=0)["k"] == 1
    assert n_edges(G.graph_scene(net, k=1)) < n_edges(scene)


def test_graph_values_are_the_colours_and_small():
    net = make_net((12, 256, 256, 3))
    values = G.graph_values(net)
    assert values["step"] == 7 and values["action"] == 0
    for c, v in enumerate(values["values"]):
        np.testing.assert_allclose(v, net.values[c], rtol=1e-3)  # 4 significant digits
        assert values["ranges"][c] == pytest.approx(np.abs(net.values[c]).max())
    # only the colours travel on a live update: a small part of what the scene holds
    assert len(json.dumps(values)) < 0.5 * len(json.dumps(G.graph_scene(net)))
    assert len(json.dumps(values)) < 6_000


def test_scene_and_values_handle_nan_missing_and_misshaped_weights():
    net = make_net((3, 4, 2), weights=False)
    vals = (np.array([np.nan, 1.0, 2.0]), np.full(4, np.nan), np.array([np.inf, 1.0]))
    net = NetworkData(**{**net.__dict__, "values": vals})
    assert G.graph_scene(net)["edges"] == []
    values = G.graph_values(net)
    json.dumps(values, allow_nan=False)
    assert values["values"][1] == [None] * 4 and values["values"][0][0] is None and values["values"][2][0] is None
    assert values["ranges"][1] == 1.0  # all NaN: a neutral range, not NaN
    huge = NetworkData(**{**net.__dict__, "values": (np.array([1.7977e308, 1.0, 2.0]),) + net.values[1:]})
    assert G.graph_values(huge)["values"][0][0] is None  # rounds up to inf: drawn grey, still valid JSON
    json.dumps(G.graph_values(huge), allow_nan=False)
    # weights of the wrong shape are not drawn (rather than mis-drawn)
    bad = NetworkData(**{**net.__dict__, "weights": (None, np.ones((3, 4)), np.ones((2, 4)))})
    assert n_edges(G.graph_scene(bad)) == 8
    assert G.graph_highlight(bad, {"kind": "neuron", "column": 1, "index": 0})["edges"] == [[2, 0, 1], [2, 1, 1]]
    empty = make_net((3, 0, 2))
    assert [c["y"] for c in G.graph_scene(empty)["columns"]][1] == []


def test_highlight_is_the_selected_neurons_own_weights():
    net = make_net((3, 5, 2), seed=2)
    hl = G.graph_highlight(net, {"kind": "neuron", "column": 1, "index": 3})
    assert (hl["column"], hl["index"]) == (1, 3)
    incoming, outgoing = net.weights[1][3], net.weights[2][:, 3]
    want = sorted(
        [[0, i, 1 if w >= 0 else -1] for i, w in enumerate(incoming)]
        + [[2, i, 1 if w >= 0 else -1] for i, w in enumerate(outgoing)]
    )
    assert sorted(hl["edges"]) == want
    # the first neuron of the input column has only outgoing edges; an output only incoming
    assert {e[0] for e in G.graph_highlight(net, {"kind": "neuron", "column": 0, "index": 1})["edges"]} == {1}
    assert {e[0] for e in G.graph_highlight(net, {"kind": "neuron", "column": 2, "index": 0})["edges"]} == {1}


def test_highlight_is_capped_and_ignores_stale_selections():
    net = make_net((200, 2, 2))
    hl = G.graph_highlight(net, {"kind": "neuron", "column": 1, "index": 0})
    assert len(hl["edges"]) == G.SELECTED_EDGES + 2  # the 64 strongest of 200 incoming, both outgoing
    strongest = np.argsort(-np.abs(net.weights[1][0]), kind="stable")[: G.SELECTED_EDGES]
    assert [e[1] for e in hl["edges"] if e[0] == 0] == strongest.tolist()
    for stale in (
        {"kind": "neuron", "column": 1, "index": 99},
        {"kind": "layer", "column": 1},
        {"kind": "neuron", "column": True, "index": 0},
        {"kind": "neuron", "column": 9, "index": 0},
        "nonsense",
        None,
    ):
        assert G.graph_highlight(net, stale) is None


def test_valid_selection():
    net = make_net((3, 5, 2))
    assert G.valid_selection(net, {"kind": "neuron", "column": 1, "index": 4}) == {
        "kind": "neuron",
        "column": 1,
        "index": 4,
    }
    assert G.valid_selection(net, {"kind": "layer", "column": 2, "extra": "x"}) == {"kind": "layer", "column": 2}
    for junk in (
        None,
        {},
        [],
        {"kind": "neuron", "column": 1, "index": 5},
        {"kind": "neuron", "column": 1},
        {"kind": "neuron", "column": 1.0, "index": 0},
        {"kind": "layer", "column": -1},
        {"kind": "neuron", "column": 1, "index": False},
        {"kind": "edge", "column": 1},
    ):
        assert G.valid_selection(net, junk) is None


# --------------------------------------------------------------------------- statistics
def judged(name, activation, window32) -> T.ActivationRecord:
    """The probe's activation record of one layer: the one judgement, on a float32 window."""
    summary = LR.summarize_neurons(window32, activation)
    layer = T.ActivationLayer(
        name=name,
        activation=activation,
        size=int(window32.shape[1]),
        samples=int(window32.shape[0]),
        mean=None,
        std=None,
        min=None,
        max=None,
        hist=[],
        hist_lo=None,
        hist_hi=None,
        window=summary["window"],
        dead=summary["dead"],
        saturated=summary["saturated"],
        always_active=summary["always_active"],
        states=summary["states"],
    )
    return T.ActivationRecord(step=1, samples=int(window32.shape[0]), layers=[layer])


def test_layer_stats_by_hand():
    # four ReLU neurons: 0 silent (dead), 1 always on, 2 and 3 sometimes
    rows = np.array([[0.0, 1.0, 0.0, 2.0], [0.0, 2.0, 3.0, 0.0], [0.005, 3.0, 0.0, 0.0]])
    window = np.tile(rows, (TH.LIVE_DEAD_WINDOW // 3 + 1, 1))[-TH.LIVE_DEAD_WINDOW :].astype(np.float32)
    w = np.array([[1.0, -1.0], [2.0, 0.0], [-2.0, 4.0], [0.0, 1.0]])
    net = NetworkData(
        names=("input", "fc1", "q_out"),
        kinds=("input", "hidden", "output"),
        activations=("input", "relu", "linear"),
        values=(np.zeros(2), window[-1], np.zeros(1)),
        weights=(None, w, np.ones((1, 4))),
        histories=(None, window.astype(np.float16), None),
    )
    record = judged("fc1", "relu", window)
    s = I.layer_stats(net, 1, record)
    assert s["size"] == 4 and s["samples"] == TH.LIVE_DEAD_WINDOW
    assert s["mean_abs_activation"] == pytest.approx(np.abs(window).mean(), rel=1e-3)
    assert s["judged"] and s["dead"] == 1 and s["dead_share"] == 0.25
    assert s["saturated"] is None and s["saturation_rate"] is None  # ReLU has no upper limit
    assert s["always_active"] == 1
    assert s["weights"] == {
        "mean": pytest.approx(0.625),
        "std": pytest.approx(np.std(w)),
        "min": -2.0,
        "max": 4.0,
        "count": 8,
        "non_finite": 0,
    }
    assert I.neuron_stats(net, 1, 0, record)["status"] == "dead"
    assert I.neuron_stats(net, 1, 2, record)["status"] == "active"
    assert I.neuron_stats(net, 1, 1, record)["mean"] == pytest.approx(window[:, 1].mean(), rel=1e-3)


def test_the_inspector_shows_the_probes_judgement_not_the_float16_history():
    # 0.009999 is below the dead threshold in float32; the float16 history rounds it up to
    # 0.0100021. The inspector follows the probe's float32 judgement (dead), and with fewer
    # samples than a full window it judges nothing at all.
    window = np.full((TH.LIVE_DEAD_WINDOW, 2), 0.009999, dtype=np.float32)
    window[::2, 1] = 0.5
    net = NetworkData(
        names=("input", "fc1", "q_out"),
        kinds=("input", "hidden", "output"),
        activations=("input", "relu", "linear"),
        values=(np.zeros(1), window[-1], np.zeros(1)),
        weights=(None, None, None),
        histories=(None, window.astype(np.float16).astype(np.float32), None),
    )
    record = judged("fc1", "relu", window)
    assert I.layer_stats(net, 1, record)["dead"] == 1
    stats = I.neuron_stats(net, 1, 0, record)
    assert stats["status"] == "dead"
    assert stats["why"].startswith(f"its output was never above 0.01 in magnitude in the last {TH.LIVE_DEAD_WINDOW}")
    early = judged("fc1", "relu", window[:3])
    assert I.layer_stats(net, 1, early)["dead"] is None and not I.layer_stats(net, 1, early)["judged"]
    assert I.neuron_stats(net, 1, 0, early)["status"] == "unknown"
    assert (
        I.neuron_stats(net, 1, 0, early)["why"]
        == f"not enough samples yet (3 of the {TH.LIVE_DEAD_WINDOW} a verdict needs)"
    )
    assert I.neuron_stats(net, 1, 0)["status"] == "unknown"  # no record at all
    leaky = judged("fc1", "leaky_relu", np.full((TH.LIVE_DEAD_WINDOW, 2), -0.3, dtype=np.float32))
    net_leaky = NetworkData(**{**net.__dict__, "activations": ("input", "leaky_relu", "linear")})
    why = I.neuron_stats(net_leaky, 1, 0, leaky)["why"]
    assert why.startswith(f"its output did not change over the last {TH.LIVE_DEAD_WINDOW} samples (variance < 1e-06)")


def test_layer_stats_saturation_for_tanh_and_window():
    # 150 samples: the probe judges the last LIVE_DEAD_WINDOW; neuron 0 saturated there only
    h = np.zeros((150, 2), dtype=np.float32) + 0.3
    h[-TH.LIVE_DEAD_WINDOW :, 0] = 0.99
    h[:, 1] = np.linspace(-0.5, 0.5, 150)
    net = NetworkData(
        names=("input", "fc1", "q_out"),
        kinds=("input", "hidden", "output"),
        activations=("input", "tanh", "linear"),
        values=(np.zeros(1), h[-1], np.zeros(1)),
        weights=(None, None, None),
        histories=(None, h, None),
    )
    record = judged("fc1", "tanh", h[-TH.LIVE_DEAD_WINDOW :])
    s = I.layer_stats(net, 1, record)
    assert s["samples"] == TH.LIVE_DEAD_WINDOW
    assert s["saturated"] == 1 and s["saturation_rate"] == 0.5 and s["dead"] == 0
    assert s["always_active"] is None
    assert I.neuron_stats(net, 1, 0, record)["status"] == "saturated"
    assert math.isnan(s["weights"]["mean"])


def test_nodes_without_names_get_the_fallback_labels():
    net = make_net((4, 3, 3), input_names=("ball x",), output_names=("LEFT", "STAY"))
    assert net.labels(0) == ["ball x", "x1", "x2", "x3"] and net.labels(2) == ["LEFT", "STAY", "action 2"]
    assert net.labels(1) == ["fc1 #0", "fc1 #1", "fc1 #2"]
    assert [net.label(0, 3), net.label(2, 1), net.label(2, 2), net.label(1, 2)] == ["x3", "STAY", "action 2", "fc1 #2"]
    assert G.graph_scene(net)["columns"][2]["labels"] == ["LEFT", "STAY", "action 2"]


def test_stats_without_history_and_for_inputs():
    net = make_net((3, 4, 2))
    net = NetworkData(**{**net.__dict__, "histories": ()})
    s = I.layer_stats(net, 1)
    assert s["samples"] == 0 and s["dead"] is None
    assert s["mean_abs_activation"] == pytest.approx(np.abs(net.values[1]).mean())
    assert I.neuron_stats(net, 1, 0)["status"] == "unknown"
    inp = I.neuron_stats(net, 0, 2)
    assert inp["label"] == "feat 2" and inp["status"] == "input"
    assert I.weight_stats(np.array([np.nan, 1.0, 3.0]))["non_finite"] == 1


def test_feature_action_correlation():
    obs = np.array([[0.0, 5.0], [1.0, 5.0], [0.0, 5.0], [1.0, 5.0], [np.nan, 1.0]])
    actions = np.array([0, 1, 0, 1, 2])
    c = A.feature_action_correlation(obs, actions, 3)
    assert c.shape == (2, 3)
    assert c[0, 0] == pytest.approx(-1.0) and c[0, 1] == pytest.approx(1.0)
    assert math.isnan(c[0, 2])  # the NaN row is dropped: action 2 never chosen
    assert np.all(np.isnan(c[1]))  # a constant feature
    rng = np.random.default_rng(0)
    x, a = rng.random((200, 3)), rng.integers(0, 2, 200)
    c = A.feature_action_correlation(x, a, 2)
    for f in range(3):
        assert c[f, 1] == pytest.approx(np.corrcoef(x[:, f], a == 1)[0, 1])
    assert np.all(np.isnan(A.feature_action_correlation(x[:1], a[:1], 2)))
    with pytest.raises(ValueError):
        A.feature_action_correlation(x, a[:5], 2)


# --------------------------------------------------------------------------- small figures
def _annotation(fig) -> str:
    return " ".join(a.text for a in fig.layout.annotations)


def test_analysis_figures_empty_and_nan():
    assert "waiting" in _annotation(A.saliency_figure(None, [], "saliency", "LEFT"))
    assert "waiting" in _annotation(A.correlation_figure(np.zeros((0, 0)), [], [], 0))
    assert "waiting" in _annotation(A.response_figure(None, None, [], "x", None))


def test_inspector_charts_say_why_they_are_empty():
    assert "no activation samples" in I.sparkline_chart(None) and "no activation samples" in I.sparkline_chart(
        [np.nan, np.nan]
    )
    assert "nothing to show" in I.histogram_chart([np.nan], "incoming weights")
    assert "waiting" in I.contribution_chart(None, ["a"], 0, None)
    assert "feeds nothing" in I.outgoing_chart(None, None)


def test_inspector_charts_with_data():
    assert I.outgoing_chart([0.5, -1.0, 2.0], ["L", "S", "R"]).count("<rect") == 1 + 3  # background + 3 bars
    assert "(to the next layer)" in I.outgoing_chart(np.ones(40), None)  # a histogram of 40 weights
    chart = I.contribution_chart([1.0, -2.0], ["L", "R"], 1, 12_000)
    assert "at step 12,000 (gradient x activation)" in chart and chart.count('stroke="#111"') == 1  # R outlined


def valid(fig):
    """The builders skip plotly's validation for speed: validate here, the slow way."""
    go.Figure(fig.to_dict())
    return fig


def test_analysis_figures_with_data():
    fig = valid(A.saliency_figure([0.1, -0.3], ["ball x", "paddle x"], "integrated gradients", "LEFT", step=4))
    assert list(fig.data[0].y) == ["ball x", "paddle x"] and fig.data[0].marker.color[1] == "#b2182b"
    assert fig.layout.title.text == "integrated gradients: LEFT<br><sup>step 4</sup>"
    fig = valid(A.saliency_figure([0.1, 0.3], ["ball x"], "saliency", "LEFT"))
    assert list(fig.data[0].y) == ["ball x", "x1"] and set(fig.data[0].marker.color) == {"#2166ac"}
    fig = valid(A.correlation_figure(np.array([[0.5, np.nan]]), ["ball x"], ["L", "R"], 30))
    assert fig.data[0].text[0][1] == "" and "blank" in fig.layout.title.text
    fig = valid(A.response_figure([0, 1, 2], [[1, 2], [2, 2], [3, 2]], ["L", "R"], "ball x", 1.5, chosen=0))
    assert len(fig.data) == 2 and fig.data[0].line.width == 3 and fig.layout.shapes[0].x0 == 1.5
    assert [t.line.color for t in fig.data] == [color(0), color(1)]  # each action's colour on every tab
    fig = valid(A.response_figure([0, 1], [[1, 2, 3], [2, 2, 2]], ["L"], "ball x", None))
    assert [t.name for t in fig.data] == ["L", "action 1", "action 2"] and fig.data[2].marker.color == color(2)
    fig = valid(A.response_figure([1, 1, 1], [[1, 2]] * 3, ["L", "R"], "brick 1", 1.0))
    assert fig.data[0].mode == "markers" and "one value" in fig.layout.title.text
