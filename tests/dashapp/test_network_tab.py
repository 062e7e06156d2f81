"""The Network tab's read functions and callbacks, over real run folders.

The run folders are written by the real probe and attribution publisher (see
``network_run.py``) through the real diskcache store; the callbacks are called directly.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from dash import no_update

from dashapp import read
from dashapp.figures import analysis as A
from dashapp.figures import graph as G
from dashapp.tabs import network as TN
from dashapp.tabs.network import view as TV
from health import thresholds as TH
from rl import store as S
from rl import telemetry as T
from tests.dashapp.network_run import write_run
from tests.dashapp.reading import read_once

REPO = Path(__file__).resolve().parents[2]
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "run-net"
    out = write_run(path, sizes=(12, 16, 8, 3), steps=30, seed=3)
    return path, out


def _ops(patch) -> list[tuple[list, object]]:
    return [(op["location"], op["params"].get("value")) for op in patch.to_plotly_json()["operations"]]


NEURONS, ACTIVATIONS, WEIGHTS = (T.probe_key(base, "q_network") for base in (T.NEURONS, T.ACTIVATIONS, T.WEIGHTS))


def _publish(path: Path, change) -> None:
    """Stand in for one more probe publish: rewrite NEURONS, append an ACTIVATIONS record."""
    with S.open_run(path) as store:
        neurons = store.get(NEURONS)
        change(neurons)
        store.put(NEURONS, neurons)
        store.append(ACTIVATIONS, [T.ActivationRecord(step=neurons["step"], samples=0, layers=[]).to_dict()])


def snapshot(path, **kw):
    return read_once(path, read.network.snapshot, **kw)


def attribution(path):
    return read_once(path, read.network.attribution)


def versions(path) -> dict:
    return read_once(path, read.network.versions).as_dict()


def test_dashboard_modules_do_not_import_torch():
    code = (
        "import sys; import dashapp.tabs.network, dashapp.app, dashapp.read, dashapp.figures.graph, "
        "dashapp.figures.inspector, dashapp.figures.analysis; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# --------------------------------------------------------------------------- read
def test_network_snapshot_reads_what_the_probe_wrote(run):
    path, out = run
    net = snapshot(path)
    assert net.names == ("input", "fc1", "fc2", "q_out") and net.kinds == ("input", "hidden", "hidden", "output")
    assert net.sizes == [12, 16, 8, 3] and net.activations[1] == "relu" and net.network == "q_network"
    assert net.input_names[:2] == ("ball x", "ball y") and net.output_names == ("LEFT", "STAY", "RIGHT")
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


def test_snapshot_decodes_only_what_is_asked_for(run):
    path, _ = run
    whole = snapshot(path)
    light = snapshot(path, weights=False, histories=False)  # a live colour update
    assert light.weights == (None,) * 4 and light.biases == (None,) * 4 and light.histories == (None,) * 4
    assert light.shape_key() == whole.shape_key() and light.action == whole.action
    for a, b in zip(light.values, whole.values):
        np.testing.assert_array_equal(a, b)
    one = snapshot(path, histories=2)  # the inspector of a neuron in column 2
    assert one.histories[1] is None and one.histories[3] is None
    np.testing.assert_array_equal(one.histories[2], whole.histories[2])
    np.testing.assert_array_equal(one.weights[2], whole.weights[2])
    two = snapshot(path, weights={2, 3}, histories=False)  # its weights in and out
    assert two.weights[1] is None and two.biases[1] is None
    np.testing.assert_array_equal(two.weights[3], whole.weights[3])
    np.testing.assert_array_equal(two.biases[2], whole.biases[2])


def test_a_history_that_does_not_fit_its_layer_is_a_broken_run(tmp_path):
    path = tmp_path / "run"
    write_run(path, sizes=(12, 16, 3), steps=4)

    def narrow(neurons):
        h = T.decode_array(neurons["layers"][0]["history"])
        neurons["layers"][0]["history"] = T.encode_array(h[:, :5])

    _publish(path, narrow)
    with pytest.raises(read.BrokenRun, match="fc1 history has 5 neurons, the layer 16"):
        snapshot(path)
    assert snapshot(path, histories=False).sizes == [12, 16, 3]  # colours still draw


def test_attribution_reads_what_the_publisher_wrote(run):
    path, out = run
    attr = attribution(path)
    rec = T.AttributionRecord.from_dict(out["attribution"])
    assert attr.step == rec.step == 30 and attr.method == "gradient x activation"
    assert versions(path)["attribution"] == 30  # the marker written with it
    assert attr.feature_names[:2] == ("ball x", "ball y") and attr.action_names == ("LEFT", "STAY", "RIGHT")
    assert set(attr.contributions) == {"fc1", "fc2"} and attr.contributions["fc2"].shape == (3, 8)
    np.testing.assert_allclose(attr.saliency, T.decode_array(rec.saliency))
    assert attr.recent_obs.shape == (30, 12) and attr.recent_actions.shape == (30,)
    assert attr.response_q.shape == (12, 25, 3)


def test_reads_before_anything_was_published_and_of_broken_records(tmp_path):
    meta = T.RunMeta(
        run_id="empty",
        env_id="x",
        agent="dqn",
        action_names=["a"],
        feature_names=["f"],
        layers=[],
        config={},
        created=0.0,
    )
    S.create_run_dir(tmp_path / "empty", meta).close()
    assert snapshot(tmp_path / "empty") is None
    assert attribution(tmp_path / "empty") is None
    assert versions(tmp_path / "empty") == {"activations": -1, "weights": -1, "attribution": None}
    with S.open_run(tmp_path / "empty") as store:
        bad_weight = {"dtype": "float32", "shape": [2, 2], "b64": "AAAA"}  # 3 bytes, not 16
        fc1 = T.NeuronLayer(
            "fc1", "relu", 2, [0.0, 0.0], T.encode_array(np.zeros((1, 2))), bad_weight, T.encode_array(np.zeros(2))
        )
        store.put(
            NEURONS,
            T.NeuronsRecord(step=1, layers=[fc1], output_layer=None, input=[], output=[], action=None).to_dict(),
        )
        store.put(T.ATTRIBUTION, {"kind": "attribution", "v": T.SCHEMA_VERSION + 1})
    with pytest.raises(read.BrokenRun, match="network record cannot be read"):
        snapshot(tmp_path / "empty")
    with pytest.raises(read.BrokenRun, match="schema"):
        attribution(tmp_path / "empty")


# --------------------------------------------------------------------------- graph
NOTHING = (no_update,) * 5


def graph(k, run, view, tab="network", analysis=None):
    """update_graph as the page calls it: (scene, values, scene key, k, view) -- the graph's
    note left out -- the first two decoded from the JSON text the canvas is sent.
    ``analysis``: the analysis charts' view (by default: they show the newest attribution)."""
    if analysis is None and run is not None:
        step = versions(run)["attribution"] if (Path(run) / "run.json").exists() else None
        analysis = {"step": step, "at": 0}
    out = TN.update_graph(1, k, tab, None if run is None else str(run), view, analysis)[:5]
    return tuple(json.loads(v) if isinstance(v, str) and i < 2 else v for i, v in enumerate(out))


