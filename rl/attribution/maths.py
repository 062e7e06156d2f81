"""The attribution maths: neuron contributions, saliency, integrated gradients and the
feature response of one state, and :func:`compute_attribution`, all four as one record.

Pure functions of a network and an observation (see the package docstring for what each
answers); every computation runs on a private, hook-free copy of the network.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rl import telemetry as T
from rl.layers import hidden_linear_layers  # the probe's rule for hidden layers, so both name the same

#: Gauss-Legendre nodes for integrated gradients (Captum's default ``n_steps``).
IG_STEPS = 50
#: Points per feature in the feature-response sweep.
RESPONSE_POINTS = 25

#: The attribution method the neuron inspector shows, named in every record.
CONTRIBUTION_METHOD = "gradient x activation"
IG_METHOD = "gausslegendre"


class AttributionError(ValueError):
    """The network or the observation cannot be attributed (with a one-line reason)."""


@dataclass
class HiddenLayer:
    """A Linear layer followed by an activation, as seen in one forward pass."""

    name: str  # the Linear module's name, e.g. "fc1" (the probe uses the same names)
    activation: str
    output: torch.Tensor  # post-activation output, shape (batch, size)


# --------------------------------------------------------------------------- the network
def private_copy(network: nn.Module) -> nn.Module:
    """A deep copy of ``network`` without any hooks, in eval mode, not requiring grad.

    The hook tables are emptied for the duration of the copy (then restored), so the
    probe's hooks -- and whatever objects they close over -- are neither copied nor
    triggered by our extra forward passes.
    """
    stashed = []
    try:
        for module in network.modules():
            for attr, value in list(vars(module).items()):
                if attr.endswith("hooks") and isinstance(value, dict) and value:
                    stashed.append((module, attr, value))
                    setattr(module, attr, type(value)())
        clone = copy.deepcopy(network)
    finally:
        for module, attr, value in stashed:
            setattr(module, attr, value)
    clone.eval()
    clone.requires_grad_(False)
    return clone


def trace_hidden_layers(network: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[HiddenLayer]]:
    """Run ``network(x)`` and return its output and its hidden layers, input to output.

    The hidden layers are ``rl.layers.hidden_linear_layers`` -- the probe's own rule, so
    both name the same layers: a ``Linear`` module followed by an elementwise activation
    module, whose output is the layer's. Linear layers with no activation after them (a
    DQN's ``q_out``, a dueling head's ``value_out``/``advantage_out``) are output layers
    and are not returned.
    """
    hidden = hidden_linear_layers(network)
    outputs: dict[int, torch.Tensor] = {}
    handles = [
        w.act_module.register_forward_hook(lambda _m, _inp, out, k=k: outputs.__setitem__(k, out))
        for k, w in enumerate(hidden)
        if w.act_module is not None
    ]
    try:
        q = network(x)
    finally:
        for handle in handles:
            handle.remove()
    if not isinstance(q, torch.Tensor) or q.dim() != 2:
        raise AttributionError(
            f"the network must return a (batch, actions) tensor, got {type(q).__name__}"
            + (f" of shape {tuple(q.shape)}" if isinstance(q, torch.Tensor) else "")
        )
    return q, [
        HiddenLayer(w.name, w.activation, outputs[k])
        for k, w in enumerate(hidden)
        if isinstance(outputs.get(k), torch.Tensor)
    ]


def _as_batch(obs, n_features: int | None = None) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(obs, dtype=np.float32)).reshape(1, -1)
    if n_features is not None and x.shape[1] != n_features:
        raise AttributionError(f"observation has {x.shape[1]} features, expected {n_features}")
    if not torch.isfinite(x).all():
        raise AttributionError("observation contains NaN or infinite values")
    return x


# --------------------------------------------------------------------------- the maths
def neuron_contributions(network: nn.Module, obs) -> dict:
    """Gradient x activation of every hidden neuron, for every action's Q-value.

    Returns ``{"q": (A,), "layers": [{"name", "activation", "values": (size,),
    "contribution": (A, size)}]}`` as numpy arrays.
    """
    x = _as_batch(obs).requires_grad_(True)
    with torch.enable_grad():
        q, layers = trace_hidden_layers(network, x)
        outputs = [layer.output for layer in layers]
        n_actions = q.shape[1]
        per_action = []
        for a in range(n_actions):
            grads = (
                torch.autograd.grad(q[0, a], outputs, retain_graph=a < n_actions - 1, allow_unused=True)
                if outputs
                else []
            )
            per_action.append(
                [(torch.zeros_like(o) if g is None else g * o)[0].detach().numpy() for g, o in zip(grads, outputs)]
            )
    layers_out: list[dict[str, Any]] = []
    for i, layer in enumerate(layers):
        layers_out.append(
            {
                "name": layer.name,
                "activation": layer.activation,
                "values": layer.output[0].detach().numpy().astype(np.float64),
                "contribution": np.stack([per_action[a][i] for a in range(n_actions)]).astype(np.float64),
            }
        )
    return {"q": q[0].detach().numpy().astype(np.float64), "layers": layers_out}


def saliency(network: nn.Module, obs, targets: Sequence[int] | None = None) -> np.ndarray:
    """``|dQ_a/dx|`` for each target action (default: every action); shape (A, F)."""
    x = _as_batch(obs).requires_grad_(True)
    with torch.enable_grad():
        q = network(x)
        targets = list(range(q.shape[1])) if targets is None else list(targets)
        rows = [torch.autograd.grad(q[0, a], x, retain_graph=True)[0][0].abs() for a in targets]
    return torch.stack(rows).detach().numpy().astype(np.float64)


def gauss_legendre(n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes in [0, 1] and weights summing to 1 for ``n_steps``-point Gauss-Legendre."""
    if n_steps < 1:
        raise AttributionError(f"integrated gradients needs at least 1 step, got {n_steps}")
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    return 0.5 * (1 + nodes), 0.5 * weights


