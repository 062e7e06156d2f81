"""The Network tab's read functions and callbacks, over real run folders.

The run folders are written by the real probe and attribution publisher (see
``network_run.py``) through the real diskcache store; the callbacks are called directly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from dash import Patch, no_update

from dashapp import read
from dashapp.figures import network as N
from dashapp.tabs import network as TN
from rl import store as S
from rl import telemetry as T
from tests.dashapp.network_run import write_run

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "run-net"
    out = write_run(path, sizes=(12, 16, 8, 3), steps=30, seed=3)
    return path, out


def _ops(patch) -> list[tuple[list, object]]:
    return [(op["location"], op["params"].get("value")) for op in patch.to_plotly_json()["operations"]]


def _publish(path: Path, change) -> None:
    """Stand in for one more probe publish: rewrite NEURONS, append an ACTIVATIONS record."""
    with S.open_run(path) as store:
        neurons = store.get(T.NEURONS)
        change(neurons)
        store.put(T.NEURONS, neurons)
        store.append(T.ACTIVATIONS, [{"kind": "activations", "v": 1, "step": neurons["step"], "samples": 0,
                                      "layers": []}])


def test_dashboard_modules_do_not_import_torch():
    code = ("import sys; import dashapp.tabs.network, dashapp.app, dashapp.read, dashapp.figures.network; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# --------------------------------------------------------------------------- read
def test_network_snapshot_reads_what_the_probe_wrote(run):
    path, out = run
    net = read.network_snapshot(path)
    assert net.names == ("input", "fc1", "fc2", "q_out") and net.kinds == ("input", "hidden", "hidden", "output")
    assert net.sizes == [12, 16, 8, 3] and net.activations[1] == "relu"
    assert net.feature_names[:2] == ("ball x", "ball y") and net.action_names == ("LEFT", "STAY", "RIGHT")
    model = out["network"]
    np.testing.assert_allclose(net.weights[1], model.fc1.weight.detach().numpy())
    np.testing.assert_allclose(net.weights[3], model.q_out.weight.detach().numpy())
    assert net.histories[1].shape == (30, 16)
    # the current values are the network's real outputs for the current input
    import torch

    with torch.no_grad():
        x = torch.tensor(net.values[0], dtype=torch.float32)[None]
        h1 = model.relu1(model.fc1(x))[0].numpy()
        q = model(x)[0].numpy()
    np.testing.assert_allclose(net.values[1], h1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.values[3], q, rtol=1e-5, atol=1e-6)
    assert net.action == int(np.argmax(q))


def test_attribution_reads_what_the_publisher_wrote(run):
    path, out = run
    attr = read.attribution(path)
    rec = T.AttributionRecord.from_dict(out["attribution"])
    assert attr.step == rec.step == 30 and attr.method == "gradient x activation"
    assert set(attr.contributions) == {"fc1", "fc2"} and attr.contributions["fc2"].shape == (3, 8)
    np.testing.assert_allclose(attr.saliency, T.decode_array(rec.saliency))
    assert attr.recent_obs.shape == (30, 12) and attr.recent_actions.shape == (30,)
    assert attr.response_q.shape == (12, 25, 3)


def test_reads_before_anything_was_published_and_of_broken_records(tmp_path):
    meta = T.RunMeta(run_id="empty", env_id="x", agent="dqn", action_names=["a"], feature_names=["f"],
                     layers=[], config={}, created=0.0)
    S.create_run_dir(tmp_path / "empty", meta).close()
    assert read.network_snapshot(tmp_path / "empty") is None
    assert read.attribution(tmp_path / "empty") is None
    assert read.network_versions(tmp_path / "empty") == {"activations": -1, "weights": -1}
    with S.open_run(tmp_path / "empty") as store:
        bad_weight = {"dtype": "float32", "shape": [2, 2], "b64": "AAAA"}  # 3 bytes, not 16
        store.put(T.NEURONS, {"kind": "neurons", "v": 1, "step": 1, "layers": [{"name": "fc1", "weight": bad_weight}],
                              "output": None, "input": [], "q": [], "action": None})
        store.put(T.ATTRIBUTION, {"kind": "attribution", "v": T.SCHEMA_VERSION + 1})
    with pytest.raises(read.BrokenRun, match="network record cannot be read"):
        read.network_snapshot(tmp_path / "empty")
    with pytest.raises(read.BrokenRun, match="schema"):
        read.attribution(tmp_path / "empty")


# --------------------------------------------------------------------------- graph
def test_graph_builds_once_then_holds_still_when_nothing_is_new(run):
    path, _ = run
    edges, nodes, k, view = TN.update_graph(1, "network", 3, None, str(path), None)
    assert isinstance(nodes, go.Figure) and len(nodes.data) == N.FIRST_NODE_TRACE + 4 + 2
    assert isinstance(edges, go.Figure) and len(edges.layout.shapes) > 0
    assert view["drawn"] and view["k"] == k == N.default_k([12, 16, 8, 3])
    # paused (nothing published): nothing is sent, the selection is untouched
    assert TN.update_graph(2, "network", k, None, str(path), view) == (no_update,) * 4
    # another tab is visible: nothing is read or sent
    assert TN.update_graph(3, "live", k, None, str(path), view) == (no_update,) * 4


def test_graph_sends_only_colours_for_a_new_sample(tmp_path):
    path = tmp_path / "run"
    write_run(path, sizes=(12, 16, 8, 3), steps=8)
    edges0, nodes0, k, view = TN.update_graph(1, "network", 3, None, str(path), None)

    def new_sample(neurons):
        neurons["step"] += 1
        neurons["layers"][0]["current"] = [0.5] * 16

    _publish(path, new_sample)
    edges, patch, k2, view2 = TN.update_graph(2, "network", k, None, str(path), view)
    assert edges is no_update and k2 is no_update and isinstance(patch, Patch)
    ops = _ops(patch)
    allowed = {("marker", "color"), ("marker", "cmin"), ("marker", "cmax"), ("text",)}
    assert {tuple(loc[2:]) for loc, _ in ops} <= allowed
    colours = dict((tuple(loc), v) for loc, v in ops)[("data", N.node_trace(1), "marker", "color")]
    assert colours == [0.5] * 16
    assert view2["sample"] != view["sample"]
    whole = len(json.dumps([edges0.to_plotly_json(), nodes0.to_plotly_json()], default=str))
    assert len(json.dumps([v for _, v in ops])) < 0.2 * whole


def test_graph_selection_k_and_weight_changes_are_patches(tmp_path):
    path = tmp_path / "run"
    write_run(path, sizes=(12, 16, 8, 3), steps=8)
    _, _, k, view = TN.update_graph(1, "network", 3, None, str(path), None)
    sel = {"kind": "neuron", "column": 2, "index": 4}
    edges, patch, _, view = TN.update_graph(1, "network", k, sel, str(path), view)
    assert edges is no_update
    locs = {tuple(loc) for loc, _ in _ops(patch)}
    assert ("data", N.ring_trace(4), "x") in locs and ("data", N.HILITE_POS, "x") in locs
    assert not any(loc[2:] == ("marker", "color") for loc in locs)  # no new sample: no colours
    edges, patch, _, view = TN.update_graph(1, "network", 5, sel, str(path), view)  # k changed: edges only
    assert [tuple(loc) for loc, _ in _ops(edges)] == [("layout", "shapes")] and _ops(patch) == []
    assert view["k"] == 5

    def new_weights(neurons):
        w = T.decode_array(neurons["layers"][0]["weight"])
        neurons["layers"][0]["weight"] = T.encode_array(w * 2)

    _publish(path, new_weights)
    with S.open_run(path) as store:
        store.append(T.WEIGHTS, [{"kind": "weights", "v": 1, "step": 9, "updates": 1, "layers": []}])
    view["edges_at"] = 0  # the last edge redraw was long ago
    edges, patch, _, _ = TN.update_graph(2, "network", 5, sel, str(path), view)
    locs = {tuple(loc) for loc, _ in _ops(patch)}
    assert _ops(edges)[0][0] == ["layout", "shapes"] and ("data", N.node_trace(1), "marker", "color") in locs
    assert ("data", N.HILITE_POS, "x") in locs  # the selected neuron's edges follow the weights


def test_graph_without_a_run_or_before_the_first_sample(tmp_path):
    _, fig, _, view = TN.update_graph(1, "network", 3, None, None, None)
    assert "Choose a run" in fig.layout.annotations[0].text
    assert TN.update_graph(2, "network", 3, None, None, view) == (no_update,) * 4
    meta = T.RunMeta(run_id="r", env_id="x", agent="dqn", action_names=[], feature_names=[], layers=[], config={},
                     created=0.0)
    S.create_run_dir(tmp_path / "r", meta).close()
    _, fig, _, view = TN.update_graph(1, "network", 3, None, str(tmp_path / "r"), None)
    assert "Waiting" in fig.layout.annotations[0].text
    assert TN.update_graph(2, "network", 3, None, str(tmp_path / "r"), view) == (no_update,) * 4
    _, fig, _, view = TN.update_graph(1, "network", 3, None, str(tmp_path / "missing"), None)
    assert "cannot be read" in fig.layout.annotations[0].text


# --------------------------------------------------------------------------- inspector
def test_neuron_inspector_shows_history_weights_and_contribution(run):
    path, out = run
    sel = {"kind": "neuron", "column": 2, "index": 3}
    res = TN.update_inspector(1, "network", sel, str(path), None)
    hint, panel, title, facts, hist, contrib, inc, outg, layer_panel = res[:9]
    assert hint == TN.HIDDEN and panel == TN.SHOWN and layer_panel == TN.HIDDEN
    assert title == "fc2 · neuron #3 of 8 (relu)"
    net, attr = read.network_snapshot(path), read.attribution(path)
    np.testing.assert_allclose(hist.data[0].y, net.histories[2][:, 3], rtol=1e-6)  # its own history only
    np.testing.assert_allclose(contrib.data[0].y, attr.contributions["fc2"][:, 3], rtol=1e-6)
    assert "gradient x activation" in contrib.layout.title.text
    np.testing.assert_allclose(sum(inc.data[0].y), 16)  # 16 incoming weights
    assert list(outg.data[0].x) == ["LEFT", "STAY", "RIGHT"]  # feeds the Q-values directly
    np.testing.assert_allclose(outg.data[0].y, out["network"].q_out.weight.detach().numpy()[:, 3], rtol=1e-6)
    assert "output now" in json.dumps(facts.to_plotly_json(), default=str)
    # unchanged on the next poll: nothing is sent
    assert TN.update_inspector(2, "network", sel, str(path), res[-1]) == (no_update,) * 14


def test_layer_inspector_and_the_other_nodes(run):
    path, _ = run
    res = TN.update_inspector(1, "network", {"kind": "layer", "column": 1}, str(path), None)
    assert res[1] == TN.HIDDEN and res[8] == TN.SHOWN
    assert res[9] == "Layer fc1 (relu)"
    text = json.dumps(res[10].to_plotly_json(), default=str)
    for words in ("neurons", "16", "average |activation|", "dead", "saturation rate", "not applicable",
                  "weight mean", "weight min"):
        assert words in text
    np.testing.assert_allclose(sum(res[11].data[0].y), 16 * 12)
    title = TN.update_inspector(1, "network", {"kind": "neuron", "column": 0, "index": 4}, str(path), None)[2]
    assert title == "Input feature “paddle x”"
    res = TN.update_inspector(1, "network", {"kind": "neuron", "column": 3, "index": 1}, str(path), None)
    assert res[2] == "Action “STAY”: its Q-value" and len(res[4].data[0].y) == 30  # Q over the step records
    # nothing selected: the hint (once), stale selections are dropped
    assert TN.update_inspector(1, "network", None, str(path), None) == (no_update,) * 14
    assert TN.update_inspector(1, "network", None, str(path), {"x": 1})[0] == TN.SHOWN
    assert TN.update_inspector(1, "network", {"kind": "neuron", "column": 2, "index": 99}, str(path), {})[0] == TN.SHOWN


def test_dead_neuron_is_reported_as_dead(tmp_path):
    path = tmp_path / "run"
    write_run(path, sizes=(12, 16, 8, 3), steps=12, dead_layer="fc2")
    res = TN.update_inspector(1, "network", {"kind": "neuron", "column": 2, "index": 0}, str(path), None)
    assert "dead" in json.dumps(res[3].to_plotly_json(), default=str)
    layer = TN.update_inspector(1, "network", {"kind": "layer", "column": 2}, str(path), None)
    assert "8 (100.0%)" in json.dumps(layer[10].to_plotly_json(), default=str)


# --------------------------------------------------------------------------- analysis
def test_analysis_saliency_ig_correlation_and_response(run):
    path, _ = run
    attr = read.attribution(path)
    sal, caption, corr, resp, actions, features, value, view = TN.update_analysis(
        1, "saliency", TN.CHOICE, "0", "network", str(path), None)
    assert value is no_update  # "0" is a valid feature
    np.testing.assert_allclose(sal.data[0].x, attr.saliency[attr.action], rtol=1e-6)
    assert "(its choice)" in sal.layout.title.text and "Captum" in caption
    assert [o["label"] for o in actions] == ["the network's choice", "LEFT", "STAY", "RIGHT"]
    assert features[4] == {"label": "paddle x", "value": "4"}
    np.testing.assert_allclose(np.nan_to_num(np.array(corr.data[0].z, dtype=float)),
                               np.nan_to_num(N.feature_action_correlation(attr.recent_obs, attr.recent_actions, 3)))
    np.testing.assert_allclose(resp.data[0].x, attr.response_values[0])
    assert TN.update_analysis(2, "saliency", TN.CHOICE, "0", "network", str(path), view) == (no_update,) * 8
    sal, caption, *_ = TN.update_analysis(2, "ig", "2", "4", "network", str(path), view)
    np.testing.assert_allclose(sal.data[0].x, attr.integrated_gradients[2], rtol=1e-6)
    assert "RIGHT" in sal.layout.title.text and "Gauss-Legendre" in caption and "mean of the last" in caption
    resp = TN.update_analysis(2, "ig", "2", "4", "network", str(path), None)[3]
    assert resp.layout.xaxis.title.text == "paddle x"
    # the dropdown lost its value before its options arrived: the first feature is chosen
    out = TN.update_analysis(3, "saliency", TN.CHOICE, None, "network", str(path), None)
    assert out[6] == "0" and out[3].layout.xaxis.title.text == "ball x"
    assert TN.update_analysis(1, "ig", "2", "4", "live", str(path), None) == (no_update,) * 8


def test_every_panel_of_the_tab_explains_itself():
    tree = TN.layout()
    components = [tree, *tree._traverse()]
    texts = " ".join(comp.children for comp in components if isinstance(getattr(comp, "children", None), str))
    for key in ("graph", "neuron", "contribution", "layer", "saliency", "correlation", "response"):
        assert N.EXPLAIN[key] in texts
    ids = [comp.id for comp in components if getattr(comp, "id", None)]
    assert len(ids) > 20 and all(i.startswith("network-") for i in ids)
