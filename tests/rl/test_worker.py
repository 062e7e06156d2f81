"""The training worker: the loop, its callbacks, the command channel and `neurodash train`.

Three layers, fastest first:

* the loop and callbacks driven by a tiny fake agent and environment with a fake clock
  (no torch, deterministic: pause/step/resume/stop/speed are scripted against the clock);
* real short training runs on our Breakout in this process, read back from the DiskStore;
* `python -m dashapp.cli train` in a subprocess, commanded through the store like the
  dashboard does it, and its one-line errors for bad input.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rl import telemetry as T
from rl.agents.base import Decision, Update
from rl.callbacks import Callback, CallbackList, RunContext
from rl.checkpoints import CheckpointSaver
from rl.control import WorkerControl
from rl.healthwatch import HealthWatch
from rl.loop import run_loop
from rl.publisher import TelemetryPublisher, encode_frame
from rl.schedule import Throttle
from rl.store import RUN_MARKER, MemoryStore, create_run_dir, open_run
from rl.worker import TrainingFailed, WorkerConfig, default_callbacks, resolve_configs, train

REPO = Path(__file__).resolve().parents[2]
BREAKOUT = "neurodash/Breakout-v0"


# =========================================================================== fakes
class Clock:
    """A fake monotonic clock; the fake environment advances it by ``dt`` per step."""

    def __init__(self, dt: float = 0.001) -> None:
        self.t, self.dt = 100.0, dt

    def __call__(self) -> float:
        return self.t


class FakeEnv:
    """Episodes of ``length`` steps; the observation is [step in episode, episode]."""

    def __init__(self, clock: Clock, length: int = 5) -> None:
        self.clock, self.length = clock, length
        self.t = self.episode = 0
        self.renders = 0

    def reset(self, seed=None):
        self.t = 0
        return np.array([0.0, self.episode], dtype=np.float32), {}

    def step(self, action):
        self.clock.t += self.clock.dt
        self.t += 1
        done = self.t >= self.length
        if done:
            self.episode += 1
        return np.array([self.t, self.episode], dtype=np.float32), float(action), done, False, {}

    def render(self):
        self.renders += 1
        return np.full((6, 8, 3), self.t * 10, dtype=np.uint8)


class FakeAgent:
    """Q-values [obs0, -obs0]; explores every third step; a loss every second step."""

    def __init__(self) -> None:
        self.observed = []

    def act(self, obs, step):
        q = [float(obs[0]), -float(obs[0])]
        return Decision(action=step % 2, q=q, explored=step % 3 == 0, exploration={"epsilon": 0.5})

    def observe(self, obs, action, reward, next_obs, terminated):
        self.observed.append((obs.copy(), action, reward, next_obs.copy(), terminated))

    def learn(self, step):
        return Update(losses={"loss": 0.5 * step}, networks=("q_network",)) if step % 2 == 1 else None


class RecordingStore(MemoryStore):
    """A MemoryStore that remembers every write (to count batches and heartbeats)."""

    def __init__(self) -> None:
        super().__init__()
        self.appends: list[tuple[str, int]] = []
        self.puts: list[tuple[str, dict]] = []
        self.log: list[tuple] = []  # every write in order

    def append(self, series, records, cap=None):
        self.appends.append((series, len(records)))
        self.log.append(("append", series, records[-1].get("step") if records else None))
        return super().append(series, records, cap)

    def put(self, key, value):
        self.puts.append((key, value))
        self.log.append(("put", key, value))
        super().put(key, value)

    def heartbeats(self) -> list[dict]:
        return [v for k, v in self.puts if k == T.HEARTBEAT]


def fake_run(config: WorkerConfig, *, clock=None, sleep=None, extra=(), store=None, length=5, publisher=True):
    """Run the real loop with the real publisher and control over the fakes."""
    clock = clock or Clock()
    store = store or RecordingStore()
    env, agent = FakeEnv(clock, length), FakeAgent()
    ctx = RunContext(store=store, meta=None, agent=agent, config=config)
    callbacks: list[Callback] = []
    if publisher:
        callbacks.append(TelemetryPublisher(config, render=env.render, clock=clock))
    callbacks += list(extra)

    def default_sleep(seconds):
        clock.t += seconds

    control = WorkerControl(
        config, flush=[cb.flush for cb in callbacks if hasattr(cb, "flush")], clock=clock, sleep=sleep or default_sleep
    )
    callbacks.append(control)
    stopped = run_loop(env, agent, ctx, CallbackList(callbacks), config.steps)
    return stopped, ctx, store, control, env, agent


class AtStep(Callback):
    """Calls ``fn(ctx)`` once, at a given step."""

    def __init__(self, step: int, fn) -> None:
        self.step, self.fn = step, fn

    def on_step(self, ctx, step):
        if step.step == self.step:
            self.fn(ctx)
        return True


# =========================================================================== the loop
def test_loop_feeds_the_agent_and_numbers_steps_from_one():
    seen = []

    class Spy(Callback):
        def on_step(self, ctx, step):
            seen.append((step.step, ctx.step, step.episode, step.obs.tolist(), step.next_obs.tolist()))
            return True

    config = WorkerConfig(steps=12)
    stopped, ctx, _, _, _, agent = fake_run(config, extra=[Spy()], publisher=False)
    assert stopped is False and ctx.step == 12 and ctx.episode == 2
    assert [s[0] for s in seen] == list(range(1, 13)) and all(s[0] == s[1] for s in seen)
    # After an episode's last step the next observation comes from reset(), not next_obs.
    assert seen[4][3:] == ([4.0, 0.0], [5.0, 1.0]) and seen[5][3] == [0.0, 1.0]
    assert [s[2] for s in seen] == [0] * 5 + [1] * 5 + [2] * 2
    assert [o[4] for o in agent.observed] == [False, False, False, False, True] * 2 + [False, False]


def test_a_callback_returning_false_stops_the_loop_after_that_step():
    class StopAt7(Callback):
        def on_step(self, ctx, step):
            return step.step < 7

    ends = []

    class End(Callback):
        def on_training_end(self, ctx):
            ends.append(ctx.step)

    stopped, ctx, *_ = fake_run(WorkerConfig(steps=50), extra=[StopAt7(), End()], publisher=False)
    assert stopped is True and ctx.step == 7 and ends == [7]


# =========================================================================== publisher
def test_publisher_writes_every_step_and_episode_with_the_right_fields():
    config = WorkerConfig(steps=23, step_records_per_s=0, frame_fps=0)
    _, _, store, *_ = fake_run(config)
    steps = store.read(T.STEPS)
    assert [r["step"] for r in steps] == list(range(1, 24))
    first = T.StepRecord.from_dict(steps[0])
    assert first.q == [0.0, -0.0] and first.action == 0 and first.explored is True and first.reward == 0.0
    assert [r["explored"] for r in steps[:6]] == [True, False, False, True, False, False]
    assert steps[4]["q"] == [4.0, -4.0] and steps[5]["episode"] == 1
    episodes = [T.EpisodeRecord.from_dict(r) for r in store.read(T.EPISODES)]
    assert [(e.episode, e.step, e.length) for e in episodes] == [(0, 5, 5), (1, 10, 5), (2, 15, 5), (3, 20, 5)]
    # rewards are the actions 0,1,0,1,0 -> score 2; losses at global steps 1 and 3 -> 0.5, 1.5
    assert episodes[0].score == 2.0 and episodes[0].losses == {"loss": pytest.approx(1.0)}
    assert episodes[0].exploration == {"epsilon": 0.5} and episodes[0].sps > 0


def test_publisher_batches_writes_by_wall_clock():
    # 1 ms per step, a write every 0.25 s: about 250 step records per write.
    config = WorkerConfig(steps=1000, step_records_per_s=0, frame_fps=0, publish_interval=0.25, publish_batch=10_000)
    _, _, store, *_ = fake_run(config)
    step_writes = [n for series, n in store.appends if series == T.STEPS]
    assert len(step_writes) == 4 and sum(step_writes) == 1000
    assert all(240 <= n <= 260 for n in step_writes[:-1])


def test_publisher_writes_early_when_the_batch_is_full():
    config = WorkerConfig(steps=100, step_records_per_s=0, frame_fps=0, publish_interval=60, publish_batch=30)
    _, _, store, *_ = fake_run(config)
    writes = [n for series, n in store.appends if series == T.STEPS]
    assert sum(writes) == 100 and max(writes) <= 30 and len(writes) >= 4


def test_step_records_are_sampled_by_wall_clock_not_by_training_speed():
    # 1 ms per step (1000 steps/s) with at most 100 records/s: one in ten steps.
    config = WorkerConfig(steps=2000, step_records_per_s=100, frame_fps=0)
    _, _, store, *_ = fake_run(config)
    steps = store.read(T.STEPS)
    assert 190 <= len(steps) <= 202
    assert steps[-1]["step"] == 2000  # the last step is always published at the end
    gaps = np.diff([r["step"] for r in steps[:-1]])
    assert gaps.min() >= 9 and gaps.max() <= 11
    # ... and at watch-like speed (50 ms per step) every step fits under the cap.
    _, _, store, *_ = fake_run(dataclasses.replace(config, steps=40), clock=Clock(dt=0.05))
    assert [r["step"] for r in store.read(T.STEPS)] == list(range(1, 41))


def test_frames_are_published_a_few_times_per_second_as_png():
    from PIL import Image

    config = WorkerConfig(steps=2000, frame_fps=4, step_records_per_s=0)  # 2 s of fake time
    _, ctx, store, _, env, _ = fake_run(config)
    frames = [v for k, v in store.puts if k == T.FRAME]
    # 4 fps for 2 s, plus the first frame and the one at the end
    assert 8 <= len(frames) <= 10 and env.renders == len(frames)
    frame = T.Frame.from_dict(store.get(T.FRAME))
    assert (frame.width, frame.height, frame.step) == (8, 6, 2000)
    image = Image.open(io.BytesIO(base64.b64decode(frame.png_base64)))
    assert image.format == "PNG" and image.size == (8, 6)
    # the last frame shows the environment as training left it: just reset (t=0 -> black)
    assert np.asarray(image)[0, 0].tolist() == [0, 0, 0]
    # frames are off with frame_fps=0
    _, _, store, _, env, _ = fake_run(dataclasses.replace(config, frame_fps=0))
    assert store.get(T.FRAME) is None and env.renders == 0


def test_a_broken_renderer_does_not_stop_training():
    config = WorkerConfig(steps=50, frame_fps=100)
    store = MemoryStore()
    ctx = RunContext(store=store, meta=None, agent=FakeAgent(), config=config)

    def render():
        raise RuntimeError("no display")

    publisher = TelemetryPublisher(config, render=render)
    stopped = run_loop(FakeEnv(Clock()), ctx.agent, ctx, CallbackList([publisher]), 50)
    assert stopped is False and ctx.step == 50
    assert publisher.frame_error == "RuntimeError: no display" and store.get(T.FRAME) is None
    assert store.get(T.FRAME_UNAVAILABLE) == {"reason": "RuntimeError: no display"}  # the dashboard says why


@pytest.mark.parametrize(
    "rgb, problem",
    [(np.zeros((4, 4), np.uint8), "HxWx3"), (np.zeros((2, 3, 3), np.uint8), None)],
)
def test_encode_frame(rgb, problem):
    if problem:
        with pytest.raises(ValueError, match=problem):
            encode_frame(rgb)
    else:
        png, width, height = encode_frame(rgb)
        assert (width, height) == (3, 2) and base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"


def test_non_finite_values_are_published_as_they_are():
    class NanAgent(FakeAgent):
        def act(self, obs, step):
            return Decision(action=0, q=[float("nan"), float("inf")], explored=False, exploration={"epsilon": 0.1})

    config = WorkerConfig(steps=3, step_records_per_s=0, frame_fps=0)
    store = MemoryStore()
    ctx = RunContext(store=store, meta=None, agent=NanAgent(), config=config)
    run_loop(FakeEnv(Clock()), ctx.agent, ctx, CallbackList([TelemetryPublisher(config)]), 3)
    q = store.read(T.STEPS)[0]["q"]
    assert np.isnan(q[0]) and q[1] == float("inf")


# =========================================================================== control
class Dashboard:
    """Scripted commands, sent when the fake clock passes their time (from the sleep hook)."""

    def __init__(self, store, clock, script) -> None:
        self.store, self.clock = store, clock
        self.script = sorted(script)  # [(time offset, action, value)]
        self.start = clock.t

    def sleep(self, seconds):
        self.clock.t += seconds
        while self.script and self.clock.t - self.start >= self.script[0][0]:
            _, action, value = self.script.pop(0)
            self.store.send_command(action, value)


def _control_config(**kw):
    return WorkerConfig(**{"steps": 3000, "frame_fps": 0, "step_records_per_s": 0, **kw})


def test_pause_holds_the_step_count_while_the_heartbeat_goes_on_and_step_advances_one():
    clock = Clock()
    store = RecordingStore()
    dash = Dashboard(
        store, clock, [(2.0, "step", None), (3.0, "step", None), (3.0, "step", None), (6.0, "resume", None)]
    )
    pause_at = AtStep(100, lambda ctx: ctx.store.send_command(T.CMD_PAUSE))
    stopped, ctx, store, control, *_ = fake_run(
        _control_config(), clock=clock, sleep=dash.sleep, store=store, extra=[pause_at]
    )
    assert stopped is False and ctx.step == 3000
    beats = store.heartbeats()
    paused = [b for b in beats if b["state"] == T.PAUSED]
    # paused at the first poll after step 100 (polls every 0.1 s = 100 steps at 1 ms/step)
    first = paused[0]["step"]
    assert 100 <= first <= 201
    # ~6 s paused with a heartbeat every 0.5 s
    assert len(paused) >= 12
    # the dashboard hears "paused" only once the step paused on is in the store
    first_paused = next(
        i for i, e in enumerate(store.log) if e[:2] == ("put", T.HEARTBEAT) and e[2]["state"] == T.PAUSED
    )
    last_append = [e for e in store.log[:first_paused] if e[:2] == ("append", T.STEPS)][-1]
    assert last_append[2] == first
    # the step count moved only by the three single steps, one step each
    assert sorted({b["step"] for b in paused}) == [first, first + 1, first + 2, first + 3]
    assert [b["step"] for b in paused] == sorted(b["step"] for b in paused)
    assert all(b["sps"] == 0.0 for b in paused)
    # the step records reached the store before the worker waited on them
    # after resume, running heartbeats again with a growing step count
    resumed = [b["step"] for b in beats if b["state"] == T.RUNNING and b["step"] > first + 3]
    assert len(resumed) >= 3 and resumed[-1] > 2400
    assert [r["step"] for r in store.read(T.STEPS)] == list(range(1, 3001))


@pytest.mark.parametrize("records_per_s", [0, 1])  # every step / sampled (the paused step not among them)
def test_flush_before_waiting_publishes_the_paused_step(records_per_s):
    clock = Clock()
    store = RecordingStore()
    seen_while_paused = []

    def sleep(seconds):
        clock.t += seconds
        seen_while_paused.append(store.last_seq(T.STEPS))
        if len(seen_while_paused) == 5:
            store.send_command(T.CMD_STOP)

    config = _control_config(publish_interval=10.0, step_records_per_s=records_per_s, frame_fps=1)
    stopped, ctx, *_ = fake_run(
        config, clock=clock, sleep=sleep, store=store, extra=[AtStep(10, lambda c: c.store.send_command(T.CMD_PAUSE))]
    )
    assert stopped is True and ctx.step > 50
    # while paused, the store already held the step paused on, and its frame
    last = store.read(T.STEPS)[-1]
    assert last["step"] == ctx.step and seen_while_paused[0] == last["seq"]
    assert len(store.read(T.STEPS)) == (ctx.step if records_per_s == 0 else 2)
    assert store.get(T.FRAME)["step"] == ctx.step


def test_stop_while_paused_ends_training():
    clock = Clock()
    store = RecordingStore()
    dash = Dashboard(store, clock, [(1.0, "stop", None)])
    stopped, ctx, store, control, *_ = fake_run(
        _control_config(),
        clock=clock,
        sleep=dash.sleep,
        store=store,
        extra=[AtStep(5, lambda c: c.store.send_command(T.CMD_PAUSE))],
    )
    assert stopped is True and control.stop_requested and ctx.step < 300
    assert control.message == "stopped from the dashboard"


def test_stop_while_running_ends_training_at_the_next_poll():
    stopped, ctx, store, control, *_ = fake_run(
        _control_config(), extra=[AtStep(500, lambda c: c.store.send_command(T.CMD_STOP))]
    )
    assert stopped is True and 500 <= ctx.step <= 601


def test_commands_are_polled_every_n_steps_even_when_the_clock_stands_still():
    clock = Clock(dt=0.0)
    stopped, ctx, *_ = fake_run(
        _control_config(command_poll_steps=50),
        clock=clock,
        extra=[AtStep(120, lambda c: c.store.send_command(T.CMD_STOP))],
    )
    assert stopped is True and 120 <= ctx.step <= 150


def test_commands_sent_before_training_are_not_obeyed():
    store = RecordingStore()
    store.send_command(T.CMD_STOP)
    store.send_command(T.CMD_PAUSE)
    stopped, ctx, *_ = fake_run(_control_config(steps=500), store=store)
    assert stopped is False and ctx.step == 500


def test_watch_speed_paces_training_and_speed_can_change_while_running():
    clock = Clock(dt=0.0)  # training itself takes no time: only pacing moves the clock
    config = _control_config(steps=90, speed=T.SPEED_WATCH, watch_sps=30)
    start = clock.t
    stopped, ctx, store, control, *_ = fake_run(config, clock=clock)
    assert ctx.step == 90 and 88.5 / 30 <= clock.t - start <= 90.5 / 30  # 89 waits of 1/30 s

    clock = Clock(dt=0.0)
    start = clock.t
    switch = AtStep(30, lambda c: c.store.send_command(T.CMD_SPEED, T.SPEED_FULL))
    stopped, ctx, store, control, *_ = fake_run(dataclasses.replace(config, steps=3000), clock=clock, extra=[switch])
    # ~30 steps at 30 steps/s (plus up to a poll's worth), then no more pacing
    assert ctx.step == 3000 and clock.t - start <= 1.2 and control.speed == T.SPEED_FULL
    assert store.heartbeats()[-1]["speed"] == T.SPEED_FULL


def test_bad_commands_are_reported_and_ignored():
    def send(ctx):
        ctx.store.send_command("dance")
        ctx.store.send_command(T.CMD_SPEED, "ludicrous")
        ctx.store.append(T.COMMANDS, [dict(T.Command(action=T.CMD_STOP).to_dict(), v=T.SCHEMA_VERSION + 1)])

    messages = []

    class Watch(Callback):
        def on_step(self, ctx, step):
            beat = ctx.store.get(T.HEARTBEAT)
            if beat and beat["message"] not in messages:
                messages.append(beat["message"])
            return True

    stopped, ctx, store, control, *_ = fake_run(_control_config(steps=400), extra=[AtStep(10, send), Watch()])
    assert stopped is False and ctx.step == 400 and control.speed == T.SPEED_FULL
    # one heartbeat at once, naming all three
    noted = [m for m in messages if "dance" in m]
    assert len(noted) == 1 and "'ludicrous'" in noted[0] and "cannot read" in noted[0] and "upgrade" in noted[0]
    # a step command while running is ignored with a note
    stopped, ctx, store, control, *_ = fake_run(
        _control_config(steps=400), extra=[AtStep(10, lambda c: c.store.send_command(T.CMD_STEP))]
    )
    assert ctx.step == 400 and "single steps work while paused" in control.message


def test_heartbeat_comes_about_twice_a_second_with_steps_per_second():
    clock = Clock(dt=0.001)
    stopped, ctx, store, *_ = fake_run(_control_config(steps=5000), clock=clock)
    beats = store.heartbeats()
    assert 9 <= len(beats) <= 12  # 5 s at 0.5 s
    assert all(b["state"] == T.RUNNING and b["total_steps"] == 5000 and b["pid"] == os.getpid() for b in beats)
    assert beats[3]["sps"] == pytest.approx(1000, rel=0.05)
    assert [b["step"] for b in beats] == sorted(b["step"] for b in beats)


def test_default_callbacks_put_control_last_and_collect_flush_hooks(tmp_path):
    class Extra(Callback):
        flushed = 0

        def flush(self, ctx):
            Extra.flushed += 1

    extra = Extra()
    callbacks = default_callbacks(WorkerConfig(probe=False), run_dir=tmp_path, render=None, extra=[extra])
    assert [type(cb) for cb in callbacks] == [TelemetryPublisher, CheckpointSaver, Extra, HealthWatch, WorkerControl]
    assert callbacks[3].checkpoints is callbacks[1]  # the health watch analyses the saver's checkpoints
    control = callbacks[-1]
    assert len(control.flush_hooks) == 2  # the publisher's and the extra's
    control.flush_hooks[1](None)
    assert Extra.flushed == 1
    assert [type(cb) for cb in default_callbacks(WorkerConfig(probe=False, health=False), run_dir=None)] == [
        TelemetryPublisher,
        WorkerControl,
    ]
    # the probe and the attribution publisher join when the probe is on, still before control
    with_probe = default_callbacks(WorkerConfig(probe=True), run_dir=None, extra=[extra])
    names = [type(cb).__name__ for cb in with_probe]
    assert names[0] == "TelemetryPublisher" and names[-3:] == ["Extra", "HealthWatch", "WorkerControl"]
    assert {"ProbeCallback", "AttributionCallback"} <= set(names)
    assert len(with_probe[-1].flush_hooks) == sum(hasattr(cb, "flush") for cb in with_probe[:-1])


def test_checkpoint_saver_saves_every_n_steps_and_once_at_the_end(tmp_path):
    calls = []

    def save(run_dir, ctx):
        calls.append(ctx.step)
        return run_dir / f"ckpt_{ctx.step:09d}.pt"

    saver = CheckpointSaver(tmp_path, every=4, save=save)
    _, ctx, *_ = fake_run(WorkerConfig(steps=10), extra=[saver], publisher=False)
    assert calls == [4, 8, 10] and saver.saved[-1].name == "ckpt_000000010.pt"
    calls.clear()
    saver = CheckpointSaver(tmp_path, every=5, save=save)
    fake_run(WorkerConfig(steps=10), extra=[saver], publisher=False)
    assert calls == [5, 10]  # no second save of step 10 at the end
    calls.clear()
    fake_run(WorkerConfig(steps=7), extra=[CheckpointSaver(tmp_path, every=0, save=save)], publisher=False)
    assert calls == [7]


# =========================================================================== schedules
def test_a_throttle_books_its_period_and_a_later_time_set_by_due_at_counts_even_for_period_0():
    clock = Clock()
    every_half_second = Throttle(0.5, clock)
    assert every_half_second.ready() and not every_half_second.ready() and not every_half_second.due()
    clock.t += 0.5
    assert every_half_second.due() and every_half_second.ready() and not every_half_second.ready()
    always = Throttle(0.0, clock)
    assert always.ready() and always.ready() and always.due()
    always.due_at(clock.t + 1.0)  # e.g. the probe's publish, pushed back after a slow one
    assert not always.due()
    clock.t += 1.0
    assert always.due()


# =========================================================================== config
def test_worker_config_refuses_bad_values():
    with pytest.raises(ValueError, match="steps must be >= 1"):
        WorkerConfig(steps=0)
    with pytest.raises(ValueError, match="speed must be"):
        WorkerConfig(speed="warp")
    with pytest.raises(ValueError, match="watch_sps"):
        WorkerConfig(watch_sps=0)


def test_resolve_configs_routes_overrides_and_uses_env_presets():
    worker, agent = resolve_configs(BREAKOUT, "dqn", {"steps": 7, "learning_rate": 0.01, "hidden_sizes": [8]})
    assert worker.steps == 7 and agent.learning_rate == 0.01 and agent.hidden_sizes == (8,)
    _, cartpole = resolve_configs("CartPole-v1", "dqn", {})
    assert cartpole.hidden_sizes == (120, 84)  # the CartPole preset
    with pytest.raises(ValueError, match="unknown setting.*warp_factor"):
        resolve_configs(BREAKOUT, "dqn", {"warp_factor": 9})
    with pytest.raises(ValueError, match="unknown agent 'ppo'"):
        resolve_configs(BREAKOUT, "ppo", {})
    with pytest.raises(ValueError, match="learning_rate"):
        resolve_configs(BREAKOUT, "dqn", {"learning_rate": -1})


# =========================================================================== real training
SMALL = {"hidden_sizes": [16], "dueling": False, "learning_starts": 100, "batch_size": 16, "buffer_size": 2_000}


def _read_run(run_dir):
    with open_run(run_dir) as store:
        return {
            "meta": store.read_meta(),
            "steps": store.read(T.STEPS),
            "episodes": store.read(T.EPISODES),
            "heartbeat": store.get(T.HEARTBEAT),
            "frame": store.get(T.FRAME),
        }


def _load_checkpoint(path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def test_train_on_breakout_publishes_records_and_checkpoints(tmp_path):
    run_dir = tmp_path / "run"
    summary = train(
        BREAKOUT,
        "dqn",
        400,
        run_dir=run_dir,
        seed=0,
        overrides={**SMALL, "checkpoint_every": 200, "step_records_per_s": 0, "frame_fps": 50},
    )
    assert (summary.state, summary.steps) == (T.FINISHED, 400) and summary.episodes >= 1
    got = _read_run(run_dir)

    meta = got["meta"]
    assert meta.env_id == BREAKOUT and meta.agent == "dqn" and meta.seed == 0 and meta.network == "q_network"
    assert meta.action_names == ["LEFT", "STAY", "RIGHT"] and meta.feature_names[:2] == ["ball x", "ball y"]
    assert [layer.name for layer in meta.layers] == ["fc1", "q_out"]
    assert [(n.name, n.watched, n.target_of) for n in meta.networks] == [
        ("q_network", True, None),
        ("target_network", False, "q_network"),
    ]
    assert meta.watched == ["q_network"] and meta.network_info().layers == meta.layers
    assert meta.network_info().inputs == meta.feature_names and meta.network_info().outputs == meta.action_names
    assert meta.action_space == T.ActionSpace("discrete", n=3)
    assert meta.config["worker"]["steps"] == 400 and meta.config["agent"]["hidden_sizes"] == [16]
    assert json.loads((run_dir / RUN_MARKER).read_text())["run_id"] == "run"

    steps = [T.StepRecord.from_dict(r) for r in got["steps"]]
    assert [s.step for s in steps] == list(range(1, 401))
    assert all(len(s.q) == 3 and all(np.isfinite(s.q)) and s.action in (0, 1, 2) for s in steps)
    explored = [s.explored for s in steps]
    assert any(explored) and not all(explored)  # epsilon falls from 1.0 over 20% of the run
    greedy = [s for s in steps if not s.explored]
    assert all(s.action == int(np.argmax(s.q)) for s in greedy)
    assert steps[-1].episode == summary.episodes or steps[-1].episode == summary.episodes - 1

    episodes = [T.EpisodeRecord.from_dict(r) for r in got["episodes"]]
    assert len(episodes) == summary.episodes
    assert [e.episode for e in episodes] == list(range(len(episodes)))
    assert sum(e.length for e in episodes) <= 400 and all(e.sps > 0 for e in episodes)
    assert all(set(e.losses) <= {"loss"} for e in episodes)
    assert any("loss" in e.losses for e in episodes if e.step > 150)  # learning started at 100
    assert not any(e.losses for e in episodes if e.step <= 100)  # ... and not before
    assert set(episodes[0].exploration) == {"epsilon"} and episodes[0].exploration["epsilon"] < 1.0

    beat = T.Heartbeat.from_dict(got["heartbeat"])
    assert (beat.state, beat.step, beat.total_steps, beat.pid) == (T.FINISHED, 400, 400, os.getpid())
    frame = T.Frame.from_dict(got["frame"])
    assert frame.step == 400 and (frame.width, frame.height) == (320, 240)

    names = sorted(p.name for p in (run_dir / "checkpoints").glob("*.pt"))
    assert "ckpt_000000200.pt" in names and "ckpt_000000400.pt" in names
    ckpt = _load_checkpoint(run_dir / "checkpoints" / "ckpt_000000400.pt")
    assert ckpt["format"] == "neurodash-checkpoint" and ckpt["step"] == 400 and ckpt["env_id"] == BREAKOUT
    assert set(ckpt["networks"]) >= {"q_network", "target_network"}
    assert tuple(ckpt["networks"]["q_network"]["fc1.weight"].shape) == (16, len(meta.feature_names))
    assert [p.name for p in summary.checkpoints] == ["ckpt_000000200.pt", "ckpt_000000400.pt"]


def test_headless_and_published_runs_do_the_same_work(tmp_path):
    class Actions(Callback):
        def __init__(self):
            self.actions = []

        def on_step(self, ctx, step):
            self.actions.append((step.action, round(float(step.q[0]), 4)))
            return True

    headless, published = Actions(), Actions()
    store = MemoryStore()
    a = train(BREAKOUT, "dqn", 250, seed=3, telemetry=False, store=store, overrides=SMALL, callbacks=[headless])
    assert store.read(T.STEPS) == [] and store.get(T.FRAME) is None  # nothing published
    b = train(
        BREAKOUT,
        "dqn",
        250,
        seed=3,
        run_dir=tmp_path / "r",
        overrides={**SMALL, "checkpoint_every": 0},
        callbacks=[published],
    )
    assert headless.actions == published.actions and a.episodes == b.episodes


def test_a_failure_during_training_leaves_a_failed_heartbeat(tmp_path):
    class Boom(Callback):
        def on_step(self, ctx, step):
            if step.step == 30:
                raise RuntimeError("the GPU caught fire")
            return True

    with pytest.raises(TrainingFailed, match="at step 30: RuntimeError: the GPU caught fire") as info:
        train(BREAKOUT, "dqn", 200, run_dir=tmp_path / "r", seed=0, overrides=SMALL, callbacks=[Boom()])
    assert isinstance(info.value.__cause__, RuntimeError)
    beat = _read_run(tmp_path / "r")["heartbeat"]
    assert beat["state"] == T.FAILED and beat["step"] == 30 and "the GPU caught fire" in beat["message"]


# =========================================================================== the command line
def _cli(*args, **kw):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "dashapp.cli", "train", *map(str, args)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _wait_for(predicate, timeout, what, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"worker exited ({proc.returncode}) while waiting for {what}:\n{err[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _beat(store):
    return store.get(T.HEARTBEAT) or {}


def test_cli_worker_obeys_pause_step_resume_speed_and_stop(tmp_path):
    run_dir = tmp_path / "run"
    proc = _cli(
        "--env",
        BREAKOUT,
        "--steps",
        20_000,
        "--run-dir",
        run_dir,
        "--seed",
        1,
        "--speed",
        "watch",
        "--watch-sps",
        40,
        "--hidden-sizes",
        16,
        16,
        "--dueling",
        "--learning-starts",
        50,
        "--batch-size",
        16,
        "--checkpoint-every",
        0,
        "--quiet",
    )
    try:
        _wait_for(lambda: (run_dir / RUN_MARKER).exists(), 60, "the run folder", proc)
        with open_run(run_dir) as store:
            _wait_for(lambda: _beat(store).get("step", 0) >= 5, 30, "training to start", proc)
            assert _beat(store)["state"] == T.RUNNING and _beat(store)["speed"] == T.SPEED_WATCH

            # pause: the step count stands still while the heartbeat keeps coming
            store.send_command(T.CMD_PAUSE)
            paused = _wait_for(lambda: _beat(store) if _beat(store)["state"] == T.PAUSED else None, 5, "pause", proc)
            time.sleep(1.2)
            later = _beat(store)
            assert later["state"] == T.PAUSED and later["step"] == paused["step"] and later["time"] > paused["time"]
            assert later["sps"] == 0.0
            assert store.read(T.STEPS, limit=1)[0]["step"] == paused["step"]  # flushed before waiting

            # single step: exactly one more
            store.send_command(T.CMD_STEP)
            _wait_for(lambda: _beat(store)["step"] == paused["step"] + 1, 5, "a single step", proc)
            time.sleep(0.8)
            assert _beat(store)["step"] == paused["step"] + 1 and _beat(store)["state"] == T.PAUSED
            last = T.StepRecord.from_dict(store.read(T.STEPS, limit=1)[0])
            assert last.step == paused["step"] + 1
            assert len(last.q) == 3 and last.value is not None and len(last.advantages) == 3  # dueling head

            # resume at watch speed (~40 steps/s), then full speed
            store.send_command(T.CMD_RESUME)
            resumed = _wait_for(
                lambda: _beat(store) if _beat(store)["step"] >= paused["step"] + 20 else None, 10, "resume", proc
            )
            assert resumed["state"] == T.RUNNING
            store.send_command(T.CMD_SPEED, T.SPEED_FULL)
            fast = _wait_for(lambda: _beat(store) if _beat(store)["sps"] > 100 else None, 15, "full speed", proc)
            assert fast["speed"] == T.SPEED_FULL

            store.send_command(T.CMD_STOP)
            out, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err
            beat = _beat(store)
            assert beat["state"] == T.STOPPED and "stopped from the dashboard" in beat["message"]
            assert beat["step"] < 20_000
            meta = store.read_meta()
        assert meta.config["agent"]["dueling"] is True and meta.config["agent"]["hidden_sizes"] == [16, 16]
        assert [layer.name for layer in meta.layers] == ["fc1", "fc2", "value_out", "advantage_out"]
        final = run_dir / "checkpoints" / f"ckpt_{beat['step']:09d}.pt"
        assert _load_checkpoint(final)["step"] == beat["step"]
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_cli_worker_terminated_reports_stopped(tmp_path):
    run_dir = tmp_path / "run"
    proc = _cli(
        "--steps",
        100_000,
        "--run-dir",
        run_dir,
        "--speed",
        "watch",
        "--hidden-sizes",
        8,
        "--checkpoint-every",
        0,
        "--quiet",
    )
    try:
        _wait_for(lambda: (run_dir / RUN_MARKER).exists(), 60, "the run folder", proc)
        with open_run(run_dir) as store:
            _wait_for(lambda: _beat(store).get("step", 0) >= 3, 30, "training to start", proc)
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
            beat = _beat(store)
        assert proc.returncode == 130
        assert beat["state"] == T.STOPPED and "interrupted" in beat["message"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _meta_for_tests():
    return T.RunMeta(
        run_id="x", env_id=BREAKOUT, agent="dqn", action_names=[], feature_names=[], layers=[], config={}, created=0.0
    )


def _newer_run(path):
    create_run_dir(path, _meta_for_tests()).close()
    marker = path / RUN_MARKER
    marker.write_text(json.dumps(dict(json.loads(marker.read_text()), v=T.SCHEMA_VERSION + 1)))
    return path


@pytest.mark.parametrize(
    "case, expected",
    [
        ("unknown-env", "cannot make environment 'Nope-v0'"),
        ("continuous-env", "continuous action space"),
        ("run-dir-is-a-file", "is not a folder; choose another --run-dir"),
        ("run-dir-holds-other-files", "not a neurodash run; choose an empty or new folder"),
        ("run-dir-unwritable", "cannot write to run folder"),  # ...: Not a directory; choose another --run-dir
        ("run-dir-newer-schema", "written by a newer neurodash"),
        ("run-dir-in-use", "being trained right now by another worker (pid 4242, paused); stop it first"),
        ("bad-setting", "--learning-rate must be > 0; see `neurodash train --help`"),
        ("zero-steps", "--steps must be >= 1"),
    ],
)
def test_bad_input_gets_one_line_and_a_non_zero_exit(tmp_path, capsys, case, expected):
    from dashapp.cli import main

    run_dir = tmp_path / "run"
    args = ["train", "--steps", "50", "--quiet", "--hidden-sizes", "8"]
    if case == "unknown-env":
        args += ["--env", "Nope-v0"]
    elif case == "continuous-env":
        args += ["--env", "Pendulum-v1"]
    elif case == "run-dir-is-a-file":
        run_dir.write_text("mine")
    elif case == "run-dir-holds-other-files":
        run_dir.mkdir()
        (run_dir / "notes.txt").write_text("mine")
    elif case == "run-dir-unwritable":
        (tmp_path / "file").write_text("x")
        run_dir = tmp_path / "file" / "run"
    elif case == "run-dir-newer-schema":
        _newer_run(run_dir)
    elif case == "run-dir-in-use":
        with create_run_dir(run_dir, _meta_for_tests()) as store:
            store.put(T.HEARTBEAT, T.Heartbeat(time=time.time(), step=9, state=T.PAUSED, pid=4242).to_dict())
    elif case == "bad-setting":
        args += ["--learning-rate", "-1"]
    elif case == "zero-steps":
        args += ["--steps", "0"]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code = main(args + ["--run-dir", str(run_dir)])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neurodash train: ") and expected in lines[0], err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing created or changed


def test_a_setting_that_fails_once_training_starts_gets_one_line_not_a_traceback(tmp_path, capsys):
    from dashapp.cli import main

    run_dir = tmp_path / "run"
    code = main(
        [
            "train",
            "--steps",
            "50",
            "--quiet",
            "--hidden-sizes",
            "8",
            "--dead-init-layer",
            "nosuch",
            "--run-dir",
            str(run_dir),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert "'nosuch' is not a hidden layer of this network; choose one of: fc1" in line
    assert _read_run(run_dir)["heartbeat"]["state"] == T.FAILED


def test_a_run_folder_whose_worker_has_gone_quiet_can_be_reused(tmp_path):
    with create_run_dir(tmp_path / "r", _meta_for_tests()) as store:
        # "running", but silent for a minute: that worker died without a word
        store.put(T.HEARTBEAT, T.Heartbeat(time=time.time() - 60, step=9, state=T.RUNNING, pid=4242).to_dict())
    summary = train(BREAKOUT, "dqn", 20, run_dir=tmp_path / "r", seed=0, overrides={**SMALL, "frame_fps": 0})
    assert summary.state == T.FINISHED
    assert _read_run(tmp_path / "r")["heartbeat"]["state"] == T.FINISHED


def test_bad_input_through_the_console_script(tmp_path):
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("neurodash")),
            "train",
            "--env",
            "Pendulum-v1",
            "--run-dir",
            str(tmp_path / "r"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("neurodash train: environment 'Pendulum-v1' has a continuous action space")
    assert not (tmp_path / "r").exists()


def test_building_the_parser_imports_no_torch():
    code = (
        "import argparse, sys\n"
        "from rl import cli\n"
        "p = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)\n"
        "cli.add_arguments(p)\n"
        "p.format_help()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_flags_come_from_the_config_fields_with_their_docstrings():
    import argparse

    from rl import cli
    from rl.agents.dqn import DQNConfig

    real = {f.name: f.default for f in dataclasses.fields(DQNConfig)}
    read = {f.name: f for f in cli.agent_fields("dqn")}
    assert set(read) == set(real)
    assert {n: f.default for n, f in read.items()} == real  # read from source, same values
    assert all(f.doc for f in read.values()) and all(f.doc for f in cli.worker_fields())

    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    cli.add_arguments(parser)
    text = " ".join(parser.format_help().split())
    assert "--learning-rate FLOAT the Adam optimiser's learning rate" in text and "(default: 0.0007)" in text
    assert "--hidden-sizes INT [INT ...]" in text and "(default: 64 64)" in text
    assert "--speed {full,watch}" in text and "--dueling, --no-dueling" in text

    args = parser.parse_args(
        ["--hidden-sizes", "32", "16", "--dueling", "--max-grad-norm", "none", "--speed", "watch", "--steps", "10"]
    )
    settings = {n: getattr(args, n) for n in args._settings if hasattr(args, n)}
    assert settings == {
        "hidden_sizes": [32, 16],
        "dueling": True,
        "max_grad_norm": None,
        "speed": "watch",
        "steps": 10,
    }  # only what was given: presets and defaults fill in the rest
    worker, agent = resolve_configs(BREAKOUT, "dqn", settings)
    assert agent.hidden_sizes == (32, 16) and agent.dueling and agent.max_grad_norm is None
    assert worker.speed == "watch" and worker.steps == 10


def test_dead_init_layer_flag_plants_dying_relus_that_the_probe_reports(tmp_path):
    """`neurodash train --dead-init-layer fc1` (the dying-ReLU teaching demo) reaches the
    probe: every fc1 neuron is silent in the published activations."""
    import argparse

    from rl import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--dead-init-layer", "fc1", "--steps", "600"])
    settings = {n: getattr(args, n) for n in args._settings if hasattr(args, n)}
    assert settings["dead_init_layer"] == "fc1"
    worker, _agent = resolve_configs(BREAKOUT, "dqn", settings)
    assert worker.dead_init_layer == "fc1"

    run_dir = tmp_path / "dead"
    train(
        BREAKOUT,
        "dqn",
        4_000,  # >= 100 sampled passes (every 10th, at most 50/s): a full window to judge dead neurons
        run_dir=run_dir,
        seed=0,
        overrides={**SMALL, "hidden_sizes": [16, 16], "dead_init_layer": "fc1", "checkpoint_every": 0},
    )
    with open_run(run_dir) as store:
        layers = {}
        for record in store.read(T.probe_key(T.ACTIVATIONS, "q_network")):
            layers.update({layer["name"]: layer for layer in record["layers"]})
    assert layers["fc1"]["max"] == 0.0 and layers["fc1"]["dead"] == 16  # every ReLU in fc1 silent
    assert layers["fc2"]["dead"] < 16  # the other layer is untouched by the demo
