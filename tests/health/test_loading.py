"""Checkpoint loading: every supported format, and every bad file refused safely."""

from __future__ import annotations

import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

from health import CheckpointError, find_checkpoints, load_checkpoint
from tests.health import writers as W

torch.set_num_threads(1)


def _layer_names(net):
    return [layer.name for layer in net.layers]


# ----------------------------------------------------------------------------- formats
def test_our_run_checkpoint(tmp_path):
    model = W.mlp([10, 32, 32, 3], seed=1)
    obs = np.random.default_rng(0).random((300, 10), dtype=np.float32)
    path = W.write_ours(tmp_path / "ckpt_000050000.pt", model, activation="tanh", obs_samples=obs)
    ckpt = load_checkpoint(path)
    assert ckpt.format == "neurodash"
    assert list(ckpt.networks) == ["q_network", "target_network"]
    net = ckpt.networks["q_network"]
    assert _layer_names(net) == ["fc1", "fc2", "q_out"]
    assert [layer.shape for layer in net.layers] == [(32, 10), (32, 32), (3, 32)]
    assert [layer.activation for layer in net.layers[:2]] == ["tanh", "tanh"]
    assert [layer.parent for layer in net.layers] == [-1, 0, 1]
    np.testing.assert_array_equal(net.layers[1].weight, model[2].weight.detach().numpy())
    np.testing.assert_array_equal(net.layers[1].bias, model[2].bias.detach().numpy())
    assert ckpt.step == 50_000 and ckpt.env_id == "neurodash/Breakout-v0"
    assert ckpt.obs_samples.shape == (300, 10)
    np.testing.assert_array_equal(ckpt.obs_samples, obs)
    assert ckpt.metadata["agent"] == "dqn" and ckpt.metadata["config"]["hidden_sizes"] == [32, 32]


def test_plain_state_dict_sequential_is_one_network(tmp_path):
    model = W.mlp([6, 16, 2])
    ckpt = load_checkpoint(W.write_state_dict(tmp_path / "model.pt", model))
    assert ckpt.format == "state_dict"
    assert list(ckpt.networks) == ["model"]
    assert _layer_names(ckpt.networks["model"]) == ["0", "2"]


def test_cleanrl_model_files_are_grouped_by_module(tmp_path):
    # CleanRL's dqn.py saves q_network.state_dict() (keys "network.0.weight", ...);
    # its ppo.py Agent has "critic.*" and "actor.*" submodules.
    dqn = torch.nn.Module()
    dqn.network = W.mlp([4, 32, 32, 2])
    path = tmp_path / "dqn.cleanrl_model"
    torch.save(dqn.state_dict(), path)
    assert list(load_checkpoint(path).networks) == ["network"]

    agent = torch.nn.Module()
    agent.critic = W.mlp([4, 16, 1], seed=2)
    agent.actor = W.mlp([4, 16, 2], seed=3)
    path = tmp_path / "ppo.cleanrl_model"
    torch.save(agent.state_dict(), path)
    ckpt = load_checkpoint(path)
    assert list(ckpt.networks) == ["critic", "actor"]
    assert ckpt.networks["actor"].layers[-1].shape == (2, 16)


def test_sac_style_dict_of_networks_with_metadata(tmp_path):
    nets = {
        "actor": W.mlp([8, 32, 32, 4], seed=1),
        "critic_1": W.mlp([10, 32, 32, 1], seed=2),
        "critic_2": W.mlp([10, 32, 32, 1], seed=3),
        "target_critic_1": W.mlp([10, 32, 32, 1], seed=4),
        "target_critic_2": W.mlp([10, 32, 32, 1], seed=5),
    }
    path = W.write_sac(tmp_path / "best_model.pt", nets, step=1200, env_id="Pendulum-v1", generation=7, note="x")
    ckpt = load_checkpoint(path)
    assert ckpt.format == "networks_dict"
    assert list(ckpt.networks) == list(nets)  # the optimizer state is not a network
    assert ckpt.step == 1200 and ckpt.env_id == "Pendulum-v1"
    assert ckpt.metadata["generation"] == 7 and ckpt.metadata["note"] == "x"
    assert ckpt.networks["critic_2"].layers[0].shape == (32, 10)


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_sb3_zip_dqn(tmp_path, compression):
    sd = W.sb3_policy_state_dict("dqn", obs_dim=8, n_actions=3)
    ckpt = load_checkpoint(W.write_sb3_zip(tmp_path / "dqn_breakout.zip", sd, compression=compression))
    assert ckpt.format == "sb3_zip"
    assert list(ckpt.networks) == ["q_net", "q_net_target"]
    net = ckpt.networks["q_net"]
    assert _layer_names(net) == ["q_net.0", "q_net.2", "q_net.4"]
    np.testing.assert_array_equal(net.layers[0].weight, sd["q_net.q_net.0.weight"].numpy())
    assert ckpt.step == 12_345
    assert ckpt.metadata["stable_baselines3_version"] == "2.3.2"


