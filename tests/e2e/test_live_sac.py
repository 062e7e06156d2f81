"""The Live tab of an SAC run in a real Chromium, over real worker and server processes:
the value panels (Q-values per action) give way to the actor-critic's (the critics'
estimates, the policy, sampled vs greedy actions), and the episode grid draws entropy,
temperature and the three losses."""

from __future__ import annotations

import pytest

from dashapp.figures import episodes as E
from dashapp.figures import policy as P
from dashapp.tabs.live.view import COLLAPSED
from tests.e2e.helpers import graph_points, graph_traces, text_of, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]


def classes(page, element_id: str) -> list[str]:
    return (page.get_attribute(f"#{element_id}", "class") or "").split()


def names(page, graph_id: str) -> list[str]:
    return [t["name"] for t in graph_traces(page, graph_id) or []]


@pytest.mark.parametrize(
    ("env", "discrete"),
    [("neurodash/Breakout-v0", True), ("Pendulum-v1", False)],
    ids=["discrete-breakout", "continuous-pendulum"],
)
def test_live_tab_of_an_sac_run(tmp_path, start_training, serve_dashboard, page, page_log, env, discrete):
    runs = tmp_path / "runs"
    # 10 step records a second, learning from step 200 (the e2e small network)
    start_training(runs / "sac-run", extra=["--agent", "sac", "--env", env, "--step-records-per-s", "10"])
    served = serve_dashboard(runs)
    page.goto(served.url)

    # the actor-critic's panels are shown, the Q-value panels folded away
    wait_until(lambda: COLLAPSED in classes(page, "live-q-panel"), 20, "the Q-value panel to fold away")
    assert COLLAPSED not in classes(page, "live-critics-panel")
    assert COLLAPSED not in classes(page, "live-policy-panels")
    assert COLLAPSED in classes(page, "live-value-panels")

    # the critics: both estimates and the smaller one, growing while training runs
    first = wait_until(lambda: graph_points(page, "live-critics-graph"), 30, "the critics' first estimates")
    wait_until(lambda: graph_points(page, "live-critics-graph") >= first + 5, 20, "the critics' chart to grow")
    critics = names(page, "live-critics-graph")
    assert critics[: len(P.CRITIC_TRACES)] == ["critic 1", "critic 2", "smaller of the two (used for learning)"]
    assert "critic" in text_of(page, "#live-critics-panel .panel-note").lower()

    # the policy over time: a band per action (discrete) or mean and spread per dimension
    wait_until(lambda: graph_points(page, "live-policy-graph") > 0, 20, "the policy chart")
    policy = names(page, "live-policy-graph")
    if discrete:
        assert {"LEFT", "STAY", "RIGHT"} <= set(policy)
    else:
        assert len(policy) >= P.GAUSSIAN_TRACES and "torque" in policy
    note = text_of(page, "#live-policy-note")
    assert note and ("probabilit" in note if discrete else "standard deviation" in note)

    # what was done: sampled vs greedy (discrete), or a histogram of the actions taken
    wait_until(lambda: graph_traces(page, "live-choice-graph"), 20, "the actions chart")
    if discrete:
        assert "sampled" in " ".join(names(page, "live-choice-graph")).lower()

    # finished episodes: score, entropy against its target, temperature, three losses
    episode_timeout = 40 if discrete else 60  # Pendulum's episodes are 200 steps long
    wait_until(lambda: graph_points(page, "live-episodes-graph") > 0, episode_timeout, "finished episodes")
    drawn = names(page, "live-episodes-graph")
    assert len(drawn) == len(E.ACTOR_CRITIC_GRID.traces)
    assert {"entropy", "target entropy", "α"} <= set(drawn)
    assert "entropy" in text_of(page, "#live-episodes-note").lower()

    assert page_log.external(served.url) == []
    assert page_log.errors == []
