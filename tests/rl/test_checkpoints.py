"""Checkpoint files: written in the agreed format, read back with weights_only=True, and
refused with a one-line error naming the file when they are not ours or are damaged."""

from __future__ import annotations

import pickle
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from rl.agents.dqn import DQNAgent, DQNConfig
from rl.checkpoints import (
    FORMAT,
    VERSION,
    CheckpointError,
    agent_from_checkpoint,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
)
from rl.telemetry import RunMeta

torch.set_num_threads(1)

#: a checkpoint written by the neurodash of checkpoint format 1 (see tests/fixtures/README.md)
SCHEMA1_CHECKPOINT = Path(__file__).resolve().parents[1] / "fixtures/run-schema1/checkpoints/ckpt_000001500.pt"
FEATURES = ["ball x", "ball y", "paddle x"]
ACTIONS = ["LEFT", "STAY", "RIGHT"]


def trained_agent(n_transitions=1500, **config) -> DQNAgent:
    values = dict(hidden_sizes=(16, 8), learning_starts=0, batch_size=8, buffer_size=2000)
    values.update(config)
    agent = DQNAgent(3, 3, DQNConfig(**values), total_steps=1000, seed=0)
    rng = np.random.default_rng(0)
    for step in range(n_transitions):
        obs = rng.normal(size=3).astype(np.float32)
        agent.observe(obs, int(rng.integers(3)), float(rng.normal()), rng.normal(size=3).astype(np.float32), False)
        if step % 50 == 0:
            agent.learn(step)
    return agent


def test_round_trip_with_weights_only(tmp_path):
    agent = trained_agent(dueling=True)
    path = save_checkpoint(
        checkpoint_path(tmp_path, 1500),
        agent,
        1500,
        "neurodash/Breakout-v0",
        feature_names=FEATURES,
        action_names=ACTIONS,
    )
    assert path == tmp_path / "checkpoints" / "ckpt_000001500.pt" and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file left behind"

    raw = torch.load(path, weights_only=True)  # the safe loader accepts the file as it is
    assert raw["format"] == FORMAT and raw["version"] == VERSION == 2
    assert raw["step"] == 1500 and raw["env_id"] == "neurodash/Breakout-v0" and raw["agent"] == "dqn"
    assert raw["config"] == agent.config.to_dict()
    assert raw["feature_names"] == FEATURES and raw["action_names"] == ACTIONS
    assert raw["layers"] == [
        {"name": "fc1", "in_features": 3, "out_features": 16, "activation": "relu"},
        {"name": "fc2", "in_features": 16, "out_features": 8, "activation": "relu"},
        {"name": "value_out", "in_features": 8, "out_features": 1, "activation": "linear"},
        {"name": "advantage_out", "in_features": 8, "out_features": 3, "activation": "linear"},
    ]
    assert raw["network_layers"] == {"q_network": raw["layers"], "target_network": raw["layers"]}
    assert raw["watched"] == ["q_network"]
    assert raw["observation_shape"] == [3] and raw["action_space"] == {
        "kind": "discrete",
        "n": 3,
        "shape": [],
        "low": [],
        "high": [],
    }
    samples = raw["obs_samples"]
    assert samples.dtype == torch.float32 and samples.shape == (1000, 3)
    torch.testing.assert_close(samples, torch.from_numpy(agent.obs_samples(1000)))
    for name in ("q_network", "target_network"):
        saved = raw["networks"][name]
        live = agent.networks()[name].state_dict()
        assert set(saved) == set(live)
        for key in live:
            torch.testing.assert_close(saved[key], live[key])

    data = load_checkpoint(path)
    restored = agent_from_checkpoint(data)
    x = torch.randn(10, 3)
    torch.testing.assert_close(restored.q_network(x), agent.q_network(x))
    torch.testing.assert_close(restored.target_network(x), agent.target_network(x))
    assert restored.config == agent.config
    torch.testing.assert_close(agent_from_checkpoint(path).q_network(x), agent.q_network(x))
    # what training needs to carry on comes back too: the optimiser's moments and the step count
    assert restored.updates == agent.updates > 0
    saved_adam, live_adam = restored.optimizer.state_dict(), agent.optimizer.state_dict()
    assert saved_adam["param_groups"] == live_adam["param_groups"]
    for i, state in live_adam["state"].items():
        torch.testing.assert_close(saved_adam["state"][i]["exp_avg"], state["exp_avg"])
        torch.testing.assert_close(saved_adam["state"][i]["exp_avg_sq"], state["exp_avg_sq"])


def test_names_come_from_run_meta_or_default(tmp_path):
    agent = trained_agent(n_transitions=20)
    meta = RunMeta(
        run_id="r",
        env_id="e",
        agent="dqn",
        action_names=ACTIONS,
        feature_names=FEATURES,
        layers=[],
        config={},
        created=time.time(),
    )
    data = load_checkpoint(save_checkpoint(tmp_path / "a.pt", agent, 20, "e", meta=meta))
    assert data["feature_names"] == FEATURES and data["action_names"] == ACTIONS
    data = load_checkpoint(save_checkpoint(tmp_path / "b.pt", agent, 20, "e", meta=meta.to_dict()))
    assert data["feature_names"] == FEATURES
    data = load_checkpoint(save_checkpoint(tmp_path / "c.pt", agent, 20, "e"))
    assert data["feature_names"] == ["x0", "x1", "x2"] and data["action_names"] == ["action 0", "action 1", "action 2"]
    assert data["obs_samples"].shape == (20, 3), "fewer samples than the limit: all of them"


