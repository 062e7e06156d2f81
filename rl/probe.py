"""The probe: what happens inside a network while it trains, captured through hooks.

:class:`Probe` attaches to any ``torch.nn.Module`` with forward hooks and parameter
post-accumulate-grad hooks (the agent's code is not touched), so it serves our DQN, a
SAC actor, a Stable-Baselines3 policy or a hand-written loop alike. It captures, on a
sampled schedule set in :class:`ProbeConfig`:

* **activations** of every hidden layer on the *acting* forward pass (a forward under
  ``torch.no_grad()`` with a batch of at most ``acting_batch_max`` states -- the pass
  that chooses the action; replay-batch passes are ignored): each sampled pass is copied
  into a preallocated ring buffer of the last ``history`` samples per layer;
* **gradients** after sampled optimisation steps: when a parameter's gradient has been
  accumulated, four reductions (sum |g|, max |g|, sum g, sum g^2) go into a
  preallocated row -- enough for mean |g|, max |g|, std and norm per layer;
* **weights** every ``weight_every`` steps: per-layer statistics, a histogram and the
  update velocity ``||W - W_prev|| / ||W_prev||``.

On the per-step path the hooks only count, and on sampled steps copy a detached tensor;
every statistic is computed in bulk with torch ops, and converted to plain numbers, in
:meth:`Probe.publish` -- which the :class:`ProbeCallback` calls at most once per
``publish_every_s`` seconds. The cost therefore grows with the sampling rates, not with
the training speed, and :meth:`Probe.detach` removes every hook (a disabled probe costs
nothing). Layers are the network's Linear/Conv modules; a layer is *hidden* when an
activation module (ReLU, Tanh, ...) follows it before the next layer, in registration
order, and its activations are that module's output. (Activations applied as functions,
``F.relu(x)``, are invisible to module hooks: such a network still gets its gradients and
weights watched, but no activation statistics.)

Each publish writes the ACTIVATIONS / GRADIENTS / WEIGHTS series, the NEURONS key (for
the network view and the neuron inspector) and the ALERTS key (network-health alerts
from :mod:`health.live_rules`, with hysteresis).
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from health import live_rules as R
from health import thresholds as TH
from rl import telemetry as T
from rl.callbacks import Callback, RunContext, StepInfo, UpdateInfo


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
    q_bound: float | None = None
    """the largest return an episode can earn (max reward / (1 - gamma)), when known;
    Q-values far above it are reported as diverging"""
    dead_init_layer: str | None = None
    """teaching demo of dying ReLUs: before training, set this hidden layer's biases to
    dead_init_bias so its ReLUs output zero for every input -- and, receiving no gradient,
    stay dead. Watch the dead-neuron grid, the vanishing gradients upstream and the alert."""
    dead_init_bias: float = -10.0
    """the bias value dead_init_layer starts from (strongly negative: every ReLU silent)"""

    def __post_init__(self) -> None:
        for name in ("activation_every", "gradient_every", "weight_every", "history",
                     "acting_batch_max", "activation_bins", "weight_bins"):
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
        if self.q_bound is not None and not self.q_bound > 0:
            raise ValueError(f"ProbeConfig: q_bound must be > 0 or None, got {self.q_bound!r}")

    def to_dict(self) -> dict[str, Any]:
        import dataclasses

        return dataclasses.asdict(self)


class ProbeError(ValueError):
    """The probe cannot watch this network (with a one-line reason)."""


# --------------------------------------------------------------------------- layers
_ACTIVATION_KINDS: dict[type, str] = {
    nn.ReLU: "relu", nn.ReLU6: "relu6", nn.LeakyReLU: "leaky_relu", nn.PReLU: "prelu",
    nn.RReLU: "rrelu", nn.ELU: "elu", nn.SELU: "selu", nn.CELU: "celu", nn.GELU: "gelu",
    nn.SiLU: "silu", nn.Mish: "mish", nn.Softplus: "softplus", nn.Hardswish: "hardswish",
    nn.Tanh: "tanh", nn.Hardtanh: "hardtanh", nn.Softsign: "softsign",
    nn.Sigmoid: "sigmoid", nn.Hardsigmoid: "hardsigmoid",
}
_LAYER_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def activation_kind(module: nn.Module) -> str | None:
    """"relu", "tanh", ... for an elementwise activation module, else None."""
    for cls in type(module).__mro__:
        if cls in _ACTIVATION_KINDS:
            return _ACTIVATION_KINDS[cls]
    return None


@dataclass
class WatchedLayer:
    """A layer the probe watches: its weights, gradients and (if hidden) activations."""

    name: str
    module: nn.Module
    activation: str  # "relu", ... ; "linear" for an output layer
    act_module: nn.Module | None  # the activation module whose output we record
    hidden: bool


def discover_layers(network: nn.Module) -> list[WatchedLayer]:
    """The Linear/Conv layers of ``network`` in registration order, each paired with
    the activation module that follows it (before the next layer), if any."""
    layers: list[WatchedLayer] = []
    current: WatchedLayer | None = None
    for name, module in network.named_modules():
        if isinstance(module, _LAYER_TYPES):
            current = WatchedLayer(name or type(module).__name__.lower(), module, "linear", None, False)
            layers.append(current)
            continue
        kind = activation_kind(module)
        if kind is not None and current is not None and current.act_module is None:
            current.act_module, current.activation, current.hidden = module, kind, True
    return layers


def plant_dead_layer(network: nn.Module, layer: str, bias: float = -10.0) -> None:
    """Set hidden layer ``layer``'s biases to ``bias`` (the dying-ReLU teaching demo).

    With a strongly negative bias every ReLU of the layer outputs zero for any input, so
    no gradient reaches its weights or anything before it: the neurons stay dead.
    """
    found = {w.name: w for w in discover_layers(network)}
    hidden = [n for n, w in found.items() if w.hidden]
    if layer not in found or not found[layer].hidden:
        raise ProbeError(f"dead_init_layer {layer!r} is not a hidden layer of this network; "
                         f"choose one of: {', '.join(hidden) or '(none)'}")
    module = found[layer].module
    if getattr(module, "bias", None) is None:
        raise ProbeError(f"dead_init_layer {layer!r} has no bias to set")
    with torch.no_grad():
        module.bias.fill_(float(bias))


def _first_tensor(value) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        return value[0]
    return None


def _as_rows(t: torch.Tensor) -> torch.Tensor:
    """(batch, features...) -> (batch, units): conv channels are averaged over space."""
    t = t.detach()
    if t.dim() == 1:
        return t.unsqueeze(0)
    if t.dim() > 2:
        return t.flatten(2).mean(dim=2)
    return t


def _finite_or_none(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


# --------------------------------------------------------------------------- the probe
def _batched_histograms(rows: torch.Tensor, bins: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per row of ``rows`` (k, n): counts over ``bins`` equal bins from the row's min to
    its max -- all rows at once. Returns (counts (k, bins), lo (k,), hi (k,))."""
    lo, hi = rows.amin(dim=1), rows.amax(dim=1)
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    idx = ((rows - lo[:, None]) / span[:, None] * bins).floor().clamp_(0, bins - 1)
    idx = torch.nan_to_num(idx, nan=0.0).long()
    counts = torch.zeros(rows.shape[0], bins).scatter_add_(1, idx, torch.ones_like(rows))
    return counts, lo, lo + span


