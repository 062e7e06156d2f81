"""The Network tab in a real Chromium, over a real training worker and a real server.

A person clicks a neuron where the canvas drew it (the real mouse event through the
page's own hit test) and sees the neuron inspector with its activation history; clicks a
layer's name and sees the layer statistics; pauses training and sees the picture and the
selection hold still. Over a real SAC worker: the network picker lists the actor and the
critics, and choosing critic_1 redraws the canvas with the critic's inputs named (the
state's features and the action); the Weights tab's picker lists the target critics too,
and choosing one draws its weights.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dashapp.tabs.network import view as TV
from tests.e2e.helpers import graph_traces, text_of, wait_until, wait_until_stable

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

SCREENSHOT = Path(os.environ.get("NEURODASH_SCREENSHOT_DIR", "/tmp")) / "neurodash-network.png"

_STATE = "() => window.neurodash && window.neurodash.network.state()"


def drawn_columns(page) -> list[int]:
    """The sizes of the columns the canvas has drawn ([] before the first scene)."""
    return page.evaluate(
        f"() => {{ const s = ({_STATE})(); return s && s.geometry ? s.geometry.ys.map(c => c.length) : []; }}"
    )


def colours(page, column: int) -> str | None:
    """The values the canvas last drew column ``column`` in (its colours)."""
    return page.evaluate(
        f"(c) => {{ const s = ({_STATE})(); return s && s.values ? JSON.stringify(s.values.values[c]) : null; }}",
        column,
    )


def click_node(page, column: int, index: int) -> None:
    """Click neuron ``index`` of ``column`` where the canvas drew it; ``index`` -1 is the
    column's title."""
    where = page.evaluate(
        """([c, i]) => {  // scrolled into view first (alerts above the tabs move it)
        const N = window.neurodash.network, at = () => i < 0 ? N.titleCenter(null, c) : N.nodeCenter(null, c, i);
        const p = at();
        if (p && (p.y < 140 || p.y > window.innerHeight - 40))
            window.scrollBy({top: p.y - window.innerHeight / 2, behavior: "instant"});  // not Bootstrap's smooth
        return at(); }""",
        [column, index],
    )
    assert where is not None, f"column {column} node {index} is not drawn"
    page.mouse.click(where["x"], where["y"])


def inspector_charts(page) -> list[str]:
    """The alt texts of the inspector's chart images that the browser has decoded and drawn."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('#network-inspector-charts img'))
        .filter(img => img.complete && img.naturalWidth > 0).map(img => img.alt)""")


def test_click_a_neuron_then_a_layer_then_pause(
    tmp_path, start_training, serve_dashboard, page, page_log, wait_for_status
):
    runs = tmp_path / "runs"
    start_training(runs / "network-run")
    served = serve_dashboard(runs)
    page.goto(served.url)
    wait_for_status(page, "running", 20)
    page.get_by_role("tab", name="Network").click()

    # input, one hidden layer (SMALL_NETWORK: --hidden-sizes 16), the Q-values
    wait_until(lambda: drawn_columns(page) == [17, 16, 3], 30, "the network graph")
    # live: the hidden layer's colours change as the agent plays
    first = wait_until(lambda: colours(page, 1), 10, "the hidden layer's colours")
    wait_until(lambda: colours(page, 1) != first, 20, "the colours to change as training runs")
    assert page.evaluate(f"() => ({_STATE})().scene.columns[1].title") == ["fc1 (16, relu)"]
    assert "connections drawn" in text_of(page, "#network-graph-caption")

    # click neuron #5 of the hidden layer
    click_node(page, 1, 5)
    wait_until(
        lambda: text_of(page, "#network-inspector-title").startswith("fc1 · neuron #5 of 16"),
        10,
        "the neuron inspector",
    )
    assert page.locator("#network-inspector-body").is_visible()
    charts = wait_until(lambda: inspector_charts(page), 10, "the neuron's charts")
    assert charts[0] == "activation over the last samples" and len(charts) == 4
    facts = text_of(page, "#network-inspector-facts")
    assert "output now" in facts and page.locator("#network-neuron-status").count() == 1
    assert page.locator("#network-inspector-hint").is_hidden()
    # highlighted on the graph: the ring on it, and its own 17 + 3 strongest weights from the server
    wait_until(
        lambda: (
            page.evaluate(
                f"() => {{ const h = ({_STATE})().highlight; "
                "return h && h.column === 1 && h.index === 5 ? h.edges.length : 0; }"
            )
            == 20
        ),
        10,
        "the selected neuron's own weights",
    )
    assert page.evaluate(f"() => ({_STATE})().selection") == {"kind": "neuron", "column": 1, "index": 5}

    # click the hidden layer's name
    click_node(page, 1, -1)
    wait_until(lambda: text_of(page, "#network-inspector-title") == "Layer fc1 (relu)", 10, "the layer inspector")
    stats = text_of(page, "#network-inspector-facts")
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
    draws = lambda: page.evaluate(f"() => ({_STATE})().draws")
    # settled: the last sample drawn, and the edges caught up with weights re-sampled just
    # before the pause (they are redrawn at most every EDGE_REFRESH_S)
    still = wait_until_stable(
        lambda: (colours(page, 1), draws()), TV.EDGE_REFRESH_S + 1, 30, "the graph to settle after pausing"
    )
    time.sleep(3.0)
    assert (colours(page, 1), draws()) == still, "the graph kept changing while paused"
    assert page.locator("#network-inspector-body").is_visible()
    assert text_of(page, "#network-inspector-title") == "Layer fc1 (relu)"

    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.click("#network-clear")  # back to the hint; the ring and box go
    page.wait_for_selector("#network-inspector-hint", state="visible")
    assert page.evaluate(f"() => ({_STATE})().selection") is None
    assert page.locator("#network-inspector-body").is_hidden()
    assert page_log.external(served.url) == []
    assert page_log.errors == []


