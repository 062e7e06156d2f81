"""A run written by the schema-1 neurodash (``tests/fixtures/run-schema1``: 1,500 steps of a
dueling DQN with hidden layers 8 and 8 on our Breakout, the probe and the attribution
publisher on) read with today's code: through every read module, and drawn by every tab.

Runs written before must keep opening: their records are upgraded as they are read
(episodes' ``loss``/``epsilon``, the probe's plain series names, ``q`` -> ``output``, ...).
"""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.utils
import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from dashapp import alerts, read
from dashapp import app as A
from dashapp.figures.common import is_empty_figure
from dashapp.read.series import Position
from dashapp.tabs import activations, gradients, live, network, weights
from health import thresholds as TH
from rl import telemetry as T
from tests.dashapp.ticks import tick_and_load

FEATURES = ["ball x", "ball y", "ball vx", "ball vy", "paddle x"] + [f"brick {i}" for i in range(1, 13)]
ACTIONS = ["LEFT", "STAY", "RIGHT"]


@pytest.fixture
def s(schema1_run):
    """One store session of the old run."""
    with read.session(schema1_run) as session:
        yield session


# --------------------------------------------------------------------------- runs
def test_the_run_is_listed_and_its_meta_upgraded(schema1_run, s):
    (info,) = read.list_runs(schema1_run.parent)
    assert info.broken is None and info.name == "run-schema1" and info.agent == "dqn"
    assert info.env_id == "neurodash/Breakout-v0" and "DQN on neurodash/Breakout-v0" in info.label
    assert s.schema == 1 and s.probe_key(T.ACTIVATIONS) == T.ACTIVATIONS  # schema 1: the plain names
    meta = s.meta()
    (net,) = meta.networks
    assert net.name == "q_network" and net.inputs == FEATURES and net.outputs == ACTIONS
    assert [(layer.name, layer.in_features, layer.out_features) for layer in net.layers] == [
        ("fc1", 17, 8),
        ("fc2", 8, 8),
        ("value_out", 8, 1),
        ("advantage_out", 8, 3),
    ]
    assert all(isinstance(layer, T.LayerInfo) for layer in meta.layers)
    assert meta.action_space == T.ActionSpace("discrete", n=3) and meta.watched == ["q_network"]


def test_worker_status_and_game(s):
    status = read.runs.worker_status(s)
    assert status.state == T.FINISHED and status.step == status.total_steps == 1500
    assert status.progress == 1.0 and not status.controllable and status.message == "finished 1500 steps"
    game = read.runs.game(s)
    assert game.unavailable is None and game.frame.step == 1500
    assert (game.frame.width, game.frame.height) == (320, 240) and game.frame.src.startswith("data:image/png")


# --------------------------------------------------------------------------- steps, episodes
def test_steps(s):
    points = read.steps.step_history(s)
    assert len(points) == 112 and points.stride == 1 and points.n_actions == 3
    assert points.step[0] == 1 and points.step[-1] == 1500 and points.step == sorted(points.step)
    assert points.q[-1] == pytest.approx([0.332433, 0.359674, 0.326725])
    assert all(sum(share) == pytest.approx(1.0) for share in points.share)
    assert len(read.steps.step_tick(s, points.position)) == 0  # drawn up to the newest: nothing new
    assert read.steps.step_tick(s, None) is None  # nothing drawn: load the history
    recent = read.steps.recent_steps(s)
    assert len(recent) == 112 and recent.n_actions == 3 and all(0 <= a < 3 for a in recent.action)
    assert any(recent.explored) and not all(recent.explored)
    assert read.steps.q_history(s, 1, 5)[-1] == pytest.approx(0.359674)


def test_episodes_losses_and_epsilon_upgraded(s):
    points = read.episodes.episode_history(s)
    assert len(points) == 63 and points.episode == list(range(63)) and points.step[-1] == 1461
    assert set(points.losses) == {"loss"} and set(points.exploration) == {"epsilon"}
    eps = points.epsilon
    assert eps[0] == pytest.approx(0.88283, abs=1e-5) and eps[-1] == pytest.approx(0.05)
    assert all(a >= b for a, b in zip(eps, eps[1:]))  # exploration falls on its schedule
    assert math.isnan(points.loss[0])  # before learning started: no loss
    assert points.loss[-1] == pytest.approx(0.0082702, rel=1e-4) and all(math.isfinite(v) for v in points.score)
    assert len(read.episodes.episode_tick(s, Position(points.seq, points.stride))) == 0


