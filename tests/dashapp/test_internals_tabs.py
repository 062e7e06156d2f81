"""The Activations, Gradients and Weights tabs and the alerts panel, called directly over
real run folders that a real probe (on a real torch network) wrote through the DiskStore."""

from __future__ import annotations

import json

import plotly.utils
import pytest
import torch
from dash import Patch, no_update
from dash.exceptions import PreventUpdate
from torch import nn

from dashapp import alerts, read
from dashapp.figures import activations as FA
from dashapp.figures.common import is_empty_figure
from dashapp.tabs import activations, gradients, weights
from dashapp.tabs import reloading as R
from health import thresholds as TH
from rl import telemetry as T
from rl.probe import Probe, ProbeConfig, plant_dead_layer
from tests.dashapp.reading import read_once
from tests.dashapp.runbuilder import RunBuilder
from tests.dashapp.ticks import tick_and_load

torch.set_num_threads(1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc1, self.relu1 = nn.Linear(5, 24), nn.ReLU()
        self.fc2, self.relu2 = nn.Linear(24, 20), nn.ReLU()
        self.q_out = nn.Linear(20, 3)

    def forward(self, x):
        return self.q_out(self.relu2(self.fc2(self.relu1(self.fc1(x)))))


class Trainer:
    """A network, a probe and a run folder: ``round()`` acts, learns, samples, publishes."""

    def __init__(self, run: RunBuilder, dead: str | None = None):
        self.net, self.run = Net(), run
        if dead:
            plant_dead_layer(self.net, dead)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.probe = Probe(
            ProbeConfig(
                activation_every=1, activation_max_per_s=None, gradient_every=1, gradient_max_per_s=None, weight_every=1
            )
        ).attach(self.net)
        self.gen = torch.Generator().manual_seed(1)
        self.step = 0

    def round(self, acts: int = 60, updates: int = 4, scale: float = 1.0):
        with torch.no_grad():
            for _ in range(acts):
                self.step += 1
                self.probe.capture.step = self.step
                self.net(scale * torch.randn(1, 5, generator=self.gen))
        for _ in range(updates):
            loss = self.net(torch.randn(16, 5, generator=self.gen)).pow(2).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        self.probe.capture.sample_weights()
        return self.probe.publish(self.run.store)


@pytest.fixture
def trainer(make_run):
    return Trainer(make_run("probe-run"))


def sent(value) -> int:
    return len(json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder))


# --------------------------------------------------------------------------- read side
def test_read_functions_return_what_the_probe_wrote(trainer):
    run = str(trainer.run.path)
    with read.session(run) as s:
        assert read.probe.probe_records(s, T.ACTIVATIONS).records == []
        assert read.probe.neuron_activity(s) is None and read.probe.alerts(s) is None
    trainer.round()
    trainer.round()
    with read.session(run) as s:
        acts = read.probe.probe_records(s, T.ACTIVATIONS)
        assert acts.seq == 1 and [r.step for r in acts.records] == [60, 120] and acts.full
        layer = acts.latest.layers[0]
        assert isinstance(layer, T.ActivationLayer) and layer.name == "fc1" and layer.size == 24
        latest = read.probe.latest_probe_record(s, T.WEIGHTS)
        assert isinstance(latest, T.WeightRecord) and latest.step == 120 and latest.network == "q_network"
        activity = read.probe.neuron_activity(s)
        assert activity.samples == 120 and activity.layer("fc1").history.shape == (120, 24)
        assert read.probe.alerts(s).step == 120
        got = read.probe.probe_update(s, T.GRADIENTS, None)
        assert got.full and len(got.records) == 8 and got.seq == 7
    trainer.round()
    with read.session(run) as s:
        new = read.probe.probe_update(s, T.GRADIENTS, got.seq)
        assert not new.full and [r.update for r in new.records] == [9, 10, 11, 12] and new.seq == 11
        # also the newest 6 records whatever the page had, in the same session
        none_new = read.probe.probe_update(s, T.GRADIENTS, new.seq, tail=6)
        assert none_new.records == [] and not none_new.full and none_new.seq == new.seq
        assert [r.update for r in none_new.tail] == [7, 8, 9, 10, 11, 12]
        assert read.probe.probe_update(s, T.GRADIENTS, 100).full  # the page is ahead: the series restarted
        with pytest.raises(ValueError):
            read.probe.probe_records(s, T.STEPS)
    # what the chart holds belongs to one view (run, layer): another layer's chart holds nothing to extend
    cursor = R.loaded({"run": run, "layer": "x"}, new.seq, True)
    assert R.drawn_seq(cursor, {"run": run, "layer": "x"}) == new.seq
    assert R.drawn_seq(cursor, {"run": run, "layer": "other"}) is None