def test_checkpoint_of_an_agent_with_an_empty_buffer(tmp_path):
    agent = DQNAgent(4, 2, DQNConfig(), total_steps=10, seed=0)
    data = load_checkpoint(save_checkpoint(tmp_path / "empty.pt", agent, 0, "CartPole-v1"))
    assert data["obs_samples"].shape == (0, 4)
    assert [layer["name"] for layer in data["layers"]][-2:] == ["value_out", "advantage_out"]


def _one_line_error(path, match):
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert match in message, message


def test_missing_and_garbage_files_are_refused(tmp_path):
    _one_line_error(tmp_path / "nope.pt", "no such file")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a torch file at all")
    _one_line_error(garbage, "not a PyTorch checkpoint")
    truncated = tmp_path / "truncated.pt"
    save_checkpoint(truncated, trained_agent(n_transitions=20), 20, "e")
    truncated.write_bytes(truncated.read_bytes()[:200])
    _one_line_error(truncated, "truncated or corrupt")


class Payload:
    """A class instance: what an unsafe pickle would smuggle in."""

    def __reduce__(self):
        return (print, ("this would have run",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_code_in_a_file_is_never_run(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "version": 1, "payload": Payload()}, path)
    _one_line_error(path, "pickled Python object or function (print) that only an unsafe load could rebuild")
    assert "this would have run" not in capsys.readouterr().out
    plain_pickle = tmp_path / "plain.pkl"
    plain_pickle.write_bytes(pickle.dumps(Payload()))
    _one_line_error(plain_pickle, "plain Python pickle, not a PyTorch checkpoint; refused without unpickling")
    assert "this would have run" not in capsys.readouterr().out


def test_foreign_newer_and_incomplete_checkpoints_are_refused(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"fc1.weight": torch.zeros(2, 2)}, foreign)
    _one_line_error(foreign, "not a neurodash checkpoint")
    newer = tmp_path / "newer.pt"
    torch.save({"format": FORMAT, "version": VERSION + 1}, newer)
    _one_line_error(newer, "newer than this neurodash reads")
    incomplete = tmp_path / "incomplete.pt"
    for version in (1, VERSION):
        torch.save({"format": FORMAT, "version": version, "step": 3}, incomplete)
        _one_line_error(incomplete, "missing env_id, agent, config, networks, layers")


def test_weights_that_do_not_fit_the_agent_are_refused(tmp_path):
    path = save_checkpoint(tmp_path / "ok.pt", trained_agent(n_transitions=20), 20, "e")
    data = load_checkpoint(path)
    data["observation_shape"] = [5]  # claims a wider input than the weights have
    with pytest.raises(CheckpointError, match="do not fit"):
        agent_from_checkpoint(data)
    data = load_checkpoint(path)
    data["config"]["hidden_sizes"] = [16, 16]  # claims a wider second layer
    with pytest.raises(CheckpointError, match="do not fit"):
        agent_from_checkpoint(data)
    data = load_checkpoint(path)
    del data["action_space"]
    with pytest.raises(CheckpointError, match="does not say which environment its agent was built for"):
        agent_from_checkpoint(data)
    with pytest.raises(CheckpointError, match="holds a 'dqn' agent, not 'sac'"):
        agent_from_checkpoint(path, agent="sac")
    data = load_checkpoint(path)
    data["agent"] = "sac"  # a DQN's weights under another agent's name
    with pytest.raises(CheckpointError, match=r"weights do not fit the networks .* \('actor'\)"):
        agent_from_checkpoint(data)
    data["agent"] = "ppo"  # no such agent
    with pytest.raises(CheckpointError, match="unknown agent 'ppo'; known: dqn, sac"):
        agent_from_checkpoint(data)


def _dueling_q(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Q-values of a dueling network with two ReLU layers, straight from its weights."""
    h = x
    for name in ("fc1", "fc2"):
        h = torch.relu(h @ state[f"{name}.weight"].T + state[f"{name}.bias"])
    value = h @ state["value_out.weight"].T + state["value_out.bias"]
    advantages = h @ state["advantage_out.weight"].T + state["advantage_out.bias"]
    return value + advantages - advantages.mean(dim=1, keepdim=True)


def test_a_version_1_checkpoint_of_the_old_neurodash_still_loads(tmp_path):
    path = tmp_path / SCHEMA1_CHECKPOINT.name
    shutil.copy(SCHEMA1_CHECKPOINT, path)
    data = load_checkpoint(path)
    assert data["version"] == 1 and data["agent"] == "dqn" and data["step"] == 1500
    # what version 1 did not say is read from its one layer list
    assert data["observation_shape"] == [17] and data["action_space"] == {"kind": "discrete", "n": 3}
    assert data["watched"] == ["q_network"] and data["network_layers"]["q_network"] == data["layers"]
    agent = agent_from_checkpoint(path)
    assert isinstance(agent, DQNAgent) and agent.config.hidden_sizes == (8, 8) and agent.config.dueling
    assert (agent.obs_dim, agent.n_actions) == (17, 3)
    raw = torch.load(path, weights_only=True)
    x = raw["obs_samples"][:50]
    with torch.no_grad():
        for name in ("q_network", "target_network"):
            expected = _dueling_q(raw["networks"][name], x)
            torch.testing.assert_close(agent.networks()[name](x), expected)
        assert not torch.allclose(
            _dueling_q(raw["networks"]["q_network"], x), _dueling_q(raw["networks"]["target_network"], x)
        ), "two different networks"
