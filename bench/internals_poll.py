"""The Activations, Gradients and Weights tabs (and the alerts panel) "open" during a bench run.

:class:`InternalsTabsOpen` is a training callback for ``bench/throughput.py``: when
training starts it launches a separate process that, every second, runs the real
dashboard callbacks a Dash server runs for a browser showing these tabs -- read the
store from the page's cursor, build the figures, return them -- and measures the JSON
each would send. Like a person clicking through them, it shows one tab at a time and
moves to the next every ``ROTATE_S`` seconds (each switch draws that tab's charts whole,
as the browser's first view does); the alerts panel, which sits above every tab, is
polled on every tick.

    python bench/throughput.py --variants headless telemetry probe
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import time
from pathlib import Path

POLL_INTERVAL_S = 1.0
#: Seconds each tab stays the visible one.
ROTATE_S = 10.0


def _size(value) -> int:
    import plotly.utils

    return len(json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder))


def poll_tabs(runs, ready, stop, results, interval: float = POLL_INTERVAL_S) -> None:
    """Run the probe tabs' callbacks every ``interval`` seconds until ``stop`` is set:
    each tab's tick, and its load whenever the tick asks for one (as the browser would).

    Imports first, then ``ready``, then waits for the run folder on ``runs`` -- so the
    "dashboard" is up before training starts and its start-up is not timed with it."""
    from dash import no_update
    from dash.exceptions import PreventUpdate

    from dashapp import alerts
    from dashapp.tabs import activations, gradients, weights

    ready.set()
    run_dir = runs.get()
    if run_dir is None:  # the run has no folder to read
        results.put({"polls": 0, "bytes": [], "seconds": []})
        return
    state: dict[str, object] = {}
    sizes, seconds = [], []
    tick = 0

    def run(name, tick_fn, tick_args, load_fn, load_args, panels_at=None):
        """One tick (and load): returns the JSON bytes the browser would receive. A tab
        whose small figures are patched keeps what they show (its "-panels" store)."""
        extra = () if panels_at is None else (state.get(f"{name}-panels"),)
        try:
            out = tick_fn(tick, *tick_args, state.get(name), *extra)
        except PreventUpdate:
            return 0
        if panels_at is not None and out[panels_at] is not no_update:
            state[f"{name}-panels"] = out[panels_at]
        if out[-2] is not no_update:
            state[name] = out[-2]
        sent = _size([o for o in out[:-2] if o is not no_update])
        if out[-1] is not no_update:
            *figs, state[name] = load_fn(out[-1], *load_args)
            sent += _size(figs)
        return sent

    next_poll = started_at = time.monotonic()
    while not stop.wait(max(0.0, next_poll - time.monotonic())):
        next_poll += interval
        tick += 1
        visible = ("activations", "gradients", "weights")[int((time.monotonic() - started_at) // ROTATE_S) % 3]
        started = time.perf_counter()
        sent = 0
        if visible in ("activations", "weights"):
            tab = activations if visible == "activations" else weights
            try:
                options, value, listed = tab.update_layer_choice(
                    tick,
                    tab.TAB_ID,
                    run_dir,
                    state.get(f"{visible}-layer"),
                    state.get(f"{visible}-options"),
                    state.get(f"{visible}-listed"),
                )
                if isinstance(value, str):
                    state[f"{visible}-layer"] = value
                if isinstance(options, list):
                    state[f"{visible}-options"] = options
                if isinstance(listed, str):
                    state[f"{visible}-listed"] = listed
            except PreventUpdate:
                pass
        layer = state.get(f"{visible}-layer")
        if visible == "activations":
            sent += run(
                "activations",
                activations.tick_activations,
                (activations.TAB_ID, layer, run_dir),
                activations.load_activations,
                (run_dir, layer),
                panels_at=4,
            )
            try:
                out = activations.tick_sparklines(tick, activations.TAB_ID, layer, 0, run_dir, state.get("spark"), None)
                if out[3] is not no_update:
                    state["spark"] = out[3]
                sent += _size([o for o in out[:3] if o is not no_update])
                if out[4] is not no_update:
                    fig, state["spark"] = activations.load_sparklines(out[4], run_dir)
                    sent += _size(fig)
            except PreventUpdate:
                pass
        elif visible == "gradients":
            sent += run(
                "gradients", gradients.tick_gradients, (gradients.TAB_ID, run_dir), gradients.load_gradients, (run_dir,)
            )
        else:
            sent += run(
                "weights",
                weights.tick_weights,
                (weights.TAB_ID, layer, run_dir),
                weights.load_weights,
                (run_dir, layer),
                panels_at=2,
            )
        try:
            out = alerts.update_alerts(tick, run_dir, state.get("alerts"))
            state["alerts"] = out[-1]
            sent += _size(out[:-1])
        except PreventUpdate:
            pass
        seconds.append(time.perf_counter() - started)
        sizes.append(sent)
    results.put({"polls": len(sizes), "bytes": sizes, "seconds": seconds})


def _training_callback_base():
    from rl.callbacks import Callback

    return Callback


class InternalsTabsOpen(_training_callback_base()):
    """Keeps the probe tabs "open" (see the module doc) while a bench run trains.

    The polling process is started, and waited for until its imports are done, when the
    callback is built -- before training, like a dashboard that is already open."""

    def __init__(self) -> None:
        mp = multiprocessing.get_context("spawn")
        self.runs, self.ready, self.stop, self.results = mp.Queue(), mp.Event(), mp.Event(), mp.Queue()
        self.proc = mp.Process(target=poll_tabs, args=(self.runs, self.ready, self.stop, self.results), daemon=True)
        self.proc.start()
        if not self.ready.wait(timeout=120):
            raise RuntimeError("the probe tabs' polling process did not start")
        self.summary: dict = {}

    def on_training_start(self, ctx) -> None:
        directory = getattr(ctx.store, "directory", None)  # a DiskStore lives in <run>/telemetry
        self.runs.put(None if directory is None else str(Path(directory).parent))

    def on_training_end(self, ctx) -> None:
        self.stop.set()
        polled = self.results.get(timeout=60)
        self.proc.join(timeout=30)
        sizes, seconds = polled["bytes"], polled["seconds"]
        self.summary = {
            "polls": polled["polls"],
            "bytes_mean": statistics.mean(sizes) if sizes else 0.0,
            "bytes_max": max(sizes) if sizes else 0,
            "poll_ms_mean": 1000 * statistics.mean(seconds) if seconds else 0.0,
        }
        if self.summary["polls"]:  # (the bench's short warm-up runs end before the first poll)
            print(
                f"    probe tabs: {self.summary['polls']} polls, {self.summary['bytes_mean']:.0f} bytes/poll "
                f"(max {self.summary['bytes_max']}), {self.summary['poll_ms_mean']:.0f} ms/poll",
                flush=True,
            )


def probe_tabs_callbacks() -> list:
    """The bench's "probe" variant: the probe at its default sampling (ProbeConfig()) and
    the probe tabs kept open (the attribution publisher, switched with ``probe``, stays off)."""
    from rl.probe import ProbeCallback, ProbeConfig

    return [ProbeCallback(ProbeConfig()), InternalsTabsOpen()]


__all__ = ["InternalsTabsOpen", "poll_tabs", "probe_tabs_callbacks"]
