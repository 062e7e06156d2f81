"""The Live tab's episode charts: one point per finished game, in the grid that fits the
run's agent (:data:`~dashapp.figures.episodes.VALUE_GRID` or
:data:`~dashapp.figures.episodes.ACTOR_CRITIC_GRID`), on the tick / load split of
:mod:`dashapp.tabs.reloading`. The cursor's view is the run and its kind of agent, so the
charts are drawn again when the run's agent becomes known."""

from __future__ import annotations

from dash import Input, Output, State, callback, no_update

from dashapp import read
from dashapp.figures import episodes as E
from dashapp.figures.common import empty_figure, is_empty_figure
from dashapp.tabs import reloading as R
from dashapp.tabs.live.view import ACTOR_CRITIC, EPISODES_HEIGHT, TAB_ID, advanced, agent_of, loaded, position


def grid_for(kind: str) -> E.EpisodeGrid:
    """The episode grid of an agent of ``kind``."""
    return E.ACTOR_CRITIC_GRID if kind == ACTOR_CRITIC else E.VALUE_GRID


def tick_episodes(n, active_tab, agent, cursor):
    """New finished episodes: extend the episode charts."""
    run, kind, _discrete = agent_of(agent)
    if active_tab != TAB_ID or not kind:
        return no_update, no_update, no_update
    key = {"run": run, "kind": kind}
    if not run:
        return (no_update, *R.unless_shown(cursor, key, n))
    drawn = position(cursor, key)
    try:
        with read.session(run) as s:
            points = read.episodes.episode_tick(s, drawn)
    except read.BrokenRun:
        return (no_update, *R.explain_broken(cursor, key, n))
    if points is None or (drawn is None and not R.same_view(cursor, key)):
        return (no_update, *R.ask_reload(cursor, key, n))
    if len(points) == 0:
        return no_update, no_update, no_update
    extension = E.episodes_extension(points, read.episodes.EPISODE_POINTS, grid_for(kind))
    return extension, advanced(cursor, points), no_update


@callback(
    Output("live-episodes-graph", "figure"),
    Output("live-episodes-cursor", "data", allow_duplicate=True),
    Input("live-episodes-reload", "data"),
    State("live-agent", "data"),
    prevent_initial_call=True,
)
def load_episodes(_reload, agent):
    """Draw the episode charts from the downsampled history (on request of tick_episodes)."""
    run, kind, _discrete = agent_of(agent)
    key = {"run": run, "kind": kind}
    if not run:
        return empty_figure("Choose a run above.", height=EPISODES_HEIGHT), R.loaded(key, -1, False)
    try:
        with read.session(run) as s:
            points = read.episodes.episode_history(s)
    except read.BrokenRun as exc:
        return (
            empty_figure(f"This run cannot be read: {exc}", height=EPISODES_HEIGHT),
            R.loaded(key, -1, False, broken=True),
        )
    fig = E.episodes_figure(points, grid_for(kind), height=EPISODES_HEIGHT)
    return fig, loaded(key, points, not is_empty_figure(fig))


__all__ = ["grid_for", "tick_episodes", "load_episodes"]