# --------------------------------------------------------------------------- network
def test_network_snapshot_versions_and_attribution(s):
    assert read.network.versions(s) == read.network.NetworkVersions(activations=1, weights=8, attribution=1500)
    net = read.network.snapshot(s)
    assert net.names == ("input", "fc1", "fc2", "advantage_out")  # the dueling network's advantage head
    assert net.kinds == ("input", "hidden", "hidden", "output") and net.sizes == [17, 8, 8, 3]
    assert net.activations == ("input", "relu", "relu", "linear") and net.network == "q_network"
    assert [None if w is None else w.shape for w in net.weights] == [None, (8, 17), (8, 8), (3, 8)]
    assert [None if h is None else h.shape for h in net.histories] == [None, (86, 8), (86, 8), None]
    assert list(net.input_names) == FEATURES and list(net.output_names) == ACTIONS
    stored = s.get(T.NEURONS)  # schema 1: "q" was the network's output
    np.testing.assert_allclose(net.values[-1], stored["q"], rtol=1e-6)
    assert net.action == int(np.argmax(stored["q"])) and net.step == 1491
    attr = read.network.attribution(s)
    assert attr.step == 1500 and attr.network == "q_network" and attr.method == "gradient x activation"
    assert {k: v.shape for k, v in attr.contributions.items()} == {"fc1": (3, 8), "fc2": (3, 8)}
    assert attr.saliency.shape == (3, 17) and attr.recent_obs.shape == (500, 17) and attr.recent_actions.size == 500
    assert attr.response_q.shape == (17, 25, 3) and list(attr.feature_names) == FEATURES


# --------------------------------------------------------------------------- probe
def test_probe_records_of_all_three_kinds(s):
    acts = read.probe.probe_records(s, T.ACTIVATIONS)
    assert len(acts.records) == 2 and acts.seq == 1 and acts.latest.network == "q_network"
    fc1, fc2 = acts.latest.layers
    assert isinstance(fc1, T.ActivationLayer) and (fc1.name, fc1.size, fc1.window) == ("fc1", 8, 86)
    assert (fc1.dead, fc2.dead) == (2, 5) and fc1.states.count(0) == 2 and fc2.states.count(0) == 5
    assert acts.latest.output_abs_max == pytest.approx(0.41593, rel=1e-4)  # was q_abs_max
    assert acts.latest.output_mean == pytest.approx(0.34559, rel=1e-4)  # was q_mean
    grads = read.probe.probe_records(s, T.GRADIENTS)
    assert len(grads.records) == 12 and all(r.network == "q_network" for r in grads.records)
    layers = grads.latest.layers
    assert all(isinstance(g, T.GradientLayer) for g in layers)
    assert [g.name for g in layers] == ["fc1", "fc2", "value_out", "advantage_out"]
    assert all(g.finite and g.norm > 0 for g in layers)
    assert [r.update for r in grads.records] == sorted(r.update for r in grads.records)
    wts = read.probe.probe_records(s, T.WEIGHTS)
    assert [r.step for r in wts.records] == [0, 100, 400, 600, 700, 900, 1100, 1300, 1500]
    assert wts.records[0].layers[0].velocity is None  # the first sample has nothing to compare with
    assert wts.latest.layers[0].velocity == pytest.approx(0.15703, rel=1e-4)
    assert isinstance(wts.latest.layers[0], T.WeightLayer) and wts.latest.layers[0].size == 8 * 17
    assert read.probe.probe_update(s, T.WEIGHTS, wts.seq).records == []
    assert read.probe.weight_networks(s) == ["q_network"]  # no target network sampled then


def test_neuron_activity_and_alerts(s):
    activity = read.probe.neuron_activity(s)
    assert activity.samples == 86 and activity.step == 1491
    assert [(layer.name, layer.activation, layer.history.shape) for layer in activity.layers] == [
        ("fc1", "relu", (86, 8)),
        ("fc2", "relu", (86, 8)),
    ]
    assert read.probe.alerts(s) == read.probe.AlertsView(active=[], cleared=[], step=1500)


# --------------------------------------------------------------------------- every tab
def shown(*outputs) -> str:
    """What the callbacks sent, as the page receives it (JSON text)."""
    return json.dumps([o for o in outputs if o is not no_update], cls=plotly.utils.PlotlyJSONEncoder)


