"""The training worker: ``train()`` builds the environment, the agent and the run folder,
and runs the one loop (``rl.loop.run_loop``) with the callbacks of a published run.

The callbacks (Stable-Baselines3 style, ``rl.callbacks``) do everything besides
training, for every agent alike:

* ``rl.publisher.TelemetryPublisher`` -- step and episode records and the game frame;
* ``rl.checkpoints.CheckpointSaver`` -- checkpoints into ``<run-dir>/checkpoints``;
* the probe (``rl.probe``) and the attribution publisher (``rl.attribution``);
* ``rl.healthwatch.HealthWatch`` -- ``health``'s diagnosis of every network, at checkpoints
  and every ``health_every`` steps, in a process of its own;
* ``rl.control.WorkerControl`` -- the dashboard's commands, "watch" pacing, the heartbeat.

:func:`default_callbacks` assembles them; a new one joins with a one-line edit there.

This module imports neither torch nor gymnasium at import time; :func:`train` does.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rl import telemetry as T
from rl.agents.base import agent_spec
from rl.callbacks import Callback, CallbackList, RunContext
from rl.control import WorkerControl
from rl.loop import run_loop
from rl.publisher import ProgressBar, TelemetryPublisher
from rl.store import MemoryStore, Store, create_run_dir

__all__ = [
    "DEFAULT_ENV",
    "TrainSummary",
    "TrainingFailed",
    "WorkerConfig",
    "default_callbacks",
    "resolve_configs",
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
    """'full' trains as fast as the machine allows; 'watch' paces training to watch_sps so a class can
    follow the game (the dashboard can switch it while training runs)"""
    watch_sps: float = 30.0
    """environment steps per second at 'watch' speed"""
    step_records_per_s: float = 50.0
    """most step records (Q-values, action, reward) published per second, sampled by wall clock; at
    'watch' speed every step fits. 0 publishes every step"""
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
    """sample the layers' weights every this many environment steps (activations and gradients have
    their own sampling in rl.probe.ProbeConfig)"""
    dead_init_layer: str | None = None
    """teaching demo of dying ReLUs: start this hidden layer (e.g. fc1) with strongly negative biases so
    its neurons are silent, and watch the dead-neuron alerts fire (None: normal start)"""
    torch_threads: int = 1
    """CPU threads torch may use; small networks gain nothing from more, and the dashboard needs a core"""
    health: bool = True
    """diagnose every network of the agent with neurodash health (WeightWatcher alpha, stable rank, dead
    neurons, verdicts) at each checkpoint and every health_every steps, in a process of its own (the
    Health tab); training never waits for it"""
    health_every: int = 20_000
    """also analyse the networks every this many environment steps (0: only at checkpoints)"""
    health_priority: str = "idle"
    """the analysis process's CPU priority: 'idle' uses only CPU time nothing else wants (training keeps
    its speed; on a machine busy with other work the analyses wait), 'low' takes a small share of a busy
    machine (results sooner there, at some cost to training), 'normal' as much as training"""

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
            (self.health_every >= 0, "health_every must be >= 0"),
            (
                self.health_priority in ("idle", "low", "normal"),
                f"health_priority must be 'idle', 'low' or 'normal', got {self.health_priority!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"WorkerConfig: {message}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- configs
def resolve_configs(
    env_id: str, agent: str = "dqn", overrides: Mapping[str, Any] | None = None, config: WorkerConfig | None = None
) -> tuple[WorkerConfig, Any]:
    """The worker config and the agent config for a run, from ``overrides`` by field name.

    Each override goes to whichever config has a field of that name (worker first).
    Raises ``ValueError`` for an unknown agent or field, or a value a config refuses.
    """
    _agent_class, config_class, make_config = agent_spec(agent).load()
    agent_fields = {f.name for f in dataclasses.fields(config_class)}
    worker_fields = {f.name for f in dataclasses.fields(WorkerConfig)}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - worker_fields - agent_fields)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)} for agent {agent!r}")
    worker_values = {k: v for k, v in overrides.items() if k in worker_fields}
    agent_values = {k: v for k, v in overrides.items() if k not in worker_fields}
    worker_config = dataclasses.replace(config or WorkerConfig(), **worker_values)
    return worker_config, make_config(env_id, **agent_values)


def default_callbacks(
    config: WorkerConfig,
    *,
    run_dir: str | os.PathLike | None,
    render: Callable[[], Any] | None = None,
    extra: Iterable[Callback] = (),
) -> list[Callback]:
    """The callbacks of a published run, in order. To add yours, add one line below.

    A callback with a ``flush(ctx)`` method gets it called before the worker waits
    (paused, or after a single step), so it can publish the state being paused on.
    """
    saver = (
        importlib.import_module("rl.checkpoints").CheckpointSaver(run_dir, config.checkpoint_every)
        if run_dir is not None
        else None
    )
    callbacks: list[Callback] = [
        TelemetryPublisher(config, render=render),
        *([saver] if saver is not None else []),
        *importlib.import_module("rl.probe").probe_callbacks(config),  # the probe (lazy: imports torch)
        *importlib.import_module("rl.attribution").attribution_callbacks(config),  # why it acts (lazy: torch)
        *extra,
        # health at the saver's checkpoints, in its own process; after `extra`: the worker waits for
        # its last analysis once the loop has ended, which a caller's timer or progress bar does not count
        *importlib.import_module("rl.healthwatch").health_callbacks(config, saver),
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
    resume: str | os.PathLike | None = None,
) -> TrainSummary:
    """Train ``agent`` on ``env_id`` and publish telemetry into ``run_dir`` (or ``store``).

    ``steps``, ``seed``, ``speed`` and ``probe`` are shortcuts for the
    :class:`WorkerConfig` fields of those names; ``overrides`` sets any field of the
    worker or agent config by name. ``callbacks`` are added to :func:`default_callbacks`.
    With ``telemetry=False`` nothing is published and no commands are read (headless:
    the benchmark's baseline); only ``callbacks`` run. With ``resume`` (a checkpoint of the
    same agent on the same kind of environment), training carries on from its networks,
    optimisers and step, up to ``steps`` in all.

    Raises ``rl.envs.EnvError`` / ``ValueError`` for bad settings and
    ``rl.store.RunDirError`` / ``telemetry.SchemaError`` for an unusable run folder,
    before any training. If training itself raises, the heartbeat says "failed" with
    the error and :class:`TrainingFailed` is raised from it.
    """
    shortcuts = {
        k: v for k, v in {"steps": steps, "seed": seed, "speed": speed, "probe": probe}.items() if v is not None
    }
    worker_config, agent_config = resolve_configs(env_id, agent, {**dict(overrides or {}), **shortcuts}, config)

    import torch

    from rl.envs import EnvError, make_env

    torch.set_num_threads(worker_config.torch_threads)
    publish = telemetry and (run_dir is not None or store is not None)
    render_mode = "rgb_array" if publish and worker_config.frame_fps > 0 else None
    agent_class = agent_spec(agent).load()[0]
    env = make_env(env_id, seed=worker_config.seed, render_mode=render_mode)
    try:
        problem = agent_class.unsupported(env.observation_space, env.action_space)
        if problem:
            raise EnvError(f"environment {env_id!r} {problem}")
        learner = agent_class.build(
            env.observation_space,
            env.action_space,
            agent_config,
            total_steps=worker_config.steps,
            seed=worker_config.seed,
        )
        start_step = _resume(learner, agent, env, env_id, resume, worker_config) if resume is not None else 0
        run_id = Path(run_dir).name if run_dir is not None else f"run-{os.getpid()}-{int(time.time())}"
        meta = run_meta(run_id, env, env_id, agent, learner, worker_config)
        if resume is not None:
            meta.config["resumed"] = {"checkpoint": str(resume), "step": start_step}
        owns_store = store is None
        if store is None and run_dir is not None:
            _refuse_live_run(Path(run_dir))
            store = create_run_dir(run_dir, meta)
        elif store is None:
            store = MemoryStore()
        else:
            store.write_meta(meta)
        try:
            return _train_in(
                env, learner, store, meta, worker_config, run_dir, publish, callbacks, progress, start_step
            )
        finally:
            if owns_store:
                store.close()
    finally:
        env.close()


def run_meta(run_id: str, env, env_id: str, agent: str, learner, worker_config: WorkerConfig) -> T.RunMeta:
    """What the run is (``telemetry.RunMeta``): the environment's names for its numbers, the
    agent's networks, both configs. The network shown first is the first watched one."""
    from rl.envs import action_names, action_space_info, feature_names

    features, actions = feature_names(env), action_names(env)
    infos = learner.network_infos(features, actions)
    primary = next((info for info in infos if info.watched), infos[0])
    return T.RunMeta(
        run_id=run_id,
        env_id=env_id,
        agent=agent,
        action_names=actions,
        feature_names=features,
        layers=list(primary.layers),
        config={"worker": worker_config.to_dict(), "agent": _config_dict(learner.config)},
        created=time.time(),
        seed=worker_config.seed,
        network=primary.name,
        networks=infos,
        action_space=action_space_info(env.action_space),
    )


