"""The fully connected networks every agent builds on: hidden layers with readable names
and named output heads.

Hidden layers are ``fc1, fc2, ...``, each followed by its own ReLU module ``relu1, relu2,
...`` (so a forward hook on ``reluN`` -- the probe's -- sees that layer's post-activation
output); the heads are Linear layers with the names the agent gives them (a DQN's
``q_out``, a dueling network's ``value_out`` and ``advantage_out``, SAC's ``policy_out``,
``logits_out`` and ``q_out``). Checkpoints store the weights under those names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from rl.telemetry import LayerInfo


class MLP(nn.Module):
    """Hidden layers ``fcN`` + ``reluN`` of ``hidden_sizes``, then one Linear head per entry
    of ``heads`` (name -> outputs), all reading the last hidden layer. ``forward`` returns
    the first head's output; :meth:`features` the last hidden layer's. ``hidden_bias``:
    start every hidden layer's biases at this value (None: PyTorch's default init)."""

    def __init__(
        self, n_in: int, hidden_sizes: Sequence[int], heads: Mapping[str, int], hidden_bias: float | None = None
    ) -> None:
        super().__init__()
        if n_in < 1 or not heads or any(n < 1 for n in heads.values()):
            raise ValueError(f"a network needs inputs and outputs, got {n_in} inputs and heads {dict(heads)}")
        self.hidden_names: list[str] = []
        # the lists only keep typed handles, in order, on the modules registered by name
        self._hidden: list[tuple[nn.Linear, nn.ReLU]] = []
        width = int(n_in)
        for i, size in enumerate(hidden_sizes, start=1):
            linear, relu = nn.Linear(width, int(size)), nn.ReLU()
            if hidden_bias is not None:  # drawn weights as usual (the RNG stream is the same), constant biases
                nn.init.constant_(linear.bias, float(hidden_bias))
            self.add_module(f"fc{i}", linear)
            self.add_module(f"relu{i}", relu)
            self._hidden.append((linear, relu))
            self.hidden_names.append(f"fc{i}")
            width = int(size)
        self._heads: dict[str, nn.Linear] = {}
        for name, n_out in heads.items():
            head = nn.Linear(width, int(n_out))
            self.add_module(name, head)
            self._heads[name] = head

    def head(self, name: str) -> nn.Linear:
        return self._heads[name]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's output."""
        for linear, relu in self._hidden:
            x = relu(linear(x))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return next(iter(self._heads.values()))(self.features(x))

    def layer_infos(self) -> list[LayerInfo]:
        """The Linear layers, input to output (the heads last, in order), as the dashboard labels them."""
        infos = [
            LayerInfo(name, linear.in_features, linear.out_features, "relu")
            for name, (linear, _relu) in zip(self.hidden_names, self._hidden)
        ]
        return infos + [LayerInfo(name, h.in_features, h.out_features, "linear") for name, h in self._heads.items()]


def adam(params, lr: float) -> torch.optim.Adam:
    """The Adam optimiser every agent uses: its fused kernel, which updates all parameters in
    one pass (on these small networks about four times faster than the per-parameter loop
    PyTorch uses on the CPU by default; the same maths)."""
    return torch.optim.Adam(params, lr=lr, fused=True)