def test_sb3_zip_sac_and_ppo_layouts_rebuild_their_graphs(tmp_path):
    sac = load_checkpoint(W.write_sb3_zip(tmp_path / "sac.zip", W.sb3_policy_state_dict("sac")))
    assert list(sac.networks) == ["actor", "critic", "critic_target"]
    actor = sac.networks["actor"]
    assert _layer_names(actor) == ["latent_pi.0", "latent_pi.2", "mu", "log_std"]
    assert [layer.parent for layer in actor.layers] == [-1, 0, 1, 1]  # both heads read latent_pi.2
    assert actor.hidden_indices() == [0, 1]
    critic = sac.networks["critic"]
    assert [layer.parent for layer in critic.layers] == [-1, 0, 1, -1, 3, 4]  # two Q-heads
    assert critic.hidden_indices() == [0, 1, 3, 4]

    ppo = load_checkpoint(W.write_sb3_zip(tmp_path / "ppo.zip", W.sb3_policy_state_dict("ppo")))
    assert list(ppo.networks) == ["policy", "value"]
    assert _layer_names(ppo.networks["policy"]) == ["policy_net.0", "policy_net.2", "action_net"]
    assert [layer.parent for layer in ppo.networks["policy"].layers] == [-1, 0, 1]
    assert _layer_names(ppo.networks["value"]) == ["value_net.0", "value_net.2", "value_net"]


def test_safetensors_file(tmp_path):
    model = W.mlp([4, 32, 2], seed=5)
    path = W.write_safetensors(
        tmp_path / "policy.safetensors", dict(model.state_dict()), metadata={"env_id": "CartPole-v1", "step": "777"}
    )
    ckpt = load_checkpoint(path)
    assert ckpt.format == "safetensors"
    assert list(ckpt.networks) == ["model"]
    assert ckpt.env_id == "CartPole-v1" and ckpt.step == 777
    np.testing.assert_array_equal(ckpt.networks["model"].layers[0].weight, model[0].weight.detach().numpy())


def test_conv_layers_are_recognised_and_norm_layers_ignored(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(4, 16, 8, stride=4),
        torch.nn.ReLU(),
        torch.nn.BatchNorm2d(16),
        torch.nn.Conv2d(16, 32, 4, stride=2),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(32 * 9 * 9, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 3),
    )
    ckpt = load_checkpoint(W.write_state_dict(tmp_path / "cnn.pt", net))
    model = ckpt.networks["model"]
    assert [layer.kind for layer in model.layers] == ["conv2d", "conv2d", "linear", "linear"]
    assert model.layers[0].shape == (16, 4, 8, 8)
    ignored = {key for key, _, _ in model.ignored}
    assert {"2.weight", "2.bias", "2.running_mean", "2.running_var"} <= ignored
    assert not model.has_graph and "stride" in model.graph_problem


def test_find_checkpoints_orders_by_step_then_others(tmp_path):
    for name in ("best.pt", "ckpt_000100000.pt", "ckpt_000020000.pt", "notes.txt", "ckpt_000003000.pt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in find_checkpoints(tmp_path)] == [
        "ckpt_000003000.pt",
        "ckpt_000020000.pt",
        "ckpt_000100000.pt",
        "best.pt",
    ]


# ----------------------------------------------------------------------------- bad files
def _assert_refused(path, *fragments):
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert msg.startswith(str(path) + ": "), msg
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def test_missing_file_and_folder(tmp_path):
    _assert_refused(tmp_path / "nope.pt", "no such file")
    _assert_refused(tmp_path, "is a folder")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    _assert_refused(path, "empty")


