"""Which layers a network has, as the probe and the attribution see them: its Linear and
Conv layers, each paired with the elementwise activation module that follows it.

One rule for both: a layer is *hidden* when an activation module (ReLU, Tanh, ...) follows
it before the next layer, in registration order, and its activations are that module's
output; a layer with none after it is an output layer (a DQN's ``q_out``, a dueling
head's ``value_out`` and ``advantage_out``). Activations applied as functions
(``F.relu(x)``) are invisible to module hooks: such a network still gets its gradients
and weights watched, but no activation statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

_ACTIVATION_KINDS: dict[type, str] = {
    nn.ReLU: "relu",
    nn.ReLU6: "relu6",
    nn.LeakyReLU: "leaky_relu",
    nn.PReLU: "prelu",
    nn.RReLU: "rrelu",
    nn.ELU: "elu",
    nn.SELU: "selu",
    nn.CELU: "celu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.Mish: "mish",
    nn.Softplus: "softplus",
    nn.Hardswish: "hardswish",
    nn.Tanh: "tanh",
    nn.Hardtanh: "hardtanh",
    nn.Softsign: "softsign",
    nn.Sigmoid: "sigmoid",
    nn.Hardsigmoid: "hardsigmoid",
}
_LAYER_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


class ProbeError(ValueError):
    """The probe cannot watch this network, or a setting names a layer it does not have
    (with a one-line reason)."""


def activation_kind(module: nn.Module) -> str | None:
    """ "relu", "tanh", ... for an elementwise activation module, else None."""
    for cls in type(module).__mro__:
        if cls in _ACTIVATION_KINDS:
            return _ACTIVATION_KINDS[cls]
    return None


@dataclass
class WatchedLayer:
    """A layer: its weights, gradients and (if hidden) activations."""

    name: str
    module: nn.Module
    activation: str  # "relu", ... ; "linear" for an output layer
    act_module: nn.Module | None  # the activation module whose output is the layer's activation
    hidden: bool

    @property
    def weight(self) -> torch.Tensor:
        """The layer's weight (every Linear and Conv module has one)."""
        weight = self.module.weight
        assert isinstance(weight, torch.Tensor)
        return weight

    @property
    def bias(self) -> torch.Tensor | None:
        bias = getattr(self.module, "bias", None)
        return bias if isinstance(bias, torch.Tensor) else None


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


def hidden_linear_layers(network: nn.Module) -> list[WatchedLayer]:
    """The hidden layers that are Linear (one activation per neuron, no spatial axes)."""
    return [w for w in discover_layers(network) if w.hidden and isinstance(w.module, nn.Linear)]


def plant_dead_layer(network: nn.Module, layer: str, bias: float = -10.0) -> None:
    """Set hidden layer ``layer``'s biases to ``bias`` (the dying-ReLU teaching demo).

    With a strongly negative bias every ReLU of the layer outputs zero for any input, so
    no gradient reaches its weights or anything before it: the neurons stay dead.
    """
    found = {w.name: w for w in discover_layers(network)}
    hidden = [n for n, w in found.items() if w.hidden]
    if layer not in found or not found[layer].hidden:
        raise ProbeError(
            f"dead_init_layer {layer!r} is not a hidden layer of this network; "
            f"choose one of: {', '.join(hidden) or '(none)'}"
        )
    bias_param = found[layer].bias
    if bias_param is None:
        raise ProbeError(f"dead_init_layer {layer!r} has no bias to set")
    with torch.no_grad():
        bias_param.fill_(float(bias))
