"""The live network-health rules and alert hysteresis, on planted conditions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from health import live_rules as R
from health import thresholds as TH


# --------------------------------------------------------------------------- neurons
def test_forced_dead_relu_neurons_are_dead_others_active():
    rng = np.random.default_rng(0)
    window = np.abs(rng.normal(size=(TH.LIVE_DEAD_WINDOW, 8)))
    window[:, [1, 5]] = 0.0  # a ReLU that never fires outputs exactly zero
    window[:, 6] = 0.004  # below 0.01 on every sample: dead as well
    states = R.neuron_states(window, "relu")
    assert states.tolist() == [R.ACTIVE, R.DEAD, R.ACTIVE, R.ACTIVE, R.ACTIVE, R.DEAD, R.DEAD, R.ACTIVE]


def test_one_firing_sample_keeps_a_relu_alive():
    window = np.zeros((100, 3))
    window[57, 2] = 0.5
    assert R.neuron_states(window, "relu").tolist() == [R.DEAD, R.DEAD, R.ACTIVE]


def test_leaky_dead_neuron_is_found_by_its_constant_output():
    rng = np.random.default_rng(1)
    window = rng.normal(size=(50, 3))
    window[:, 0] = -0.3  # leaky ReLU stuck on its negative side: |a| > 0.01 but constant
    assert R.neuron_states(window, "leaky_relu").tolist() == [R.DEAD, R.ACTIVE, R.ACTIVE]
    # the same column in a plain ReLU layer would be judged by magnitude only
    assert R.neuron_states(window, "relu")[0] == R.ACTIVE


def test_tanh_and_sigmoid_saturation_bounds():
    window = np.array([[0.97, -0.99, 0.5, 0.96], [0.99, -0.96, -0.2, 0.9]])
    assert R.neuron_states(window, "tanh").tolist() == [R.SATURATED, R.SATURATED, R.ACTIVE, R.ACTIVE]
    sig = np.array([[0.97, 0.02, 0.5], [0.98, 0.03, 0.6]])
    assert R.neuron_states(sig, "sigmoid").tolist() == [R.SATURATED, R.SATURATED, R.ACTIVE]
    # ReLU has no saturation; it reports the always-active share instead
    relu = np.array([[2.0, 0.0, 3.0], [1.0, 0.0, 0.0]])
    assert R.neuron_states(relu, "ReLU").tolist() == [R.ACTIVE, R.DEAD, R.ACTIVE]
    summary = R.summarize_neurons(np.tile(relu, (TH.LIVE_DEAD_WINDOW // 2, 1)), "ReLU")
    assert summary == {
        "window": TH.LIVE_DEAD_WINDOW,
        "judged": True,
        "dead": 1,
        "saturated": 0,
        "always_active": 1,
        "states": [1, 0, 1],
    }
    assert R.summarize_neurons(np.tile(window, (TH.LIVE_DEAD_WINDOW // 2, 1)), "tanh")["always_active"] is None


def test_a_layer_is_judged_only_on_a_full_window():
    # the one judgement every view shows: before LIVE_DEAD_WINDOW samples there is none
    quiet = np.zeros((TH.LIVE_DEAD_WINDOW - 1, 4), dtype=np.float32)
    early = R.summarize_neurons(quiet, "relu")
    assert early == {
        "window": TH.LIVE_DEAD_WINDOW - 1,
        "judged": False,
        "dead": None,
        "saturated": None,
        "always_active": None,
        "states": [],
    }
    assert not R.enough_samples(TH.LIVE_DEAD_WINDOW - 1) and R.enough_samples(TH.LIVE_DEAD_WINDOW)
    full = R.summarize_neurons(np.zeros((TH.LIVE_DEAD_WINDOW, 4), dtype=np.float32), "relu")
    assert full["judged"] and full["dead"] == 4 and full["states"] == [R.DEAD] * 4


def test_float16_activations_are_refused():
    # float16 rounds 0.009999 up to 0.0100021: a unit below the threshold would read as firing
    window = np.full((TH.LIVE_DEAD_WINDOW, 2), 0.009999, dtype=np.float32)
    assert R.summarize_neurons(window, "relu")["dead"] == 2
    assert np.abs(window.astype(np.float16).astype(np.float64)).min() >= TH.LIVE_DEAD_ACTIVATION
    with pytest.raises(ValueError, match="float16"):
        R.summarize_neurons(window.astype(np.float16), "relu")
    with pytest.raises(ValueError, match="float16"):
        R.neuron_states(window.astype(np.float16), "relu")


def test_a_dead_alert_says_what_was_measured():
    (relu,) = [c for c in R.check_activations([_layer(dead=20)]) if c.rule == R.DEAD_NEURONS]
    assert "their output was never above 0.01 in magnitude in the last 100 samples" in relu.message
    assert "not fired" not in relu.message
    (leaky,) = R.check_activations([_layer(dead=20, activation="leaky_relu")])
    assert "their output did not change over the last 100 samples (variance < 1e-06)" in leaky.message
    assert R.dead_consequence("relu") != R.dead_consequence("gelu")


def test_neuron_states_empty_and_nan_input():
    assert R.neuron_states(np.zeros((0, 4)), "relu").tolist() == [R.ACTIVE] * 4
    assert R.neuron_states(np.zeros((5, 0)), "relu").tolist() == []
    window = np.full((4, 2), np.nan)
    window[:, 1] = [0.5, np.nan, 0.2, 0.0]
    assert R.neuron_states(window, "relu").tolist() == [R.DEAD, R.ACTIVE]
    with pytest.raises(ValueError, match="2-D"):
        R.neuron_states(np.zeros(3), "relu")


# --------------------------------------------------------------------------- activation checks
def _layer(dead, saturated=0, size=64, window=100, activation="relu"):
    return {
        "name": "fc1",
        "size": size,
        "dead": dead,
        "saturated": saturated,
        "window": window,
        "activation": activation,
    }


def test_dead_share_above_ten_percent_fires_and_thirty_is_critical():
    (ok,) = R.check_activations([_layer(dead=6)])  # 9.4 %
    assert not ok.firing
    (warn,) = R.check_activations([_layer(dead=7)])  # 10.9 %
    assert warn.firing and warn.level == R.WARNING and "7 of 64" in warn.message
    (crit,) = R.check_activations([_layer(dead=30)])
    assert crit.firing and crit.level == R.CRITICAL


def test_saturation_checked_only_for_bounded_activations():
    checks = R.check_activations([_layer(dead=0, saturated=33, activation="tanh")])
    sat = [c for c in checks if c.rule == R.SATURATED_NEURONS]
    assert sat and sat[0].firing
    checks = R.check_activations([_layer(dead=0, saturated=0, activation="relu")])
    assert [c.rule for c in checks] == [R.DEAD_NEURONS]


def test_layer_with_short_window_is_not_judged_yet():
    assert R.check_activations([_layer(dead=64, window=40)]) == []
    assert R.check_activations([_layer(dead=64, size=0)]) == []
    assert R.check_activations([_layer(dead=None)]) == []  # a record from before the window was full


# --------------------------------------------------------------------------- gradients
def test_vanishing_layer_orders_of_magnitude_below_the_others():
    history = {"fc1": [2e-6] * 5, "fc2": [0.05] * 5, "q_out": [0.2] * 5}
    verdicts = {v.layer: v.verdict for v in R.gradient_verdicts(history)}
    assert verdicts == {"fc1": R.VANISHING, "fc2": R.HEALTHY, "q_out": R.HEALTHY}
    checks = {(c.rule, c.layer): c.firing for c in R.check_gradients(history)}
    assert checks[(R.VANISHING_GRADIENTS, "fc1")] and not checks[(R.VANISHING_GRADIENTS, "fc2")]


def test_vanishing_by_absolute_floor_even_alone():
    (v,) = R.gradient_verdicts({"fc1": [1e-9, 0.0, 1e-10]})
    assert v.verdict == R.VANISHING


def test_exploding_above_ceiling_growth_and_nan():
    history = {"fc1": [500.0] * 5, "fc2": [1.0] * 5}
    verdicts = {v.layer: v.verdict for v in R.gradient_verdicts(history)}
    assert verdicts["fc1"] == R.EXPLODING and verdicts["fc2"] == R.HEALTHY
    growing = {"fc1": [0.5] * 5 + [8.0] * 5}  # 16-fold, above 1.0: fast growth
    assert R.gradient_verdicts(growing)[0].verdict == R.EXPLODING
    small_growth = {"fc1": [1e-3] * 5 + [5e-2] * 5}  # 50-fold but tiny: normal early on
    assert R.gradient_verdicts(small_growth)[0].verdict == R.HEALTHY
    (nan,) = R.gradient_verdicts({"fc1": [1.0, float("nan")]})
    assert nan.verdict == R.EXPLODING and nan.level == R.CRITICAL


def test_one_spike_does_not_make_a_layer_explode():
    assert R.gradient_verdicts({"fc1": [1.0, 1.0, 1e4, 1.0, 1.0]})[0].verdict == R.HEALTHY


def test_gradient_verdicts_no_data():
    (v,) = R.gradient_verdicts({"fc1": []})
    assert v.verdict == R.NO_DATA and math.isnan(v.norm)
    assert R.check_gradients({"fc1": []}) == []
    assert R.check_gradients({}) == []


# --------------------------------------------------------------------------- velocity, Q
def test_frozen_weights_stall_only_while_the_optimiser_runs():
    frozen = {"fc1": [(0.0, 25)] * 5}
    (c,) = R.check_velocity(frozen)
    assert c.firing and c.rule == R.LEARNING_STALLED
    before_learning = {"fc1": [(0.0, 0)] * 10}  # no optimisation steps yet: not a stall
    assert R.check_velocity(before_learning) == []
    moving = {"fc1": [(0.0, 25)] * 4 + [(3e-3, 25)]}
    (c,) = R.check_velocity(moving)
    assert not c.firing
    assert R.check_velocity({"fc1": [(None, 0), (0.0, 25)]}) == []


def test_q_divergence_growth_and_nan():
    steady = [5.0 + 0.1 * (i % 3) for i in range(60)]
    assert not R.check_q_values(steady)[0].firing
    growing = list(np.geomspace(20, 5000, 60))
    (c,) = R.check_q_values(growing)
    assert c.firing and c.level == R.WARNING
    # no rule against a guessed bound on the return: a steady |Q| never fires, however large
    (c,) = R.check_q_values([50.0] * 20)
    assert not c.firing and not hasattr(TH, "LIVE_Q_BOUND_MARGIN")
    (c,) = R.check_q_values([1.0, float("inf")])
    assert c.firing and c.level == R.CRITICAL
    assert R.check_q_values([]) == []


# --------------------------------------------------------------------------- hysteresis
def _dead_check(share):
    return R.check_activations([_layer(dead=round(share * 64))])


def test_alert_raised_after_two_evaluations_and_cleared_after_five():
    tracker = R.AlertTracker()
    tracker.update(_dead_check(0.5), step=100, time=1.0)
    assert tracker.active() == []  # one evaluation is not enough
    tracker.update(_dead_check(0.5), step=200, time=2.0)
    (alert,) = tracker.active()
    assert alert.started_step == 100 and alert.started_time == 1.0 and alert.active
    assert alert.level == R.CRITICAL and alert.remedy and alert.title == "Dead neurons"
    for i in range(4):
        tracker.update(_dead_check(0.0), step=300 + i, time=3.0 + i)
        assert tracker.active(), "cleared too early"
    tracker.update(_dead_check(0.0), step=400, time=9.0)
    assert tracker.active() == []
    (old,) = tracker.cleared()
    assert not old.active and old.ended_step == 400 and old.started_step == 100
    data = tracker.to_dicts()
    assert data[0]["id"] == "dead_neurons:fc1" and data[0]["ended_time"] == 9.0


def test_alert_does_not_flicker_across_noisy_samples():
    rng = np.random.default_rng(3)
    tracker = R.AlertTracker()
    transitions, was_active = 0, False
    # a dead share hovering around the 10 % threshold: raw checks flip often
    shares = 0.10 + rng.normal(0, 0.03, size=300)
    raw_flips = int(np.sum(np.diff((shares * 64).round() / 64 > 0.10)))
    for i, share in enumerate(np.clip(shares, 0, 1)):
        tracker.update(_dead_check(share), step=i, time=float(i))
        now_active = bool(tracker.active())
        transitions += now_active != was_active
        was_active = now_active
    assert raw_flips > 60  # the raw condition really is noisy
    assert transitions < raw_flips / 4


def test_unchecked_rules_keep_their_state_and_levels_update():
    tracker = R.AlertTracker()
    for step in range(3):
        tracker.update(_dead_check(0.2), step=step, time=step)
    assert tracker.active()[0].level == R.WARNING
    tracker.update([], step=10, time=10.0)  # no new data: nothing changes
    assert tracker.active()
    tracker.update(_dead_check(0.5), step=11, time=11.0)
    assert tracker.active()[0].level == R.CRITICAL and tracker.active()[0].last_step == 11


def test_alert_dicts_are_json_clean():
    import json

    tracker = R.AlertTracker(raise_after=1)
    tracker.update([R.Check(R.VANISHING_GRADIENTS, "fc1", True, R.WARNING, "m", float("nan"))], 1, 1.0)
    (d,) = tracker.to_dicts()
    assert d["value"] is None
    json.dumps(d, allow_nan=False)


def test_a_vanishing_gradient_is_explained_truthfully_for_the_optimiser():
    # under Adam a layer at a tiny gradient still moves (Adam normalises the step): the text
    # must not say it cannot learn, and must name the optimiser it assumes
    history = {"fc1": [5e-8] * 5, "fc2": [0.05] * 5, "q_out": [0.2] * 5}
    (vanishing,) = [c for c in R.check_gradients(history) if c.rule == R.VANISHING_GRADIENTS and c.firing]
    for text in (vanishing.message, R.REMEDIES[R.VANISHING_GRADIENTS], R.vanishing_meaning()):
        assert "Adam" in text and "cannot learn" not in text and "stops learning" not in text
    assert "still move" in vanishing.message and "update velocity" in vanishing.message
    assert "does not record" in R.vanishing_meaning()
    assert R.vanishing_meaning("AdamW").startswith("under AdamW its weights still move")
    assert "barely move" in R.vanishing_meaning("SGD")