def picker_options(page, tab: str) -> list[str]:
    """The names the "<tab>-network" picker lists (opened and closed again)."""
    page.click(f"#{tab}-network")
    page.wait_for_selector("[role=option]", state="visible")
    names = page.evaluate(  # the open menu's options: other dropdowns' hidden options read ""
        "() => Array.from(document.querySelectorAll('[role=option]')).map(o => o.innerText.trim()).filter(t => t)"
    )
    page.keyboard.press("Escape")
    return names


def test_an_sac_run_shows_the_network_chosen_in_the_picker(tmp_path, start_training, serve_dashboard, page, page_log):
    runs = tmp_path / "runs"
    start_training(runs / "sac-run", extra=["--agent", "sac", "--env", "Pendulum-v1"])
    served = serve_dashboard(runs)
    page.goto(served.url)
    page.get_by_role("tab", name="Network").click()

    # the actor first: the state's three features in, a mean and a log std out (SMALL_NETWORK: one hidden layer)
    wait_until(lambda: drawn_columns(page) == [3, 16, 2], 30, "the actor's graph")
    scene = lambda: page.evaluate(f"() => ({_STATE})().scene")
    features = scene()["columns"][0]["labels"]
    assert len(features) == 3 and scene()["columns"][2]["title"] == ["policy (mean, log std) (2)"]
    assert page.locator("#network-network-picker").is_visible()
    assert picker_options(page, "network") == ["actor", "critic_1", "critic_2"]
    assert "log standard deviation" in text_of(page, "#network-graph-note")

    # critic_1: redrawn with the features and the action as its inputs, named, and its Q-value out
    page.click("#network-network")
    page.get_by_role("option", name="critic_1").click()
    wait_until(lambda: drawn_columns(page) == [4, 16, 1], 20, "critic_1's graph")
    inputs = scene()["columns"][0]["labels"]
    assert inputs[:3] == features and inputs[3].startswith("action: ")
    assert scene()["columns"][2]["title"] == ["Q-value (1)"] and "and the action" in text_of(
        page, "#network-graph-note"
    )
    wait_until(
        lambda: "Continuous actions" in text_of(page, "#network-saliency"), 15, "the analysis saying why it is empty"
    )

    # the other tabs pick their network too
    page.get_by_role("tab", name="Activations").click()
    wait_until(lambda: page.locator("#activations-network-picker").is_visible(), 10, "the Activations tab's picker")
    assert picker_options(page, "activations") == ["actor", "critic_1", "critic_2"]

    # the Weights tab lists the target critics after them (weight samples only), and draws the one chosen
    page.get_by_role("tab", name="Weights").click()
    wait_until(lambda: page.locator("#weights-network-picker").is_visible(), 10, "the Weights tab's picker")
    assert picker_options(page, "weights") == ["actor", "critic_1", "critic_2", "target_critic_1", "target_critic_2"]
    velocity = lambda: [t["name"] for t in graph_traces(page, "weights-velocity") or [] if t["n"]]
    wait_until(lambda: velocity() == ["fc1", "policy_out"], 30, "the actor's velocity lines")
    page.click("#weights-network")
    page.get_by_role("option", name="target_critic_1").click()
    wait_until(lambda: velocity() == ["fc1", "q_out"], 20, "the target critic's velocity lines")
    assert "target_critic_1" in text_of(page, "#weights-network") and "q_out" in text_of(page, "#weights-table")
    page.get_by_role("tab", name="Gradients").click()  # a target has no gradients: not listed there
    wait_until(lambda: page.locator("#gradients-network-picker").is_visible(), 10, "the Gradients tab's picker")
    assert picker_options(page, "gradients") == ["actor", "critic_1", "critic_2"]
    assert page_log.external(served.url) == []
    assert page_log.errors == []
