"""Does an agent really learn our Breakout, and how fast does it train?

Trains the DQN (``--agent dqn``, the default) or discrete SAC (``--agent sac``) with its
Breakout preset through the worker's loop, headless (``rl.worker.train(telemetry=False)``), for a wall-clock budget
(default 5 minutes) or a step budget, whichever ends first. Every ``--eval-every``
steps it plays greedy evaluation episodes (their time is not counted against the
budget). At the end it compares the trained agent with a uniformly random policy on
the same evaluation seeds, and measures raw speeds: the environment alone, ``act()``
alone, and the whole training loop.

    python bench/breakout_learning.py                       # 5 minutes, seed 0
    python bench/breakout_learning.py --seconds 120 --seed 1 --json bench/results/bo.json
    python bench/breakout_learning.py --agent sac           # discrete SAC

Prints a table of (step, seconds, greedy score, mean of the last 50 training episodes)
and a summary; exits 1 if the trained agent does not beat random by ``--margin``.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import numpy as np
import torch

from rl.agents.base import agent_spec
from rl.agents.evaluate import LearningCurve, evaluate, random_policy_scores
from rl.callbacks import Callback
from rl.envs import BREAKOUT_ID, make_env
from rl.worker import train

EVAL_SEED = 10_000  # evaluation episodes use seeds the training never reset with


class Budget(Callback):
    """Stops training after ``seconds`` of training time; evaluates every ``every`` steps."""

    def __init__(self, seconds: float, every: int, episodes: int, curve: LearningCurve) -> None:
        self.seconds, self.every, self.episodes, self.curve = seconds, every, episodes, curve
        self.rows: list[dict] = []
        self.eval_time = 0.0

    def on_training_start(self, ctx):
        self.start = time.perf_counter()

    def training_seconds(self) -> float:
        return time.perf_counter() - self.start - self.eval_time

    def on_step(self, ctx, step):
        if step.step % self.every == 0:
            t0 = time.perf_counter()
            scores = evaluate(ctx.agent, BREAKOUT_ID, self.episodes, EVAL_SEED)
            self.eval_time += time.perf_counter() - t0
            row = {
                "step": step.step,
                "seconds": round(self.training_seconds(), 1),
                "greedy_score": round(float(np.mean(scores)), 2),
                "train_score_last50": round(self.curve.recent_mean(50), 2),
                **{k: round(v, 3) for k, v in step.decision.exploration.items()},  # epsilon, or SAC's alpha
            }
            self.rows.append(row)
            exploring = " ".join(f"{k} {v:.3f}" for k, v in step.decision.exploration.items())
            print(
                f"{row['step']:>8} {row['seconds']:>8.1f} {row['greedy_score']:>8.2f} "
                f"{row['train_score_last50']:>10.2f}  {exploring}",
                flush=True,
            )
        return self.training_seconds() < self.seconds


def measure_speeds(agent_name: str = "dqn", seconds: float = 3.0) -> dict[str, float]:
    """Steps per second of the environment alone and of ``act()`` alone."""
    env = make_env(BREAKOUT_ID, seed=0)
    rng = np.random.default_rng(0)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(1000):
            _, _, term, trunc, _ = env.step(int(rng.integers(3)))
            if term or trunc:
                env.reset()
        n += 1000
    env_sps = n / (time.perf_counter() - t0)

    obs, _ = env.reset(seed=0)
    agent_class, _config_class, config_for_env = agent_spec(agent_name).load()
    agent = agent_class.build(
        env.observation_space, env.action_space, config_for_env(BREAKOUT_ID), total_steps=10**6, seed=0
    )
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(1000):
            agent.act(obs, 10**6)
        n += 1000
    act_per_s = n / (time.perf_counter() - t0)
    return {"env_steps_per_s": round(env_sps), "act_calls_per_s": round(act_per_s)}


def parse_overrides(items: list[str]) -> dict:
    """``["a=1", "b=True", "c=(64, 64)"]`` -> ``{"a": 1, "b": True, "c": (64, 64)}``."""
    overrides = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise SystemExit(f"--set needs FIELD=VALUE, got {item!r}")
        try:
            overrides[name.strip()] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            overrides[name.strip()] = text
    return overrides


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    """``--set FIELD=VALUE`` (repeatable), read by :func:`parse_overrides`."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a field of the agent's config (DQNConfig, SACConfig) or of WorkerConfig, "
        "e.g. --set double_dqn=True (repeatable)",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="training-time budget (default 300)")
    parser.add_argument(
        "--steps", type=int, default=1_000_000, help="step budget; also sets the epsilon schedule's length"
    )
    parser.add_argument("--agent", default="dqn", choices=("dqn", "sac"), help="the learning algorithm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=10_000, help="greedy evaluation every N steps")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--final-episodes", type=int, default=50)
    parser.add_argument("--margin", type=float, default=2.0, help="required lead of the trained agent over random")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    add_set_argument(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    speeds = measure_speeds(args.agent)
    print(
        f"environment alone: {speeds['env_steps_per_s']:,} steps/s; act() alone: {speeds['act_calls_per_s']:,} calls/s"
    )
    print(
        f"training {args.agent} on {BREAKOUT_ID} for up to {args.seconds:.0f} s / {args.steps:,} steps, "
        f"seed {args.seed}"
    )
    print(f"{'step':>8} {'seconds':>8} {'greedy':>8} {'train(50)':>10}  exploring")
    curve = LearningCurve()
    budget = Budget(args.seconds, args.eval_every, args.eval_episodes, curve)
    summary = train(
        BREAKOUT_ID,
        args.agent,
        steps=args.steps,
        seed=args.seed,
        telemetry=False,
        overrides=parse_overrides(args.set),
        callbacks=[curve, budget],
    )
    train_seconds = budget.training_seconds()
    training_sps = summary.steps / train_seconds

    trained = evaluate(curve.agent, BREAKOUT_ID, args.final_episodes, EVAL_SEED)
    random_scores = random_policy_scores(BREAKOUT_ID, 200, EVAL_SEED)
    trained_mean, random_mean = float(np.mean(trained)), float(np.mean(random_scores))
    best = max(budget.rows, key=lambda r: r["greedy_score"]) if budget.rows else None
    result = {
        "env_id": BREAKOUT_ID,
        "agent": args.agent,
        "seed": args.seed,
        "config": curve.agent.config.to_dict(),
        "steps": summary.steps,
        "training_seconds": round(train_seconds, 1),
        "training_steps_per_s": round(training_sps),
        **speeds,
        "episodes": len(curve.episodes),
        "trained_greedy_mean": round(trained_mean, 2),
        "trained_greedy_std": round(float(np.std(trained)), 2),
        "random_mean": round(random_mean, 2),
        "random_std": round(float(np.std(random_scores)), 2),
        "best_eval": best,
        "curve": budget.rows,
    }
    print(
        f"\n{summary.steps:,} steps in {train_seconds:.0f} s of training "
        f"({training_sps:,.0f} steps/s, headless, 1 thread)"
    )
    print(f"trained agent (greedy, {args.final_episodes} episodes): {trained_mean:.2f} +- {np.std(trained):.2f}")
    print(f"random policy (200 episodes):                 {random_mean:.2f} +- {np.std(random_scores):.2f}")
    if best:
        print(
            f"best evaluation on the way: {best['greedy_score']:.2f} at step {best['step']:,} ({best['seconds']:.0f} s)"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    ok = trained_mean > random_mean + args.margin
    print(f"PASS: beats random by more than {args.margin}" if ok else f"FAIL: does not beat random by {args.margin}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
