"""The probe in the worker: a :class:`ProbeCallback` watches each of the agent's live
networks (``RunContext.watched``) and samples the weights of its target networks
(``RunContext.targets``) through the callback seam, on the sampling schedule of its
:class:`~rl.probe.config.ProbeConfig`, and publishes what it saw."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from rl import telemetry as T
from rl.agents.base import plain_action
from rl.callbacks import Callback, RunContext, StepInfo, UpdateInfo
from rl.layers import plant_dead_layer
from rl.probe.config import ProbeConfig, probe_config_from
from rl.probe.probe import Probe, ProbeOutput, publish
from rl.schedule import Throttle


def probe_callbacks(settings: Any) -> list[Callback]:
    """The probe's entry in ``rl.worker.default_callbacks``: a :class:`ProbeCallback`
    configured from the worker's settings, or nothing when the probe is switched off."""
    config = probe_config_from(settings)
    return [ProbeCallback(config)] if config.enabled else []


class ProbeCallback(Callback):
    """Runs a :class:`~rl.probe.probe.Probe` on each watched network of the run, and a
    weights-only one on each target network.

    It drives the probes' schedule itself (``count_passes=False``), so no hook at all sits
    on a network between samples: after a step that is due it arms the capture of the
    next acting pass, after a learning step that changed a network and is due the capture
    of that network's next backward pass, and every ``weight_every`` steps it copies the
    weights (a target network's too: nothing else of it is sampled, and its optimisation
    steps are those of the network it follows). It publishes at most every
    ``publish_every_s`` seconds -- sooner when a buffer is full, later when publishing
    would take more than ``max_publish_share`` of the time -- and once more when training
    ends or pauses. A failure inside the probe is reported once on stderr, detaches the
    probe and never stops training.
    """

    def __init__(self, config: ProbeConfig | None = None) -> None:
        self.config = config or ProbeConfig()
        self.probes: dict[str, Probe] = {}
        self._publishes = Throttle(self.config.publish_every_s)
        self._earliest = Throttle(0.0)  # publishing's share of the time, even when a buffer is full
        self._seen_samples: dict[str, int] = {}
        self._followers: dict[str, list[str]] = {}  # network -> the target networks following it

    @property
    def probe(self) -> Probe | None:
        """The probe of the network shown first (None when switched off or failed)."""
        return next(iter(self.probes.values()), None)

    def on_training_start(self, ctx: RunContext) -> None:
        if not self.config.enabled:
            return
        watched = ctx.watched or (next(iter(ctx.networks)),)
        if self.config.dead_init_layer:
            plant_dead_layer(ctx.networks[watched[0]], self.config.dead_init_layer, self.config.dead_init_bias)
        for name in watched:
            self._add(ctx, Probe(self.config, network=name))
        for name, online in ctx.targets.items():
            if name in ctx.networks and name not in self.probes:
                self._add(ctx, Probe(self.config, network=name, weights_only=True))
                self._followers.setdefault(online, []).append(name)
        ctx.store.put(
            T.PROBE_CONFIG,
            T.ProbeSettings(
                config=self.config.to_dict(),
                networks=[
                    T.WatchedNetwork(
                        name,
                        [T.WatchedLayerInfo(w.name, w.activation, w.hidden) for w in p.capture.layers],
                        weights_only=p.weights_only,
                    )
                    for name, p in self.probes.items()
                ],
            ).to_dict(),
        )
        for probe in self.probes.values():
            probe.capture.sample_weights()
            if not probe.weights_only:
                probe.capture.arm_activations()  # the first acting pass is always sampled
        self._publishes.start(due_now=False)

    def _add(self, ctx: RunContext, probe: Probe) -> None:
        probe.attach(ctx.networks[probe.network], count_passes=False)
        probe.capture.step = ctx.step
        self.probes[probe.network] = probe
        self._seen_samples[probe.network] = 0

    def on_step(self, ctx: RunContext, step: StepInfo) -> bool:
        if not self.probes:
            return True
        n = step.step
        for name, probe in list(self.probes.items()):
            cap = probe.capture
            cap.step = n
            if not probe.weights_only:
                if cap.samples != self._seen_samples[name]:  # this step's acting pass was sampled
                    self._seen_samples[name] = cap.samples
                    cap.stamp_last_sample(n)
                    probe.last_action = plain_action(step.action)
                if cap.activation_sampler.ready(n):
                    cap.arm_activations()
            if cap.weight_sampler.ready(n):
                self._guard(name, cap.sample_weights)
        full = any(p.capture.full for p in self.probes.values())
        if self._publishes.due() or (full and self._earliest.due()):
            self._publish(ctx)
        return True

    def on_update(self, ctx: RunContext, update: UpdateInfo) -> None:
        changed = update.update.networks or tuple(n for n, p in self.probes.items() if not p.weights_only)
        for name in changed:
            for target in self._followers.get(name, ()):
                follower = self.probes.get(target)
                if follower is not None:
                    follower.capture.note_update(update.step)
            probe = self.probes.get(name)
            if probe is None or probe.weights_only:
                continue
            cap = probe.capture
            cap.note_update(update.step)
            if cap.gradient_sampler.ready(cap.updates):
                cap.arm_gradients()

    def _publish(self, ctx: RunContext) -> None:
        started = time.monotonic()
        outputs: dict[str, ProbeOutput] = {}
        for name, probe in list(self.probes.items()):

            def collect(name: str = name, probe: Probe = probe) -> None:
                outputs[name] = probe.collect()

            self._guard(name, collect)
        self._guard(None, lambda: publish(ctx.store, outputs, ctx.step))
        # publishing may take max_publish_share of the time: a slow publish pushes the next
        # one back, even when a full buffer asks for it (samples are dropped meanwhile)
        spent = time.monotonic() - started
        self._earliest.due_at(started + spent / self.config.max_publish_share)
        self._publishes.due_at(max(started + self.config.publish_every_s, self._earliest.next_at))
        for probe in self.probes.values():
            probe.publishes += 1
            probe.publish_seconds += spent / max(len(self.probes), 1)

    def flush(self, ctx: RunContext) -> None:
        """Publish now (the worker calls this before it pauses, so the dashboard shows
        the state it is paused on)."""
        if self.probes:
            self._publish(ctx)

    def on_training_end(self, ctx: RunContext) -> None:
        if not self.probes:
            return
        self._publish(ctx)
        for probe in self.probes.values():
            probe.detach()

    def _guard(self, name: str | None, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as exc:  # a diagnostic must never stop training
            which = f" of {name}" if name else ""
            print(f"neurodash: probe{which} disabled for this run: {type(exc).__name__}: {exc}", file=sys.stderr)
            for key in [name] if name else list(self.probes):
                probe = self.probes.pop(key, None)
                if probe is not None:
                    probe.detach()
