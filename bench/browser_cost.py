"""What the dashboard costs training when real Chromium tabs watch it.

Every variant trains the classroom demo's DQN on our Breakout (the worker at its defaults:
telemetry, the probe and the health watch) for the same steps with the same seed, in this
process; variants run interleaved (A B C, then C B A, ...) so a drift in machine load hits
them alike:

* ``headless`` -- the bare loop: nothing published (the baseline);
* ``unwatched`` -- the demo's worker, publishing, nobody looking;
* ``live``, ``network``, ``activations``, ... -- the same, with ``neurodash serve`` over the
  run and one real Chromium tab (Debian's, driven by Playwright as the browser tests do)
  open on that dashboard tab;
* ``three`` -- three Chromium tabs open, on Live, Network and Activations.

For each run it reports training steps/s and the ratio to ``headless``; the CPU (cores)
used by training (with its health-analysis process), the server, Chromium and the
Playwright driver over the training window; and per browser tab at steady state (from
``--settle`` seconds after training started): callback requests per second, bytes
received per second (everything the page loaded: callbacks and images, headers
included, as Chromium's network log counts them), the browser's request-to-response time
(p50, p95) and the server's own time per callback (p50, p95, from the ``Server-Timing``
header the dashboard sends).

    python bench/browser_cost.py                               # all variants, 30,000 steps, 3 rounds
    python bench/browser_cost.py --variants headless live --steps 20000 --rounds 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from bench import serving  # noqa: E402

#: The dashboard tabs a variant can open, by the label of their tab.
TAB_LABELS = {
    "live": "Live",
    "network": "Network",
    "activations": "Activations",
    "gradients": "Gradients",
    "weights": "Weights",
    "health": "Health",
}
TARGET_ONE_TAB, TARGET_THREE_TABS = 0.92, 0.85
TARGET_CHROMIUM_CORES, TARGET_REQUESTS_PER_S, TARGET_BYTES_PER_S, TARGET_SERVER_P95_MS = 0.2, 2.0, 4096, 30.0


@dataclass(frozen=True)
class Variant:
    name: str
    telemetry: bool
    tabs: tuple[str, ...] = ()


VARIANTS = [
    Variant("headless", telemetry=False),
    Variant("unwatched", telemetry=True),
    *(Variant(name, telemetry=True, tabs=(name,)) for name in TAB_LABELS),
    Variant("three", telemetry=True, tabs=("live", "network", "activations")),
]


# --------------------------------------------------------------------------- CPU from /proc
_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree(pid: int, kids: dict[int, list[int]]) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_snapshot(server: int | None, browser: int | None) -> dict[str, dict[int, float]]:
    """CPU seconds so far of each process, by group: training (this process and its
    children: the health analysis), server, chromium, driver (Playwright's)."""
    kids = _children()
    groups: dict[str, dict[int, float]] = {"training": {}, "server": {}, "chromium": {}, "driver": {}}
    mine = set(_tree(os.getpid(), kids))
    for pid in _tree(server, kids) if server else []:
        mine.discard(pid)
        groups["server"][pid] = _cpu_seconds(pid) or 0.0
    for pid in _tree(browser, kids) if browser else []:
        mine.discard(pid)
        group = "chromium" if _comm(pid).startswith("chrom") else "driver"
        groups[group][pid] = _cpu_seconds(pid) or 0.0
    for pid in mine:
        groups["training"][pid] = _cpu_seconds(pid) or 0.0
    return groups


def cores_used(before: dict, after: dict, seconds: float) -> dict[str, float]:
    """Average cores each group used between two snapshots (a process born in between
    counts whole)."""
    return {group: sum(t - before[group].get(pid, 0.0) for pid, t in after[group].items()) / seconds for group in after}


# --------------------------------------------------------------------------- the browser
#: Chromium's own counters of where a page's main thread spent its time (seconds so far).
PAGE_METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def _callback_name(post_data: str | None) -> str | None:
    """A Dash callback request's outputs, shortened ("live-q-graph.extendData+3")."""
    try:
        output = json.loads(post_data or "{}").get("output", "")
    except ValueError:
        return None
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return parts[0] + (f"+{len(parts) - 1}" if len(parts) > 1 else "") if parts[0] else None


def _profile_summary(profile: dict, top: int = 25) -> list[dict]:
    """Self time per (script, function) of a CDP CPU profile, largest first."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    hits: dict[int, float] = {}
    deltas = profile.get("timeDeltas", [])
    for k, sample in enumerate(profile.get("samples", [])):
        hits[sample] = hits.get(sample, 0.0) + (deltas[k] if k < len(deltas) else 0) / 1000.0
    by: dict[tuple[str, str], float] = {}
    for node_id, ms in hits.items():
        frame = nodes[node_id]["callFrame"]
        script = frame.get("url", "").rsplit("/", 1)[-1].split("?")[0] or "(native)"
        key = (script, frame.get("functionName") or "(anonymous)")
        by[key] = by.get(key, 0.0) + ms
    total = sum(by.values()) or 1.0
    rows = sorted(by.items(), key=lambda kv: -kv[1])[:top]
    return [{"script": k[0], "function": k[1], "ms": round(v, 1), "share": round(v / total, 3)} for k, v in rows]


def browse(url: str, tabs: tuple[str, ...], ready, stop, results, profile_after: float | None = None) -> None:
    """Open one Chromium page per entry of ``tabs`` on the dashboard, each on its tab, and
    log every network request of each (and, every second, Chromium's counters of the
    page's main-thread time) until ``stop``; put the logs on ``results``. With
    ``profile_after``, the first page's JavaScript is CPU-profiled from that many seconds
    after ``ready`` for 10 s."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS

    logs: list[dict[str, dict]] = []
    metrics: list[list[dict]] = []
    sessions = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        pages = []
        for tab in tabs:
            page = context.new_page()
            log: dict[str, dict] = {}
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Performance.enable")

            def sent(e, log=log):
                log[e["requestId"]] = {
                    "url": e["request"]["url"],
                    "callback": _callback_name(e["request"].get("postData")),
                    "t0": e["timestamp"],
                    "wall": time.time(),
                }

            def answered(e, log=log):
                headers = {k.lower(): v for k, v in e["response"]["headers"].items()}
                if e["requestId"] in log:
                    log[e["requestId"]]["server_timing"] = headers.get("server-timing")

            def finished(e, log=log):
                if e["requestId"] in log:
                    log[e["requestId"]].update(t1=e["timestamp"], bytes=e["encodedDataLength"])

            def failed(e, log=log):
                if e["requestId"] in log:  # Chromium reports a 204 (a callback that sent nothing) this way
                    log[e["requestId"]].update(t1=e["timestamp"], failed=e.get("errorText") or True)

            cdp.on("Network.requestWillBeSent", sent)
            cdp.on("Network.responseReceived", answered)
            cdp.on("Network.loadingFinished", finished)
            cdp.on("Network.loadingFailed", failed)
            page.goto(url)
            page.locator("#app-tabs .nav-link", has_text=TAB_LABELS[tab]).click(timeout=60_000)
            pages.append(page)
            logs.append(log)
            metrics.append([])
            sessions.append(cdp)
        ready.set()
        started, profiling, profile = time.monotonic(), False, None
        next_sample = time.monotonic()
        while not stop.is_set():
            pages[0].wait_for_timeout(200)  # lets Playwright deliver the pages' events
            now = time.monotonic()
            if now >= next_sample:
                next_sample += 1.0
                for cdp, samples in zip(sessions, metrics, strict=True):
                    got = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                    samples.append({"wall": time.time(), **{k: got.get(k, 0.0) for k in PAGE_METRICS}})
            if profile_after is not None and not profiling and profile is None and now - started >= profile_after:
                sessions[0].send("Profiler.enable")
                sessions[0].send("Profiler.setSamplingInterval", {"interval": 500})
                sessions[0].send("Profiler.start")
                profiling, profile_started = True, now
            if profiling and now - profile_started >= 10.0:
                profile = _profile_summary(sessions[0].send("Profiler.stop")["profile"])
                profiling = False
        browser.close()
    results.put({"logs": [list(log.values()) for log in logs], "metrics": metrics, "profile": profile})


# --------------------------------------------------------------------------- one run
def _loop_timer():
    from rl.callbacks import Callback

    class LoopTimer(Callback):
        def on_training_start(self, ctx):
            self.start = time.time()
            self.wall, self.cpu = time.perf_counter(), time.process_time()
            self.before = cpu_snapshot(*self.pids)

        def on_training_end(self, ctx):
            self.after = cpu_snapshot(*self.pids)
            self.end = time.time()
            self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    return LoopTimer()


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main_thread(samples: list[dict], start: float, end: float) -> dict:
    """Share of wall time the page's main thread spent in tasks, scripts, layout and
    style between wall times ``start`` and ``end`` (from Chromium's counters)."""
    inside = [m for m in samples if start <= m["wall"] <= end]
    if len(inside) < 2:
        return {}
    first, last = inside[0], inside[-1]
    seconds = last["wall"] - first["wall"]
    return {k: (last[k] - first[k]) / seconds for k in PAGE_METRICS}


def by_callback(log: list[dict], start: float, end: float) -> list[dict]:
    """Per callback (by its first output): requests and bytes per second, server p50."""
    seconds = max(end - start, 1e-9)
    rows: dict[str, list[dict]] = {}
    for r in log:
        if start <= r["wall"] < end and r.get("callback"):
            rows.setdefault(r["callback"], []).append(r)
    out = []
    for name, rs in rows.items():
        server = [float(r["server_timing"].split("dur=")[1]) for r in rs if r.get("server_timing")]
        out.append(
            {
                "callback": name,
                "per_s": round(len(rs) / seconds, 2),
                "bytes_per_s": round(sum(r.get("bytes", 0) for r in rs) / seconds),
                "sent_nothing": sum(bool(r.get("failed")) for r in rs),
                "server_ms_p50": _quantile(server, 0.5),
            }
        )
    return sorted(out, key=lambda row: -row["bytes_per_s"])


def tab_figures(log: list[dict], start: float, end: float) -> dict:
    """Requests, bytes and latencies of one page between wall times ``start`` and ``end``."""
    window = [r for r in log if start <= r["wall"] < end]
    callbacks = [r for r in window if "/_dash-update-component" in r["url"]]
    seconds = max(end - start, 1e-9)
    latency = [1000 * (r["t1"] - r["t0"]) for r in callbacks if "t1" in r]
    server = [
        float(r["server_timing"].split("dur=")[1])
        for r in callbacks
        if r.get("server_timing") and "dur=" in r["server_timing"]
    ]
    return {
        "requests_per_s": len(callbacks) / seconds,
        "other_requests_per_s": (len(window) - len(callbacks)) / seconds,
        "bytes_per_s": sum(r.get("bytes", 0) for r in window) / seconds,
        "unanswered": sum("t1" not in r for r in callbacks),
        "latency_ms_p50": _quantile(latency, 0.5),
        "latency_ms_p95": _quantile(latency, 0.95),
        "server_ms_p50": _quantile(server, 0.5),
        "server_ms_p95": _quantile(server, 0.95),
    }


def run_once(
    variant: Variant, env_id: str, steps: int, seed: int, settle: float, workdir: Path, profile: bool = False
) -> dict:
    from rl.worker import train

    runs = workdir / f"{variant.name}-{time.monotonic_ns()}"
    runs.mkdir()
    server = browser = None
    timer = _loop_timer()
    timer.pids = (None, None)
    try:
        if variant.tabs:
            server, url = serving.serve(runs, workdir / f"{runs.name}-serve.log")
            mp = multiprocessing.get_context("spawn")
            ready, stop, results = mp.Event(), mp.Event(), mp.Queue()
            browser = mp.Process(
                target=browse,
                args=(url, variant.tabs, ready, stop, results, settle if profile else None),
                daemon=True,
            )
            browser.start()
            if not ready.wait(timeout=120):
                raise RuntimeError("the browser did not open the dashboard")
            timer.pids = (server.pid, browser.pid)
        summary = train(
            env_id,
            "dqn",
            steps,
            seed=seed,
            run_dir=runs / "run" if variant.telemetry else None,
            telemetry=variant.telemetry,
            callbacks=[timer],
        )
        seen: dict = {"logs": [], "metrics": [], "profile": None}
        if browser is not None:
            stop.set()
            seen = results.get(timeout=60)
            browser.join(timeout=30)
    finally:
        if browser is not None and browser.is_alive():
            browser.kill()
        if server is not None:
            serving.stop(server)
    wall = timer.end - timer.start
    out = {
        "variant": variant.name,
        "sps": summary.steps / timer.wall,
        "seconds": timer.wall,
        "cores": cores_used(timer.before, timer.after, wall),
        "tabs": [
            {
                **tab_figures(log, timer.start + settle, timer.end),
                "main_thread": main_thread(samples, timer.start + settle, timer.end),
                "callbacks": by_callback(log, timer.start + settle, timer.end),
            }
            for log, samples in zip(seen["logs"], seen["metrics"], strict=True)
        ],
    }
    if seen["profile"]:
        out["profile"] = seen["profile"]
    return out


# --------------------------------------------------------------------------- report
def summarize(runs: list[dict], names: list[str]) -> dict:
    base = {r["round"]: r["sps"] for r in runs if r["variant"] == names[0]}
    out = {}
    for name in names:
        mine = [r for r in runs if r["variant"] == name]
        row = {
            "median_sps": statistics.median(r["sps"] for r in mine),
            "round_ratios": [r["sps"] / base[r["round"]] for r in mine],
            "cores": {g: statistics.median(r["cores"][g] for r in mine) for g in mine[0]["cores"]},
        }
        row["ratio"] = statistics.median(row["round_ratios"])
        tabs = [t for r in mine for t in r["tabs"]]
        if tabs:
            numbers = [k for k, v in tabs[0].items() if not isinstance(v, dict | list)]
            row["per_tab"] = {
                k: statistics.median(t[k] for t in tabs if t[k] is not None)
                for k in numbers
                if any(t[k] is not None for t in tabs)
            }
            threads = [t["main_thread"] for t in tabs if t["main_thread"]]
            if threads:
                row["main_thread"] = {k: statistics.median(m[k] for m in threads) for k in PAGE_METRICS}
            row["callbacks"] = mine[-1]["tabs"][0]["callbacks"]  # the last run's first tab, as an example
            row["chromium_cores_per_tab"] = row["cores"]["chromium"] / len(mine[0]["tabs"])
        out[name] = row
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--env", default="neurodash/Breakout-v0", help="environment id")
    parser.add_argument("--steps", type=int, default=30_000, help="training steps per run")
    parser.add_argument("--rounds", type=int, default=3, help="how many times each variant runs (interleaved)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed for every run")
    parser.add_argument("--settle", type=float, default=8.0, help="seconds after the start not counted per tab")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["headless", "unwatched", "live", "network", "activations", "three"],
        choices=[v.name for v in VARIANTS],
        help="which variants to run (the first is the baseline)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="CPU-profile the first page's JavaScript for 10 s in each watched run and print where it went",
    )
    parser.add_argument("--detail", action="store_true", help="also print each tab's callbacks by bytes")
    args = parser.parse_args(argv)

    variants = [v for name in args.variants for v in VARIANTS if v.name == name]
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="neurodash-browser-bench-") as tmp:
        for round_no in range(args.rounds):
            for variant in variants if round_no % 2 == 0 else variants[::-1]:
                result = run_once(variant, args.env, args.steps, args.seed, args.settle, Path(tmp), args.profile)
                result["round"] = round_no
                runs.append(result)
                cores = ", ".join(f"{g} {c:.2f}" for g, c in result["cores"].items() if c >= 0.005)
                tabs = "; ".join(
                    f"{t['requests_per_s']:.1f} req/s, {t['bytes_per_s'] / 1024:.1f} KB/s, "
                    f"server p95 {t['server_ms_p95'] or 0:.0f} ms"
                    for t in result["tabs"]
                )
                print(
                    f"round {round_no + 1}/{args.rounds}  {variant.name:<12} {result['sps']:7.0f} steps/s "
                    f"({result['seconds']:.0f} s)  cores: {cores}" + (f"  tabs: {tabs}" if tabs else ""),
                    flush=True,
                )
                for row in result.get("profile", []):
                    print(f"      {row['ms']:8.1f} ms {row['share']:6.1%}  {row['script']}: {row['function']}")
    report = summarize(runs, [v.name for v in variants])
    print()
    for name, row in report.items():
        line = f"{name:<12} {row['median_sps']:7.0f} steps/s  ratio {row['ratio']:.3f}"
        line += " (" + ", ".join(f"{r:.3f}" for r in row["round_ratios"]) + ")"
        line += "  cores: " + ", ".join(f"{g} {c:.2f}" for g, c in row["cores"].items())
        print(line)
        if "per_tab" in row:
            t = row["per_tab"]
            print(
                f"{'':<12} per tab: Chromium {row['chromium_cores_per_tab']:.2f} core, {t['requests_per_s']:.2f} "
                f"callbacks/s (+{t['other_requests_per_s']:.2f} other), {t['bytes_per_s'] / 1024:.2f} KB/s, browser "
                f"p50/p95 {t.get('latency_ms_p50', 0):.0f}/{t.get('latency_ms_p95', 0):.0f} ms, server p50/p95 "
                f"{t.get('server_ms_p50', 0):.1f}/{t.get('server_ms_p95', 0):.1f} ms"
            )
            if "main_thread" in row:
                print(
                    f"{'':<12} main thread busy: "
                    + ", ".join(f"{k.replace('Duration', '').lower()} {v:.0%}" for k, v in row["main_thread"].items())
                )
            if args.detail:
                for c in row["callbacks"]:
                    print(
                        f"{'':<14}{c['per_s']:5.2f}/s {c['bytes_per_s']:7d} B/s  server p50 "
                        f"{c['server_ms_p50'] or 0:6.1f} ms  {c['callback']}"
                        + (f"  ({c['sent_nothing']} sent nothing)" if c["sent_nothing"] else "")
                    )
    print(
        f"\ntargets: one tab >= {TARGET_ONE_TAB}, three tabs >= {TARGET_THREE_TABS} of headless; per tab <= "
        f"{TARGET_CHROMIUM_CORES} Chromium core, <= {TARGET_REQUESTS_PER_S:g} callbacks/s, <= "
        f"{TARGET_BYTES_PER_S / 1024:g} KB/s, server p95 <= {TARGET_SERVER_P95_MS:g} ms"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs, "report": report}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
