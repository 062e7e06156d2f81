"""The probe of one network: its captured samples turned into records, and the health rules
re-evaluated on them.

:meth:`Probe.collect` takes what the :class:`~rl.probe.capture.Capture` holds since the
last call, computes the statistics in bulk (:mod:`rl.probe.stats`), keeps the recent
figures the rules need (gradient norms, weight velocities, output magnitudes) and asks
``health.live_rules`` which alerts stand. A *weights-only* probe (a target network's)
takes weight samples alone and judges nothing. :func:`publish` writes the records of every
watched network to the store.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from torch import nn

from health import live_rules as R
from health import thresholds as TH
from rl import telemetry as T
from rl.layers import WatchedLayer
from rl.probe import stats
from rl.probe.capture import Capture
from rl.probe.config import ProbeConfig


@dataclass
class ProbeOutput:
    """What one :meth:`Probe.collect` produced for one network."""

    network: str
    activations: T.ActivationRecord | None = None
    gradients: list[T.GradientRecord] = field(default_factory=list)
    weights: list[T.WeightRecord] = field(default_factory=list)
    neurons: T.NeuronsRecord | None = None
    alerts: list[T.AlertEntry] = field(default_factory=list)


def _encoded_weight_and_bias(layer: WatchedLayer) -> tuple[dict, dict]:
    w = layer.weight.detach().float()
    bias = layer.bias
    b = bias.detach().float().numpy() if bias is not None else np.zeros(w.shape[0], np.float32)
    return T.encode_array(w.reshape(w.shape[0], -1).numpy()), T.encode_array(b)


class Probe:
    """Watches one network (``network``: its name in the run): attach it with
    :meth:`attach`, drive its :attr:`capture` (or let ``count_passes`` do it), and call
    :meth:`collect` or :func:`publish` now and then.

    ``weights_only``: the network is a target network, which never acts and never runs a
    backward pass of its own -- the probe only copies its weights when
    :meth:`~rl.probe.capture.Capture.sample_weights` is called, installs no hook, and
    evaluates no health rule (the probe of the network it follows judges the learning).
    """

    #: recent gradient norms / weight velocities / output magnitudes kept for the rules
    RULE_MEMORY = 64

    def __init__(
        self, config: ProbeConfig | None = None, network: str = "q_network", *, weights_only: bool = False
    ) -> None:
        self.config = config or ProbeConfig()
        self.network = network
        self.weights_only = weights_only
        self.capture = Capture(self.config)
        self.tracker = R.AlertTracker()
        self._grad_history: dict[str, deque] = {}
        self._velocity_history: dict[str, deque] = {}
        self._output_history: deque = deque(maxlen=max(self.RULE_MEMORY, TH.LIVE_Q_GROWTH_SAMPLES))
        #: the action taken in the state of the newest activation sample
        self.last_action: int | list[float] | None = None
        self.publishes = 0
        self.publish_seconds = 0.0

    def attach(self, module: nn.Module, *, count_passes: bool = True) -> Probe:
        """Watch ``module`` (see :meth:`rl.probe.capture.Capture.attach`; a weights-only
        probe never counts passes)."""
        self.capture.attach(module, count_passes=count_passes and not self.weights_only)
        names = [w.name for w in self.capture.layers]
        self._grad_history = {n: deque(maxlen=self.RULE_MEMORY) for n in names}
        self._velocity_history = {n: deque(maxlen=self.RULE_MEMORY) for n in names}
        return self

    def detach(self) -> None:
        self.capture.detach()

    # ---- records
    def _activation_record(self) -> T.ActivationRecord | None:
        cap = self.capture
        new = cap.samples - cap.taken
        if new <= 0:
            return None
        window_n = min(cap.samples, self.config.history, TH.LIVE_DEAD_WINDOW)
        layers = [
            stats.activation_layer(
                layer.name,
                layer.activation,
                cap.recent(ring, new),
                cap.recent(ring, window_n).numpy(),
                self.config.activation_bins,
            )
            for layer, ring in cap.activation_rings()
        ]
        largest = mean = None
        if cap.output_ring is not None:
            per_sample, largest, mean = stats.output_summary(cap.recent(cap.output_ring, new))
            self._output_history.extend(per_sample)
        return T.ActivationRecord(
            step=cap.step,
            samples=cap.samples,
            layers=layers,
            network=self.network,
            output_abs_max=largest,
            output_mean=mean,
        )

    def _gradient_records(self) -> list[T.GradientRecord]:
        rows, seen, meta = self.capture.take_gradients()
        if not meta:
            return []
        names = [w.name for w in self.capture.layers]
        per_sample, totals = stats.gradient_layers(rows, seen, self.capture.gradient_params, names)
        records = []
        for (step, update), layers, total in zip(meta, per_sample, totals):
            for layer in layers:
                self._grad_history[layer.name].append(
                    layer.norm if layer.finite and layer.norm is not None else math.nan
                )
            if layers:  # a sampled forward pass that was never followed by a backward has none
                records.append(
                    T.GradientRecord(step=step, update=update, layers=layers, total_norm=total, network=self.network)
                )
        return records

    def _weight_records(self) -> list[T.WeightRecord]:
        rows, previous, meta = self.capture.take_weights()
        if not meta:
            return []
        names = [w.name for w in self.capture.layers]
        per_sample = stats.weight_layers(rows, previous, self.capture.weight_slices, names, self.config.weight_bins)
        records = []
        for (step, updates), layers in zip(meta, per_sample):
            for layer in layers:
                self._velocity_history[layer.name].append((layer.velocity, updates))
            records.append(T.WeightRecord(step=step, updates=int(updates), layers=layers, network=self.network))
        return records

    def _neurons_record(self) -> T.NeuronsRecord | None:
        cap = self.capture
        if cap.samples == 0:
            return None
        last, n = cap.last_slot, min(cap.samples, self.config.history)
        layers = []
        for layer, ring in cap.activation_rings():
            history = np.clip(np.nan_to_num(cap.recent(ring, n).numpy(), nan=0.0), -65000.0, 65000.0)
            weight, bias = _encoded_weight_and_bias(layer)
            layers.append(
                T.NeuronLayer(
                    name=layer.name,
                    activation=layer.activation,
                    size=int(ring.shape[1]),
                    current=[stats.finite_or_none(v) for v in ring[last].tolist()],
                    history=T.encode_array(history, "float16"),
                    weight=weight,
                    bias=bias,
                )
            )
        outputs = [w for w in cap.layers if not w.hidden]
        output_layer = None
        if outputs:
            weight, bias = _encoded_weight_and_bias(outputs[-1])
            output_layer = T.OutputLayer(name=outputs[-1].name, weight=weight, bias=bias)
        out = [] if cap.output_ring is None else [stats.finite_or_none(v) for v in cap.output_ring[last].tolist()]
        inp = [] if cap.input is None else [stats.finite_or_none(v) for v in cap.input.tolist()]
        return T.NeuronsRecord(
            step=cap.sample_step(last),
            layers=layers,
            output_layer=output_layer,
            input=inp,
            output=out,
            action=self.last_action,
            samples=cap.samples,
            network=self.network,
        )

    def collect(self) -> ProbeOutput:
        """Everything new since the last call, as records, and the rules re-evaluated.

        Rules whose data did not change are not re-evaluated (so a paused run's alerts
        neither raise nor clear). A weights-only probe gives its weight records alone.
        """
        if self.weights_only:
            return ProbeOutput(self.network, weights=self._weight_records())
        activations = self._activation_record()
        gradients = self._gradient_records()
        weights = self._weight_records()
        neurons = self._neurons_record() if activations is not None else None
        self.capture.taken = self.capture.samples
        self.capture.full = False
        checks: list[R.Check] = []
        if activations is not None:
            checks += R.check_activations([layer.to_dict() for layer in activations.layers])
            if self.config.watch_q and self._output_history:
                # the network's output as a whole (a dueling head has two output layers)
                checks += R.check_q_values(list(self._output_history), layer="output")
        if gradients:
            checks += R.check_gradients({k: list(v) for k, v in self._grad_history.items() if v})
        if weights:
            checks += R.check_velocity({k: list(v) for k, v in self._velocity_history.items()})
        self.tracker.update(checks, self.capture.step, time.time())
        alerts = [replace(T.AlertEntry.from_dict(a), network=self.network) for a in self.tracker.to_dicts()]
        return ProbeOutput(self.network, activations, gradients, weights, neurons, alerts)

    def publish(self, store) -> ProbeOutput:
        """:meth:`collect`, then :func:`publish` it (this network alone)."""
        started = time.perf_counter()
        out = self.collect()
        publish(store, {self.network: out}, self.capture.step)
        self.publishes += 1
        self.publish_seconds += time.perf_counter() - started
        return out


def publish(store, outputs: Mapping[str, ProbeOutput], step: int) -> None:
    """Write the probe's records of each network: its series appended, then its NEURONS key
    and the run's ALERTS (every network's, active first, most severe first) in one step."""
    keys: dict[str, dict] = {}
    for network, out in outputs.items():
        if out.activations is not None:
            store.append(T.probe_key(T.ACTIVATIONS, network), [out.activations.to_dict()])
        if out.gradients:
            store.append(T.probe_key(T.GRADIENTS, network), T.rows(out.gradients))
        if out.weights:
            store.append(T.probe_key(T.WEIGHTS, network), T.rows(out.weights))
        if out.neurons is not None:
            keys[T.probe_key(T.NEURONS, network)] = out.neurons.to_dict()
    alerts = [a for out in outputs.values() for a in out.alerts]
    alerts.sort(key=lambda a: (not a.active, a.severity))
    keys[T.ALERTS] = T.AlertsRecord(step=step, time=time.time(), alerts=alerts).to_dict()
    store.put_many(keys)
