"""Pure figure builders of the Live tab: tiny fixtures in, figures out."""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from dashapp.figures import common as C
from dashapp.figures import episodes as E
from dashapp.figures import live as F
from dashapp.read.episodes import EpisodePoints
from dashapp.read.steps import RecentSteps, StepPoints
from rl import telemetry as T

NAMES = ["LEFT", "STAY", "RIGHT"]


def step_points(n: int = 3, n_actions: int = 3, nan: bool = False) -> StepPoints:
    def q(i):
        return [math.nan if nan else i + 0.1 * a for a in range(n_actions)]

    return StepPoints(
        seq=n - 1,
        stride=1,
        n_actions=n_actions,
        step=[10 * (i + 1) for i in range(n)],
        q=[q(i) for i in range(n)],
        q_mean=[q(i) for i in range(n)],
        q_low=[[v - 1 for v in q(i)] for i in range(n)],
        q_high=[[v + 1 for v in q(i)] for i in range(n)],
        share=[[1.0 / n_actions] * n_actions for _ in range(n)],
        explore=[0.5] * n,
    )


def as_json(fig: go.Figure) -> dict:
    """What Dash sends to the browser (NaN must not survive as invalid JSON)."""
    text = pio.to_json(fig)
    assert "NaN" not in text
    return json.loads(text)


# --------------------------------------------------------------------------- common
def test_empty_figure_is_labelled():
    fig = C.empty_figure("nothing yet")
    assert C.is_empty_figure(fig) and C.is_empty_figure(fig.to_dict())
    assert fig.layout.annotations[0].text == "nothing yet"
    assert len(fig.data) == 0


def test_clean_turns_non_numbers_into_gaps():
    assert C.clean([1, None, math.nan, math.inf, "x", 2.5, True]) == [1.0, None, None, None, None, 2.5, 1.0]
    assert not C.has_numbers([None, math.nan])


def test_action_labels_fall_back_when_names_do_not_fit():
    assert T.action_labels(["a", "b"], 2) == ["a", "b"]
    assert T.action_labels(["a"], 3) == ["a", "action 1", "action 2"]
    assert T.action_labels(None, 2) == ["action 0", "action 1"]
    assert T.feature_labels(["ball x"], 3) == ["ball x", "x1", "x2"]


#: The one number format (``common.fmt``), value -> text; ``assets/network_graph.js`` must
#: write the same (tests/e2e/test_network_canvas.py checks it in a real browser).
FMT_CASES = {
    0: "0",
    1: "1",
    -2.5: "-2.5",
    12.3456: "12.35",
    0.0012345: "0.001234",
    0.0001234: "1.23e-04",
    12345.6: "1.23e+04",
    -98765: "-9.88e+04",
    1e300: "1.00e+300",
    math.nan: "–",
    None: "–",
    0.1: "0.1",
    3.14159: "3.142",
    999.94: "999.9",
    9999.96: "1.00e+04",
    -9999.96: "-1.00e+04",  # rounds up to 10,000: written as a power of ten
}


def test_fmt_four_significant_digits_powers_of_ten_outside_and_a_dash_for_missing():
    assert [C.fmt(v) for v in FMT_CASES] == list(FMT_CASES.values())
    assert [C.fmt(v) for v in (math.inf, -math.inf, "junk", 0.001, 9999, 10_000, -0.0)] == [
        "–",
        "–",
        "–",
        "0.001",
        "9999",
        "1.00e+04",
        "0",
    ]


def test_percent_and_the_hover_format():
    assert [C.percent(v) for v in (0.25, 0.234, 0.025, 0, 1, None, math.nan)] == [
        "25%",
        "23%",
        "2.5%",
        "0%",
        "100%",
        "–",
        "–",
    ]
    assert C.HOVER_NUMBER == ".4~g"  # d3's four significant digits, like fmt


def test_rgba():
    assert C.rgba("#0072B2", 0.5) == "rgba(0,114,178,0.5)"


