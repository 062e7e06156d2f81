"""The probe on real torch networks: planted conditions, exact statistics, the real store."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from health import live_rules as R
from health import thresholds as TH
from rl import telemetry as T
from rl.callbacks import CallbackList, RunContext, StepInfo, UpdateInfo
from rl.probe import Capture, Probe, ProbeCallback, ProbeConfig, ProbeError, discover_layers, plant_dead_layer
from rl.store import DiskStore, MemoryStore
from tests.rl.callback_args import run_context, step_info, update_info

torch.set_num_threads(1)


class MLP(nn.Module):
    """fc1 -> relu -> fc2 -> relu -> fc3 -> relu -> out, like our QNetwork."""

    def __init__(self, sizes=(6, 16, 16, 16, 3), act=nn.ReLU, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        *hidden, n_out = sizes[1:]
        width = sizes[0]
        for i, h in enumerate(hidden, start=1):
            self.add_module(f"fc{i}", nn.Linear(width, h))
            self.add_module(f"act{i}", act())
            width = h
        self.out = nn.Linear(width, n_out)
        self.n_hidden = len(hidden)

    def forward(self, x):
        for i in range(1, self.n_hidden + 1):
            x = self._modules[f"act{i}"](self._modules[f"fc{i}"](x))
        return self.out(x)


def act_many(net, n, dim=6, seed=1):
    """n acting passes (no grad, batch of one), like agent.act()."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(n):
            net(torch.randn(1, dim, generator=gen))


