"""The Live tab in a real Chromium, over real worker and server processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dashapp.figures import live as F
from rl import telemetry as T
from tests.dashapp.reading import worker_status
from tests.dashapp.runbuilder import newer_schema_run
from tests.e2e.helpers import (
    REPO,
    free_port,
    graph_points,
    graph_traces,
    status,
    text_of,
    wait_until,
    wait_until_stable,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

#: The thin "value" line of the first action on the Q-value chart.
Q_LINE = F.q_trace_index(0, F.VALUE)
#: Where a screenshot of the live page is kept for people to look at.
SCREENSHOT = Path(os.environ.get("NEURODASH_SCREENSHOT_DIR", "/tmp")) / "neurodash-live.png"


def q_points(page) -> int:
    return graph_points(page, "live-q-graph", Q_LINE)


#: How long a control may take to show on the page: the command goes page -> server ->
#: store -> worker (polled every 0.1 s) -> heartbeat -> store -> page (polled every 1 s);
#: on a shared 2-core machine with the worker, the server and Chromium all busy, that
#: round trip has been seen to take several seconds.
CONTROL_TIMEOUT = 20


def wait_for_control(page, run_dir: Path, check, what: str):
    """Wait for what a control should do; on a timeout, say where the command got stuck:
    whether the page sent it, and what the worker itself last reported in the store."""
    try:
        return wait_until(check, CONTROL_TIMEOUT, what)
    except AssertionError as exc:
        worker = worker_status(run_dir)
        raise AssertionError(
            f"{exc}; the page said {text_of(page, '#app-control-feedback')!r} and shows "
            f"{status(page)!r} / {text_of(page, '#app-status-detail')!r}; the worker's own heartbeat: "
            f"state {worker.state!r}, step {worker.step}, age {worker.age} s, message {worker.message!r}"
        ) from exc


def status_step(page) -> int:
    """The step number in the status line ("step 1,234 of 200,000 ...")."""
    match = re.search(r"step ([\d,]+)", text_of(page, "#app-status-detail"))
    return int(match.group(1).replace(",", "")) if match else -1


def test_live_tab_from_empty_folder_to_training_pause_and_resume(
    tmp_path, start_training, serve_dashboard, page, page_log, wait_for_status
):
    runs = tmp_path / "runs"
    runs.mkdir()
    served = serve_dashboard(runs)
    page.goto(served.url)
    # an empty folder: a sentence on how to start, not a blank page
    wait_until(lambda: "No training runs here yet" in text_of(page, "#app-notice"), 15, "the how-to-start sentence")
    wait_until(lambda: status(page) == "no run", 10, "status 'no run'")

    # a run this neurodash cannot read, and a real training run: both appear without a reload
    newer_schema_run(runs / "zz-from-the-future")
    # 10 step records a second: the chart keeps every one for the whole test (stride 1,
    # far below its 600-point cap), so its point count grows exactly while training runs.
    start_training(runs / "live-run", extra=["--step-records-per-s", "10"])
    wait_for_status(page, "running", 20)
    notice = text_of(page, "#app-notice")
    assert "zz-from-the-future" in notice and "schema" in notice
    assert "live-run" in text_of(page, "#app-run-picker")

    first = wait_until(lambda: q_points(page), 20, "the first Q-values on the chart")
    wait_until(lambda: q_points(page) >= first + 5, 15, "the Q-value chart to grow")
    # one line, band and average per action, named from RunMeta, plus a "now" marker each
    names = [t["name"] for t in graph_traces(page, "live-q-graph")]
    assert {"LEFT", "STAY", "RIGHT"} <= set(names) and len(names) == 3 * F.Q_TRACES_PER_ACTION + 3
    cards = text_of(page, "#live-q-cards")
    assert all(a in cards for a in ("LEFT", "STAY", "RIGHT")) and "confidence" in cards
    wait_until(lambda: page.locator("#live-frame-box img").count() == 1, 10, "the game picture")

    run_dir = runs / "live-run"
    page.click("#app-pause")
    wait_for_control(page, run_dir, lambda: status(page) == "paused", "status 'paused'")
    assert page.locator("#app-resume").is_enabled() and page.locator("#app-step").is_enabled()
    assert not page.locator("#app-pause").is_enabled()
    # The worker flushed what it had buffered when it paused; once the page has drawn
    # that, the chart must stay as it is.
    paused_at = wait_until_stable(lambda: q_points(page), 1.5, 15, "the chart to settle after pausing")
    time.sleep(3.0)
    assert q_points(page) == paused_at, "the Q-value chart kept growing while paused"
    assert status(page) == "paused"

    # single step while paused: the worker makes exactly one move and waits again
    before = status_step(page)
    page.click("#app-step")
    wait_for_control(page, run_dir, lambda: status_step(page) == before + 1, f"step {before + 1} after a single step")
    time.sleep(1.5)
    assert status_step(page) == before + 1 and status(page) == "paused"

    page.click("#app-resume")
    wait_for_control(page, run_dir, lambda: status(page) == "running", "status 'running' after resume")
    wait_until(lambda: q_points(page) > paused_at + 3, 15, "the chart to grow again after resume")
    wait_until(lambda: graph_points(page, "live-episodes-graph") > 0, 20, "finished episodes on the chart")

    page.click("#app-speed-watch")
    wait_until(lambda: "watch speed" in text_of(page, "#app-status-detail"), 10, "watch speed")
    page.click("#app-speed-full")
    wait_until(lambda: "full speed" in text_of(page, "#app-status-detail"), 10, "full speed")

    page.mouse.move(0, 0)  # no tooltip in the picture
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert page_log.external(served.url) == [], "the page must work without internet"
    assert any("/assets/bootstrap.min.css" in u for u in page_log.requests)

    # Stop asks for confirmation (the page fixture accepts it), then the worker ends cleanly.
    page.click("#app-stop")
    wait_for_status(page, "stopped", 20)
    assert all(not page.locator(c).is_enabled() for c in ("#app-pause", "#app-resume", "#app-step", "#app-stop"))
    assert page_log.errors == []


def test_demo_trains_serves_and_stops_the_worker_on_ctrl_c(tmp_path, page):
    runs, port = tmp_path / "runs", free_port()
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dashapp.cli",
                "demo",
                "--runs",
                str(runs),
                "--port",
                str(port),
                "--no-browser",
                "--steps",
                "100000",
                "--seed",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
    url = f"http://127.0.0.1:{port}/"
    try:

        def serving():
            if proc.poll() is not None:
                raise AssertionError(f"demo exited early ({proc.returncode}): {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    return resp.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        wait_until(serving, 60, "the demo's dashboard")
        page.goto(url)
        wait_until(lambda: status(page) == "running", 30, "the demo's worker running")
        wait_until(lambda: q_points(page) > 0, 20, "Q-values from the demo's worker")
        (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
        assert run_dir.name.endswith("-breakout-dqn")
        worker_pid = worker_status(run_dir).pid

        proc.send_signal(signal.SIGINT)  # what Ctrl-C does
        assert proc.wait(40) == 0
        final = worker_status(run_dir)
        assert final.state == T.STOPPED, (final, log.read_text()[-2000:])
        assert "stopped from the dashboard" in final.message
        with pytest.raises(ProcessLookupError):
            os.kill(worker_pid, 0)  # the worker process is gone too
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