def test_alerts_are_read_most_severe_first(make_run):
    run = make_run("alerts")

    def entry(id_, level, active, started, **kw):
        return T.AlertEntry(
            id=id_,
            rule="dead_neurons",
            layer="fc1",
            level=level,
            title=id_,
            message="m",
            remedy="r",
            active=active,
            network="q_network",
            started_step=started,
            **kw,
        )

    run.store.put(
        T.ALERTS,
        T.AlertsRecord(
            step=500,
            time=0.0,
            alerts=[
                entry("a", "warning", True, 100),
                entry("b", "critical", True, 300),
                entry("c", "critical", False, 50, ended_step=90),
                entry("d", "critical", True, 200),
            ],
        ).to_dict(),
    )
    view = read_once(run.path, read.probe.alerts)
    assert [a.id for a in view.active] == ["d", "b", "a"]  # critical first, then the older first
    assert [a.id for a in view.cleared] == ["c"] and view.step == 500
    # in the page an alert is "<network>:<id>", and says its network when the run watches several
    item = alerts.alert_item(view.active[0])
    assert item.id == {"type": "alerts-item", "alert": "q_network:d", "active": True}
    assert alerts.where(view.active[0]) == " in fc1" and alerts.where(view.active[0], 2) == " in fc1 of q_network"
    assert "3 active alerts" in str(alerts.render(view)) and "1 cleared alert" in str(alerts.render(view))
    run.store.put(
        T.ALERTS,
        {
            "kind": "alerts",
            "v": T.SCHEMA_VERSION,
            "step": 1,
            "time": 0.0,
            "alerts": [{"level": "critical", "active": True}],
        },
    )  # no id, rule, ...: malformed
    with pytest.raises(read.BrokenRun, match="alerts"):
        read_once(run.path, read.probe.alerts)


def test_newer_schema_probe_records_make_the_run_broken(make_run):
    run = make_run("future")
    run.store.append(T.probe_key(T.ACTIVATIONS, "q_network"), [{"v": T.SCHEMA_VERSION + 1, "step": 1, "layers": []}])
    run.store.put(T.probe_key(T.NEURONS, "q_network"), {"v": T.SCHEMA_VERSION + 1, "layers": []})
    with pytest.raises(read.BrokenRun, match="schema"):
        read_once(run.path, read.probe.probe_records, T.ACTIVATIONS)
    with pytest.raises(read.BrokenRun, match="schema"):
        read_once(run.path, read.probe.neuron_activity)
    out = activations.tick_activations(1, activations.TAB_ID, "fc1", str(run.path), None)
    assert is_empty_figure(out[1]) and "cannot be read" in out[1].layout.annotations[0].text
    heat, cursor = activations.load_activations(out[-1], str(run.path), "fc1")  # asked once, to explain
    assert "cannot be read" in heat.layout.annotations[0].text and cursor["broken"]
    again = activations.tick_activations(2, activations.TAB_ID, "fc1", str(run.path), cursor)
    assert again[-2] is no_update and again[-1] is no_update  # explained: no more loads


# --------------------------------------------------------------------------- activations tab
def activations_tick(n, layer, run, cursor):
    """One poll of the Activations tab's histogram-over-time, and the load it asks for."""
    return tick_and_load(
        activations.tick_activations,
        activations.load_activations,
        n,
        (activations.TAB_ID, layer, run),
        cursor,
        (run, layer),
    )