def train_steps(net, n, opt, dim=6, seed=2, loss_scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = torch.randn(32, dim, generator=gen)
        loss = loss_scale * (net(x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def cfg(**kw):
    base = dict(
        activation_every=1,
        gradient_every=1,
        weight_every=1,
        history=200,
        activation_max_per_s=None,
        gradient_max_per_s=None,
        weight_max_per_s=None,
    )
    base.update(kw)
    return ProbeConfig(**base)


@pytest.fixture
def small_buffers(monkeypatch):
    """Room for 3 pending gradient and 3 pending weight samples per network."""
    monkeypatch.setattr(Capture, "MAX_PENDING", 3)


# --------------------------------------------------------------------------- layers, hooks
def test_discovers_hidden_and_output_layers_in_order():
    layers = discover_layers(MLP())
    assert [(w.name, w.hidden, w.activation) for w in layers] == [
        ("fc1", True, "relu"),
        ("fc2", True, "relu"),
        ("fc3", True, "relu"),
        ("out", False, "linear"),
    ]
    tanh = discover_layers(MLP(act=nn.Tanh))
    assert tanh[0].activation == "tanh"


def test_detach_removes_every_hook_and_output_is_unchanged():
    net = MLP()
    x = torch.randn(4, 6)
    before = net(x).detach()
    probe = Probe(cfg()).attach(net)
    assert probe.capture.attached
    assert torch.equal(net(x).detach(), before)
    probe.detach()
    assert not probe.capture.attached
    for m in net.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
    for p in net.parameters():
        assert not getattr(p, "_post_accumulate_grad_hooks", None)


def test_disabled_callback_installs_nothing():
    net = MLP()
    cb = ProbeCallback(ProbeConfig(enabled=False))
    cb.on_training_start(run_context(networks={"q_network": net}))
    assert cb.probe is None and cb.probes == {}
    assert all(not m._forward_hooks for m in net.modules())


def test_only_acting_passes_are_sampled_on_schedule():
    net = MLP()
    probe = Probe(cfg(activation_every=10)).attach(net)
    act_many(net, 1000)
    assert probe.capture.samples == 100  # cost follows the sampling rate
    with torch.no_grad():  # replay-batch pass without gradients (Double DQN's argmax)
        net(torch.randn(64, 6))
    net(torch.randn(1, 6)).sum()  # a forward with gradients is a training pass
    assert probe.capture.samples == 100
    assert probe.capture.updates == 1


def test_only_one_hook_stays_between_sampled_passes():
    net = MLP()
    probe = Probe(cfg(activation_every=3, gradient_every=2)).attach(net)
    act_many(net, 3)  # the third pass is sampled: its capture hooks are gone again
    assert probe.capture.samples == 1
    assert len(net._forward_pre_hooks) == 1 and not net._forward_hooks
    assert all(not m._forward_hooks for m in net.modules())
    train_steps(net, 2, torch.optim.SGD(net.parameters(), lr=0.0))  # the 2nd backward is sampled
    probe.collect()
    assert all(not getattr(p, "_post_accumulate_grad_hooks", None) for p in net.parameters())


def test_callback_driven_probe_leaves_no_hook_on_unsampled_passes():
    net = MLP()
    callback = ProbeCallback(cfg(activation_every=5, gradient_every=3))
    ctx = run_context(networks={"q_network": net})
    callback.on_training_start(ctx)
    opt = torch.optim.SGD(net.parameters(), lr=0.0)

    def hooks():
        return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in net.modules()) + sum(
            len(getattr(p, "_post_accumulate_grad_hooks", None) or {}) for p in net.parameters()
        )

    counts = []
    for step in range(1, 13):
        counts.append(hooks())  # what the acting pass of this step runs through
        act_many(net, 1, seed=step)
        callback.on_step(ctx, step_info(step))
        train_steps(net, 1, opt, seed=step)
        callback.on_update(ctx, update_info(step))
    probe = callback.probe
    # a capture is armed only for the pass after a due step (one pre-hook: steps 1, 6, 11) and
    # for the backward after a due update (the parameters' hooks, still there at steps 4, 7, 10)
    n = len(list(net.parameters()))
    assert counts == [1, 0, 0, n, 0, 1, n, 0, 0, n, 1, 0]
    assert probe.capture.samples == 3 and [probe.capture.sample_step(slot) for slot in range(3)] == [1, 6, 11]
    out = probe.collect()
    assert out.activations.samples == 3 and out.neurons.step == 11  # the newest sample's step
    assert [r.update for r in out.gradients] == [4, 7, 10]  # armed after updates 3, 6, 9 (12's is still waiting)
    assert [r.step for r in out.gradients] == [4, 7, 10]
    assert hooks() == len(probe.capture.gradient_params) == n  # the capture armed after update 12
    callback.on_training_end(ctx)
    assert hooks() == 0


def test_wall_clock_rate_limits_the_samples():
    import time

    net = MLP()
    probe = Probe(cfg(activation_max_per_s=50.0, gradient_max_per_s=20.0)).attach(net)
    started = time.monotonic()
    act_many(net, 300)
    train_steps(net, 60, torch.optim.SGD(net.parameters(), lr=0.0))
    elapsed = time.monotonic() - started
    assert 1 <= probe.capture.samples <= 50 * elapsed + 1
    assert 1 <= len(probe.collect().gradients) <= 20 * elapsed + 1
    with pytest.raises(ValueError, match="activation_max_per_s"):
        ProbeConfig(activation_max_per_s=0)
    # weights: sampled by the callback every weight_every steps, at most weight_max_per_s a second
    callback = ProbeCallback(cfg(weight_every=1, weight_max_per_s=20.0, publish_every_s=3600.0))
    ctx = run_context(networks={"q_network": MLP()})
    callback.on_training_start(ctx)
    started, step = time.monotonic(), 0
    while time.monotonic() - started < 0.3:
        step += 1
        callback.on_step(ctx, step_info(step))
    weights = callback.probe.collect().weights
    assert step > 100 and 2 <= len(weights) <= 20 * (time.monotonic() - started) + 2


def test_full_buffers_ask_for_an_early_publish_and_count_what_was_dropped(small_buffers):
    net = MLP()
    probe = Probe(cfg()).attach(net)
    train_steps(net, 2, torch.optim.SGD(net.parameters(), lr=0.0))
    assert not probe.capture.full
    train_steps(net, 3, torch.optim.SGD(net.parameters(), lr=0.0))
    assert probe.capture.full and probe.capture.dropped_gradient_samples == 2
    assert [r.update for r in probe.collect().gradients] == [1, 2, 3] and not probe.capture.full
    probe.detach()
    store = MemoryStore()
    callback = ProbeCallback(cfg(publish_every_s=3600.0))
    ctx = run_context(store, {"q_network": net})
    callback.on_training_start(ctx)
    for step in range(1, 5):  # weight samples every step fill the buffer: published early
        callback.on_step(ctx, step_info(step))
    weights = store.read(T.probe_key(T.WEIGHTS, "q_network"))
    assert [r["step"] for r in weights] == [0, 1, 2]  # the 3 samples (start, steps 1 and 2), published at step 2
    assert callback.probe.capture.dropped_weight_samples == 0


def test_slow_publishes_are_spaced_out_to_their_share_of_the_time():
    import time

    class SlowStore(MemoryStore):
        def put_many(self, values):
            time.sleep(0.02)
            super().put_many(values)

    net = MLP()
    store = SlowStore()
    callback = ProbeCallback(cfg(publish_every_s=0.0, max_publish_share=0.1))
    ctx = run_context(store, {"q_network": net})
    callback.on_training_start(ctx)
    started, step = time.monotonic(), 0
    while time.monotonic() - started < 0.5:
        step += 1
        act_many(net, 1, seed=step)
        callback.on_step(ctx, step_info(step))
    # each publish takes >= 20 ms, so at a 10 % share they come >= 200 ms apart -- even though
    # the buffers (a weight sample every step) fill and ask for more: 3 at most
    assert 1 <= callback.probe.publishes <= 3 and step > 10
    assert callback.probe.capture.dropped_weight_samples > 0


def test_records_to_dict_equal_the_deep_dataclass_form():
    import dataclasses

    layer = T.GradientLayer(name="fc1", norm=0.5, mean_abs=0.1, max_abs=0.3, std=0.2)
    rec = T.GradientRecord(step=3, update=7, layers=[layer], total_norm=0.5, network="critic")
    deep = dataclasses.asdict(rec)
    assert rec.to_dict() == {**deep, "kind": "gradients", "v": T.SCHEMA_VERSION}
    assert T.GradientRecord.from_dict(rec.to_dict()) == rec
    assert isinstance(T.GradientRecord.from_dict(rec.to_dict()).layers[0], T.GradientLayer)


def test_network_without_layers_is_refused():
    with pytest.raises(ProbeError, match="no Linear or Conv"):
        Probe().attach(nn.ReLU())


def test_config_is_validated():
    with pytest.raises(ValueError, match="activation_every"):
        ProbeConfig(activation_every=0)
    with pytest.raises(TypeError, match="q_bound"):  # no bound on the return is guessed (health.thresholds)
        ProbeConfig(q_bound=10.0)  # type: ignore[call-arg]


# --------------------------------------------------------------------------- exact statistics
def test_activation_ring_is_oldest_first_and_stats_are_exact():
    net = nn.Sequential()
    net.add_module("fc1", nn.Linear(3, 3))
    net.add_module("relu1", nn.ReLU())
    net.add_module("out", nn.Linear(3, 2))
    with torch.no_grad():
        net.fc1.weight.copy_(torch.eye(3))
        net.fc1.bias.zero_()
    probe = Probe(cfg(history=5)).attach(net)
    inputs = [torch.tensor([[float(k), -1.0, 0.5 * k]]) for k in range(8)]
    with torch.no_grad():
        for x in inputs:
            net(x)
    out = probe.collect()
    (layer,) = out.activations.layers
    seen = torch.relu(torch.cat(inputs[-5:]))  # the ring keeps the last 5, oldest first
    assert layer.samples == 5 and layer.size == 3
    assert layer.mean == pytest.approx(float(seen.mean()))
    assert layer.max == pytest.approx(7.0) and layer.min == 0.0
    assert sum(layer.hist) == 15 and len(layer.hist) == probe.config.activation_bins
    # a ring of 5 is shorter than the window a verdict needs: the probe judges no neuron
    assert layer.window == 5 and layer.dead is None and layer.states == [] and layer.always_active is None
    neurons = out.neurons
    history = T.decode_array(neurons.layers[0].history)
    np.testing.assert_allclose(history, seen.numpy(), rtol=1e-3)
    assert neurons.layers[0].current == pytest.approx([7.0, 0.0, 3.5])
    assert neurons.input == pytest.approx([7.0, -1.0, 3.5])
    assert T.decode_array(neurons.layers[0].weight).shape == (3, 3)
    assert neurons.output_layer.name == "out"
    assert T.decode_array(neurons.output_layer.weight).shape == (2, 3)
    outputs = (seen @ net.out.weight.T + net.out.bias).detach()  # the network's output at the 5 samples
    assert neurons.output == pytest.approx(outputs[-1].tolist(), rel=1e-5) and neurons.samples == 8
    assert out.activations.output_abs_max == pytest.approx(float(outputs.abs().max()), rel=1e-5)
    assert out.activations.output_mean == pytest.approx(float(outputs.mean()), rel=1e-5, abs=1e-6)
    assert probe.collect().activations is None  # nothing new: nothing published


def test_gradient_statistics_match_the_gradients():
    net = MLP()
    probe = Probe(cfg(gradient_every=1)).attach(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    train_steps(net, 1, opt)
    (rec,) = probe.collect().gradients
    by_name = {layer.name: layer for layer in rec.layers}
    for name in ("fc1", "fc2", "out"):
        module = getattr(net, name)
        g = torch.cat([module.weight.grad.reshape(-1), module.bias.grad.reshape(-1)])
        assert by_name[name].norm == pytest.approx(float(g.norm()), rel=1e-5)
        assert by_name[name].mean_abs == pytest.approx(float(g.abs().mean()), rel=1e-5)
        assert by_name[name].max_abs == pytest.approx(float(g.abs().max()), rel=1e-5)
        assert by_name[name].std == pytest.approx(float(g.std(unbiased=False)), rel=1e-4, abs=1e-9)
    everything = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
    assert rec.total_norm == pytest.approx(float(everything.norm()), rel=1e-5)


def test_gradient_sampling_every_n_updates():
    net = MLP()
    probe = Probe(cfg(gradient_every=4)).attach(net)
    train_steps(net, 12, torch.optim.SGD(net.parameters(), lr=1e-3))
    recs = probe.collect().gradients
    assert [r.update for r in recs] == [4, 8, 12]


def test_weight_statistics_and_velocity_are_exact():
    net = MLP()
    probe = Probe(cfg()).attach(net)
    probe.capture.sample_weights()
    before = net.fc1.weight.detach().clone()
    train_steps(net, 3, torch.optim.SGD(net.parameters(), lr=0.1))
    probe.capture.step = 7
    probe.capture.sample_weights()
    first, second = probe.collect().weights
    assert first.layers[0].velocity is None and first.updates == 0
    assert second.updates == 3 and second.step == 7
    w = net.fc1.weight.detach()
    fc1 = second.layers[0]
    assert fc1.velocity == pytest.approx(float((w - before).norm() / before.norm()), rel=1e-5)
    assert fc1.mean == pytest.approx(float(w.mean()), rel=1e-5)
    assert fc1.std == pytest.approx(float(w.std(unbiased=False)), rel=1e-5)
    assert fc1.min == pytest.approx(float(w.min())) and fc1.max == pytest.approx(float(w.max()))
    assert fc1.norm == pytest.approx(float(w.norm()), rel=1e-5)
    assert sum(fc1.hist) == w.numel() and len(fc1.hist) == 30
    assert fc1.near_zero == int((w.abs() < TH.LIVE_NEAR_ZERO_WEIGHT).sum())


# --------------------------------------------------------------------------- planted conditions
def alert_ids(out):
    return {a.id for a in out.alerts if a.active}


def test_forced_dead_layer_is_detected_and_alerts():
    net = MLP()
    plant_dead_layer(net, "fc2", bias=-10.0)
    probe = Probe(cfg()).attach(net)
    act_many(net, TH.LIVE_DEAD_WINDOW)
    first = probe.collect()
    fc2 = next(layer for layer in first.activations.layers if layer.name == "fc2")
    assert fc2.dead == fc2.size == 16 and set(fc2.states) == {R.DEAD}
    fc1 = next(layer for layer in first.activations.layers if layer.name == "fc1")
    assert fc1.dead < 0.1 * fc1.size
    assert "dead_neurons:fc2" not in alert_ids(first)  # hysteresis: one evaluation is not enough
    act_many(net, 10, seed=5)
    second = probe.collect()
    assert "dead_neurons:fc2" in alert_ids(second)
    alert = next(a for a in second.alerts if a.id == "dead_neurons:fc2")
    assert alert.level == R.CRITICAL and alert.remedy and "16 of 16" in alert.message
    assert alert.network == "q_network" and alert.layer == "fc2"
    assert "dead_neurons:fc1" not in alert_ids(second)


def test_dead_layer_demo_gives_vanishing_gradients_upstream():
    net = MLP()
    plant_dead_layer(net, "fc2")
    probe = Probe(cfg()).attach(net)
    train_steps(net, 6, torch.optim.Adam(net.parameters(), lr=1e-3))
    probe.collect()
    train_steps(net, 6, torch.optim.Adam(net.parameters(), lr=1e-3), seed=3)
    out = probe.collect()
    assert {"vanishing_gradients:fc1", "vanishing_gradients:fc2"} <= alert_ids(out)
    with pytest.raises(ProbeError, match="fc1, fc2, fc3"):
        plant_dead_layer(net, "out")


def gradient_norms(records) -> dict[str, list[float]]:
    """Each layer's published gradient norms, oldest first (NaN where not finite)."""
    norms: dict[str, list[float]] = {}
    for rec in records:
        for layer in rec.layers:
            norm = layer.norm if layer.finite and layer.norm is not None else math.nan
            norms.setdefault(layer.name, []).append(norm)
    return norms


def verdicts_after_training(net, steps=10, loss_scale=1.0):
    probe = Probe(cfg()).attach(net)
    train_steps(net, steps, torch.optim.SGD(net.parameters(), lr=0.0), loss_scale=loss_scale)
    records = probe.collect().gradients
    assert len(records) == steps
    return {v.layer: v.verdict for v in R.gradient_verdicts(gradient_norms(records))}, probe


def test_scaled_down_layer_shows_vanishing_gradients():
    healthy, _ = verdicts_after_training(MLP())
    assert set(healthy.values()) == {R.HEALTHY}
    net = MLP()
    with torch.no_grad():
        net.fc3.weight.mul_(1e-5)  # the backward signal through fc3 shrinks 100,000-fold
    verdicts, probe = verdicts_after_training(net)
    assert verdicts["fc1"] == R.VANISHING and verdicts["fc2"] == R.VANISHING
    assert verdicts["out"] == R.HEALTHY


def test_scaled_up_layer_shows_exploding_gradients():
    net = MLP()
    with torch.no_grad():
        net.fc2.weight.mul_(1e3)
    verdicts, probe = verdicts_after_training(net)
    assert R.EXPLODING in verdicts.values()
    out = probe.collect()  # no new gradients: the rules are not re-run on old data
    train_steps(net, 5, torch.optim.SGD(net.parameters(), lr=0.0), seed=9)
    out = probe.collect()
    assert any(i.startswith("exploding_gradients:") for i in alert_ids(out))


def test_frozen_weights_give_zero_velocity_and_a_stalled_alert():
    def run(lr):
        net = MLP()
        probe = Probe(cfg()).attach(net)
        probe.capture.sample_weights()
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        outs = []
        for k in range(TH.LIVE_VELOCITY_STALL_SAMPLES + TH.LIVE_ALERT_RAISE_AFTER):
            train_steps(net, 2, opt, seed=k)
            probe.capture.sample_weights()
            outs.append(probe.collect())
        return outs

    frozen = run(lr=0.0)
    velocities = [layer.velocity for out in frozen for rec in out.weights for layer in rec.layers]
    assert velocities[:4] == [None] * 4  # the first sample has nothing to compare with
    assert len(velocities) > 4 and all(v == 0.0 for v in velocities[4:])
    assert "learning_stalled:fc1" in alert_ids(frozen[-1])
    assert "learning_stalled:fc1" not in alert_ids(frozen[-3])  # needs 5 samples + hysteresis
    moving = run(lr=1e-2)
    assert not any(i.startswith("learning_stalled") for i in alert_ids(moving[-1]))


def test_non_finite_q_values_are_a_critical_alert_and_records_stay_json_clean():
    net = MLP()
    probe = Probe(cfg()).attach(net)
    store = MemoryStore()
    with torch.no_grad():
        net.out.bias.fill_(float("inf"))
    act_many(net, 5)
    probe.publish(store)
    act_many(net, 5)
    out = probe.publish(store)
    (alert,) = [a for a in out.alerts if a.rule == R.Q_DIVERGING]
    assert alert.level == R.CRITICAL and alert.active
    assert out.activations.output_abs_max is None
    published = [
        *store.read(T.probe_key(T.ACTIVATIONS, "q_network")),
        store.get(T.probe_key(T.NEURONS, "q_network")),
        store.get(T.ALERTS),
    ]
    assert published[-1]["alerts"][0]["rule"] == R.Q_DIVERGING
    for record in published:
        json.dumps(record, allow_nan=False)


def test_tanh_layer_saturation_is_counted():
    net = MLP(act=nn.Tanh)
    with torch.no_grad():
        net.fc1.bias[:12] = 5.0  # large pre-activations: 12 of 16 tanh units pinned near +1
    probe = Probe(cfg()).attach(net)
    act_many(net, TH.LIVE_DEAD_WINDOW)
    fc1 = probe.collect().activations.layers[0]
    assert fc1.saturated == 12 and fc1.always_active is None
    assert fc1.states[:12] == [R.SATURATED] * 12


# --------------------------------------------------------------------------- real store, real agent
def test_callback_with_real_dqn_writes_records_that_read_back(tmp_path):
    from rl.agents.dqn import DQNAgent, DQNConfig
    from rl.envs import make_env

    env = make_env("neurodash/Breakout-v0", seed=0)
    obs, _ = env.reset(seed=0)
    config = DQNConfig(learning_starts=64, batch_size=32, train_frequency=2)
    agent = DQNAgent.build(env.observation_space, env.action_space, config, total_steps=600, seed=0)
    store = DiskStore(tmp_path / "telemetry")
    probe_config = ProbeConfig(
        activation_every=2,
        gradient_every=2,
        weight_every=50,
        publish_every_s=0.0,
        max_publish_share=1.0,
        weight_max_per_s=None,
        activation_max_per_s=None,
        gradient_max_per_s=None,
        dead_init_layer="fc2",
    )
    callbacks = CallbackList([ProbeCallback(probe_config)])
    ctx = RunContext(store=store, meta=None, agent=agent, networks=agent.networks(), watched=("q_network",))
    callbacks.on_training_start(ctx)
    for step in range(1, 601):
        decision = agent.act(obs, step)
        next_obs, reward, terminated, truncated, _ = env.step(decision.action)
        agent.observe(obs, decision.action, reward, next_obs, terminated)
        callbacks.on_step(ctx, StepInfo(step, 0, obs, decision, reward, next_obs, terminated, truncated))
        update = agent.learn(step)
        if update is not None:
            callbacks.on_update(ctx, UpdateInfo(step, update))
        obs = env.reset()[0] if terminated or truncated else next_obs
    callbacks.on_training_end(ctx)
    store.close()

    store = DiskStore(tmp_path / "telemetry")  # a reader opening the same folder
    key = {base: T.probe_key(base, "q_network") for base in T.PER_NETWORK}
    acts = [T.ActivationRecord.from_dict(r) for r in store.read(key[T.ACTIVATIONS])]
    grads = [T.GradientRecord.from_dict(r) for r in store.read(key[T.GRADIENTS])]
    weights = [T.WeightRecord.from_dict(r) for r in store.read(key[T.WEIGHTS])]
    neurons = T.NeuronsRecord.from_dict(store.get(key[T.NEURONS]))
    alerts = T.AlertsRecord.from_dict(store.get(T.ALERTS))
    settings = T.ProbeSettings.from_dict(store.get(T.PROBE_CONFIG))
    assert settings.config["dead_init_layer"] == "fc2" and settings.config["activation_every"] == 2
    assert [n.name for n in settings.networks] == ["q_network"]  # the target network is not watched live
    assert settings.watched_layers("target_network") == []
    assert [w.name for w in settings.watched_layers("q_network") if w.hidden] == ["fc1", "fc2"]
    for base in T.PER_NETWORK:  # nothing of the target network, nothing under the schema-1 names
        assert store.read(T.probe_key(base, "target_network")) == [] and store.read(base) == []
        assert store.get(T.probe_key(base, "target_network")) is None and store.get(base) is None
    assert {r.network for r in [*acts, *grads, *weights, neurons]} == {"q_network"}
    assert acts and acts[-1].samples == 300
    assert [layer.name for layer in acts[-1].layers] == ["fc1", "fc2"]
    fc2 = acts[-1].layers[1]
    assert fc2.dead == fc2.size == 64  # the planted dead layer
    names = [info.name for info in agent.layer_infos()]  # dueling by default: two output heads
    assert grads and [layer.name for layer in grads[-1].layers] == names
    # the callback arms after every 2nd optimisation step and captures the one after it
    assert [g.update for g in grads] == list(range(3, agent.updates + 1, 2))
    assert [w.step for w in weights] == [0] + list(range(50, 601, 50))
    assert weights[-1].layers[0].velocity is not None
    history = T.decode_array(neurons.layers[0].history)
    assert history.shape == (300, 64) and history.dtype == np.float16
    assert neurons.action in range(3) and len(neurons.input) == obs.shape[0]
    assert neurons.output_layer.name == names[-1] and len(neurons.output) == 3
    active = {a.id for a in alerts.alerts if a.active}
    assert "dead_neurons:fc2" in active
    assert all(math.isfinite(a.started_time) and a.network == "q_network" for a in alerts.alerts)
    # the probe left the networks clean
    assert all(not m._forward_hooks for net in agent.networks().values() for m in net.modules())


# --------------------------------------------------------------------------- several networks
def test_callback_watches_each_watched_network_and_follows_only_the_updated_ones():
    """An actor-critic's networks: each watched one gets a probe and series of its own; a
    learning step is counted (and its gradients captured) only for the networks it changed."""
    actor, critic, target = MLP(seed=1), MLP(seed=2), MLP(seed=3)
    store = MemoryStore()
    ctx = run_context(store, {"actor": actor, "critic": critic, "target": target}, watched=("actor", "critic"))
    callback = ProbeCallback(cfg(publish_every_s=3600.0))
    callback.on_training_start(ctx)
    assert list(callback.probes) == ["actor", "critic"] and callback.probe is callback.probes["actor"]
    assert all(not m._forward_pre_hooks for m in target.modules())  # the target is not watched
    actor_opt, critic_opt = (torch.optim.SGD(n.parameters(), lr=0.0) for n in (actor, critic))
    for step in range(1, 7):
        ctx.step = step  # as the worker's loop keeps it
        act_many(actor, 1, seed=step)
        act_many(critic, 1, seed=step)
        callback.on_step(ctx, step_info(step, action=1))
        train_steps(critic, 1, critic_opt, seed=step)
        callback.on_update(ctx, update_info(step, "critic"))
        if step % 3 == 0:  # the actor learns every third step only
            train_steps(actor, 1, actor_opt, seed=step)
            callback.on_update(ctx, update_info(step, "actor"))
    assert callback.probes["critic"].capture.updates == 6 and callback.probes["actor"].capture.updates == 2
    callback.on_training_end(ctx)

    def read(base, network):
        return store.read(T.probe_key(base, network))

    assert [r["update"] for r in read(T.GRADIENTS, "critic")] == [2, 3, 4, 5, 6]  # armed after each update
    assert [(r["update"], r["step"]) for r in read(T.GRADIENTS, "actor")] == [(2, 6)]
    assert [r["samples"] for r in read(T.ACTIVATIONS, "actor")] == [r["samples"] for r in read(T.ACTIVATIONS, "critic")]
    assert read(T.ACTIVATIONS, "actor")[-1]["samples"] == 6 and read(T.ACTIVATIONS, "target") == []
    neurons = {name: T.NeuronsRecord.from_dict(store.get(T.probe_key(T.NEURONS, name))) for name in ("actor", "critic")}
    assert [(n.network, n.action, n.step) for n in neurons.values()] == [("actor", 1, 6), ("critic", 1, 6)]
    settings = T.ProbeSettings.from_dict(store.get(T.PROBE_CONFIG))
    assert [n.name for n in settings.networks] == ["actor", "critic"]
    assert T.AlertsRecord.from_dict(store.get(T.ALERTS)).step == 6  # one ALERTS key for the run
    assert all(not m._forward_hooks and not m._forward_pre_hooks for n in (actor, critic) for m in n.modules())


def test_a_later_backward_through_the_network_is_not_taken_for_its_own():
    """SAC's actor loss runs back through a critic after the critic's own backward: the
    critic's gradient sample is the first gradient each parameter received."""
    net = MLP()
    probe = Probe(cfg()).attach(net, count_passes=False)
    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(0))
    assert probe.capture.arm_gradients()
    (net(x) ** 2).mean().backward()  # the network's own loss
    own = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
    net(x).sum().backward()  # another loss through it, accumulating into p.grad
    assert not torch.allclose(torch.cat([p.grad.reshape(-1) for p in net.parameters()]), own)
    probe.capture.note_update(step=5)
    (rec,) = probe.collect().gradients
    assert (rec.step, rec.update) == (5, 1)
    assert rec.total_norm == pytest.approx(float(own.norm()), rel=1e-5)
    fc1 = next(layer for layer in rec.layers if layer.name == "fc1")
    own_fc1 = own[: net.fc1.weight.numel() + net.fc1.bias.numel()]
    assert fc1.norm == pytest.approx(float(own_fc1.norm()), rel=1e-5)
    assert all(not getattr(p, "_post_accumulate_grad_hooks", None) for p in net.parameters())


def test_alert_records_know_the_levels_of_the_health_rules():
    """The alerts panel sorts by ``AlertEntry.severity``: its levels are the rules' own."""
    assert T.AlertEntry.LEVELS == (R.CRITICAL, R.WARNING, R.INFO)
    entry = T.AlertEntry("a", "dead_neurons", "fc1", R.WARNING, "t", "m", "r", True)
    assert entry.severity == 1 and T.AlertEntry("b", "x", None, "odd", "t", "m", "r", True).severity == 3
