"""Pure figure builders of the Activations, Gradients and Weights tabs, from typed probe
records (``rl.telemetry``) made by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dashapp.figures import activations as A
from dashapp.figures import gradients as G
from dashapp.figures import histograms as H
from dashapp.figures import weights as W
from dashapp.figures.common import is_empty_figure
from dashapp.read.probe import LayerHistory, NeuronActivity
from health import live_rules as R
from health import thresholds as TH
from rl import telemetry as T

NAN = float("nan")


def act_record(step, layers):
    return T.ActivationRecord(step=step, samples=step, layers=layers)


def act_layer(name, hist, lo, hi, states=(), **kw):
    base = dict(
        name=name,
        activation="relu",
        size=len(states or [0, 0]),
        samples=10,
        mean=None,
        std=None,
        min=None,
        max=None,
        hist=hist,
        hist_lo=lo,
        hist_hi=hi,
        states=list(states),
        window=100,
        dead=0,
        saturated=0,
    )
    base.update(kw)
    return T.ActivationLayer(**base)


def grad_record(step, norms):
    return T.GradientRecord(
        step=step,
        update=step,
        total_norm=None,
        layers=[
            T.GradientLayer(name=n, norm=v, mean_abs=None, max_abs=None, std=None, finite=v is None or math.isfinite(v))
            for n, v in norms.items()
        ],
    )


# --------------------------------------------------------------------------- histograms
def test_rebin_keeps_counts_inside_the_grid_and_splits_partial_bins():
    out = H.rebin([4, 6], 0.0, 2.0, 0.0, 4.0, n=4)
    assert out.tolist() == [4.0, 6.0, 0.0, 0.0]
    half = H.rebin([10], 0.0, 1.0, 0.5, 1.5, n=2)  # only half of the source bin is in the grid
    assert half.tolist() == pytest.approx([5.0, 0.0])
    assert H.rebin([NAN, 2], 0.0, 2.0, 0.0, 2.0, n=2).tolist() == [0.0, 2.0]
    assert H.rebin([], 0, 1, 0, 1).sum() == 0 and H.rebin([1], 1.0, 1.0, 0, 1).sum() == 0


def test_histogram_heatmap_columns_are_shares_on_a_common_grid():
    records = [
        act_record(10, [act_layer("fc1", [5, 5], 0.0, 1.0)]),
        act_record(20, [act_layer("fc1", [2, 8], 0.0, 3.0)]),
        act_record(30, [act_layer("fc2", [1], 0.0, 1.0)]),
    ]  # fc1 missing: skipped
    fig, grid = H.histogram_heatmap(records, "fc1", value_label="activation")
    assert grid[0] == 0.0 and grid[1] == pytest.approx(3.0 * (1 + H.GRID_HEADROOM))
    trace = fig.data[0]
    assert list(trace.x) == [10, 20]
    z = np.array(trace.z)  # one column per record (drawn transposed)
    assert z.shape == (2, H.GRID_BINS) and trace.transpose
    np.testing.assert_allclose(z.sum(axis=1), [1.0, 1.0], atol=1e-4)
    fits = H.histogram_columns([act_record(40, [act_layer("fc1", [3], 0.5, 2.5)])], "fc1", grid)
    assert fits["x"] == [40] and len(fits["z"]) == 1 and len(fits["z"][0]) == H.GRID_BINS
    assert H.histogram_columns([act_record(50, [act_layer("fc1", [3], 0.0, 9.0)])], "fc1", grid) is None


def test_histogram_figures_empty_and_nan_input():
    fig, grid = H.histogram_heatmap([], "fc1", value_label="activation")
    assert is_empty_figure(fig) and grid is None
    assert is_empty_figure(H.histogram_heatmap([], None, value_label="x")[0])
    nan_rec = act_record(1, [act_layer("fc1", [1, 2], NAN, NAN)])
    assert is_empty_figure(H.histogram_heatmap([nan_rec], "fc1", value_label="x")[0])
    assert is_empty_figure(H.histograms_figure(None, value_label="x"))
    assert is_empty_figure(H.histograms_figure(nan_rec, value_label="x"))
    fig = H.histograms_figure(
        act_record(1, [act_layer("fc1", [1, 2], 0.0, 2.0), act_layer("fc2", [3, NAN], -1.0, 1.0)]), value_label="x"
    )
    assert len(fig.data) == 2 and list(fig.data[0].x) == [0.5, 1.5]
    assert list(fig.data[1].y) == [3.0, None]


# --------------------------------------------------------------------------- activations
def test_dead_grid_cells_follow_neuron_states_and_ragged_layers_are_padded():
    rec = act_record(
        5, [act_layer("fc1", [1], 0, 1, states=[1, 0, 2, 1]), act_layer("fc2", [1], 0, 1, states=[0, 0], window=120)]
    )
    fig = A.dead_grid_figure(rec)
    trace = fig.data[0]
    assert [list(r) for r in trace.z] == [[1, 0, 2, 1], [0, 0, None, None]]
    assert trace.text[0][2] == "fc1 neuron 2: saturated"
    assert fig.layout.meta["window"] == 100
    # states from a window shorter than LIVE_DEAD_WINDOW (an old run's) are not drawn as a verdict
    early = act_record(5, [act_layer("fc1", [1], 0, 1, states=[1, 0], window=40)])
    assert is_empty_figure(A.dead_grid_figure(early))
    assert is_empty_figure(A.dead_grid_figure(None))
    assert is_empty_figure(A.dead_grid_figure(act_record(1, [act_layer("fc1", [1], 0, 1, states=[])])))


def test_activation_cards_shares_and_judgement():
    rec = act_record(
        5,
        [
            act_layer("fc1", [1], 0, 1, states=[0] * 10, dead=3, always_active=5, mean=0.5, std=NAN, window=100),
            act_layer("t", [1], 0, 1, states=[0] * 4, activation="tanh", window=50, dead=None),
            act_layer("old", [1], 0, 1, states=[0] * 4, window=86, dead=2),  # a schema-1 run's short window
        ],
    )
    relu, tanh, old = A.activation_cards(rec)
    assert relu["dead_share"] == 0.3 and relu["always_active_share"] == 0.5 and relu["judged"]
    assert relu["std"] is None and not relu["saturates"]
    assert tanh["saturates"] and not tanh["judged"] and tanh["dead_share"] is None
    assert not old["judged"] and old["dead"] is None and old["window"] == 86
    assert A.activation_cards(None) == []


def snapshot(samples, history):
    return NeuronActivity(
        step=1, samples=samples, layers=[LayerHistory("fc1", "relu", np.asarray(history, dtype=np.float32))]
    )


def test_sparklines_one_trace_per_neuron_and_extension_only_new_samples():
    history = np.arange(5 * 20, dtype=float).reshape(5, 20)
    snap = snapshot(samples=12, history=history)  # the 5 newest of 12 samples: 7..11
    fig = A.sparklines_figure(snap, "fc1", first=16)
    assert len(fig.data) == 4  # neurons 16..19
    assert list(fig.data[0].x) == [7, 8, 9, 10, 11] and list(fig.data[0].y) == list(history[:, 16])
    assert fig.layout.meta["neurons"] == [16, 17, 18, 19]
    ext = A.sparklines_extension(snap, "fc1", first=16, drawn=10)
    data, traces, cap = ext
    assert traces == [0, 1, 2, 3] and data["x"][0] == [10, 11] and data["y"][3] == list(history[3:, 19])
    assert A.sparklines_extension(snap, "fc1", first=16, drawn=12) is None
    assert is_empty_figure(A.sparklines_figure(None, "fc1"))
    assert is_empty_figure(A.sparklines_figure(snapshot(0, np.zeros((0, 3))), "fc1"))
    assert A.sparkline_page_options(20) == [
        {"label": "neurons 0–15", "value": 0},
        {"label": "neurons 16–19", "value": 16},
    ]
    nan_snap = snapshot(2, [[NAN, 1.0], [2.0, NAN]])
    assert list(A.sparklines_figure(nan_snap, "fc1").data[0].y) == [None, 2.0]


# --------------------------------------------------------------------------- gradients
def test_gradient_heatmap_colours_follow_the_verdicts():
    records = [
        grad_record(10, {"fc1": 1e-3, "fc2": 0.1}),
        grad_record(20, {"fc1": 0.0, "fc2": 1e6}),
        grad_record(30, {"fc1": None, "fc2": NAN}),
    ]
    fig = G.gradient_heatmap(records)
    trace = fig.data[0]
    assert list(trace.y) == ["fc1", "fc2"] and list(trace.x) == [10, 20, 30]
    span = G.GRAD_ZMAX - G.GRAD_ZMIN
    # healthy band (1..2), shade = where the log norm sits on GRAD_ZMIN..GRAD_ZMAX
    assert trace.z[0][0] == pytest.approx(1.0 + (-3.0 - G.GRAD_ZMIN) / span)
    assert trace.z[1][0] == pytest.approx(1.0 + (-1.0 - G.GRAD_ZMIN) / span)
    # fc1's recent median (5e-4) is a millionth of fc2's (5e5): vanishing by the relative rule, palest shade
    assert trace.z[0][1] == 0.0
    assert 2.0 <= trace.z[1][1] < 3.0  # 1e6: exploding (red)
    assert trace.z[0][2] is None and 2.0 <= trace.z[1][2] < 3.0  # NaN: exploding
    assert trace.customdata[0][1] == "0 (vanishing)" and trace.customdata[1][1] == "1.00e+06 (exploding)"
    assert list(trace.colorbar.ticktext) == [R.VANISHING, R.HEALTHY, R.EXPLODING]
    scale = G.gradient_colorscale()
    assert [p for p, _ in scale] == sorted(p for p, _ in scale) and scale[0][0] == 0 and scale[-1][0] == 1
    cols = G.gradient_heatmap_columns(records[:1], ["fc1", "fc2"])
    assert cols["x"] == [10] and cols["z"] == [[trace.z[0][0]], [trace.z[1][0]]]
    assert is_empty_figure(G.gradient_heatmap([]))
    assert is_empty_figure(G.gradient_heatmap([grad_record(1, {"fc1": None})]))


def test_the_heatmap_and_the_verdict_table_agree():
    # fc1 at 1e-5 is far above the absolute floor (1e-7) but a thousand times below the other
    # layers: vanishing by the alerts' rule -- so its cells are blue, not green
    records = [grad_record(i, {"fc1": 1e-5, "fc2": 0.05, "out": 0.1}) for i in range(8)]
    rows = {r["layer"]: r["verdict"] for r in G.gradient_verdict_rows(records)}
    assert rows == {"fc1": R.VANISHING, "fc2": R.HEALTHY, "out": R.HEALTHY}
    trace = G.gradient_heatmap(records).data[0]
    band = {0: R.VANISHING, 1: R.HEALTHY, 2: R.EXPLODING}
    assert [band[int(z)] for z in trace.z[0]] == [R.VANISHING] * 8
    assert [band[int(z)] for z in trace.z[1]] == [R.HEALTHY] * 8
    # a patch of new columns judges them with the records before them, as the table does
    new = G.gradient_heatmap_columns(records[6:], ["fc1", "fc2", "out"], context=records[:6])
    assert new["z"] == [row[6:] for row in trace.z]
    assert R.gradient_verdict_series({"a": [1e-9, 1e-9, 0.1]})["a"] == [R.VANISHING, R.VANISHING, R.VANISHING]


def test_gradient_lines_floor_zero_and_extension():
    records = [grad_record(10, {"fc1": 0.0, "out": 0.5})]
    fig = G.gradient_lines(records)
    assert [t.name for t in fig.data] == ["fc1", "out"]
    assert fig.data[0].y[0] == G.GRAD_DISPLAY_FLOOR and fig.data[0].customdata[0] == "0"
    assert fig.layout.yaxis.type == "log"
    assert [sh.y0 for sh in fig.layout.shapes] == [TH.LIVE_GRAD_VANISHING_FLOOR, TH.LIVE_GRAD_EXPLODING_NORM]
    # labels on a log axis are placed in log10 units (else the axis would stretch to 1e100)
    assert [a.y for a in fig.layout.annotations] == [-7.0, 2.0]
    ext = G.gradient_lines_extension([grad_record(20, {"out": 0.25})], ["fc1", "out"], 300)
    data, traces, cap = ext
    assert traces == [0, 1] and data["x"] == [[20], [20]] and data["y"] == [[None], [0.25]] and cap == 300
    assert G.gradient_lines_extension([], ["fc1"], 10) is None
    assert is_empty_figure(G.gradient_lines([grad_record(1, {"fc1": NAN})]))


def test_gradient_verdict_rows_use_the_alert_rules():
    records = [grad_record(i, {"fc1": 1e-8, "fc2": 0.05, "out": 0.1}) for i in range(6)]
    rows = {r["layer"]: r for r in G.gradient_verdict_rows(records)}
    assert rows["fc1"]["verdict"] == R.VANISHING and rows["fc1"]["color"] == G.VANISHING_COLOR
    assert rows["fc2"]["verdict"] == R.HEALTHY
    nan_rows = G.gradient_verdict_rows([grad_record(1, {"fc1": NAN, "out": 1.0})])
    assert {r["layer"]: r["verdict"] for r in nan_rows}["fc1"] == R.EXPLODING
    assert G.gradient_verdict_rows([]) == []


# --------------------------------------------------------------------------- weights
def weight_record(step, velocities):
    return T.WeightRecord(
        step=step,
        updates=5,
        layers=[
            T.WeightLayer(
                name=n,
                size=100,
                mean=0.0,
                std=0.1,
                min=-0.3,
                max=0.3,
                norm=1.0,
                near_zero=4,
                velocity=v,
                hist=[1, 2],
                hist_lo=-0.3,
                hist_hi=0.3,
            )
            for n, v in velocities.items()
        ],
    )


def test_velocity_lines_zero_is_drawn_at_the_floor_with_the_stall_line():
    records = [weight_record(0, {"fc1": None}), weight_record(100, {"fc1": 0.0}), weight_record(200, {"fc1": 3e-3})]
    fig = W.velocity_lines(records)
    assert list(fig.data[0].y) == [None, W.VELOCITY_DISPLAY_FLOOR, 3e-3]
    assert fig.data[0].customdata[1] == "0"
    assert fig.layout.shapes[0].y0 == TH.LIVE_VELOCITY_STALL
    assert is_empty_figure(W.velocity_lines(records[:1]))
    ext = W.velocity_lines_extension(records[2:], ["fc1"], 100)
    assert ext[0]["y"] == [[3e-3]]


def test_weight_stat_rows():
    (row,) = W.weight_stat_rows(weight_record(1, {"fc1": NAN}))
    assert row["near_zero_share"] == 0.04 and row["velocity"] is None
    assert W.weight_stat_rows(None) == []