def _resume(learner, agent: str, env, env_id: str, path: str | os.PathLike, worker_config: WorkerConfig) -> int:
    """Load checkpoint ``path`` into ``learner``; the step it was saved at. Refuses, with one
    line, a checkpoint of another agent, of other spaces, or already at ``steps``."""
    from rl.checkpoints import agent_from_checkpoint, load_checkpoint
    from rl.envs import action_space_info

    checkpoint = load_checkpoint(path)
    if checkpoint.get("agent") != agent:
        raise ValueError(
            f"{path} holds a {checkpoint.get('agent')!r} agent, not {agent!r}: "
            f"resume it with --agent {checkpoint.get('agent')}"
        )
    try:
        actions_then = T.ActionSpace.from_dict(checkpoint["action_space"])
    except (KeyError, TypeError):
        actions_then = None
    shape_now = [int(n) for n in env.observation_space.shape]
    if checkpoint.get("observation_shape") != shape_now or actions_then != action_space_info(env.action_space):
        raise ValueError(
            f"{path} was trained on {checkpoint.get('env_id')!r}, whose observations or actions "
            f"differ from {env_id!r}'s"
        )
    step = int(checkpoint["step"])
    if step >= worker_config.steps:
        raise ValueError(f"{path} is at step {step:,} already; ask for more --steps than that to carry on")
    restored = agent_from_checkpoint(checkpoint, total_steps=worker_config.steps, agent=agent)
    learner.load_state_dict(restored.state_dict())
    return step


