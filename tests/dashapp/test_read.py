"""dashapp.read: write records through the real DiskStore, read them back in store sessions."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from dashapp import read
from dashapp.read.series import Position
from rl import store as S
from rl import telemetry as T
from tests.dashapp.reading import read_once, worker_status
from tests.dashapp.runbuilder import newer_schema_run, unreadable_marker_run


# --------------------------------------------------------------------------- runs
def test_list_runs_empty_and_missing_folder(tmp_path):
    assert read.list_runs(tmp_path / "does-not-exist") == []
    (tmp_path / "empty").mkdir()
    assert read.list_runs(tmp_path / "empty") == []


def test_list_runs_reports_broken_runs_and_keeps_the_others(make_run, runs_dir):
    good = make_run("good")
    newer_schema_run(runs_dir / "from-the-future")
    unreadable_marker_run(runs_dir / "garbled")
    (runs_dir / "not-a-run").mkdir()  # no run.json: not listed at all

    runs = {r.name: r for r in read.list_runs(runs_dir)}
    assert set(runs) == {"good", "from-the-future", "garbled"}
    assert runs["good"].broken is None and runs["good"].path == str(good.path)
    assert runs["good"].env_id == "neurodash/Breakout-v0" and "DQN" in runs["good"].label
    assert "schema" in runs["from-the-future"].broken and "upgrade" in runs["from-the-future"].broken
    assert "not valid JSON" in runs["garbled"].broken
    assert runs["garbled"].label == "garbled (broken)"


def test_list_runs_of_a_single_run_folder(make_run):
    run = make_run("solo")
    assert [r.path for r in read.list_runs(run.path)] == [str(run.path)]


def test_run_with_corrupt_store_is_broken(make_run):
    run = make_run()
    run.close()
    for f in (run.path / S.STORE_DIR).glob("cache.db*"):
        f.write_bytes(b"this is not a sqlite database at all" * 100)
    with pytest.raises(read.BrokenRun, match="run-1"):
        worker_status(run.path)
    with pytest.raises(read.BrokenRun):
        read_once(run.path, read.steps.step_history)


def test_newer_schema_records_make_the_run_broken(make_run):
    run = make_run()
    run.add_steps(3)
    row = T.StepRecord(step=99, q=[1.0, 2.0, 3.0], action=0, explored=False, reward=0.0).to_dict()
    row["v"] = T.SCHEMA_VERSION + 1
    run.store.append(T.STEPS, [row])
    with pytest.raises(read.BrokenRun, match="schema"):
        read_once(run.path, read.steps.step_history)
    hb = run.heartbeat()
    run.store.put(T.HEARTBEAT, {**hb, "v": T.SCHEMA_VERSION + 1})
    with pytest.raises(read.BrokenRun, match="schema"):
        worker_status(run.path)


def test_a_bug_in_the_callback_is_not_passed_off_as_an_unreadable_run(make_run):
    """Only reads are translated: an error in the code around them goes through as it is
    (it would otherwise show on the page as "this run cannot be read")."""
    run = make_run()
    with pytest.raises(KeyError, match="no such thing"), read.session(run.path) as s:
        s.meta()
        raise KeyError("no such thing")
    run.store.put(T.ATTRIBUTION, {"kind": "attribution", "v": T.SCHEMA_VERSION, "step": "junk"})
    with pytest.raises(read.BrokenRun, match="run-1: the attribution record cannot be read"):
        read_once(run.path, read.network.attribution)  # ... while a record that is not what it says is


def test_a_session_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(read.BrokenRun, match="not a neurodash run folder"):
        worker_status(tmp_path)


def test_a_session_reads_the_runs_meta_once(make_run):
    run = make_run(actions=["push left", "push right"])
    with read.session(run.path) as s:
        meta = s.meta()
        assert meta.action_names == ["push left", "push right"] and meta.env_id == "neurodash/Breakout-v0"
        assert s.meta() is meta and s.schema == T.SCHEMA_VERSION
        assert meta.network_info().outputs == ["push left", "push right"]
        assert s.probe_key(T.ACTIVATIONS) == "probe/activations/q_network"


# --------------------------------------------------------------------------- heartbeat
@pytest.mark.parametrize(
    "state,age,expected",
    [
        (T.RUNNING, 0.2, T.RUNNING),
        (T.PAUSED, 1.0, T.PAUSED),
        (T.RUNNING, T.HEARTBEAT_STALE_S + 1, read.NOT_RESPONDING),
        (T.PAUSED, T.HEARTBEAT_STALE_S + 1, read.NOT_RESPONDING),
        (T.FINISHED, 3600, T.FINISHED),
        (T.STOPPED, 3600, T.STOPPED),
        (T.FAILED, 3600, T.FAILED),
    ],
)
def test_worker_status_from_heartbeat(make_run, state, age, expected):
    run = make_run()
    run.add_steps(5)
    run.heartbeat(state=state, age=age, message="hello")
    status = worker_status(run.path)
    assert status.state == expected
    assert status.step == 5 and status.total_steps == 1000 and status.message == "hello"
    assert status.progress == pytest.approx(0.005)
    assert status.controllable == (expected in (T.RUNNING, T.PAUSED))


def test_worker_status_without_heartbeat(make_run):
    status = worker_status(make_run().path)
    assert status.state == read.NO_HEARTBEAT and not status.controllable and status.progress is None


def test_classify_heartbeat_clock_skew_and_bad_data():
    now = time.time()
    hb = T.Heartbeat(time=now + 30, step=1, state=T.RUNNING, pid=1).to_dict()
    assert read.runs.classify_heartbeat(hb, now).state == T.RUNNING  # a clock ahead is not "stale"
    with pytest.raises(read.BrokenRun):
        read.runs.classify_heartbeat(["not", "a", "dict"], now)


# --------------------------------------------------------------------------- commands
def test_send_command_is_read_back_from_the_store(make_run):
    run = make_run()
    read.send_command(run.path, T.CMD_PAUSE)
    read.send_command(run.path, T.CMD_SPEED, T.SPEED_WATCH)
    got = [(c["action"], c["value"]) for c in run.commands()]
    assert got == [("pause", None), ("speed", "watch")]
    with pytest.raises(ValueError, match="unknown command"):
        read.send_command(run.path, "explode")
    with pytest.raises(ValueError, match="speed"):
        read.send_command(run.path, T.CMD_SPEED, "ludicrous")


# --------------------------------------------------------------------------- frame
def test_game_frame(make_run):
    run = make_run()
    assert read_once(run.path, read.runs.game) == read.runs.GameView()
    run.add_steps(7)
    run.frame()
    frame = read_once(run.path, read.runs.game).frame
    assert frame.step == 7 and frame.src.startswith("data:image/png;base64,iVBOR")
    run.store.put(T.FRAME, {"kind": "frame", "v": 1, "step": 1, "png_base64": 5, "width": 1, "height": 1})
    with pytest.raises(read.BrokenRun, match="frame"):
        read_once(run.path, read.runs.game)


# --------------------------------------------------------------------------- downsampling helpers
def test_pick_indices_always_keeps_the_newest():
    assert read.series.pick_indices(0, 10, 3).tolist() == [0, 3, 6, 9]
    assert read.series.pick_indices(0, 11, 3).tolist() == [1, 4, 7, 10]
    assert read.series.pick_indices(5, 6, 100).tolist() == [5]
    assert read.series.pick_indices(4, 4, 2).tolist() == []


def test_stride_for():
    assert read.series.stride_for(0, 600) == 1
    assert read.series.stride_for(600, 600) == 1
    assert read.series.stride_for(601, 600) == 2
    assert read.series.stride_for(20_000, 600) == 34


def test_rolling_at_matches_a_plain_loop_and_ignores_nan():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 2))
    values[[3, 10, 11], 0] = np.nan
    idx = np.array([0, 4, 11, 30, 49])
    for how, func in (("mean", np.nanmean), ("min", np.nanmin), ("max", np.nanmax)):
        got = read.series.rolling_at(values, idx, 7, how)
        want = np.array([func(values[max(0, i - 6) : i + 1], axis=0) for i in idx])
        np.testing.assert_allclose(got, want)
    # a window with no number at all is NaN, not an error
    allnan = np.full(5, np.nan)
    assert np.isnan(read.series.rolling_at(allnan, np.array([4]), 3, "mean")).all()


# --------------------------------------------------------------------------- steps
def test_step_history_downsamples_and_keeps_the_newest(make_run):
    run = make_run()
    run.add_steps(1000)
    points = read_once(run.path, read.steps.step_history, max_points=100, window=10)
    assert len(points) == 100 and points.stride == 10
    assert points.step[-1] == 1000 and points.seq == 999
    assert points.n_actions == 3 and points.position == Position(999, 10, 3)
    # q at a point is the raw value at that step
    assert points.q[-1] == pytest.approx([10.0, 11.0, 12.0])
    # mean/min/max over the last 10 steps (q of action 0 is 0.01 * step)
    assert points.q_mean[-1][0] == pytest.approx(0.01 * np.mean(np.arange(991, 1001)))
    assert points.q_low[-1][0] == pytest.approx(9.91) and points.q_high[-1][0] == pytest.approx(10.0)
    # action shares: every 3rd step explores; the greedy action is always RIGHT (index 2)
    assert sum(points.share[-1]) == pytest.approx(1.0)
    assert points.share[-1][2] == pytest.approx(1.0)
    assert points.explore[-1] == pytest.approx(3 / 10)


def test_step_history_of_an_empty_run(make_run):
    points = read_once(make_run().path, read.steps.step_history)
    assert len(points) == 0 and points.seq == -1


def test_step_tick_reads_only_new_records_with_context(make_run):
    run = make_run()
    run.add_steps(50)
    first = read_once(run.path, read.steps.step_history, max_points=600, window=10)
    assert first.stride == 1 and len(first) == 50

    unchanged = read_once(run.path, read.steps.step_tick, first.position, window=10)
    assert len(unchanged) == 0 and unchanged.position == first.position

    run.add_steps(5)
    new = read_once(run.path, read.steps.step_tick, first.position, window=10)
    assert new.step == [51, 52, 53, 54, 55] and new.seq == 54
    # the window reaches back into records drawn before (context), not only the new ones
    assert new.q_mean[0][0] == pytest.approx(0.01 * np.mean(np.arange(42, 52)))


def test_step_tick_asks_for_a_redraw(make_run):
    run = make_run()
    run.add_steps(20)
    # drawn ahead of the series: the run restarted
    assert read_once(run.path, read.steps.step_tick, Position(100, 1, 3)) is None
    # fell behind by more than the series keeps: redraw from what is left
    run.add_steps(500)
    assert read_once(run.path, read.steps.step_tick, Position(19, 1, 3), max_points=100, span=200) is None
    # behind by less: the new records come downsampled at a coarser stride
    caught_up = read_once(run.path, read.steps.step_tick, Position(19, 1, 3), max_points=100)
    assert caught_up.stride == 6 and len(caught_up) == 84 and caught_up.step[-1] == 520


def test_step_tick_stride_grows_with_history(make_run):
    run = make_run()
    run.add_steps(100)
    first = read_once(run.path, read.steps.step_history, max_points=10, window=5)
    assert first.stride == 10
    run.add_steps(100)
    more = read_once(run.path, read.steps.step_tick, first.position, max_points=10, window=5)
    assert more.stride == 20 and more.step[-1] == 200 and len(more) == 5


def test_steps_with_nan_and_missing_values(make_run):
    run = make_run()
    run.add_steps(4, q=lambda s: [math.nan, 1.0, None])
    points = read_once(run.path, read.steps.step_history, window=3)
    assert points.n_actions == 3
    assert all(math.isnan(p[0]) for p in points.q) and all(math.isnan(p[2]) for p in points.q)
    assert all(p[1] == 1.0 for p in points.q_mean)


def test_recent_steps_and_q_history(make_run):
    run = make_run()
    run.add_steps(30, action=lambda s: 7 if s == 30 else s % 3)  # 7: out of range
    recent = read_once(run.path, read.steps.recent_steps, n=10)
    assert len(recent) == 10 and recent.step[0] == 21 and recent.step[-1] == 30
    assert recent.action[-1] == -1 and recent.action[0] == 0
    assert recent.explored[0] is True  # step 21
    assert recent.q[-1] == pytest.approx([0.3, 1.3, 2.3])
    assert read_once(run.path, read.steps.q_history, 1, n=3) == pytest.approx([1.28, 1.29, 1.3])


def test_step_tick_from_nothing_drawn_to_extending(make_run):
    run = make_run()
    # nothing drawn and nothing to draw: nothing to do (no reload every poll)
    nothing = read_once(run.path, read.steps.step_tick, None)
    assert len(nothing) == 0 and nothing.seq == -1
    run.add_steps(10)
    assert read_once(run.path, read.steps.step_tick, None) is None  # data arrived: load the history

    drawn = read_once(run.path, read.steps.step_history).position
    assert drawn == Position(9, 1, 3)
    run.add_steps(3)
    points = read_once(run.path, read.steps.step_tick, drawn)
    assert points.step == [11, 12, 13] and points.position == Position(12, 1, 3)
    still = read_once(run.path, read.steps.step_tick, points.position)
    assert len(still) == 0 and still.position == points.position

    # the number of actions changed, or the series restarted: redraw
    assert read_once(run.path, read.steps.step_tick, Position(5, 1, 2)) is None
    assert read_once(run.path, read.steps.step_tick, Position(500, 1, 3)) is None


def test_step_tick_reads_a_bounded_number_of_records(make_run):
    run = make_run()
    run.add_steps(read.series.MAX_TICK_RECORDS + 50)
    assert read_once(run.path, read.steps.step_tick, Position(10, 1, 3)) is None  # far behind
    close = read_once(run.path, read.steps.step_tick, Position(60, 1, 3))
    assert close.step[-1] == read.series.MAX_TICK_RECORDS + 50


# --------------------------------------------------------------------------- episodes
def test_episode_history_and_tick(make_run):
    run = make_run()
    run.add_episodes(30, loss=lambda e: None if e < 5 else 1.0 / e)
    hist = read_once(run.path, read.episodes.episode_history, max_points=10, window=3)
    assert len(hist) == 10 and hist.episode[-1] == 30 and hist.stride == 3
    assert hist.score_mean[-1] == pytest.approx(np.mean([28, 29, 30]))
    assert set(hist.losses) == {"loss"} and set(hist.exploration) == {"epsilon"}
    assert math.isnan(hist.loss[0])  # episode 3: no loss yet
    assert hist.loss[-1] == pytest.approx(1 / 30) and hist.loss is hist.losses["loss"]
    assert hist.epsilon[0] == pytest.approx(0.7) and hist.epsilon[-1] == pytest.approx(0.05)

    run.add_episodes(2)
    new = read_once(run.path, read.episodes.episode_tick, Position(hist.seq, 1), max_points=1000, window=3)
    assert new.episode == [31, 32]
    assert new.score_mean[-1] == pytest.approx(np.mean([30, 31, 32]))
    assert read_once(run.path, read.episodes.episode_tick, Position(500, 1)) is None

    assert len(read_once(run.path, read.episodes.episode_tick, new.position)) == 0
    assert read_once(run.path, read.episodes.episode_tick, None) is None
    run.add_episodes(1)
    assert read_once(run.path, read.episodes.episode_tick, new.position).episode == [33]


def test_episodes_without_losses_or_exploration(make_run):
    """An agent that reports no loss and no epsilon: NaN lines, not a failure."""
    run = make_run()
    run.store.append(T.EPISODES, [T.EpisodeRecord(episode=1, step=10, score=2.0, length=10, sps=100.0).to_dict()])
    points = read_once(run.path, read.episodes.episode_history)
    assert points.losses == {} and points.exploration == {}
    assert math.isnan(points.loss[0]) and math.isnan(points.epsilon[0]) and points.score == [2.0]


def test_episode_history_empty(make_run):
    assert len(read_once(make_run().path, read.episodes.episode_history)) == 0
