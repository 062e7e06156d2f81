"""The names shown for an observation's numbers and an agent's actions, and what is shown
when a name is missing: one place, so every tab, every checkpoint and every environment
agree ("x3", "action 2")."""

from __future__ import annotations

from collections.abc import Sequence


def feature_label(index: int) -> str:
    """The name of input feature ``index`` when the environment gives none."""
    return f"x{index}"


def action_label(index: int) -> str:
    """The name of action ``index`` (or action dimension) when the environment gives none."""
    return f"action {index}"


def neuron_label(layer: str, index: int) -> str:
    """The name of neuron ``index`` of hidden layer ``layer`` ("fc1 #3"; the canvas writes it so too)."""
    return f"{layer} #{index}"


def labels(names: Sequence[object] | None, n: int, fallback=feature_label) -> list[str]:
    """``n`` labels: ``names[i]`` where it exists, ``fallback(i)`` for the rest."""
    given = list(names or ())
    return [str(given[i]) if i < len(given) else fallback(i) for i in range(max(int(n), 0))]


def feature_labels(names: Sequence[object] | None, n: int) -> list[str]:
    return labels(names, n, feature_label)


def action_labels(names: Sequence[object] | None, n: int) -> list[str]:
    return labels(names, n, action_label)
