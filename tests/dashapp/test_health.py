"""The health watch end to end without a browser: short real training runs (DQN on our
Breakout, SAC on Pendulum-v1) write their analyses through the real store, the read
package reads them back, and the Health tab's callbacks draw them from the run folder."""

from __future__ import annotations

import shutil

import pytest
from dash import Patch, no_update
from dash.exceptions import PreventUpdate

from dashapp import read
from dashapp.figures.common import is_empty_figure
from dashapp.tabs import health as H
from rl import telemetry as T
from rl.store import open_run
from tests.dashapp.reading import read_once

SKIPPED_OUT = "too few eigenvalues (3; WeightWatcher needs at least 8)"
#: "low": the analysis process takes a share of a busy machine (at the default "idle" it may
#: get no CPU at all while other work fills both cores, and these runs would publish nothing)
QUICK = {"probe": False, "frame_fps": 0, "step_records_per_s": 0, "health_priority": "low"}


@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory):
    """DQN on Breakout, 1,200 steps with a checkpoint every 400: analyses at 400, 800 and
    1,200 (unless one came while another still ran)."""
    from rl import worker

    path = tmp_path_factory.mktemp("health") / "dqn"
    overrides = {"hidden_sizes": (16, 16), "dueling": False, "learning_starts": 100, "checkpoint_every": 400, **QUICK}
    overrides["health_every"] = 0  # at checkpoints only
    worker.train("neurodash/Breakout-v0", "dqn", 1_200, run_dir=path, seed=0, overrides=overrides)
    return path


@pytest.fixture(scope="module")
def sac_health_run(tmp_path_factory):
    from rl import worker

    path = tmp_path_factory.mktemp("health") / "sac"
    overrides = {
        "hidden_sizes": (16, 16),
        "learning_starts": 200,
        "batch_size": 32,
        "checkpoint_every": 0,
        "health_every": 300,
        **QUICK,
    }
    worker.train("Pendulum-v1", "sac", 600, run_dir=path, seed=0, overrides=overrides)
    return path


def _due_steps_accounted_for(records, due):
    analysed = [r.step for r in records]
    skipped = [s for r in records for s in r.skipped]
    assert sorted(analysed + skipped) == due and analysed[-1] == due[-1]


# --------------------------------------------------------------------------- read side
def test_a_dqn_run_writes_analyses_that_read_back_typed(dqn_run):
    with read.session(dqn_run) as s:
        got = read.health.health_records(s)
        status = read.health.health_status(s)
        assert read.health.health_networks(s) == ["q_network", "target_network"]
        assert read.health.health_enabled(s) is True
        nothing_new = read.health.health_update(s, got.seq)
        again = read.health.health_update(s, None)
    records = got.records
    _due_steps_accounted_for(records, [400, 800, 1200])
    last = records[-1]
    assert last.checkpoint == "ckpt_000001200.pt" and (dqn_run / "checkpoints" / last.checkpoint).is_file()
    assert [n.name for n in last.networks] == ["q_network", "target_network"]
    q = last.network("q_network")
    assert [layer.name for layer in q.layers] == ["fc1", "fc2", "q_out"]
    out = q.layer("q_out")
    assert not out.analysed and out.reason == SKIPPED_OUT and out.alpha is None  # never a number
    assert q.layer("fc2").analysed and q.layer("fc2").alpha > 0 and q.alpha is not None
    assert q.dead_method == "activation" and q.dead_inputs == "the 1000 newest observations in the replay buffer"
    assert q.hidden_units == 32 and q.layer("fc1").dead_weight is not None
    assert status.state == "idle" and status.analyses == len(records) and status.next_step is None
    assert (status.last_step, status.last_checkpoint, status.checkpoint_every) == (1200, last.checkpoint, 400)
    assert not nothing_new.full and nothing_new.records == [] and nothing_new.seq == got.seq
    assert again.full and [r.step for r in again.records] == [r.step for r in records]


