"""Helpers for the real-browser tests (import them: ``from tests.e2e.helpers import ...``)."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

#: Debian's Chromium, as the browser tests and the benchmarks start it (no GPU, no sandbox as
#: root, none of the background connections this machine's closed network refuses).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: The repository root (working directory of the processes the tests start).
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(runs_dir: Path, port: int, *extra: str) -> list[str]:
    """``neurodash serve`` over ``runs_dir`` on ``port``, as the tests and the benchmarks start it."""
    return [
        sys.executable,
        "-m",
        "dashapp.cli",
        "serve",
        "--runs",
        str(runs_dir),
        "--port",
        str(port),
        "--no-browser",
        *extra,
    ]


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """Call ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last value: {last!r})")


def wait_until_stable(read: Callable[[], T], quiet: float, timeout: float, what: str) -> T:
    """Read a value until it stays the same for ``quiet`` seconds; return it."""
    deadline = time.monotonic() + timeout
    value, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now_value = read()
        if now_value != value:
            value, since = now_value, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return value
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (still changing: {value!r})")


def graph_traces(page, graph_id: str) -> list[dict] | None:
    """``[{name, n, last_x}]`` for each trace drawn in the ``dcc.Graph`` with ``graph_id``,
    read from the Plotly div's live ``data`` (what the user sees, extendData included);
    None while the graph has not been drawn."""
    return page.evaluate(
        """(id) => {
            const gd = document.querySelector(`#${CSS.escape(id)} .js-plotly-plot`);
            if (!gd || !gd.data) return null;
            return gd.data.map(t => ({name: t.name || null, n: (t.x || []).length,
                                      last_x: t.x && t.x.length ? t.x[t.x.length - 1] : null}));
        }""",
        graph_id,
    )


def graph_points(page, graph_id: str, trace: int = 0) -> int:
    """Number of points in one trace of a graph (0 if not drawn yet)."""
    traces = graph_traces(page, graph_id)
    return traces[trace]["n"] if traces and len(traces) > trace else 0


def text_of(page, selector: str) -> str:
    """The visible text of the first element matching ``selector`` ("" if none)."""
    loc = page.locator(selector)
    return loc.first.inner_text().strip() if loc.count() else ""


def status(page) -> str:
    """The worker status badge's text, lower case (e.g. "running", "paused")."""
    return text_of(page, "#app-status").lower()


def output_ids(output: str) -> list[str]:
    """The component ids in a Dash callback's output spec ("a.prop" or "..a.prop...b.prop..")."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [part.rsplit(".", 1)[0] for part in parts]


def record_dash_updates(page) -> list[dict]:
    """Start recording the page's callback requests (``/_dash-update-component``); returns
    the list they are appended to, each ``{"outputs": [ids], "trigger": [prop ids],
    "request": the Playwright request}`` (``request.timing["startTime"]``: when it was sent,
    in ms since the epoch, once answered). Playwright delivers them while the test waits
    on the page (``page.wait_for_timeout``)."""
    updates: list[dict] = []

    def on_request(request):
        if urlsplit(request.url).path.endswith("/_dash-update-component") and request.method == "POST":
            body = request.post_data_json or {}
            updates.append(
                {
                    "outputs": output_ids(body.get("output", "")),
                    "trigger": list(body.get("changedPropIds") or []),
                    "request": request,
                }
            )

    page.on("request", on_request)
    return updates
