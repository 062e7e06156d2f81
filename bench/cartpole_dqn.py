"""DQN on CartPole-v1 with CleanRL's budget: does it reach a mean return of 475 within
500,000 steps?

Trains ``config_for_env("CartPole-v1")`` (CleanRL ``dqn.py``'s published settings, with
our Huber loss) through the worker's loop, headless (``rl.worker.train(telemetry=False)``).
Every ``--eval-every`` steps it plays greedy evaluation episodes. Two figures are tracked:

* the mean return of the last 20 *training* episodes (what CleanRL charts as
  ``episodic_return``, here smoothed), epsilon-greedy with epsilon = 0.05 at the end;
* the mean return of greedy evaluation episodes.

    python bench/cartpole_dqn.py                          # 500k steps, seed 1
    nohup python bench/cartpole_dqn.py --json bench/results/cartpole.json > bench/results/cartpole.log 2>&1 &

Prints the curve and the first step at which each figure reached 475; exits 0 if either
did within the budget.
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
from rl.callbacks import Callback
from rl.worker import train

ENV_ID = "CartPole-v1"
TARGET = 475.0
EVAL_SEED = 10_000


class Tracker(Callback):
    """Evaluates every ``every`` steps and notes when each figure first reaches the target."""

    def __init__(self, every: int, episodes: int, curve: LearningCurve) -> None:
        self.every, self.episodes, self.curve = every, episodes, curve
        self.rows: list[dict] = []
        self.first_train_step: int | None = None
        self.first_eval_step: int | None = None
        self.eval_time = 0.0

    def on_training_start(self, ctx):
        self.start = time.perf_counter()

    def on_episode_end(self, ctx, episode):
        if self.first_train_step is None and len(self.curve.episodes) >= 20 and self.curve.recent_mean(20) >= TARGET:
            self.first_train_step = episode.step

    def on_step(self, ctx, step):
        if step.step % self.every == 0:
            t0 = time.perf_counter()
            greedy = float(np.mean(evaluate(ctx.agent, ENV_ID, self.episodes, EVAL_SEED)))
            self.eval_time += time.perf_counter() - t0
            if self.first_eval_step is None and greedy >= TARGET:
                self.first_eval_step = step.step
            row = {
                "step": step.step,
                "seconds": round(time.perf_counter() - self.start - self.eval_time, 1),
                "train_mean20": round(self.curve.recent_mean(20), 1),
                "greedy_mean": round(greedy, 1),
                "epsilon": round(step.decision.exploration["epsilon"], 3),
            }
            self.rows.append(row)
            print(
                f"{row['step']:>8} {row['seconds']:>8.1f} {row['train_mean20']:>10.1f} {row['greedy_mean']:>8.1f} "
                f"{row['epsilon']:>6.3f}",
                flush=True,
            )
        return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--eval-every", type=int, default=25_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    add_set_argument(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    print(f"training DQN on {ENV_ID} for {args.steps:,} steps, seed {args.seed}")
    print(f"{'step':>8} {'seconds':>8} {'train(20)':>10} {'greedy':>8} {'eps':>6}")
    curve = LearningCurve()
    tracker = Tracker(args.eval_every, args.eval_episodes, curve)
    started = time.perf_counter()
    summary = train(
        ENV_ID,
        "dqn",
        steps=args.steps,
        seed=args.seed,
        telemetry=False,
        overrides=parse_overrides(args.set),
        callbacks=[curve, tracker],
    )
    train_seconds = time.perf_counter() - started - tracker.eval_time
    final_greedy = evaluate(curve.agent, ENV_ID, 20, EVAL_SEED)
    result = {
        "env_id": ENV_ID,
        "seed": args.seed,
        "steps": summary.steps,
        "config": curve.agent.config.to_dict(),
        "training_seconds": round(train_seconds, 1),
        "training_steps_per_s": round(summary.steps / train_seconds),
        "episodes": len(curve.episodes),
        "final_train_mean20": round(curve.recent_mean(20), 1),
        "final_train_mean100": round(curve.recent_mean(100), 1),
        "final_greedy_mean20": round(float(np.mean(final_greedy)), 1),
        "first_step_train_mean20_ge_475": tracker.first_train_step,
        "first_step_greedy_ge_475": tracker.first_eval_step,
        "curve": tracker.rows,
    }
    print(
        f"\n{summary.steps:,} steps in {train_seconds:.0f} s of training ({result['training_steps_per_s']:,} steps/s)"
    )
    print(f"last 20 training episodes: {result['final_train_mean20']}; last 100: {result['final_train_mean100']}")
    print(f"greedy evaluation (20 episodes): {result['final_greedy_mean20']}")
    print(f"first step with a training mean(20) >= {TARGET:.0f}: {tracker.first_train_step}")
    print(f"first step with a greedy evaluation >= {TARGET:.0f}: {tracker.first_eval_step}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if (tracker.first_train_step or tracker.first_eval_step) else 1


if __name__ == "__main__":
    raise SystemExit(main())
