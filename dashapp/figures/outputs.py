"""What a network's output numbers are, in words: Q-values, action logits or a Gaussian
policy -- read from the names the run's ``NetworkInfo`` gives its inputs and outputs.

The agents (``rl/agents``) name them so: a DQN's outputs are the action names, a critic's
``"Q <action>"`` (discrete) or ``"Q"`` (continuous: it is given the action, its last inputs
are ``"action: <name>"``), a discrete actor's ``"logit <action>"`` and a Gaussian actor's
``"mean <name>"`` then ``"log std <name>"``. Every panel that says what an output is
(the graph's column title and note, the canvas's labels, the inspector, the analysis
charts) takes its words from :func:`outputs_of`. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Outputs", "derivative", "outputs_of"]


def derivative(symbol: str) -> str:
    """The differential of ``symbol`` as a formula writes it: "dQ", "d logit"."""
    return f"d{symbol}" if len(symbol) == 1 else f"d {symbol}"


@dataclass(frozen=True)
class Outputs:
    """The words for one network's outputs."""

    kind: str  # "q" | "logits" | "policy"
    column: str  # the output column's title: "Q-values"
    value: str  # one output number: "Q-value"
    symbol: str  # in a formula: |dQ/dx|
    pick: str | None  # what the highest output is, marked on the graph ("best"); None: nothing to mark
    graph: str  # the graph note's words for the output column
    use: str  # what the agent does with the outputs
    takes_action: bool = False  # a critic of continuous actions: the action is among its inputs

    @property
    def d(self) -> str:
        """The differential of one output: "dQ", "d logit"."""
        return derivative(self.symbol)


_Q = Outputs(
    "q",
    "Q-values",
    "Q-value",
    "Q",
    "best",
    "one Q-value per action on the right",
    "the agent takes the action with the highest Q-value",
)
_CRITIC = Outputs(
    "q",
    "Q-value",
    "Q-value",
    "Q",
    None,
    "on the right its Q-value: how good it rates taking the action it is given (the action's "
    "numbers are its last inputs)",
    "the actor learns to choose actions this critic rates highly",
    takes_action=True,
)
_LOGITS = Outputs(
    "logits",
    "action logits",
    "logit",
    "logit",
    "likeliest",
    "one logit per action on the right (the higher it is, the more often the actor picks that action)",
    "the actor picks each action with probability softmax(logits)",
)
_POLICY = Outputs(
    "policy",
    "policy (mean, log std)",
    "output",
    "output",
    None,
    "the policy on the right: for each action number the mean and the log standard deviation of "
    "the Gaussian the actor samples its action from",
    "the actor samples its action from this Gaussian, squashed into the action's range",
)


def outputs_of(output_names: Sequence[object] = (), input_names: Sequence[object] = ()) -> Outputs:
    """The words for a network with these output and input names (unnamed: Q-values)."""
    outputs = [str(n) for n in output_names]
    if any(n.startswith(("mean ", "log std ")) for n in outputs):
        return _POLICY
    if outputs and all(n.startswith("logit ") for n in outputs):
        return _LOGITS
    if any(str(n).startswith("action: ") for n in input_names):
        return _CRITIC
    return _Q
