"""Does our SAC learn Pendulum-v1 within 20,000 steps?

Trains SAC (``config_for_env("Pendulum-v1")``: the SB3 RL Zoo's settings for it) through
the worker's one loop, headless (``rl.worker.train(telemetry=False)``), for each seed, and
reports the mean return of the last 10 training episodes (the SB3 RL Zoo's figure for SAC
at 20k steps is about -157 +- 89; our target is -200 or better for seeds 0 and 1), and a
greedy evaluation of the final policy on 10 fresh episodes.

    python bench/sac_pendulum.py                         # seeds 0 and 1, 20,000 steps
    python bench/sac_pendulum.py --seeds 2 --json bench/results/sac-pendulum.json
    python bench/sac_pendulum.py --env CartPole-v1 --steps 40000 --target 400 --seeds 0

Exits 1 when a seed misses the target.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import numpy as np
import torch

from bench.breakout_learning import add_set_argument, parse_overrides
from rl.agents.evaluate import LearningCurve, evaluate
from rl.worker import train

ENV_ID = "Pendulum-v1"
EVAL_SEED = 10_000  # evaluation episodes use seeds the training never reset with


def run_seed(seed: int, steps: int, overrides: dict, env_id: str = ENV_ID) -> dict:
    curve = LearningCurve()
    started = time.perf_counter()
    summary = train(env_id, "sac", steps=steps, seed=seed, telemetry=False, overrides=overrides, callbacks=[curve])
    seconds = time.perf_counter() - started
    greedy = evaluate(curve.agent, env_id, 10, EVAL_SEED)
    scores = [score for _, score in curve.episodes]
    return {
        "seed": seed,
        "steps": summary.steps,
        "seconds": round(seconds, 1),
        "steps_per_s": round(summary.sps, 1),
        "episodes": len(scores),
        "last10_mean": round(curve.recent_mean(10), 1),
        "last10_std": round(float(np.std(scores[-10:])), 1) if scores else None,
        "greedy_mean": round(float(np.mean(greedy)), 1),
        "curve": [(step, round(score, 1)) for step, score in curve.episodes],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default=ENV_ID, help="another environment with an SAC preset, e.g. CartPole-v1")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--target", type=float, default=-200.0, help="mean return of the last 10 episodes to reach")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    add_set_argument(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results = []
    for seed in args.seeds:
        print(f"SAC on {args.env}, seed {seed}, {args.steps:,} steps ...", flush=True)
        r = run_seed(seed, args.steps, parse_overrides(args.set), args.env)
        results.append(r)
        print(
            f"  last 10 episodes: {r['last10_mean']:.1f} +- {r['last10_std']}; greedy (10 episodes): "
            f"{r['greedy_mean']:.1f}; {r['steps_per_s']:.0f} steps/s ({r['seconds']:.0f} s)",
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"env_id": args.env, "target": args.target, "runs": results}, indent=2))
    ok = all(r["last10_mean"] >= args.target for r in results)
    print(f"PASS: every seed reached {args.target}" if ok else f"FAIL: a seed missed {args.target}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
