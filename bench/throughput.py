"""Training throughput with telemetry and a watching dashboard, against headless training.

Each variant trains the same agent on the same environment for the same number of
steps with the same seed, so every run does the same work; variants are interleaved
(A B, B A, A B, ...) so a change in machine load hits them alike. The "dashboard" is a separate
process that reads the run's store every second the way the dashboard's callbacks do
(``iter_new`` on the step and episode series, ``get`` of the frame and the heartbeat)
and counts the bytes it received.

    python bench/throughput.py                 # defaults: Breakout, 20,000 steps, 3 rounds
    python bench/throughput.py --steps 5000 --rounds 2 --json out.json

Prints per-run steps/s, the median ratio of each variant to the first ("headless";
target >= 0.95 for "telemetry") and the bytes per poll. To measure something new, add
one entry to ``VARIANTS``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from bench.internals_poll import probe_tabs_callbacks
from rl import telemetry as T

POLL_INTERVAL_S = 1.0
TARGET_RATIO = 0.95


@dataclass(frozen=True)
class Variant:
    """One way to train: what is published, whether a dashboard polls, extra settings."""

    name: str
    telemetry: bool
    poll: bool
    #: WorkerConfig / agent config fields by name (e.g. {"probe": True})
    overrides: dict[str, Any] = field(default_factory=dict)
    #: extra callbacks for train(callbacks=...), built fresh for each run
    callbacks: Callable[[], list] | None = None


#: The first entry is the baseline every other variant is compared with.
VARIANTS: list[Variant] = [
    Variant("headless", telemetry=False, poll=False, overrides={"probe": False}),
    Variant("telemetry", telemetry=True, poll=True, overrides={"probe": False, "health": False}),
    # the same publishing with nobody watching: separates the worker's own cost from the reader's
    Variant("unwatched", telemetry=True, poll=False, overrides={"probe": False, "health": False}),
    # the probe at its default sampling, with the Activations/Gradients/Weights tabs and the alerts panel open
    Variant(
        "probe",
        telemetry=True,
        poll=True,
        overrides={"probe": False, "health": False},
        callbacks=probe_tabs_callbacks,
    ),
    # the demo's worker (the probe at its defaults, checkpoints every 10,000 steps) without the health
    # watch, and with it at its defaults (an analysis at every checkpoint and every health_every steps,
    # in its own process at the "idle" CPU priority), or at the "low" one: run
    # `--variants demo health health-low` for the watch's cost
    Variant("demo", telemetry=True, poll=True, overrides={"health": False}),
    Variant("health", telemetry=True, poll=True, overrides={"health": True}),
    Variant("health-low", telemetry=True, poll=True, overrides={"health": True, "health_priority": "low"}),
]


# --------------------------------------------------------------------------- the poller
def poll_store(run_dir: str, ready, stop, results, interval: float = POLL_INTERVAL_S) -> None:
    """Read the run like the dashboard does, every ``interval`` seconds, until ``stop``."""
    from rl.store import RunDirError, is_run_dir, iter_new, open_run

    ready.set()  # imports done: a dashboard is already up when training starts
    while not is_run_dir(run_dir) and not stop.is_set():
        time.sleep(0.05)
    if stop.is_set():
        results.put({"polls": 0, "bytes": []})
        return
    cursors = {T.STEPS: -1, T.EPISODES: -1}
    sizes: list[int] = []
    seconds: list[float] = []
    next_poll = time.monotonic()
    while not stop.wait(max(0.0, next_poll - time.monotonic())):
        next_poll += interval
        started = time.perf_counter()
        received: list[Any] = []
        try:
            store = open_run(run_dir)  # like dashapp.read: open, read, close on every poll
        except RunDirError as exc:  # pragma: no cover - the worker just created it
            results.put({"error": str(exc)})
            return
        with store:
            for series in cursors:
                rows, cursors[series] = iter_new(store, series, cursors[series])
                received.append(rows)
            received.append(store.get(T.FRAME))
            received.append(store.get(T.HEARTBEAT))
        seconds.append(time.perf_counter() - started)
        sizes.append(len(json.dumps(received)))
    results.put({"polls": len(sizes), "bytes": sizes, "seconds": seconds})


# --------------------------------------------------------------------------- one run
def _loop_timer():
    """A callback timing the training loop in wall-clock and in this process's CPU time.

    CPU time is what the telemetry costs the training process itself; it hardly moves
    when other programs load the machine, which wall-clock time does.
    """
    from rl.callbacks import Callback

    class LoopTimer(Callback):
        def on_training_start(self, ctx):
            self.wall, self.cpu = time.perf_counter(), time.process_time()

        def on_training_end(self, ctx):
            self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    return LoopTimer()


def run_once(variant: Variant, env_id: str, steps: int, seed: int, workdir: Path) -> dict:
    from rl.worker import train

    mp = multiprocessing.get_context("spawn")
    run_dir = workdir / f"{variant.name}-{time.monotonic_ns()}"
    poller = stop = results = None
    if variant.poll:
        ready, stop, results = mp.Event(), mp.Event(), mp.Queue()
        poller = mp.Process(target=poll_store, args=(str(run_dir), ready, stop, results), daemon=True)
        poller.start()
        if not ready.wait(timeout=60):
            raise RuntimeError("the polling process did not start")
    timer = _loop_timer()
    try:
        summary = train(
            env_id,
            "dqn",
            steps,
            seed=seed,
            run_dir=run_dir if variant.telemetry else None,
            telemetry=variant.telemetry,
            overrides=variant.overrides,
            callbacks=[timer, *(variant.callbacks() if variant.callbacks else ())],
        )
    finally:
        polled: dict = {}
        if poller is not None:
            stop.set()
            polled = results.get(timeout=30)
            poller.join(timeout=30)
    return {
        **_health_counts(run_dir if variant.telemetry else None),
        "variant": variant.name,
        "sps": summary.steps / timer.wall,
        "cpu_sps": summary.steps / timer.cpu,
        "seconds": timer.wall,
        "cpu_seconds": timer.cpu,
        "steps": summary.steps,
        "episodes": summary.episodes,
        **({"poll": polled} if polled else {}),
    }


def _health_counts(run_dir: Path | None) -> dict:
    """How many health analyses a run published and skipped (nothing when it had none)."""
    from rl.store import open_run

    if run_dir is None:
        return {}
    with open_run(run_dir) as store:
        status = store.get(T.HEALTH_STATUS)
    if not isinstance(status, dict):
        return {}
    return {"analyses": status.get("analyses", 0), "skipped": status.get("skipped", 0)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--env", default="neurodash/Breakout-v0", help="environment id")
    parser.add_argument("--steps", type=int, default=20_000, help="training steps per run")
    parser.add_argument("--rounds", type=int, default=3, help="how many times each variant runs (interleaved)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed for every run")
    parser.add_argument(
        "--warmup-steps",
        type=int,
        default=1_000,
        help="one unmeasured run of each variant first (imports, caches); 0 to skip",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[v.name for v in VARIANTS],
        choices=[v.name for v in VARIANTS],
        help="which variants to run (the first is the baseline)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    args = parser.parse_args(argv)

    variants = [v for name in args.variants for v in VARIANTS if v.name == name]
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="neurodash-bench-") as tmp:
        if args.warmup_steps > 0:
            for variant in variants:
                run_once(variant, args.env, args.warmup_steps, args.seed, Path(tmp))
        for round_no in range(args.rounds):
            # A B, then B A, ...: a drift in machine load during a pair of rounds cancels out
            for variant in variants if round_no % 2 == 0 else variants[::-1]:
                result = run_once(variant, args.env, args.steps, args.seed, Path(tmp))
                result["round"] = round_no
                runs.append(result)
                poll = result.get("poll", {})
                extra = f", {poll['polls']} polls" if poll else ""
                if "analyses" in result:
                    extra += f", {result['analyses']} analyses, {result['skipped']} skipped"
                print(
                    f"round {round_no + 1}/{args.rounds}  {variant.name:<12} {result['sps']:8.0f} steps/s "
                    f"{result['cpu_sps']:8.0f} steps/CPU-s  ({result['seconds']:.1f} s{extra})",
                    flush=True,
                )

    report = summarize(runs, [v.name for v in variants])
    print()
    base = variants[0].name
    for name, row in report["variants"].items():
        print(
            f"{name:<12} median {row['median_sps']:6.0f} steps/s, {row['median_cpu_sps']:6.0f} steps/CPU-s;"
            f"  ratio to {base}: wall {row['ratio']:.3f} (per round {row['round_ratio']:.3f}),"
            f" CPU {row['cpu_ratio']:.3f}"
        )
        if "bytes_per_poll_mean" in row:
            print(
                f"{'':<12} bytes/poll mean {row['bytes_per_poll_mean']:.0f}, max {row['bytes_per_poll_max']};"
                f" poll time mean {row['poll_ms_mean']:.1f} ms"
            )
    others = [row for name, row in report["variants"].items() if name != base]
    if others:
        print(
            f"\nworst ratio: wall-clock {min(r['ratio'] for r in others):.3f}, "
            f"CPU time {min(r['cpu_ratio'] for r in others):.3f} (target >= {TARGET_RATIO})"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs, **report}, indent=2)
        )
    return 0


def summarize(runs: list[dict], names: list[str]) -> dict:
    """Per variant: median steps/s (wall clock and CPU), the ratios to the first variant
    (of the medians, and the median of the per-round ratios, which cancels slow drifts in
    machine load), and the bytes per poll."""
    out: dict[str, dict] = {}
    base_runs = {r["round"]: r for r in runs if r["variant"] == names[0]}
    for name in names:
        mine = [r for r in runs if r["variant"] == name]
        out[name] = {
            "median_sps": statistics.median(r["sps"] for r in mine),
            "median_cpu_sps": statistics.median(r["cpu_sps"] for r in mine),
            "runs": len(mine),
            "round_ratio": statistics.median(r["sps"] / base_runs[r["round"]]["sps"] for r in mine),
        }
        sizes = [b for r in mine for b in r.get("poll", {}).get("bytes", [])]
        times = [s for r in mine for s in r.get("poll", {}).get("seconds", [])]
        if sizes:
            out[name].update(
                bytes_per_poll_mean=statistics.mean(sizes),
                bytes_per_poll_max=max(sizes),
                poll_ms_mean=1000 * statistics.mean(times),
            )
    base, base_cpu = out[names[0]]["median_sps"], out[names[0]]["median_cpu_sps"]
    for row in out.values():
        row["ratio"] = row["median_sps"] / base
        row["cpu_ratio"] = row["median_cpu_sps"] / base_cpu
    return {"variants": out}


if __name__ == "__main__":
    sys.exit(main())