def test_graph_sends_the_scene_once_then_holds_still_when_nothing_is_new(run):
    path, _ = run
    scene, values, scene_key, k, view = graph(3, path, None)
    assert [c["size"] for c in scene["columns"]] == [12, 16, 8, 3] and scene["edges"]
    assert scene["columns"][0]["labels"][:2] == ["ball x", "ball y"]
    assert [len(v) for v in values["values"]] == [12, 16, 8, 3] and scene_key["run"] == str(path)
    assert view["drawn"] and view["k"] == G.default_k([12, 16, 8, 3]) and k is no_update  # the slider is right
    raw = TN.update_graph(1, 3, "network", str(path), None, None)
    assert all(isinstance(v, str) for v in raw[:2])  # JSON text: Dash stores it without walking it
    # paused (nothing published): nothing is sent
    assert graph(3, path, view) == NOTHING
    # another tab is visible: nothing is read or sent
    assert graph(3, path, view, tab="live") == NOTHING


def test_graph_sends_only_values_for_a_new_sample(tmp_path):
    path = tmp_path / "run"
    write_run(path, sizes=(12, 16, 8, 3), steps=8)
    scene0, _, _, _, view = graph(3, path, None)

    def new_sample(neurons):
        neurons["step"] += 1
        neurons["layers"][0]["current"] = [0.5] * 16

    _publish(path, new_sample)
    scene, values, scene_key, k, view2 = graph(3, path, view)
    assert scene is no_update and scene_key is no_update and k is no_update
    assert values["values"][1] == [0.5] * 16 and values["step"] == view2["sample"][0]
    assert view2["sample"] != view["sample"]
    assert len(json.dumps(values)) < 0.5 * len(json.dumps(scene0))


