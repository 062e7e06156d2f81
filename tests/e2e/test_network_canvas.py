"""The network canvas (assets/network_graph.js) in a real Chromium, without a server.

The page holds just the graph's container and the script; the scene, values and
highlight are what ``dashapp.figures.graph`` builds for a tiny network, so the test
checks the two halves agree: every node is drawn where the hit test finds it, in the
colour of its value, the titles are clickable, a click selects, bad values draw grey, and
the canvas writes numbers as ``dashapp.figures.common.fmt`` does.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashapp.figures import graph as N
from dashapp.figures.common import fmt
from dashapp.read.network import NetworkData
from dashapp.tabs.network import view as TV
from tests.dashapp.test_figures_live import FMT_CASES
from tests.dashapp.test_network_figures import make_net
from tests.e2e.helpers import REPO

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

SCRIPT = (REPO / "assets" / "network_graph.js").read_text()
PAGE = f"""<html><body style="margin:0">
<div id="network-graph" style="position:relative;width:900px;height:{N.GRAPH_HEIGHT}px">
  <canvas id="network-canvas"></canvas><div class="network-tooltip" style="position:absolute;display:none"></div>
</div></body></html>"""


@pytest.fixture(params=[1, 2], ids=["dpr1", "dpr2"])
def canvas(request, browser):
    """The graph's page, on an ordinary screen and on a high-density one (the canvas is
    drawn at twice the pixels there; positions and hit tests must not change)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=request.param)
    page = context.new_page()
    request.addfinalizer(context.close)
    page.set_content(PAGE)
    # set_props stands in for Dash: record the selection, and redraw with it as the page's
    # drawNetwork callback would
    page.evaluate(
        "() => { window._selected = []; window.dash_clientside = {set_props: (id, props) => { "
        "window._selected.push([id, props.data]); const s = window.neurodash.network.state(); "
        "window.neurodash.network.update('network-graph', s.scene, s.values, s.highlight, props.data); "
        "}}; }"
    )
    page.add_script_tag(content=SCRIPT)
    return page


def draw(page, net, selection=None, k=2):
    scene, values = N.graph_scene(net, k), N.graph_values(net)
    highlight = N.graph_highlight(net, selection)
    caption = page.evaluate(
        "(a) => window.neurodash.network.update('network-graph', ...a)", [scene, values, highlight, selection]
    )
    return scene, values, caption


def pixel(page, x: float, y: float) -> list[int]:
    """The canvas's colour (r, g, b, a) at page point (x, y)."""
    return page.evaluate(
        """([x, y]) => { const c = document.getElementById('network-canvas');
        const r = c.getBoundingClientRect(), d = window.devicePixelRatio || 1;
        return Array.from(c.getContext('2d').getImageData(Math.round((x - r.left) * d),
                                                          Math.round((y - r.top) * d), 1, 1).data); }""",
        [x, y],
    )


def rgb(text: str) -> list[int]:
    return [int(v) for v in text[text.index("(") + 1 : text.index(")")].split(",")]


def test_nodes_are_drawn_where_the_hit_test_finds_them_in_their_colour(canvas):
    net = make_net((4, 6, 3))
    scene, values, caption = draw(canvas, net)
    assert caption.startswith("step 7 · 13 neurons · ")
    assert f"{sum(len(g['src']) for g in scene['edges'])} connections drawn" in caption
    for c, size in enumerate(net.sizes):
        for i in range(size):
            p = canvas.evaluate("([c, i]) => window.neurodash.network.nodeCenter(null, c, i)", [c, i])
            hit = canvas.evaluate(
                "([x, y]) => { const s = window.neurodash.network.state(); "
                "const r = s.canvas.getBoundingClientRect(); "
                "return window.neurodash.network.hitTest(s.geometry, x - r.left, y - r.top); }",
                [p["x"], p["y"]],
            )
            assert hit == {"kind": "neuron", "column": c, "index": i}
            want = canvas.evaluate(
                "([v, m, s]) => window.neurodash.network.colourOf(v, m, s)",
                [values["values"][c][i], values["ranges"][c], N.COLORSCALE],
            )
            got = pixel(canvas, p["x"], p["y"])
            assert max(abs(a - b) for a, b in zip(got[:3], rgb(want))) <= 2, (c, i, got, want)


