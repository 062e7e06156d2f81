"""Normalisation layers (LayerNorm, BatchNorm) read back from a state dict and applied as
PyTorch applies them in eval mode, so a rebuilt network's forward pass is the real one.

What the tensors of a prefix ``P`` say:

* ``P.running_mean`` and ``P.running_var`` (with or without ``P.weight``/``P.bias``): a
  BatchNorm; in eval mode it normalises with those running statistics;
* ``P.weight`` and ``P.bias``, no running statistics: a LayerNorm over the layer's
  features (a BatchNorm built with ``track_running_stats=False`` stores the same and is
  read as a LayerNorm -- such a BatchNorm is rare in reinforcement learning);
* ``P.weight`` alone: an RMSNorm or a LayerNorm without bias -- which one cannot be told
  from the weights, so the network's forward pass is declared unknown.

``eps`` is not stored in a state dict; PyTorch's default (1e-5 for both) is assumed.

A normalisation belongs to the layer just before it in the state dict (same name scope,
same width). Where it sits -- between the layer and its activation (Linear -> Norm ->
ReLU, the usual block) or after the activation (Linear -> ReLU -> Norm) -- is read from
``nn.Sequential`` numbering: a gap (``0`` then ``2``) is a parameter-free module between
them, taken to be the activation. Named modules (``fc1``, ``ln1``) give no such hint and
are taken as Linear -> Norm -> activation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["NORM_EPS", "NORM_PARTS", "Norm", "norm_prefix", "read_norm"]

#: PyTorch's default eps of nn.LayerNorm and nn.BatchNorm1d (not stored in a state dict).
NORM_EPS = 1e-5
_BATCH_KEYS = ("running_mean", "running_var", "num_batches_tracked")
#: the tensors a normalisation layer keeps in a state dict, after its prefix
NORM_PARTS = ("weight", "bias", *_BATCH_KEYS)


@dataclass
class Norm:
    """One normalisation layer: ``kind`` "layer_norm" or "batch_norm"; its affine
    ``weight``/``bias`` (None when it has none) and a BatchNorm's running statistics.
    ``after_activation``: it normalises the activation's output rather than the layer's."""

    name: str
    kind: str
    size: int
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    running_mean: np.ndarray | None = None
    running_var: np.ndarray | None = None
    after_activation: bool = False
    eps: float = NORM_EPS

    def apply(self, x):
        """The normalised ``x`` (a torch tensor, samples x features), as in eval mode."""
        import torch
        import torch.nn.functional as F

        w = None if self.weight is None else torch.from_numpy(self.weight)
        b = None if self.bias is None else torch.from_numpy(self.bias)
        if self.kind == "batch_norm":
            assert self.running_mean is not None and self.running_var is not None  # read_norm sets both
            mean, var = torch.from_numpy(self.running_mean), torch.from_numpy(self.running_var)
            return F.batch_norm(x, mean, var, w, b, training=False, eps=self.eps)
        return F.layer_norm(x, (self.size,), w, b, eps=self.eps)


def norm_prefix(key: str, state_dict: Mapping[str, Any]) -> str | None:
    """The prefix of a normalisation layer ``key`` belongs to, or None: a 1-D ``.weight``,
    or a BatchNorm's running statistic."""
    value = state_dict[key]
    if key.endswith(".weight") or key == "weight":
        return key[: -len("weight")].rstrip(".") if getattr(value, "dim", lambda: 0)() == 1 else None
    for suffix in _BATCH_KEYS:
        if key.endswith("." + suffix):
            return key[: -len(suffix) - 1]
    return None


def _vector(state_dict: Mapping[str, Any], key: str) -> np.ndarray | None:
    value = state_dict.get(key)
    if value is None or not hasattr(value, "dim") or value.dim() != 1 or not value.is_floating_point():
        return None
    return value.detach().to("cpu").float().numpy().copy()


def _scope_and_index(name: str) -> tuple[str, int | None]:
    scope, _, last = name.rpartition(".")
    return scope, int(last) if last.isdigit() else None


def read_norm(prefix: str, state_dict: Mapping[str, Any], previous: tuple[str, int] | None) -> tuple[Norm | None, str]:
    """The normalisation layer at ``prefix``, attached to ``previous`` = (name, width) of the
    layer before it; or (None, why it cannot be rebuilt)."""
    key = f"{prefix}." if prefix else ""
    weight, bias = _vector(state_dict, key + "weight"), _vector(state_dict, key + "bias")
    mean, var = _vector(state_dict, key + "running_mean"), _vector(state_dict, key + "running_var")
    sizes = {v.shape[0] for v in (weight, bias, mean, var) if v is not None}
    label = f"normalisation layer {prefix or '(unnamed)'}"
    if len(sizes) != 1:
        return None, f"{label} has tensors of different sizes"
    size = sizes.pop()
    if (mean is None) != (var is None):
        return None, f"{label} has only one of running_mean and running_var"
    if mean is None and bias is None:
        return None, (
            f"{label} has a scale but no shift or running statistics (an RMSNorm or a LayerNorm "
            "without bias: which one cannot be told from the weights)"
        )
    if previous is None or previous[1] != size:
        return None, f"{label} ({size} features) does not follow a layer of that width"
    scope, index = _scope_and_index(prefix)
    prev_scope, prev_index = _scope_and_index(previous[0])
    if scope != prev_scope:
        return None, f"{label} does not follow a layer in its own part of the network"
    after = index is not None and prev_index is not None and index - prev_index >= 2
    kind = "batch_norm" if mean is not None else "layer_norm"
    return Norm(prefix, kind, size, weight, bias, mean, var, after_activation=after), ""
