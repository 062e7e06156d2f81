"""The Activations, Gradients and Weights tabs and the alerts panel, called directly over
real run folders that a real probe (on a real torch network) wrote through the DiskStore."""

from __future__ import annotations

import json

import plotly.utils
import pytest
import torch
from dash import Patch, no_update
from torch import nn

from dashapp import alerts, read
from dashapp.figures.common import is_empty_figure
from dashapp.tabs import activations, gradients, weights
from rl import telemetry as T
from rl.probe import Probe, ProbeConfig, plant_dead_layer
from tests.dashapp.runbuilder import RunBuilder

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
        self.probe = Probe(ProbeConfig(activation_every=1, activation_max_per_s=None, gradient_every=1,
                                       gradient_max_per_s=None, weight_every=1)).attach(self.net)
        self.gen = torch.Generator().manual_seed(1)
        self.step = 0

    def round(self, acts: int = 60, updates: int = 4, scale: float = 1.0):
        with torch.no_grad():
            for _ in range(acts):
                self.step += 1
                self.probe.step = self.step
                self.net(scale * torch.randn(1, 5, generator=self.gen))
        for _ in range(updates):
            loss = self.net(torch.randn(16, 5, generator=self.gen)).pow(2).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        self.probe.sample_weights()
        return self.probe.publish(self.run.store)


@pytest.fixture
def trainer(make_run):
    return Trainer(make_run("probe-run"))


def sent(value) -> int:
    return len(json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder))


# --------------------------------------------------------------------------- read side
def test_read_functions_return_what_the_probe_wrote(trainer):
    run = str(trainer.run.path)
    assert read.probe_records(run, T.ACTIVATIONS) == [] and read.neuron_activity(run) is None
    assert read.live_alerts(run) is None
    trainer.round()
    trainer.round()
    acts = read.probe_records(run, T.ACTIVATIONS)
    assert [r["seq"] for r in acts] == [0, 1] and acts[-1]["layers"][0]["name"] == "fc1"
    assert read.latest_probe_record(run, T.WEIGHTS)["seq"] == 1
    activity = read.neuron_activity(run)
    assert activity["samples"] == 120 and activity["layers"][0]["history"].shape == (120, 24)
    assert read.live_alerts(run)["kind"] == "alerts"
    records, full = read.probe_update(run, T.GRADIENTS, None)
    assert full and len(records) == 8
    cursor = read.probe_cursor(run, records, True, None, layer="x")
    trainer.round()
    new, full = read.probe_update(run, T.GRADIENTS, cursor, layer="x")
    assert not full and [r["update"] for r in new] == [9, 10, 11, 12]
    _, full = read.probe_update(run, T.GRADIENTS, cursor, layer="other")  # another layer: redraw
    assert full
    with pytest.raises(ValueError):
        read.probe_records(run, T.STEPS)


def test_newer_schema_probe_records_make_the_run_broken(make_run):
    run = make_run("future")
    run.store.append(T.ACTIVATIONS, [{"v": T.SCHEMA_VERSION + 1, "step": 1, "layers": []}])
    run.store.put(T.NEURONS, {"v": T.SCHEMA_VERSION + 1, "layers": []})
    with pytest.raises(read.BrokenRun, match="schema"):
        read.probe_records(str(run.path), T.ACTIVATIONS)
    with pytest.raises(read.BrokenRun, match="schema"):
        read.neuron_activity(str(run.path))
    out = activations.update_activations(1, activations.TAB_ID, "fc1", str(run.path), None)
    assert is_empty_figure(out[1]) and "cannot be read" in out[1].layout.annotations[0].text


# --------------------------------------------------------------------------- activations tab
def test_activations_tab_draws_then_only_appends(trainer):
    run = str(trainer.run.path)
    assert activations.update_activations(1, "live", "fc1", run, None) == (no_update,) * 6  # hidden tab
    out = activations.update_activations(1, activations.TAB_ID, "fc1", run, None)  # nothing yet
    assert is_empty_figure(out[4]) and out[5]["drawn"] is False
    trainer.round()
    options, value = activations.update_layer_choice(1, activations.TAB_ID, run, None, [])
    assert [o["value"] for o in options] == ["fc1", "fc2"] and value == "fc1"
    cards, hists, grid, caption, heat, cursor = activations.update_activations(2, activations.TAB_ID, "fc1", run, None)
    assert "fc1" in str(cards) and "fc2" in str(cards)
    assert len(hists.data) == 2 and len(grid.data[0].z) == 2 and "60 samples" in caption
    assert list(heat.data[0].x) == [60] and cursor["drawn"] and cursor["grid"]
    full_size = sent(heat)
    trainer.round(scale=0.5)  # smaller inputs: the new histogram fits the heatmap's range
    out = activations.update_activations(3, activations.TAB_ID, "fc1", run, cursor)
    assert isinstance(out[4], Patch) and sent(out[4]) < full_size / 2
    cursor = out[5]
    assert cursor["columns"] == 2
    assert activations.update_activations(4, activations.TAB_ID, "fc1", run, cursor) == (no_update,) * 6
    trainer.round(scale=50.0)  # far larger values: out of range, so the heatmap is redrawn
    out = activations.update_activations(5, activations.TAB_ID, "fc1", run, cursor)
    assert not isinstance(out[4], Patch) and list(out[4].data[0].x) == [60, 120, 180]


