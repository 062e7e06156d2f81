"""WeightWatcher figures: every number we report equals WeightWatcher's own analyze() on the
same weights, in every checkpoint format; layers it cannot fit are 'not analysed'."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from health import analyze_checkpoint, analyze_network, load_checkpoint
from health.metrics import WW_EXTRA_COLUMNS
from tests.health import writers as W

torch.set_num_threads(1)

MAIN = ("num_evals", "alpha", "alpha_weighted", "log_norm", "log_spectral_norm", "stable_rank")


def _same(ours, theirs):
    if theirs is None or (isinstance(theirs, float) and not math.isfinite(theirs)):
        return ours is None
    if isinstance(theirs, str):
        return ours == theirs
    return ours == pytest.approx(float(theirs), rel=1e-12, abs=0)


def assert_matches_weightwatcher(health, reference: nn.Module):
    """Every WeightWatcher figure in ``health`` (a NetworkHealth) equals WeightWatcher's
    analyze() on ``reference`` (a module holding the same weight layers, in order)."""
    details = W.ww_details(reference)
    measured = [lh for lh in health.layers if lh.metrics.extra]  # layers WeightWatcher returned a row for
    assert len(measured) == len(details), (len(measured), len(details))
    for lh, (_, row) in zip(measured, details.iterrows()):
        m = lh.metrics
        assert m.num_evals == int(row["num_evals"])
        if m.analysed:
            assert m.alpha == pytest.approx(float(row["alpha"]), rel=1e-12, abs=0)
            assert m.alpha_weighted == pytest.approx(float(row["alpha_weighted"]), rel=1e-12, abs=0)
        else:  # a failed fit: no alpha shown, whatever WeightWatcher's placeholder
            assert m.alpha is None and m.alpha_weighted is None
        for name in ("log_norm", "log_spectral_norm", "stable_rank"):
            assert _same(getattr(m, name), float(row[name])), (lh.name, name)
        for col in WW_EXTRA_COLUMNS:
            theirs = row[col]
            theirs = theirs if (theirs is None or isinstance(theirs, str)) else float(theirs)
            assert _same(m.extra[col], theirs), (lh.name, col)
        if m.stable_rank is not None:
            assert m.stable_rank_ratio == pytest.approx(float(row["stable_rank"]) / int(row["num_evals"]))
    # every layer WeightWatcher did not return is reported as not analysed, with a reason
    for lh in health.layers:
        if not lh.metrics.extra:
            assert not lh.metrics.analysed and lh.metrics.reason and lh.metrics.alpha is None


def _trained_like(sizes, seed, alpha=2.6):
    return W.mlp(sizes, seed=seed, alpha=alpha)


def _reference_from_state_dict(sd, prefixes):
    layers = []
    for prefix in prefixes:
        w = sd[f"{prefix}.weight"]
        lin = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(sd[f"{prefix}.bias"])
        layers.append(lin)
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------- equality
def test_our_checkpoint_figures_equal_weightwatcher(tmp_path):
    model = _trained_like([24, 128, 128, 3], seed=1)
    path = W.write_ours(tmp_path / "ckpt.pt", model, obs_samples=np.random.default_rng(0).random((200, 24)))
    result = analyze_checkpoint(path, dead_samples=200)
    for name in ("q_network", "target_network"):
        health = result.networks[name]
        assert_matches_weightwatcher(health, model)
        assert [lh.metrics.analysed for lh in health.layers] == [True, True, False]
        # the summary figures are WeightWatcher's get_summary() over the same layers
        summary = W.ww_summary(model)
        assert health.alpha == pytest.approx(summary["alpha"], rel=1e-12)
        assert health.log_spectral_norm_mean == pytest.approx(summary["log_spectral_norm"], rel=1e-12)
        assert health.stable_rank_mean == pytest.approx(summary["stable_rank"], rel=1e-12)


def test_state_dict_and_safetensors_figures_equal_weightwatcher(tmp_path):
    model = _trained_like([16, 96, 64, 4], seed=2, alpha=3.4)
    a = analyze_checkpoint(W.write_state_dict(tmp_path / "m.pt", model), dead_samples=100)
    b = analyze_checkpoint(W.write_safetensors(tmp_path / "m.safetensors", dict(model.state_dict())), dead_samples=100)
    for result in (a, b):
        assert_matches_weightwatcher(result.networks["model"], model)
    assert a.networks["model"].rows() == b.networks["model"].rows()


def test_sac_dict_figures_equal_weightwatcher(tmp_path):
    nets = {
        "actor": _trained_like([12, 64, 64, 2], 3),
        "critic_1": _trained_like([14, 64, 64, 1], 4, 4.2),
        "target_critic_1": _trained_like([14, 64, 64, 1], 5, 4.4),
    }
    result = analyze_checkpoint(W.write_sac(tmp_path / "sac.pt", nets, step=10), dead_samples=100)
    for name, model in nets.items():
        assert_matches_weightwatcher(result.networks[name], model)


def test_sb3_zip_figures_equal_weightwatcher(tmp_path):
    sd = W.sb3_policy_state_dict("dqn", obs_dim=16, n_actions=4, hidden=128, seed=6)
    result = analyze_checkpoint(W.write_sb3_zip(tmp_path / "dqn.zip", sd), dead_samples=100)
    for net in ("q_net", "q_net_target"):
        ref = _reference_from_state_dict(sd, [f"{net}.q_net.{i}" for i in (0, 2, 4)])
        assert_matches_weightwatcher(result.networks[net], ref)


def test_conv_network_figures_equal_weightwatcher(tmp_path):
    torch.manual_seed(7)
    model = nn.Sequential(
        nn.Conv2d(4, 16, 3),
        nn.ReLU(),
        nn.BatchNorm2d(16),
        nn.Conv2d(16, 32, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 6 * 6, 64),
        nn.ReLU(),
        nn.Linear(64, 3),
    )
    result = analyze_checkpoint(W.write_state_dict(tmp_path / "cnn.pt", model))
    health = result.networks["model"]
    assert_matches_weightwatcher(health, model)
    assert [lh.kind for lh in health.layers] == ["conv2d", "conv2d", "linear", "linear"]
    assert health.layers[0].metrics.num_evals == 4 * 9  # min(out, in) x kernel area
    # convolution strides are unknown, so dead neurons use the weight method and say why
    assert health.dead.method == "weight" and "stride" in health.dead.note


# ----------------------------------------------------------------------------- known properties
def test_layer_too_small_is_not_analysed_never_a_number(tmp_path):
    model = W.mlp([8, 256, 3], seed=0, alpha=2.5)
    net = load_checkpoint(W.write_state_dict(tmp_path / "m.pt", model)).networks["model"]
    health = analyze_network(net, dead_method="weight")
    first, head = health.layers
    # 256x8: 8 eigenvalues is WeightWatcher's minimum -> analysed, but weak confidence
    assert first.metrics.analysed and first.metrics.num_evals == 8 and first.confidence == "weak"
    assert health.alpha_confidence == "weak"
    # 3x256 output head: 3 eigenvalues -> not analysed, with reason and count, no alpha
    assert not head.metrics.analysed and head.metrics.num_evals == 3
    assert head.metrics.reason == "too few eigenvalues (3; WeightWatcher needs at least 8)"
    assert head.metrics.alpha is None and head.alpha_verdict is None
    assert head.to_row()["alpha"] is None and head.to_row()["not_analysed_reason"] == head.metrics.reason
    assert_matches_weightwatcher(health, model)
    assert not any("over" in issue.text and "head" in issue.text for issue in health.issues)


def test_random_weights_read_as_severely_under_trained():
    from health.networks import build_network

    net = W.mlp([256, 256, 256, 256, 256], seed=0)  # PyTorch's default (random) init
    health = analyze_network(build_network("random", net.state_dict()), dead_method="weight")
    assert_matches_weightwatcher(health, net)
    assert all(lh.metrics.analysed for lh in health.layers)
    assert health.alpha > 6
    assert health.alpha_verdict.key == "random" and health.alpha_verdict.severity == "bad"
    assert any("severely under-trained" in issue.text for issue in health.issues)


def test_trained_like_spectrum_reads_as_good():
    from health.networks import build_network

    model = W.mlp([64, 128, 128, 128], seed=3, alpha=2.4)
    health = analyze_network(build_network("good", model.state_dict()), dead_method="weight")
    assert_matches_weightwatcher(health, model)
    assert 2.0 <= health.alpha <= 3.0
    assert health.alpha_verdict.severity == "ok"


def test_failed_fit_is_not_analysed_and_never_read_as_over_trained():
    from health.networks import build_network

    model = W.mlp([64, 64, 64, 64], seed=4, alpha=3.0)
    with torch.no_grad():  # a rank-1 layer: one non-zero eigenvalue, nothing to fit
        model[2].weight.copy_(torch.outer(torch.randn(64), torch.randn(64)))
    details = W.ww_details(model)
    assert float(details.loc[1, "alpha"]) == -1 and details.loc[1, "warning"] == "over-trained"  # the trap
    health = analyze_network(build_network("m", model.state_dict()), dead_method="weight")
    assert_matches_weightwatcher(health, model)
    bad = health.layers[1]
    assert not bad.metrics.analysed and bad.metrics.reason == "power-law fit failed (64 eigenvalues)"
    assert bad.metrics.alpha is None and bad.alpha_verdict is None
    assert bad.metrics.log_spectral_norm == pytest.approx(float(details.loc[1, "log_spectral_norm"]))
    # the overall alpha is the mean of the fitted layers only, and nothing says over-fit
    fitted = [float(details.loc[i, "alpha"]) for i in (0, 2)]
    assert health.alpha == pytest.approx(np.mean(fitted))
    assert not any("over-fit" in issue.text for issue in health.issues)


def test_nan_weights_are_reported_not_analysed():
    from health.networks import build_network

    model = W.mlp([32, 64, 64, 4], seed=5, alpha=3.0)
    sd = model.state_dict()
    sd["2.weight"][3, 7] = float("nan")
    health = analyze_network(build_network("m", sd), dead_method="weight")
    assert health.layers[1].metrics.reason == "weights contain NaN or infinite values"
    assert health.layers[0].metrics.analysed and health.layers[0].metrics.alpha is not None
    assert health.issues[0].severity == "bad" and "NaN" in health.issues[0].text