class Probe:
    """Captures activations, gradients and weights of one network; see the module doc.

    Drive it with :meth:`sample_weights` (every ``weight_every`` steps) and
    :meth:`publish` (now and then), setting :attr:`step` to the current environment step
    so records carry it; :class:`ProbeCallback` does all that for the worker.
    """

    #: memory the copies of pending gradient and weight samples may take (each)
    PENDING_BYTES = 32 * 2**20
    #: at most this many gradient / weight samples wait for a publish
    MAX_PENDING = 64
    #: recent gradient norms / weight velocities / Q magnitudes kept for the rules
    RULE_MEMORY = 64

    def __init__(self, config: ProbeConfig | None = None) -> None:
        self.config = config or ProbeConfig()
        self.network: nn.Module | None = None
        self.layers: list[WatchedLayer] = []
        self._handles: list[Any] = []  # the one permanent hook
        self._capture_handles: list[Any] = []  # hooks of the pass being sampled
        self._grad_handles: list[Any] = []  # hooks of the backward being sampled
        self._act_hooks: list[tuple[nn.Module, Any]] = []
        self._grad_hooks: list[tuple[nn.Parameter, Any]] = []
        self.step = 0  # the environment step, set by whoever drives the probe
        # --- activations: one ring buffer per hidden layer, filled by the forward hooks
        self._acting_calls = 0
        rate = self.config.activation_max_per_s
        self._activation_gap, self._next_activation_at = (1.0 / rate if rate else 0.0), 0.0
        rate = self.config.gradient_max_per_s
        self._gradient_gap, self._next_gradient_at = (1.0 / rate if rate else 0.0), 0.0
        rate = self.config.weight_max_per_s
        self._weight_gap, self._next_weight_at = (1.0 / rate if rate else 0.0), 0.0
        self._slot = 0
        self.samples = 0  # acting samples taken so far
        self._published_samples = 0
        self._rings: list[torch.Tensor | None] = []
        self._q_ring: torch.Tensor | None = None
        self._input: torch.Tensor | None = None
        self._sample_steps = np.zeros(self.config.history, dtype=np.int64)
        # --- gradients: sampled backward passes copy p.grad into rows of one buffer
        self.updates = 0  # forward passes with gradients (= optimisation steps for DQN)
        self._grad_armed = False
        self._grad_params: list[tuple[int, nn.Parameter, int, int]] = []  # (layer, param, start, end)
        self._grad_buf: torch.Tensor | None = None
        self._grad_seen: list[list[bool]] = []
        self._grad_meta: list[tuple[int, int]] = []  # (step, update) per pending row
        self.dropped_gradient_samples = 0
        # --- weights: each sample copies every layer's weight into a row of one buffer
        self._weight_slices: list[tuple[int, int]] = []
        self._weight_buf: torch.Tensor | None = None
        self._weight_meta: list[tuple[int, int]] = []  # (step, updates since previous)
        self._weight_prev: torch.Tensor | None = None
        self._updates_at_weights = 0
        self.dropped_weight_samples = 0
        self._grad_slots = self._weight_slots = 0
        self._attached = False
        #: a buffer is full: publish soon, or further samples are lost
        self.full = False
        # --- rules
        self.tracker = R.AlertTracker()
        self._grad_history: dict[str, deque] = {}
        self._velocity_history: dict[str, deque] = {}
        self._q_history: deque = deque(maxlen=max(self.RULE_MEMORY, TH.LIVE_Q_GROWTH_SAMPLES))
        self.last_action: int | None = None
        self.publishes = 0
        self.publish_seconds = 0.0

    # ---- attach / detach
    @property
    def attached(self) -> bool:
        return self._attached

    def attach(self, network: nn.Module, *, count_passes: bool = True) -> "Probe":
        """Watch ``network``. Raises :class:`ProbeError` when it has no layers.

        Capturing hooks are installed only for a sampled pass (on the activation modules
        and the network's output; for a sampled backward, post-accumulate-grad hooks on
        the parameters) and removed right after it. What decides that a pass is sampled:

        * ``count_passes=True`` (any training loop): one permanent forward pre-hook on
          ``network`` counts acting and training passes and arms the capture on the
          sampling schedule -- every other pass runs through that one cheap hook only;
        * ``count_passes=False``: nothing stays installed; whoever drives the probe calls
          :meth:`arm_activations` / :meth:`arm_gradients` on its schedule (the worker's
          :class:`ProbeCallback` does, from its step and update callbacks), so a pass
          that is not sampled costs nothing at all.
        """
        if self.attached:
            self.detach()
        layers = discover_layers(network)
        if not layers:
            raise ProbeError(f"{type(network).__name__} has no Linear or Conv layers to watch")
        self.network, self.layers = network, layers
        self._rings = [None] * len(layers)
        self._grad_history = {w.name: deque(maxlen=self.RULE_MEMORY) for w in layers}
        self._velocity_history = {w.name: deque(maxlen=self.RULE_MEMORY) for w in layers}
        self._act_hooks = [(layer.act_module, self._make_activation_hook(i))
                           for i, layer in enumerate(layers) if layer.hidden and layer.act_module is not None]
        self._grad_params, offset = [], 0
        for i, layer in enumerate(layers):
            for p in layer.module.parameters(recurse=False):
                if p.requires_grad:
                    self._grad_params.append((i, p, offset, offset + p.numel()))
                    offset += p.numel()
        self._grad_hooks = [(p, self._make_grad_hook(j, start))
                            for j, (_, p, start, _end) in enumerate(self._grad_params)]
        self._grad_buf = torch.zeros(self._slots(offset), max(offset, 1))
        self._weight_slices, offset = [], 0
        for layer in layers:
            n = layer.module.weight.numel()
            self._weight_slices.append((offset, offset + n))
            offset += n
        self._weight_buf = torch.zeros(self._slots(offset), offset)
        self._grad_slots, self._weight_slots = self._grad_buf.shape[0], self._weight_buf.shape[0]
        self._attached = True
        if count_passes:
            self._handles.append(network.register_forward_pre_hook(self._on_forward_pre))
        return self

    def _slots(self, numbers: int) -> int:
        return int(max(1, min(self.MAX_PENDING, self.PENDING_BYTES // max(4 * numbers, 1))))

    def detach(self) -> None:
        """Remove every hook; the network runs exactly as without the probe."""
        self._disarm_capture()
        self._disarm_gradients()
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._attached = False

    def _disarm_capture(self) -> None:
        for handle in self._capture_handles:
            handle.remove()
        self._capture_handles = []

    def _disarm_gradients(self) -> None:
        self._grad_armed = False
        for handle in self._grad_handles:
            handle.remove()
        self._grad_handles = []

    @property
    def pending_full(self) -> bool:
        """True when a buffer is full: publish now, or further samples are lost."""
        return self.full

    # ---- arming (what the permanent hook does on its schedule, or a driver calls)
    def activation_due(self) -> bool:
        """The wall-clock rate limit for activation samples: True (and booked) when one may be taken."""
        if self._activation_gap <= 0:
            return True
        now = time.monotonic()
        if now < self._next_activation_at:
            return False
        self._next_activation_at = now + self._activation_gap
        return True

    def gradient_due(self) -> bool:
        """The wall-clock rate limit for gradient samples: True (and booked) when one may be taken."""
        if self._gradient_gap <= 0:
            return True
        now = time.monotonic()
        if now < self._next_gradient_at:
            return False
        self._next_gradient_at = now + self._gradient_gap
        return True

    def weight_due(self) -> bool:
        """The wall-clock rate limit for weight samples: True (and booked) when one may be taken."""
        if self._weight_gap <= 0:
            return True
        now = time.monotonic()
        if now < self._next_weight_at:
            return False
        self._next_weight_at = now + self._weight_gap
        return True

    def arm_activations(self) -> None:
        """Capture the next acting forward pass (passes with gradients, or over more than
        ``acting_batch_max`` states, are let through until one comes)."""
        if not self._capture_handles and self.network is not None:
            self._capture_handles = [self.network.register_forward_pre_hook(self._capture_pre)]

    def arm_gradients(self) -> bool:
        """Capture the gradients of the next backward pass; False when the buffer is full."""
        if self._grad_armed:
            return True
        if len(self._grad_meta) >= self._grad_slots:
            self.dropped_gradient_samples += 1
            self.full = True
            return False
        self._grad_meta.append((self.step, self.updates + 1))
        self._grad_seen.append([False] * len(self._grad_params))
        self._grad_armed = True
        self._grad_handles = [p.register_post_accumulate_grad_hook(fn) for p, fn in self._grad_hooks]
        if len(self._grad_meta) >= self._grad_slots:
            self.full = True  # publish before the next one is due
        return True

    def note_update(self, step: int | None = None) -> None:
        """One optimisation step happened (a driver calls this after each; with
        ``count_passes`` the forward passes with gradients are counted instead). A
        gradient capture armed before it is complete now."""
        self.updates += 1
        if step is not None:
            self.step = step
        if self._grad_armed and any(self._grad_seen[-1]):
            self._grad_meta[-1] = (self.step, self.updates)
            self._disarm_gradients()

    # ---- hooks (the hot path: count, and on sampled passes copy)
    def _on_forward_pre(self, module, args) -> None:
        """The permanent hook of ``count_passes`` mode: counts passes, arms captures."""
        if self._capture_handles:  # a sampled pass that never finished (it raised)
            self._disarm_capture()
        if torch.is_grad_enabled():  # a training forward pass: maybe sample its backward
            if self._grad_armed:
                self._disarm_gradients()
            if (self.updates + 1) % self.config.gradient_every == 0 and self.gradient_due():
                self.arm_gradients()  # for this pass's backward: booked as update number updates + 1
            self.updates += 1
            return
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor) or (x.dim() > 1 and x.shape[0] > self.config.acting_batch_max):
            return  # e.g. Double DQN's argmax over a replay batch: not an acting pass
        self._acting_calls += 1
        if self._acting_calls % self.config.activation_every or not self.activation_due():
            return
        self._begin_capture(module, x)

    def _capture_pre(self, module, args) -> None:
        """Armed by :meth:`arm_activations`: waits for an acting pass, then captures it."""
        if torch.is_grad_enabled():
            return
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor) or (x.dim() > 1 and x.shape[0] > self.config.acting_batch_max):
            return
        self._begin_capture(module, x)

    def _begin_capture(self, module, x: torch.Tensor) -> None:
        row = x.detach().reshape(-1) if x.dim() <= 1 else x.detach()[0].reshape(-1)
        if self._input is None or self._input.shape != row.shape:
            self._input = torch.zeros(row.shape)
        self._input.copy_(row)
        # capture this one pass: hooks on the activation modules and on the output
        self._capture_handles += [m.register_forward_hook(fn) for m, fn in self._act_hooks]
        self._capture_handles.append(module.register_forward_hook(self._on_forward))

    def _make_activation_hook(self, index: int):
        def hook(module, args, output) -> None:
            out = _first_tensor(output)
            if out is None:
                return
            row = _as_rows(out)[0]
            ring = self._rings[index]
            if ring is None or ring.shape[1] != row.shape[0]:
                ring = self._rings[index] = torch.zeros(self.config.history, row.shape[0])
            ring[self._slot].copy_(row)
        return hook

    def _on_forward(self, module, args, output) -> None:
        out = _first_tensor(output)
        if out is not None:
            row = _as_rows(out)[0]
            if self._q_ring is None or self._q_ring.shape[1] != row.shape[0]:
                self._q_ring = torch.zeros(self.config.history, row.shape[0])
            self._q_ring[self._slot].copy_(row)
        self._sample_steps[self._slot] = self.step
        self._slot = (self._slot + 1) % self.config.history
        self.samples += 1
        if self.samples - self._published_samples >= self.config.history:
            self.full = True
        self._disarm_capture()

    def stamp_last_sample(self, step: int) -> None:
        """Record the environment step of the newest activation sample (a driver that
        learns the step only after the acting pass calls this)."""
        if self.samples:
            self._sample_steps[(self._slot - 1) % self.config.history] = step

    def _make_grad_hook(self, pindex: int, start: int):
        def hook(param: torch.Tensor) -> None:
            if not self._grad_armed or param.grad is None:
                return
            row = len(self._grad_meta) - 1
            self._grad_buf[row, start:start + param.numel()].copy_(param.grad.detach().reshape(-1))
            self._grad_seen[row][pindex] = True
        return hook

    # ---- weights (sampled: every weight_every steps)
    def sample_weights(self) -> None:
        """Copy every layer's weights into the pending buffer (statistics come at publish)."""
        if self._weight_buf is None:
            return
        row = len(self._weight_meta)
        if row >= self._weight_slots:
            self.dropped_weight_samples += 1
            self.full = True
            return
        buf = self._weight_buf[row]
        with torch.no_grad():
            for layer, (a, b) in zip(self.layers, self._weight_slices):
                buf[a:b].copy_(layer.module.weight.detach().reshape(-1))
        self._weight_meta.append((self.step, self.updates - self._updates_at_weights))
        self._updates_at_weights = self.updates
        if len(self._weight_meta) >= self._weight_slots:
            self.full = True

    # ---- publishing (bulk statistics)
    def _ordered(self, ring: torch.Tensor, count: int) -> torch.Tensor:
        """The newest ``count`` rows of a ring buffer, oldest first."""
        n = self.config.history
        count = min(count, n, self.samples)
        start = self._slot - count
        if start >= 0:
            return ring[start:self._slot]
        return torch.cat([ring[n + start:], ring[:self._slot]])

    def _activation_record(self) -> T.ActivationRecord | None:
        new = self.samples - self._published_samples
        if new <= 0:
            return None
        window_n = min(self.samples, self.config.history, TH.LIVE_DEAD_WINDOW)
        layers = []
        for i, layer in enumerate(self.layers):
            ring = self._rings[i]
            if not layer.hidden or ring is None:
                continue
            fresh = self._ordered(ring, new)
            flat = fresh.reshape(-1)
            finite = flat[torch.isfinite(flat)]
            nonfinite = int(flat.numel() - finite.numel())
            if finite.numel():
                stats = torch.stack([finite.mean(), finite.std(unbiased=False), finite.min(), finite.max()]).tolist()
                mean, std, mn, mx = stats
                lo, hi = (mn - 0.5, mx + 0.5) if mx <= mn else (mn, mx)
                hist = [int(c) for c in torch.histc(finite, bins=self.config.activation_bins, min=lo, max=hi).tolist()]
            else:
                mean = std = mn = mx = lo = hi = None
                hist = [0] * self.config.activation_bins
            summary = R.summarize_neurons(self._ordered(ring, window_n).numpy(), layer.activation)
            layers.append({
                "name": layer.name, "activation": layer.activation, "size": int(ring.shape[1]),
                "samples": int(min(new, self.config.history)),
                "mean": mean, "std": std, "min": mn, "max": mx,
                "hist": hist, "hist_lo": lo, "hist_hi": hi, "nonfinite": nonfinite,
                **summary,
            })
        q_abs_max = q_mean = None
        if self._q_ring is not None:
            q = self._ordered(self._q_ring, new)
            per_sample = q.abs().amax(dim=1)
            self._q_history.extend(per_sample.tolist())
            finite = q[torch.isfinite(q)]
            q_abs_max = _finite_or_none(float(per_sample.max())) if per_sample.numel() else None
            q_mean = float(finite.mean()) if finite.numel() else None
        return T.ActivationRecord(step=self.step, samples=self.samples, layers=layers,
                                  q_abs_max=q_abs_max, q_mean=q_mean)

    def _gradient_records(self) -> list[T.GradientRecord]:
        if self._grad_armed and self._grad_seen and any(self._grad_seen[-1]):
            self._disarm_gradients()  # its backward pass has run: the sample is complete
        k = len(self._grad_meta) - (1 if self._grad_armed else 0)  # still waiting for its backward
        if k <= 0 or not self._grad_params:
            return []
        rows = self._grad_buf[:k]
        seen = torch.tensor(self._grad_seen[:k], dtype=torch.bool)  # (k, params)
        n_layers = len(self.layers)
        s1, mx, s, s2, cnt = (torch.zeros(k, n_layers) for _ in range(5))
        for j, (li, p, a, b) in enumerate(self._grad_params):
            seg = rows[:, a:b]
            m = seen[:, j]
            absseg = seg.abs()
            s1[:, li] += torch.where(m, absseg.sum(dim=1), 0.0)
            mx[:, li] = torch.maximum(mx[:, li], torch.where(m, absseg.amax(dim=1), 0.0))
            s[:, li] += torch.where(m, seg.sum(dim=1), 0.0)
            s2[:, li] += torch.where(m, (seg * seg).sum(dim=1), 0.0)
            cnt[:, li] += m.float() * (b - a)
        safe = cnt.clamp(min=1.0)
        mean_abs = s1 / safe
        std = (s2 / safe - (s / safe) ** 2).clamp(min=0.0).sqrt()
        table = torch.stack([s2.sqrt(), mean_abs, mx, std], dim=2).tolist()
        has_l, total_l = (cnt > 0).tolist(), s2.sum(dim=1).sqrt().tolist()
        records = []
        for r, (step, update) in enumerate(self._grad_meta[:k]):
            layers = []
            for j, layer in enumerate(self.layers):
                if not has_l[r][j]:
                    continue
                nrm, mabs, mxv, sd = table[r][j]
                self._grad_history[layer.name].append(nrm)
                layers.append({"name": layer.name, "norm": _finite_or_none(nrm),
                               "mean_abs": _finite_or_none(mabs), "max_abs": _finite_or_none(mxv),
                               "std": _finite_or_none(sd), "finite": math.isfinite(nrm)})
            if layers:  # a sampled forward pass that was never followed by a backward has none
                records.append(T.GradientRecord(step=step, update=update, layers=layers,
                                                total_norm=_finite_or_none(total_l[r])))
        if self._grad_armed:  # move the armed row to the front of the buffer
            self._grad_buf[0].copy_(self._grad_buf[k])
        self._grad_meta, self._grad_seen = self._grad_meta[k:], self._grad_seen[k:]
        return records

    def _weight_records(self) -> list[T.WeightRecord]:
        k = len(self._weight_meta)
        if k == 0:
            return []
        rows = self._weight_buf[:k]
        prev = torch.cat([self._weight_prev[None] if self._weight_prev is not None
                          else torch.full((1, rows.shape[1]), float("nan")), rows[:-1]])
        per_layer = []
        for a, b in self._weight_slices:
            seg, before = rows[:, a:b], prev[:, a:b]
            norm = torch.linalg.vector_norm(seg, dim=1)
            velocity = torch.linalg.vector_norm(seg - before, dim=1) / torch.linalg.vector_norm(before, dim=1)
            counts, lo, hi = _batched_histograms(seg, self.config.weight_bins)
            stats = torch.stack([seg.mean(dim=1), seg.std(dim=1, unbiased=False) if b - a > 1 else torch.zeros(k),
                                 seg.amin(dim=1), seg.amax(dim=1),
                                 (seg.abs() < TH.LIVE_NEAR_ZERO_WEIGHT).sum(dim=1).float(), norm, velocity,
                                 lo, hi], dim=1)
            per_layer.append((stats.tolist(), counts.tolist()))
        self._weight_prev = rows[k - 1].clone()
        records = []
        for r, (step, updates) in enumerate(self._weight_meta):
            layers = []
            for j, layer in enumerate(self.layers):
                mean, std, mn, mx, near_zero, norm, velocity, lo, hi = per_layer[j][0][r]
                velocity = velocity if math.isfinite(velocity) else None
                self._velocity_history[layer.name].append((velocity, updates))
                layers.append({
                    "name": layer.name, "size": int(self._weight_slices[j][1] - self._weight_slices[j][0]),
                    "mean": _finite_or_none(mean), "std": _finite_or_none(std),
                    "min": _finite_or_none(mn), "max": _finite_or_none(mx),
                    "near_zero": int(near_zero), "norm": _finite_or_none(norm), "velocity": velocity,
                    "hist": [int(c) for c in per_layer[j][1][r]],
                    "hist_lo": _finite_or_none(lo), "hist_hi": _finite_or_none(hi),
                })
            records.append(T.WeightRecord(step=step, updates=int(updates), layers=layers))
        self._weight_meta = []
        return records

    def _neurons_record(self) -> T.NeuronsRecord | None:
        if self.samples == 0:
            return None
        last = (self._slot - 1) % self.config.history
        n = min(self.samples, self.config.history)
        layers = []
        for i, layer in enumerate(self.layers):
            ring = self._rings[i]
            if not layer.hidden or ring is None:
                continue
            history = self._ordered(ring, n).numpy()
            history = np.clip(np.nan_to_num(history, nan=0.0), -65000.0, 65000.0)
            w = layer.module.weight.detach().float()
            bias = getattr(layer.module, "bias", None)
            layers.append({
                "name": layer.name, "activation": layer.activation, "size": int(ring.shape[1]),
                "current": [_finite_or_none(v) for v in ring[last].tolist()],
                "history": T.encode_array(history, "float16"),
                "weight": T.encode_array(w.reshape(w.shape[0], -1).numpy()),
                "bias": T.encode_array(bias.detach().float().numpy() if bias is not None
                                       else np.zeros(w.shape[0], np.float32)),
            })
        outputs = [w for w in self.layers if not w.hidden]
        output = None
        if outputs:
            out = outputs[-1].module
            w = out.weight.detach().float()
            bias = getattr(out, "bias", None)
            output = {"name": outputs[-1].name, "weight": T.encode_array(w.reshape(w.shape[0], -1).numpy()),
                      "bias": T.encode_array(bias.detach().float().numpy() if bias is not None
                                             else np.zeros(w.shape[0], np.float32))}
        q = [] if self._q_ring is None else [_finite_or_none(v) for v in self._q_ring[last].tolist()]
        inp = [] if self._input is None else [_finite_or_none(v) for v in self._input.tolist()]
        return T.NeuronsRecord(step=int(self._sample_steps[last]), layers=layers, output=output,
                               input=inp, q=q, action=self.last_action, samples=self.samples)

    def collect(self) -> dict[str, Any]:
        """Everything new since the last call, as records, and the rules re-evaluated.

        Returns ``{"activations": ActivationRecord | None, "gradients": [...],
        "weights": [...], "neurons": NeuronsRecord | None, "alerts": AlertsRecord}``.
        Rules whose data did not change are not re-evaluated (so a paused run's alerts
        neither raise nor clear).
        """
        activations = self._activation_record()
        gradients = self._gradient_records()
        weights = self._weight_records()
        neurons = self._neurons_record() if activations is not None else None
        self._published_samples = self.samples
        self.full = False
        checks: list[R.Check] = []
        if activations is not None:
            checks += R.check_activations(activations.layers)
            if self.config.watch_q and self._q_history:
                # the network's output as a whole (a dueling head has two output layers)
                checks += R.check_q_values(list(self._q_history), self.config.q_bound, layer="output")
        if gradients:
            checks += R.check_gradients({k: list(v) for k, v in self._grad_history.items() if v})
        if weights:
            checks += R.check_velocity({k: list(v) for k, v in self._velocity_history.items()})
        now = time.time()
        self.tracker.update(checks, self.step, now)
        alerts = T.AlertsRecord(step=self.step, time=now, alerts=self.tracker.to_dicts())
        return {"activations": activations, "gradients": gradients, "weights": weights,
                "neurons": neurons, "alerts": alerts}

    def publish(self, store) -> dict[str, Any]:
        """:meth:`collect`, then write it to ``store`` (series appended, keys in one step)."""
        started = time.perf_counter()
        out = self.collect()
        if out["activations"] is not None:
            store.append(T.ACTIVATIONS, [out["activations"].to_dict()])
        if out["gradients"]:
            store.append(T.GRADIENTS, [r.to_dict() for r in out["gradients"]])
        if out["weights"]:
            store.append(T.WEIGHTS, [r.to_dict() for r in out["weights"]])
        keys = {T.ALERTS: out["alerts"].to_dict()}
        if out["neurons"] is not None:
            keys[T.NEURONS] = out["neurons"].to_dict()
        store.put_many(keys)
        self.publishes += 1
        self.publish_seconds += time.perf_counter() - started
        return out


# --------------------------------------------------------------------------- the callback
def probe_config_from(settings: Any) -> ProbeConfig:
    """A :class:`ProbeConfig` from a worker's settings object (e.g. ``rl.worker.WorkerConfig``):
    ``probe`` switches it on or off, ``probe_every`` is the weight-sampling interval in
    steps, and any other attribute named like a ProbeConfig field (``dead_init_layer``,
    ``activation_max_per_s``, ...) is taken as is."""
    import dataclasses

    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(ProbeConfig)
              if hasattr(settings, f.name)}
    if hasattr(settings, "probe"):
        values["enabled"] = bool(settings.probe)
    if hasattr(settings, "probe_every") and "weight_every" not in values:
        values["weight_every"] = int(settings.probe_every)
    return ProbeConfig(**values)