def test_dead_layer_shows_in_grid_cards_and_alerts(make_run):
    trainer = Trainer(make_run("dead-run"), dead="fc2")
    run = str(trainer.run.path)
    trainer.round(acts=100)
    trainer.round(acts=20)
    cards, _, grid, caption, _, _ = activations.update_activations(1, activations.TAB_ID, "fc2", run, None)
    assert list(grid.data[0].z[1]) == [0] * 20 + [None] * 4  # fc2: every neuron dead (fc1 is wider)
    assert "20 of 20" in str(cards)
    panel, seen = alerts.update_alerts(1, run, None)
    text = str(panel)
    assert "Dead neurons" in text and "fc2" in text and "critical" in text and "What to try" in text
    assert alerts.update_alerts(2, run, seen) == (no_update, no_update)  # unchanged: nothing sent
    assert alerts.update_alerts(3, None, None)[1] == {"run": None, "sig": []}


def test_sparklines_extend_with_new_samples_only(trainer):
    run = str(trainer.run.path)
    trainer.round()
    fig, ext, options, cursor = activations.update_sparklines(1, activations.TAB_ID, "fc1", 0, run, None, None)
    assert len(fig.data) == 16 and ext is no_update and [o["value"] for o in options] == [0, 16]
    assert cursor == {"run": run, "layer": "fc1", "first": 0, "samples": 60, "drawn": True}
    trainer.round(acts=7)
    fig, ext, options, cursor = activations.update_sparklines(2, activations.TAB_ID, "fc1", 0, run, cursor, options)
    assert fig is no_update and options is no_update
    data, traces, cap = ext
    assert traces == list(range(16)) and data["x"][0] == list(range(60, 67))
    fig, ext, _, cursor = activations.update_sparklines(3, activations.TAB_ID, "fc1", 16, run, cursor, options)
    assert len(fig.data) == 8  # neurons 16..23 of 24
    assert activations.update_sparklines(4, "weights", "fc1", 0, run, cursor, options) == (no_update,) * 4


# --------------------------------------------------------------------------- gradients tab
def test_gradients_tab_draws_then_patches_and_extends(trainer):
    run = str(trainer.run.path)
    assert gradients.update_gradients(1, "live", run, None) == (no_update,) * 5
    trainer.round()
    table, heat, lines, ext, cursor = gradients.update_gradients(1, gradients.TAB_ID, run, None)
    assert list(heat.data[0].y) == ["fc1", "fc2", "q_out"] and len(heat.data[0].x) == 4
    assert [t.name for t in lines.data] == ["fc1", "fc2", "q_out"] and ext is no_update
    assert "healthy" in str(table) and cursor["layers"] == ["fc1", "fc2", "q_out"]
    trainer.round()
    table, heat, lines, ext, cursor = gradients.update_gradients(2, gradients.TAB_ID, run, cursor)
    assert isinstance(heat, Patch) and lines is no_update
    data, traces, _ = ext
    assert traces == [0, 1, 2] and len(data["x"][0]) == 4
    assert gradients.update_gradients(3, gradients.TAB_ID, run, cursor) == (no_update,) * 5


def test_gradients_tab_names_the_vanishing_layer(make_run):
    trainer = Trainer(make_run("vanishing"), dead="fc2")  # nothing flows back through fc2
    trainer.round()
    table, *_ = gradients.update_gradients(1, gradients.TAB_ID, str(trainer.run.path), None)
    text = str(table)
    assert text.count("vanishing") >= 2 and "healthy" in text


# --------------------------------------------------------------------------- weights tab
def test_weights_tab_table_histograms_and_velocity(trainer):
    run = str(trainer.run.path)
    trainer.round()
    options, value = weights.update_layer_choice(1, weights.TAB_ID, run, None, [])
    assert value == "fc1" and len(options) == 3
    table, hists, heat, velocity, ext, cursor = weights.update_weights(1, weights.TAB_ID, "fc1", run, None)
    assert "fc1" in str(table) and len(hists.data) == 3
    assert is_empty_figure(velocity) and not cursor["drawn"]  # one sample: no velocity yet
    trainer.round()
    table, hists, heat, velocity, ext, cursor = weights.update_weights(2, weights.TAB_ID, "fc1", run, cursor)
    assert [t.name for t in velocity.data] == ["fc1", "fc2", "q_out"] and cursor["drawn"]
    assert velocity.data[0].y[1] > 0
    trainer.round()
    table, hists, heat, velocity, ext, cursor = weights.update_weights(3, weights.TAB_ID, "fc1", run, cursor)
    assert velocity is no_update and ext[1] == [0, 1, 2]
    assert isinstance(heat, Patch) or not is_empty_figure(heat)
    assert weights.update_weights(4, "live", "fc1", run, cursor) == (no_update,) * 6
