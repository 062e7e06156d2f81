"""The training worker: one generic loop that trains an agent and, through callbacks,
publishes what the dashboard shows and obeys what the dashboard asks.

The loop (:func:`run_loop`) reads straight down, CleanRL style: act, step the
environment, remember, learn, handle the end of an episode. Everything else is a
:class:`~rl.callbacks.Callback` (Stable-Baselines3 style):

* :class:`TelemetryPublisher` -- step records (sampled by wall clock) and episode
  records, batched into one store write every ``publish_interval`` seconds, and the game
  frame as a PNG a few times per second;
* :class:`CheckpointSaver` -- checkpoints into ``<run-dir>/checkpoints``;
* :class:`WorkerControl` -- pause / resume / single step / stop / speed commands from the
  dashboard, "watch" pacing, and the heartbeat (also while paused).

:func:`default_callbacks` assembles them; other parts of neurodash (the probe, the
attribution publisher) join with a one-line edit there. Only the agent knows its
algorithm (``act`` / ``observe`` / ``learn``), so a SAC agent reuses this loop, its
telemetry and its stop handling unchanged.

Steps are counted from 1: after the first environment step ``ctx.step == 1``, and a run
of ``steps`` steps ends with ``ctx.step == steps`` (as ``num_timesteps`` in SB3).

This module imports neither torch nor gymnasium at import time; :func:`train` does.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import io
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence

from rl import telemetry as T
from rl.callbacks import Callback, CallbackList, EpisodeInfo, RunContext, StepInfo, UpdateInfo
from rl.store import MemoryStore, Store, create_run_dir

__all__ = [
    "AGENTS",
    "AgentSpec",
    "CheckpointSaver",
    "ProgressBar",
    "TelemetryPublisher",
    "TrainSummary",
    "TrainingFailed",
    "WorkerConfig",
    "WorkerControl",
    "default_callbacks",
    "encode_frame",
    "resolve_configs",
    "run_loop",
    "save_checkpoint",
    "train",
]

DEFAULT_ENV = "neurodash/Breakout-v0"


@dataclass
class WorkerConfig:
    """How the worker trains and publishes (the agent's own hyper-parameters live in its
    config, e.g. ``DQNConfig``). Both are saved with the run in ``RunMeta.config``."""

    steps: int = 50_000
    """total environment steps to train for"""
    seed: int | None = None
    """random seed for the environment, the network's initial weights and exploration (None: random)"""
    speed: Literal["full", "watch"] = T.SPEED_FULL
    """'full' trains as fast as the machine allows; 'watch' paces training to watch_sps so a class can follow the game (the dashboard can switch it while training runs)"""
    watch_sps: float = 30.0
    """environment steps per second at 'watch' speed"""
    step_records_per_s: float = 50.0
    """most step records (Q-values, action, reward) published per second, sampled by wall clock; at 'watch' speed every step fits. 0 publishes every step"""
    publish_interval: float = 0.25
    """seconds between batched writes of step and episode records to the store"""
    publish_batch: int = 1_000
    """write buffered records early once this many are waiting"""
    frame_fps: float = 5.0
    """game frames rendered and published per second of wall-clock time (0: none)"""
    heartbeat_interval: float = 0.5
    """seconds between heartbeats (the dashboard's 'is the worker alive' signal), also while paused"""
    command_poll_interval: float = 0.1
    """seconds between checks for new dashboard commands (pause, resume, step, stop, speed)"""
    command_poll_steps: int = 500
    """also check for commands after this many steps, whichever comes first"""
    checkpoint_every: int = 10_000
    """save a checkpoint every this many steps (0: only at the end); one is always saved at the end"""
    steps_cap: int = T.DEFAULT_CAPS[T.STEPS]
    """how many step records the store keeps (older ones are dropped)"""
    episodes_cap: int = T.DEFAULT_CAPS[T.EPISODES]
    """how many episode records the store keeps (older ones are dropped)"""
    probe: bool = True
    """capture activations, gradients and weights for the network views (read by the probe's callbacks)"""
    probe_every: int = 100
    """sample the layers' weights every this many environment steps (activations and gradients have their own sampling in rl.probe.ProbeConfig)"""
    dead_init_layer: str | None = None
    """teaching demo of dying ReLUs: start this hidden layer (e.g. fc1) with strongly negative biases so its neurons are silent, and watch the dead-neuron alerts fire (None: normal start)"""
    torch_threads: int = 1
    """CPU threads torch may use; small networks gain nothing from more, and the dashboard needs a core"""

    def __post_init__(self) -> None:
        checks = [
            (self.steps >= 1, "steps must be >= 1"),
            (self.speed in (T.SPEED_FULL, T.SPEED_WATCH), f"speed must be 'full' or 'watch', got {self.speed!r}"),
            (self.watch_sps > 0, "watch_sps must be > 0"),
            (self.step_records_per_s >= 0, "step_records_per_s must be >= 0"),
            (self.publish_interval > 0, "publish_interval must be > 0"),
            (self.publish_batch >= 1, "publish_batch must be >= 1"),
            (self.frame_fps >= 0, "frame_fps must be >= 0"),
            (self.heartbeat_interval > 0, "heartbeat_interval must be > 0"),
            (self.command_poll_interval > 0, "command_poll_interval must be > 0"),
            (self.command_poll_steps >= 1, "command_poll_steps must be >= 1"),
            (self.checkpoint_every >= 0, "checkpoint_every must be >= 0"),
            (self.steps_cap >= 1 and self.episodes_cap >= 1, "steps_cap and episodes_cap must be >= 1"),
            (self.probe_every >= 1, "probe_every must be >= 1"),
            (self.torch_threads >= 1, "torch_threads must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"WorkerConfig: {message}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- agents
@dataclass(frozen=True)
class AgentSpec:
    """Where an agent lives: ``module`` defines ``agent_class`` and ``config_class``, and
    ``make_config(env_id, **overrides)`` (the env's preset, then the overrides).

    The agent is built as ``agent_class(obs_dim, n_actions, config, total_steps, seed)``
    and offers ``act``, ``observe``, ``learn``, ``networks``, ``layer_infos``.
    """

    module: str
    agent_class: str
    config_class: str
    make_config: str


#: Agents ``train`` can build, by the name used on the command line. SAC: one more entry.
AGENTS: dict[str, AgentSpec] = {
    "dqn": AgentSpec("rl.agents.dqn", "DQNAgent", "DQNConfig", "config_for_env"),
}


def resolve_configs(
    env_id: str, agent: str = "dqn", overrides: Mapping[str, Any] | None = None, config: WorkerConfig | None = None
) -> tuple[WorkerConfig, Any]:
    """The worker config and the agent config for a run, from ``overrides`` by field name.

    Each override goes to whichever config has a field of that name (worker first).
    Raises ``ValueError`` for an unknown agent or field, or a value a config refuses.
    """
    spec = _agent_spec(agent)
    module = importlib.import_module(spec.module)
    agent_fields = {f.name for f in dataclasses.fields(getattr(module, spec.config_class))}
    worker_fields = {f.name for f in dataclasses.fields(WorkerConfig)}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - worker_fields - agent_fields)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)} for agent {agent!r}")
    worker_values = {k: v for k, v in overrides.items() if k in worker_fields}
    agent_values = {k: v for k, v in overrides.items() if k not in worker_fields}
    worker_config = dataclasses.replace(config or WorkerConfig(), **worker_values)
    agent_config = getattr(module, spec.make_config)(env_id, **agent_values)
    return worker_config, agent_config


