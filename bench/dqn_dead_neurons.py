"""How many of the Breakout DQN's neurons are dead while it learns, as the live alerts see it?

Trains the DQN with its Breakout preset through the worker with telemetry and the probe on
(into a temporary run folder, no frames), seed by seed and one after another, for
``--steps`` of a run as long as ``neurodash demo``'s (``--schedule-steps``, 200,000: the
exploration schedule is a share of the whole run, so a short run would explore for a
shorter time than the demo does), then reads
back what the probe published: each hidden layer's dead share in the last activation
record (the neuron states the dead-neuron alert counts, over the probe's window), the
share of all activation records in the second half of training in which a layer was
above the alert's share, and the alerts still active at the end. Then it plays greedy
evaluation episodes with the trained agent and a random policy on the same seeds.

    python bench/dqn_dead_neurons.py                              # seeds 0 1 2, 60,000 steps
    python bench/dqn_dead_neurons.py --steps 30000 --seeds 0 1 2 --set learning_rate=5e-4
    python bench/dqn_dead_neurons.py --json bench/results/dqn-dead.json

Prints one row per seed and layer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import numpy as np

from bench.breakout_learning import EVAL_SEED, add_set_argument, parse_overrides
from health import thresholds as TH
from rl import telemetry as T
from rl.agents.evaluate import LearningCurve, evaluate, random_policy_scores
from rl.callbacks import Callback
from rl.envs import BREAKOUT_ID
from rl.store import DiskStore
from rl.worker import train


def dead_figures(run_dir: Path, network: str = "q_network") -> dict:
    """Per hidden layer: the dead share in the last activation record, the share of records in
    the second half of training above the alert's share, and the active alerts at the end."""
    store = DiskStore(run_dir / "telemetry")
    try:
        records = [T.ActivationRecord.from_dict(r) for r in store.read(T.probe_key(T.ACTIVATIONS, network))]
        alerts_row = store.get(T.ALERTS)
    finally:
        store.close()
    if not records:
        raise SystemExit(f"no activation records in {run_dir}")
    last_step = records[-1].step
    late = [r for r in records if r.step >= last_step / 2]
    layers = {}
    for i, layer in enumerate(records[-1].layers):
        shares = [r.layers[i].dead / r.layers[i].size for r in late if r.layers[i].dead is not None]
        layers[layer.name] = {
            "size": layer.size,
            "window": layer.window,
            "dead_end": layer.dead,
            "dead_share_end": round((layer.dead or 0) / layer.size, 3),
            "late_records_above_alert": round(float(np.mean([s > TH.LIVE_DEAD_ALERT_SHARE for s in shares])), 3),
            "late_dead_share_max": round(max(shares), 3) if shares else None,
        }
    alerts = T.AlertsRecord.from_dict(alerts_row).alerts if alerts_row else []
    active = [f"{a.level} {a.rule} {a.layer}" for a in alerts if a.active]
    return {"layers": layers, "active_alerts": active, "records": len(records)}


class StopAt(Callback):
    """Ends training after ``steps`` environment steps."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_step(self, ctx, step):
        return step.step < self.steps


def run_seed(seed: int, steps: int, schedule_steps: int, overrides: dict, episodes: int) -> dict:
    curve = LearningCurve()
    with tempfile.TemporaryDirectory(prefix="dqn-dead-") as tmp:
        run_dir = Path(tmp) / "run"
        t0 = time.perf_counter()
        summary = train(
            BREAKOUT_ID,
            "dqn",
            steps=max(steps, schedule_steps),
            seed=seed,
            run_dir=run_dir,
            overrides={"frame_fps": 0.0, **overrides},
            callbacks=[curve, StopAt(steps)],
        )
        seconds = time.perf_counter() - t0
        figures = dead_figures(run_dir)
    scores = evaluate(curve.agent, BREAKOUT_ID, episodes, EVAL_SEED)
    return {
        "seed": seed,
        "steps": summary.steps,
        "seconds": round(seconds, 1),
        "greedy_mean": round(float(np.mean(scores)), 2),
        "greedy_std": round(float(np.std(scores)), 2),
        **figures,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60_000, help="steps to train for")
    parser.add_argument(
        "--schedule-steps", type=int, default=200_000, help="the run's length as the agent is told (the demo's)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=20, help="greedy evaluation episodes per seed")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    add_set_argument(parser)
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.set)

    random_mean = float(np.mean(random_policy_scores(BREAKOUT_ID, 200, EVAL_SEED)))
    print(
        f"Breakout DQN, {args.steps:,} steps of {args.schedule_steps:,} per seed, overrides {overrides or 'none'}; "
        f"random {random_mean:.2f}"
    )
    print(f"{'seed':>4} {'layer':>6} {'dead':>9} {'late>10%':>9} {'late max':>9} {'greedy':>13}  alerts at the end")
    results = []
    for seed in args.seeds:
        result = run_seed(seed, args.steps, args.schedule_steps, overrides, args.episodes)
        results.append(result)
        for name, layer in result["layers"].items():
            print(
                f"{seed:>4} {name:>6} {layer['dead_end']:>3}/{layer['size']:<3} {layer['dead_share_end']:>5.0%} "
                f"{layer['late_records_above_alert']:>8.0%} {layer['late_dead_share_max']:>8.0%} "
                f"{result['greedy_mean']:>6.2f} +- {result['greedy_std']:<4.2f}  "
                f"{'; '.join(result['active_alerts']) or '-'}",
                flush=True,
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {"overrides": overrides, "random_mean": random_mean, "runs": results}
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
