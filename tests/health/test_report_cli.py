"""The `neurodash health` command and its report files, read back from disk."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from health import analyze_checkpoint
from health import cli as health_cli
from health import thresholds as TH
from tests.health import writers as W

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]


def run_cli(argv, capsys):
    """Run `neurodash health ...` in-process through the real top-level parser."""
    from dashapp import cli as top

    code = top.main(["health", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_help_explains_every_flag():
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "neurodash"), "health", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for flag in (
        "--checkpoint",
        "--networks",
        "--output-dir",
        "--dead-neuron-method",
        "--dead-neuron-samples",
        "--activation",
        "--dead-variance-threshold",
        "--dead-weight-threshold",
        "--seed",
        "--no-explain",
    ):
        assert flag in text
    assert "examples:" in text and "neurodash health --checkpoint best.pt --dead-neuron-method weight" in text
    assert "weights_only=True" in text


def test_cli_module_does_not_import_torch():
    code = "import sys, health.cli, dashapp.cli; print('torch' in sys.modules, 'weightwatcher' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.stdout.split() == ["False", "False"], proc.stderr


def test_single_checkpoint_report_and_files(tmp_path, capsys):
    model = W.mlp([24, 128, 128, 3], seed=1, alpha=2.6, cap=5)
    with torch.no_grad():
        model[0].weight[:10].zero_()
        model[0].bias[:10] = -1.0
    obs = np.random.default_rng(0).standard_normal((500, 24)).astype(np.float32)
    ckpt = W.write_ours(tmp_path / "ckpt_000050000.pt", model, obs_samples=obs)
    out_dir = tmp_path / "reports"
    code, out, err = run_cli(["--checkpoint", ckpt, "--networks", "q_network", "--output-dir", out_dir], capsys)
    assert code == 0, err
    for heading in (
        "Overall alpha:",
        "Dead neurons (activation-based):",
        "Layer statistics (WeightWatcher):",
        "alpha range:",
        "alpha mean:",
        "log spectral norm mean:",
        "stable rank mean:",
        "Potential issues:",
        "How to read this report",
    ):
        assert heading in out
    assert "inputs: 500 observations stored in the checkpoint" in out
    api = analyze_checkpoint(ckpt, networks=["q_network"]).networks["q_network"]
    assert api.dead.dead_units[0] == list(range(10))  # the planted ones, found exactly
    assert f"count: {api.dead.dead}/256 hidden units  ratio: {100 * api.dead.dead / 256:.1f} %" in out
    assert "not analysed: too few eigenvalues (3; WeightWatcher needs at least 8)" in out
    assert "target_network" not in out  # --networks picked q_network only

    files = sorted(p.name for p in out_dir.iterdir())
    assert files == ["network_health_report.txt", "q_network_details.csv", "q_network_health_metrics.png"]
    assert (out_dir / "network_health_report.txt").read_text() in out

    # the CSV reads back with every column, and equals the API's rows
    frame = pd.read_csv(out_dir / "q_network_details.csv")
    rows = api.rows()
    assert list(frame.columns) == list(rows[0].keys())
    assert len(frame) == 3 and list(frame["layer"]) == ["fc1", "fc2", "q_out"]
    for col in rows[0]:
        for value, expected in zip(frame[col], (r[col] for r in rows)):
            if expected is None:
                assert pd.isna(value), col
            elif isinstance(expected, float):
                assert value == pytest.approx(expected, rel=1e-9), col
            elif isinstance(expected, bool):
                assert bool(value) == expected, col
            elif isinstance(expected, int):
                assert value == expected, col  # pandas reads an int column with gaps as float
            else:
                assert str(value) == str(expected), col
    assert frame.loc[2, "not_analysed_reason"].startswith("too few eigenvalues") and math.isnan(frame.loc[2, "alpha"])
    assert list(frame["dead_neurons"][:2]) == [10, api.dead.per_layer[1][0]]

    import matplotlib.image as mpimg

    image = mpimg.imread(out_dir / "q_network_health_metrics.png")
    assert image.shape[0] > 500 and image.shape[1] > 800 and image.std() > 0.05  # a real picture, not blank


def test_several_checkpoints_compare_and_a_bad_file_does_not_stop_the_others(tmp_path, capsys):
    run = tmp_path / "run" / "checkpoints"
    run.mkdir(parents=True)
    for i, alpha in enumerate([8.0, 3.6, 2.3]):
        model = W.mlp([32, 128, 128, 4], seed=20, alpha=alpha)
        W.write_ours(run / f"ckpt_{(i + 1) * 10000:09d}.pt", model, obs_samples=np.zeros((0, 32)))
    (run / "ckpt_000035000.pt").write_bytes(b"")  # an empty file in the middle
    out_dir = tmp_path / "out"
    # the run folder stands for the files in its checkpoints/, in step order
    code, out, err = run_cli(["--checkpoint", run.parent, "--dead-neuron-method", "weight", "-o", out_dir], capsys)
    assert code == 1
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert error_lines == [f"neurodash health: error: {run / 'ckpt_000035000.pt'}: file is empty (0 bytes)"]
    assert out.count("Checkpoint: ") == 3
    assert out.index("ckpt_000010000.pt") < out.index("ckpt_000020000.pt") < out.index("ckpt_000030000.pt")
    assert "Alpha across checkpoints (in the order given)" in out
    assert "q_network: HEALTHY PROGRESSION" in out
    assert "Keep: ckpt_000030000.pt" in out
    assert "Dead neurons (weight-based):" in out and "rule: incoming-weight L2 norm below 1e-06" in out
    comparison = pd.read_csv(out_dir / "checkpoint_comparison.csv")
    assert list(comparison.columns) == ["checkpoint", "path", "order", "network", "alpha", "pattern"]
    assert len(comparison) == 6
    for stem in ("ckpt_000010000", "ckpt_000020000", "ckpt_000030000"):
        assert sorted(p.name for p in (out_dir / stem).iterdir()) == [
            "q_network_details.csv",
            "q_network_health_metrics.png",
            "target_network_details.csv",
            "target_network_health_metrics.png",
        ]


def test_only_bad_files_exit_non_zero_with_one_line_each(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    torch.save(W.mlp([4, 8, 2]), bad)
    noise = tmp_path / "noise.pt"
    noise.write_bytes(b"\x00\x01garbage")
    code, out, err = run_cli(["--checkpoint", bad, noise], capsys)
    assert code == 1 and out == ""
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 2
    assert lines[0].startswith(f"neurodash health: error: {bad}: holds a whole pickled PyTorch module")
    assert lines[1].startswith(f"neurodash health: error: {noise}: not a PyTorch checkpoint")


def test_unknown_network_and_bad_flags(tmp_path, capsys):
    path = W.write_sac(tmp_path / "sac.pt", {"actor": W.mlp([4, 16, 2]), "critic_1": W.mlp([6, 16, 1])})
    code, out, err = run_cli(["--checkpoint", path, "--networks", "critic_7"], capsys)
    assert code == 1 and "has no network named 'critic_7' (it holds: actor, critic_1)" in err
    parser = health_cli.build_parser()
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--checkpoint", "x.pt", "--dead-neuron-samples", "0"])
    assert info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_too_few_dead_neuron_samples_are_refused_in_one_line(tmp_path, capsys):
    path = W.write_state_dict(tmp_path / "m.pt", W.mlp([8, 16, 2]))
    for n in ("1", "5", str(TH.DEAD_NEURON_SAMPLES_MIN - 1)):
        code, out, err = run_cli(["--checkpoint", path, "--dead-neuron-samples", n], capsys)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith("neurodash health: error: --dead-neuron-samples:")
        assert f"at least {TH.DEAD_NEURON_SAMPLES_MIN} are needed" in err
    code, out, _ = run_cli(["--checkpoint", path, "--dead-neuron-samples", str(TH.DEAD_NEURON_SAMPLES_MIN)], capsys)
    assert code == 0 and "Dead neurons" in out


def test_report_on_a_checkpoint_from_our_own_training(tmp_path, capsys):
    """rl.checkpoints.save_checkpoint of a real DQNAgent (briefly trained) reads as intended."""
    from rl import checkpoints as rl_checkpoints
    from rl.agents.dqn import DQNAgent, DQNConfig

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    cfg = DQNConfig(hidden_sizes=(64, 64), learning_starts=32, batch_size=32, train_frequency=1, buffer_size=2000)
    agent = DQNAgent(8, 3, cfg, total_steps=400, seed=0)
    obs = rng.standard_normal(8).astype(np.float32)
    for step in range(300):
        action = agent.act(obs, step).action
        nxt = rng.standard_normal(8).astype(np.float32)
        agent.observe(obs, action, float(obs[0] > 0), nxt, False)
        agent.learn(step)
        obs = nxt
    path = rl_checkpoints.save_checkpoint(tmp_path / "checkpoints" / "ckpt_000000300.pt", agent, 300, "CartPole-v1")
    code, out, err = run_cli(["--checkpoint", path], capsys)
    assert code == 0, err
    assert "neurodash run checkpoint, step 300, env CartPole-v1, agent dqn" in out
    assert "--- network: q_network" in out and "--- network: target_network" in out
    assert "inputs: 300 observations stored in the checkpoint" in out
    saved = torch.load(path, weights_only=True)
    names = [info["name"] for info in saved["layers"]]
    heads = [info for info in saved["layers"] if info["activation"] == "linear"]
    result = analyze_checkpoint(path)
    for net in ("q_network", "target_network"):
        health = result.networks[net]
        assert [lh.name for lh in health.layers] == names
        assert [lh.hidden for lh in health.layers] == [info["activation"] == "relu" for info in saved["layers"]]
        assert health.dead.method == "activation" and health.dead.total == 128
    for head in heads:  # the small output heads (1 or 3 units) are listed, not fitted
        n = min(head["in_features"], head["out_features"])
        assert f"not analysed: too few eigenvalues ({n}; WeightWatcher needs at least 8)" in out


def test_folder_without_checkpoints_is_an_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("no checkpoints here")
    code, out, err = run_cli(["--checkpoint", tmp_path], capsys)
    assert code == 1 and out == ""
    assert f"neurodash health: error: {tmp_path}: folder holds no checkpoint files" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses a Linux pseudo-terminal")
def test_progress_bar_over_several_checkpoints_on_a_terminal(tmp_path):
    import fcntl
    import os
    import pty
    import struct
    import termios

    for i in range(3):
        W.write_state_dict(tmp_path / f"gen{(i + 1) * 100}.pt", W.mlp([8, 32, 2], seed=i))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "neurodash"), "health", "-c", str(tmp_path), "--dead-neuron-method", "weight"],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        cwd=ROOT,
        close_fds=True,
    )
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    assert proc.wait(timeout=120) == 0
    text = data.decode("utf-8", "replace")
    assert "checkpoints: 100%" in text and "3/3" in text and "gen300.pt" in text
