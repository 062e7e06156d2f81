"""The Live tab for an actor-critic (SAC): the figures of the critics, the policy and the
actions taken, the episode grid, the policy read package, and the tab's callbacks on real
SAC runs (continuous Pendulum, discrete Breakout) through the real store."""

from __future__ import annotations

import math

import dash
import numpy as np
import pytest

from dashapp import read
from dashapp.figures import episodes as E
from dashapp.figures import live as F
from dashapp.figures import policy as P
from dashapp.figures.common import is_empty_figure
from dashapp.read.episodes import EpisodePoints
from dashapp.read.policy import PolicyPoints
from dashapp.tabs import live
from tests.dashapp.test_figures_live import as_json


def policy_points(discrete: bool, n: int = 3, width: int = 2) -> PolicyPoints:
    rows = [[0.5 + 0.1 * i - 0.05 * k for k in range(width)] for i in range(n)]
    kw = (
        {"probs": [[1.0 / width] * width for _ in range(n)]}
        if discrete
        else {"mean": rows, "std": [[0.2] * width for _ in range(n)]}
    )
    return PolicyPoints(
        seq=n - 1,
        stride=1,
        width=width,
        discrete=discrete,
        step=[10 * (i + 1) for i in range(n)],
        critics={
            "critic_1": [1.0, 2.0, 3.0][:n],
            "critic_2": [1.5, 1.5, math.nan][:n],
            "min": [1.0, 1.5, math.nan][:n],
        },
        **kw,
    )


# ----------------------------------------------------------------- figures
def test_critics_figure_and_extension_agree_on_the_traces():
    fig = P.critics_figure(policy_points(True))
    assert [t.name for t in fig.data] == ["critic 1", "critic 2", "smaller of the two (used for learning)"]
    assert list(fig.data[2].y) == [1.0, 1.5, None]  # NaN is a gap
    as_json(fig)
    update, indices, cap = P.critics_extension(policy_points(True, n=1), 600)
    assert indices == [0, 1, 2] and update["x"] == [[10]] * 3 and update["y"][1] == [1.5] and cap == 600
    assert P.critics_extension(PolicyPoints(), 600) is None
    assert is_empty_figure(P.critics_figure(PolicyPoints()))
    nan = PolicyPoints(seq=0, width=1, step=[1], critics={k: [math.nan] for k in P.CRITIC_TRACES}, probs=[[1.0]])
    assert "not numbers" in P.critics_figure(nan).layout.annotations[0].text


def test_discrete_policy_figure_stacks_probabilities_to_100():
    fig = P.policy_figure(policy_points(True, width=3), ["LEFT", "STAY", "RIGHT"])
    assert [t.name for t in fig.data] == ["LEFT", "STAY", "RIGHT"] and all(t.stackgroup == "probs" for t in fig.data)
    assert sum(t.y[0] for t in fig.data) == pytest.approx(100.0)
    update, indices, _ = P.policy_extension(policy_points(True, n=1, width=3), 600)
    assert indices == [0, 1, 2] and len(update["y"]) == len(fig.data)


def test_continuous_policy_figure_draws_a_band_of_one_std_around_the_mean():
    fig = P.policy_figure(policy_points(False, width=2), ["torque", "push"])
    assert len(fig.data) == 2 * P.GAUSSIAN_TRACES
    low, high, mean = fig.data[:3]
    assert mean.name == "torque" and high.fill == "tonexty"
    assert low.y[0] == pytest.approx(0.5 - 0.2) and high.y[0] == pytest.approx(0.5 + 0.2) and mean.y[0] == 0.5
    update, indices, _ = P.policy_extension(policy_points(False, n=1, width=2), 600)
    assert indices == list(range(6)) and update["y"][2] == [0.5]
    assert is_empty_figure(P.policy_figure(PolicyPoints()))
    as_json(fig)


def test_action_histogram_spans_the_allowed_range():
    actions = np.array([[-2.0], [0.0], [0.1], [2.0]])
    fig = P.action_histogram_figure(actions, ["torque"], ([-2.0], [2.0]))
    assert len(fig.data) == 1 and fig.data[0].histnorm == "percent" and list(fig.layout.xaxis.range) == [-2.0, 2.0]
    assert "last 4 recorded steps" in fig.layout.xaxis.title.text
    assert is_empty_figure(P.action_histogram_figure(np.zeros((0, 0))))


def test_sampled_action_bars_name_their_parts_for_a_policy():
    recent = read.steps.RecentSteps(
        n_actions=2, step=[1, 2, 3], q=[[0, 0]] * 3, action=[0, 1, 1], explored=[False, True, False]
    )
    fig = F.action_bar_figure(recent, ["a", "b"], kinds=F.SAMPLED)
    names = [t.name for t in fig.data]
    assert "most likely (policy's top choice)" in names and "sampled otherwise" in names
    assert "greedy" not in " ".join(names) and "sampled otherwise" in fig.data[1].hovertemplate


