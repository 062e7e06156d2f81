"""How the probe samples a network (:class:`ProbeConfig`), saved with the run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class ProbeConfig:
    """How the probe samples the network. Saved with the run."""

    enabled: bool = True
    """attach the probe at all (False: no hooks are installed, so it costs nothing)"""
    activation_every: int = 10
    """sample the activations of every this many acting forward passes (see activation_max_per_s);
    spreading the samples out makes the dead-neuron window (100 samples) cover 1,000+ steps"""
    activation_max_per_s: float | None = 50.0
    """but at most this many activation samples per second of wall-clock time (None: no limit),
    so the cost stays the same however fast training runs"""
    gradient_every: int = 1
    """sample the gradients of every this many optimisation steps (see gradient_max_per_s)"""
    gradient_max_per_s: float | None = 5.0
    """but at most this many gradient samples per second of wall-clock time (None: no limit)"""
    weight_every: int = 100
    """sample the weights (statistics, histogram, update velocity) every this many environment steps
    (see weight_max_per_s)"""
    weight_max_per_s: float | None = 4.0
    """but at most this many weight samples per second of wall-clock time (None: no limit); the
    update velocity is always measured between two consecutive samples"""
    history: int = 500
    """activation samples kept per neuron (the neuron inspector's window)"""
    publish_every_s: float = 1.0
    """publish the collected samples at most this often, in seconds (and at the end of training)"""
    max_publish_share: float = 0.01
    """publishing may take at most this share of the wall-clock time: when one publish took
    longer (a slow disk, a busy machine), the next waits correspondingly longer"""
    acting_batch_max: int = 1
    """a forward pass without gradients over at most this many states counts as an acting
    pass (raise it to the number of environments for vectorised acting)"""
    activation_bins: int = 20
    """bins of each layer's activation histogram"""
    weight_bins: int = 30
    """bins of each layer's weight histogram"""
    watch_q: bool = True
    """the network's output is a Q-value per action: alert when the Q-values diverge"""
    dead_init_layer: str | None = None
    """teaching demo of dying ReLUs: before training, set this hidden layer's biases to
    dead_init_bias so its ReLUs output zero for every input -- and, receiving no gradient,
    stay dead. Watch the dead-neuron grid, the vanishing gradients upstream and the alert."""
    dead_init_bias: float = -10.0
    """the bias value dead_init_layer starts from (strongly negative: every ReLU silent)"""

    def __post_init__(self) -> None:
        for name in (
            "activation_every",
            "gradient_every",
            "weight_every",
            "history",
            "acting_batch_max",
            "activation_bins",
            "weight_bins",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ProbeConfig: {name} must be a whole number >= 1, got {value!r}")
        for name in ("activation_max_per_s", "gradient_max_per_s", "weight_max_per_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"ProbeConfig: {name} must be > 0 or None, got {value!r}")
        if not (0 < self.max_publish_share <= 1):
            raise ValueError(f"ProbeConfig: max_publish_share must be in (0, 1], got {self.max_publish_share!r}")
        if not (self.publish_every_s >= 0):
            raise ValueError(f"ProbeConfig: publish_every_s must be >= 0, got {self.publish_every_s!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def probe_config_from(settings: Any) -> ProbeConfig:
    """A :class:`ProbeConfig` from a worker's settings object (e.g. ``rl.worker.WorkerConfig``):
    ``probe`` switches it on or off, ``probe_every`` is the weight-sampling interval in
    steps, and any other attribute named like a ProbeConfig field (``dead_init_layer``,
    ``activation_max_per_s``, ...) is taken as is."""
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(ProbeConfig) if hasattr(settings, f.name)}
    if hasattr(settings, "probe"):
        values["enabled"] = bool(settings.probe)
    if hasattr(settings, "probe_every") and "weight_every" not in values:
        values["weight_every"] = int(settings.probe_every)
    return ProbeConfig(**values)
