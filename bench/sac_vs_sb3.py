"""How fast does our SAC train, next to Stable-Baselines3's?

Both train SAC on Pendulum-v1 with the same settings -- actor and critics 256-256, batch
256, buffer 100,000, learning from step 1,000 with one gradient step per environment
step, Adam 1e-3, tau 0.005, gamma 0.99, the temperature tuned towards -1 -- on one torch
thread, each run in a fresh process. Ours runs through the worker's one loop, headless
(``rl.worker.train(telemetry=False)``): its ``act()`` also evaluates both critics, as the
dashboard shows them. Only the learning phase is timed (from the first learning step to
the last step), and the runs alternate, ours then SB3's then SB3's then ours, so that a
change of machine load hits both alike.

    python bench/sac_vs_sb3.py                               # 4 rounds of 3,000 steps
    python bench/sac_vs_sb3.py --rounds 6 --json bench/results/sac-vs-sb3.json

Reports each run's steps per second, the median of each side and the ratio of the
medians (ours / SB3; also the median of the per-round ratios). Exits 1 when ours is
slower (ratio below 1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

ENV_ID = "Pendulum-v1"
SETTINGS = {
    "hidden_sizes": (256, 256),
    "batch_size": 256,
    "buffer_size": 100_000,
    "learning_rate": 1e-3,
    "tau": 0.005,
    "gamma": 0.99,
}


def run_ours(steps: int, learning_starts: int, seed: int) -> dict:
    import torch

    from rl.callbacks import Callback
    from rl.worker import train

    torch.set_num_threads(1)

    class Clock(Callback):
        started = ended = 0.0

        def on_step(self, ctx, step):
            if step.step == learning_starts:
                self.started = time.perf_counter()
            return True

        def on_training_end(self, ctx):
            self.ended = time.perf_counter()

    clock = Clock()
    lr = SETTINGS["learning_rate"]
    overrides = {
        "hidden_sizes": SETTINGS["hidden_sizes"],
        "batch_size": SETTINGS["batch_size"],
        "buffer_size": SETTINGS["buffer_size"],
        "actor_learning_rate": lr,
        "critic_learning_rate": lr,
        "alpha_learning_rate": lr,
        "tau": SETTINGS["tau"],
        "gamma": SETTINGS["gamma"],
        "learning_starts": learning_starts,
        "train_frequency": 1,
        "policy_frequency": 1,
        "target_network_frequency": 1,
        "autotune": True,
        "torch_threads": 1,
    }
    train(ENV_ID, "sac", steps, seed=seed, telemetry=False, overrides=overrides, callbacks=[clock])
    return {"learning_steps": steps - learning_starts, "seconds": clock.ended - clock.started}


def run_sb3(steps: int, learning_starts: int, seed: int) -> dict:
    import gymnasium as gym
    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(1)

    class Clock(BaseCallback):
        started = ended = 0.0

        def _on_step(self) -> bool:
            if self.num_timesteps == learning_starts:
                self.started = time.perf_counter()
            return True

        def _on_training_end(self) -> None:
            self.ended = time.perf_counter()

    clock = Clock()
    model = SAC(
        "MlpPolicy",
        gym.make(ENV_ID),
        learning_rate=SETTINGS["learning_rate"],
        buffer_size=SETTINGS["buffer_size"],
        learning_starts=learning_starts,
        batch_size=SETTINGS["batch_size"],
        tau=SETTINGS["tau"],
        gamma=SETTINGS["gamma"],
        train_freq=1,
        gradient_steps=1,
        ent_coef="auto",
        target_entropy="auto",
        policy_kwargs={"net_arch": list(SETTINGS["hidden_sizes"])},
        device="cpu",
        seed=seed,
        verbose=0,
    )
    model.learn(total_timesteps=steps, callback=clock)
    return {"learning_steps": steps - learning_starts, "seconds": clock.ended - clock.started}


def one_run(side: str, steps: int, learning_starts: int, seed: int) -> dict:
    """Run one side in a fresh process; its figures."""
    out = subprocess.run(
        [sys.executable, __file__, "--one", side, "--steps", str(steps), "--learning-starts", str(learning_starts)]
        + ["--seed", str(seed)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"the {side} run failed:\n{out.stderr[-2000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    got["steps_per_s"] = got["learning_steps"] / got["seconds"]
    return got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3_000, help="environment steps per run")
    parser.add_argument("--learning-starts", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=4, help="pairs of runs (ours and SB3's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--one", choices=["ours", "sb3"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        run = run_ours if args.one == "ours" else run_sb3
        print(json.dumps(run(args.steps, args.learning_starts, args.seed)))
        return 0

    print(f"SAC on {ENV_ID}: {args.rounds} rounds of {args.steps:,} steps, timed after step {args.learning_starts:,}")
    runs: dict[str, list[float]] = {"ours": [], "sb3": []}
    for i in range(args.rounds):
        order = ("ours", "sb3") if i % 2 == 0 else ("sb3", "ours")
        for side in order:
            got = one_run(side, args.steps, args.learning_starts, args.seed)
            runs[side].append(got["steps_per_s"])
            print(f"  round {i + 1}: {side:4} {got['steps_per_s']:7.1f} steps/s ({got['seconds']:.1f} s)", flush=True)
    ours, sb3 = statistics.median(runs["ours"]), statistics.median(runs["sb3"])
    per_round = statistics.median(o / s for o, s in zip(runs["ours"], runs["sb3"]))
    ratio = ours / sb3
    print(f"median steps/s: ours {ours:.1f}, SB3 {sb3:.1f}; ratio {ratio:.3f} (median of rounds {per_round:.3f})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "env_id": ENV_ID,
                    "settings": {**SETTINGS, "learning_starts": args.learning_starts, "steps": args.steps},
                    "steps_per_s": runs,
                    "median": {"ours": ours, "sb3": sb3},
                    "ratio": ratio,
                    "ratio_median_of_rounds": per_round,
                },
                indent=2,
            )
        )
    print("PASS: ours is at least as fast" if ratio >= 1 else "FAIL: ours is slower")
    return 0 if ratio >= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
