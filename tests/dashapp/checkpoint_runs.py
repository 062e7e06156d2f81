"""Folders of real checkpoints for the Compare tab's tests: a short real DQN training run
on our Breakout (``rl.worker.train``) writes them, and a file of random bytes sits among
them as the bad one."""

from __future__ import annotations

import shutil
from pathlib import Path

#: Small and quick: learning from step 200, a checkpoint every 300 steps (four in all), no
#: probe. The hidden layers (32 units over 17 inputs) are big enough for WeightWatcher to
#: fit; the output heads (1 and 3 units) are not -- they show as "not analysed".
OVERRIDES = {"hidden_sizes": (32, 32), "learning_starts": 200, "checkpoint_every": 300, "probe": False}
STEPS = 1_200
BAD_NAME = "ckpt_bad.pt"


def train_run(run_dir: Path) -> Path:
    """Train the short run into ``run_dir``; returns its ``checkpoints/`` folder."""
    from rl import worker

    summary = worker.train(
        "neurodash/Breakout-v0", agent="dqn", steps=STEPS, run_dir=run_dir, seed=0, overrides=OVERRIDES
    )
    folder = run_dir / "checkpoints"
    assert len(summary.checkpoints) >= 4 and folder.is_dir(), summary
    return folder


def folder_with_bad_file(checkpoints: Path, target: Path) -> Path:
    """A copy of ``checkpoints`` in ``target`` with ``ckpt_bad.pt`` (random bytes) added."""
    shutil.copytree(checkpoints, target)
    (target / BAD_NAME).write_bytes(bytes(range(256)) * 8)
    return target
