"""The probe's hooks and capture buffers: copies of sampled activations, gradients and
weights of one network, kept in preallocated tensors until the next publish.

On the per-step path nothing runs but a count (or, when a driver schedules the samples
itself, nothing at all); a sampled pass copies a detached tensor into a ring buffer or a
buffer row. What the buffers hold is turned into statistics by :mod:`rl.probe.stats`.

* **activations** -- on the *acting* forward pass (under ``torch.no_grad()``, a batch of
  at most ``acting_batch_max`` states: the pass that chooses the action; replay-batch
  passes are ignored), each hidden layer's output and the network's output go into a
  ring of the last ``history`` samples;
* **gradients** -- on a sampled backward pass, each parameter's gradient as it is first
  accumulated (post-accumulate-grad hooks), so a later backward through the same network
  on behalf of another (an actor's loss through a critic) is not mistaken for its own;
* **weights** -- every layer's weights copied side by side into a row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from rl.layers import ProbeError, WatchedLayer, discover_layers
from rl.probe.config import ProbeConfig
from rl.schedule import Sampler


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


class Capture:
    """Hooks on one network and the buffers they fill; see the module docstring.

    ``step`` is the environment step, kept up to date by whoever drives the capture, so
    samples carry it. Samplers (``activation_sampler`` and so on) decide which passes are
    sampled: the permanent hook of ``count_passes`` mode asks them, or a driver does.
    """

    #: memory the copies of pending gradient and weight samples may take (each)
    PENDING_BYTES = 32 * 2**20
    #: at most this many gradient / weight samples wait for a publish
    MAX_PENDING = 64

    def __init__(self, config: ProbeConfig) -> None:
        self.config = config
        self.network: nn.Module | None = None
        self.layers: list[WatchedLayer] = []
        self.step = 0
        self.activation_sampler = Sampler(config.activation_every, config.activation_max_per_s)
        self.gradient_sampler = Sampler(config.gradient_every, config.gradient_max_per_s)
        self.weight_sampler = Sampler(config.weight_every, config.weight_max_per_s)
        self._permanent: list[Any] = []  # the one hook of count_passes mode
        self._capture_handles: list[Any] = []  # hooks of the pass being sampled
        self._grad_handles: list[Any] = []  # hooks of the backward being sampled
        self._act_hooks: list[tuple[nn.Module, Any]] = []
        self._grad_hooks: list[tuple[nn.Parameter, Any]] = []
        # activations: a ring of the last `history` samples per hidden layer and of the output
        self._acting_calls = 0
        self._slot = 0
        self.samples = 0  # acting samples taken so far
        self.taken = 0  # samples already turned into records
        self._rings: list[torch.Tensor | None] = []
        self._output_ring: torch.Tensor | None = None
        self.input: torch.Tensor | None = None
        self._sample_steps = np.zeros(config.history, dtype=np.int64)
        # gradients: a sampled backward copies each p.grad into a row of one buffer
        self.updates = 0  # optimisation steps of this network seen so far
        self._grad_armed = False
        self._grad_params: list[tuple[int, nn.Parameter, int, int]] = []  # (layer, param, start, end)
        self._grad_buf = torch.zeros(0)
        self._grad_seen: list[list[bool]] = []
        self._grad_meta: list[tuple[int, int]] = []  # (step, update) per pending row
        self.dropped_gradient_samples = 0
        # weights: a sample copies every layer's weight into a row of one buffer
        self._weight_slices: list[tuple[int, int]] = []
        self._weight_buf = torch.zeros(0)
        self._weight_meta: list[tuple[int, int]] = []  # (step, updates since the previous sample)
        self._weight_prev: torch.Tensor | None = None
        self._updates_at_weights = 0
        self.dropped_weight_samples = 0
        self._grad_slots = self._weight_slots = 0
        self.attached = False
        #: a buffer is full: publish soon, or further samples are lost
        self.full = False

    # ---- attach / detach
    def attach(self, network: nn.Module, *, count_passes: bool = True) -> Capture:
        """Watch ``network``. Raises :class:`~rl.layers.ProbeError` when it has no layers.

        Capturing hooks are installed only for a sampled pass and removed right after it.
        With ``count_passes=True`` (any training loop) one permanent forward pre-hook counts
        acting and training passes and arms the capture on the samplers' schedule; with
        ``count_passes=False`` nothing stays installed and a driver calls
        :meth:`arm_activations` / :meth:`arm_gradients` itself (the worker's
        ``ProbeCallback`` does), so a pass that is not sampled costs nothing at all.
        """
        if self.attached:
            self.detach()
        layers = discover_layers(network)
        if not layers:
            raise ProbeError(f"{type(network).__name__} has no Linear or Conv layers to watch")
        self.network, self.layers = network, layers
        self._rings = [None] * len(layers)
        self._act_hooks = [
            (layer.act_module, self._activation_hook(i))
            for i, layer in enumerate(layers)
            if layer.hidden and layer.act_module is not None
        ]
        self._grad_params, offset = [], 0
        for i, layer in enumerate(layers):
            for p in layer.module.parameters(recurse=False):
                if p.requires_grad:
                    self._grad_params.append((i, p, offset, offset + p.numel()))
                    offset += p.numel()
        self._grad_hooks = [
            (p, self._gradient_hook(j, start)) for j, (_, p, start, _end) in enumerate(self._grad_params)
        ]
        self._grad_buf = torch.zeros(self._slots(offset), max(offset, 1))
        self._weight_slices, offset = [], 0
        for layer in layers:
            n = layer.weight.numel()
            self._weight_slices.append((offset, offset + n))
            offset += n
        self._weight_buf = torch.zeros(self._slots(offset), offset)
        self._grad_slots, self._weight_slots = self._grad_buf.shape[0], self._weight_buf.shape[0]
        self.attached = True
        if count_passes:
            self._permanent.append(network.register_forward_pre_hook(self._on_forward_pre))
        return self

    def _slots(self, numbers: int) -> int:
        return int(max(1, min(self.MAX_PENDING, self.PENDING_BYTES // max(4 * numbers, 1))))

    def detach(self) -> None:
        """Remove every hook; the network runs exactly as without the probe."""
        self._disarm_capture()
        self._disarm_gradients()
        for handle in self._permanent:
            handle.remove()
        self._permanent = []
        self.attached = False

    def _disarm_capture(self) -> None:
        for handle in self._capture_handles:
            handle.remove()
        self._capture_handles = []

    def _disarm_gradients(self) -> None:
        self._grad_armed = False
        for handle in self._grad_handles:
            handle.remove()
        self._grad_handles = []

    # ---- arming (what the permanent hook does on its schedule, or a driver calls)
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
        """One optimisation step of this network happened (a driver calls this after each;
        with ``count_passes`` the forward passes with gradients are counted instead). A
        gradient capture armed before it is complete now."""
        self.updates += 1
        if step is not None:
            self.step = step
        if self._grad_armed and any(self._grad_seen[-1]):
            self._grad_meta[-1] = (self.step, self.updates)
            self._disarm_gradients()

    def stamp_last_sample(self, step: int) -> None:
        """Record the environment step of the newest activation sample (a driver that
        learns the step only after the acting pass calls this)."""
        if self.samples:
            self._sample_steps[(self._slot - 1) % self.config.history] = step

    # ---- hooks (the hot path: count, and on sampled passes copy)
    def _on_forward_pre(self, module, args) -> None:
        """The permanent hook of ``count_passes`` mode: counts passes, arms captures."""
        if self._capture_handles:  # a sampled pass that never finished (it raised)
            self._disarm_capture()
        if torch.is_grad_enabled():  # a training forward pass: maybe sample its backward
            if self._grad_armed:
                self._disarm_gradients()
            if self.gradient_sampler.ready(self.updates + 1):
                self.arm_gradients()  # for this pass's backward: booked as update number updates + 1
            self.updates += 1
            return
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor) or (x.dim() > 1 and x.shape[0] > self.config.acting_batch_max):
            return  # e.g. Double DQN's argmax over a replay batch: not an acting pass
        self._acting_calls += 1
        if self.activation_sampler.ready(self._acting_calls):
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
        if self.input is None or self.input.shape != row.shape:
            self.input = torch.zeros(row.shape)
        self.input.copy_(row)
        # capture this one pass: hooks on the activation modules and on the output
        self._capture_handles += [m.register_forward_hook(fn) for m, fn in self._act_hooks]
        self._capture_handles.append(module.register_forward_hook(self._on_forward))

    def _activation_hook(self, index: int):
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
            if self._output_ring is None or self._output_ring.shape[1] != row.shape[0]:
                self._output_ring = torch.zeros(self.config.history, row.shape[0])
            self._output_ring[self._slot].copy_(row)
        self._sample_steps[self._slot] = self.step
        self._slot = (self._slot + 1) % self.config.history
        self.samples += 1
        if self.samples - self.taken >= self.config.history:
            self.full = True
        self._disarm_capture()

    def _gradient_hook(self, pindex: int, start: int):
        def hook(param: torch.Tensor) -> None:
            if not self._grad_armed or param.grad is None:
                return
            row = len(self._grad_meta) - 1
            if self._grad_seen[row][pindex]:
                return  # its own backward has been caught; a later one is another loss's
            self._grad_buf[row, start : start + param.numel()].copy_(param.grad.detach().reshape(-1))
            self._grad_seen[row][pindex] = True

        return hook

    # ---- weights
    def sample_weights(self) -> None:
        """Copy every layer's weights into the pending buffer (statistics come at publish)."""
        if not self.attached:
            return
        row = len(self._weight_meta)
        if row >= self._weight_slots:
            self.dropped_weight_samples += 1
            self.full = True
            return
        buf = self._weight_buf[row]
        with torch.no_grad():
            for layer, (a, b) in zip(self.layers, self._weight_slices):
                buf[a:b].copy_(layer.weight.detach().reshape(-1))
        self._weight_meta.append((self.step, self.updates - self._updates_at_weights))
        self._updates_at_weights = self.updates
        if len(self._weight_meta) >= self._weight_slots:
            self.full = True

    # ---- what the buffers hold (read by the probe at publish time)
    def recent(self, ring: torch.Tensor, count: int) -> torch.Tensor:
        """The newest ``count`` rows of a ring buffer, oldest first."""
        n = self.config.history
        count = min(count, n, self.samples)
        start = self._slot - count
        if start >= 0:
            return ring[start : self._slot]
        return torch.cat([ring[n + start :], ring[: self._slot]])

    def activation_rings(self) -> list[tuple[WatchedLayer, torch.Tensor]]:
        """Each hidden layer that has been sampled, with its ring of activations."""
        return [(layer, ring) for layer, ring in zip(self.layers, self._rings) if layer.hidden and ring is not None]

    @property
    def output_ring(self) -> torch.Tensor | None:
        return self._output_ring

    @property
    def last_slot(self) -> int:
        return (self._slot - 1) % self.config.history

    def sample_step(self, slot: int) -> int:
        return int(self._sample_steps[slot])

    def take_gradients(self) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
        """The complete gradient samples since the last call: (rows, seen (rows, params),
        (step, update) of each); a capture still waiting for its backward stays."""
        if self._grad_armed and self._grad_seen and any(self._grad_seen[-1]):
            self._disarm_gradients()  # its backward pass has run: the sample is complete
        k = len(self._grad_meta) - (1 if self._grad_armed else 0)
        if k <= 0 or not self._grad_params:
            return torch.zeros(0, 0), torch.zeros(0, 0, dtype=torch.bool), []
        rows = self._grad_buf[:k].clone()
        seen = torch.tensor(self._grad_seen[:k], dtype=torch.bool)
        meta = self._grad_meta[:k]
        if self._grad_armed:  # move the armed row to the front of the buffer
            self._grad_buf[0].copy_(self._grad_buf[k])
        self._grad_meta, self._grad_seen = self._grad_meta[k:], self._grad_seen[k:]
        return rows, seen, meta

    @property
    def gradient_params(self) -> list[tuple[int, int, int]]:
        """(layer index, start, end) of each watched parameter's columns in a gradient row."""
        return [(li, a, b) for li, _p, a, b in self._grad_params]

    def take_weights(self) -> tuple[torch.Tensor, torch.Tensor | None, list[tuple[int, int]]]:
        """The weight samples since the last call: (rows, the sample before the first of
        them or None, (step, updates since the previous sample) of each)."""
        k = len(self._weight_meta)
        if k == 0:
            return torch.zeros(0, 0), self._weight_prev, []
        rows, previous, meta = self._weight_buf[:k].clone(), self._weight_prev, self._weight_meta
        self._weight_prev = rows[k - 1].clone()
        self._weight_meta = []
        return rows, previous, meta

    @property
    def weight_slices(self) -> list[tuple[int, int]]:
        return list(self._weight_slices)
