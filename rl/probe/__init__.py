"""The probe: what happens inside a network while it trains, captured through hooks.

It attaches to any ``torch.nn.Module`` with forward hooks and parameter
post-accumulate-grad hooks (the agent's code is not touched), so it serves our DQN, each
of SAC's networks, a Stable-Baselines3 policy or a hand-written loop alike. It captures,
on a sampled schedule set in :class:`ProbeConfig`, the activations of every hidden layer
on the acting pass, the gradients after sampled optimisation steps, and the weights
every ``weight_every`` steps. On the per-step path the hooks only count (or, driven by the
worker, nothing runs at all); every statistic is computed in bulk when the probe
publishes, at most once per ``publish_every_s`` seconds, so the cost grows with the
sampling rates, not with the training speed.

One job per module:

* :mod:`rl.layers` -- which layers a network has (shared with the attribution);
* :mod:`rl.probe.config` -- :class:`ProbeConfig`, the sampling settings;
* :mod:`rl.probe.capture` -- the hooks and the capture buffers;
* :mod:`rl.probe.stats` -- pure statistics from captured tensors to typed layer records;
* :mod:`rl.probe.probe` -- one network's :class:`Probe`: records and health rules;
* :mod:`rl.probe.callback` -- :class:`ProbeCallback`, the probe in the worker's loop.

Each publish writes, per watched network, the ACTIVATIONS / GRADIENTS / WEIGHTS series and
the NEURONS key (``telemetry.probe_key``), per target network (a weights-only probe: it
never acts nor learns by itself) the WEIGHTS series alone, and the run's ALERTS key
(network-health alerts from :mod:`health.live_rules`, with hysteresis).
"""

from rl.layers import ProbeError, WatchedLayer, activation_kind, discover_layers, plant_dead_layer
from rl.probe.callback import ProbeCallback, probe_callbacks
from rl.probe.capture import Capture
from rl.probe.config import ProbeConfig, probe_config_from
from rl.probe.probe import Probe, ProbeOutput, publish

__all__ = [
    "Capture",
    "Probe",
    "ProbeCallback",
    "ProbeConfig",
    "ProbeError",
    "ProbeOutput",
    "WatchedLayer",
    "activation_kind",
    "discover_layers",
    "plant_dead_layer",
    "probe_callbacks",
    "probe_config_from",
    "publish",
]
