"""The probe on target networks: weight samples only -- no hook, no activations, gradients,
neurons or alerts -- on hand-made networks and in a short real SAC run, whose target
critics' published weights start as their critics' and then follow them slowly."""

from __future__ import annotations

import pytest
import torch

from rl import telemetry as T
from rl.probe import Probe, ProbeCallback, ProbeConfig, plant_dead_layer
from rl.store import MemoryStore, open_run
from rl.worker import train
from tests.rl.callback_args import run_context, step_info, update_info
from tests.rl.test_probe import MLP, act_many, cfg, train_steps
from tests.rl.test_sac import PENDULUM, SMALL

torch.set_num_threads(1)


def hooks(net: torch.nn.Module) -> int:
    """Every forward hook, forward pre-hook and gradient hook on ``net``."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in net.modules()) + sum(
        len(getattr(p, "_post_accumulate_grad_hooks", None) or {}) for p in net.parameters()
    )


def test_a_target_network_gets_weight_samples_and_nothing_else():
    """A critic and its target, both planted with a dead layer and both frozen (learning
    rate 0): the critic's probe says so (dead neurons, learning stalled); the target's
    takes weight samples alone -- no hook ever, no record but WEIGHTS, no alert."""
    critic, target = MLP(seed=2), MLP(seed=2)
    for net in (critic, target):
        plant_dead_layer(net, "fc1")
        net.requires_grad_(net is critic)  # the agents freeze their targets
    store = MemoryStore()
    ctx = run_context(store, {"critic": critic, "target": target}, watched=("critic",))
    ctx.targets = {"target": "critic"}
    callback = ProbeCallback(cfg(publish_every_s=3600.0))
    callback.on_training_start(ctx)
    assert list(callback.probes) == ["critic", "target"] and callback.probe is callback.probes["critic"]
    assert callback.probes["target"].weights_only and not callback.probes["critic"].weights_only
    opt = torch.optim.SGD(critic.parameters(), lr=0.0)
    seen = []
    for step in range(1, 131):
        ctx.step = step
        seen.append(hooks(target))  # what the target's passes run through
        act_many(critic, 1, seed=step)
        act_many(target, 1, seed=step)  # passes as an acting one would be: not sampled either
        callback.on_step(ctx, step_info(step))
        train_steps(critic, 1, opt, seed=step)
        callback.on_update(ctx, update_info(step, "critic"))
        seen.append(hooks(target))
        if step % 10 == 0:
            callback.flush(ctx)
    assert seen == [0] * len(seen) and callback.probes["target"].capture.samples == 0
    callback.on_training_end(ctx)

    def read(base, network):
        return store.read(T.probe_key(base, network))

    critic_w = [T.WeightRecord.from_dict(r) for r in read(T.WEIGHTS, "critic")]
    target_w = [T.WeightRecord.from_dict(r) for r in read(T.WEIGHTS, "target")]
    assert [r.step for r in target_w] == [r.step for r in critic_w] == list(range(131))  # every weight_every step
    # its optimisation steps are its critic's; frozen, it did not move
    assert [r.updates for r in target_w] == [r.updates for r in critic_w] == [0, 0] + [1] * 129
    assert all(layer.velocity == 0.0 for r in target_w[1:] for layer in r.layers)
    assert read(T.ACTIVATIONS, "target") == read(T.GRADIENTS, "target") == []
    assert store.get(T.probe_key(T.NEURONS, "target")) is None and read(T.ACTIVATIONS, "critic")
    alerts = T.AlertsRecord.from_dict(store.get(T.ALERTS)).alerts
    # the same conditions raise the critic's alerts; the target is judged by nothing
    assert {("critic", "dead_neurons"), ("critic", "learning_stalled")} <= {(a.network, a.rule) for a in alerts}
    assert not any(a.network == "target" for a in alerts)
    settings = T.ProbeSettings.from_dict(store.get(T.PROBE_CONFIG))
    assert [(n.name, n.weights_only) for n in settings.networks] == [("critic", False), ("target", True)]
    assert settings.weights_only == ["target"] and [w.name for w in settings.watched_layers("target")][-1] == "out"


def test_a_weights_only_probe_never_counts_passes():
    net = MLP()
    probe = Probe(cfg(), network="target", weights_only=True).attach(net)  # count_passes asked for
    act_many(net, 5)
    assert hooks(net) == 0 and probe.capture.samples == 0
    probe.capture.sample_weights()
    out = probe.collect()
    assert len(out.weights) == 1 and out.activations is None and out.neurons is None
    assert out.gradients == [] and out.alerts == []


def test_old_probe_settings_read_without_weights_only_networks():
    """Settings written before target networks were sampled lack the field: every network
    they name is watched live."""
    old = {"kind": "probe_settings", "v": 2, "config": {}, "networks": [{"name": "actor", "layers": []}]}
    settings = T.ProbeSettings.from_dict(old)
    assert settings.networks[0].weights_only is False and settings.weights_only == []


def _weights(store, network: str) -> list[T.WeightRecord]:
    return [T.WeightRecord.from_dict(r) for r in store.read(T.probe_key(T.WEIGHTS, network))]


def test_an_sac_run_samples_the_target_critics_which_follow_their_critics(tmp_path):
    run_dir = tmp_path / "pendulum"
    probe = ProbeCallback(ProbeConfig(weight_every=25, weight_max_per_s=None))
    quiet = {**SMALL, "checkpoint_every": 0, "step_records_per_s": 0, "frame_fps": 0, "probe": False}
    train(PENDULUM, "sac", 300, run_dir=run_dir, seed=0, overrides=quiet, callbacks=[probe])
    with open_run(run_dir) as store:
        meta = store.read_meta()
        assert meta.targets == {"target_critic_1": "critic_1", "target_critic_2": "critic_2"}
        settings = T.ProbeSettings.from_dict(store.get(T.PROBE_CONFIG))
        assert settings.weights_only == ["target_critic_1", "target_critic_2"]
        assert [n.name for n in settings.networks if not n.weights_only] == meta.watched
        alerts = T.AlertsRecord.from_dict(store.get(T.ALERTS)).alerts
        for target, critic in meta.targets.items():
            assert store.read(T.probe_key(T.ACTIVATIONS, target)) == []
            assert store.read(T.probe_key(T.GRADIENTS, target)) == []
            assert store.get(T.probe_key(T.NEURONS, target)) is None
            assert not any(a.network == target for a in alerts)
            assert store.read(T.probe_key(T.GRADIENTS, critic))  # its critic's are there
            _follows(_weights(store, target), _weights(store, critic))


def _follows(target: list[T.WeightRecord], critic: list[T.WeightRecord]) -> None:
    """The target's samples: its critic's steps and optimisation steps; equal to the critic's
    until learning starts (step 100: it starts as a copy), different afterwards: moving
    from the first update on, slowly at first (a share tau of the way per update), and
    towards the critic."""
    assert [r.step for r in target] == [r.step for r in critic] == list(range(0, 301, 25))
    assert [r.updates for r in target] == [r.updates for r in critic]
    names = [layer.name for layer in critic[0].layers]
    assert [layer.name for layer in target[0].layers] == names == ["fc1", "fc2", "q_out"]
    before = [i for i, r in enumerate(critic) if r.step <= 100]
    after = [i for i, r in enumerate(critic) if r.step > 100]
    for i in before:
        assert target[i].layers == critic[i].layers  # the same weights, statistic for statistic
    for j, name in enumerate(names):
        for i in after:
            t, c = target[i].layers[j], critic[i].layers[j]
            assert t != c and t.velocity > 0, (name, target[i].step)
        # the first sample after learning started: the critic moved, its target a little
        assert target[after[0]].layers[j].velocity < critic[after[0]].layers[j].velocity / 5, name
        start, t_end, c_end = critic[0].layers[j].norm, target[-1].layers[j].norm, critic[-1].layers[j].norm
        assert abs(t_end - c_end) < abs(start - c_end) and t_end != pytest.approx(c_end, rel=1e-3), name
