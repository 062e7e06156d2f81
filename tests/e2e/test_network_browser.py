"""The Network tab in a real Chromium, over a real training worker and a real server.

A person clicks a neuron on the drawn graph (by its marker's bounding box, so Plotly's
own click handling fires clickData) and sees the neuron inspector with its activation
history; clicks a layer's name and sees the layer statistics; pauses training and sees
the picture and the selection hold still.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dashapp.figures import network as N
from dashapp.tabs import network as TN
from tests.e2e.helpers import text_of, wait_until, wait_until_stable

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

SCREENSHOT = Path(os.environ.get("NEURODASH_SCREENSHOT_DIR", "/tmp")) / "neurodash-network.png"

_TRACES = """() => { const gd = document.querySelector('#network-graph .js-plotly-plot');
    return gd && gd._fullData ? gd._fullData.length : 0; }"""
_COLOURS = """(t) => { const gd = document.querySelector('#network-graph .js-plotly-plot');
    const c = gd && gd._fullData && gd._fullData[t] && gd._fullData[t].marker && gd._fullData[t].marker.color;
    return c ? Array.from(c).map(String).join(',') : null; }"""


def trace_count(page) -> int:
    return page.evaluate(_TRACES)


def colours(page, trace: int) -> str | None:
    return page.evaluate(_COLOURS, trace)


def click_marker(page, uid: str, point: int, selector: str = ".point") -> None:
    """Click point ``point`` of the trace with ``uid`` where it is drawn (its SVG bounding box)."""
    marker = page.locator(f"#network-graph g.trace{uid}").locator(selector).nth(point)
    box = marker.bounding_box()
    assert box is not None, f"trace {uid} point {point} is not drawn"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def click_until_visible(page, uid: str, point: int, panel: str, selector: str = ".point", tries: int = 3) -> None:
    """Click a marker until ``panel`` shows. A click that lands while a live colour update
    is redrawing the graph can be lost (as for a person, who then clicks again); a
    panel that never shows still fails the test."""
    for attempt in range(tries):
        click_marker(page, uid, point, selector)
        try:
            page.wait_for_selector(panel, state="visible", timeout=5_000)
            return
        except Exception:
            if attempt == tries - 1:
                raise


def history_points(page) -> int:
    return page.evaluate("""() => { const gd = document.querySelector('#network-neuron-history .js-plotly-plot');
        return gd && gd._fullData && gd._fullData[0] && gd._fullData[0].y ? gd._fullData[0].y.length : 0; }""")


def test_click_a_neuron_then_a_layer_then_pause(tmp_path, start_training, serve_dashboard, page, page_log,
                                                wait_for_status):
    runs = tmp_path / "runs"
    start_training(runs / "network-run")
    served = serve_dashboard(runs)
    page.goto(served.url)
    wait_for_status(page, "running", 20)
    page.get_by_role("tab", name="Network").click()

    # input, one hidden layer (SMALL_NETWORK: --hidden-sizes 16), the Q-values
    n_cols = 3
    wait_until(lambda: trace_count(page) == N.FIRST_NODE_TRACE + n_cols + 2, 30, "the network graph")
    hidden = N.node_trace(1)
    # live: the hidden layer's colours change as the agent plays
    first = wait_until(lambda: colours(page, hidden), 10, "the hidden layer's colours")
    wait_until(lambda: colours(page, hidden) != first, 20, "the colours to change as training runs")
    labels = page.locator("#network-graph g.tracelabels .textpoint")
    assert "fc1 (16, relu)" in labels.nth(1).text_content()

    # click neuron #5 of the hidden layer
    click_until_visible(page, "nodes1", 5, "#network-neuron-panel")
    assert text_of(page, "#network-neuron-title").startswith("fc1 · neuron #5 of 16")
    wait_until(lambda: history_points(page) > 1, 10, "the neuron's activation history")
    facts = text_of(page, "#network-neuron-facts")
    assert "output now" in facts and page.locator("#network-neuron-status").count() == 1
    assert page.locator("#network-inspector-hint").is_hidden()
    # highlighted on the graph: a ring on it and its own edges drawn
    ring = page.evaluate("(t) => Array.from(document.querySelector('#network-graph .js-plotly-plot')._fullData[t].x)",
                         N.ring_trace(n_cols))
    assert ring == [1]

    # click the hidden layer's name
    click_until_visible(page, "labels", 1, "#network-layer-panel", ".textpoint")
    assert page.locator("#network-neuron-panel").is_hidden()
    assert text_of(page, "#network-layer-title") == "Layer fc1 (relu)"
    stats = text_of(page, "#network-layer-facts")
    for words in ("neurons", "16", "average |activation|", "dead", "saturation rate", "weight mean", "weight min"):
        assert words in stats, words

    # saliency over the named input features; integrated gradients chosen in the page
    bars = lambda: page.evaluate("""() => { const gd = document.querySelector('#network-saliency .js-plotly-plot');
        return gd && gd._fullData && gd._fullData[0] && gd._fullData[0].y ? Array.from(gd._fullData[0].y) : []; }""")
    names = wait_until(bars, 15, "the saliency bars")
    assert names[:2] == ["ball x", "ball y"] and "paddle x" in names
    assert "Captum" in text_of(page, "#network-saliency-caption")
    page.get_by_label("integrated gradients").check()
    wait_until(lambda: "Gauss-Legendre" in text_of(page, "#network-saliency-caption"), 10, "the IG caption")
    assert "ball x" in text_of(page, "#network-feature")  # the response curve's feature picker

    # paused: nothing new is drawn, the selection stays
    page.click("#app-pause")
    wait_for_status(page, "paused", 10)
    still = wait_until_stable(lambda: colours(page, hidden), 2.5, 20, "the graph to settle after pausing")
    time.sleep(3.0)
    assert colours(page, hidden) == still, "the graph kept changing while paused"
    assert page.locator("#network-layer-panel").is_visible()
    assert text_of(page, "#network-layer-title") == "Layer fc1 (relu)"

    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.click("#network-clear")  # back to the hint; the ring and box go
    page.wait_for_selector("#network-inspector-hint", state="visible")
    assert page.locator("#network-layer-panel").is_hidden()
    assert page_log.external(served.url) == []
    assert page_log.errors == []


CLICKS = [
    {"points": [{"curveNumber": 3, "pointNumber": 4, "customdata": [1, 4]}]},
    {"points": [{"curveNumber": 9, "pointNumber": 2, "customdata": [2, -1]}]},
    {"points": [{"curveNumber": 0, "pointNumber": 7}]},  # an edge: no customdata
    {"points": []}, None, {"points": [{"customdata": "ab"}]}, {"points": [{"customdata": [-1, 0]}]},
    {"points": [{"customdata": [1.5, 2]}]},
]


def test_the_browser_selects_by_the_same_rule_as_python(page):
    """The click -> selection rule runs in the browser (no round trip); it must agree
    with dashapp.figures.network.selection_from_click on every kind of click."""
    page.set_content("<html><body></body></html>")
    got = page.evaluate("""([code, clicks]) => {
        const NO = {no_update: true};
        window.dash_clientside = {no_update: NO, callback_context: {triggered_id: "network-graph"}};
        const select = eval("(" + code + ")");
        const out = clicks.map(c => { const r = select(c, null); return r === NO ? "no_update" : r; });
        window.dash_clientside.callback_context.triggered_id = "network-clear";
        out.push(select(clicks[0], 1));
        return out; }""", [TN.SELECT_JS, CLICKS])
    want = [N.selection_from_click(c) or "no_update" for c in CLICKS] + [None]
    assert got == want