def test_truncated_files(tmp_path):
    model = W.mlp([8, 64, 3])
    full = W.write_state_dict(tmp_path / "full.pt", model).read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(full[: len(full) // 2])
    _assert_refused(cut, "truncated")

    legacy = tmp_path / "legacy.pt"
    torch.save(model.state_dict(), legacy, _use_new_zipfile_serialization=False)
    assert load_checkpoint(legacy).networks["model"].layers[0].shape == (64, 8)  # the old format loads
    data = legacy.read_bytes()
    legacy.write_bytes(data[: len(data) // 2])
    _assert_refused(legacy, "truncated")

    sb3 = W.write_sb3_zip(tmp_path / "sb3.zip", W.sb3_policy_state_dict("dqn"))
    data = sb3.read_bytes()
    sb3.write_bytes(data[: len(data) - 40])
    _assert_refused(sb3, "truncated")


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    _assert_refused(path, "not a PyTorch checkpoint")
    st = tmp_path / "noise.safetensors"
    st.write_bytes(np.random.default_rng(2).bytes(4096))
    _assert_refused(st, "safetensors")


@pytest.mark.parametrize("how", ["torch.save", "pickle-2", "pickle-5", "sb3-policy", "safetensors-name"])
def test_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, how):
    armed = tmp_path / "armed_marker"
    marker = tmp_path / "marker_created_on_load"
    # The payload is live: plain unpickling really does run it and create the file ...
    pickle.loads(pickle.dumps({"x": W.MarkerPayload(armed)}))
    assert armed.exists()
    # ... but loading it as a checkpoint refuses it, and the file is never created.
    payload = {"fc.weight": torch.zeros(4, 4), "evil": W.MarkerPayload(marker)}
    path = tmp_path / "evil.pt"
    if how == "torch.save":
        torch.save(payload, path)
    elif how == "pickle-2":
        path.write_bytes(pickle.dumps(payload, protocol=2))
    elif how == "pickle-5":
        path.write_bytes(pickle.dumps(payload, protocol=5))
    elif how == "sb3-policy":
        buf = io.BytesIO()
        torch.save(payload, buf)
        path = W.write_sb3_zip(tmp_path / "evil.zip", policy_bytes=buf.getvalue())
    else:
        path = tmp_path / "evil.safetensors"
        torch.save(payload, path)
    _assert_refused(path, "nothing was executed")
    assert not marker.exists()


def test_whole_pickled_module_is_refused(tmp_path):
    path = tmp_path / "module.pt"
    torch.save(W.mlp([4, 8, 2]), path)
    _assert_refused(path, "whole pickled PyTorch module", "torch.nn.modules.container.Sequential", "state_dict()")


def test_numpy_arrays_and_non_dicts_are_refused(tmp_path):
    path = tmp_path / "np.pt"
    torch.save({"w": np.zeros((3, 3))}, path)
    _assert_refused(path, "numpy")
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3, 3), path)
    _assert_refused(path, "single tensor")
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(3, 3)], path)
    _assert_refused(path, "list")
    path = tmp_path / "opt.pt"
    torch.save({"optimizer": torch.optim.SGD(W.mlp([2, 3]).parameters(), lr=0.1).state_dict(), "step": 3}, path)
    _assert_refused(path, "no network weights")


def test_zip_bomb_member_is_cut_off(tmp_path):
    sd = W.sb3_policy_state_dict("dqn")
    bomb = W.write_sb3_zip(tmp_path / "bomb.zip", sd, extra={})
    # an SB3 archive whose policy.pth inflates to 64 MiB of zeros (compressed: ~64 KiB)
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data", "{}")
        zf.writestr("policy.pth", b"\0" * (64 * 1024 * 1024))
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(bomb, max_bytes=8 * 1024 * 1024)
    assert "over the 8.0 MiB limit" in str(info.value) and "policy.pth" in str(info.value)

    # a torch.save-style archive with a member declaring 64 MiB is refused before torch reads it
    real = io.BytesIO()
    torch.save(sd, real)
    real.seek(0)
    inner = zipfile.ZipFile(real)
    pkl = next(n for n in inner.namelist() if n.endswith("data.pkl"))
    torch_bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(torch_bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(pkl, inner.read(pkl))
        zf.writestr(pkl.replace("data.pkl", "data/0"), b"\0" * (64 * 1024 * 1024))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(torch_bomb, max_bytes=8 * 1024 * 1024)
    assert "would decompress to 64.0 MiB" in str(info.value)

    # and a file over the size limit is refused before it is read at all
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(W.write_state_dict(tmp_path / "big.pt", W.mlp([64, 512, 512])), max_bytes=100_000)
    assert "over the" in str(info.value) and "limit" in str(info.value)


def test_zip_member_paths_are_never_extracted(tmp_path):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    evil_target = tmp_path / "evil"
    sd = W.sb3_policy_state_dict("dqn")
    path = W.write_sb3_zip(
        work / "model.zip", sd, extra={"../../evil": b"should never be written", "/abs_evil": b"nor this"}
    )
    before = sorted(p for p in tmp_path.rglob("*"))
    cwd_before = sorted(os.listdir(os.getcwd()))
    ckpt = load_checkpoint(path)  # a hostile member name does not stop a good save loading
    assert list(ckpt.networks) == ["q_net", "q_net_target"]
    assert not evil_target.exists()
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert sorted(os.listdir(os.getcwd())) == cwd_before

    # policy.pth hidden behind a traversal path is not "the" policy.pth: refused
    buf = io.BytesIO()
    torch.save(sd, buf)
    sneaky = work / "sneaky.zip"
    with zipfile.ZipFile(sneaky, "w") as zf:
        zf.writestr("../../policy.pth", buf.getvalue())
    _assert_refused(sneaky, "neither a Stable-Baselines3 policy.pth nor a PyTorch checkpoint")
    assert not (tmp_path / "policy.pth").exists()


def test_error_names_the_file_and_is_one_line_for_every_bad_case(tmp_path):
    cases = {
        "empty.pt": b"",
        "noise.bin": np.random.default_rng(3).bytes(100),
        "text.pt": b"hello, I am not a checkpoint\nsecond line\n",
        "pk.zip": b"PK\x03\x04" + b"\0" * 50,
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        _assert_refused(path)
