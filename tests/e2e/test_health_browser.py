"""The Health tab in a real Chromium over a real training worker: the status line, the
per-layer table (a layer WeightWatcher cannot fit reads "not analysed" with its reason)
and the alpha chart on its bands, which grows as the worker's analyses arrive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.helpers import graph_traces, text_of, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(480)]

#: The analysis process runs at a lower priority: on a busy machine its first result (after
#: its imports, about 7 s of CPU) can take minutes.
PATIENCE_S = 200
#: Where a screenshot of the tab is kept for people to look at.
SCREENSHOT = Path(os.environ.get("NEURODASH_SCREENSHOT_DIR", "/tmp")) / "neurodash-health.png"


def alpha_chart(page) -> dict | None:
    """The alpha chart as drawn: its lines (name, points) and how many bands are shaded."""
    return page.evaluate("""() => {
        const gd = document.querySelector('#health-alpha .js-plotly-plot');
        if (!gd || !gd.data || !gd.data.length) return null;
        return {lines: gd.data.map(t => [t.name, (t.x || []).length]), bands: (gd.layout.shapes || []).length};
    }""")


def test_the_health_tab_shows_the_table_and_alpha_over_training_of_a_live_run(
    tmp_path, start_training, serve_dashboard, page, page_log
):
    runs = tmp_path / "runs"
    # "low": on a machine busy with other work the default "idle" analysis process may get no CPU
    start_training(runs / "health-run", extra=["--health-every", "3000", "--health-priority", "low"])
    served = serve_dashboard(runs)
    page.goto(served.url)
    page.locator("#app-tabs .nav-link", has_text="Health").click()

    # never a blank page: the status line says what the watch is doing from the start
    status = wait_until(
        lambda: (text := text_of(page, "#health-watch")).startswith(("Analysing…", "Latest analysis")) and text,
        20,
        "the health status line",
    )
    assert "every 3,000 steps" in status

    rows = wait_until(
        lambda: (
            page.locator("#health-table .health-layer-row").count() >= 3
            and page.locator("#health-table .health-layer-row").all_inner_texts()
        ),
        PATIENCE_S,
        "the per-layer table",
    )
    assert rows[0].startswith("fc1")
    assert any("not analysed: too few eigenvalues" in r for r in rows)  # the dueling head's small layers
    assert "Latest analysis: step" in text_of(page, "#health-watch")
    assert "q_network" in text_of(page, "#health-cards") and "target_network" in text_of(page, "#health-cards")

    chart = wait_until(lambda: alpha_chart(page), 30, "the alpha chart drawn")
    assert chart["lines"][0][0] == "overall (mean of layers)" and chart["bands"] == 5
    assert "fc1" in [name for name, _ in chart["lines"]]

    # the next analysis extends the lines where they are
    first = chart["lines"][0][1]
    wait_until(
        lambda: (alpha_chart(page) or {"lines": [[None, 0]]})["lines"][0][1] > first, PATIENCE_S, "a second analysis"
    )
    assert graph_traces(page, "health-dead") and text_of(page, "#health-pattern")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert not page_log.errors, page_log.errors
