"""The network picker (dashapp/tabs/network_picker.py) and the four tabs that use it --
Network, Activations, Gradients, Weights -- over real SAC and DQN run folders written by
``rl.worker.train`` (the ``sac_run`` fixtures, ``real_dqn_run``) and a DQN-like run with no
target network (no picker). The Weights tab lists the target networks too."""

from __future__ import annotations

import base64
import json
import shutil

import plotly.utils
import pytest
from dash import Patch, no_update
from dash.exceptions import PreventUpdate

from dashapp import read
from dashapp.figures import outputs as O
from dashapp.figures.common import is_empty_figure
from dashapp.tabs import activations, gradients, layer_picker, network, weights
from dashapp.tabs import network_picker as NP
from dashapp.tabs.network import view as TV
from rl import telemetry as T
from tests.dashapp.network_run import write_run
from tests.dashapp.reading import read_once
from tests.dashapp.ticks import tick_and_load

WATCHED = ["actor", "critic_1", "critic_2"]
TARGETS = ["target_critic_1", "target_critic_2"]
PICKERS = [network, activations, gradients, weights]
LIVE_ONLY = [network, activations, gradients]  # the tabs that list the watched networks only


def choice(tab, run, current=None, options=(), listed=None, n=1):
    return tab.update_network_choice(n, tab.TAB_ID, str(run), current, list(options), listed)


def fig_json(fig) -> str:
    return json.dumps(fig, cls=plotly.utils.PlotlyJSONEncoder)


@pytest.fixture
def dqn_run(tmp_path):
    """A DQN-like run: one watched network and no target network."""
    path = tmp_path / "runs" / "dqn"
    write_run(path, sizes=(12, 16, 3), steps=12)
    return path


@pytest.fixture(scope="module")
def real_dqn_run(tmp_path_factory):
    """A short real DQN run on our Breakout: its q_network and its target_network."""
    from rl import worker

    path = tmp_path_factory.mktemp("dqn") / "run"
    quick = {"hidden_sizes": (16, 16), "learning_starts": 100, "batch_size": 16, "checkpoint_every": 0}
    quick["probe_every"] = 50  # a weight sample every 50 steps
    worker.train("neurodash/Breakout-v0", agent="dqn", steps=600, run_dir=path, seed=0, overrides=quick)
    return path


# --------------------------------------------------------------------------- choice logic
def test_the_choice_is_kept_while_it_exists_else_the_first():
    options, value, listed = layer_picker.kept_choice(WATCHED, None, [], None, "run")
    assert [o["label"] for o in options] == WATCHED and value == "actor" and listed == "run"
    assert layer_picker.kept_choice(WATCHED, "critic_1", options, "run", "run") == (no_update,) * 3
    assert layer_picker.kept_choice(WATCHED, "target_critic_1", options, "run", "run")[1] == "actor"
    assert layer_picker.kept_choice([], "actor", options, "run", "run")[:2] == ([], None)


def test_the_options_are_looked_at_again_only_now_and_then():
    options = [{"label": n, "value": n} for n in WATCHED]
    assert layer_picker.still_listed(3, "run", "run", "critic_2", options)
    assert not layer_picker.still_listed(layer_picker.LAYER_CHECK_TICKS, "run", "run", "critic_2", options)
    assert not layer_picker.still_listed(3, "other", "run", "critic_2", options)  # another run
    assert not layer_picker.still_listed(3, "run", "run", "gone", options)  # a choice the options lack
    assert layer_picker.listed_view("run", None) == "run" and layer_picker.listed_view("run", "actor") == [
        "run",
        "actor",
    ]


def test_only_a_choice_shows_the_picker():
    assert NP.picker_style(WATCHED) == NP.SHOWN and NP.picker_style(["q_network"]) == NP.HIDDEN == {"display": "none"}
    assert NP.picker_style([]) == NP.HIDDEN and NP.watched_networks(None) == []