def test_every_tab_draws_the_old_run(schema1_run):
    run = str(schema1_run)
    sent = []
    # the shell: the run picker, the status badge and the alerts
    options, value, _notice, _ = A.refresh_runs(1, str(schema1_run.parent), None, [])
    assert value == run and not options[0]["disabled"]
    status = A.update_status(1, run)
    assert status[0] == T.FINISHED and "step 1,500 of 1,500" in status[2]
    panel = alerts.update_alerts(1, run, None)
    assert "no alerts" in shown(panel[0])
    sent += [status, panel]

    # Live: a value-based agent's panels, the step charts, the episode charts and the game
    agent = live.show_agent(1, live.TAB_ID, run, None)[0]
    assert agent == {"run": run, "kind": live.VALUE, "discrete": True, "known": True}
    out, (q_fig, share_fig), _ = tick_and_load(
        live.tick_steps, live.load_steps, 1, (live.TAB_ID, agent), None, (agent,)
    )
    assert len(q_fig.data) == 3 * 4 + 3 and len(q_fig.data[0].x) == 112 and not is_empty_figure(share_fig)
    assert [t.name for t in share_fig.data][:3] == ACTIONS and "best move now" in shown(out[3])
    _, (episodes,), _ = tick_and_load(live.tick_episodes, live.load_episodes, 1, (live.TAB_ID, agent), None, (agent,))
    assert list(episodes.data[0].x) == list(range(63))
    frame = live.update_frame(1, live.TAB_ID, run, None)
    assert frame[1] == "step 1,500"
    sent += [out, q_fig, share_fig, episodes, frame]

    # Network: the graph, the inspector (a hidden neuron, an action, a layer), the analysis
    scene, values, _key, _k, view, _note = network.update_graph(1, None, network.TAB_ID, run, None, None)
    scene = json.loads(scene)
    assert [c["size"] for c in scene["columns"]] == [17, 8, 8, 3] and scene["edges"]
    assert scene["columns"][3]["title"] == ["Q-values (3)", "lines: advantage_out"]
    assert json.loads(values)["step"] == 1491 and view["versions"]["attribution"] == 1500
    hl = json.loads(network.update_highlight({"kind": "neuron", "column": 1, "index": 0}, None, run))
    assert len(hl["edges"]) == 17 + 8
    for selection, title in (
        ({"kind": "neuron", "column": 2, "index": 3}, "fc2 · neuron #3 of 8 (relu)"),
        ({"kind": "neuron", "column": 3, "index": 2}, "Action “RIGHT”: its Q-value"),
        ({"kind": "layer", "column": 1}, "Layer fc1 (relu)"),
    ):
        inspector = network.update_inspector(1, selection, network.TAB_ID, run, None)
        assert inspector[2] == title and len(inspector[4]) >= 2
        sent.append(inspector)
    analysis = network.update_analysis(view, "ig", "choice", "4", network.TAB_ID, run, None)
    assert list(analysis[0].data[0].y) == FEATURES and analysis[3].layout.xaxis.title.text == "paddle x"
    sent += [scene, values, analysis]

    # Activations: the layer picker, cards, histograms, grid, heatmap and sparklines
    layers, layer, _ = activations.update_layer_choice(1, activations.TAB_ID, run, None, [], None)
    assert [o["value"] for o in layers] == ["fc1", "fc2"] and layer == "fc1"
    out, (heat,), cursor = tick_and_load(
        activations.tick_activations,
        activations.load_activations,
        1,
        (activations.TAB_ID, "fc1", run),
        None,
        (run, "fc1"),
    )
    cards = shown(out[0])
    # its records judged 86 samples, fewer than a verdict needs today: shown as not judged yet
    assert cards.count(f"only 86 of {TH.LIVE_DEAD_WINDOW} samples so far: not judged yet") == 2
    assert "2 of 8" not in cards and is_empty_figure(out[2])
    assert list(heat.data[0].x) == [628, 1500] and cursor["drawn"]  # one column per activation record
    with pytest.raises(PreventUpdate):  # drawn up to the newest: the next poll has nothing to send
        activations.tick_activations(2, activations.TAB_ID, "fc1", run, cursor)
    out = activations.tick_sparklines(1, activations.TAB_ID, "fc1", 0, run, None, None)
    sparks, _ = activations.load_sparklines(out[-1], run)
    assert [o["value"] for o in out[1]] == [0] and len(sparks.data) == 8 and len(sparks.data[0].x) == 86
    sent += [out, heat, sparks]

    # Gradients and Weights
    out, (grad_heat, grad_lines), _ = tick_and_load(
        gradients.tick_gradients, gradients.load_gradients, 1, (gradients.TAB_ID, run), None, (run,)
    )
    assert list(grad_heat.data[0].y) == ["fc1", "fc2", "value_out", "advantage_out"] and len(grad_lines.data) == 4
    assert "verdict" in shown(out[0])
    out, (w_heat, velocity), _ = tick_and_load(
        weights.tick_weights, weights.load_weights, 1, (weights.TAB_ID, "fc1", run), None, (run, "fc1")
    )
    assert "advantage_out" in shown(out[0]) and len(w_heat.data[0].x) == 9 and len(velocity.data) == 4
    picker = weights.update_network_choice(1, weights.TAB_ID, run, None, [], None)
    assert picker[0] == [{"label": "q_network", "value": "q_network"}] and picker[3] == {"display": "none"}
    sent += [out, grad_heat, grad_lines, w_heat, velocity, picker]

    assert "cannot be read" not in shown(*sent)  # no BrokenRun anywhere