# --------------------------------------------------------------------------- Q-value trend
def test_q_trend_figure_traces_in_declared_order():
    points = step_points()
    fig = F.q_trend_figure(points, NAMES)
    assert not C.is_empty_figure(fig)
    assert len(fig.data) == 3 * F.Q_TRACES_PER_ACTION + 3
    right_avg = fig.data[F.q_trace_index(2, F.AVERAGE)]
    assert right_avg.name == "RIGHT" and right_avg.showlegend is not False
    assert list(right_avg.y) == pytest.approx([0.2, 1.2, 2.2])
    band_top = fig.data[F.q_trace_index(0, F.BAND_HIGH)]
    assert band_top.fill == "tonexty" and list(band_top.y) == pytest.approx([1.0, 2.0, 3.0])
    marker = fig.data[F.q_marker_index(1, 3)]
    assert list(marker.x) == [30] and list(marker.y) == pytest.approx([2.1])
    as_json(fig)


def test_q_trend_empty_and_all_nan():
    empty = F.q_trend_figure(StepPoints(), NAMES)
    assert C.is_empty_figure(empty) and "No Q-values yet" in empty.layout.annotations[0].text
    allnan = F.q_trend_figure(step_points(nan=True), NAMES)
    assert C.is_empty_figure(allnan) and "NaN" in allnan.layout.annotations[0].text


def test_q_trend_partial_nan_becomes_gaps():
    points = step_points()
    points.q[1][0] = math.nan
    fig = F.q_trend_figure(points, NAMES)
    assert fig.data[F.q_trace_index(0, F.VALUE)].y[1] is None
    as_json(fig)


def test_q_trend_extension_matches_the_figure():
    points = step_points(n=2)
    fig = F.q_trend_figure(step_points(n=5), NAMES)
    update, indices, caps = F.q_trend_extension(points, max_points=600)
    assert sorted(indices) == list(range(len(fig.data)))
    assert len(update["x"]) == len(update["y"]) == len(indices) == len(caps["x"])
    i = indices.index(F.q_trace_index(2, F.VALUE))
    assert update["x"][i] == [10, 20] and update["y"][i] == pytest.approx([0.2, 1.2])
    m = indices.index(F.q_marker_index(0, 3))
    assert update["x"][m] == [20] and caps["x"][m] == 1 and caps["x"][i] == 600
    assert F.q_trend_extension(StepPoints(), 600) is None


# --------------------------------------------------------------------------- statistic cards
def test_action_stats_definitions():
    window = [[1.0, 5.0, -1.0], [1.0, 5.5, -2.0], [1.0, 6.0, -3.0], [1.0, 6.5, -4.0]]
    left, stay, right = F.action_stats(window, NAMES)
    assert left.mean == 1.0 and left.std == 0.0 and left.trend == F.STEADY
    assert left.cv == 0.0 and left.confidence == 1.0 and left.confidence_label == "high"
    assert stay.trend == F.RISING and stay.change == pytest.approx(1.0)
    assert stay.now == 6.5 and stay.greedy and not left.greedy
    assert stay.low == 5.0 and stay.high == 6.5
    assert right.trend == F.FALLING
    # cv = std / |mean| = 1.118 / 2.5
    assert right.cv == pytest.approx(math.sqrt(1.25) / 2.5)
    assert right.confidence == pytest.approx(1 / (1 + right.cv)) and right.confidence_label == "low"


def test_confidence_bands():
    assert F.confidence_from_cv(0.05)[1] == "high"
    assert F.confidence_from_cv(0.3)[1] == "medium"
    assert F.confidence_from_cv(1.0) == (0.5, "low")
    assert F.confidence_from_cv(math.inf) == (0.0, "low")
    assert F.confidence_from_cv(None) == (None, F.UNKNOWN)


def test_action_stats_zero_mean_and_nan():
    stats = F.action_stats([[0.0, math.nan], [0.0, math.nan], [0.0, math.nan]], ["a", "b"])
    assert stats[0].confidence_label == "high" and stats[0].cv == 0.0  # constant zero: no variation
    assert stats[1].count == 0 and stats[1].mean is None and stats[1].trend == F.UNKNOWN
    assert stats[1].confidence_label == F.UNKNOWN
    swinging = F.action_stats([[-1.0], [1.0], [-1.0], [1.0]])[0]
    assert swinging.cv is None and swinging.confidence == 0.0 and swinging.confidence_label == "low"
    assert F.action_stats([]) == []


