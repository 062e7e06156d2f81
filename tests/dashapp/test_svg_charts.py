"""The inspector's SVG charts (dashapp/figures/svg.py): well-formed, drawn from the data
given, honest about NaN and empty input, and safe with names from the run's files."""

from __future__ import annotations

import base64
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from dashapp.figures import common as C
from dashapp.figures import svg as SVG

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == f"{NS}svg" and root.get("viewBox") == f"0 0 {SVG.WIDTH} {SVG.HEIGHT}"
    return root


def texts(root) -> list[str]:
    return [t.text for t in root.iter(f"{NS}text")]


def data_rects(root) -> list[ET.Element]:
    """The bars (every rect with a tooltip; the background has none)."""
    return [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]


@pytest.mark.parametrize(
    "lo, hi, want",
    [
        (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (-3, 7, [-2, 0, 2, 4, 6]),
        (-499, 0, [-400, -300, -200, -100, 0]),
        (0.0012, 0.0049, [0.002, 0.003, 0.004]),
        (5, 5, [5]),
    ],
)
def test_nice_ticks(lo, hi, want):
    assert SVG.nice_ticks(lo, hi) == pytest.approx(want)
    assert SVG.nice_ticks(math.nan, 1) == []


def test_numbers_are_written_in_the_dashboards_one_format():
    assert SVG.fmt is C.fmt  # the rule itself: tests/dashapp/test_figures_live.py
    root = parse(SVG.bar_chart([12345.0, 0.00001234, 0.12345], ["a", "b", "c"], "c", "v"))
    assert [b.find(f"{NS}title").text for b in data_rects(root)] == ["a: 1.23e+04", "b: 1.23e-05", "c: 0.1235"]
    assert "latest 1.23e+04" in texts(parse(SVG.line_chart([math.inf, 12345.6], "h", "y")))


def test_line_chart_draws_every_sample_and_marks_the_newest():
    root = parse(SVG.line_chart([0.0, 1.0, 2.0, 3.0], "history", "output"))
    (line,) = root.iter(f"{NS}polyline")
    xs = [float(p.split(",")[0]) for p in line.get("points").split()]
    ys = [float(p.split(",")[1]) for p in line.get("points").split()]
    assert len(xs) == 4 and xs == sorted(xs) and ys == sorted(ys, reverse=True)  # rising: y goes up the page
    (dot,) = root.iter(f"{NS}circle")
    assert float(dot.get("cx")) == pytest.approx(xs[-1]) and "latest 3" in texts(root)
    assert root.find(f"{NS}title").text == "history"


def test_line_chart_leaves_gaps_for_nan_and_says_so():
    root = parse(SVG.line_chart([1.0, np.nan, 2.0, 3.0, np.inf], "h", "y"))
    lines = list(root.iter(f"{NS}polyline"))
    assert [len(p.get("points").split()) for p in lines] == [1, 2]
    assert any("2 not finite, left out" in t for t in texts(root))
    assert "latest 3" in texts(root)  # the newest finite value
    for empty in (None, [], [np.nan]):
        root = parse(SVG.line_chart(empty, "h", "y", empty="no samples yet"))
        assert "no samples yet" in texts(root) and not list(root.iter(f"{NS}polyline"))


def test_bar_chart_signs_values_and_highlight():
    root = parse(SVG.bar_chart([1.5, -0.5, np.nan], ["LEFT", "STAY", "RIGHT"], "c", "v", highlight=0))
    bars = data_rects(root)
    assert [b.find(f"{NS}title").text for b in bars] == ["LEFT: 1.5", "STAY: -0.5"]
    assert [b.get("fill") for b in bars] == [SVG.POSITIVE, SVG.NEGATIVE]
    assert bars[0].get("stroke") == "#111" and bars[1].get("stroke") is None
    assert "–" in texts(root) and "RIGHT" in texts(root)
    # the positive bar sits above the zero line, the negative one below, heights in proportion
    zero = [float(ln.get("y1")) for ln in root.iter(f"{NS}line") if ln.get("stroke") == "#999"][0]
    up, down = bars
    assert float(up.get("y")) + float(up.get("height")) == pytest.approx(zero, abs=0.2)
    assert float(down.get("y")) == pytest.approx(zero, abs=0.2)
    assert float(up.get("height")) / float(down.get("height")) == pytest.approx(3, rel=0.05)
    assert "nothing to show" in texts(parse(SVG.bar_chart([], [], "c", "v")))


def test_histogram_counts_every_finite_value():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(size=500), [np.nan, np.inf]])
    root = parse(SVG.histogram_chart(values, "weights", bins=20))
    counts = [int(b.find(f"{NS}title").text.rsplit(": ", 1)[1]) for b in data_rects(root)]
    assert sum(counts) == 500 and len(counts) <= 20
    assert any("500 values (2 not finite, left out)" in t for t in texts(root))
    assert any(ln.get("stroke-dasharray") for ln in root.iter(f"{NS}line"))  # zero is in range: marked
    one = parse(SVG.histogram_chart([2.0, 2.0, 2.0], "w"))  # a single value still shows one bar
    assert [b.find(f"{NS}title").text.endswith(": 3") for b in data_rects(one)] == [True]
    assert "nothing to show" in texts(parse(SVG.histogram_chart([np.nan], "w")))


def test_names_from_the_run_are_text_not_markup():
    evil = '<script>alert("x")</script>&'
    svg = SVG.bar_chart([1.0], [evil], f"title {evil}", "v")
    root = parse(svg)
    assert "<script" not in svg and root.find(f"{NS}script") is None
    assert root.find(f"{NS}title").text == f"title {evil}" and evil[:13] in " ".join(texts(root))


def test_data_uri_round_trips():
    svg = SVG.message_chart("t", "m")
    uri = SVG.data_uri(svg)
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == svg


def test_ranges_next_to_the_floats_resolution_or_overflowing_still_draw():
    """Degenerate ranges must neither hang nor raise: a stuck neuron's history can differ
    by one ulp, a broken run can hold 1e308."""
    tiny = math.nextafter(1.0, 2.0)
    assert SVG.nice_ticks(1.0, tiny) == [1.0, tiny]
    assert SVG.nice_ticks(-1e308, 1e308) == [-1e308, 1e308]
    assert SVG.nice_ticks(0.0, 5e-324) == [0.0, 5e-324]
    for values in ([1.0, tiny], [0.1, math.nextafter(0.1, 1)], [5e-324], [-1e308, 1e308], [1e308, 1e308]):
        parse(SVG.line_chart(values, "h", "y"))
        parse(SVG.bar_chart(values, ["a", "b"], "b", "y"))
        parse(SVG.histogram_chart(values, "w"))
    for chart in (
        SVG.histogram_chart([-1e308, 1e308], "w"),
        SVG.line_chart([-1e308, 1e308], "h", "y"),
        SVG.bar_chart([-1e308, 1e308], ["a", "b"], "b", "y"),
    ):
        assert SVG.TOO_FAR_APART in texts(parse(chart))


def test_characters_xml_cannot_hold_are_replaced():
    name = "ball\x00x\ud800"  # a NUL and a lone surrogate, as a JSON file can hold them
    svg = SVG.bar_chart([1.0], [name], name, "v")
    root = parse(svg)
    assert root.find(f"{NS}title").text == "ball\ufffdx\ufffd"
    assert SVG.data_uri(svg).startswith("data:image/svg+xml;base64,")
