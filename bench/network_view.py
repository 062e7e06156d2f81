"""How fast is the Network tab? Server build times and real-Chromium draw/click times.

For a 12-256-256-3 DQN and a 12-512-512-512-3 network ("3x512") it writes a run folder
the way the worker does (a torch MLP acting on random observations, watched by the real
probe and attribution publisher, 500 activation samples per neuron so every history is
full), then measures:

* **server** (in this process, the functions a Dash server runs): reading the probe's
  record from the store, building what the canvas draws (the scene and the values),
  serialising it to JSON (what goes on the wire), the whole first-load graph callback, a
  live colour update (the values alone), and the neuron inspector callback -- with the
  bytes each sends;
* **browser** (``neurodash serve`` in its own process, a real headless Chromium driven by
  Playwright): from the mouse-down on the Network tab to the graph drawn on its canvas
  (every column laid out, every node coloured) -- the tab switch, the server callback,
  the transfer and the drawing together; from the mouse-down on a neuron to its
  inspector shown with the activation history drawn (and the same for a layer's name);
  the canvas drawing alone; and the shell showing an already-drawn tab.

Targets: graph built and drawn within 300 ms; click -> inspector within 200 ms.

    .venv/bin/python bench/network_view.py                 # both networks, 5 repeats
    .venv/bin/python bench/network_view.py --repeats 10 --out bench/results/network_view.json
    .venv/bin/python bench/network_view.py --live          # and over a worker training live
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import serving  # noqa: E402

ARCHITECTURES = {
    "DQN 12-256-256-3": (12, 256, 256, 3),
    "3x512 12-512-512-512-3": (12, 512, 512, 512, 3),
}
DRAW_BUDGET_MS = 300.0
CLICK_BUDGET_MS = 200.0


def _ms(seconds: float) -> float:
    return round(1000 * seconds, 1)


def _summary(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 1),
        "max": round(max(values), 1),
        "min": round(min(values), 1),
        "n": len(values),
    }


def _json_size(value) -> int:
    import plotly.io

    return len(plotly.io.json.to_json_plotly(value))


# --------------------------------------------------------------------------- server side
def server_timings(run_dir: Path, repeats: int) -> dict:
    from dashapp import read
    from dashapp.figures import graph as N
    from dashapp.tabs import network as TN

    def snapshot(run):
        with read.session(run) as s:
            return read.network.snapshot(s)

    run = str(run_dir)
    TN.update_graph(0, N.DEFAULT_K, TN.TAB_ID, run, None, None)  # warm up (imports)
    rows = {k: [] for k in ("read", "build", "json", "graph_callback", "colour_update", "inspector_callback")}
    sizes = {}
    net = snapshot(run)
    middle = len(net.values) // 2
    for r in range(repeats):
        t = time.perf_counter()
        net = snapshot(run)
        rows["read"].append(_ms(time.perf_counter() - t))
        k = N.default_k(net.sizes)
        t = time.perf_counter()
        scene, values = N.graph_scene(net, k), N.graph_values(net)
        rows["build"].append(_ms(time.perf_counter() - t))
        t = time.perf_counter()
        sizes["scene_bytes"] = _json_size(scene)
        sizes["values_bytes"] = _json_size(values)
        rows["json"].append(_ms(time.perf_counter() - t))
        t = time.perf_counter()
        out = TN.update_graph(r, k, TN.TAB_ID, run, None, None)
        _json_size(list(out))
        rows["graph_callback"].append(_ms(time.perf_counter() - t))
        t = time.perf_counter()
        _json_size(N.graph_values(net))
        rows["colour_update"].append(_ms(time.perf_counter() - t))
        sel = {"kind": "neuron", "column": middle, "index": r % net.sizes[middle]}
        t = time.perf_counter()
        out = TN.update_inspector(r, sel, TN.TAB_ID, run, None)
        sizes["inspector_bytes"] = _json_size(list(out))
        rows["inspector_callback"].append(_ms(time.perf_counter() - t))
    sizes["highlight_bytes"] = _json_size(N.graph_highlight(net, {"kind": "neuron", "column": middle, "index": 0}))
    sizes["k"] = N.default_k(net.sizes)
    sizes["edges"] = int(sum(len(g["src"]) for g in N.edge_groups(net, sizes["k"])))
    sizes["nodes"] = int(sum(net.sizes))
    return {"ms": {k: _summary(v) for k, v in rows.items()}, "sizes": sizes}


# --------------------------------------------------------------------------- browser side
_WATCH_DRAW = """(sizes) => {  // before the click: note when the canvas first draws this network
    window._t1 = null;
    const canvas = document.getElementById('network-canvas');
    const watch = new MutationObserver(() => {  // runs right after a draw marks the canvas
        const s = window.neurodash && window.neurodash.network.state();
        if (window._t1 !== null || !s || !s.geometry || !s.values) return;
        if (JSON.stringify(s.geometry.ys.map(c => c.length)) !== JSON.stringify(sizes)) return;
        window._t1 = s.drawnAt;
        watch.disconnect(); });
    watch.observe(canvas, {attributes: true, attributeFilter: ['data-draws']}); }"""

_INSPECTED = """([panel, title, graph]) => {
    const p = document.getElementById(panel);
    if (!p || p.classList.contains('nd-collapsed')) return false;
    const t = document.getElementById(title);
    if (!t || !t.textContent.startsWith(window._expect) || t.textContent === window._prevTitle) return false;
    if (graph) {  // its charts are the new ones, decoded and drawn
        const imgs = Array.from(document.querySelectorAll(`#${graph} img`));
        if (!imgs.length || imgs[0].src === window._prevSrc || !imgs.every(i => i.complete && i.naturalWidth > 0))
            return false;
    }
    window._t1 = performance.now();
    return true; }"""

_BEFORE_CLICK = """([expect, title, graph]) => {
    window._expect = expect; window._t1 = null;
    const t = document.getElementById(title); window._prevTitle = t ? t.textContent : null;
    const img = graph && document.querySelector(`#${graph} img`);
    window._prevSrc = img ? img.src : null; }"""


_SHOWN = """() => {
    const c = document.getElementById('network-canvas');
    if (!c || c.getBoundingClientRect().width === 0 || getComputedStyle(c).visibility !== 'visible') return false;
    window._t1 = performance.now();
    return true; }"""

_REVEAL = """([c, i]) => {  // where node i of column c (i = -1: its title) is, scrolled into view first
    const N = window.neurodash.network, at = () => i < 0 ? N.titleCenter(null, c) : N.nodeCenter(null, c, i);
    const p = at();
    if (p.y < 140 || p.y > window.innerHeight - 40)
        window.scrollBy({top: p.y - window.innerHeight / 2, behavior: "instant"});
    return at(); }"""

_DRAW_ONLY = """() => {
    // the canvas drawing alone (no server, no Dash): the same scene again, then new colours
    const N = window.neurodash.network, s = N.state();
    N.update('network-graph', s.scene, s.values, s.highlight, s.selection);
    const draw = s.drawMs;
    const flipped = Object.assign({}, s.values, {values: s.values.values.map(c => c.map(v => v === null ? v : -v))});
    N.update('network-graph', s.scene, flipped, s.highlight, s.selection);
    return [draw, s.drawMs]; }"""


def browser_timings(run_dir: Path, sizes: tuple[int, ...], repeats: int, log: Path) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS

    proc, url = serving.serve(run_dir.parent, log)
    middle = len(sizes) // 2
    draw, neuron_click, layer_click, draw_only, colour_update, tab_switch = [], [], [], [], [], []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for _ in range(repeats):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(30_000)
                page.goto(url)
                page.wait_for_function(
                    "() => document.querySelector('#app-run-picker') && "
                    "document.querySelector('#app-status') && "
                    "!document.querySelector('[data-dash-is-loading]')"
                )
                time.sleep(1.5)  # let the Live tab settle: measure the Network tab alone
                tab = page.get_by_role("tab", name="Network")
                page.evaluate(
                    "() => { window._t0 = null; document.addEventListener('mousedown', "
                    "() => { window._t0 = performance.now(); }, {capture: true}); }"
                )
                page.evaluate(_WATCH_DRAW, list(sizes))
                tab.click()
                page.wait_for_function("() => window._t1 !== null", polling="raf")
                draw.append(page.evaluate("() => window._t1 - window._t0"))
                time.sleep(1.0)
                only, colours = page.evaluate(_DRAW_ONLY)
                draw_only.append(only)
                colour_update.append(colours)
                # click -> neuron inspector (with its activation history drawn)
                for j in (3, sizes[middle] // 2, sizes[middle] - 4):  # far apart: dense columns overlap
                    where = page.evaluate(_REVEAL, [middle, j])
                    page.evaluate(
                        _BEFORE_CLICK,
                        [f"fc{middle} · neuron #{j} ", "network-inspector-title", "network-inspector-charts"],
                    )
                    page.mouse.click(where["x"], where["y"])
                    page.wait_for_function(
                        _INSPECTED,
                        arg=["network-inspector-body", "network-inspector-title", "network-inspector-charts"],
                        polling="raf",
                    )
                    neuron_click.append(page.evaluate("() => window._t1 - window._t0"))
                    time.sleep(0.5)
                # click -> layer inspector
                where = page.evaluate(_REVEAL, [middle, -1])
                page.evaluate(_BEFORE_CLICK, [f"Layer fc{middle}", "network-inspector-title", None])
                page.mouse.click(where["x"], where["y"])
                page.wait_for_function(
                    _INSPECTED, arg=["network-inspector-body", "network-inspector-title", None], polling="raf"
                )
                layer_click.append(page.evaluate("() => window._t1 - window._t0"))
                # the shell's own cost of showing a tab whose graph is already drawn (nothing is
                # fetched or redrawn): the part of tab_click_to_graph_drawn that is not ours
                page.get_by_role("tab", name="Live").click()
                time.sleep(1.0)
                page.get_by_role("tab", name="Network").click()
                page.wait_for_function(_SHOWN, polling="raf")
                tab_switch.append(page.evaluate("() => window._t1 - window._t0"))
                page.close()
            browser.close()
    finally:
        serving.stop(proc)
    return {
        "tab_click_to_graph_drawn": _summary(draw),
        "click_to_neuron_inspector": _summary(neuron_click),
        "click_to_layer_inspector": _summary(layer_click),
        "canvas_draw_only": _summary(draw_only),
        "canvas_colour_update": _summary(colour_update),
        "shell_tab_switch_only": _summary(tab_switch),
    }


# --------------------------------------------------------------------------- live
LIVE = "DQN 17-256-256-3, training live"


def live_timings(tmp: Path, repeats: int) -> dict:
    """The browser timings over a worker that trains while the page is measured."""
    from dashapp import demo, read

    run_dir = tmp / "runs-live" / "live"
    cmd = demo.worker_command(
        run_dir,
        10**9,
        0,
        ["--hidden-sizes", "256", "256", "--torch-threads", "1", "--checkpoint-every", "0", "--quiet"],
    )
    proc = demo.start_worker(cmd)
    try:
        deadline = time.monotonic() + 90
        net = None
        while net is None and time.monotonic() < deadline:
            time.sleep(0.5)
            if proc.poll() is not None:
                raise RuntimeError(f"the training worker exited with {proc.returncode}")
            try:
                net = None
                if (run_dir / "run.json").exists():
                    with read.session(run_dir) as s:
                        net = read.network.snapshot(s)
            except read.BrokenRun:
                net = None
        if net is None:
            raise RuntimeError("the training worker published no network sample within 90 s")
        sizes = tuple(net.sizes)
        print(f"\n== {LIVE}: {sum(sizes)} nodes, the worker training at full speed", flush=True)
        entry = {"sizes": list(sizes), "browser_ms": browser_timings(run_dir, sizes, repeats, tmp / "serve-live.log")}
        _print_browser(entry["browser_ms"])
        return entry
    finally:
        serving.stop(proc, 15)


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="page loads per network (3 neuron clicks each)")
    parser.add_argument("--steps", type=int, default=500, help="acting steps written per run (500 fills the histories)")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--no-browser", action="store_true", help="server-side timings only")
    parser.add_argument(
        "--live",
        action="store_true",
        help="also measure the browser over a real worker training a 17-256-256-3 DQN on Breakout "
        "(live colour, inspector and analysis updates, and the worker using a CPU)",
    )
    args = parser.parse_args(argv)

    from tests.dashapp.network_run import write_run

    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_at_start": list(os.getloadavg()),
        },
        "networks": {},
    }
    with tempfile.TemporaryDirectory(prefix="neurodash-bench-") as tmp:
        for i, (name, sizes) in enumerate(ARCHITECTURES.items()):
            run_dir = Path(tmp) / f"runs-{i}" / f"net-{i}"
            t = time.perf_counter()
            write_run(run_dir, sizes=sizes, steps=args.steps, publish_every_s=1e9)
            print(f"{name}: wrote the run in {time.perf_counter() - t:.1f} s", flush=True)
            entry = {"sizes": list(sizes), "server": server_timings(run_dir, args.repeats)}
            _print(name, entry)
            if not args.no_browser:
                entry["browser_ms"] = browser_timings(run_dir, sizes, args.repeats, Path(tmp) / f"serve-{i}.log")
                _print_browser(entry["browser_ms"])
            results["networks"][name] = entry
        if args.live and not args.no_browser:
            results["networks"][LIVE] = live_timings(Path(tmp), args.repeats)
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    print(
        f"load average (1/5/15 min) at start {results['machine']['load_average_at_start']}, "
        f"at end {results['machine']['load_average_at_end']} on {os.cpu_count()} CPUs"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.out}")
    return 0


def _print(name: str, entry: dict) -> None:
    s = entry["server"]
    print(f"\n== {name}: {s['sizes']['nodes']} nodes, {s['sizes']['edges']} edges drawn (k={s['sizes']['k']})")
    print("server (ms, median / max):")
    for k, v in s["ms"].items():
        print(f"  {k:<22} {v['median']:>7} / {v['max']}")
    print("bytes: " + ", ".join(f"{k} {v:,}" for k, v in s["sizes"].items() if k.endswith("bytes")))


def _print_browser(b: dict) -> None:
    if b:
        print("browser (ms, median / max):")
        for k, v in b.items():
            if k.startswith(("canvas", "shell")):
                print(f"  {k:<28} {v['median']:>7} / {v['max']}  (n={v['n']})")
                continue
            budget = DRAW_BUDGET_MS if k.startswith("tab") else CLICK_BUDGET_MS
            verdict = "within" if v["max"] <= budget else ("median within" if v["median"] <= budget else "OVER")
            print(f"  {k:<28} {v['median']:>7} / {v['max']}  ({verdict} {budget:.0f} ms, n={v['n']})")


if __name__ == "__main__":
    sys.exit(main())