def test_actor_critic_episode_grid_draws_entropy_against_its_target():
    points = EpisodePoints(
        seq=1,
        episode=[1, 2],
        step=[200, 400],
        score=[-1200.0, -900.0],
        score_mean=[-1200.0, -1050.0],
        sps=[50.0, 50.0],
        length=[200.0, 200.0],
        losses={"critic_loss": [math.nan, 2.0], "actor_loss": [math.nan, 5.0], "alpha_loss": [math.nan, 0.1]},
        exploration={"alpha": [0.2, 0.18]},
        stats={"entropy": [math.nan, 0.5], "target_entropy": [math.nan, -1.0]},
    )
    grid = E.ACTOR_CRITIC_GRID
    fig = E.episodes_figure(points, grid)
    assert len(fig.data) == len(grid.traces) == 8
    titles = [a.text for a in fig.layout.annotations]
    assert titles == list(grid.titles) and "Policy entropy and its target" in titles
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["target entropy"].y) == [None, -1.0] and list(by_name["α"].y) == [0.2, 0.18]
    update, indices, _ = E.episodes_extension(points, 1000, grid)
    assert indices == list(range(8)) and update["y"][4] == [0.2, 0.18]
    as_json(fig)


# ----------------------------------------------------------------- reading real SAC runs
def test_policy_series_of_a_continuous_run(sac_run):
    with read.session(sac_run) as s:
        points = read.policy.policy_history(s)
        actions = read.policy.recent_actions(s)
        assert read.policy.is_actor_critic(s.meta())
    assert not points.discrete and points.width == 1 and len(points) > 10
    assert len(points.mean) == len(points.std) == len(points)
    c1, c2, low = (np.array(points.critics[k], dtype=float) for k in ("critic_1", "critic_2", "min"))
    ok = np.isfinite(low)
    assert ok.any() and np.all(low[ok] <= np.maximum(c1[ok], c2[ok]) + 1e-9)
    assert actions.shape[1] == 1 and np.all(np.abs(actions) <= 2.0)


def test_policy_series_of_a_discrete_run(discrete_sac_run):
    with read.session(discrete_sac_run) as s:
        points = read.policy.policy_history(s)
        tick = read.policy.policy_tick(s, points.position)
    assert points.discrete and points.width == 3
    assert all(abs(sum(p) - 1.0) < 1e-4 for p in points.probs)
    assert tick is not None and len(tick) == 0  # nothing new since the history


# ----------------------------------------------------------------- the tab on real SAC runs
@pytest.mark.parametrize("fixture, discrete", [("sac_run", False), ("discrete_sac_run", True)])
def test_live_tab_shows_the_actor_critic_panels_of_an_sac_run(request, fixture, discrete):
    run = str(request.getfixturevalue(fixture))
    agent, q, value_panels, critics, policy, choice_title, choice_note, policy_note, ep_title, ep_note = (
        live.show_agent(1, live.TAB_ID, run, None)
    )
    assert agent == {"run": run, "kind": live.ACTOR_CRITIC, "discrete": discrete, "known": True}
    assert q == value_panels == "nd-collapsed" and critics == policy == ""
    assert ("drawn by chance" if discrete else "Which actions it takes") in choice_title
    assert ("probability" if discrete else "standard deviation") in policy_note
    assert "entropy" in ep_title and "temperature" in ep_note
    # once known, later polls read nothing
    assert live.show_agent(2, live.TAB_ID, run, agent) == (dash.no_update,) * 10

    # the value panels stay quiet; the policy panels ask for their history, then draw it
    assert live.tick_steps(1, live.TAB_ID, agent, None) == (dash.no_update,) * 6
    critics_ext, policy_ext, choice, cursor, reload = live.tick_policy(1, live.TAB_ID, agent, None)
    assert critics_ext is dash.no_update and reload == {"key": {"run": run}, "tick": 1}
    assert not is_empty_figure(choice) and (choice.data[0].type == ("bar" if discrete else "histogram"))
    critics_fig, policy_fig, cursor = live.load_policy(reload, agent)
    assert len(critics_fig.data) == 3 and len(critics_fig.data[0].x) > 10 and cursor["drawn"]
    assert len(policy_fig.data) == (3 if discrete else P.GAUSSIAN_TRACES)
    out = live.tick_policy(2, live.TAB_ID, agent, cursor)  # a finished run: no new chart point ...
    assert out[0] is dash.no_update and out[4] is dash.no_update
    assert live.tick_policy(3, live.TAB_ID, agent, out[3]) == (dash.no_update,) * 5  # ... nor anything else

    _, ep_cursor, ep_reload = live.tick_episodes(1, live.TAB_ID, agent, None)
    episodes, _ = live.load_episodes(ep_reload, agent)
    assert len(episodes.data) == len(E.ACTOR_CRITIC_GRID.traces) and len(episodes.data[0].x) >= 1


def test_a_value_run_keeps_the_value_panels_and_the_policy_callbacks_read_nothing(make_run, store_openings):
    run = make_run()
    run.add_steps(20)
    path = str(run.path)
    agent, q, value_panels, critics, policy, *_ = live.show_agent(1, live.TAB_ID, path, None)
    assert agent["kind"] == live.VALUE and q == value_panels == "" and critics == policy == "nd-collapsed"
    store_openings.clear()
    assert live.tick_policy(1, live.TAB_ID, agent, None) == (dash.no_update,) * 5
    assert store_openings == []
    # while the run's metadata cannot be read yet, the agent is asked for again on the next poll
    assert live.describe_agent(None) == {"run": None, "kind": live.VALUE, "discrete": True, "known": False}