def test_the_picker_lists_a_sac_runs_watched_networks_and_on_the_weights_tab_its_targets(sac_run):
    meta = read_once(sac_run, lambda s: s.meta())
    assert NP.watched_networks(meta) == WATCHED and meta.targets == dict(zip(TARGETS, ["critic_1", "critic_2"]))
    assert read_once(sac_run, NP.watched_choices) == WATCHED
    assert read_once(sac_run, NP.weight_choices) == read_once(sac_run, read.probe.weight_networks) == WATCHED + TARGETS
    for tab in PICKERS:
        options, value, listed, style = choice(tab, sac_run)
        # the target critics have weight samples only: listed on the Weights tab, after the watched ones
        assert [o["label"] for o in options] == (WATCHED + TARGETS if tab is weights else WATCHED)
        assert value == "actor"
        assert listed == str(sac_run) and style == NP.SHOWN
        with pytest.raises(PreventUpdate):  # the choice is kept, and nothing is read again for a while
            choice(tab, sac_run, "critic_1", options, listed, n=3)
        assert choice(tab, sac_run, "critic_1", options, listed, n=10) == (*(no_update,) * 3, NP.SHOWN)
        with pytest.raises(PreventUpdate):  # a hidden tab reads nothing
            tab.update_network_choice(1, "live", str(sac_run), None, [], None)
        assert tab.update_network_choice(1, tab.TAB_ID, None, "actor", options, listed) == ([], None, None, NP.HIDDEN)


def test_a_dqn_run_shows_a_picker_on_the_weights_tab_only(real_dqn_run):
    for tab in PICKERS:
        options, value, _listed, style = choice(tab, real_dqn_run)
        names = ["q_network", "target_network"] if tab is weights else ["q_network"]
        assert [o["value"] for o in options] == names and value == "q_network"
        assert style == (NP.SHOWN if tab is weights else NP.HIDDEN)
    out, (heat, velocity), cursor = _layer_tab(
        weights.tick_weights, weights.load_weights, weights.TAB_ID, str(real_dqn_run), "target_network"
    )
    assert cursor["key"]["network"] == "target_network" and cursor["drawn"] and not is_empty_figure(heat)
    assert [t.name for t in velocity.data] == ["fc1", "fc2", "value_out", "advantage_out"]  # dueling heads


def test_a_run_written_before_targets_were_sampled_lists_its_watched_networks(real_dqn_run, tmp_path):
    """Its probe settings name the watched networks only, without ``weights_only``."""
    from rl.store import open_run

    path = tmp_path / "runs" / "older"
    shutil.copytree(real_dqn_run, path)
    with open_run(path) as store:
        settings = store.get(T.PROBE_CONFIG)
        settings["networks"] = [
            {k: v for k, v in n.items() if k != "weights_only"} for n in settings["networks"] if not n["weights_only"]
        ]
        store.put(T.PROBE_CONFIG, settings)
    assert read_once(path, read.probe.weight_networks) == ["q_network"]
    options, value, _listed, style = choice(weights, path)
    assert [o["value"] for o in options] == ["q_network"] and value == "q_network" and style == NP.HIDDEN
    _out, _figs, cursor = _layer_tab(weights.tick_weights, weights.load_weights, weights.TAB_ID, str(path), None)
    assert cursor["key"]["network"] == "q_network" and cursor["drawn"]
    with read.session(path) as s:
        assert NP.shown_network(s, "target_network", NP.weight_choices) == "q_network"  # not listed: not shown


def test_a_run_with_one_network_and_no_target_shows_no_picker(dqn_run, tmp_path):
    for tab in PICKERS:
        options, value, _listed, style = choice(tab, dqn_run)
        assert [o["value"] for o in options] == ["q_network"] and value == "q_network" and style == NP.HIDDEN
        assert choice(tab, tmp_path / "not-a-run")[3] == NP.HIDDEN
        tree = tab.layout()  # hidden from the first paint on
        picker = next(c for c in tree._traverse() if getattr(c, "id", None) == f"{tab.TAB_ID}-network-picker")
        assert picker.style == NP.HIDDEN


# --------------------------------------------------------------------------- the tabs, network by network
def _layer_tab(tick, load, tab_id, run, net, cursor=None):
    """A tick (and the load it asks for) of a tab with a layer picker, "fc1" chosen."""
    return tick_and_load(tick, load, 1, (tab_id, "fc1", run), cursor, (run, "fc1", net), after=(None, net))


def _activations(run, net, cursor=None):
    return _layer_tab(activations.tick_activations, activations.load_activations, activations.TAB_ID, run, net, cursor)


