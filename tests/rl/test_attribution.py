"""Attribution maths: against hand-computed tiny networks and against Captum."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rl import attribution as A
from rl import telemetry as T
from rl.agents.base import Decision
from rl.callbacks import StepInfo
from rl.store import MemoryStore, create_run_dir, open_run
from tests.rl.callback_args import run_context, step_info

torch.set_num_threads(1)


class Tiny(nn.Module):
    """2 -> 2 (ReLU) -> 2 with weights small enough to work out on paper."""

    def __init__(self):
        super().__init__()
        self.fc1, self.act1, self.q_out = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)
        with torch.no_grad():
            self.fc1.weight.copy_(torch.tensor([[1.0, -1.0], [0.5, 2.0]]))
            self.fc1.bias.copy_(torch.tensor([0.0, -1.0]))
            self.q_out.weight.copy_(torch.tensor([[1.0, 2.0], [-1.0, 0.5]]))
            self.q_out.bias.copy_(torch.tensor([0.1, 0.0]))

    def forward(self, x):
        return self.q_out(self.act1(self.fc1(x)))


def mlp(sizes, seed=0, activation=nn.ReLU):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class Dueling(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.fc1, self.relu1 = nn.Linear(4, 8), nn.ReLU()
        self.fc2, self.relu2 = nn.Linear(8, 8), nn.ReLU()
        self.value_out, self.advantage_out = nn.Linear(8, 1), nn.Linear(8, 3)

    def forward(self, x):
        h = self.relu2(self.fc2(self.relu1(self.fc1(x))))
        adv = self.advantage_out(h)
        return self.value_out(h) + adv - adv.mean(dim=1, keepdim=True)


# x = (2, 1): z1 = (1, 2) -> h = (1, 2); Q = (1*1 + 2*2 + 0.1, -1*1 + 0.5*2 + 0) = (5.1, 0)
X = [2.0, 1.0]


def test_contribution_matches_hand_computation():
    out = A.neuron_contributions(Tiny(), X)
    np.testing.assert_allclose(out["q"], [5.1, 0.0], atol=1e-6)
    (layer,) = out["layers"]
    assert layer["name"] == "fc1" and layer["activation"] == "relu"
    np.testing.assert_allclose(layer["values"], [1.0, 2.0])
    # dQ_a/dh = row a of q_out.weight; contribution = h * dQ_a/dh
    np.testing.assert_allclose(layer["contribution"], [[1.0, 4.0], [-1.0, 1.0]], atol=1e-6)
    # last hidden layer: contributions add up to Q - bias
    np.testing.assert_allclose(layer["contribution"].sum(axis=1), out["q"] - np.array([0.1, 0.0]), atol=1e-6)


def test_contribution_of_a_silent_neuron_is_zero():
    # x = (0, 0.2): z1 = (-0.2, -0.6) -> both neurons off
    out = A.neuron_contributions(Tiny(), [0.0, 0.2])
    np.testing.assert_allclose(out["layers"][0]["values"], [0.0, 0.0])
    np.testing.assert_allclose(out["layers"][0]["contribution"], 0.0)
    np.testing.assert_allclose(out["q"], [0.1, 0.0], atol=1e-6)


def test_contribution_two_hidden_layers_by_hand():
    # 1 -> 2 -> 1 -> 1, every neuron active: h1 = (2x, 3x), h2 = h1_0 + h1_1 = 5x, Q = 4*h2
    net = nn.Sequential(
        nn.Linear(1, 2, bias=False), nn.ReLU(), nn.Linear(2, 1, bias=False), nn.ReLU(), nn.Linear(1, 1, bias=False)
    )
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[2.0], [3.0]]))
        net[2].weight.copy_(torch.tensor([[1.0, 1.0]]))
        net[4].weight.copy_(torch.tensor([[4.0]]))
    out = A.neuron_contributions(net, [1.5])
    first, second = out["layers"]
    assert [first["name"], second["name"]] == ["0", "2"]
    # dQ/dh1 = (4, 4): contributions (4*3, 4*4.5); dQ/dh2 = 4: contribution 4*7.5
    np.testing.assert_allclose(first["contribution"], [[12.0, 18.0]])
    np.testing.assert_allclose(second["contribution"], [[30.0]])
    np.testing.assert_allclose(out["q"], [30.0])


def test_saliency_by_hand():
    # dQ/dx = q_out.weight @ diag(relu'(z1)) @ fc1.weight, both neurons on
    np.testing.assert_allclose(A.saliency(Tiny(), X), [[2.0, 3.0], [0.75, 2.0]], atol=1e-6)
    np.testing.assert_allclose(A.saliency(Tiny(), X, targets=[1]), [[0.75, 2.0]], atol=1e-6)


def test_integrated_gradients_by_hand_inside_one_linear_region():
    # From b = (3, 1) to x = (2, 1) both hidden neurons stay on, so the gradient is constant:
    # IG = dQ/dx * (x - b) = ((2, 3) * (-1, 0), (-0.75, 2) * (-1, 0)); Q(b) = (7.1, -0.75)
    ig = A.integrated_gradients(Tiny(), X, [3.0, 1.0])
    np.testing.assert_allclose(ig, [[-2.0, 0.0], [0.75, 0.0]], atol=1e-5)
    np.testing.assert_allclose(ig.sum(axis=1), np.array([5.1, 0.0]) - [7.1, -0.75], atol=1e-5)


def test_integrated_gradients_by_hand_across_a_kink():
    # Along t*x from 0: neuron 2 switches on at t = 1/3. dQ0/dx = (1, -1) before, (2, 3) after:
    # integral = (1/3)(1, -1) + (2/3)(2, 3) = (5/3, 5/3); times x = (2, 1) -> (10/3, 5/3).
    # Quadrature of a step function converges slowly: the error shrinks with the steps.
    exact = np.array([10 / 3, 5 / 3])
    errors = [
        np.abs(A.integrated_gradients(Tiny(), X, [0.0, 0.0], targets=[0], n_steps=n)[0] - exact).max()
        for n in (10, 100, 1000)
    ]
    assert errors[2] < 2e-3 and errors[2] < errors[1] < errors[0]
    # completeness: sum = Q0(x) - Q0(0) = 5.1 - 0.1
    ig = A.integrated_gradients(Tiny(), X, [0.0, 0.0], targets=[0], n_steps=1000)
    assert ig[0].sum() == pytest.approx(5.0, abs=5e-3)


def test_gauss_legendre_nodes_and_weights():
    nodes, weights = A.gauss_legendre(50)
    assert weights.sum() == pytest.approx(1.0)
    assert 0 < nodes.min() < nodes.max() < 1
    # exact for polynomials: integral of t^5 on [0, 1] is 1/6
    assert (weights * nodes**5).sum() == pytest.approx(1 / 6)
    with pytest.raises(A.AttributionError):
        A.gauss_legendre(0)


@pytest.mark.parametrize(
    "net",
    [mlp([12, 256, 256, 3]), mlp([6, 16, 16, 16, 2], activation=nn.Tanh), Dueling()],
    ids=["dqn-12-256-256-3", "tanh-mlp", "dueling"],
)
def test_saliency_and_ig_match_captum(net):
    from captum.attr import IntegratedGradients, Saliency

    net.eval()
    n = net[0].in_features if isinstance(net, nn.Sequential) else 4
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(1, n, generator=gen)
    base = torch.rand(1, n, generator=gen) * 0.5
    n_actions = net(x).shape[1]
    ours_sal = A.saliency(net, x[0].numpy())
    ours_ig = A.integrated_gradients(net, x[0].numpy(), base[0].numpy())
    for a in range(n_actions):
        theirs_sal = Saliency(net).attribute(x.clone(), target=a, abs=True)[0].detach().numpy()
        theirs_ig = IntegratedGradients(net).attribute(x.clone(), baselines=base, target=a)[0].detach().numpy()
        np.testing.assert_allclose(ours_sal[a], theirs_sal, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(ours_ig[a], theirs_ig, rtol=1e-4, atol=1e-6)


def test_captum_match_with_zero_baseline_and_other_step_count():
    from captum.attr import IntegratedGradients

    net = mlp([5, 32, 3], seed=2)
    x = torch.rand(1, 5, generator=torch.Generator().manual_seed(1))
    ours = A.integrated_gradients(net, x[0].numpy(), np.zeros(5), n_steps=17)
    for a in range(3):
        theirs = IntegratedGradients(net).attribute(x, target=a, n_steps=17)[0].detach().numpy()
        np.testing.assert_allclose(ours[a], theirs, rtol=1e-4, atol=1e-6)


def test_trace_finds_hidden_layers_not_output_heads():
    _, layers = A.trace_hidden_layers(Dueling(), torch.zeros(1, 4))
    assert [(h.name, h.activation, h.output.shape[1]) for h in layers] == [("fc1", "relu", 8), ("fc2", "relu", 8)]
    _, layers = A.trace_hidden_layers(mlp([3, 4, 5, 2], activation=nn.Tanh), torch.zeros(1, 3))
    assert [(h.name, h.activation) for h in layers] == [("0", "tanh"), ("2", "tanh")]


def test_rejects_bad_observations_and_outputs():
    with pytest.raises(A.AttributionError, match="NaN"):
        A.saliency(Tiny(), [float("nan"), 1.0])
    with pytest.raises(A.AttributionError, match="features"):
        A.integrated_gradients(Tiny(), X, [0.0, 0.0, 0.0])

    class Scalar(nn.Module):
        def forward(self, x):
            return x.sum()

    with pytest.raises(A.AttributionError, match="actions"):
        A.trace_hidden_layers(Scalar(), torch.zeros(1, 2))


def test_feature_response_sweeps_one_feature_at_a_time():
    net = Tiny()
    values, q = A.feature_response(net, X, low=[0.0, 1.0], high=[4.0, 1.0], points=5)
    np.testing.assert_allclose(values[0], [0, 1, 2, 3, 4])
    np.testing.assert_allclose(values[1], [1.0] * 5)  # a constant feature: a single value
    assert q.shape == (2, 5, 2)
    for j, v in enumerate(values[0]):  # other feature held at x[1] = 1
        np.testing.assert_allclose(q[0, j], A.q_values(net, [[v, 1.0]])[0], atol=1e-6)
    np.testing.assert_allclose(q[1], np.repeat(A.q_values(net, [X]), 5, axis=0), atol=1e-6)


def test_feature_ranges_include_the_current_state():
    low, high = A.feature_ranges(np.array([[0.0, 5.0], [1.0, 6.0]]), [2.0, 5.5])
    np.testing.assert_allclose(low, [0.0, 5.0])
    np.testing.assert_allclose(high, [2.0, 6.0])
    low, high = A.feature_ranges(np.empty((0, 2)), [2.0, 5.5])
    np.testing.assert_allclose(low, high)


class Probe:
    """Stands in for the probe: a forward hook that must not see our extra passes."""

    def __init__(self, net):
        self.calls = 0
        net[1].register_forward_hook(self.hook)

    def hook(self, *_):
        self.calls += 1


def test_private_copy_leaves_hooks_grads_and_the_original_alone():
    net = mlp([4, 8, 3])
    probe = Probe(net)
    net(torch.zeros(1, 4)).sum().backward()
    grads_before = [p.grad.clone() for p in net.parameters()]
    calls_before = probe.calls
    record = A.compute_attribution(net, np.ones(4), np.random.rand(10, 4), np.zeros(10, int), step=3)
    assert probe.calls == calls_before  # no extra passes seen by the probe's hook
    assert len(net[1]._forward_hooks) == 1  # and its hook is still there
    for p, g in zip(net.parameters(), grads_before):
        assert torch.equal(p.grad, g) and p.requires_grad
    assert net.training
    assert record.step == 3


def test_compute_attribution_record_is_consistent():
    net = mlp([4, 8, 8, 3], seed=5)
    rng = np.random.default_rng(0)
    recent = rng.random((30, 4)).astype(np.float32)
    greedy = A.q_values(net, recent).argmax(axis=1)
    x = rng.random(4).astype(np.float32)
    rec = A.compute_attribution(net, x, recent, greedy, step=42, taken=0, response_points=7)
    d = rec.to_dict()
    assert d["kind"] == "attribution" and d["v"] == T.SCHEMA_VERSION
    q = A.q_values(net, [x])[0]
    np.testing.assert_allclose(rec.q, q, atol=1e-5)
    assert rec.action == int(np.argmax(q)) and rec.taken == 0
    assert [(layer.name, layer.activation) for layer in rec.layers] == [("0", "relu"), ("2", "relu")]
    contrib = T.decode_array(rec.layers[1].contribution)
    assert contrib.shape == (3, 8)
    np.testing.assert_allclose(contrib.sum(axis=1), q - net[4].bias.detach().numpy(), atol=1e-4)
    np.testing.assert_allclose(T.decode_array(rec.saliency), A.saliency(net, x), rtol=1e-5)
    np.testing.assert_allclose(rec.ig.baseline, recent.mean(axis=0), rtol=1e-5)
    ig = T.decode_array(rec.integrated_gradients)
    # completeness: the residual the page shows is small and equals what we publish
    np.testing.assert_allclose(ig.sum(axis=1) - (q - rec.ig.q_baseline), rec.ig.delta, atol=1e-4)
    assert max(abs(v) for v in rec.ig.delta) < 1e-2
    values = T.decode_array(rec.response.values)
    assert values.shape == (4, 7) and T.decode_array(rec.response.q).shape == (4, 7, 3)
    np.testing.assert_allclose(values[:, 0], np.minimum(recent.min(axis=0), x), rtol=1e-6)
    np.testing.assert_array_equal(T.decode_array(rec.recent.actions), greedy)
    np.testing.assert_allclose(T.decode_array(rec.recent.obs), recent)


def test_compute_attribution_without_history_and_with_zero_baseline():
    net = mlp([3, 5, 2])
    rec = A.compute_attribution(net, [0.1, 0.2, 0.3])
    assert T.decode_array(rec.recent.obs).shape == (0, 3)
    # mean baseline of no history = the state itself: integrated gradients are zero
    np.testing.assert_allclose(T.decode_array(rec.integrated_gradients), 0.0, atol=1e-7)
    rec = A.compute_attribution(net, [0.1, 0.2, 0.3], baseline="zeros")
    assert rec.ig.baseline == [0.0, 0.0, 0.0] and rec.ig.baseline_kind == "zeros"
    with pytest.raises(A.AttributionError, match="baseline"):
        A.compute_attribution(net, [0.1, 0.2, 0.3], baseline="median")
    with pytest.raises(A.AttributionError, match="recent actions"):
        A.compute_attribution(net, [0.1, 0.2, 0.3], np.zeros((4, 3)), np.zeros(3))


def _meta():
    return T.RunMeta(
        run_id="t",
        env_id="x",
        agent="dqn",
        action_names=["L", "S", "R"],
        feature_names=["a", "b", "c", "d"],
        layers=[],
        config={},
        created=0.0,
    )


def _step(i, obs, q=(0.0, 1.0, 0.0)):
    """Step ``i``: action 1 taken in ``obs``, the greedy one for Q-values ``q``."""
    return step_info(i, 1, obs=obs, q=list(q))


def _ctx(store, net, **networks):
    """A run whose watched network is ``net`` (the "q_network"), besides ``networks``."""
    return run_context(store, {**networks, "q_network": net}, watched=("q_network",), meta=_meta())


def test_callback_publishes_on_schedule_through_a_real_run_folder(tmp_path):
    net = mlp([4, 8, 3], seed=1)
    store = create_run_dir(tmp_path / "run", _meta())
    ctx = _ctx(store, net)
    cb = A.AttributionCallback(publish_every_s=0, every=5, recent=8, response_points=4)
    cb.on_training_start(ctx)
    rng = np.random.default_rng(1)
    seen, published = [], []
    for i in range(1, 14):
        obs = rng.random(4).astype(np.float32)
        q = A.q_values(net, [obs])[0]
        seen.append((obs, int(np.argmax(q))))
        assert cb.on_step(ctx, _step(i, obs, q)) is True
        published.append(store.get(T.ATTRIBUTION)["step"])
    assert published == [1] * 5 + [6] * 5 + [11] * 3  # every 5 steps
    store.close()
    with open_run(tmp_path / "run") as reader:
        data = reader.get(T.ATTRIBUTION)
    rec = T.AttributionRecord.from_dict(data)
    assert rec.step == 11 and rec.taken == 1 and rec.network == "q_network"
    np.testing.assert_allclose(rec.input, seen[10][0], rtol=1e-6)
    recent = T.decode_array(rec.recent.obs)  # the last 8 states up to step 11, oldest first
    np.testing.assert_allclose(recent, np.stack([o for o, _ in seen[3:11]]), rtol=1e-6)
    np.testing.assert_array_equal(T.decode_array(rec.recent.actions), [a for _, a in seen[3:11]])
    assert cb.last_seconds > 0


def test_callback_follows_training_of_the_live_network():
    net = mlp([4, 8, 3], seed=1)
    store = MemoryStore()
    # the watched network is followed, not the first one the agent lists (a target network)
    ctx = _ctx(store, net, target_network=mlp([4, 8, 3], seed=2))
    cb = A.AttributionCallback(publish_every_s=0)
    obs = np.ones(4, np.float32)
    cb.on_step(ctx, _step(1, obs))
    before = store.get(T.ATTRIBUTION)["q"]
    np.testing.assert_allclose(before, A.q_values(net, [obs])[0], atol=1e-6)
    with torch.no_grad():
        net[2].bias += 1.0  # "training" changes the network
    cb.on_step(ctx, _step(2, obs))
    after = store.get(T.ATTRIBUTION)["q"]
    np.testing.assert_allclose(np.array(after) - before, 1.0, atol=1e-5)


def test_a_step_without_q_values_is_not_attributed():
    """The attribution explains Q-values: an agent that reports none (a continuous policy)
    is left alone, and training goes on."""
    ctx = _ctx(MemoryStore(), mlp([4, 8, 3], seed=1))
    cb = A.AttributionCallback(publish_every_s=0)
    step = StepInfo(1, 0, np.ones(4, np.float32), Decision(np.array([0.3, -0.1])), 0.0, None, False, False)
    assert cb.on_step(ctx, step) is True and cb.publishes == 0
    assert ctx.store.get(T.ATTRIBUTION) is None


def test_callback_failure_never_stops_training(capsys):
    class Broken(nn.Module):
        def forward(self, x):
            return x.sum()

    ctx = _ctx(MemoryStore(), Broken())
    cb = A.AttributionCallback(publish_every_s=0)
    assert cb.on_step(ctx, _step(1, np.ones(4, np.float32))) is True
    assert cb.on_step(ctx, _step(2, np.ones(4, np.float32))) is True
    assert capsys.readouterr().err.count("attribution disabled") == 1
    assert ctx.store.get(T.ATTRIBUTION) is None


def test_callback_publishes_by_wall_clock_and_flushes_the_paused_state():
    net = mlp([4, 8, 3], seed=1)
    store = MemoryStore()
    ctx = _ctx(store, net)
    now = [100.0]
    cb = A.AttributionCallback(publish_every_s=1.0, clock=lambda: now[0])
    cb.on_training_start(ctx)
    obs = np.ones(4, np.float32)
    published = []
    for i in range(1, 31):  # 30 steps in 0.3 s of (fake) wall-clock time
        now[0] += 0.01
        cb.on_step(ctx, _step(i, obs * i))
        published.append(store.get(T.ATTRIBUTION)["step"])
    assert cb.publishes == 1 and set(published) == {1}  # the first step, then nothing for 1 s
    cb.flush(ctx)  # the worker is about to pause after step 30: publish that state
    assert store.get(T.ATTRIBUTION)["step"] == 30 and cb.publishes == 2
    cb.flush(ctx)  # nothing new: no second computation
    assert cb.publishes == 2
    now[0] += 1.0
    cb.on_step(ctx, _step(31, obs))
    assert store.get(T.ATTRIBUTION)["step"] == 31
    cb.on_step(ctx, _step(32, obs))
    cb.on_training_end(ctx)  # the final state is always published
    assert store.get(T.ATTRIBUTION)["step"] == 32


def test_callback_validates_its_settings():
    for kwargs in (
        {"every": 0},
        {"recent": 0},
        {"baseline": "x"},
        {"publish_every_s": -1},
        {"publish_every_s": float("nan")},
        {"ig_steps": 0},
        {"response_points": 1},
    ):
        with pytest.raises(ValueError):
            A.AttributionCallback(**kwargs)


def test_a_real_training_run_publishes_attribution(tmp_path):
    """A short real run of the worker: the attribution of the final state is in the store
    and agrees with the probe's record (same layers) and with the trained network."""
    from rl.worker import train

    run = tmp_path / "run"
    summary = train(
        "neurodash/Breakout-v0",
        "dqn",
        steps=300,
        run_dir=run,
        seed=0,
        overrides={"hidden_sizes": (16, 8), "learning_starts": 50, "checkpoint_every": 0, "frame_fps": 0},
    )
    assert summary.steps == 300
    with open_run(run) as store:
        rec = T.AttributionRecord.from_dict(store.get(T.ATTRIBUTION))
        neurons = T.NeuronsRecord.from_dict(store.get(T.probe_key(T.NEURONS, "q_network")))
        meta = store.read_meta()
    assert rec.step == 300  # the final state is always published
    assert rec.network == neurons.network == "q_network"
    assert [layer.name for layer in rec.layers] == [layer.name for layer in neurons.layers] == ["fc1", "fc2"]
    assert T.decode_array(rec.saliency).shape == (3, len(meta.feature_names))
    assert T.decode_array(rec.recent.obs).shape[0] == min(300, A.RECENT_OBSERVATIONS)
    # Q is linear in the last hidden layer, so its contributions add up to Q minus Q at h = 0:
    # the output bias (dueling head: b_V + b_A - mean(b_A)), read from the final checkpoint
    ckpt = sorted((run / "checkpoints").glob("ckpt_*.pt"))[-1]
    state = torch.load(ckpt, weights_only=True)["networks"]["q_network"]
    if "value_out.bias" in state:
        adv = state["advantage_out.bias"].numpy()
        bias = state["value_out.bias"].numpy() + adv - adv.mean()
    else:
        bias = state["q_out.bias"].numpy()
    contrib = T.decode_array(rec.layers[-1].contribution)
    np.testing.assert_allclose(contrib.sum(axis=1), np.array(rec.q) - bias, atol=1e-4)


def test_attribution_follows_the_probe_switch():
    from rl.worker import WorkerConfig

    assert len(A.attribution_callbacks(WorkerConfig(probe=True))) == 1
    assert A.attribution_callbacks(WorkerConfig(probe=False)) == []
