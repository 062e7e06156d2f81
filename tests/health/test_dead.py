"""Dead neurons: planted dead units are found exactly, by both methods; input samples come
from the checkpoint, the environment, or a stated fallback."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from health import analyze_checkpoint, dead_neurons, input_samples, load_checkpoint
from health.dead import collect_env_observations
from health.networks import build_network
from tests.health import writers as W

torch.set_num_threads(1)

PLANTED = {0: [3, 17, 40], 1: [5, 6, 63]}


def _planted_model(act=nn.ReLU, seed=0):
    """16 -> 64 -> 64 -> 4 with dead units planted: zero incoming weights, and a bias that
    pins the output (ReLU: negative bias -> 0; other units: any constant)."""
    model = W.mlp([16, 64, 64, 4], seed=seed, act=act)
    lins = W.linears(model)
    with torch.no_grad():
        for layer, units in PLANTED.items():
            for u in units:
                lins[layer].weight[u].zero_()
                lins[layer].bias[u] = -1.0 if layer == 0 else 0.5
    return model


def _normal_samples(n=1000, size=16, seed=0):
    return input_samples(size, n, seed=seed)


@pytest.mark.parametrize("method", ["activation", "weight"])
def test_planted_dead_neurons_found_exactly_by_both_methods(tmp_path, method):
    model = _planted_model()
    ckpt = load_checkpoint(W.write_state_dict(tmp_path / "m.pt", model))
    result = dead_neurons(ckpt.networks["model"], method, _normal_samples())
    assert result.method == method and result.note is None
    assert result.dead_units == PLANTED
    assert result.per_layer == {0: (3, 64), 1: (3, 64)}
    assert (result.dead, result.total) == (6, 128)
    assert result.ratio == pytest.approx(6 / 128)


def test_activation_method_works_for_any_activation_function(tmp_path):
    # Under tanh a planted unit outputs the constant tanh(bias); under leaky ReLU a unit
    # with a huge negative bias still varies (slope 0.01), so it is NOT dead there,
    # while the same weights under ReLU are dead. The checkpoint records the activation.
    obs = np.random.default_rng(1).standard_normal((800, 16)).astype(np.float32)
    tanh_model = _planted_model(nn.Tanh)
    ours = W.write_ours(tmp_path / "tanh.pt", tanh_model, activation="tanh", obs_samples=obs)
    res = analyze_checkpoint(ours, networks=["q_network"])
    dead = res.networks["q_network"].dead
    assert dead.dead_units == PLANTED and dead.samples.source == "checkpoint"
    assert dead.samples.description == (
        "800 observations stored in the checkpoint (the checkpoint holds only 800; 1000 were asked for)"
    )

    leaky = W.mlp([16, 64, 64, 4], seed=3, act=nn.LeakyReLU)
    with torch.no_grad():
        leaky[0].bias[9] = -1000.0  # always on the negative side
    as_leaky = analyze_checkpoint(W.write_ours(tmp_path / "leaky.pt", leaky, activation="leaky_relu", obs_samples=obs))
    as_relu = analyze_checkpoint(W.write_ours(tmp_path / "relu.pt", leaky, activation="relu", obs_samples=obs))
    assert as_leaky.networks["q_network"].dead.dead_units[0] == []
    assert as_relu.networks["q_network"].dead.dead_units[0] == [9]
    # the weight method cannot see a unit killed by its bias
    weight = analyze_checkpoint(W.write_ours(tmp_path / "relu2.pt", leaky, obs_samples=obs), dead_method="weight")
    assert weight.networks["q_network"].dead.dead_units[0] == []


def test_default_activation_for_plain_state_dicts(tmp_path):
    model = W.mlp([16, 64, 64, 4], seed=3)
    with torch.no_grad():
        model[0].bias[9] = -1000.0
    path = W.write_state_dict(tmp_path / "m.pt", model)
    relu = analyze_checkpoint(path, default_activation="relu").networks["model"].dead
    leaky = analyze_checkpoint(path, default_activation="leaky_relu").networks["model"].dead
    assert relu.dead_units[0] == [9] and leaky.dead_units[0] == []
    assert relu.samples.source == "standard-normal"
    assert "fallback: the checkpoint holds no observations and names no environment" in relu.samples.description


def test_thresholds_are_applied_as_given():
    model = W.mlp([8, 32, 2], seed=1)
    with torch.no_grad():
        model[0].weight[4] *= 1e-4  # a unit with tiny incoming weights: norm ~1e-4
    net = build_network("m", model.state_dict())
    assert dead_neurons(net, "weight").dead_units[0] == []  # above the 1e-6 default
    assert dead_neurons(net, "weight", weight_threshold=1e-3).dead_units[0] == [4]
    samples = _normal_samples(size=8)
    assert dead_neurons(net, "activation", samples, variance_threshold=1.0).dead >= 1


def test_samples_from_a_gymnasium_environment(tmp_path):
    model = W.mlp([4, 32, 32, 2], seed=0)  # CartPole: 4 observations, 2 actions
    path = W.write_sac(tmp_path / "cartpole.pt", {"q_network": model}, env_id="CartPole-v1")
    res = analyze_checkpoint(path, dead_samples=300)
    samples = res.networks["q_network"].dead.samples
    assert samples.source == "environment"
    assert samples.description == "300 observations from CartPole-v1 with a random policy"
    assert samples.values.shape == (300, 4)
    assert np.abs(samples.values[:, 0]).max() < 4.8  # cart positions stay inside the track


def test_critic_gets_observation_action_pairs(tmp_path):
    nets = {"actor": W.mlp([3, 32, 1], seed=1), "critic_1": W.mlp([4, 32, 1], seed=2)}  # Pendulum: 3 obs, 1 action
    res = analyze_checkpoint(W.write_sac(tmp_path / "pendulum.pt", nets, env_id="Pendulum-v1"), dead_samples=200)
    actor = res.networks["actor"].dead.samples
    critic = res.networks["critic_1"].dead.samples
    assert actor.source == critic.source == "environment"
    assert critic.values.shape == (200, 4) and "(observation, random action) pairs" in critic.description
    assert np.all(np.abs(critic.values[:, 3]) <= 2.0)  # Pendulum torques lie in [-2, 2]


def test_unusable_environment_ids_fall_back_and_say_why(tmp_path):
    obs, sampler, problem = collect_env_observations("os.path:join", 10)
    assert obs is None and "asks to import a module; refused" in problem
    obs, sampler, problem = collect_env_observations("nosuch/Env-v0", 10)
    assert obs is None and "not registered with gymnasium" in problem
    model = W.mlp([5, 16, 2])
    res = analyze_checkpoint(W.write_sac(tmp_path / "x.pt", {"net": model}, env_id="nosuch/Env-v0"), dead_samples=100)
    samples = res.networks["net"].dead.samples
    assert samples.source == "standard-normal"
    assert "not registered with gymnasium" in samples.description


def test_stored_samples_of_the_wrong_width_are_not_used(tmp_path):
    model = W.mlp([10, 16, 2])
    path = W.write_ours(tmp_path / "c.pt", model, obs_samples=np.zeros((50, 7)), env_id="nosuch/Env-v0")
    samples = analyze_checkpoint(path, dead_samples=100).networks["q_network"].dead.samples
    assert samples.source == "standard-normal" and samples.values.shape == (100, 10)


def test_dead_ratio_bands_use_hidden_units_only(tmp_path):
    # 20 of 64 hidden units dead (31.25 %): critical. Output units never count.
    model = W.mlp([16, 64, 4], seed=2)
    with torch.no_grad():
        model[0].weight[:20].zero_()
        model[0].bias[:20] = -0.1
        model[2].weight[:].zero_()  # the output layer is all zeros, but it is not hidden
    res = analyze_checkpoint(W.write_state_dict(tmp_path / "m.pt", model), dead_samples=500)
    health = res.networks["model"]
    assert (health.dead.dead, health.dead.total) == (20, 64)
    assert health.dead_verdict.key == "critical"
    assert any("try about half as many units" in issue.text for issue in health.issues)
