"""What the worker's loop hands its callbacks, for tests that drive callbacks by hand."""

from __future__ import annotations

from rl.agents.base import Decision, Update
from rl.callbacks import RunContext, StepInfo, UpdateInfo
from rl.store import MemoryStore


def run_context(store=None, networks=None, *, watched=None, meta=None) -> RunContext:
    """A run over ``networks`` (by name) whose probe watches ``watched`` (default: all of them)."""
    networks = dict(networks or {})
    return RunContext(
        store=MemoryStore() if store is None else store,
        meta=meta,
        networks=networks,
        watched=tuple(networks if watched is None else watched),
    )


def step_info(step, action=0, *, obs=None, q=None) -> StepInfo:
    """Environment step ``step`` (counted from 1): the agent chose ``action`` on ``obs``
    (greedily, seeing Q-values ``q``); nothing ended."""
    return StepInfo(step, 0, obs, Decision(action, explored=False, q=q), 0.0, obs, False, False)


def update_info(step, *networks) -> UpdateInfo:
    """A learning step at ``step`` that changed ``networks`` (default: the q_network)."""
    return UpdateInfo(step, Update(losses={"loss": 0.0}, networks=networks or ("q_network",)))
