"""The Live tab's panels for an actor-critic agent (SAC): the twin critics' estimates and
the policy over training steps (growing charts on the tick / load split of
:mod:`dashapp.tabs.reloading`), and the actions of the recent steps -- most likely vs
drawn by chance for discrete moves, where they fell in the allowed range for continuous
actions -- replaced whole on each tick. Nothing happens for a value-based run."""

from __future__ import annotations

from dash import Input, Output, State, callback, no_update

from dashapp import read
from dashapp.figures import live as F
from dashapp.figures import policy as P
from dashapp.figures.common import empty_figure
from dashapp.tabs import reloading as R
from dashapp.tabs.live.view import (
    ACTIONS_HEIGHT,
    ACTOR_CRITIC,
    Q_HEIGHT,
    TAB_ID,
    advanced,
    agent_of,
    load_pair,
    position,
    summarised,
    summary_is_current,
)

_TICK_OUTPUTS = 5


def choice_figure(s: read.Session, discrete: bool):
    """The recent actions: a bar per move (most likely vs sampled otherwise), or a histogram
    per action dimension over the environment's range."""
    meta = s.meta()
    names = list(meta.action_names) if meta else []
    if discrete:
        return F.action_bar_figure(read.steps.recent_steps(s), names, kinds=F.SAMPLED, height=ACTIONS_HEIGHT)
    space = meta.action_space if meta else None
    bounds = (space.low, space.high) if space is not None and space.kind == "box" else None
    return P.action_histogram_figure(read.policy.recent_actions(s), names, bounds, height=ACTIONS_HEIGHT)


def tick_policy(n, active_tab, agent, cursor):
    """New steps of an actor-critic: extend the critics and policy charts, redraw the actions."""
    run, kind, discrete = agent_of(agent)
    if active_tab != TAB_ID or kind != ACTOR_CRITIC or not run:
        return (no_update,) * _TICK_OUTPUTS
    key = {"run": run}
    drawn = position(cursor, key)
    try:
        with read.session(run) as s:
            newest, current = summary_is_current(s, drawn, cursor)
            if current:
                return (no_update,) * _TICK_OUTPUTS
            points = read.policy.policy_tick(s, drawn)
            choice = choice_figure(s, discrete)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        return no_update, no_update, empty_figure(msg, height=ACTIONS_HEIGHT), *R.explain_broken(cursor, key, n)
    if points is None or (drawn is None and not R.same_view(cursor, key)):  # the charts need the history
        return (no_update, no_update, choice, *R.ask_reload(cursor, key, n))
    if len(points) == 0:  # records too few for a new chart point, but the actions chart moved on
        return no_update, no_update, choice, summarised(cursor, newest), no_update
    return (
        P.critics_extension(points, read.steps.Q_POINTS),
        P.policy_extension(points, read.steps.Q_POINTS),
        choice,
        summarised(advanced(cursor, points), newest),
        no_update,
    )


@callback(
    Output("live-critics-graph", "figure"),
    Output("live-policy-graph", "figure"),
    Output("live-policy-cursor", "data", allow_duplicate=True),
    Input("live-policy-reload", "data"),
    State("live-agent", "data"),
    prevent_initial_call=True,
)
def load_policy(_reload, agent):
    """Draw the critics and policy charts from the downsampled history (on request of tick_policy)."""
    return load_pair(
        agent,
        read.policy.policy_history,
        lambda points, names: (
            P.critics_figure(points, height=Q_HEIGHT),
            P.policy_figure(points, names, height=ACTIONS_HEIGHT),
        ),
    )


__all__ = ["choice_figure", "tick_policy", "load_policy"]