def integrated_gradients(
    network: nn.Module, obs, baseline, targets: Sequence[int] | None = None, n_steps: int = IG_STEPS
) -> np.ndarray:
    """Integrated gradients of Q for each target action; shape (A, F).

    ``(x - b) * sum_k w_k * dQ_a/dx(b + t_k (x - b))`` with Gauss-Legendre nodes ``t_k``
    and weights ``w_k`` -- Captum's ``IntegratedGradients(method="gausslegendre")``.
    All ``n_steps`` points go through the network as one batch.
    """
    x = _as_batch(obs)
    b = _as_batch(baseline, x.shape[1])
    alphas, weights = gauss_legendre(n_steps)
    alphas_t = torch.as_tensor(alphas, dtype=torch.float32).reshape(-1, 1)
    weights_t = torch.as_tensor(weights, dtype=torch.float32).reshape(-1, 1)
    path = (b + alphas_t * (x - b)).requires_grad_(True)
    with torch.enable_grad():
        q = network(path)
        targets = list(range(q.shape[1])) if targets is None else list(targets)
        rows = []
        for a in targets:
            grads = torch.autograd.grad(q[:, a].sum(), path, retain_graph=True)[0]
            rows.append((grads * weights_t).sum(dim=0) * (x - b)[0])
    return torch.stack(rows).detach().numpy().astype(np.float64)


def q_values(network: nn.Module, states) -> np.ndarray:
    """Q per action for a batch of states, shape (N, A)."""
    with torch.no_grad():
        x = torch.as_tensor(np.asarray(states, dtype=np.float32))
        return network(x.reshape(x.shape[0], -1)).numpy().astype(np.float64)