def test_activations_tab_draws_then_only_appends(trainer):
    run = str(trainer.run.path)
    with pytest.raises(PreventUpdate):  # a hidden tab reads nothing and sends nothing
        activations.tick_activations(1, "live", "fc1", run, None)
    out, figs, cursor = activations_tick(1, "fc1", run, None)
    assert is_empty_figure(figs[0]) and cursor["drawn"] is False  # nothing written yet
    out, figs, cursor = activations_tick(2, "fc1", run, cursor)
    assert figs is None and out[-1] is no_update  # still nothing: no pointless load
    trainer.round(acts=TH.LIVE_DEAD_WINDOW)  # a full window: the neurons are judged
    options, value, listed = activations.update_layer_choice(1, activations.TAB_ID, run, None, [], None)
    assert [o["value"] for o in options] == ["fc1", "fc2"] and value == "fc1" and listed == run
    with pytest.raises(PreventUpdate):  # a valid choice: the layers are looked at again only now and then
        activations.update_layer_choice(3, activations.TAB_ID, run, "fc1", options, run)
    assert activations.update_layer_choice(10, activations.TAB_ID, run, "fc1", options, run) == (no_update,) * 3
    out, figs, cursor = activations_tick(3, "fc1", run, cursor)
    cards, hists, grid, caption = out[:4]
    assert "fc1" in str(cards) and "fc2" in str(cards)
    assert len(hists.data) == 2 and len(grid.data[0].z) == 2 and f"{TH.LIVE_DEAD_WINDOW} samples" in caption
    assert out[5] is no_update and list(figs[0].data[0].x) == [TH.LIVE_DEAD_WINDOW] and cursor["drawn"]
    assert cursor["grid"]
    shown = out[4]
    assert shown["hist"] == ["fc1", "fc2"] and shown["grid"] == [["fc1", "fc2"], 24]
    full_size = sent(figs[0])
    trainer.round(scale=0.5)  # smaller inputs: the new histogram fits the heatmap's range
    out = activations.tick_activations(4, activations.TAB_ID, "fc1", run, cursor, shown)
    cursor = out[-2]
    assert isinstance(out[5], Patch) and sent(out[5]) < full_size  # one column, not the figure
    # the same layers as on the page: only the numbers of the histograms and the grid travel
    assert isinstance(out[1], Patch) and isinstance(out[2], Patch) and out[-1] is no_update
    assert cursor["columns"] == 2
    with pytest.raises(PreventUpdate):  # nothing new
        activations.tick_activations(5, activations.TAB_ID, "fc1", run, cursor)
    trainer.round(scale=50.0)  # far larger values: out of the range, so the heatmap is drawn whole
    out, figs, cursor = activations_tick(6, "fc1", run, cursor)
    assert out[5] is no_update and list(figs[0].data[0].x) == [TH.LIVE_DEAD_WINDOW + k * 60 for k in range(3)]
    # another layer: drawn whole again
    out, figs, cursor = activations_tick(7, "fc2", run, cursor)
    assert figs is not None and cursor["key"]["layer"] == "fc2"


def test_a_load_in_flight_is_not_asked_for_twice(trainer):
    run = str(trainer.run.path)
    trainer.round()
    first = activations.tick_activations(1, activations.TAB_ID, "fc1", run, None)
    assert first[-1] is not no_update
    second = activations.tick_activations(2, activations.TAB_ID, "fc1", run, first[-2])  # load not back yet
    assert second[-2] is no_update and second[-1] is no_update
    late = activations.tick_activations(20, activations.TAB_ID, "fc1", run, first[-2])  # lost? ask again
    assert late[-1] is not no_update


def test_dead_layer_shows_in_grid_cards_and_alerts(make_run):
    trainer = Trainer(make_run("dead-run"), dead="fc2")
    run = str(trainer.run.path)
    trainer.round(acts=100)
    trainer.round(acts=20)
    cards, _, grid, caption, *_ = activations.tick_activations(1, activations.TAB_ID, "fc2", run, None)
    assert list(grid.data[0].z[1]) == [0] * 20 + [None] * 4  # fc2: every neuron dead (fc1 is wider)
    assert "20 of 20" in str(cards)
    panel, badge, style, seen = alerts.update_alerts(1, run, None)
    text = str(panel)
    assert "Dead neurons" in text and "fc2" in text and "critical" in text and "What to try" in text
    assert style["display"] == "block" and "network alert" in str(badge)  # pinned to the window's corner
    with pytest.raises(PreventUpdate):  # unchanged: nothing sent
        alerts.update_alerts(2, run, seen)
    panel, badge, style, seen = alerts.update_alerts(3, None, None)
    assert seen == {"run": None, "sig": []} and style["display"] == "none"


def test_sparklines_extend_with_new_samples_only(trainer):
    run = str(trainer.run.path)
    trainer.round()
    ext, options, page, cursor, reload = activations.tick_sparklines(
        1, activations.TAB_ID, "fc1", None, run, None, None
    )
    assert ext is no_update and [o["value"] for o in options] == [0, 16] and page == 0
    fig, cursor = activations.load_sparklines(reload, run)
    assert len(fig.data) == 16
    assert cursor["key"] == {"run": run, "network": "q_network", "layer": "fc1", "first": 0} and cursor["samples"] == 60
    trainer.round(acts=7)
    ext, options, page, cursor, reload = activations.tick_sparklines(
        2, activations.TAB_ID, "fc1", 0, run, cursor, options
    )
    assert options is no_update and page is no_update and reload is no_update
    data, traces, cap = ext
    assert traces == list(range(16)) and data["x"][0] == list(range(60, 67))
    ext, _, _, cursor, reload = activations.tick_sparklines(
        3, activations.TAB_ID, "fc1", 16, run, cursor, FA.sparkline_page_options(24)
    )
    fig, cursor = activations.load_sparklines(reload, run)
    assert len(fig.data) == 8  # neurons 16..23 of 24
    with pytest.raises(PreventUpdate):
        activations.tick_sparklines(4, "weights", "fc1", 0, run, cursor, options)