def test_activations_tab_draws_each_network_and_a_switch_redraws(sac_run):
    run = str(sac_run)
    drawn = {}
    for net in WATCHED:
        options, value, listed = activations.update_layer_choice(1, activations.TAB_ID, run, None, [], None, net)
        assert [o["value"] for o in options] == ["fc1", "fc2"] and value == "fc1" and listed == [run, net]
        out, figs, cursor = _activations(run, net)
        assert figs is not None and cursor["key"] == {"run": run, "network": net, "layer": "fc1"} and cursor["drawn"]
        assert not is_empty_figure(out[1]) and out[4]["network"] == net
        drawn[net] = fig_json(figs[0])
        # sparklines of the chosen network's neurons
        ext, page_options, _page, spark_cursor, reload = activations.tick_sparklines(
            1, activations.TAB_ID, "fc1", 0, run, None, None, net
        )
        assert reload["key"]["network"] == net and [o["value"] for o in page_options] == [0]
        fig, spark_cursor = activations.load_sparklines(reload, run)
        assert len(fig.data) == 16 and spark_cursor["key"]["network"] == net
    assert len(set(drawn.values())) == 3  # three networks, three pictures
    # switching: the chart of the actor is drawn again for critic_1
    _, _, cursor = _activations(run, "actor")
    out = activations.tick_activations(2, activations.TAB_ID, "fc1", run, cursor, None, "critic_1")
    assert out[-1] is not no_update and out[-1]["key"]["network"] == "critic_1"
    _, figs, cursor = _activations(run, "critic_1", cursor)
    assert fig_json(figs[0]) == drawn["critic_1"]
    # no choice yet (the picker has not answered): the network the run shows first, with the same key
    assert _activations(run, None)[2]["key"]["network"] == "actor"


def test_gradients_tab_draws_each_network_and_a_switch_redraws(sac_run):
    run = str(sac_run)
    drawn = {}
    for net in WATCHED:
        out, (heat, lines), cursor = tick_and_load(
            gradients.tick_gradients, gradients.load_gradients, 1, (gradients.TAB_ID, run), None, (run, net), (net,)
        )
        out_layer = "policy_out" if net == "actor" else "q_out"
        assert cursor["layers"] == ["fc1", "fc2", out_layer] and cursor["key"] == {"run": run, "network": net}
        assert out_layer in fig_json(out[0]) and not is_empty_figure(heat)
        drawn[net] = fig_json(lines)
        with pytest.raises(PreventUpdate):  # drawn, nothing new: nothing sent
            gradients.tick_gradients(2, gradients.TAB_ID, run, cursor, net)
    assert len(set(drawn.values())) == 3
    switched = gradients.tick_gradients(3, gradients.TAB_ID, run, cursor, "actor")  # critic_2 drawn: the actor
    assert switched[-1] is not no_update and switched[-1]["key"]["network"] == "actor"


def test_weights_tab_draws_each_network_and_a_switch_redraws(sac_run):
    run = str(sac_run)
    drawn = {}
    for net in WATCHED:
        options, *_ = weights.update_layer_choice(1, weights.TAB_ID, run, None, [], None, net)
        out_layer = "policy_out" if net == "actor" else "q_out"
        assert [o["value"] for o in options] == ["fc1", "fc2", out_layer]
        out, (heat, velocity), cursor = _layer_tab(weights.tick_weights, weights.load_weights, weights.TAB_ID, run, net)
        assert [t.name for t in velocity.data] == ["fc1", "fc2", out_layer] and cursor["drawn"]
        assert out[2] == {"run": run, "network": net, "hist": ["fc1", "fc2", out_layer]}
        drawn[net] = fig_json(heat)
    assert len(set(drawn.values())) == 3
    switched = weights.tick_weights(2, weights.TAB_ID, "fc1", run, cursor, out[2], "critic_1")
    assert switched[-1]["key"]["network"] == "critic_1"
    assert not isinstance(switched[1], Patch) and switched[2]["network"] == "critic_1"  # drawn anew, not patched


@pytest.mark.parametrize("fixture", ["sac_run", "discrete_sac_run"])
def test_weights_tab_draws_the_target_critics_from_their_own_samples(fixture, request):
    run = str(request.getfixturevalue(fixture))
    drawn = {}
    for net in ["critic_1", *TARGETS]:
        options, *_ = weights.update_layer_choice(1, weights.TAB_ID, run, None, [], None, net)
        assert [o["value"] for o in options] == ["fc1", "fc2", "q_out"]
        out, (heat, velocity), cursor = _layer_tab(weights.tick_weights, weights.load_weights, weights.TAB_ID, run, net)
        assert cursor["key"] == {"run": run, "network": net, "layer": "fc1"} and cursor["drawn"]
        assert [t.name for t in velocity.data] == ["fc1", "fc2", "q_out"] and not is_empty_figure(heat)
        assert out[2] == {"run": run, "network": net, "hist": ["fc1", "fc2", "q_out"]} and "q_out" in fig_json(out[0])
        drawn[net] = fig_json(heat)
        with pytest.raises(PreventUpdate):  # drawn, nothing new: nothing sent
            weights.tick_weights(2, weights.TAB_ID, "fc1", run, cursor, out[2], net)
    assert len(set(drawn.values())) == 3  # each target its own weights, not its critic's
    records = {net: read_once(run, read.probe.probe_records, T.WEIGHTS, net).records for net in drawn}
    critic, target = records["critic_1"], records["target_critic_1"]
    assert target[0].layers == critic[0].layers and target[-1].layers != critic[-1].layers  # a copy, then it lags
    assert all(r.network == "target_critic_1" for r in target) and len(target) == len(critic)


