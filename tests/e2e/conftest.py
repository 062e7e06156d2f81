"""Fixtures for the end-to-end tests: real processes, a real headless Chromium.

Reuse them for any tab's browser test (mark the test ``@pytest.mark.browser``):

``start_training(run_dir, steps=..., extra=[...])``
    starts a real training worker -- ``python -m dashapp.cli train`` on our Breakout with
    the DQN agent and a small network (:data:`SMALL_NETWORK`), at full speed -- as its own
    process, waits until it reports a heartbeat, and returns a :class:`Training`
    (``.proc``, ``.run_dir``, ``.log``). At teardown it asks the worker to stop through the
    store, then terminates it if needed. The command line is the demo's own
    (``dashapp.demo.worker_command``).

``serve_dashboard(runs_dir, extra=[...])``
    starts ``python -m dashapp.cli serve --runs DIR --port <free> --no-browser`` as its
    own process, waits until the page answers, and returns a :class:`Served`
    (``.url``, ``.port``, ``.proc``, ``.log``). Stopped at teardown.

``page``
    a fresh Chromium page (1400x1000) in its own context. ``page_log`` holds what it did:
    ``page_log.requests`` (every URL requested) and ``page_log.errors`` (console errors
    and uncaught page errors).

``browser``
    the session's Chromium (``/usr/bin/chromium``). When that binary is missing the
    browser tests fail (a run without them is not a pass); ``make test`` installs it.

Helpers for reading the page (points in a graph, the status badge, waiting) are in
``tests/e2e/helpers.py``. Process logs are printed when a fixture fails to start, to
make a failure explain itself.
"""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dashapp import demo, read
from tests.dashapp.reading import worker_status
from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS, REPO, free_port, serve_command, wait_until

#: A small, quick network for browser tests: learning starts early, no checkpoints on
#: the way, one torch thread (the machine is shared), no progress bar in the log.
SMALL_NETWORK = [
    "--hidden-sizes",
    "16",
    "--learning-starts",
    "200",
    "--checkpoint-every",
    "0",
    "--torch-threads",
    "1",
    "--quiet",
]


def _env() -> dict:
    return dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# --------------------------------------------------------------------------- processes
@dataclass
class Training:
    proc: subprocess.Popen
    run_dir: Path
    log: Path


@dataclass
class Served:
    url: str
    port: int
    proc: subprocess.Popen
    log: Path


@pytest.fixture
def start_training(tmp_path):
    started: list[Training] = []

    def start(
        run_dir: Path, steps: int = 200_000, extra: list[str] | None = None, seed: int = 0, timeout: float = 60
    ) -> Training:
        log = tmp_path / f"train-{len(started)}.log"
        cmd = demo.worker_command(Path(run_dir), steps, seed, SMALL_NETWORK + list(extra or []))
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=_env(), start_new_session=True
            )
        training = Training(proc, Path(run_dir), log)
        started.append(training)

        def heartbeat():
            if proc.poll() is not None:
                raise AssertionError(f"training exited with {proc.returncode}:\n{_tail(log)}")
            try:
                return worker_status(run_dir).state != read.NO_HEARTBEAT
            except read.BrokenRun:
                return False  # the run folder is not there yet

        wait_until(heartbeat, timeout, f"the worker's first heartbeat in {run_dir}")
        return training

    yield start
    for t in started:
        demo.stop_worker(t.proc, t.run_dir, timeout=10)


@pytest.fixture
def serve_dashboard(tmp_path):
    started: list[Served] = []

    def serve(runs_dir: Path, extra: list[str] | None = None, timeout: float = 30) -> Served:
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                serve_command(runs_dir, port, *(extra or [])),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=_env(),
            )
        served = Served(f"http://127.0.0.1:{port}/", port, proc, log)
        started.append(served)

        def answers():
            if proc.poll() is not None:
                raise AssertionError(f"`neurodash serve` exited with {proc.returncode}:\n{_tail(log)}")
            try:
                with urllib.request.urlopen(served.url, timeout=2) as resp:
                    return resp.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        wait_until(answers, timeout, f"the dashboard on {served.url}")
        return served

    yield serve
    for s in started:
        _stop(s.proc)


# --------------------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):  # a failure, not a skip: a run without the browser tests is not a pass
        pytest.fail(
            f"{CHROMIUM} is not installed: `make test` installs it (Debian's chromium), or deselect "
            "the browser tests with -m 'not browser'"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class PageLog:
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def external(self, base_url: str) -> list[str]:
        """Requests that went anywhere but ``base_url`` (data: and blob: URLs are local)."""
        local = (base_url.rstrip("/"), "data:", "blob:", "about:")
        return sorted({u for u in self.requests if not u.startswith(local)})


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(browser, page_log):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.on("request", lambda req: page_log.requests.append(req.url))
    pg.on("console", lambda msg: page_log.errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: page_log.errors.append(f"page error: {exc}"))
    # dcc.ConfirmDialogProvider uses window.confirm: accept it as a user would.
    pg.on("dialog", lambda dialog: dialog.accept())
    yield pg
    context.close()


@pytest.fixture
def wait_for_status():
    """``wait_for_status(page, "paused", timeout=15)``: wait until the badge says so."""
    from tests.e2e.helpers import status

    def wait(page, expected: str, timeout: float = 15) -> str:
        return wait_until(lambda: status(page) == expected and expected, timeout, f"status {expected!r}")

    return wait


__all__ = ["Training", "Served", "PageLog", "SMALL_NETWORK", "CHROMIUM"]