def test_an_sac_run_analyses_all_five_networks_and_its_critics_read_state_and_action(sac_health_run):
    records = read_once(sac_health_run, read.health.health_records).records
    _due_steps_accounted_for(records, [300, 600])
    last = records[-1]
    assert last.checkpoint == "ckpt_000000600.pt"  # the final checkpoint (none on the way)
    names = ["actor", "critic_1", "critic_2", "target_critic_1", "target_critic_2"]
    assert [n.name for n in last.networks] == names
    assert read_once(sac_health_run, read.health.health_networks) == names
    actor, critic = last.network("actor"), last.network("critic_1")
    assert not actor.layer("fc1").analysed
    assert actor.layer("fc1").reason == "too few eigenvalues (3; WeightWatcher needs at least 8)"  # 3 observations
    assert critic.layer("fc1").reason == "too few eigenvalues (4; WeightWatcher needs at least 8)"  # and the action
    assert critic.dead_inputs == "the 600 newest (observation, action) pairs in the replay buffer"
    assert actor.dead_inputs == "the 600 newest observations in the replay buffer"
    assert last.network("target_critic_2").target_of == "critic_2"


# --------------------------------------------------------------------------- the tab's callbacks
def _draw(run, network=None):
    """The first tick of the shown tab and the load it asks for."""
    out = H.tick_health(1, H.TAB_ID, str(run), None, network)
    cursor, reload = out[-2], out[-1]
    assert reload is not no_update and cursor["pending"]["key"]["run"] == str(run)
    *drawn, cursor = H.load_health(reload, str(run), network, cursor)
    return out, drawn, cursor


def test_the_tab_draws_a_real_run_and_then_sends_only_what_is_new(dqn_run, tmp_path, store_openings):
    run = tmp_path / "runs" / "dqn"
    shutil.copytree(dqn_run, run)
    out, (early, cards, table, pattern, alpha, rank, dead), cursor = _draw(run)
    assert "Latest analysis: step 1,200 (ckpt_000001200.pt)" in str(out[0])
    assert "q_network" in str(cards) and "target_network" in str(cards) and "follows q_network" in str(cards)
    assert f"not analysed: {SKIPPED_OUT}" in str(table) and "q_network at step 1,200" in str(table)
    assert [t.name for t in alpha.data][:1] == ["overall (mean of layers)"] and not is_empty_figure(alpha)
    assert {"fc1", "fc2"} <= {t.name for t in alpha.data} and "q_out" not in {t.name for t in alpha.data}
    assert [t.name for t in dead.data] == ["fc1", "fc2"] and not is_empty_figure(rank)
    assert "over " in str(pattern) and "ckpt_" in str(pattern)
    assert cursor["drawn"] and cursor["lines"]["alpha"][0] == "overall"
    assert len(store_openings) == 2  # one store session per callback

    # nothing new: the page gets nothing (HTTP 204)
    with pytest.raises(PreventUpdate):
        H.tick_health(2, H.TAB_ID, str(run), cursor, None)

    # a new analysis: each line grows by one point, the panels say the new step
    with open_run(run) as store:
        newest = T.HealthRecord.from_dict(store.read(T.HEALTH, limit=1)[0])
        store.append(T.HEALTH, [{**newest.to_dict(), "step": 1600, "checkpoint": None}])
    out = H.tick_health(3, H.TAB_ID, str(run), cursor, None)
    alpha_patch, cursor_after = out[5], out[-2]
    assert isinstance(alpha_patch, Patch) and out[-1] is no_update
    assert "q_network at step 1,600" in str(out[3])
    assert cursor_after["seq"] == cursor["seq"] + 1 and cursor_after["points"][-1][:2] == [1600, None]
    assert len(store_openings) == 4  # one for each tick, the 204 one too


def test_the_picker_lists_every_network_and_a_target_network_is_drawn(dqn_run):
    options, value, *_ = H.update_network_choice(1, H.TAB_ID, str(dqn_run), None, [], None)
    assert [o["value"] for o in options] == ["q_network", "target_network"] and value == "q_network"
    out, (early, cards, table, *_), cursor = _draw(dqn_run, "target_network")
    assert cursor["key"]["network"] == "target_network" and "target_network at step 1,200" in str(table)


def test_a_hidden_tab_reads_nothing_and_no_run_gets_a_sentence(dqn_run):
    with pytest.raises(PreventUpdate):
        H.tick_health(1, "live", str(dqn_run), None, None)
    out = H.tick_health(1, H.TAB_ID, None, None, None)
    assert "Choose a run above." in str(out[0])


def test_a_run_without_the_watch_says_so(tmp_path):
    from rl import worker

    path = tmp_path / "runs" / "off"
    worker.train("neurodash/Breakout-v0", "dqn", 120, run_dir=path, seed=0, overrides={"health": False, **QUICK})
    out = H.tick_health(1, H.TAB_ID, str(path), None, None)
    assert "--no-health" in str(out[0])
    *_, cursor = H.load_health(out[-1], str(path), None, out[-2])
    assert not cursor["drawn"]