def _agent_spec(agent: str) -> AgentSpec:
    try:
        return AGENTS[agent]
    except KeyError:
        raise ValueError(f"unknown agent {agent!r}; known: {', '.join(sorted(AGENTS))}") from None


# --------------------------------------------------------------------------- the loop
def run_loop(env, agent, ctx: RunContext, callbacks: Callback, total_steps: int) -> bool:
    """Train ``agent`` on ``env`` for ``total_steps`` steps; True if a callback stopped it early."""
    stopped = False
    obs, _ = env.reset()
    callbacks.on_training_start(ctx)
    episode_return, episode_length, episode_losses = 0.0, 0, []
    episode_start = time.perf_counter()
    for global_step in range(total_steps):
        # Act. The network runs even when the agent explores, so every step has Q-values.
        act = agent.act(obs, global_step)
        next_obs, reward, terminated, truncated, _ = env.step(act.action)
        # Remember `terminated` only: a time limit (truncated) is not the end of the game,
        # so the next state keeps its bootstrapped value.
        agent.observe(obs, act.action, reward, next_obs, terminated)
        ctx.step = global_step + 1
        episode_return += float(reward)
        episode_length += 1
        keep_going = callbacks.on_step(
            ctx,
            StepInfo(
                step=ctx.step, episode=ctx.episode, obs=obs, action=act.action, q=act.q,
                explored=act.explored, reward=float(reward), next_obs=next_obs,
                terminated=terminated, truncated=truncated, epsilon=act.epsilon,
                value=act.value, advantages=act.advantages,
            ),
        )

        # Learn: one optimisation step when the agent says it is due.
        loss = agent.learn(global_step)
        if loss is not None:
            episode_losses.append(loss)
            callbacks.on_update(ctx, UpdateInfo(ctx.step, loss, dict(getattr(agent, "last_stats", {}))))

        # Careful: after the last step of an episode, continue from reset()'s observation.
        obs = next_obs
        if terminated or truncated:
            now = time.perf_counter()
            callbacks.on_episode_end(
                ctx,
                EpisodeInfo(
                    episode=ctx.episode, step=ctx.step, score=episode_return, length=episode_length,
                    mean_loss=sum(episode_losses) / len(episode_losses) if episode_losses else None,
                    epsilon=act.epsilon, sps=episode_length / max(now - episode_start, 1e-9),
                ),
            )
            ctx.episode += 1
            obs, _ = env.reset()
            episode_return, episode_length, episode_losses, episode_start = 0.0, 0, [], now
        if not keep_going:
            stopped = True
            break
    callbacks.on_training_end(ctx)
    return stopped


