"""Agents that learn from an environment's reward: the interface every agent implements
(``rl.agents.base``), the registry of agents by name, and DQN (``rl.agents.dqn``).

This package module stays free of torch so that command-line code can list agents, their
config fields and their help without paying for a torch import.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap

from rl.agents.base import AGENTS, Agent, AgentSpec, Decision, Update, agent_spec

__all__ = ["AGENTS", "Agent", "AgentSpec", "Decision", "Update", "agent_spec", "field_docs"]


def field_docs(cls) -> dict[str, str]:
    """The docstring written under each field of a dataclass (CleanRL ``Args`` style).

    Reads the class's source, so it works on the class as written in a ``.py`` file::

        @dataclass
        class Config:
            gamma: float = 0.99
            \"\"\"the discount factor\"\"\"

    gives ``{"gamma": "the discount factor"}``. Fields without a docstring are missing
    from the result.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a dataclass")
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    class_def = next(node for node in ast.walk(tree) if isinstance(node, ast.ClassDef))
    docs: dict[str, str] = {}
    body = class_def.body
    for node, following in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs
