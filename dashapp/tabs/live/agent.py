"""Which panels the Live tab shows: those of a value-based agent or of an actor-critic,
from the run's metadata. The answer goes to the ``live-agent`` store, which every chart
callback of the tab takes as its run (so they redraw when it changes); once the run's
metadata has been read, later polls cost nothing."""

from __future__ import annotations

from dash import no_update

from dashapp import read
from dashapp.tabs.live.view import ACTOR_CRITIC, COLLAPSED, NOTES, TAB_ID, TITLES, VALUE

_OUTPUTS = 10


def agent_panels(kind: str, discrete: bool) -> tuple:
    """The class names of the value panels and the actor-critic panels (one set collapsed),
    and the titles and notes that depend on the agent and its actions (pure)."""
    value = kind == VALUE
    shown, hidden = "", COLLAPSED
    actions = "discrete" if discrete else "continuous"
    return (
        shown if value else hidden,  # Q-value trend
        shown if value else hidden,  # cards, bars, action mix
        hidden if value else shown,  # critics
        hidden if value else shown,  # policy and actions taken
        TITLES[f"choice-{actions}"],
        NOTES[f"choice-{actions}"],
        NOTES[f"policy-{actions}"],
        TITLES["episodes" if value else "episodes-actor-critic"],
        NOTES["episodes" if value else "episodes-actor-critic"],
    )


def describe_agent(run: str | None) -> dict:
    """The ``live-agent`` store for ``run``: its kind of agent and whether its actions are
    discrete; ``known`` once the run's metadata has been read (until then: a value-based
    agent, and asked again on the next poll)."""
    agent = {"run": run, "kind": VALUE, "discrete": True, "known": False}
    if not run:
        return agent
    try:
        with read.session(run) as s:
            meta = s.meta()
    except read.BrokenRun:
        return agent  # the chart callbacks explain why
    if meta is None:
        return agent
    space = meta.action_space
    return {
        **agent,
        "kind": ACTOR_CRITIC if read.policy.is_actor_critic(meta) else VALUE,
        "discrete": space is None or space.kind == "discrete",
        "known": True,
    }


def show_agent(_n, active_tab, run, agent):
    """The run's kind of agent, and the panels, titles and notes for it (when it changed)."""
    if active_tab != TAB_ID:
        return (no_update,) * _OUTPUTS
    if isinstance(agent, dict) and agent.get("run") == run and agent.get("known"):
        return (no_update,) * _OUTPUTS
    new = describe_agent(run)
    if new == agent:
        return (no_update,) * _OUTPUTS
    return (new, *agent_panels(new["kind"], new["discrete"]))


__all__ = ["agent_panels", "describe_agent", "show_agent"]