def new_weights(path: Path) -> None:
    def double(neurons):
        w = T.decode_array(neurons["layers"][0]["weight"])
        neurons["layers"][0]["weight"] = T.encode_array(w * 2)

    _publish(path, double)
    with S.open_run(path) as store:
        store.append(WEIGHTS, [T.WeightRecord(step=9, updates=1, layers=[]).to_dict()])


def test_graph_k_and_weight_changes_resend_the_scene(tmp_path):
    path = tmp_path / "run"
    write_run(path, sizes=(12, 16, 8, 3), steps=8)
    scene0, _, key0, _, view = graph(3, path, None)
    scene, values, key, _, view = graph(5, path, view)  # k changed: the scene again
    assert scene["k"] == 5 and sum(len(g["src"]) for g in scene["edges"]) > sum(len(g["src"]) for g in scene0["edges"])
    assert values is no_update  # no new sample: no colours
    assert key != key0 and view["k"] == 5  # the highlight is asked for again
    new_weights(path)
    scene, values, key, _, view2 = graph(5, path, dict(view))  # re-sampled, but only just redrawn
    assert scene is no_update and key is no_update and values is not no_update
    view["edges_at"] = 0  # the last edge redraw was long ago
    scene, values, key, _, _ = graph(5, path, view)
    assert scene["k"] == 5 and values is not no_update and key is not no_update


def test_edges_drawn_from_weights_that_changed_just_before_a_pause(tmp_path):
    path = tmp_path / "run"
    write_run(path, sizes=(12, 16, 8, 3), steps=8)
    *_, view = graph(3, path, None)
    new_weights(path)  # re-sampled a moment after the edges were drawn, then training pauses
    *_, view = graph(3, path, view)
    assert view["edge_weights"] != view["versions"]["weights"]  # not yet: too soon
    view["edges_at"] -= TV.EDGE_REFRESH_S  # time passes, nothing new is published
    scene, *_ = graph(3, path, view)
    assert scene is not no_update  # the edges catch up with the weights all the same


def test_analysis_charts_are_woken_once_they_are_due(run):
    path, _ = run
    *_, view = graph(3, path, None)
    newest = versions(path)["attribution"]
    assert isinstance(newest, int)
    assert graph(3, path, view, analysis={"step": newest, "at": 0}) == NOTHING  # up to date
    older = {"step": newest - 1, "at": time.time()}
    assert graph(3, path, view, analysis=older) == NOTHING  # behind, but redrawn just now
    older["at"] -= TV.ANALYSIS_REFRESH_S
    *_, woken = graph(3, path, view, analysis=older)  # behind and due: the view changes
    assert woken is not no_update and woken["analysis_due"]


def test_a_wide_network_gets_its_own_k_once(tmp_path):
    path = tmp_path / "run"
    write_run(path, sizes=(12, 512, 3), steps=4)
    scene, _, _, k, view = graph(3, path, None)
    assert k == 1 == scene["k"] == view["k"]
    assert graph(1, path, view) == NOTHING  # the slider's echo of k costs nothing


def test_highlight_follows_the_selection(run):
    path, _ = run
    hl = json.loads(TN.update_highlight({"kind": "neuron", "column": 1, "index": 2}, None, str(path)))
    net = snapshot(path)
    assert hl == G.graph_highlight(net, {"kind": "neuron", "column": 1, "index": 2}) and len(hl["edges"]) == 12 + 8
    for sel in ({"kind": "layer", "column": 1}, None, {"kind": "neuron", "column": 1, "index": 999}):
        assert TN.update_highlight(sel, None, str(path)) is None
    assert TN.update_highlight({"kind": "neuron", "column": 1, "index": 2}, None, None) is None
    missing = str(path.parent / "missing")
    assert TN.update_highlight({"kind": "neuron", "column": 1, "index": 2}, None, missing) is None


