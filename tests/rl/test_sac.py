"""SAC: config and presets, target entropy, the soft TD target, the temperature's direction,
gradients that stay with their own network, acting and state round trips -- and short
real training runs of both variants (Pendulum, our Breakout) through the one loop, with
their checkpoints read by ``neurodash health`` and resumed."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rl import telemetry as T
from rl.agents import field_docs
from rl.agents.base import Decision, Update
from rl.agents.sac import PRESETS, SACAgent, SACConfig, config_for_env
from rl.store import open_run
from rl.worker import TrainingFailed, train

torch.set_num_threads(1)

BREAKOUT, PENDULUM = "neurodash/Breakout-v0", "Pendulum-v1"
FIVE = ["actor", "critic_1", "critic_2", "target_critic_1", "target_critic_2"]
#: small and quick: learning from step 100, tiny networks, no checkpoints on the way
SMALL = {"hidden_sizes": [16, 16], "learning_starts": 100, "batch_size": 16, "buffer_size": 2_000}


def box(dim: int = 2, bound: float = 2.0) -> spaces.Box:
    return spaces.Box(-bound, bound, shape=(dim,), dtype=np.float32)


def agent(discrete: bool, **overrides) -> SACAgent:
    values = dict(hidden_sizes=(8, 8), learning_starts=0, batch_size=8, buffer_size=200)
    values.update(overrides)
    actions = spaces.Discrete(3) if discrete else box()
    return SACAgent(box(4, 10.0), actions, SACConfig(**values), total_steps=1000, seed=0)


def fill(a: SACAgent, n: int = 64, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        obs, nxt = rng.normal(size=a.obs_dim).astype(np.float32), rng.normal(size=a.obs_dim).astype(np.float32)
        action = int(rng.integers(a.action_dim)) if a.discrete else rng.uniform(-2, 2, a.action_dim).astype(np.float32)
        a.observe(obs, action, float(rng.normal()), nxt, bool(rng.random() < 0.1))


# ----------------------------------------------------------------- config
def test_every_config_field_has_a_docstring_and_the_config_round_trips():
    docs = field_docs(SACConfig)
    assert sorted(docs) == sorted(f.name for f in dataclasses.fields(SACConfig))
    assert all(len(text) > 10 for text in docs.values())
    config = SACConfig(hidden_sizes=(32, 8), autotune=False)
    data = json.loads(json.dumps(config.to_dict()))
    assert data["hidden_sizes"] == [32, 8] and SACConfig.from_dict(data) == config


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("tau", 0.0, "tau must be in (0, 1]"),
        ("gamma", 1.5, "gamma must be in [0, 1]"),
        ("alpha", 0.0, "alpha must be > 0"),
        ("policy_frequency", 0, "policy_frequency"),
        ("target_entropy_scale", 1.5, "target_entropy_scale"),
        ("hidden_sizes", (), "hidden_sizes"),
    ],
)
def test_bad_values_are_refused_by_name(field, value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        SACConfig(**{field: value})


def test_presets_fill_in_per_environment_and_unknown_fields_are_named():
    assert config_for_env(PENDULUM) == SACConfig()
    breakout = config_for_env(BREAKOUT)
    assert breakout.hidden_sizes == (64, 64) and breakout.train_frequency == 2 and breakout.target_entropy_scale == 0.5
    assert config_for_env(BREAKOUT, batch_size=7).batch_size == 7
    assert all(set(p) <= {f.name for f in dataclasses.fields(SACConfig)} for p in PRESETS.values())
    with pytest.raises(ValueError, match="SACConfig has no field.* learning_rate_of_doom"):
        config_for_env(PENDULUM, learning_rate_of_doom=1.0)


def test_target_entropy_is_minus_the_action_dimension_or_a_share_of_log_n():
    assert agent(False).target_entropy == -2.0
    assert agent(True).target_entropy == pytest.approx(0.89 * math.log(3))
    assert agent(True, target_entropy_scale=0.5).target_entropy == pytest.approx(0.5 * math.log(3))


def test_spaces_it_cannot_drive_get_a_reason():
    assert SACAgent.unsupported(box(4), spaces.Discrete(2)) is None
    assert SACAgent.unsupported(box(4), box(1)) is None
    assert "finite bounds" in SACAgent.unsupported(box(4), spaces.Box(-np.inf, np.inf, shape=(1,)))
    assert "MultiBinary" in SACAgent.unsupported(box(4), spaces.MultiBinary(3))


# ----------------------------------------------------------------- the maths
def test_discrete_td_target_is_the_expectation_over_the_policy():
    a = agent(True, gamma=0.5)
    obs = torch.randn(5, 4)
    rewards, dones = torch.tensor([1.0, 0.0, -1.0, 2.0, 0.5]), torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0])
    with torch.no_grad():
        probs, log_probs = a.actor.probabilities(obs)
        q = torch.minimum(a.target_critic_1(obs), a.target_critic_2(obs))
        v = (probs * (q - a.alpha * log_probs)).sum(1)
    expected = rewards + 0.5 * (1 - dones) * v
    assert torch.allclose(a.td_target(rewards, obs, dones), expected)
    # a finished episode: the reward alone
    assert torch.allclose(a.td_target(rewards, obs, dones)[dones == 1], rewards[dones == 1])


def test_continuous_td_target_uses_the_smaller_target_critic():
    a = agent(False, gamma=0.9)
    with torch.no_grad():  # make the two target critics disagree by a constant
        a.target_critic_2.head("q_out").bias += 100.0
    obs, rewards, dones = torch.randn(6, 4), torch.zeros(6), torch.zeros(6)
    torch.manual_seed(0)
    got = a.td_target(rewards, obs, dones)
    torch.manual_seed(0)
    action, log_pi = a.actor.sample(obs)
    with torch.no_grad():
        q1 = a.target_critic_1(torch.cat([obs, action], 1)).view(-1)
    assert torch.allclose(got, 0.9 * (q1 - a.alpha * log_pi.view(-1)), atol=1e-5)


@pytest.mark.parametrize("discrete", [True, False])
@pytest.mark.parametrize("entropy_wanted, alpha_moves", [(10.0, "up"), (-10.0, "down")])
def test_the_temperature_rises_when_the_policy_is_too_sure_and_falls_when_too_random(
    discrete, entropy_wanted, alpha_moves
):
    a = agent(discrete)
    a.target_entropy = entropy_wanted  # far above (below) any entropy the policy has
    fill(a)
    before = a.alpha
    for step in range(5):
        a.learn(step)
    assert (a.alpha > before) if alpha_moves == "up" else (a.alpha < before)


@pytest.mark.parametrize("discrete", [True, False])
def test_the_actor_update_leaves_the_critics_gradients_alone(discrete):
    """The probe reads each network's gradients right after its own backward pass: the
    actor's backward must neither change the critics' ``p.grad`` nor fire their hooks."""
    a = agent(discrete)
    fill(a)
    batch = a.replay_buffer.sample(8)
    a._learn_critics(batch)
    critic_params = [*a.critic_1.parameters(), *a.critic_2.parameters()]
    grads = [p.grad.clone() for p in critic_params]
    fired = []
    handles = [p.register_post_accumulate_grad_hook(lambda p: fired.append(p)) for p in critic_params]
    actor_before = [p.detach().clone() for p in a.actor.parameters()]
    a._learn_actor(batch.obs)
    for h in handles:
        h.remove()
    assert fired == [] and all(torch.equal(g, p.grad) for g, p in zip(grads, critic_params))
    assert all(p.requires_grad for p in critic_params)  # switched back on after the actor's pass
    assert any(not torch.equal(b, p) for b, p in zip(actor_before, a.actor.parameters()))


def test_learn_reports_its_losses_statistics_and_the_networks_it_changed():
    a = agent(False, policy_frequency=2, learning_starts=10, train_frequency=1)
    fill(a)
    assert a.learn(5) is None  # before learning starts
    first = a.learn(10)
    assert isinstance(first, Update) and first.networks == ("critic_1", "critic_2")
    assert set(first.losses) == {"critic_loss"} and set(first.stats) == {"q_mean"}
    second = a.learn(11)  # every second learning step: the actor and alpha too
    assert second.networks == ("critic_1", "critic_2", "actor")
    assert set(second.losses) == {"critic_loss", "actor_loss", "alpha_loss"}
    assert set(second.stats) == {"q_mean", "entropy", "target_entropy", "alpha"}
    assert all(math.isfinite(v) for v in [*second.losses.values(), *second.stats.values()])
    fixed = agent(False, autotune=False)
    fill(fixed)
    alpha = fixed.alpha
    assert "alpha_loss" not in fixed.learn(0).losses and fixed.alpha == alpha  # a fixed temperature


def test_target_critics_follow_slowly_and_never_learn_themselves():
    a = agent(False, tau=0.5)
    fill(a)
    with torch.no_grad():
        for p in a.critic_1.parameters():
            p.add_(1.0)
    online = [p.detach().clone() for p in a.critic_1.parameters()]
    before = [p.detach().clone() for p in a.target_critic_1.parameters()]
    a.learn(0)
    after = list(a.target_critic_1.parameters())
    assert all(not p.requires_grad and p.grad is None for p in after)
    # half way from where it was towards the critic (which itself moved a little by learning)
    mid = [(b + o) / 2 for b, o in zip(before, online)]
    assert all(torch.allclose(p, m, atol=0.05) for p, m in zip(after, mid))


# ----------------------------------------------------------------- acting
def test_a_discrete_decision_carries_probabilities_critics_and_q_per_action():
    a = agent(True, learning_starts=0)
    obs = np.zeros(4, dtype=np.float32)
    d = a.act(obs, step=10)
    assert isinstance(d, Decision) and d.action in (0, 1, 2)
    assert len(d.probs) == 3 and sum(d.probs) == pytest.approx(1.0) and len(d.q) == 3
    assert set(d.critics) == {"critic_1", "critic_2"} and d.exploration == {"alpha": pytest.approx(a.alpha)}
    assert min(d.critics.values()) == pytest.approx(d.q[d.action], abs=1e-6)
    assert d.explored == (d.action != int(np.argmax(d.probs)))
    greedy = a.act(obs, step=10, greedy=True)
    assert greedy.action == int(np.argmax(greedy.probs)) and not greedy.explored


def test_a_continuous_decision_stays_in_bounds_with_its_mean_and_spread():
    a = agent(False, learning_starts=5)
    obs = np.ones(4, dtype=np.float32)
    for step in (0, 10):  # random phase, then sampled from the policy
        d = a.act(obs, step=step)
        assert d.action.shape == (2,) and np.all(np.abs(d.action) <= 2.0)
        assert len(d.mean) == len(d.std) == 2 and all(s > 0 for s in d.std) and d.q is None
        assert set(d.critics) == {"critic_1", "critic_2"}
    assert a.act(obs, step=0).explored is True and a.act(obs, step=10).explored is None
    greedy = a.act(obs, step=10, greedy=True)
    assert np.allclose(greedy.action, greedy.mean, atol=1e-6)


@pytest.mark.parametrize("discrete", [True, False])
def test_state_round_trip_keeps_networks_optimisers_and_temperature(discrete):
    a = agent(discrete)
    fill(a)
    for step in range(3):
        a.learn(step)
    b = agent(discrete)
    b.load_state_dict(a.state_dict())
    assert b.alpha == a.alpha and b.updates == a.updates == 3
    x = torch.randn(3, 4)
    for name, net in a.networks().items():
        other = b.networks()[name]
        assert all(torch.equal(p, q) for p, q in zip(net.parameters(), other.parameters())), name
    assert b.actor_optimizer.state_dict()["state"].keys() == a.actor_optimizer.state_dict()["state"].keys()
    if discrete:
        assert torch.equal(a.actor.probabilities(x)[0], b.actor.probabilities(x)[0])


# ----------------------------------------------------------------- real runs
def _read(run_dir):
    with open_run(run_dir) as store:
        return {
            "meta": store.read_meta(),
            "steps": [T.StepRecord.from_dict(r) for r in store.read(T.STEPS)],
            "episodes": [T.EpisodeRecord.from_dict(r) for r in store.read(T.EPISODES)],
            "gradients": {name: store.read(T.probe_key(T.GRADIENTS, name)) for name in FIVE},
            "weights": {name: store.read(T.probe_key(T.WEIGHTS, name)) for name in FIVE},
            "alerts": store.get(T.ALERTS),
            "attribution": store.get(T.ATTRIBUTION),
        }


def _checkpoint(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def test_continuous_sac_trains_on_pendulum_publishes_and_checkpoints_five_networks(tmp_path):
    run_dir = tmp_path / "pendulum"
    summary = train(
        PENDULUM,
        "sac",
        400,
        run_dir=run_dir,
        seed=0,
        overrides={**SMALL, "checkpoint_every": 0, "step_records_per_s": 0, "frame_fps": 0},
    )
    assert (summary.state, summary.steps, summary.episodes) == (T.FINISHED, 400, 2)  # Pendulum: 200 steps each
    got = _read(run_dir)
    meta = got["meta"]
    assert meta.agent == "sac" and meta.action_space.kind == "box" and meta.action_names == ["torque"]
    assert [(n.name, n.watched, n.target_of) for n in meta.networks] == [
        ("actor", True, None),
        ("critic_1", True, None),
        ("critic_2", True, None),
        ("target_critic_1", False, "critic_1"),
        ("target_critic_2", False, "critic_2"),
    ]
    critic = meta.network_info("critic_1")
    assert critic.inputs == ["cos(angle)", "sin(angle)", "angular velocity", "action: torque"]
    assert meta.network_info("actor").outputs == ["mean torque", "log std torque"]

    steps = got["steps"]
    assert [s.step for s in steps] == list(range(1, 401))
    assert all(isinstance(s.action, list) and abs(s.action[0]) <= 2.0 for s in steps)
    assert all(len(s.mean) == len(s.std) == 1 and set(s.critics) == {"critic_1", "critic_2"} for s in steps)
    assert all(s.explored for s in steps[:100]) and not any(s.explored for s in steps[100:])

    first, second = got["episodes"]
    assert first.losses.keys() == {"critic_loss", "actor_loss", "alpha_loss"}  # learning began at step 100
    assert {"entropy", "target_entropy", "alpha", "q_mean"} <= second.stats.keys()
    assert second.stats["target_entropy"] == -1.0 and set(second.exploration) == {"alpha"}

    # the probe watched the actor and both critics, each with its own gradients, and sampled
    # the weights of all five (tests/rl/test_probe_targets.py: the target critics')
    for name in FIVE:
        rows = got["gradients"][name]
        assert bool(rows) == (name in meta.watched), name
        assert all(T.GradientRecord.from_dict(r).network == name for r in rows)
        assert got["weights"][name] and all(T.WeightRecord.from_dict(r).network == name for r in got["weights"][name])

    assert got["attribution"] is None  # no network gives a Q-value per action to explain

    (ckpt_path,) = summary.checkpoints
    ckpt = _checkpoint(ckpt_path)
    assert ckpt["agent"] == "sac" and sorted(ckpt["networks"]) == sorted(FIVE)
    assert tuple(ckpt["networks"]["critic_1"]["fc1.weight"].shape) == (16, 4)  # 3 observations + 1 action


def test_discrete_sac_trains_on_breakout_with_probabilities_per_move(tmp_path):
    run_dir = tmp_path / "breakout"
    summary = train(
        BREAKOUT,
        "sac",
        300,
        run_dir=run_dir,
        seed=1,
        overrides={**SMALL, "checkpoint_every": 0, "step_records_per_s": 0, "frame_fps": 0},
    )
    assert summary.state == T.FINISHED and summary.steps == 300
    got = _read(run_dir)
    meta = got["meta"]
    assert meta.action_space == T.ActionSpace("discrete", n=3) and meta.action_names == ["LEFT", "STAY", "RIGHT"]
    assert meta.network_info("critic_1").inputs == meta.feature_names  # a discrete critic reads the state only
    assert meta.network_info("critic_1").outputs == ["Q LEFT", "Q STAY", "Q RIGHT"]
    late = [s for s in got["steps"] if s.step > 100]
    assert all(len(s.probs) == 3 and abs(sum(s.probs) - 1) < 1e-5 and len(s.q) == 3 for s in late)
    assert all(s.explored == (s.action != int(np.argmax(s.probs))) for s in late)
    learned = [e for e in got["episodes"] if e.losses]
    # the attribution explains a network with a Q-value per move: critic 1, not the actor's logits
    attribution = T.AttributionRecord.from_dict(got["attribution"])
    assert attribution.network == "critic_1" and len(attribution.q) == 3
    share = config_for_env(BREAKOUT).target_entropy_scale  # the preset's
    assert learned and all(e.stats["target_entropy"] == pytest.approx(share * math.log(3)) for e in learned)
    ckpt = _checkpoint(summary.checkpoints[-1])
    assert sorted(ckpt["networks"]) == sorted(FIVE)


def test_health_reads_an_sac_checkpoint_as_five_networks(tmp_path, capsys):
    from dashapp.cli import main
    from health import analyze_checkpoint

    summary = train(
        PENDULUM,
        "sac",
        150,
        run_dir=tmp_path / "run",
        seed=0,
        overrides={**SMALL, "checkpoint_every": 0, "step_records_per_s": 0, "frame_fps": 0, "probe": False},
    )
    path = summary.checkpoints[-1]
    result = analyze_checkpoint(path, dead_samples=100)
    assert sorted(result.networks) == sorted(FIVE)
    code = main(["health", "--checkpoint", str(path), "--no-explain", "--dead-neuron-samples", "100"])
    out = capsys.readouterr().out
    assert code in (0, 1) and all(name in out for name in FIVE)


def test_training_resumes_from_an_sac_checkpoint_and_refuses_another_agents(tmp_path):
    first = train(
        PENDULUM,
        "sac",
        200,
        run_dir=tmp_path / "a",
        seed=0,
        overrides={**SMALL, "checkpoint_every": 0, "step_records_per_s": 0, "frame_fps": 0, "probe": False},
    )
    ckpt = first.checkpoints[-1]
    resumed = train(
        PENDULUM,
        "sac",
        300,
        run_dir=tmp_path / "b",
        seed=0,
        resume=ckpt,
        overrides={**SMALL, "checkpoint_every": 0, "step_records_per_s": 0, "frame_fps": 0, "probe": False},
    )
    assert resumed.steps == 300
    got = _read(tmp_path / "b")
    assert got["steps"][0].step == 201 and got["meta"].config["resumed"]["step"] == 200
    saved, trained = _checkpoint(ckpt), _checkpoint(resumed.checkpoints[-1])
    assert trained["step"] == 300 and trained["training_state"]["updates"] > saved["training_state"]["updates"]

    quick = {**SMALL, "checkpoint_every": 0, "probe": False}
    other_agent = "holds a 'sac' agent, not 'dqn': resume it with --agent sac"
    with pytest.raises((ValueError, TrainingFailed), match=other_agent):
        train(BREAKOUT, "dqn", 300, resume=ckpt, overrides={"learning_starts": 10}, telemetry=False)
    with pytest.raises((ValueError, TrainingFailed), match="differ from 'neurodash/Breakout-v0'"):
        train(BREAKOUT, "sac", 300, resume=ckpt, overrides=quick, telemetry=False)
    with pytest.raises((ValueError, TrainingFailed), match="at step 200 already"):
        train(PENDULUM, "sac", 200, resume=ckpt, overrides=quick, telemetry=False)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--agent", "dqn", "--env", "Pendulum-v1"], "for continuous actions use --agent sac"),
        (["--agent", "sac", "--env", "Pendulum-v1", "--tau", "0"], "--tau must be in (0, 1]"),
        (["--agent", "sac", "--env", "neurodash/Breakout-v0", "--resume", "nowhere.pt"], "nowhere.pt"),
    ],
)
def test_bad_sac_settings_get_one_line_before_training(tmp_path, capsys, args, expected):
    from dashapp.cli import main

    code = main(["train", "--steps", "50", "--quiet", "--run-dir", str(tmp_path / "run"), *args])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("neurodash train: ") and expected in lines[0], err
    assert not (tmp_path / "run").exists()