# --------------------------------------------------------------------------- callbacks
def _short(x: float) -> float:
    """Six significant digits: plenty for a chart, and a third of the JSON of a full float."""
    x = float(x)
    return float(f"{x:.6g}") if math.isfinite(x) else x


def encode_frame(rgb) -> tuple[str, int, int]:
    """An HxWx3 uint8 image as (PNG in base64, width, height)."""
    import numpy as np
    from PIL import Image

    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"a frame must be an HxWx3 image, got shape {arr.shape}")
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8, copy=False)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii"), int(arr.shape[1]), int(arr.shape[0])


class TelemetryPublisher(Callback):
    """Step and episode records in batched store writes; the game frame a few times a second.

    Costs follow the wall clock, not the training speed: at most
    ``step_records_per_s`` step records per second, one store write per series every
    ``publish_interval`` seconds, ``frame_fps`` frames per second. :meth:`flush` writes
    everything now, including the latest step even if sampling skipped it (the worker
    calls it before it waits, so a paused dashboard shows the step it is paused on).
    """

    def __init__(self, config: WorkerConfig, render: Callable[[], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config, self.render, self.clock = config, render, clock
        self._record_period = 1.0 / config.step_records_per_s if config.step_records_per_s > 0 else 0.0
        self._frame_period = 1.0 / config.frame_fps if config.frame_fps > 0 else 0.0
        self._steps: list[dict] = []
        self._episodes: list[dict] = []
        self._skipped: StepInfo | None = None  # the latest step, if sampling left it out
        self._next_record = self._next_flush = self._next_frame = 0.0
        #: frames that could not be rendered (published frames stop after the first error)
        self.frame_error: str | None = None

    def on_training_start(self, ctx):
        now = self.clock()
        self._next_record, self._next_frame = now, now
        self._next_flush = now + self.config.publish_interval

    def on_step(self, ctx, step):
        now = self.clock()
        if now >= self._next_record:
            self._record(step)
            self._next_record = now + self._record_period
        else:
            self._skipped = step
        if self._frame_period and now >= self._next_frame:
            self._publish_frame(ctx)
            self._next_frame = now + self._frame_period
        if now >= self._next_flush or len(self._steps) + len(self._episodes) >= self.config.publish_batch:
            self._write(ctx)
            self._next_flush = now + self.config.publish_interval
        return True

    def on_episode_end(self, ctx, episode):
        self._episodes.append(
            T.EpisodeRecord(
                episode=episode.episode, step=episode.step, score=float(episode.score),
                length=int(episode.length), loss=episode.mean_loss, epsilon=float(episode.epsilon),
                sps=float(episode.sps),
            ).to_dict()
        )

    def flush(self, ctx: RunContext) -> None:
        """Write every buffered record, the latest step and the current frame now."""
        if self._skipped is not None:
            self._record(self._skipped)
        self._write(ctx)
        if self._frame_period:
            self._publish_frame(ctx)

    def on_training_end(self, ctx):
        self.flush(ctx)

    def _record(self, step: StepInfo) -> None:
        self._skipped = None
        if step.q is None:  # an agent without Q-values (e.g. a policy-gradient actor)
            return
        self._steps.append(
            T.StepRecord(
                step=step.step, q=[_short(q) for q in step.q], action=int(step.action),
                explored=bool(step.explored), reward=_short(step.reward), episode=step.episode,
                value=None if step.value is None else _short(step.value),
                advantages=None if step.advantages is None else [_short(a) for a in step.advantages],
            ).to_dict()
        )

    def _write(self, ctx: RunContext) -> None:
        if self._steps:
            ctx.store.append(T.STEPS, self._steps, cap=self.config.steps_cap)
            self._steps = []
        if self._episodes:
            ctx.store.append(T.EPISODES, self._episodes, cap=self.config.episodes_cap)
            self._episodes = []

    def _publish_frame(self, ctx: RunContext) -> None:
        if self.render is None or self.frame_error is not None:
            return
        try:
            rgb = self.render()
            if rgb is None:
                return
            png, width, height = encode_frame(rgb)
        except Exception as exc:  # a broken renderer must not stop training
            self.frame_error = f"{type(exc).__name__}: {exc}"
            ctx.store.put(T.FRAME_UNAVAILABLE, {"reason": self.frame_error})  # the dashboard says why
            return
        ctx.store.put(T.FRAME, T.Frame(step=ctx.step, png_base64=png, width=width, height=height).to_dict())


def save_checkpoint(run_dir: str | os.PathLike, ctx: RunContext) -> Path:
    """``rl.checkpoints.save_checkpoint`` of the run's agent into ``<run_dir>/checkpoints``."""
    from rl.checkpoints import checkpoint_path, save_checkpoint as save

    return save(checkpoint_path(run_dir, ctx.step), ctx.agent, ctx.step, ctx.meta.env_id, meta=ctx.meta)


class CheckpointSaver(Callback):
    """Saves a checkpoint every ``every`` steps (0: never on the way) and at the end.

    ``save(run_dir, ctx) -> path`` writes one (default: :func:`save_checkpoint`).
    """

    def __init__(self, run_dir: str | os.PathLike, every: int,
                 save: Callable[[Path, RunContext], Any] = save_checkpoint) -> None:
        self.run_dir, self.every = Path(run_dir), int(every)
        self._save = save
        self._last_saved = -1
        #: paths written, oldest first
        self.saved: list[Path] = []

    def on_step(self, ctx, step):
        if self.every and step.step % self.every == 0:
            self.save(ctx)
        return True

    def on_training_end(self, ctx):
        if ctx.step > 0 and ctx.step != self._last_saved:
            self.save(ctx)

    def save(self, ctx: RunContext) -> Path:
        path = Path(self._save(self.run_dir, ctx))
        self._last_saved = ctx.step
        self.saved.append(path)
        return path


class WorkerControl(Callback):
    """Obeys the dashboard's commands, paces "watch" speed, and writes the heartbeat.

    Commands are read from ``telemetry.COMMANDS`` (only those sent after training
    started) at most every ``command_poll_interval`` seconds or ``command_poll_steps``
    steps, whichever comes first -- one cheap ``last_seq`` look-up, the records are read
    only when there is something new:

    * ``pause`` -- wait after the current step; the heartbeat keeps coming;
    * ``resume`` -- carry on;
    * ``step`` -- while paused, advance exactly one environment step, then wait again;
    * ``stop`` -- end training (state "stopped"), also while paused;
    * ``speed`` with value ``"watch"`` or ``"full"``.

    Before it waits, it calls every ``flush`` hook, so what the dashboard shows matches
    the step the worker is paused on. It belongs last in the callback list: every other
    callback has then seen that step.
    """

    def __init__(self, config: WorkerConfig, flush: Sequence[Callable[[RunContext], None]] = (),
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config, self.flush_hooks = config, list(flush)
        self.clock, self.sleep = clock, sleep
        self.speed = config.speed
        self.state = T.RUNNING
        self.message = "training"
        self.stop_requested = False
        self._credits = 0  # single steps granted while paused
        self._cursor = -1
        self._steps_since_poll = 0
        self._next_poll = self._next_beat = self._next_tick = 0.0
        self._beat_step, self._beat_time = 0, 0.0

    # ---- callback hooks
    def on_training_start(self, ctx):
        self._cursor = ctx.store.last_seq(T.COMMANDS)  # commands sent before this run are not ours
        now = self.clock()
        self._next_poll = now + self.config.command_poll_interval
        self._next_tick = now
        self._beat_step, self._beat_time = ctx.step, now
        self.beat(ctx, now)

    def on_step(self, ctx, step):
        now = self.clock()
        self._steps_since_poll += 1
        changed = False
        if now >= self._next_poll or self._steps_since_poll >= self.config.command_poll_steps:
            changed = self._poll(ctx, now)
        if self.state == T.PAUSED and not self.stop_requested:
            self._wait(ctx)  # publishes this step, then beats "paused"
            now = self.clock()
            changed = self.state != T.PAUSED  # resumed: say so at once
        if self.stop_requested:
            return False  # the worker writes the final "stopped" heartbeat
        if self.speed == T.SPEED_WATCH:
            now = self._pace(now)
        if changed or now >= self._next_beat:
            self.beat(ctx, now)
        return True

    # ---- heartbeat
    def beat(self, ctx: RunContext, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        elapsed = now - self._beat_time
        sps = (ctx.step - self._beat_step) / elapsed if elapsed > 0 and self.state == T.RUNNING else 0.0
        ctx.store.put(
            T.HEARTBEAT,
            T.Heartbeat(
                time=time.time(), step=ctx.step, state=self.state, pid=os.getpid(), speed=self.speed,
                sps=round(sps, 1), total_steps=self.config.steps, message=self.message,
            ).to_dict(),
        )
        self._beat_step, self._beat_time = ctx.step, now
        self._next_beat = now + self.config.heartbeat_interval

    # ---- commands
    def _poll(self, ctx: RunContext, now: float) -> bool:
        """Obey new commands; True if something changed that the heartbeat should show."""
        self._steps_since_poll = 0
        self._next_poll = now + self.config.command_poll_interval
        if ctx.store.last_seq(T.COMMANDS) <= self._cursor:
            return False
        records = ctx.store.read(T.COMMANDS, after=self._cursor)
        if records:
            self._cursor = records[-1]["seq"]
        before = self.state, self.speed, self.stop_requested
        notes = [note for note in map(self._handle, records) if note]
        if notes:
            self.message = "; ".join(notes)
        return bool(notes) or (self.state, self.speed, self.stop_requested) != before

    def _handle(self, record: Mapping[str, Any]) -> str | None:
        """Obey one command; return what to tell the dashboard about it, if anything."""
        try:
            cmd = T.Command.from_dict(record)
        except (TypeError, ValueError) as exc:
            return f"ignored a command this worker cannot read: {exc}"
        if cmd.action == T.CMD_PAUSE:
            self.state, self._credits = T.PAUSED, 0
            return "paused from the dashboard"
        if cmd.action == T.CMD_RESUME:
            self.state, self._credits = T.RUNNING, 0
            self._next_tick = self.clock()
            return "training"
        if cmd.action == T.CMD_STEP:
            if self.state != T.PAUSED:
                return "ignored 'step': single steps work while paused"
            self._credits += 1
            return None
        if cmd.action == T.CMD_STOP:
            self.stop_requested = True
            return "stopped from the dashboard"
        if cmd.action == T.CMD_SPEED:
            if cmd.value not in (T.SPEED_WATCH, T.SPEED_FULL):
                return f"ignored speed {cmd.value!r}: use 'watch' or 'full'"
            self.speed = cmd.value
            self._next_tick = self.clock()
            return None
        return f"ignored unknown command {cmd.action!r}"

    def _wait(self, ctx: RunContext) -> None:
        """Paused: keep the heartbeat and the command poll going until resumed, stopped,
        or granted a single step."""
        for hook in self.flush_hooks:
            hook(ctx)
        self.beat(ctx)
        poll_period = min(self.config.command_poll_interval, 0.05)
        while self.state == T.PAUSED and not self.stop_requested:
            if self._credits > 0:
                self._credits -= 1
                return
            self.sleep(poll_period)
            now = self.clock()
            changed = self._poll(ctx, now)
            if self.state == T.PAUSED and (changed or now >= self._next_beat):
                self.beat(ctx, now)
        self._next_tick = self.clock()

    def _pace(self, now: float) -> float:
        """At watch speed, hold each step to 1/watch_sps seconds."""
        if self._next_tick > now:
            self.sleep(self._next_tick - now)
            now = self.clock()
        period = 1.0 / self.config.watch_sps
        # Catch up at most one step after a slow one, rather than rushing through a backlog.
        self._next_tick = max(self._next_tick, now - period) + period
        return now


class ProgressBar(Callback):
    """A tqdm progress bar on stderr, refreshed a few times per second."""

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic, **tqdm_kwargs) -> None:
        self.total, self.clock, self.tqdm_kwargs = total, clock, tqdm_kwargs
        self._bar = None
        self._shown = 0
        self._next = 0.0
        self._last_score: float | None = None

    def on_training_start(self, ctx):
        from tqdm import tqdm

        self._bar = tqdm(total=self.total, unit="step", dynamic_ncols=True, **self.tqdm_kwargs)
        self._shown, self._next = ctx.step, self.clock()

    def on_step(self, ctx, step):
        now = self.clock()
        if now >= self._next:
            self._refresh(ctx)
            self._next = now + 0.2
        return True

    def on_episode_end(self, ctx, episode):
        self._last_score = episode.score

    def on_training_end(self, ctx):
        if self._bar is not None:
            self._refresh(ctx)
            self._bar.close()

    def _refresh(self, ctx):
        if self._bar is None:
            return
        self._bar.update(ctx.step - self._shown)
        self._shown = ctx.step
        if self._last_score is not None:
            self._bar.set_postfix(episode=ctx.episode, score=f"{self._last_score:.2f}", refresh=False)


def default_callbacks(config: WorkerConfig, *, run_dir: str | os.PathLike | None,
                      render: Callable[[], Any] | None = None, extra: Iterable[Callback] = ()) -> list[Callback]:
    """The callbacks of a published run, in order. To add yours, add one line below.

    A callback with a ``flush(ctx)`` method gets it called before the worker waits
    (paused, or after a single step), so it can publish the state being paused on.
    """
    callbacks: list[Callback] = [
        TelemetryPublisher(config, render=render),
        *([CheckpointSaver(run_dir, config.checkpoint_every)] if run_dir is not None else []),
        *importlib.import_module("rl.probe").probe_callbacks(config),  # the probe (lazy: imports torch)
        *importlib.import_module("rl.attribution").attribution_callbacks(config),  # why it acts (lazy: torch)
        *extra,
    ]
    # Last: every callback above has seen a step before the worker pauses on it.
    callbacks.append(WorkerControl(config, flush=[cb.flush for cb in callbacks if hasattr(cb, "flush")]))
    return callbacks


# --------------------------------------------------------------------------- train
class TrainingFailed(RuntimeError):
    """Training started and then raised; the original error is the ``__cause__``."""

    def __init__(self, step: int, error: BaseException) -> None:
        super().__init__(f"training failed at step {step}: {type(error).__name__}: {error}")
        self.step = step


@dataclass(frozen=True)
class TrainSummary:
    """How a run ended."""

    state: str  # telemetry.FINISHED or telemetry.STOPPED
    steps: int
    episodes: int
    seconds: float
    sps: float
    run_dir: Path | None
    checkpoints: tuple[Path, ...] = ()


def train(
    env_id: str = DEFAULT_ENV,
    agent: str = "dqn",
    steps: int | None = None,
    *,
    run_dir: str | os.PathLike | None = None,
    store: Store | None = None,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    speed: str | None = None,
    probe: bool | None = None,
    telemetry: bool = True,
    config: WorkerConfig | None = None,
    progress: bool = False,
) -> TrainSummary:
    """Train ``agent`` on ``env_id`` and publish telemetry into ``run_dir`` (or ``store``).

    ``steps``, ``seed``, ``speed`` and ``probe`` are shortcuts for the
    :class:`WorkerConfig` fields of those names; ``overrides`` sets any field of the
    worker or agent config by name. ``callbacks`` are added to :func:`default_callbacks`.
    With ``telemetry=False`` nothing is published and no commands are read (headless:
    the benchmark's baseline); only ``callbacks`` run.

    Raises ``rl.envs.EnvError`` / ``ValueError`` for bad settings and
    ``rl.store.RunDirError`` / ``telemetry.SchemaError`` for an unusable run folder,
    before any training. If training itself raises, the heartbeat says "failed" with
    the error and :class:`TrainingFailed` is raised from it.
    """
    shortcuts = {k: v for k, v in {"steps": steps, "seed": seed, "speed": speed, "probe": probe}.items() if v is not None}
    worker_config, agent_config = resolve_configs(env_id, agent, {**dict(overrides or {}), **shortcuts}, config)

    import torch

    from rl.envs import action_names, feature_names, make_env

    torch.set_num_threads(worker_config.torch_threads)
    publish = telemetry and (run_dir is not None or store is not None)
    render_mode = "rgb_array" if publish and worker_config.frame_fps > 0 else None
    env = make_env(env_id, seed=worker_config.seed, render_mode=render_mode)
    try:
        spec = _agent_spec(agent)
        agent_cls = getattr(importlib.import_module(spec.module), spec.agent_class)
        learner = agent_cls(
            int(env.observation_space.shape[0]), int(env.action_space.n), agent_config,
            total_steps=worker_config.steps, seed=worker_config.seed,
        )
        networks = learner.networks()
        network_name = next(iter(networks))
        meta = T.RunMeta(
            run_id=Path(run_dir).name if run_dir is not None else f"run-{os.getpid()}-{int(time.time())}",
            env_id=env_id, agent=agent, action_names=action_names(env), feature_names=feature_names(env),
            layers=[dataclasses.asdict(info) for info in learner.layer_infos()],
            config={"worker": worker_config.to_dict(), "agent": _config_dict(agent_config)},
            created=time.time(), seed=worker_config.seed, network=network_name,
        )
        owns_store = store is None
        if store is None and run_dir is not None:
            _refuse_live_run(Path(run_dir))
            store = create_run_dir(run_dir, meta)
        elif store is None:
            store = MemoryStore()
        else:
            store.write_meta(meta)
        try:
            return _train_in(env, learner, store, meta, worker_config, networks, network_name,
                             run_dir, publish, callbacks, progress)
        finally:
            if owns_store:
                store.close()
    finally:
        env.close()


def _train_in(env, learner, store, meta, worker_config, networks, network_name, run_dir, publish,
              extra_callbacks, progress) -> TrainSummary:
    ctx = RunContext(store=store, meta=meta, network=networks[network_name], agent=learner,
                     config=worker_config, networks=dict(networks))
    extra = [*extra_callbacks, *([ProgressBar(worker_config.steps)] if progress else [])]
    if publish:
        callback_objects = default_callbacks(worker_config, run_dir=run_dir, render=env.render, extra=extra)
    else:
        callback_objects = extra
    callbacks = CallbackList(callback_objects)
    started = time.perf_counter()
    try:
        stopped = run_loop(env, learner, ctx, callbacks, worker_config.steps)
    except KeyboardInterrupt:
        _final_heartbeat(store, ctx, worker_config, T.STOPPED, f"interrupted at step {ctx.step}", started)
        raise
    except Exception as exc:
        _final_heartbeat(store, ctx, worker_config, T.FAILED, f"{type(exc).__name__}: {exc}", started)
        raise TrainingFailed(ctx.step, exc) from exc
    seconds = time.perf_counter() - started
    if stopped:
        control = next((cb for cb in callback_objects if isinstance(cb, WorkerControl)), None)
        reason = control.message if control is not None and control.stop_requested else "stopped by a callback"
        state, message = T.STOPPED, f"{reason} at step {ctx.step} of {worker_config.steps}"
    else:
        state, message = T.FINISHED, f"finished {ctx.step} steps"
    _final_heartbeat(store, ctx, worker_config, state, message, started)
    saved = tuple(p for cb in callback_objects if isinstance(cb, CheckpointSaver) for p in cb.saved)
    return TrainSummary(state=state, steps=ctx.step, episodes=ctx.episode, seconds=seconds,
                        sps=ctx.step / seconds if seconds > 0 else 0.0,
                        run_dir=Path(run_dir) if run_dir is not None else None, checkpoints=saved)


#: A heartbeat younger than this (seconds) from a running or paused worker means the
#: worker is alive (it beats every ``heartbeat_interval``, 0.5 s by default).
LIVE_HEARTBEAT_S = 5.0


def _refuse_live_run(run_dir: Path) -> None:
    """Two workers must not write one run: refuse a run folder whose worker is alive."""
    from rl.store import RunDirError, is_run_dir, open_run

    if not is_run_dir(run_dir):
        return
    try:
        with open_run(run_dir) as store:
            beat = store.get(T.HEARTBEAT)
    except (RunDirError, T.SchemaError):
        return  # create_run_dir says what is wrong with it

    if not isinstance(beat, dict) or beat.get("state") not in (T.RUNNING, T.PAUSED):
        return
    age = time.time() - float(beat.get("time") or 0.0)
    if age < LIVE_HEARTBEAT_S:
        raise RunDirError(
            f"{run_dir} is being trained right now by another worker (pid {beat.get('pid')}, "
            f"{beat.get('state')}); stop it first or choose another --run-dir"
        )


def _final_heartbeat(store: Store, ctx: RunContext, config: WorkerConfig, state: str, message: str,
                     started: float) -> None:
    """The last heartbeat: keeps what the worker last reported (speed) and says how it ended."""
    elapsed = time.perf_counter() - started
    try:
        last = store.get(T.HEARTBEAT)
        speed = last.get("speed", config.speed) if isinstance(last, dict) else config.speed
        store.put(T.HEARTBEAT, T.Heartbeat(
            time=time.time(), step=ctx.step, state=state, pid=os.getpid(), speed=speed,
            sps=round(ctx.step / elapsed, 1) if elapsed > 0 else 0.0, total_steps=config.steps, message=message,
        ).to_dict())
    except Exception:  # the store itself may be what failed; the exception still propagates
        if state != T.FAILED:
            raise


def _config_dict(config) -> dict:
    to_dict = getattr(config, "to_dict", None)
    data = to_dict() if callable(to_dict) else dataclasses.asdict(config)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