def test_graph_without_a_run_or_before_the_first_sample(tmp_path):
    scene, _, _, _, view = graph(3, None, None)
    assert "Choose a run" in scene["message"]
    assert graph(3, None, view) == NOTHING
    meta = T.RunMeta(
        run_id="r", env_id="x", agent="dqn", action_names=[], feature_names=[], layers=[], config={}, created=0.0
    )
    S.create_run_dir(tmp_path / "r", meta).close()
    scene, values, _, _, view = graph(3, tmp_path / "r", None)
    assert "Waiting" in scene["message"] and values is None
    assert graph(3, tmp_path / "r", view) == NOTHING
    scene, _, _, _, _ = graph(3, tmp_path / "missing", None)
    assert "cannot be read" in scene["message"]


# --------------------------------------------------------------------------- inspector
def inspect(selection, run, view=None):
    """update_inspector as the page calls it, as a dict of its outputs."""
    out = TN.update_inspector(1, selection, "network", None if run is None else str(run), view)
    return dict(zip(("hint", "body", "title", "facts", "charts", "note", "view"), out))


def svg_of(img) -> ET.Element:
    """The SVG document behind one of the inspector's chart images."""
    head, data = img.src.split(",", 1)
    assert head == "data:image/svg+xml;base64"
    return ET.fromstring(base64.b64decode(data))


def bars(img) -> dict[str, float]:
    """name -> value of a bar chart, from each bar's tooltip ("name: value")."""
    out = {}
    for rect in svg_of(img).iter(f"{SVG_NS}rect"):
        tip = rect.find(f"{SVG_NS}title")
        if tip is not None:
            name, value = tip.text.rsplit(": ", 1)
            out[name] = float(value)
    return out


def line_points(img) -> int:
    return sum(len(p.get("points").split()) for p in svg_of(img).iter(f"{SVG_NS}polyline"))


def test_neuron_inspector_shows_history_weights_and_contribution(run):
    path, out = run
    sel = {"kind": "neuron", "column": 2, "index": 3}
    res = inspect(sel, path)
    assert res["hint"] == TV.HIDDEN and res["body"] == "" and res["title"] == "fc2 · neuron #3 of 8 (relu)"
    history, contribution, incoming, outgoing = res["charts"]
    net, attr = snapshot(path), attribution(path)
    assert line_points(history) == len(net.histories[2])  # its own history, every sample
    assert history.alt == "activation over the last samples"
    assert "gradient x activation" in contribution.alt
    for name, value in zip(("LEFT", "STAY", "RIGHT"), attr.contributions["fc2"][:, 3]):
        assert bars(contribution)[name] == pytest.approx(value, rel=1e-3, abs=1e-4)  # 4 significant digits
    assert "16 values" in ET.tostring(svg_of(incoming), encoding="unicode")  # 16 incoming weights
    want = out["network"].q_out.weight.detach().numpy()[:, 3]  # feeds the Q-values directly
    assert list(bars(outgoing)) == ["LEFT", "STAY", "RIGHT"]
    np.testing.assert_allclose(list(bars(outgoing).values()), want, rtol=1e-2, atol=1e-3)
    assert "output now" in json.dumps(res["facts"].to_plotly_json(), default=str)
    assert "gradient x activation" in res["note"]
    # unchanged on the next poll: nothing is sent
    assert TN.update_inspector(2, sel, "network", str(path), res["view"]) == (no_update,) * 7