# --------------------------------------------------------------------------- actions
def test_action_bar_figure_percentages():
    recent = RecentSteps(
        n_actions=3, step=[1, 2, 3, 4], q=[[0, 0, 0]] * 4, action=[0, 2, 2, -1], explored=[True, False, True, False]
    )
    fig = F.action_bar_figure(recent, NAMES)
    greedy, explored = fig.data[:2]
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend[-2:] == ["greedy (network's choice)", "random (exploring)"]
    assert list(greedy.y) == pytest.approx([0, 0, 100 / 3])  # the -1 (unknown) action is left out
    assert list(explored.y) == pytest.approx([100 / 3, 0, 100 / 3])
    assert fig.layout.barmode == "stack" and "last 3 recorded steps" in fig.layout.xaxis.title.text
    as_json(fig)


def test_action_bar_empty():
    assert C.is_empty_figure(F.action_bar_figure(RecentSteps(), NAMES))
    no_valid = RecentSteps(n_actions=3, step=[1], q=[[0, 0, 0]], action=[-1], explored=[False])
    assert C.is_empty_figure(F.action_bar_figure(no_valid, NAMES))


def test_action_share_figure_and_extension():
    fig = F.action_share_figure(step_points(), NAMES)
    assert [t.name for t in fig.data] == NAMES + ["exploring (random)"]
    assert list(fig.data[0].y) == pytest.approx([100 / 3] * 3) and list(fig.data[3].y) == [50, 50, 50]
    update, indices, cap = F.action_share_extension(step_points(n=1), 600)
    assert indices == [0, 1, 2, 3] and cap == 600 and update["y"][3] == [50]
    assert C.is_empty_figure(F.action_share_figure(StepPoints(), NAMES))
    assert F.action_share_extension(StepPoints(), 600) is None


# --------------------------------------------------------------------------- episodes
def episode_points(n=3, loss=None) -> EpisodePoints:
    return EpisodePoints(
        seq=n - 1,
        stride=1,
        episode=list(range(1, n + 1)),
        step=[100 * i for i in range(1, n + 1)],
        score=[float(i) for i in range(n)],
        score_mean=[float(i) for i in range(n)],
        losses={"loss": loss if loss is not None else [math.nan] + [0.5] * (n - 1)},
        exploration={"epsilon": [1.0, 0.5, 0.1][:n]},
        sps=[300.0] * n,
        length=[10.0] * n,
    )


def test_episodes_figure_and_extension():
    fig = E.episodes_figure(episode_points())
    assert len(fig.data) == len(E.VALUE_GRID.traces)
    loss = fig.data[[t.name for t in E.VALUE_GRID.traces].index("loss")]
    assert list(loss.y) == [None, 0.5, 0.5]  # no loss before learning starts: a gap
    as_json(fig)
    update, indices, cap = E.episodes_extension(episode_points(n=1), 1000)
    assert indices == list(range(5)) and update["x"][0] == [1] and cap == 1000
    assert E.episodes_extension(EpisodePoints(), 1000) is None


def test_episodes_empty_and_all_nan():
    assert C.is_empty_figure(E.episodes_figure(EpisodePoints()))
    nan = EpisodePoints(
        seq=0,
        episode=[1],
        step=[1],
        score=[math.nan],
        score_mean=[math.nan],
        losses={"loss": [math.nan]},
        exploration={"epsilon": [math.nan]},
        sps=[math.nan],
        length=[math.nan],
    )
    fig = E.episodes_figure(nan)
    assert all(list(t.y) == [None] for t in fig.data)
    as_json(fig)


def test_the_cards_thresholds_live_in_health(monkeypatch):
    from health import thresholds as TH

    assert F.confidence_from_cv(0.2)[1] == "medium"
    monkeypatch.setattr(TH, "LIVE_Q_CONFIDENCE_HIGH", 0.8)  # 1 / 1.2 = 0.83
    assert F.confidence_from_cv(0.2)[1] == "high"
    values = np.array([0.0, 1.0, 0.0, 1.0, 0.4, 1.4, 0.4, 1.4])  # newer half 0.4 higher, spread ~0.55
    assert F.trend_of(values)[0] == F.RISING
    monkeypatch.setattr(TH, "LIVE_Q_TREND_MIN_CHANGE", 1.0)
    assert F.trend_of(values)[0] == F.STEADY
