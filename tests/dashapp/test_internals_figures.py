"""Pure figure builders of the Activations, Gradients and Weights tabs and the alerts panel."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dashapp.figures import internals as F
from dashapp.figures.common import is_empty_figure
from health import live_rules as R
from health import thresholds as TH

NAN = float("nan")


def act_record(step, layers):
    return {"kind": "activations", "step": step, "samples": step, "layers": layers}


def act_layer(name, hist, lo, hi, states=None, **kw):
    base = {"name": name, "activation": "relu", "size": len(states or [0, 0]), "hist": hist,
            "hist_lo": lo, "hist_hi": hi, "states": states, "window": 100, "dead": 0, "saturated": 0}
    base.update(kw)
    return base


def grad_record(step, norms):
    return {"step": step, "layers": [{"name": n, "norm": v, "finite": v is None or math.isfinite(v)}
                                     for n, v in norms.items()]}


# --------------------------------------------------------------------------- histograms
def test_rebin_keeps_counts_inside_the_grid_and_splits_partial_bins():
    out = F.rebin([4, 6], 0.0, 2.0, 0.0, 4.0, n=4)
    assert out.tolist() == [4.0, 6.0, 0.0, 0.0]
    half = F.rebin([10], 0.0, 1.0, 0.5, 1.5, n=2)  # only half of the source bin is in the grid
    assert half.tolist() == pytest.approx([5.0, 0.0])
    assert F.rebin([NAN, 2], 0.0, 2.0, 0.0, 2.0, n=2).tolist() == [0.0, 2.0]
    assert F.rebin([], 0, 1, 0, 1).sum() == 0 and F.rebin([1], 1.0, 1.0, 0, 1).sum() == 0


def test_histogram_heatmap_columns_are_shares_on_a_common_grid():
    records = [act_record(10, [act_layer("fc1", [5, 5], 0.0, 1.0)]),
               act_record(20, [act_layer("fc1", [2, 8], 0.0, 3.0)]),
               act_record(30, [act_layer("fc2", [1], 0.0, 1.0)])]  # fc1 missing: skipped
    fig, grid = F.histogram_heatmap(records, "fc1", value_label="activation")
    assert grid[0] == 0.0 and grid[1] == pytest.approx(3.0 * (1 + F.GRID_HEADROOM))
    trace = fig.data[0]
    assert list(trace.x) == [10, 20]
    z = np.array(trace.z)  # one column per record (drawn transposed)
    assert z.shape == (2, F.GRID_BINS) and trace.transpose
    np.testing.assert_allclose(z.sum(axis=1), [1.0, 1.0], atol=1e-4)
    fits = F.histogram_columns([act_record(40, [act_layer("fc1", [3], 0.5, 2.5)])], "fc1", grid)
    assert fits["x"] == [40] and len(fits["z"]) == 1 and len(fits["z"][0]) == F.GRID_BINS
    assert F.histogram_columns([act_record(50, [act_layer("fc1", [3], 0.0, 9.0)])], "fc1", grid) is None


def test_histogram_figures_empty_and_nan_input():
    fig, grid = F.histogram_heatmap([], "fc1", value_label="activation")
    assert is_empty_figure(fig) and grid is None
    assert is_empty_figure(F.histogram_heatmap([], None, value_label="x")[0])
    nan_rec = act_record(1, [act_layer("fc1", [1, 2], NAN, NAN)])
    assert is_empty_figure(F.histogram_heatmap([nan_rec], "fc1", value_label="x")[0])
    assert is_empty_figure(F.histograms_figure(None, value_label="x"))
    assert is_empty_figure(F.histograms_figure(nan_rec, value_label="x"))
    fig = F.histograms_figure(act_record(1, [act_layer("fc1", [1, 2], 0.0, 2.0),
                                             act_layer("fc2", [3, NAN], -1.0, 1.0)]), value_label="x")
    assert len(fig.data) == 2 and list(fig.data[0].x) == [0.5, 1.5]
    assert list(fig.data[1].y) == [3.0, None]


# --------------------------------------------------------------------------- activations
def test_dead_grid_cells_follow_neuron_states_and_ragged_layers_are_padded():
    rec = act_record(5, [act_layer("fc1", [1], 0, 1, states=[1, 0, 2, 1]),
                         act_layer("fc2", [1], 0, 1, states=[0, 0], window=40)])
    fig = F.dead_grid_figure(rec)
    trace = fig.data[0]
    assert [list(r) for r in trace.z] == [[1, 0, 2, 1], [0, 0, None, None]]
    assert trace.text[0][2] == "fc1 neuron 2: saturated"
    assert fig.layout.meta["window"] == 40
    assert is_empty_figure(F.dead_grid_figure(None))
    assert is_empty_figure(F.dead_grid_figure(act_record(1, [act_layer("fc1", [1], 0, 1, states=None)])))


def test_activation_cards_shares_and_judgement():
    rec = act_record(5, [act_layer("fc1", [1], 0, 1, states=[0] * 10, dead=3, always_active=5,
                                   mean=0.5, std=NAN, window=100),
                         act_layer("t", [1], 0, 1, states=[0] * 4, activation="tanh", window=50, dead=None)])
    relu, tanh = F.activation_cards(rec)
    assert relu["dead_share"] == 0.3 and relu["always_active_share"] == 0.5 and relu["judged"]
    assert relu["std"] is None and not relu["saturates"]
    assert tanh["saturates"] and not tanh["judged"] and tanh["dead_share"] is None
    assert F.activation_cards(None) == []


def snapshot(samples, history):
    return {"step": 1, "samples": samples,
            "layers": [{"name": "fc1", "activation": "relu", "history": np.asarray(history, dtype=float)}]}


def test_sparklines_one_trace_per_neuron_and_extension_only_new_samples():
    history = np.arange(5 * 20, dtype=float).reshape(5, 20)
    snap = snapshot(samples=12, history=history)  # the 5 newest of 12 samples: 7..11
    fig = F.sparklines_figure(snap, "fc1", first=16)
    assert len(fig.data) == 4  # neurons 16..19
    assert list(fig.data[0].x) == [7, 8, 9, 10, 11] and list(fig.data[0].y) == list(history[:, 16])
    assert fig.layout.meta["neurons"] == [16, 17, 18, 19]
    ext = F.sparklines_extension(snap, "fc1", first=16, drawn=10)
    data, traces, cap = ext
    assert traces == [0, 1, 2, 3] and data["x"][0] == [10, 11] and data["y"][3] == list(history[3:, 19])
    assert F.sparklines_extension(snap, "fc1", first=16, drawn=12) is None
    assert is_empty_figure(F.sparklines_figure(None, "fc1"))
    assert is_empty_figure(F.sparklines_figure(snapshot(0, np.zeros((0, 3))), "fc1"))
    assert F.sparkline_page_options(20) == [{"label": "neurons 0–15", "value": 0},
                                           {"label": "neurons 16–19", "value": 16}]
    nan_snap = snapshot(2, [[NAN, 1.0], [2.0, NAN]])
    assert list(F.sparklines_figure(nan_snap, "fc1").data[0].y) == [None, 2.0]


# --------------------------------------------------------------------------- gradients
def test_gradient_heatmap_log_scale_and_marked_ranges():
    records = [grad_record(10, {"fc1": 1e-3, "fc2": 0.1}), grad_record(20, {"fc1": 0.0, "fc2": 1e6}),
               grad_record(30, {"fc1": None, "fc2": NAN})]
    fig = F.gradient_heatmap(records)
    trace = fig.data[0]
    assert list(trace.y) == ["fc1", "fc2"] and list(trace.x) == [10, 20, 30]
    assert trace.z[0][0] == pytest.approx(-3.0) and trace.z[1][0] == pytest.approx(-1.0)
    assert trace.z[0][1] == F.GRAD_ZMIN and trace.z[1][1] == F.GRAD_ZMAX  # clipped into the scale
    assert trace.z[0][2] is None and trace.z[1][2] is None
    assert trace.customdata[0][1] == "0" and trace.customdata[1][1] == "1.00e+06"
    labels = list(trace.colorbar.ticktext)
    assert any("vanishing" in t for t in labels) and any("exploding" in t for t in labels)
    scale = F.gradient_colorscale()
    assert [p for p, _ in scale] == sorted(p for p, _ in scale) and scale[0][0] == 0 and scale[-1][0] == 1
    cols = F.gradient_heatmap_columns(records[:1], ["fc1", "fc2"])
    assert cols["x"] == [10] and cols["z"] == [[pytest.approx(-3.0)], [pytest.approx(-1.0)]]
    assert is_empty_figure(F.gradient_heatmap([]))
    assert is_empty_figure(F.gradient_heatmap([grad_record(1, {"fc1": None})]))


def test_gradient_lines_floor_zero_and_extension():
    records = [grad_record(10, {"fc1": 0.0, "out": 0.5})]
    fig = F.gradient_lines(records)
    assert [t.name for t in fig.data] == ["fc1", "out"]
    assert fig.data[0].y[0] == F.GRAD_DISPLAY_FLOOR and fig.data[0].customdata[0] == "0"
    assert fig.layout.yaxis.type == "log"
    assert [sh.y0 for sh in fig.layout.shapes] == [TH.LIVE_GRAD_VANISHING_FLOOR, TH.LIVE_GRAD_EXPLODING_NORM]
    # labels on a log axis are placed in log10 units (else the axis would stretch to 1e100)
    assert [a.y for a in fig.layout.annotations] == [-7.0, 2.0]
    ext = F.gradient_lines_extension([grad_record(20, {"out": 0.25})], ["fc1", "out"], 300)
    data, traces, cap = ext
    assert traces == [0, 1] and data["x"] == [[20], [20]] and data["y"] == [[None], [0.25]] and cap == 300
    assert F.gradient_lines_extension([], ["fc1"], 10) is None
    assert is_empty_figure(F.gradient_lines([grad_record(1, {"fc1": NAN})]))


def test_gradient_verdict_rows_use_the_alert_rules():
    records = [grad_record(i, {"fc1": 1e-8, "fc2": 0.05, "out": 0.1}) for i in range(6)]
    rows = {r["layer"]: r for r in F.gradient_verdict_rows(records)}
    assert rows["fc1"]["verdict"] == R.VANISHING and rows["fc1"]["color"] == F.VANISHING_COLOR
    assert rows["fc2"]["verdict"] == R.HEALTHY
    nan_rows = F.gradient_verdict_rows([grad_record(1, {"fc1": NAN, "out": 1.0})])
    assert {r["layer"]: r["verdict"] for r in nan_rows}["fc1"] == R.EXPLODING
    assert F.gradient_verdict_rows([]) == []


# --------------------------------------------------------------------------- weights
def weight_record(step, velocities):
    return {"step": step, "updates": 5, "layers": [
        {"name": n, "size": 100, "mean": 0.0, "std": 0.1, "min": -0.3, "max": 0.3, "norm": 1.0,
         "near_zero": 4, "velocity": v, "hist": [1, 2], "hist_lo": -0.3, "hist_hi": 0.3}
        for n, v in velocities.items()]}


def test_velocity_lines_zero_is_drawn_at_the_floor_with_the_stall_line():
    records = [weight_record(0, {"fc1": None}), weight_record(100, {"fc1": 0.0}),
               weight_record(200, {"fc1": 3e-3})]
    fig = F.velocity_lines(records)
    assert list(fig.data[0].y) == [None, F.VELOCITY_DISPLAY_FLOOR, 3e-3]
    assert fig.data[0].customdata[1] == "0"
    assert fig.layout.shapes[0].y0 == TH.LIVE_VELOCITY_STALL
    assert is_empty_figure(F.velocity_lines(records[:1]))
    ext = F.velocity_lines_extension(records[2:], ["fc1"], 100)
    assert ext[0]["y"] == [[3e-3]]


def test_weight_stat_rows():
    (row,) = F.weight_stat_rows(weight_record(1, {"fc1": NAN}))
    assert row["near_zero_share"] == 0.04 and row["velocity"] is None
    assert F.weight_stat_rows(None) == []
    assert F.fmt(None) == "–" and F.fmt(0.000012) == "1.20e-05" and F.fmt(12.3456) == "12.3"


# --------------------------------------------------------------------------- alerts
def test_alert_view_orders_active_alerts_by_severity():
    data = {"step": 500, "alerts": [
        {"id": "a", "level": "warning", "active": True, "started_step": 100},
        {"id": "b", "level": "critical", "active": True, "started_step": 300},
        {"id": "c", "level": "critical", "active": False, "started_step": 50, "ended_step": 90},
        {"level": "critical", "active": True},  # no id: malformed, skipped
        "junk",
    ]}
    view = F.alert_view(data)
    assert [a["id"] for a in view["active"]] == ["b", "a"]
    assert [a["id"] for a in view["cleared"]] == ["c"] and view["step"] == 500
    assert F.alert_view(None) == {"active": [], "cleared": [], "step": None}