def test_layer_inspector_and_the_other_nodes(run):
    path, _ = run
    res = inspect({"kind": "layer", "column": 1}, path)
    assert res["hint"] == TV.HIDDEN and res["body"] == "" and res["title"] == "Layer fc1 (relu)"
    text = json.dumps(res["facts"].to_plotly_json(), default=str)
    for words in (
        "neurons",
        "16",
        "average |activation|",
        "dead",
        "saturation rate",
        "weight mean",
        "weight min",
    ):
        assert words in text
    # 30 samples: the probe has not judged the neurons yet, and the inspector says so
    assert f"not enough samples yet (30 of the {TH.LIVE_DEAD_WINDOW} a verdict needs)" in text
    weights, outputs = res["charts"]
    assert "192 values" in ET.tostring(svg_of(weights), encoding="unicode")  # 16 x 12 weights
    assert res["note"] == TV.EXPLAIN["layer"]
    assert inspect({"kind": "neuron", "column": 0, "index": 4}, path)["title"] == "Input feature “paddle x”"
    res = inspect({"kind": "neuron", "column": 3, "index": 1}, path)
    assert res["title"] == "Action “STAY”: its Q-value" and line_points(res["charts"][0]) == 30  # Q over steps
    # nothing selected: the hint (once), stale selections are dropped
    assert TN.update_inspector(1, None, "network", str(path), None) == (no_update,) * 7
    cleared = inspect(None, path, {"x": 1})
    assert cleared["hint"] == TV.SHOWN and cleared["body"] == TV.COLLAPSED and cleared["view"] is None
    assert inspect({"kind": "neuron", "column": 2, "index": 99}, path, {})["hint"] == TV.SHOWN
    broken = inspect({"kind": "layer", "column": 1}, path.parent / "missing")
    assert broken["title"].startswith("This run cannot be read") and broken["body"] == ""


def test_dead_neuron_is_reported_as_dead(tmp_path):
    path = tmp_path / "run"
    write_run(path, sizes=(12, 16, 8, 3), steps=TH.LIVE_DEAD_WINDOW, dead_layer="fc2")
    res = inspect({"kind": "neuron", "column": 2, "index": 0}, path)
    facts = json.dumps(res["facts"].to_plotly_json(), default=str)
    assert "dead" in facts and f"was never above 0.01 in magnitude in the last {TH.LIVE_DEAD_WINDOW} samples" in facts
    layer = inspect({"kind": "layer", "column": 2}, path)
    text = json.dumps(layer["facts"].to_plotly_json(), default=str)
    assert f"8 (100%) over the last {TH.LIVE_DEAD_WINDOW} samples" in text and "not applicable" in text
    # the inspector shows the probe's own judgement: the one the alerts and the Activations tab show
    with read.session(str(path)) as s:
        record = read.probe.latest_probe_record(s, T.ACTIVATIONS, "q_network")
    assert record.layers[1].dead == 8 and record.layers[1].window == TH.LIVE_DEAD_WINDOW


def test_the_inspector_does_not_judge_before_a_full_window(tmp_path):
    path = tmp_path / "run"
    write_run(path, sizes=(12, 16, 8, 3), steps=12, dead_layer="fc2")
    res = inspect({"kind": "neuron", "column": 2, "index": 0}, path)
    facts = json.dumps(res["facts"].to_plotly_json(), default=str)
    assert f"not enough samples yet (12 of the {TH.LIVE_DEAD_WINDOW} a verdict needs)" in facts
    assert '"children": "dead"' not in facts and "unknown" in facts
    layer = json.dumps(inspect({"kind": "layer", "column": 2}, path)["facts"].to_plotly_json(), default=str)
    assert "not enough samples yet" in layer and "8 (100%)" not in layer


