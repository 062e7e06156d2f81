"""How long does the Compare tab take to analyse a folder of 10 of our DQN checkpoints?

Trains the demo's network -- a DQN on our Breakout at its defaults (dueling, 64-64
hidden units) -- for 5,000 steps with a checkpoint every 500 (10 checkpoints; or pass
--folder), then times the Compare tab's own path (``dashapp.checkpoints.jobs.start_job``,
the call behind "Analyse", polled through ``read_progress`` as the page polls it) from
the start of a job until its result is written, in three situations, each round with a
fresh result cache and fresh worker processes:

* ``cold``   -- the worker processes start with the job (they import torch and
  weightwatcher first): the first analysis after the Compare tab is opened at once;
* ``warm``   -- the workers were started beforehand (as ``neurodash serve --checkpoints``
  and opening the Compare tab do) and are ready;
* ``cached`` -- the same files a second time: every result comes from the cache.

For reference it also times ``neurodash health --checkpoint FOLDER`` (a new process).

    python bench/compare_checkpoints.py                       # 3 rounds, 1 worker process
    python bench/compare_checkpoints.py --workers 2 --rounds 5 --json out.json
    python bench/compare_checkpoints.py --folder runs/<run>/checkpoints

Exits 1 when the median ``cold`` time is over the target (15 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from dashapp.checkpoints import jobs
from dashapp.checkpoints.analysis import AnalysisSettings
from health import find_checkpoints

TARGET_S = 15.0
REPO = Path(__file__).resolve().parents[1]


def make_folder(base: Path) -> Path:
    from rl import worker

    run = base / "breakout-dqn"
    worker.train("neurodash/Breakout-v0", "dqn", steps=5_000, run_dir=run, seed=0, overrides={"checkpoint_every": 500})
    return run / "checkpoints"


def time_job(files: list[Path], root: Path, run: jobs.Runner) -> float:
    started = time.perf_counter()
    job = jobs.start_job(files, AnalysisSettings(), folder=str(files[0].parent), root=root, run=run)
    while True:
        progress = jobs.read_progress(root, job)
        if progress is not None and progress.finished:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    result = jobs.read_result(root, job)
    if progress.state != jobs.DONE or result is None or result.errors:
        raise SystemExit(f"the analysis did not succeed: {progress} {result.errors if result else ''}")
    return seconds


def one_round(files: list[Path], workers: int, base: Path) -> dict[str, float]:
    figures = {"load average": os.getloadavg()[0]}
    cold = jobs.Runner(workers)
    figures["cold"] = time_job(files, Path(tempfile.mkdtemp(dir=base)), cold)
    cold.shutdown()
    warm = jobs.Runner(workers)
    for ready in warm.warm():
        ready.result()
    root = Path(tempfile.mkdtemp(dir=base))
    figures["warm"] = time_job(files, root, warm)
    figures["cached"] = time_job(files, root, warm)
    warm.shutdown()
    started = time.perf_counter()
    cli = [sys.executable, "-m", "dashapp.cli", "health", "--checkpoint", str(files[0].parent), "--no-explain"]
    subprocess.run(cli, cwd=REPO, check=True, capture_output=True)
    figures["neurodash health"] = time.perf_counter() - started
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--folder", type=Path, help="a folder of checkpoints (default: train 10 into a temporary folder)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default: 1, the tab's on 2 CPUs)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write every round's figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        base = Path(tmp)
        folder = args.folder or make_folder(base)
        files = find_checkpoints(folder)
        print(
            f"{len(files)} checkpoints in {folder}; {args.workers} worker process(es); {args.rounds} rounds", flush=True
        )
        rounds = []
        for i in range(args.rounds):
            figures = one_round(files, args.workers, base)
            rounds.append(figures)
            print(f"round {i + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()), flush=True)
    medians = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print("median: " + ", ".join(f"{k} {v:.2f}" for k, v in medians.items()))
    if args.json:
        args.json.write_text(json.dumps({"files": len(files), "workers": args.workers, "rounds": rounds}, indent=1))
    ok = medians["cold"] <= TARGET_S
    print(f"target: cold <= {TARGET_S:g} s -- {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