def test_only_the_weights_tab_shows_a_target_network(sac_run):
    run = str(sac_run)
    with read.session(run) as s:
        assert NP.shown_network(s, "target_critic_1", NP.weight_choices) == "target_critic_1"
        assert NP.shown_network(s, "critic_2", NP.weight_choices) == "critic_2"
        assert NP.shown_network(s, "target_critic_1") == "actor"  # the other tabs: the network shown first
        assert NP.shown_network(s, "nothing", NP.weight_choices) == NP.shown_network(s, None) == "actor"
    # a target chosen on the Weights tab and left in another tab's picker: that tab shows the actor
    assert _activations(run, "target_critic_1")[2]["key"]["network"] == "actor"
    _out, _figs, cursor = tick_and_load(
        gradients.tick_gradients, gradients.load_gradients, 1, (gradients.TAB_ID, run), None, (run, "target_critic_1")
    )
    assert cursor["key"]["network"] == "actor"
    assert "Polyak" in weights.NOTES["velocity"] and "target_critic_1" in weights.NOTES["velocity"]


def test_a_target_networks_still_weights_are_not_marked_stalled():
    row = dict.fromkeys(("mean", "std", "min", "max", "norm", "velocity"), 0.0)
    row.update(layer="fc1", size=4, near_zero=0, near_zero_share=0.0)
    assert "text-danger" in fig_json(weights.stats_table([row]))  # a watched network: stalled
    assert "text-danger" not in fig_json(weights.stats_table([row], learns=False))  # between copies


def _graph(run, net, view=None):
    scene, values, key, _k, view, note = network.update_graph(1, None, network.TAB_ID, str(run), view, None, net)
    return (json.loads(scene) if isinstance(scene, str) else scene), values, key, view, note


def test_network_tab_draws_each_network_named_with_its_own_inputs_and_outputs(sac_run):
    meta = read_once(sac_run, lambda s: s.meta())
    features, (action,) = meta.features(3), meta.actions(1)  # Pendulum-v1: three features, one torque
    actor, _, _, view, note = _graph(sac_run, "actor")
    assert [c["size"] for c in actor["columns"]] == [3, 16, 16, 2] and view["network"] == "actor"
    assert actor["columns"][0]["labels"] == features
    assert actor["columns"][3]["labels"] == [f"mean {action}", f"log std {action}"]
    assert actor["columns"][3]["title"] == ["policy (mean, log std) (2)"] and actor["pick"] is None
    assert "Q-value" not in note and "log standard deviation" in note
    # switching to critic_1 sends its scene: the state's features and the action as inputs, named
    critic, values, key, view2, note = _graph(sac_run, "critic_1", view)
    assert [c["size"] for c in critic["columns"]] == [4, 16, 16, 1] and key["network"] == "critic_1"
    assert critic["columns"][0]["labels"] == [*features, f"action: {action}"]
    assert critic["columns"][3]["title"] == ["Q-value (1)"] and critic["value"] == "Q-value"
    assert "and the action" in note and json.loads(values)["action"] is None  # one output: no "best" to mark
    assert network.update_graph(1, None, network.TAB_ID, str(sac_run), view2, None, "critic_1") == (no_update,) * 6
    critic_2, *_ = _graph(sac_run, "critic_2", view2)
    assert critic_2["edges"] != critic["edges"]  # another network's weights
    # the inspector: the chosen network's neuron, its output named as that network names it
    for net, title in (
        ("actor", f"Output “mean {action}” of the policy (mean, log std)"),
        ("critic_1", "Output “Q”: the Q-value"),
    ):
        out = network.update_inspector(
            1, {"kind": "neuron", "column": 3, "index": 0}, network.TAB_ID, str(sac_run), None, net
        )
        assert out[2] == title and out[6]["network"] == net
    hidden = network.update_inspector(
        1, {"kind": "neuron", "column": 1, "index": 0}, network.TAB_ID, str(sac_run), None, "critic_2"
    )
    assert hidden[2].startswith("fc1 · neuron #0 of 16") and hidden[6]["network"] == "critic_2"
    contribution = base64.b64decode(hidden[4][1].src.split(",", 1)[1]).decode()
    assert "continuous actions: no attribution for this run" in contribution  # not "waiting..." forever
    layer = network.update_inspector(1, {"kind": "layer", "column": 3}, network.TAB_ID, str(sac_run), None, "actor")
    assert layer[2] == "The output layer (policy (mean, log std))"