def test_the_colour_scale_matches_plotlys_ends_and_middle(canvas):
    colour = lambda v, m=2.0: canvas.evaluate(
        "([v, m, s]) => window.neurodash.network.colourOf(v, m, s)", [v, m, N.COLORSCALE]
    )
    assert colour(-2.0) == "rgb(178,24,43)" and colour(2.0) == "rgb(33,102,172)"
    assert colour(0.0) == "rgb(247,247,247)" and colour(-5.0) == colour(-2.0)  # clipped to the range
    assert colour(-1.0) == "rgb(239,138,98)"  # the 0.25 stop
    assert colour(None) is None and colour(float("nan")) is None


def test_a_click_on_a_neuron_or_a_title_selects_it_and_draws_the_ring(canvas):
    net = make_net((4, 6, 3))
    draw(canvas, net)
    p = canvas.evaluate("() => window.neurodash.network.nodeCenter(null, 1, 2)")
    canvas.mouse.move(p["x"], p["y"])
    tip = canvas.locator(".network-tooltip")
    assert tip.is_visible() and tip.text_content().startswith("fc1 #2") and "output" in tip.text_content()
    canvas.mouse.click(p["x"], p["y"])
    assert canvas.evaluate("() => window._selected") == [
        ["network-selection", {"kind": "neuron", "column": 1, "index": 2}]
    ]
    # the ring: dark pixels just outside the node, where nothing dark was before
    r = canvas.evaluate("() => window.neurodash.network.state().geometry.radius[1]")
    ring = pixel(canvas, p["x"] + max(r + 4, 9), p["y"])
    assert ring[0] < 80 and ring[3] > 200
    t = canvas.evaluate("() => window.neurodash.network.titleCenter(null, 2)")
    canvas.mouse.click(t["x"], t["y"])
    assert canvas.evaluate("() => window._selected")[-1] == ["network-selection", {"kind": "layer", "column": 2}]
    # empty space selects nothing
    canvas.mouse.click(5, N.GRAPH_HEIGHT - 5)
    assert len(canvas.evaluate("() => window._selected")) == 2


def test_highlight_is_drawn_only_for_its_own_neuron(canvas):
    net = make_net((4, 6, 3), seed=1)
    sel = {"kind": "neuron", "column": 1, "index": 0}
    draw(canvas, net, sel)
    state = canvas.evaluate(
        "() => { const s = window.neurodash.network.state(); "
        "return [s.highlight.column, s.highlight.index, s.highlight.edges.length, s.draws]; }"
    )
    assert state[:3] == [1, 0, 4 + 3]
    # a stale highlight (another neuron's) is not drawn as this one's: same picture as none
    scene, values = N.graph_scene(net, 2), N.graph_values(net)
    other = N.graph_highlight(net, {"kind": "neuron", "column": 1, "index": 5})
    shot = lambda hl: canvas.evaluate(
        "(a) => { window.neurodash.network.update('network-graph', ...a); "
        "return document.getElementById('network-canvas').toDataURL(); }",
        [scene, values, hl, sel],
    )
    assert shot(other) == shot(None) != shot(N.graph_highlight(net, sel))


def test_non_finite_values_are_grey_and_messages_are_drawn(canvas):
    net = make_net((3, 4, 2))
    net = NetworkData(
        **{**net.__dict__, "values": (np.array([np.nan, 1.0, 2.0]), np.full(4, np.inf), np.array([1.0, 2.0]))}
    )
    draw(canvas, net)
    p = canvas.evaluate("() => window.neurodash.network.nodeCenter(null, 1, 0)")
    assert pixel(canvas, p["x"], p["y"])[:3] == [int(N.STYLE["no_value"][i : i + 2], 16) for i in (1, 3, 5)]
    caption = canvas.evaluate(
        "(s) => window.neurodash.network.update('network-graph', s, null, null, null)",
        TV.message("Waiting for the worker's first sample of the network..."),
    )
    assert caption == "" and canvas.evaluate("() => window.neurodash.network.state().geometry") is None
    # names from the run's files are shown as text, never as HTML
    evil = NetworkData(
        **{
            **net.__dict__,
            "values": (np.ones(3), np.ones(4), np.ones(2)),
            "input_names": ("<img src=x onerror=alert(1)>", "b", "c"),
        }
    )
    draw(canvas, evil)
    p = canvas.evaluate("() => window.neurodash.network.nodeCenter(null, 0, 0)")
    canvas.mouse.move(p["x"], p["y"])
    assert canvas.locator(".network-tooltip img").count() == 0
    assert "<img" in canvas.locator(".network-tooltip").text_content()


