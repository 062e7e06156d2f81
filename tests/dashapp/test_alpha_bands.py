"""The alpha bands shaded behind alpha charts agree with the verdicts."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashapp.figures.alpha_bands import ALPHA_AXIS, ALPHA_BANDS, alpha_axis_range, shade_alpha_bands
from health import alpha_verdict


def test_the_bands_tile_the_axis_without_gaps():
    assert ALPHA_BANDS[0].low is None and ALPHA_BANDS[-1].high is None
    for below, above in zip(ALPHA_BANDS, ALPHA_BANDS[1:], strict=False):
        assert below.high == above.low


def test_each_band_holds_one_verdict():
    keys = ["overfit", "optimal", "good", "undertrained", "random"]
    for band, key in zip(ALPHA_BANDS, keys, strict=True):
        low = band.low if band.low is not None else band.high - 1.0
        high = band.high if band.high is not None else band.low + 3.0
        inside = [low + (high - low) * f for f in (0.05, 0.5, 0.95)]
        assert {alpha_verdict(a).key for a in inside} == {key}, band.label


def test_the_axis_widens_to_hold_every_value():
    assert alpha_axis_range([]) == list(ALPHA_AXIS)
    assert alpha_axis_range([None, 3.0]) == list(ALPHA_AXIS)
    low, high = alpha_axis_range([1.2, 14.0])
    assert low < 1.2 and high > 14.0 and low <= ALPHA_AXIS[0]


def test_bands_go_behind_the_named_subplot():
    fig = make_subplots(rows=1, cols=2)
    fig.add_trace(go.Scatter(x=[0, 1], y=[3, 4]), row=1, col=2)
    shade_alpha_bands(fig, row=1, col=2)
    assert len(fig.layout.shapes) == len(ALPHA_BANDS)
    assert {s.yref for s in fig.layout.shapes} == {"y2"} and all(s.layer == "below" for s in fig.layout.shapes)
    assert [a.text for a in fig.layout.annotations] == [b.label for b in ALPHA_BANDS]
    plain = go.Figure()
    shade_alpha_bands(plain, labels=False)
    assert len(plain.layout.shapes) == len(ALPHA_BANDS) and not plain.layout.annotations
