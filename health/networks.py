"""Rebuild networks from their weights alone (no user code is ever imported).

A checkpoint only holds named tensors. Here each ``<prefix>.weight`` tensor becomes one
layer: a 2-D weight is a Linear layer (out x in), a 3-D one a Conv1d, a 4-D one a Conv2d;
its bias is ``<prefix>.bias`` when present. A normalisation layer after a Linear one
(LayerNorm, BatchNorm: a 1-D weight, running statistics) is kept with it and applied in
the forward pass (:mod:`health.norms`); one that cannot be rebuilt makes the forward pass
unknown. Everything else (``log_std`` and the like) is listed as ignored, never guessed at.

For the activation-based dead-neuron check we also need to know which layer feeds which.
That is worked out from the shapes, in state-dict order (see :func:`derive_graph`); when
it cannot be worked out -- convolutions, whose stride and padding are not stored in the
weights, a layer whose input size no earlier layer produces, or a normalisation layer
that cannot be rebuilt -- the network has no graph and callers fall back to the weight-based check, saying why.

Functions that need torch import it inside, so ``import health`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np

from health.norms import NORM_PARTS, Norm, norm_prefix, read_norm

if TYPE_CHECKING:  # torch is imported inside the functions that need it, so `import health` stays light
    import torch

__all__ = [
    "ACTIVATIONS",
    "Layer",
    "Network",
    "build_network",
    "derive_graph",
    "forward_hidden",
    "group_state_dict",
    "to_torch_module",
]

# Activation functions we can apply in a rebuilt network (name -> description).
ACTIVATIONS = {
    "relu": "ReLU",
    "leaky_relu": "Leaky ReLU (slope 0.01)",
    "elu": "ELU",
    "gelu": "GELU",
    "silu": "SiLU / swish",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "softplus": "softplus",
    "identity": "none (linear)",
}
_ACTIVATION_ALIASES = {
    "": "identity",
    "none": "identity",
    "linear": "identity",
    "leakyrelu": "leaky_relu",
    "swish": "silu",
}


def normalise_activation(name: str | None) -> str | None:
    """Our canonical name for an activation (``"ReLU"`` -> ``"relu"``), or None if unknown."""
    if name is None:
        return "identity"
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    key = _ACTIVATION_ALIASES.get(key, key)
    return key if key in ACTIVATIONS else None


@dataclass
class Layer:
    """One weight layer rebuilt from a state dict.

    ``weight`` is a float32 numpy array in PyTorch's layout: (out, in) for Linear,
    (out_channels, in_channels, k) for Conv1d, (out_channels, in_channels, kh, kw) for
    Conv2d. ``parent`` is the index of the layer feeding this one (-1: the network's
    input; None: unknown, see :attr:`Network.graph_problem`).
    """

    name: str
    kind: str  # "linear" | "conv1d" | "conv2d"
    weight: np.ndarray
    bias: np.ndarray | None = None
    activation: str | None = None  # applied to this layer's output when it is hidden
    parent: int | None = None
    norm: Norm | None = None  # a normalisation layer that follows it (health.norms)

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.weight.shape)

    @property
    def finite(self) -> bool:
        ok = bool(np.isfinite(self.weight).all())
        if self.bias is not None:
            ok = ok and bool(np.isfinite(self.bias).all())
        return ok


@dataclass
class Network:
    """A network rebuilt from weights: its layers in state-dict order, plus what was ignored."""

    name: str
    layers: list[Layer]
    ignored: list[tuple[str, tuple[int, ...], str]] = field(default_factory=list)
    graph_problem: str | None = None  # why the layer graph is unknown (None: it is known)

    @property
    def has_graph(self) -> bool:
        return self.graph_problem is None and bool(self.layers)

    @property
    def input_size(self) -> int | None:
        if not self.layers or self.layers[0].kind != "linear":
            return None
        return self.layers[0].in_features

    def hidden_indices(self) -> list[int]:
        """Layers whose outputs feed another layer (their units are the hidden neurons).

        With a known graph: every layer some other layer reads from. Without one: every
        layer but the last (in state-dict order), the usual layout of a feed-forward net.
        """
        if self.has_graph:
            parents = {layer.parent for layer in self.layers}
            return [i for i in range(len(self.layers)) if i in parents]
        return list(range(len(self.layers) - 1))


def _to_numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().to("cpu").float().numpy().copy()


def _is_float_tensor(value: Any) -> TypeGuard[torch.Tensor]:
    import torch

    return isinstance(value, torch.Tensor) and value.is_floating_point()


def _scope(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def build_network(
    name: str,
    state_dict: Mapping[str, Any],
    activations: Mapping[str, str] | None = None,
    default_activation: str = "relu",
) -> Network:
    """Rebuild one network from a state dict (names -> tensors).

    ``activations`` maps layer names to activation names (our checkpoints record them);
    layers not in it get ``default_activation``.
    """
    activations = dict(activations or {})
    layers: list[Layer] = []
    ignored: list[tuple[str, tuple[int, ...], str]] = []
    used: set[str] = set()
    norm_problems: list[str] = []
    keys = [k for k in state_dict if isinstance(k, str)]
    for key in keys:
        value = state_dict[key]
        if not _is_float_tensor(value) or key in used:
            continue
        prefix = norm_prefix(key, state_dict)
        if prefix is not None:
            _add_norm(prefix, state_dict, layers, ignored, used, norm_problems)
            continue
        if key == "weight" or key.endswith(".weight"):
            prefix = key[: -len("weight")].rstrip(".")
            dims = value.dim()
            kind = {2: "linear", 3: "conv1d", 4: "conv2d"}.get(dims)
            if kind is None:
                ignored.append((key, tuple(value.shape), f"{dims}-D weight, not a Linear/Conv1d/Conv2d layer"))
                used.add(key)
                continue
            if min(value.shape) == 0:
                ignored.append((key, tuple(value.shape), "empty weight"))
                used.add(key)
                continue
            bias_key = f"{prefix}.bias" if prefix else "bias"
            bias = state_dict.get(bias_key)
            bias_np = None
            if _is_float_tensor(bias) and bias.dim() == 1 and bias.shape[0] == value.shape[0]:
                bias_np = _to_numpy(bias)
                used.add(bias_key)
            layer_name = prefix or name
            act = normalise_activation(activations[layer_name]) if layer_name in activations else None
            if act is None:
                act = normalise_activation(default_activation) or "relu"
            layers.append(Layer(layer_name, kind, _to_numpy(value), bias_np, act))
            used.add(key)
    for key in keys:
        value = state_dict[key]
        if key in used or not hasattr(value, "shape"):
            continue
        ignored.append((key, tuple(int(s) for s in value.shape), "not a layer weight"))
    network = Network(name=name, layers=layers, ignored=ignored)
    derive_graph(network)
    if norm_problems and network.graph_problem is None:
        network.graph_problem = norm_problems[0]
        for layer in layers:
            layer.parent = None
    return network


def _add_norm(
    prefix: str,
    state_dict: Mapping[str, Any],
    layers: list[Layer],
    ignored: list[tuple[str, tuple[int, ...], str]],
    used: set[str],
    problems: list[str],
) -> None:
    """Attach the normalisation layer at ``prefix`` to the Linear layer before it, or list
    its tensors as ignored (after a convolution, whose forward pass is unknown anyway) and
    say in ``problems`` why it could not be rebuilt."""
    names = [f"{prefix}.{part}" if prefix else part for part in NORM_PARTS]
    keys = [k for k in names if k in state_dict and k not in used]
    used.update(keys)
    last = layers[-1] if layers else None
    if last is not None and last.kind != "linear":
        why = "a normalisation layer after a convolution (not used)"
        ignored.extend((k, tuple(int(s) for s in state_dict[k].shape), why) for k in keys)
        return
    previous = None if last is None or last.norm is not None else (last.name, last.out_features)
    norm, problem = read_norm(prefix, state_dict, previous)
    if norm is None:
        problems.append(problem)
        ignored.extend((k, tuple(int(s) for s in state_dict[k].shape), problem) for k in keys)
        return
    assert last is not None  # read_norm only attaches to an existing layer
    last.norm = norm


def derive_graph(network: Network) -> None:
    """Work out which layer feeds which, from the shapes, in state-dict order.

    Rules for layer i (all layers must be Linear):
      1. the most recent earlier layer in the same name scope (``critic.qf0`` for
         ``critic.qf0.2``) whose output size equals i's input size;
      2. else, when i is the first layer of its scope and takes the network's input size,
         the network input (a second Q-head, for example);
      3. else the most recent earlier layer of matching output size (a head such as
         ``mu`` after ``latent_pi.2``);
      4. else the network input, when the sizes match;
      otherwise the graph is unknown and ``network.graph_problem`` says why.
    """
    layers = network.layers
    network.graph_problem = None
    if not layers:
        network.graph_problem = "the network has no weight layers"
        return
    if any(layer.kind != "linear" for layer in layers):
        for layer in layers:
            layer.parent = None
        network.graph_problem = "it has convolution layers, whose stride and padding are not stored in the weights"
        return
    input_size = layers[0].in_features
    layers[0].parent = -1
    for i in range(1, len(layers)):
        layer = layers[i]
        scope = _scope(layer.name)
        matches = [j for j in range(i) if layers[j].out_features == layer.in_features]
        same_scope = [j for j in matches if _scope(layers[j].name) == scope]
        first_in_scope = not any(_scope(layers[j].name) == scope for j in range(i))
        if same_scope:
            layer.parent = same_scope[-1]
        elif first_in_scope and scope and layer.in_features == input_size:
            layer.parent = -1
        elif matches:
            layer.parent = matches[-1]
        elif layer.in_features == input_size:
            layer.parent = -1
        else:
            for other in layers:
                other.parent = None
            network.graph_problem = (
                f"layer {layer.name} takes {layer.in_features} inputs, which neither the "
                f"network input ({input_size}) nor any earlier layer provides"
            )
            return


def group_state_dict(state_dict: Mapping[str, Any], *, sb3: bool = False) -> dict[str, dict[str, Any]]:
    """Split one flat state dict into named networks.

    A flat dict whose weight keys all look like ``<module>.<layer>.weight`` (three or
    more parts, e.g. CleanRL's ``network.0.weight`` or ``actor.0.weight`` +
    ``critic.0.weight``) is split by its first part; otherwise (``fc1.weight``,
    ``0.weight``) it is one network called ``model``.

    With ``sb3=True`` (a Stable-Baselines3 ``policy.pth``) it is always split by the
    first part (``q_net``, ``q_net_target``, ``actor``, ``critic``, ``critic_target``,
    ...), except that an actor-critic policy's ``mlp_extractor.policy_net`` +
    ``action_net`` become ``policy`` and ``mlp_extractor.value_net`` + ``value_net``
    become ``value``, so each network reads as one chain.
    """
    keys = [k for k in state_dict if isinstance(k, str)]
    weight_keys = [k for k in keys if k.endswith(".weight") or k == "weight"]
    if not sb3 and (not weight_keys or any(len(k.split(".")) < 3 for k in weight_keys)):
        return {"model": {k: state_dict[k] for k in keys}}
    groups: dict[str, dict[str, Any]] = {}
    for key in keys:
        parts = key.split(".")
        if len(parts) < 2:
            group, inner = "model", key
        elif sb3 and parts[0] == "mlp_extractor" and len(parts) >= 3 and parts[1] in ("policy_net", "value_net"):
            group = "policy" if parts[1] == "policy_net" else "value"
            inner = ".".join(parts[1:])
        elif sb3 and parts[0] == "action_net":
            group, inner = "policy", key
        elif sb3 and parts[0] == "value_net":
            group, inner = "value", key
        else:
            group, inner = parts[0], ".".join(parts[1:])
        groups.setdefault(group, {})[inner] = state_dict[key]
    return groups


def to_torch_module(layers: list[Layer]):
    """A torch module whose children ``layer0``, ``layer1``, ... hold the given layers'
    weights (Linear/Conv1d/Conv2d), in order. It is only for WeightWatcher to read; its
    forward() is not meant to be called."""
    import torch
    from torch import nn

    module = nn.Module()
    for i, layer in enumerate(layers):
        w = torch.from_numpy(np.ascontiguousarray(layer.weight, dtype=np.float32))
        has_bias = layer.bias is not None
        child: nn.Linear | nn.Conv1d | nn.Conv2d
        if layer.kind == "linear":
            child = nn.Linear(layer.in_features, layer.out_features, bias=has_bias)
        elif layer.kind == "conv1d":
            child = nn.Conv1d(layer.in_features, layer.out_features, layer.shape[2], bias=has_bias)
        else:
            child = nn.Conv2d(layer.in_features, layer.out_features, (layer.shape[2], layer.shape[3]), bias=has_bias)
        with torch.no_grad():
            child.weight.copy_(w)
            if child.bias is not None:  # built with bias=has_bias: there is one exactly when the layer has one
                child.bias.copy_(torch.from_numpy(np.ascontiguousarray(layer.bias, dtype=np.float32)))
        module.add_module(f"layer{i}", child)
    return module


def _apply_activation(name: str, x):
    import torch
    import torch.nn.functional as F

    if name == "relu":
        return torch.relu(x)
    if name == "leaky_relu":
        return F.leaky_relu(x, 0.01)
    if name == "elu":
        return F.elu(x)
    if name == "gelu":
        return F.gelu(x)
    if name == "silu":
        return F.silu(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "softplus":
        return F.softplus(x)
    return x


def forward_hidden(network: Network, inputs: np.ndarray) -> dict[int, np.ndarray]:
    """Run ``inputs`` (n_samples x input size) through the rebuilt network and return the
    post-activation outputs of every hidden layer, keyed by layer index (float64 arrays
    of shape n_samples x units). Normalisation layers are applied where they sit (eval
    mode); one after the activation is applied to what the next layer reads, not to the
    output judged here. Requires a known graph."""
    import torch

    if not network.has_graph:
        raise ValueError(f"network {network.name}: layer graph unknown ({network.graph_problem})")
    hidden = set(network.hidden_indices())
    x = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
    outputs: dict[int, Any] = {}  # what the layers after it read
    judged: dict[int, Any] = {}  # its units' outputs (after the activation, before a norm that follows it)
    with torch.no_grad():
        for i, layer in enumerate(network.layers):
            parent = layer.parent
            # derive_graph gives every layer a parent (-1 or an earlier index) whenever the graph is known
            assert parent is not None, f"layer {layer.name} has no parent in a known graph"
            source = x if parent == -1 else outputs[parent]
            w = torch.from_numpy(np.ascontiguousarray(layer.weight, dtype=np.float32))
            b = None if layer.bias is None else torch.from_numpy(np.ascontiguousarray(layer.bias, dtype=np.float32))
            z = torch.nn.functional.linear(source, w, b)
            norm = layer.norm
            if norm is not None and not norm.after_activation:
                z = norm.apply(z)
            if i in hidden:
                z = _apply_activation(layer.activation or "relu", z)
            judged[i] = z
            outputs[i] = norm.apply(z) if norm is not None and norm.after_activation else z
    return {i: judged[i].double().numpy() for i in sorted(hidden)}
