"""The Compare tab in a real Chromium over ``neurodash serve --checkpoints DIR``: a folder of
real checkpoints (a short real DQN run) with a bad file among them is analysed by the
server's worker processes while the page shows the progress; then the alpha chart, the
heatmap, the verdict and the bad file's error; a click on the chart opens that
checkpoint's report."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.dashapp.checkpoint_runs import BAD_NAME, folder_with_bad_file, train_run
from tests.e2e.helpers import graph_traces, text_of, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

#: Where a screenshot of the tab is kept for people to look at.
SCREENSHOT = Path(os.environ.get("NEURODASH_SCREENSHOT_DIR", "/tmp")) / "neurodash-compare.png"


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    return train_run(tmp_path_factory.mktemp("compare-run") / "run")


def click_point(page, graph_id: str, trace: int, index: int) -> str:
    """Click point ``index`` of trace ``trace`` of a Plotly graph where a user would; returns its x."""
    page.locator(f"#{graph_id}").scroll_into_view_if_needed()
    spot = page.evaluate(
        """([id, trace, index]) => {
            const gd = document.querySelector(`#${CSS.escape(id)} .js-plotly-plot`);
            const fl = gd._fullLayout, t = gd.data[trace], box = gd.getBoundingClientRect();
            return {x: box.left + fl._size.l + fl.xaxis.d2p(t.x[index]),
                    y: box.top + fl._size.t + fl.yaxis.d2p(t.y[index]), label: t.x[index]};
        }""",
        [graph_id, trace, index],
    )
    page.mouse.move(spot["x"], spot["y"])
    page.wait_for_timeout(200)
    page.mouse.click(spot["x"], spot["y"])
    return spot["label"]


def test_compare_a_folder_with_a_bad_file(checkpoints, tmp_path, monkeypatch, serve_dashboard, page, page_log):
    folder_with_bad_file(checkpoints, tmp_path / "mine" / "exp1")
    monkeypatch.setenv("NEURODASH_CACHE_DIR", str(tmp_path / "cache"))  # a cold cache: the work is really done
    (tmp_path / "runs").mkdir()
    served = serve_dashboard(tmp_path / "runs", extra=["--checkpoints", str(tmp_path / "mine")])
    page.goto(served.url)
    page.locator("#app-tabs .nav-link", has_text="Compare").click(timeout=45_000)  # a loaded machine is slow
    wait_until(lambda: "5 checkpoint files" in text_of(page, "#compare-folder"), 20, "the folder picker")
    wait_until(lambda: page.locator("#compare-start").is_enabled(), 10, "the Analyse button")
    assert page.locator("#compare-files input[type=checkbox]").count() == 5

    page.locator("#compare-start").click()
    labels = []

    def seen() -> None:
        label = text_of(page, "#compare-progress")
        if label and (not labels or labels[-1] != label):
            labels.append(label)

    def finished() -> bool:
        seen()
        return text_of(page, "#compare-status").startswith("Analysed")

    wait_until(finished, 120, "the analysis to finish", interval=0.05)
    seen()  # the bar and the status change together: read the bar once more
    counts = [int(m.group(1)) for m in (re.match(r"(\d+) of 5 checkpoints", lb) for lb in labels) if m]
    assert counts and counts[0] < 5 and counts[-1] == 5 and counts == sorted(counts), labels  # progress, k of n
    assert text_of(page, "#compare-status") == "Analysed 4 of 5 checkpoints (1 could not be)."

    wait_until(lambda: graph_traces(page, "compare-alpha"), 15, "the alpha chart")
    names = [t["name"] for t in graph_traces(page, "compare-alpha")]
    assert names[:2] == ["fc1", "fc2"] and "q_network overall" in names
    assert all(t["n"] == 4 for t in graph_traces(page, "compare-alpha") if t["name"] != "keep")
    assert "value_out" in text_of(page, "#compare-alpha-missing")
    wait_until(lambda: graph_traces(page, "compare-heatmap"), 15, "the heatmap")
    assert graph_traces(page, "compare-heatmap")[0]["n"] == 4  # four checkpoints across
    verdict = text_of(page, "#compare-verdict")
    assert verdict.startswith("Keep ckpt_") and "q_network:" in verdict
    errors = text_of(page, "#compare-error-list")
    assert f"{BAD_NAME}:" in errors and "1 file could not be analysed" in errors
    assert page.locator("#compare-network-block").is_visible()  # q_network and target_network: a picker

    overall = names.index("q_network overall")
    clicked = click_point(page, "compare-alpha", overall, 0)
    wait_until(lambda: text_of(page, "#compare-report-title").startswith(clicked), 15, f"the report of {clicked}")
    report = text_of(page, "#compare-report")
    assert "network: q_network" in report and "not analysed: too few eigenvalues" in report
    assert "Overall alpha" in report and "Dead neurons" in report
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert not page_log.errors, page_log.errors
    assert not page_log.external(served.url)