def feature_ranges(recent: np.ndarray, obs) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (low, high) over the recent observations and the current one."""
    x = np.asarray(obs, dtype=np.float64).reshape(-1)
    recent = np.asarray(recent, dtype=np.float64).reshape(-1, x.size) if np.size(recent) else x.reshape(1, -1)
    both = np.vstack([recent, x.reshape(1, -1)])
    return both.min(axis=0), both.max(axis=0)


def feature_response(
    network: nn.Module, obs, low, high, points: int = RESPONSE_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Sweep each feature over ``[low_i, high_i]`` with the others held at ``obs``.

    Returns ``values`` (F, P) and ``q`` (F, P, A). A feature whose range is a single
    value is swept over that one value ``points`` times (its curve is a point).
    All F x P states go through the network as one batch.
    """
    x = np.asarray(obs, dtype=np.float64).reshape(-1)
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    n = x.size
    values = np.linspace(low, high, points, axis=1)  # (F, P)
    states = np.repeat(x.reshape(1, 1, n), n * points, axis=0).reshape(n, points, n)
    for i in range(n):
        states[i, :, i] = values[i]
    q = q_values(network, states.reshape(n * points, n))
    return values, q.reshape(n, points, -1)


# --------------------------------------------------------------------------- the record
def compute_attribution(
    network: nn.Module,
    obs,
    recent_obs=None,
    recent_actions=None,
    *,
    step: int = 0,
    taken: int | None = None,
    ig_steps: int = IG_STEPS,
    baseline: str = "mean",
    response_points: int = RESPONSE_POINTS,
    copy_network: bool = True,
) -> T.AttributionRecord:
    """Everything the network view needs about one state, as a telemetry record.

    ``recent_obs`` (N, F) and ``recent_actions`` (N,) are the recent states and the
    network's greedy actions in them (for the IG baseline, the response ranges and the
    page's correlation heatmap). ``baseline`` is ``"mean"`` (mean recent state) or
    ``"zeros"``.
    """
    net = private_copy(network) if copy_network else network
    x = np.asarray(obs, dtype=np.float32).reshape(-1)
    recent = (
        np.asarray(recent_obs, dtype=np.float32).reshape(-1, x.size)
        if recent_obs is not None and np.size(recent_obs)
        else np.empty((0, x.size), np.float32)
    )
    actions = (
        np.asarray(recent_actions, dtype=np.int64).reshape(-1) if recent_actions is not None else np.empty(0, np.int64)
    )
    if actions.size != recent.shape[0]:
        raise AttributionError(f"{recent.shape[0]} recent observations but {actions.size} recent actions")

    contrib = neuron_contributions(net, x)
    q = contrib["q"]
    greedy = int(np.argmax(q))
    if baseline == "mean":
        base = recent.mean(axis=0) if recent.shape[0] else x.copy()
        baseline_label = f"mean of the last {recent.shape[0]} observed states"
    elif baseline == "zeros":
        base = np.zeros_like(x)
        baseline_label = "all features zero"
    else:
        raise AttributionError(f"unknown baseline {baseline!r}; use 'mean' or 'zeros'")
    ig = integrated_gradients(net, x, base, n_steps=ig_steps)
    q_base = q_values(net, base.reshape(1, -1))[0]
    low, high = feature_ranges(recent, x)
    values, response = feature_response(net, x, low, high, response_points)

    return T.AttributionRecord(
        step=int(step),
        q=[float(v) for v in q],
        action=greedy,
        taken=greedy if taken is None else int(taken),
        input=[float(v) for v in x],
        contribution_method=CONTRIBUTION_METHOD,
        layers=[
            T.AttributionLayer(
                name=layer["name"],
                activation=layer["activation"],
                values=T.encode_array(layer["values"]),
                contribution=T.encode_array(layer["contribution"]),
            )
            for layer in contrib["layers"]
        ],
        saliency=T.encode_array(saliency(net, x)),
        integrated_gradients=T.encode_array(ig),
        ig=T.IntegratedGradientsInfo(
            method=IG_METHOD,
            steps=int(ig_steps),
            baseline=[float(v) for v in base],
            baseline_kind=baseline,
            baseline_label=baseline_label,
            q_baseline=[float(v) for v in q_base],
            # completeness residual: sum_i IG[a, i] - (Q_a(x) - Q_a(baseline))
            delta=[float(v) for v in ig.sum(axis=1) - (q - q_base)],
        ),
        response=T.ResponseSweep(values=T.encode_array(values), q=T.encode_array(response)),
        recent=T.RecentStates(obs=T.encode_array(recent), actions=T.encode_array(actions, dtype="int16")),
    )