def _train_in(
    env, learner, store, meta, worker_config, run_dir, publish, extra_callbacks, progress, start_step: int = 0
) -> TrainSummary:
    ctx = RunContext(
        store=store,
        meta=meta,
        agent=learner,
        config=worker_config,
        networks=learner.networks(),
        watched=tuple(meta.watched),
        targets=meta.targets,
    )
    extra = [*extra_callbacks, *([ProgressBar(worker_config.steps)] if progress else [])]
    if publish:
        callback_objects = default_callbacks(worker_config, run_dir=run_dir, render=env.render, extra=extra)
    else:
        callback_objects = extra
    callbacks = CallbackList(callback_objects)
    started = time.perf_counter()
    try:
        stopped = run_loop(env, learner, ctx, callbacks, worker_config.steps, start_step)
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
    saved = tuple(p for cb in callback_objects for p in getattr(cb, "saved", ()))
    return TrainSummary(
        state=state,
        steps=ctx.step,
        episodes=ctx.episode,
        seconds=seconds,
        sps=(ctx.step - start_step) / seconds if seconds > 0 else 0.0,
        run_dir=Path(run_dir) if run_dir is not None else None,
        checkpoints=saved,
    )


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

    try:
        heartbeat = T.Heartbeat.from_dict(beat) if beat is not None else None
    except (TypeError, ValueError):
        return  # not a heartbeat this neurodash can read: nobody we know is training it
    if heartbeat is not None and T.worker_alive(heartbeat, time.time()):
        raise RunDirError(
            f"{run_dir} is being trained right now by another worker (pid {heartbeat.pid}, "
            f"{heartbeat.state}); stop it first or choose another --run-dir"
        )


def _final_heartbeat(
    store: Store, ctx: RunContext, config: WorkerConfig, state: str, message: str, started: float
) -> None:
    """The last heartbeat: keeps what the worker last reported (speed) and says how it ended."""
    elapsed = time.perf_counter() - started
    try:
        last = store.get(T.HEARTBEAT)
        speed = last.get("speed", config.speed) if isinstance(last, dict) else config.speed
        store.put(
            T.HEARTBEAT,
            T.Heartbeat(
                time=time.time(),
                step=ctx.step,
                state=state,
                pid=os.getpid(),
                speed=speed,
                sps=round(ctx.step / elapsed, 1) if elapsed > 0 else 0.0,
                total_steps=config.steps,
                message=message,
            ).to_dict(),
        )
    except Exception:  # the store itself may be what failed; the exception still propagates
        if state != T.FAILED:
            raise


def _config_dict(config) -> dict:
    to_dict = getattr(config, "to_dict", None)
    data = to_dict() if callable(to_dict) else dataclasses.asdict(config)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