def test_layer_picker_answers_nothing_while_hidden_and_catches_up_when_shown(trainer, make_run):
    run = str(trainer.run.path)
    trainer.round()
    options, value, listed = activations.update_layer_choice(1, activations.TAB_ID, run, None, [], None)
    other = str(make_run("no-samples-yet").path)
    with pytest.raises(PreventUpdate):  # another run chosen while the tab is hidden: nothing read
        activations.update_layer_choice(1, "live", other, value, options, listed)
    # shown again: its first poll (not a layer-check tick) sees the list is another run's
    assert activations.update_layer_choice(3, activations.TAB_ID, other, value, options, listed) == ([], None, other)
    with pytest.raises(PreventUpdate):  # the page load triggers every tab: hidden ones send nothing
        activations.update_layer_choice(0, "live", run, None, [], None)


# --------------------------------------------------------------------------- gradients tab
def test_gradients_tab_draws_then_patches_and_extends(trainer):
    run = str(trainer.run.path)
    with pytest.raises(PreventUpdate):
        gradients.tick_gradients(1, "live", run, None)
    trainer.round()
    out, figs, cursor = tick_and_load(
        gradients.tick_gradients, gradients.load_gradients, 1, (gradients.TAB_ID, run), None, (run,)
    )
    table, heat, lines = out[0], *figs
    assert list(heat.data[0].y) == ["fc1", "fc2", "q_out"] and len(heat.data[0].x) == 4
    assert [t.name for t in lines.data] == ["fc1", "fc2", "q_out"]
    assert "healthy" in str(table) and cursor["layers"] == ["fc1", "fc2", "q_out"]
    trainer.round()
    out, figs, cursor = tick_and_load(
        gradients.tick_gradients, gradients.load_gradients, 2, (gradients.TAB_ID, run), cursor, (run,)
    )
    assert figs is None and isinstance(out[1], Patch)
    data, traces, _ = out[2]
    assert traces == [0, 1, 2] and len(data["x"][0]) == 4
    with pytest.raises(PreventUpdate):
        gradients.tick_gradients(3, gradients.TAB_ID, run, cursor)


def test_gradients_tab_names_the_vanishing_layer(make_run):
    trainer = Trainer(make_run("vanishing"), dead="fc2")  # nothing flows back through fc2
    trainer.round()
    table, *_ = gradients.tick_gradients(1, gradients.TAB_ID, str(trainer.run.path), None)
    text = str(table)
    assert text.count("vanishing") >= 2 and "healthy" in text


# --------------------------------------------------------------------------- weights tab
def test_weights_tab_table_histograms_and_velocity(trainer):
    run = str(trainer.run.path)
    trainer.round()
    options, value, _listed = weights.update_layer_choice(1, weights.TAB_ID, run, None, [], None)
    assert value == "fc1" and len(options) == 3
    out, figs, cursor = tick_and_load(
        weights.tick_weights, weights.load_weights, 1, (weights.TAB_ID, "fc1", run), None, (run, "fc1")
    )
    assert "fc1" in str(out[0]) and len(out[1].data) == 3
    assert is_empty_figure(figs[1]) and not cursor["drawn"]  # one sample: no velocity yet
    trainer.round()
    out, figs, cursor = tick_and_load(
        weights.tick_weights, weights.load_weights, 2, (weights.TAB_ID, "fc1", run), cursor, (run, "fc1")
    )
    velocity = figs[1]
    assert [t.name for t in velocity.data] == ["fc1", "fc2", "q_out"] and cursor["drawn"]
    assert velocity.data[0].y[1] > 0
    trainer.round()
    out, figs, cursor = tick_and_load(
        weights.tick_weights, weights.load_weights, 3, (weights.TAB_ID, "fc1", run), cursor, (run, "fc1")
    )
    assert figs is None and isinstance(out[3], Patch) and out[4][1] == [0, 1, 2]
    assert out[2] == {"run": run, "network": "q_network", "hist": ["fc1", "fc2", "q_out"]}
    again = weights.tick_weights(4, weights.TAB_ID, "fc1", run, {**cursor, "seq": cursor["seq"] - 1}, out[2])
    assert isinstance(again[1], Patch)  # the same layers on the page: only the numbers travel
    with pytest.raises(PreventUpdate):
        weights.tick_weights(4, "live", "fc1", run, cursor)
    with pytest.raises(PreventUpdate):
        weights.update_layer_choice(4, "live", run, "fc1", [])