def _analysis(run, net, view=None):
    *_, graph_view, _note = network.update_graph(1, None, network.TAB_ID, str(run), None, None, net)
    return graph_view, network.update_analysis(graph_view, "saliency", TV.CHOICE, "0", network.TAB_ID, str(run), view)


def _message(fig) -> str:
    return fig.layout.annotations[0].text


def test_analysis_says_a_continuous_run_has_no_attribution(sac_run):
    for net in WATCHED:
        graph_view, out = _analysis(sac_run, net)
        assert all(_message(fig) == TV.NO_ATTRIBUTION for fig in (out[0], out[2], out[3]))
        assert out[-1]["idle"] and not network.analysis_due(out[-1], graph_view["versions"], 1e12)
        assert (
            network.update_analysis(graph_view, "ig", "1", "0", network.TAB_ID, str(sac_run), out[-1])
            == (no_update,) * 8
        )


def test_analysis_explains_the_attributed_network_and_names_it_for_the_others(discrete_sac_run):
    attr = read_once(discrete_sac_run, read.network.attribution)
    # what the worker attributes: the network with a Q-value per action (see rl/attribution)
    assert attr is not None and attr.network == "critic_1"
    _, out = _analysis(discrete_sac_run, "critic_1")
    assert not is_empty_figure(out[0]) and "|dQ/d feature|" in out[1]
    assert out[0].layout.xaxis.title.text == "|dQ/d feature|" and out[3].layout.yaxis.title.text == "Q-value"
    for net in ("actor", "critic_2"):
        graph_view, other = _analysis(discrete_sac_run, net, out[-1])
        text = _message(other[0])
        assert text == f"The attribution explains the critic_1's outputs, not the {net}'s: choose critic_1."
        assert other[-1]["idle"] and other[-1]["network"] == net
        assert (
            network.update_analysis(
                graph_view, "saliency", TV.CHOICE, "0", network.TAB_ID, str(discrete_sac_run), other[-1]
            )
            == (no_update,) * 8
        )
    # the critics of discrete actions: a Q-value per action, the best one marked
    critic, values, *_ = _graph(discrete_sac_run, "critic_1")
    assert critic["columns"][3]["title"] == ["Q-values (3)"] and critic["pick"] == "best"
    assert critic["columns"][3]["labels"] == ["Q LEFT", "Q STAY", "Q RIGHT"]
    actor, *_ = _graph(discrete_sac_run, "actor")
    assert actor["columns"][3]["title"] == ["action logits (3)"] and actor["pick"] == "likeliest"


def test_a_dqn_run_looks_as_before(dqn_run):
    scene, _, _, view, note = _graph(dqn_run, None)
    assert (
        scene["columns"][2]["title"] == ["Q-values (3)"] and scene["pick"] == "best" and view["network"] == "q_network"
    )
    assert note == TV.EXPLAIN["graph"] and "one Q-value per action" in note
    out = network.update_inspector(1, {"kind": "neuron", "column": 2, "index": 1}, network.TAB_ID, str(dqn_run), None)
    assert out[2] == "Action “STAY”: its Q-value"


def test_output_words_follow_the_names_the_agents_give():
    assert O.outputs_of(["LEFT", "RIGHT"]).column == "Q-values"  # a DQN: its outputs are the actions
    assert O.outputs_of([]).kind == "q"
    assert O.outputs_of(["logit LEFT", "logit RIGHT"]).kind == "logits"
    assert O.outputs_of(["mean a", "log std a"]).kind == "policy"
    critic = O.outputs_of(["Q"], ["x0", "action: a"])
    assert critic.takes_action and critic.pick is None and critic.d == "dQ"
    assert O.derivative("logit") == "d logit"