# --------------------------------------------------------------------------- analysis
def test_analysis_saliency_ig_correlation_and_response(run):
    path, _ = run
    attr = attribution(path)
    sal, caption, corr, resp, actions, features, value, view = TN.update_analysis(
        1, "saliency", TV.CHOICE, "0", "network", str(path), None
    )
    assert value is no_update  # "0" is a valid feature
    np.testing.assert_allclose(sal.data[0].x, attr.saliency[attr.action], rtol=1e-6)
    assert "(its choice)" in sal.layout.title.text and "Captum" in caption
    assert [o["label"] for o in actions] == ["the network's choice", "LEFT", "STAY", "RIGHT"]
    assert features[4] == {"label": "paddle x", "value": "4"}
    np.testing.assert_allclose(
        np.nan_to_num(np.array(corr.data[0].z, dtype=float)),
        np.nan_to_num(A.feature_action_correlation(attr.recent_obs, attr.recent_actions, 3)),
    )
    np.testing.assert_allclose(resp.data[0].x, attr.response_values[0])
    assert TN.update_analysis(2, "saliency", TV.CHOICE, "0", "network", str(path), view) == (no_update,) * 8
    sal, caption, *_ = TN.update_analysis(2, "ig", "2", "4", "network", str(path), view)
    np.testing.assert_allclose(sal.data[0].x, attr.integrated_gradients[2], rtol=1e-6)
    assert "RIGHT" in sal.layout.title.text and "Gauss-Legendre" in caption and "mean of the last" in caption
    resp = TN.update_analysis(2, "ig", "2", "4", "network", str(path), None)[3]
    assert resp.layout.xaxis.title.text == "paddle x"
    # the dropdown lost its value before its options arrived: the first feature is chosen
    out = TN.update_analysis(3, "saliency", TV.CHOICE, None, "network", str(path), None)
    assert out[6] == "0" and out[3].layout.xaxis.title.text == "ball x"
    assert TN.update_analysis(1, "ig", "2", "4", "live", str(path), None) == (no_update,) * 8


def test_analysis_redraws_a_new_attribution_at_most_every_few_seconds(run):
    path, _ = run
    *_, view = TN.update_analysis(1, "saliency", TV.CHOICE, "0", "network", str(path), None)
    newer = {**view, "step": view["step"] - 1}  # the page drew an older attribution...
    assert TN.update_analysis(2, "saliency", TV.CHOICE, "0", "network", str(path), newer) == (no_update,) * 8
    newer["at"] -= TV.ANALYSIS_REFRESH_S  # ...long enough ago: redrawn
    sal, *_, view2 = TN.update_analysis(3, "saliency", TV.CHOICE, "0", "network", str(path), newer)
    assert sal is not no_update and view2["step"] == view["step"]
    # a new choice in the panel is drawn at once
    assert TN.update_analysis(4, "ig", TV.CHOICE, "0", "network", str(path), view2)[0] is not no_update


def test_analysis_decides_from_the_graphs_markers_before_reading_the_record(run, tmp_path):
    path, _ = run
    *_, view = TN.update_analysis(None, "saliency", TV.CHOICE, "0", "network", str(path), None)
    graph_view = {"versions": versions(path)}
    assert graph_view["versions"]["attribution"] == view["step"]
    # nothing new by the markers: answered without opening the record (proof: a run that
    # has gone meanwhile, which any read would report as unreadable)
    gone = str(tmp_path / "gone")
    seen = {**view, "run": gone}
    assert TN.update_analysis(graph_view, "saliency", TV.CHOICE, "0", "network", gone, seen) == (no_update,) * 8
    assert (
        "cannot be read"
        in TN.update_analysis(None, "saliency", TV.CHOICE, "0", "network", gone, seen)[0].layout.annotations[0].text
    )  # without the markers it reads, and says so
    # a newer marker, due: the record is read (here it is not newer after all: nothing sent)
    newer = {"versions": {**graph_view["versions"], "attribution": view["step"] + 1}}
    assert (
        TN.update_analysis(newer, "saliency", TV.CHOICE, "0", "network", str(path), {**view, "at": 0})
        == (no_update,) * 8
    )


def test_every_panel_of_the_tab_explains_itself():
    tree = TN.layout()
    components = [tree, *tree._traverse()]
    texts = " ".join(comp.children for comp in components if isinstance(getattr(comp, "children", None), str))
    for key in ("graph", "saliency", "correlation", "response"):
        assert TV.EXPLAIN[key] in texts
    # the inspector explains what it shows with it (a neuron, its contribution, a layer): see the inspector tests
    ids = [comp.id for comp in components if getattr(comp, "id", None)]
    assert len(ids) > 20 and all(i.startswith("network-") for i in ids)
    for key in ("graph", "neuron", "contribution", "layer", "saliency", "correlation", "response"):
        assert len(TV.EXPLAIN[key].split()) >= 15
