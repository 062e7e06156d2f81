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
from rl.callbacks import Callback, RunContext, StepInfo


@dataclass
class ProbeConfig:
    """How the probe samples the network. Saved with the run."""

    enabled: bool = True
    """attach the probe at all (False: no hooks are installed, so it costs nothing)"""
    activation_every: int = 10
    """sample the activations of every this many acting forward passes"""
    gradient_every: int = 10
    """sample the gradients of every this many optimisation steps"""
    weight_every: int = 100
    """sample the weights (statistics, histogram, update velocity) every this many environment steps"""
    history: int = 500
    """activation samples kept per neuron (the neuron inspector's window)"""
    publish_every_s: float = 1.0
    """publish the collected samples at most this often, in seconds (and at the end of training)"""
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


def _histogram(values: torch.Tensor, bins: int) -> tuple[list[int], float | None, float | None, int]:
    """Counts over ``bins`` equal bins from min to max of the finite values."""
    finite = values[torch.isfinite(values)]
    nonfinite = int(values.numel() - finite.numel())
    if finite.numel() == 0:
        return [0] * bins, None, None, nonfinite
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts = torch.histc(finite.float(), bins=bins, min=lo, max=hi)
    return [int(c) for c in counts.tolist()], lo, hi, nonfinite


# --------------------------------------------------------------------------- the probe
class Probe:
    """Captures activations, gradients and weights of one network; see the module doc."""

    #: most gradient / weight samples held between two publishes (more are dropped)
    MAX_PENDING = 256
    #: recent gradient norms / weight velocities / Q magnitudes kept for the rules
    RULE_MEMORY = 64

    def __init__(self, config: ProbeConfig | None = None) -> None:
        self.config = config or ProbeConfig()
        self.network: nn.Module | None = None
        self.layers: list[WatchedLayer] = []
        self._handles: list[Any] = []
        self.step = 0  # the environment step, set by whoever drives the probe
        # --- activations (ring buffers, filled by the forward hooks)
        self._acting_calls = 0
        self._capturing = False
        self._slot = 0
        self.samples = 0  # acting samples taken so far
        self._published_samples = 0
        self._rings: list[torch.Tensor | None] = []
        self._q_ring: torch.Tensor | None = None
        self._input: torch.Tensor | None = None
        self._sample_steps = np.zeros(self.config.history, dtype=np.int64)
        # --- gradients
        self.updates = 0  # forward passes with gradients (= optimisation steps for DQN)
        self._grad_armed = False
        self._params: list[tuple[int, nn.Parameter]] = []  # (layer index, parameter)
        self._grad_rows: torch.Tensor | None = None
        self._grad_seen: list[list[bool]] = []
        self._grad_meta: list[tuple[int, int]] = []  # (step, update) per pending row
        self.dropped_gradient_samples = 0
        # --- weights
        self._prev_weights: list[torch.Tensor | None] = []
        self._weight_pending: list[tuple[int, int, torch.Tensor, torch.Tensor]] = []
        self._updates_at_weights = 0
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
        return bool(self._handles)

    def attach(self, network: nn.Module) -> "Probe":
        """Install the hooks on ``network``. Raises :class:`ProbeError` when it has no layers."""
        if self.attached:
            self.detach()
        layers = discover_layers(network)
        if not layers:
            raise ProbeError(f"{type(network).__name__} has no Linear or Conv layers to watch")
        self.network, self.layers = network, layers
        self._rings = [None] * len(layers)
        self._prev_weights = [None] * len(layers)
        self._grad_history = {w.name: deque(maxlen=self.RULE_MEMORY) for w in layers}
        self._velocity_history = {w.name: deque(maxlen=self.RULE_MEMORY) for w in layers}
        h = self._handles
        h.append(network.register_forward_pre_hook(self._on_forward_pre))
        h.append(network.register_forward_hook(self._on_forward))
        for i, layer in enumerate(layers):
            target = layer.act_module if layer.hidden else None
            if target is not None:
                h.append(target.register_forward_hook(self._make_activation_hook(i)))
        self._params = []
        for i, layer in enumerate(layers):
            for p in layer.module.parameters(recurse=False):
                if p.requires_grad:
                    h.append(p.register_post_accumulate_grad_hook(self._make_grad_hook(len(self._params))))
                    self._params.append((i, p))
        self._grad_rows = torch.zeros(self.MAX_PENDING, max(len(self._params), 1), 4)
        return self

    def detach(self) -> None:
        """Remove every hook; the network runs exactly as without the probe."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._capturing = self._grad_armed = False

    # ---- hooks (the hot path: count, and on sampled passes copy)
    def _on_forward_pre(self, module, args) -> None:
        if torch.is_grad_enabled():
            self._close_gradient_sample()
            self.updates += 1
            if self.updates % self.config.gradient_every == 0 and len(self._grad_meta) < self.MAX_PENDING:
                self._grad_armed = True
                self._grad_seen.append([False] * len(self._params))
                self._grad_meta.append((self.step, self.updates))
            elif self.updates % self.config.gradient_every == 0:
                self.dropped_gradient_samples += 1
            self._capturing = False
            return
        x = _first_tensor(args)
        if x is None or (x.dim() > 1 and x.shape[0] > self.config.acting_batch_max):
            self._capturing = False
            return
        self._acting_calls += 1
        if self._acting_calls % self.config.activation_every:
            self._capturing = False
            return
        self._capturing = True
        row = x.detach().reshape(-1) if x.dim() <= 1 else x.detach()[0].reshape(-1)
        if self._input is None or self._input.shape != row.shape:
            self._input = torch.empty_like(row, dtype=torch.float32)
        self._input.copy_(row)

    def _make_activation_hook(self, index: int):
        def hook(module, args, output) -> None:
            if not self._capturing:
                return
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
        if not self._capturing:
            return
        out = _first_tensor(output)
        if out is not None:
            row = _as_rows(out)[0]
            if self._q_ring is None or self._q_ring.shape[1] != row.shape[0]:
                self._q_ring = torch.zeros(self.config.history, row.shape[0])
            self._q_ring[self._slot].copy_(row)
        self._sample_steps[self._slot] = self.step
        self._slot = (self._slot + 1) % self.config.history
        self.samples += 1
        self._capturing = False

    def _make_grad_hook(self, pindex: int):
        def hook(param: torch.Tensor) -> None:
            if not self._grad_armed or param.grad is None:
                return
            g = param.grad.detach()
            a = g.abs()
            row = len(self._grad_meta) - 1
            self._grad_rows[row, pindex] = torch.stack([a.sum(), a.max(), g.sum(), (g * g).sum()]).float()
            self._grad_seen[row][pindex] = True
        return hook

    def _close_gradient_sample(self) -> None:
        self._grad_armed = False

    # ---- weights (sampled: every weight_every steps)
    def sample_weights(self) -> None:
        """Snapshot every layer's weight statistics, histogram and update velocity."""
        if not self.layers:
            return
        if len(self._weight_pending) >= self.MAX_PENDING:
            return
        bins = self.config.weight_bins
        stats, hists = [], []
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                w = layer.module.weight.detach().float()
                flat = w.reshape(-1)
                prev = self._prev_weights[i]
                norm = torch.linalg.vector_norm(flat)
                if prev is None or prev.shape != flat.shape:
                    velocity = torch.tensor(float("nan"))
                    self._prev_weights[i] = flat.clone()
                else:
                    velocity = torch.linalg.vector_norm(flat - prev) / torch.linalg.vector_norm(prev)
                    prev.copy_(flat)
                lo, hi = flat.min(), flat.max()
                span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
                hists.append(torch.histc(flat, bins=bins, min=float(lo), max=float(lo + span)))
                stats.append(torch.stack([
                    flat.mean(), flat.std(unbiased=False) if flat.numel() > 1 else torch.zeros(()),
                    lo, hi, (flat.abs() < TH.LIVE_NEAR_ZERO_WEIGHT).sum().float(), norm,
                    velocity, lo + span]))
        self._weight_pending.append((self.step, self.updates - self._updates_at_weights,
                                     torch.stack(stats), torch.stack(hists)))
        self._updates_at_weights = self.updates

    # ---- publishing (bulk statistics)
    def _ordered(self, ring: torch.Tensor, count: int) -> torch.Tensor:
        """The newest ``count`` rows of a ring buffer, oldest first."""
        n = self.config.history
        count = min(count, n, self.samples)
        idx = (torch.arange(count) + (self._slot - count)) % n
        return ring[idx]

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
            hist, lo, hi, nonfinite = _histogram(fresh.reshape(-1), self.config.activation_bins)
            finite = fresh[torch.isfinite(fresh)]
            if finite.numel():
                mean, std = float(finite.mean()), float(finite.std(unbiased=False))
                mn, mx = float(finite.min()), float(finite.max())
            else:
                mean = std = mn = mx = None
            window = self._ordered(ring, window_n).numpy()
            summary = R.summarize_neurons(window, layer.activation)
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
        self._close_gradient_sample()
        n = len(self._grad_meta)
        if n == 0 or not self._params:
            self._grad_meta, self._grad_seen = [], []
            return []
        rows = self._grad_rows[:n].clone()
        seen = torch.tensor(self._grad_seen, dtype=torch.bool)
        rows[~seen] = 0.0
        counts = torch.tensor([float(p.numel()) for _, p in self._params])
        layer_of = torch.tensor([i for i, _ in self._params])
        n_layers = len(self.layers)
        # sum the per-parameter reductions into per-layer ones, for every pending sample
        s1 = torch.zeros(n, n_layers).index_add_(1, layer_of, rows[:, :, 0])
        mx = torch.zeros(n, n_layers)
        for j in range(n_layers):
            members = (layer_of == j).nonzero().reshape(-1)
            if members.numel():
                mx[:, j] = rows[:, members, 1].amax(dim=1)
        s = torch.zeros(n, n_layers).index_add_(1, layer_of, rows[:, :, 2])
        s2 = torch.zeros(n, n_layers).index_add_(1, layer_of, rows[:, :, 3])
        cnt = torch.zeros(n, n_layers).index_add_(1, layer_of, seen.float() * counts)
        has = cnt > 0
        safe = cnt.clamp(min=1.0)
        mean_abs = s1 / safe
        std = (s2 / safe - (s / safe) ** 2).clamp(min=0.0).sqrt()
        norm = s2.sqrt()
        total = s2.sum(dim=1).sqrt()
        table = torch.stack([norm, mean_abs, mx, std], dim=2).tolist()
        has_l, total_l = has.tolist(), total.tolist()
        records = []
        for k, (step, update) in enumerate(self._grad_meta):
            layers = []
            for j, layer in enumerate(self.layers):
                if not has_l[k][j]:
                    continue
                nrm, mabs, mxv, sd = table[k][j]
                self._grad_history[layer.name].append(nrm)
                layers.append({"name": layer.name, "norm": _finite_or_none(nrm),
                               "mean_abs": _finite_or_none(mabs), "max_abs": _finite_or_none(mxv),
                               "std": _finite_or_none(sd), "finite": math.isfinite(nrm)})
            if layers:  # a sampled forward pass that was never followed by a backward has none
                records.append(T.GradientRecord(step=step, update=update, layers=layers,
                                                total_norm=_finite_or_none(total_l[k])))
        self._grad_meta, self._grad_seen = [], []
        return records

    def _weight_records(self) -> list[T.WeightRecord]:
        if not self._weight_pending:
            return []
        records = []
        for step, updates, stats, hists in self._weight_pending:
            stats_l, hists_l = stats.tolist(), hists.tolist()
            layers = []
            for j, layer in enumerate(self.layers):
                mean, std, lo, hi, near_zero, norm, velocity, top = stats_l[j]
                self._velocity_history[layer.name].append(
                    (velocity if math.isfinite(velocity) else None, updates))
                layers.append({
                    "name": layer.name, "size": int(layer.module.weight.numel()),
                    "mean": _finite_or_none(mean), "std": _finite_or_none(std),
                    "min": _finite_or_none(lo), "max": _finite_or_none(hi),
                    "near_zero": int(near_zero), "norm": _finite_or_none(norm),
                    "velocity": _finite_or_none(velocity),
                    "hist": [int(c) for c in hists_l[j]],
                    "hist_lo": _finite_or_none(lo), "hist_hi": _finite_or_none(top),
                })
            records.append(T.WeightRecord(step=step, updates=int(updates), layers=layers))
        self._weight_pending = []
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
        """
        activations = self._activation_record()
        gradients = self._gradient_records()
        weights = self._weight_records()
        neurons = self._neurons_record() if activations is not None else None
        self._published_samples = self.samples
        checks: list[R.Check] = []
        if activations is not None:
            checks += R.check_activations(activations.layers)
            if self.config.watch_q and self._q_history:
                outputs = [w.name for w in self.layers if not w.hidden]
                checks += R.check_q_values(list(self._q_history), self.config.q_bound,
                                           layer=outputs[-1] if outputs else "output")
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
class ProbeCallback(Callback):
    """Runs a :class:`Probe` on the worker's network through the callback seam.

    Per step it only updates the probe's step counter (and snapshots the weights every
    ``weight_every`` steps); it publishes at most every ``publish_every_s`` seconds and
    once more when training ends. A failure inside the probe is reported once on stderr,
    detaches the probe and never stops training.
    """

    def __init__(self, config: ProbeConfig | None = None) -> None:
        self.config = config or ProbeConfig()
        self.probe: Probe | None = None
        self._last_publish = 0.0
        self._seen_samples = 0

    def on_training_start(self, ctx: RunContext) -> None:
        if not self.config.enabled:
            return
        if self.config.dead_init_layer:
            plant_dead_layer(ctx.network, self.config.dead_init_layer, self.config.dead_init_bias)
        self.probe = Probe(self.config).attach(ctx.network)
        self.probe.step = ctx.step
        self.probe.sample_weights()
        self._last_publish = time.monotonic()

    def on_step(self, ctx: RunContext, step: StepInfo) -> bool:
        probe = self.probe
        if probe is None:
            return True
        probe.step = step.step
        if probe.samples != self._seen_samples:  # the acting pass of this step was sampled
            probe.last_action = int(step.action)
            self._seen_samples = probe.samples
        if step.step % self.config.weight_every == 0:
            self._guard(probe.sample_weights)
        now = time.monotonic()
        if now - self._last_publish >= self.config.publish_every_s:
            self._last_publish = now
            self._guard(lambda: probe.publish(ctx.store))
        return True

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