def test_a_3x512_network_draws_in_a_few_frames(canvas):
    """Not a timing test (those are in bench/): the drawing of the widest network the
    issue names completes and every column is laid out."""
    rng = np.random.default_rng(0)
    sizes = (12, 512, 512, 512, 3)
    net = make_net(sizes, weights=False)
    net = NetworkData(
        **{**net.__dict__, "weights": (None,) + tuple(rng.normal(size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:]))}
    )
    scene, values, caption = draw(canvas, net, k=N.default_k(sizes))
    assert "1,551 neurons" in caption
    ys = canvas.evaluate("() => window.neurodash.network.state().geometry.ys.map(c => c.length)")
    assert ys == list(sizes)
    assert f"{sum(len(g['src']) for g in scene['edges']):,} connections drawn" in caption


def test_a_new_selection_is_drawn_in_the_next_frame_new_data_at_once(canvas):
    """A click's request must leave before the ring is drawn; new data must be drawn
    before the page turns to the charts that follow the graph."""
    net = make_net((4, 6, 3))
    scene, values = json.dumps(N.graph_scene(net, 2)), json.dumps(N.graph_values(net))  # as the server sends them
    drawn = canvas.evaluate(
        """async ([scene, values]) => {
        const draw = window.dash_clientside.neurodash.drawNetwork, frame = () =>
            new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
        const caption = draw(scene, values, null);
        const s = window.neurodash.network.state(), first = s.draws;  // new data: drawn at once
        draw(scene, values, {kind: 'layer', column: 1});  // the selection alone: next frame
        draw(scene, values, {kind: 'layer', column: 2});  // two in one frame: one draw
        const now = s.draws;
        await frame();
        return [first, now, s.draws, caption]; }""",
        [scene, values],
    )
    first, now, after, caption = drawn
    assert first == 1 and now == 1 and after == 2 and caption.startswith("step 7")


def test_the_arrow_keys_move_the_selection_from_neuron_to_neuron(canvas):
    net = make_net((4, 6, 3))
    draw(canvas, net)
    canvas.focus("#network-canvas")
    selected = lambda: canvas.evaluate("() => window._selected.map(s => s[1])")
    for key in ("ArrowDown", "ArrowDown", "ArrowDown", "ArrowRight", "ArrowUp", "ArrowLeft", "ArrowLeft"):
        canvas.keyboard.press(key)
    got = [(s["column"], s["index"]) for s in selected()]
    # first press: the first hidden neuron; right from #2 of 6 lands at the same height of 3 (#1)
    assert got == [(1, 0), (1, 1), (1, 2), (2, 1), (2, 0), (1, 0), (0, 0)]
    canvas.keyboard.press("ArrowUp")  # above the top: nowhere to go, nothing sent
    assert len(selected()) == len(got)
    assert canvas.evaluate("() => document.activeElement.id") == "network-canvas"


def test_the_highlight_is_drawn_by_its_own_callback_over_the_same_graph(canvas):
    net = make_net((4, 6, 3), seed=1)
    sel = {"kind": "neuron", "column": 1, "index": 0}
    scene, values = json.dumps(N.graph_scene(net, 2)), json.dumps(N.graph_values(net))
    highlight = json.dumps(N.graph_highlight(net, sel))
    state = canvas.evaluate(
        """async ([scene, values, sel, highlight]) => {
        const D = window.dash_clientside.neurodash, s = window.neurodash.network.state;
        D.drawNetwork(scene, values, sel);
        const before = s().draws;
        D.drawHighlight(highlight);  // drawn in the next frame, over the graph drawNetwork was given
        const now = s().draws;
        await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
        D.drawHighlight(highlight);  // the same again: nothing to draw
        await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
        const st = s();
        return [before, now, st.draws, st.highlight.edges.length, st.values.step, st.selection.index]; }""",
        [scene, values, sel, highlight],
    )
    assert state == [1, 1, 2, 4 + 3, 7, 0]


def test_the_canvas_writes_numbers_as_the_dashboard_does(canvas):
    """The canvas's labels and hover box use the dashboard's one number format."""
    values = list(FMT_CASES)  # NaN travels as NaN; None as null
    got = canvas.evaluate("(vs) => vs.map(v => window.neurodash.network.fmt(v))", values)
    assert got == [fmt(v) for v in values] == list(FMT_CASES.values())
    assert canvas.evaluate("() => window.neurodash.network.fmt(-0)") == fmt(-0.0) == "0"