def probe_callbacks(settings: Any) -> list[Callback]:
    """The probe's entry in ``rl.worker.default_callbacks``: a :class:`ProbeCallback`
    configured from the worker's settings, or nothing when the probe is switched off."""
    config = probe_config_from(settings)
    return [ProbeCallback(config)] if config.enabled else []


class ProbeCallback(Callback):
    """Runs a :class:`Probe` on the worker's network through the callback seam.

    It drives the probe's schedule itself (``count_passes=False``), so no hook at all sits
    on the network between samples: after a step that is due it arms the capture of the
    next acting pass, after an optimisation step that is due the capture of the next
    backward pass, and every ``weight_every`` steps it copies the weights. It publishes
    at most every ``publish_every_s`` seconds -- sooner when a buffer is full, later when
    publishing would take more than ``max_publish_share`` of the time -- and once more
    when training ends or pauses. A failure inside the probe is reported once on stderr,
    detaches the probe and never stops training.
    """

    def __init__(self, config: ProbeConfig | None = None) -> None:
        self.config = config or ProbeConfig()
        self.probe: Probe | None = None
        self._next_publish = self._earliest_publish = 0.0
        self._seen_samples = 0

    def on_training_start(self, ctx: RunContext) -> None:
        if not self.config.enabled:
            return
        if self.config.dead_init_layer:
            plant_dead_layer(ctx.network, self.config.dead_init_layer, self.config.dead_init_bias)
        self.probe = Probe(self.config).attach(ctx.network, count_passes=False)
        self.probe.step = ctx.step
        ctx.store.put(T.PROBE_CONFIG, {**self.config.to_dict(), "v": T.SCHEMA_VERSION,
                                       "layers": [{"name": w.name, "activation": w.activation, "hidden": w.hidden}
                                                  for w in self.probe.layers]})
        self.probe.sample_weights()
        self.probe.arm_activations()  # the first acting pass is always sampled
        self._next_publish = time.monotonic() + self.config.publish_every_s

    def on_step(self, ctx: RunContext, step: StepInfo) -> bool:
        probe = self.probe
        if probe is None:
            return True
        n = probe.step = step.step
        if probe.samples != self._seen_samples:  # this step's acting pass was sampled
            self._seen_samples = probe.samples
            probe.stamp_last_sample(n)
            probe.last_action = int(step.action)
        config = self.config
        if n % config.activation_every == 0 and probe.activation_due():
            probe.arm_activations()
        if n % config.weight_every == 0 and probe.weight_due():
            self._guard(probe.sample_weights)
        now = time.monotonic()
        if now >= self._next_publish or (probe.full and now >= self._earliest_publish):
            self._publish(ctx)
        return True

    def _publish(self, ctx: RunContext) -> None:
        started = time.monotonic()
        self._guard(lambda: self.probe.publish(ctx.store))
        # publishing may take max_publish_share of the time: a slow publish pushes the next
        # one back, even when a full buffer asks for it (samples are dropped meanwhile)
        self._earliest_publish = started + (time.monotonic() - started) / self.config.max_publish_share
        self._next_publish = max(started + self.config.publish_every_s, self._earliest_publish)

    def on_update(self, ctx: RunContext, update: UpdateInfo) -> None:
        probe = self.probe
        if probe is None:
            return
        probe.note_update(update.step)
        if probe.updates % self.config.gradient_every == 0 and probe.gradient_due():
            probe.arm_gradients()

    def flush(self, ctx: RunContext) -> None:
        """Publish now (the worker calls this before it pauses, so the dashboard shows
        the state it is paused on)."""
        if self.probe is not None:
            self._publish(ctx)

    def on_training_end(self, ctx: RunContext) -> None:
        if self.probe is None:
            return
        self._guard(lambda: self.probe.publish(ctx.store))
        if self.probe is not None:
            self.probe.detach()

    def _guard(self, fn) -> None:
        try:
            fn()
        except Exception as exc:  # a diagnostic must never stop training
            print(f"neurodash: probe disabled for this run: {type(exc).__name__}: {exc}", file=sys.stderr)
            if self.probe is not None:
                self.probe.detach()
            self.probe = None
