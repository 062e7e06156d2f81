"""DQN pieces: config, epsilon schedule, TD target (plain and Double), dueling head,
replay buffer, act/observe/learn, target updates, state round trip -- and a short real
training run on our Breakout that must beat a random policy."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rl.agents import field_docs
from rl.agents.base import Decision, Update
from rl.agents.dqn import (
    PRESETS,
    DQNAgent,
    DQNConfig,
    QNetwork,
    config_for_env,
    linear_schedule,
    td_target,
)
from rl.agents.replay import ReplayBuffer

torch.set_num_threads(1)


def small_agent(**overrides) -> DQNAgent:
    values = dict(hidden_sizes=(8, 8), learning_starts=0, batch_size=4, buffer_size=100)
    values.update(overrides)
    return DQNAgent(obs_dim=3, n_actions=2, config=DQNConfig(**values), total_steps=1000, seed=0)


def fill(agent: DQNAgent, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        obs = rng.normal(size=agent.obs_dim).astype(np.float32)
        nxt = rng.normal(size=agent.obs_dim).astype(np.float32)
        agent.observe(obs, int(rng.integers(agent.n_actions)), float(rng.normal()), nxt, bool(rng.random() < 0.1))


# ----------------------------------------------------------------- config
def test_every_config_field_has_a_docstring():
    docs = field_docs(DQNConfig)
    names = [f.name for f in dataclasses.fields(DQNConfig)]
    assert sorted(docs) == sorted(names)
    assert all(len(text) > 10 for text in docs.values())
    assert "total_steps" not in names, "total_steps belongs to the worker's config"


def test_config_round_trips_through_a_json_dict():
    import json

    config = DQNConfig(hidden_sizes=(32, 16, 8), dueling=True, max_grad_norm=None)
    data = json.loads(json.dumps(config.to_dict()))
    assert data["hidden_sizes"] == [32, 16, 8]
    assert DQNConfig.from_dict(data) == config


def test_config_refuses_unknown_fields_and_bad_values():
    with pytest.raises(ValueError, match="no field.*learning_rat\\b"):
        DQNConfig.from_dict({"learning_rat": 0.1})
    assert DQNConfig.from_dict({"learning_rat": 0.1}, strict=False) == DQNConfig()
    for bad in ({"gamma": 1.5}, {"hidden_sizes": ()}, {"tau": 0.0}, {"batch_size": 0}, {"max_grad_norm": -1.0}):
        with pytest.raises(ValueError, match="DQNConfig"):
            DQNConfig(**bad)


def test_presets_override_the_breakout_defaults():
    assert config_for_env("neurodash/Breakout-v0") == DQNConfig()
    cartpole = config_for_env("CartPole-v1", batch_size=32)
    assert cartpole.hidden_sizes == PRESETS["CartPole-v1"]["hidden_sizes"]
    assert cartpole.batch_size == 32
    assert config_for_env("Acrobot-v1") == DQNConfig()


# ----------------------------------------------------------------- epsilon
def test_linear_epsilon_schedule():
    assert linear_schedule(1.0, 0.05, 100, 0) == 1.0
    assert linear_schedule(1.0, 0.05, 100, 50) == pytest.approx(0.525)
    assert linear_schedule(1.0, 0.05, 100, 100) == pytest.approx(0.05)
    assert linear_schedule(1.0, 0.05, 100, 10_000) == 0.05
    assert linear_schedule(1.0, 0.05, 0, 0) == 0.05


def test_agent_epsilon_uses_exploration_fraction_of_total_steps():
    agent = DQNAgent(3, 2, DQNConfig(start_e=1.0, end_e=0.1, exploration_fraction=0.5), total_steps=1000)
    assert agent.epsilon(0) == 1.0
    assert agent.epsilon(250) == pytest.approx(0.55)
    assert agent.epsilon(500) == pytest.approx(0.1)
    assert agent.epsilon(999) == pytest.approx(0.1)


# ----------------------------------------------------------------- TD target
class TableQ(nn.Module):
    """Q-values looked up by state index (the observation is the index)."""

    def __init__(self, table):
        super().__init__()
        self.table = torch.tensor(table, dtype=torch.float32)

    def forward(self, x):
        return self.table[x[:, 0].long()]


def test_td_target_plain_and_double_dqn():
    online = TableQ([[1.0, 5.0], [3.0, 2.0]])  # prefers action 1 in s'0, action 0 in s'1
    target = TableQ([[10.0, 2.0], [4.0, 7.0]])
    next_obs = torch.tensor([[0.0], [1.0]])
    rewards = torch.tensor([1.0, 0.5])
    dones = torch.tensor([0.0, 0.0])
    plain = td_target(rewards, next_obs, dones, 0.9, online, target, double_dqn=False)
    double = td_target(rewards, next_obs, dones, 0.9, online, target, double_dqn=True)
    torch.testing.assert_close(plain, torch.tensor([1.0 + 0.9 * 10.0, 0.5 + 0.9 * 7.0]))
    torch.testing.assert_close(double, torch.tensor([1.0 + 0.9 * 2.0, 0.5 + 0.9 * 4.0]))
    # a terminated transition has no next value at all
    ended = td_target(rewards, next_obs, torch.tensor([1.0, 0.0]), 0.9, online, target, double_dqn=True)
    torch.testing.assert_close(ended, torch.tensor([1.0, 0.5 + 0.9 * 4.0]))


# ----------------------------------------------------------------- network
def test_q_network_layer_names_and_relu_modules():
    net = QNetwork(5, 3, hidden_sizes=(16, 8))
    names = dict(net.named_children())
    assert list(names) == ["fc1", "relu1", "fc2", "relu2", "q_out"]
    assert all(isinstance(names[n], nn.ReLU) for n in ("relu1", "relu2"))
    assert [(i.name, i.in_features, i.out_features, i.activation) for i in net.layer_infos()] == [
        ("fc1", 5, 16, "relu"),
        ("fc2", 16, 8, "relu"),
        ("q_out", 8, 3, "linear"),
    ]
    assert net(torch.zeros(4, 5)).shape == (4, 3)


def test_dueling_q_is_value_plus_centred_advantage():
    torch.manual_seed(0)
    net = QNetwork(5, 4, hidden_sizes=(16,), dueling=True)
    assert [n for n, _ in net.named_children()] == ["fc1", "relu1", "value_out", "advantage_out"]
    assert [i.name for i in net.layer_infos()] == ["fc1", "value_out", "advantage_out"]
    x = torch.randn(6, 5)
    q, value, advantages = net(x, return_parts=True)
    assert value.shape == (6, 1) and advantages.shape == (6, 4)
    torch.testing.assert_close(q, value + advantages - advantages.mean(dim=1, keepdim=True))
    torch.testing.assert_close(net(x), q)
    # the mean over actions of Q is exactly V
    torch.testing.assert_close(q.mean(dim=1, keepdim=True), value)


# ----------------------------------------------------------------- replay buffer
def test_replay_buffer_wraps_around_and_keeps_newest():
    buf = ReplayBuffer(capacity=3, obs_dim=2, seed=0)
    for i in range(5):
        buf.add(np.full(2, i, np.float32), i % 2, float(i), np.full(2, i + 0.5, np.float32), i == 4)
    assert len(buf) == 3 and buf.pos == 2
    # slots hold transitions 3, 4, 2 (the ring overwrote 0 and 1)
    assert buf.obs[:, 0].tolist() == [3.0, 4.0, 2.0]
    assert buf.rewards.tolist() == [3.0, 4.0, 2.0]
    assert buf.dones.tolist() == [0.0, 1.0, 0.0]
    assert buf.recent_observations(10)[:, 0].tolist() == [2.0, 3.0, 4.0]
    assert buf.recent_observations(2)[:, 0].tolist() == [3.0, 4.0]
    batch = buf.sample(64)
    assert set(batch.obs[:, 0].tolist()) <= {2.0, 3.0, 4.0}
    assert batch.obs.dtype == torch.float32 and batch.actions.dtype == torch.int64
    torch.testing.assert_close(batch.next_obs[:, 0], batch.obs[:, 0] + 0.5)


def test_replay_buffer_empty_cases():
    buf = ReplayBuffer(capacity=4, obs_dim=3)
    assert buf.recent_observations().shape == (0, 3)
    with pytest.raises(ValueError, match="empty"):
        buf.sample(2)
    with pytest.raises(ValueError):
        ReplayBuffer(capacity=0, obs_dim=3)


# ----------------------------------------------------------------- act
def test_act_runs_the_network_even_when_exploring():
    agent = small_agent(start_e=1.0, end_e=1.0, dueling=False)
    seen = []
    agent.q_network.relu1.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    obs = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    results = [agent.act(obs, step) for step in range(20)]
    assert all(isinstance(r, Decision) and r.explored for r in results)
    assert seen == [torch.Size([1, 8])] * 20, "one forward pass, batch of 1, per act"
    expected = agent.q_network(torch.from_numpy(obs).unsqueeze(0))[0].tolist()
    assert results[0].q == pytest.approx(expected)
    assert {r.action for r in results} == {0, 1}
    assert results[0].exploration == {"epsilon": 1.0}
    assert results[0].value is None and results[0].advantages is None and results[0].probs is None


def test_act_is_greedy_without_exploration():
    agent = small_agent(start_e=0.0, end_e=0.0)
    rng = np.random.default_rng(1)
    for _ in range(20):
        obs = rng.normal(size=3).astype(np.float32)
        r = agent.act(obs, 0)
        assert not r.explored and r.action == int(np.argmax(r.q))


def test_greedy_act_never_explores_and_leaves_the_exploration_stream_alone():
    agent, twin = small_agent(start_e=1.0, end_e=1.0), small_agent(start_e=1.0, end_e=1.0)
    rng = np.random.default_rng(2)
    for _ in range(20):  # epsilon is 1, yet the greedy choice is the best Q-value, every time
        obs = rng.normal(size=3).astype(np.float32)
        r = agent.act(obs, 0, greedy=True)
        assert not r.explored and r.action == int(np.argmax(r.q)) and r.exploration == {"epsilon": 0.0}
    obs = np.ones(3, np.float32)  # evaluating did not move the exploring agent's random stream
    assert [agent.act(obs, s).action for s in range(30)] == [twin.act(obs, s).action for s in range(30)]


def test_act_reports_value_and_advantages_with_dueling_head():
    agent = small_agent(dueling=True, start_e=0.0, end_e=0.0)
    r = agent.act(np.array([0.5, 0.1, -1.0], dtype=np.float32), 0)
    assert r.value is not None and len(r.advantages) == 2
    mean_a = sum(r.advantages) / 2
    assert r.q == pytest.approx([r.value + a - mean_a for a in r.advantages], abs=1e-6)


def test_seeded_agents_are_identical():
    a, b = small_agent(), small_agent()
    for pa, pb in zip(a.q_network.parameters(), b.q_network.parameters()):
        assert torch.equal(pa, pb)
    obs = np.ones(3, dtype=np.float32)
    assert [a.act(obs, 0).action for _ in range(30)] == [b.act(obs, 0).action for _ in range(30)]


def test_seeded_agent_leaves_the_global_torch_rng_alone():
    torch.manual_seed(42)
    expected = torch.rand(3)
    torch.manual_seed(42)
    small_agent()
    torch.testing.assert_close(torch.rand(3), expected)


# ----------------------------------------------------------------- learn
def test_learn_only_when_due():
    agent = small_agent(learning_starts=10, train_frequency=4, batch_size=4)
    fill(agent, 3)
    assert agent.learn(12) is None, "fewer transitions than a batch"
    fill(agent, 20)
    assert agent.learn(8) is None, "before learning_starts"
    assert agent.learn(13) is None, "not a multiple of train_frequency"
    update = agent.learn(12)
    assert isinstance(update, Update) and set(update.losses) == {"loss"}
    loss = update.losses["loss"]
    assert isinstance(loss, float) and np.isfinite(loss)
    assert agent.updates == 1
    assert set(update.stats) == {"q_mean", "td_target_mean", "grad_norm"}
    assert all(np.isfinite(v) for v in update.stats.values())
    assert update.networks == ("q_network",), "the step changed the online network only"


def test_learn_leaves_gradients_for_the_probe_and_changes_weights():
    agent = small_agent()
    fill(agent, 50)
    before = [p.detach().clone() for p in agent.q_network.parameters()]
    agent.learn(0)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in agent.q_network.parameters())
    assert any(not torch.equal(b, p) for b, p in zip(before, agent.q_network.parameters()))


def test_loss_is_huber_of_the_td_error():
    agent = small_agent(batch_size=1, huber_delta=0.5, double_dqn=True, gamma=0.9)
    obs = np.array([1.0, 0.0, -1.0], dtype=np.float32)
    nxt = np.array([0.0, 2.0, 1.0], dtype=np.float32)
    agent.observe(obs, 1, 3.0, nxt, False)  # one transition: every sample is this one
    with torch.no_grad():
        q = agent.q_network(torch.from_numpy(obs).unsqueeze(0))[0, 1]
        best = agent.q_network(torch.from_numpy(nxt).unsqueeze(0)).argmax()
        target = 3.0 + 0.9 * agent.target_network(torch.from_numpy(nxt).unsqueeze(0))[0, best]
    expected = F.huber_loss(q, target, delta=0.5).item()
    assert agent.learn(0).losses["loss"] == pytest.approx(expected, rel=1e-5)
    assert abs(float(q - target)) > 0.5, "the test covers the linear part of the Huber loss"


def test_target_network_hard_copy_on_schedule():
    agent = small_agent(target_network_frequency=3, train_frequency=1, tau=1.0)
    fill(agent, 50)
    agent.learn(1)  # trains; 1 is not a multiple of 3 -> target unchanged
    assert not torch.equal(agent.q_network.fc1.weight, agent.target_network.fc1.weight)
    agent.learn(3)
    for p, t in zip(agent.q_network.parameters(), agent.target_network.parameters()):
        assert torch.equal(p, t)


def test_target_network_soft_update_moves_by_tau():
    agent = small_agent(target_network_frequency=1, tau=0.25)
    fill(agent, 50)
    old_target = [t.detach().clone() for t in agent.target_network.parameters()]
    agent.learn(0)
    for old, p, t in zip(old_target, agent.q_network.parameters(), agent.target_network.parameters()):
        torch.testing.assert_close(t, 0.75 * old + 0.25 * p.detach())
    assert not any(t.requires_grad for t in agent.target_network.parameters())


def test_state_dict_round_trip_restores_q_values():
    agent = small_agent(dueling=True)
    fill(agent, 50)
    for step in range(5):
        agent.learn(step)
    clone = DQNAgent(3, 2, agent.config, total_steps=1000, seed=123)
    clone.load_state_dict(agent.state_dict())
    x = torch.randn(7, 3)
    torch.testing.assert_close(clone.q_network(x), agent.q_network(x))
    torch.testing.assert_close(clone.target_network(x), agent.target_network(x))
    assert clone.updates == agent.updates
    state = agent.state_dict()
    assert set(state) == {"networks", "optimizer", "updates"}
    assert set(state["networks"]) == set(agent.networks()) == {"q_network", "target_network"}
    assert clone.optimizer.state_dict()["state"][0]["step"] == agent.optimizer.state_dict()["state"][0]["step"]
    assert [i.name for i in agent.layer_infos()] == ["fc1", "fc2", "value_out", "advantage_out"]


def test_build_takes_the_environment_spaces_and_refuses_continuous_actions():
    from gymnasium import spaces

    obs_space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
    agent = DQNAgent.build(obs_space, spaces.Discrete(2), DQNConfig(hidden_sizes=(8,)), total_steps=10, seed=0)
    assert agent.name == "dqn" and (agent.obs_dim, agent.n_actions) == (3, 2)
    assert agent.observation_space is obs_space and agent.action_space == spaces.Discrete(2)
    box = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    assert DQNAgent.unsupported(obs_space, spaces.Discrete(2)) is None
    assert DQNAgent.unsupported(obs_space, box).startswith("has a continuous action space")
    with pytest.raises(ValueError, match="the DQN agent needs a discrete one"):
        DQNAgent.build(obs_space, box, DQNConfig(), total_steps=10)


def test_network_infos_watch_the_online_network_and_name_its_numbers():
    agent = small_agent(dueling=False)
    online, target = agent.network_infos(["a", "b"], ["left"])
    assert (online.name, online.watched, online.target_of) == ("q_network", True, None)
    assert (target.name, target.watched, target.target_of) == ("target_network", False, "q_network")
    assert online.inputs == target.inputs == ["a", "b", "x2"]  # missing names are filled in
    assert online.outputs == ["left", "action 1"]
    assert online.layers == target.layers == agent.layer_infos()


# ----------------------------------------------------------------- it learns
#: Environment steps of the learning check: about 20-30 s on an idle core.
LEARNING_STEPS = 30_000
#: The check's seed; NEURODASH_LEARNING_SEED=1 (2, ...) re-runs it on other seeds to make
#: sure it passes by a margin rather than by luck (seeds 0, 1, 2 were checked).
LEARNING_SEED = int(os.environ.get("NEURODASH_LEARNING_SEED", "0"))


@pytest.mark.slow
def test_dqn_learns_breakout_better_than_random():
    """A short real training run (through the worker's loop) clearly beats a random policy."""
    from rl.agents.evaluate import LearningCurve, evaluate, random_policy_scores
    from rl.envs import BREAKOUT_ID
    from rl.worker import train

    curve = LearningCurve()
    summary = train(BREAKOUT_ID, "dqn", steps=LEARNING_STEPS, seed=LEARNING_SEED, telemetry=False, callbacks=[curve])
    assert summary.steps == LEARNING_STEPS and curve.agent is not None
    random_mean = float(np.mean(random_policy_scores(BREAKOUT_ID, episodes=100, seed=1000)))
    trained_mean = float(np.mean(evaluate(curve.agent, BREAKOUT_ID, episodes=20, seed=1000)))
    assert random_mean < 1.0
    assert trained_mean > random_mean + 2.0, f"trained {trained_mean:.2f} vs random {random_mean:.2f}"
    # the training episodes themselves improved too
    first = np.mean([score for _, score in curve.episodes[:50]])
    assert curve.recent_mean(50) > first + 1.0
