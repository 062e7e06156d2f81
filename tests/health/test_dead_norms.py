"""Dead neurons in networks with normalisation layers: the activation method runs the
real forward pass (LayerNorm, BatchNorm in eval mode) and agrees with torch's own, or
says why it cannot and falls back to the weight method; and a sample count too small
to judge is refused, a checkpoint holding only a few observations marked low-confidence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from health import analyze_checkpoint, dead_neurons, input_samples, load_checkpoint
from health import thresholds as TH
from health.networks import forward_hidden
from tests.health import writers as W

torch.set_num_threads(1)


def _relu_outputs(model: nn.Module, x: np.ndarray) -> list[np.ndarray]:
    """What torch's own forward pass gives at each ReLU module, in order (eval mode)."""
    seen: list[np.ndarray] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: seen.append(out.detach().double().numpy()))
        for m in model.modules()
        if isinstance(m, nn.ReLU)
    ]
    model.eval()
    with torch.no_grad():
        model(torch.as_tensor(x))
    for h in hooks:
        h.remove()
    return seen


def _layer_norm_net(seed: int = 0) -> nn.Sequential:
    """16 -> 64 -> LayerNorm -> ReLU -> 4 whose first layer's pre-activations are all
    negative: without the LayerNorm every unit would look dead, with it about half of
    them fire on any input."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(16, 64), nn.LayerNorm(64), nn.ReLU(), nn.Linear(64, 4))
    with torch.no_grad():
        net[0].bias.fill_(-20.0)
        net[1].weight.uniform_(0.5, 1.5)
        net[1].bias.uniform_(-0.2, 0.2)
    return net


def test_layer_norm_is_part_of_the_forward_pass(tmp_path):
    net = _layer_norm_net()
    samples = input_samples(16, 500, seed=0)
    torch_relu = _relu_outputs(net, samples.values)
    assert (torch_relu[0].var(axis=0) > 1e-3).all()  # the truth: every unit of the first layer varies

    model = load_checkpoint(W.write_state_dict(tmp_path / "ln.pt", net)).networks["model"]
    assert model.has_graph and [layer.name for layer in model.layers] == ["0", "3"]
    np.testing.assert_allclose(forward_hidden(model, samples.values)[0], torch_relu[0], atol=1e-5)
    result = dead_neurons(model, "activation", samples)
    assert result.method == "activation" and result.note is None
    assert result.per_layer == {0: (0, 64)}
    res = analyze_checkpoint(W.write_state_dict(tmp_path / "ln2.pt", net), dead_samples=500)
    assert res.networks["model"].dead_verdict.key == "good"
    assert not res.networks["model"].ignored  # the LayerNorm's tensors were used, not ignored


def test_batch_norm_uses_its_running_statistics_in_eval_mode(tmp_path):
    torch.manual_seed(1)
    net = nn.Sequential(
        *(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU()),
        *(nn.Linear(32, 32), nn.LayerNorm(32), nn.ReLU()),
        nn.Linear(32, 3),
    )
    with torch.no_grad():
        net[0].bias.fill_(-30.0)  # raw pre-activations all far below zero ...
        net[1].running_mean.fill_(-30.0)  # ... which the running mean takes back out
        net[1].running_var.uniform_(0.5, 2.0)
        net[1].weight.uniform_(0.5, 1.5)
        net[1].bias.uniform_(-0.1, 0.1)
        net[1].bias[:5] = -50.0  # five units that really are dead after the normalisation
    samples = input_samples(8, 400, seed=2)
    truth = _relu_outputs(net, samples.values)
    model = load_checkpoint(W.write_state_dict(tmp_path / "bn.pt", net)).networks["model"]
    outputs = forward_hidden(model, samples.values)
    np.testing.assert_allclose(outputs[0], truth[0], atol=1e-4)
    np.testing.assert_allclose(outputs[1], truth[1], atol=1e-4)
    result = dead_neurons(model, "activation", samples)
    assert result.dead_units[0] == [0, 1, 2, 3, 4]
    assert result.dead_units[1] == [int(u) for u in np.flatnonzero(truth[1].var(axis=0) < TH.DEAD_ACTIVATION_VARIANCE)]


def test_a_norm_after_the_activation_is_applied_after_it(tmp_path):
    # Linear(0) -> ReLU(1) -> LayerNorm(2) -> Linear(3): the gap in the numbering is the
    # activation, so the unit is judged on the ReLU's output, and the next layer reads
    # the normalised one.
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(10, 24), nn.ReLU(), nn.LayerNorm(24), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 2))
    with torch.no_grad():
        net[0].bias[:4] = -100.0  # dead before the norm (the norm would make them look alive)
    samples = input_samples(10, 300, seed=4)
    truth = _relu_outputs(net, samples.values)
    model = load_checkpoint(W.write_state_dict(tmp_path / "post.pt", net)).networks["model"]
    outputs = forward_hidden(model, samples.values)
    np.testing.assert_allclose(outputs[0], truth[0], atol=1e-5)
    np.testing.assert_allclose(outputs[1], truth[1], atol=1e-5)
    assert dead_neurons(model, "activation", samples).dead_units[0] == [0, 1, 2, 3]


def test_a_normalisation_that_cannot_be_rebuilt_falls_back_and_says_why(tmp_path):
    # RMSNorm keeps a weight and nothing else, like a LayerNorm without bias: which one it
    # is cannot be told from the weights, so the activation method is not used.
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(6, 12), nn.RMSNorm(12), nn.ReLU(), nn.Linear(12, 2))
    model = load_checkpoint(W.write_state_dict(tmp_path / "rms.pt", net)).networks["model"]
    assert not model.has_graph and "normalisation layer 1" in model.graph_problem
    result = dead_neurons(model, "activation", input_samples(6, 200))
    assert result.method == "weight" and "activation method not possible" in result.note
    assert "normalisation layer 1" in result.note


# ----------------------------------------------------------------------------- sample counts
def test_too_few_samples_are_refused(tmp_path):
    path = W.write_state_dict(tmp_path / "m.pt", W.mlp([16, 32, 4]))
    with pytest.raises(ValueError, match=f"at least {TH.DEAD_NEURON_SAMPLES_MIN}"):
        analyze_checkpoint(path, dead_samples=5)
    ok = analyze_checkpoint(path, dead_samples=TH.DEAD_NEURON_SAMPLES_MIN).networks["model"]
    assert ok.dead.confidence == "normal" and ok.dead.samples_used == TH.DEAD_NEURON_SAMPLES_MIN
    # the weight method takes no samples: its count is not refused
    assert analyze_checkpoint(path, dead_method="weight", dead_samples=5).networks["model"].dead.method == "weight"


def test_a_checkpoint_with_few_observations_is_low_confidence(tmp_path):
    obs = np.random.default_rng(0).standard_normal((30, 16)).astype(np.float32)
    path = W.write_ours(tmp_path / "few.pt", W.mlp([16, 32, 4]), obs_samples=obs)
    health = analyze_checkpoint(path).networks["q_network"]
    assert health.dead.samples.source == "checkpoint" and health.dead.samples_used == 30
    assert health.dead.confidence == "low"
    hidden = [row for row in health.rows() if row["hidden"]]
    assert hidden and all(row["dead_confidence"] == "low" and row["dead_samples"] == 30 for row in hidden)
    assert health.summary()["dead_confidence"] == "low"
    from health.report import render_checkpoint

    text = render_checkpoint(analyze_checkpoint(path))
    assert f"low confidence: only 30 observations (at least {TH.DEAD_NEURON_SAMPLES_MIN} are needed" in text

    enough = np.random.default_rng(0).standard_normal((400, 16)).astype(np.float32)
    many = analyze_checkpoint(W.write_ours(tmp_path / "many.pt", W.mlp([16, 32, 4]), obs_samples=enough))
    assert many.networks["q_network"].dead.confidence == "normal"


def test_a_dead_unit_is_described_by_what_was_measured(tmp_path):
    model = W.mlp([16, 64, 4], seed=2)
    with torch.no_grad():
        model[0].weight[:20].zero_()
        model[0].bias[:20] = -0.1
    path = W.write_state_dict(tmp_path / "m.pt", model)
    (issue,) = [i for i in analyze_checkpoint(path, dead_samples=500).networks["model"].issues if "are dead" in i.text]
    assert "their output did not change over 500 inputs (variance < 1e-06)" in issue.text
    weight = analyze_checkpoint(path, dead_method="weight").networks["model"]
    assert weight.dead.measured == "incoming weights' L2 norm is below 1e-06"
