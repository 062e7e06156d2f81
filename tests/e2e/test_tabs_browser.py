"""Switching tabs in a real Chromium, over a real training worker: a switch wakes only the
shown tab (each tab polls on its own interval, which runs only while the tab is shown)
and redraws no graph (hidden panes keep their layout, so Plotly never resizes)."""

from __future__ import annotations

import time

import pytest

from dashapp import app as A
from tests.e2e.helpers import graph_points, graph_traces, record_dash_updates, text_of, wait_until, wait_until_stable

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

#: Outputs the shell updates whatever tab is shown (run picker, status, alerts).
SHELL_PREFIXES = ("app-", "alerts-")
TAB_IDS = [tab.TAB_ID for tab in A.TABS]


def open_tab(page, label: str) -> float:
    """Click the tab's link; returns when (ms since the epoch, the page's clock)."""
    return page.evaluate(
        """(label) => { const t = Date.now();
        [...document.querySelectorAll('#app-tabs .nav-link')].find(a => a.textContent.trim() === label).click();
        return t; }""",
        label,
    )


def sent_for(page, updates: list[dict], trigger: str) -> list[dict]:
    """The recorded requests set off by ``trigger`` (after letting Playwright deliver more)."""
    page.wait_for_timeout(100)
    return [u for u in updates if trigger in u["trigger"]]


def tabs_written(updates: list[dict]) -> set[str]:
    """The tabs whose components the recorded requests asked to update."""
    return {t for u in updates for oid in u["outputs"] for t in TAB_IDS if oid.startswith(f"{t}-")}


def count_resizes(page) -> None:
    """Count Plotly.Plots.resize calls from now on (window.__resizes)."""
    page.evaluate("""() => { window.__resizes = 0; const resize = Plotly.Plots.resize;
        Plotly.Plots.resize = function (...args) { window.__resizes += 1; return resize.apply(this, args); }; }""")


def graph_sizes(page) -> dict:
    """Every drawn Plotly graph's size, by its dcc.Graph id (hidden tabs' graphs too)."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')]
        .map(gd => [gd.closest('[id]').id, [gd.clientWidth, gd.clientHeight]]))""")


def panes(page) -> dict:
    """Layout of the tab panes: which is shown, the others' height and what a user could reach."""
    return page.evaluate("""() => {
        const all = [...document.querySelectorAll('.tab-content > .tab-pane')];
        const shown = all.filter(p => p.classList.contains('active'));
        const hidden = all.filter(p => !p.classList.contains('active'));
        const hits = [];
        for (let y = 150; y < innerHeight; y += 100)
            for (let x = 20; x < innerWidth; x += 100) {
                const e = document.elementFromPoint(x, y);
                if (e && hidden.some(p => p.contains(e))) hits.push([x, y]);
            }
        const bottom = shown.length ? shown[0].getBoundingClientRect().bottom + scrollY : 0;
        return {shown: shown.length, hiddenHeights: hidden.map(p => p.getBoundingClientRect().height),
                hiddenVisible: hidden.map(p => getComputedStyle(p).visibility), hits,
                pageBelowShown: document.documentElement.scrollHeight - bottom};
    }""")


