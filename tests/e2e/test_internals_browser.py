"""The Activations, Gradients and Weights tabs and the alerts panel in a real Chromium,
over a real training worker in which one hidden layer was planted dead."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashapp import demo, read
from tests.dashapp.reading import worker_status
from tests.e2e.conftest import REPO
from tests.e2e.helpers import graph_traces, text_of, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SCREENSHOT_DIR = Path(os.environ.get("NEURODASH_SCREENSHOT_DIR", "/tmp"))

#: The worker: our DQN on Breakout with one small hidden layer (fc1) and the dying-ReLU
#: teaching demo switched on for it (``ProbeConfig.dead_init_layer``), through the
#: public Python API. Probe settings are the defaults apart from the demo switch.
WORKER = """
import sys
from rl.probe import ProbeCallback, ProbeConfig
from rl.worker import train
train("neurodash/Breakout-v0", "dqn", 200_000, seed=0, run_dir=sys.argv[1],
      overrides={"hidden_sizes": (16, 16), "learning_starts": 200, "checkpoint_every": 0, "torch_threads": 1,
                 "probe": False},
      callbacks=[ProbeCallback(ProbeConfig(dead_init_layer="fc1"))])
"""


@pytest.fixture
def planted_worker(tmp_path):
    procs = []

    def start(run_dir: Path) -> subprocess.Popen:
        log = tmp_path / "worker.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", WORKER, str(run_dir)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
                env=dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO)),
            )
        procs.append((proc, run_dir))

        def heartbeat():
            if proc.poll() is not None:
                raise AssertionError(f"worker exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                return worker_status(run_dir).state == "running"
            except read.BrokenRun:
                return False

        wait_until(heartbeat, 60, "the worker running")
        return proc

    yield start
    for proc, run_dir in procs:
        demo.stop_worker(proc, run_dir, timeout=10)


def open_tab(page, label: str) -> None:
    page.locator("#app-tabs .nav-link", has_text=label).click()


def drawn(page, graph_id: str) -> bool:
    """True once the graph shows real traces with data (not the waiting placeholder)."""
    traces = graph_traces(page, graph_id)
    return bool(traces) and any(t["n"] > 0 for t in traces)


def heatmap_columns(page, graph_id: str) -> int:
    return page.evaluate(
        """(id) => { const gd = document.querySelector(`#${CSS.escape(id)} .js-plotly-plot`);
                     return gd && gd.data && gd.data[0] && gd.data[0].x ? gd.data[0].x.length : 0; }""",
        graph_id,
    )


def grid_row(page, row: int) -> list:
    return page.evaluate(
        """(r) => { const gd = document.querySelector('#activations-dead-graph .js-plotly-plot');
                    return gd && gd.data && gd.data[0] && gd.data[0].z ? gd.data[0].z[r] : []; }""",
        row,
    )


def test_internals_tabs_show_live_data_and_the_planted_dead_layer_alerts(
    tmp_path, planted_worker, serve_dashboard, page, page_log
):
    runs = tmp_path / "runs"
    planted_worker(runs / "dead-fc1")
    served = serve_dashboard(runs)
    responses: list[tuple[str, int, str]] = []
    page.on(
        "response",
        lambda r: (
            responses.append((r.url, r.status, r.request.post_data or ""))
            if "_dash-update-component" in r.url
            else None
        ),
    )
    page.goto(served.url)

    # The alerts panel is above every tab: the planted dead layer shows up while the Live tab is open.
    wait_until(lambda: "Dead neurons" in text_of(page, "#alerts-panel"), 90, "the dead-neuron alert")
    panel = text_of(page, "#alerts-panel")
    assert "fc1" in panel and "critical" in panel and "What to try" in panel
    assert page.locator("#alerts-panel .alert-danger").count() >= 1  # shown in the critical colour
    wait_until(lambda: page.locator("#alerts-float").is_visible(), 10, "the alert badge in the window's corner")
    assert "network alert" in text_of(page, "#alerts-float")

    # Hidden tabs fetch nothing: while Live is shown, the probe tabs' callbacks answer "no update".
    probe_tabs = [
        r for r in responses if "activations-cursor" in r[2] or "gradients-cursor" in r[2] or "weights-cursor" in r[2]
    ]
    assert probe_tabs and all(status == 204 for _, status, _ in probe_tabs)

    open_tab(page, "Activations")
    for graph in (
        "activations-hist-graph",
        "activations-dead-graph",
        "activations-hist-time",
        "activations-sparklines",
    ):
        wait_until(lambda graph=graph: drawn(page, graph), 30, f"{graph} drawn with data")
    assert "fc1" in text_of(page, "#activations-cards") and "16 of 16" in text_of(page, "#activations-cards")
    wait_until(
        lambda: grid_row(page, 0) and all(v == 0 for v in grid_row(page, 0)), 20, "every fc1 cell dead in the grid"
    )
    assert any(v != 0 for v in grid_row(page, 1)), "fc2 is not planted: it has live neurons"
    first = heatmap_columns(page, "activations-hist-time")
    wait_until(
        lambda: heatmap_columns(page, "activations-hist-time") > first, 20, "the activation heatmap to grow (Patch)"
    )
    page.screenshot(path=str(SCREENSHOT_DIR / "neurodash-activations.png"), full_page=True)

    open_tab(page, "Gradients")
    for graph in ("gradients-heatmap", "gradients-lines"):
        wait_until(lambda graph=graph: drawn(page, graph), 30, f"{graph} drawn with data")
    wait_until(lambda: "vanishing" in text_of(page, "#gradients-verdicts"), 20, "a vanishing verdict")
    verdict_fc1 = page.locator("[id*='gradients-verdict'][id*='fc1'] [data-verdict]").first.get_attribute(
        "data-verdict"
    )
    assert verdict_fc1 == "vanishing"  # nothing flows back through a dead layer
    first = heatmap_columns(page, "gradients-heatmap")
    wait_until(lambda: heatmap_columns(page, "gradients-heatmap") > first, 20, "the gradient heatmap to grow")
    page.screenshot(path=str(SCREENSHOT_DIR / "neurodash-gradients.png"), full_page=True)

    page.mouse.wheel(0, 3000)  # scrolled far down the tab: the corner badge is still in view
    assert page.locator("#alerts-float").is_visible()

    open_tab(page, "Weights")
    for graph in ("weights-hist-graph", "weights-hist-time", "weights-velocity"):
        wait_until(lambda graph=graph: drawn(page, graph), 30, f"{graph} drawn with data")
    assert "fc1" in text_of(page, "#weights-table") and "velocity" in text_of(page, "#weights-table")
    points = graph_traces(page, "weights-velocity")[0]["n"]
    wait_until(lambda: graph_traces(page, "weights-velocity")[0]["n"] > points, 20, "velocity points added")
    page.screenshot(path=str(SCREENSHOT_DIR / "neurodash-weights.png"), full_page=True)

    time.sleep(1.5)
    assert page_log.external(served.url) == []
    assert page_log.errors == []