def test_a_tab_switch_wakes_only_the_shown_tab_and_resizes_no_graph(
    tmp_path, start_training, serve_dashboard, page, page_log
):
    runs = tmp_path / "runs"
    start_training(runs / "tabs-run", extra=["--step-records-per-s", "10"])
    served = serve_dashboard(runs)
    updates = record_dash_updates(page)
    page.goto(served.url)
    wait_until(lambda: graph_points(page, "live-q-graph") > 0, 30, "the Q-value chart")

    # While Live is shown, only Live and the shell poll.
    page.wait_for_timeout(2000)
    del updates[:]
    page.wait_for_timeout(3000)
    assert tabs_written(updates) == {"live"}, updates

    # every tab's graphs are laid out, the hidden ones too (on a loaded machine the last of
    # two dozen graphs may still be drawing when the Q-value chart first shows, so wait
    # for the layout to stop changing before taking it as the reference)
    wait_until(lambda: len(graph_sizes(page)) >= 9, 45, "every tab's graphs laid out")
    sizes = wait_until_stable(lambda: graph_sizes(page), 2.0, 30, "the graphs' layout to settle")
    count_resizes(page)
    del updates[:]
    clicked = open_tab(page, "Gradients")
    # The shown tab updates at once: the switch bumps its poll, whose own first tick would
    # come a whole interval after the switch started it.
    first = wait_until(lambda: sent_for(page, updates, "gradients-poll.n_intervals"), 5, "a request for Gradients")[0]
    wait_until(lambda: "Waiting" not in text_of(page, "#gradients-verdicts"), 30, "the gradient verdicts")
    delay = first["request"].timing["startTime"] - clicked
    assert delay < A.POLL_MS, f"the Gradients tab's first request left {delay:.0f} ms after the click"
    assert not any("app-tabs.active_tab" in u["trigger"] for u in updates)
    # from now on (a request Live sent just before the switch may still be reported late)
    del updates[:]
    page.wait_for_timeout(2500)  # two more polls
    assert tabs_written(updates) == {"gradients"}, updates  # the hidden Live tab sends nothing
    assert all(oid.startswith(("gradients-", *SHELL_PREFIXES)) for u in updates for oid in u["outputs"]), updates

    layout = panes(page)
    assert layout["shown"] == 1 and set(layout["hiddenHeights"]) == {0} and set(layout["hiddenVisible"]) == {"hidden"}
    assert layout["hits"] == [], "a hidden tab's element catches clicks"
    assert abs(layout["pageBelowShown"]) < 50, layout  # the page is as high as the shown tab
    for _ in range(25):  # keyboard focus stays out of hidden panes
        page.keyboard.press("Tab")
        assert not page.evaluate("""() => { const p = document.activeElement.closest('.tab-pane');
                                            return !!p && !p.classList.contains('active'); }""")

    # Back to Live: it catches up with what happened while it was hidden.
    before = graph_traces(page, "live-q-graph")[0]["last_x"]
    del updates[:]
    open_tab(page, "Live")
    wait_until(lambda: graph_traces(page, "live-q-graph")[0]["last_x"] > before, 15, "the Q-value chart to catch up")
    del updates[:]
    page.wait_for_timeout(1500)
    assert tabs_written(updates) == {"live"}, updates

    assert page.evaluate("() => window.__resizes") == 0, "a tab switch resized Plotly graphs"
    after = graph_sizes(page)
    assert {graph: after.get(graph) for graph in sizes} == sizes
    assert page_log.errors == []


def test_the_switch_function_starts_only_the_shown_tab_and_bumps_it(page):
    """The tab-switch callback's JavaScript, run in the browser's own engine."""
    js = A.switch_polls_js(["live", "network", "gradients"])
    calls = [
        ("gradients", [5, 0, 2], [False, True, True]),  # Live -> Gradients
        ("live", [5, 0, 3], [True, True, False]),
    ]  # and back
    page.set_content("<html><body></body></html>")
    to_gradients, to_live = page.evaluate(
        "([code, calls]) => { window.dash_clientside = {no_update: 'NO'}; const f = eval('(' + code + ')'); "
        "return calls.map(([tab, n, off]) => f(tab, ...n, ...off)); }",
        [js, calls],
    )
    # every tab's "disabled" (no_update where it stays), then every tab's n_intervals
    assert to_gradients == [True, "NO", False, "NO", "NO", 3]
    assert to_live == [False, "NO", True, 6, "NO", "NO"]


def test_a_hidden_page_polls_every_few_seconds_and_a_shown_one_every_second(tmp_path, serve_dashboard, page):
    (tmp_path / "runs").mkdir()
    served = serve_dashboard(tmp_path / "runs")
    page.goto(served.url)
    wait_until(lambda: "No training runs here yet" in text_of(page, "#app-notice"), 15, "the page")
    sent: list[float] = []
    page.on("request", lambda r: "_dash-update-component" in r.url and sent.append(time.monotonic()))

    def set_hidden(hidden: bool) -> None:  # what the browser does when the tab goes to the background
        page.evaluate(
            """(hidden) => {
                Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
                document.dispatchEvent(new Event('visibilitychange')); }""",
            hidden,
        )

    def requests_in(seconds: float) -> int:
        page.wait_for_timeout(1500)  # the interval change takes effect on the next tick
        del sent[:]
        page.wait_for_timeout(1000 * seconds)
        return len(sent)

    shown = requests_in(6)
    set_hidden(True)
    hidden = requests_in(10)
    set_hidden(False)
    again = requests_in(6)
    # shown: the shell's and Live's polls, every second; hidden: every HIDDEN_POLL_MS
    assert shown >= 8 and again >= 8, (shown, again)
    assert hidden <= 2 * (10_000 // A.HIDDEN_POLL_MS + 1), hidden
