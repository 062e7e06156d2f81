"""The Live tab's layout, its plain-language notes, and what its callbacks share: which
kind of agent the run has (the ``live-agent`` store) and where a chart's cursor stands.

The tab has two sets of panels and shows the one that fits the run's agent: a
value-based agent's (DQN: Q-values per move, their statistics, greedy vs random moves)
or an actor-critic's (SAC: the twin critics, the policy, the actions it takes). The game
and the episode charts are common to both; the episode charts draw the grid that fits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp import read
from dashapp.components import graph, panel
from dashapp.figures.common import empty_figure, is_empty_figure
from dashapp.tabs import reloading as R
from rl import telemetry as T

TAB_ID = "live"
TAB_LABEL = "Live"
POLL = R.poll_id(TAB_ID)
#: The panels hidden for the run's agent keep their width (so their charts keep their size).
COLLAPSED = "nd-collapsed"

Q_HEIGHT, ACTIONS_HEIGHT, EPISODES_HEIGHT = 360, 300, 460
#: The two kinds of agent the tab has panels for.
VALUE, ACTOR_CRITIC = "value", "actor-critic"
_WINDOW, _RECENT = read.steps.ROLLING_WINDOW, read.steps.RECENT_STEPS

NOTES = {
    "game": "What the agent is playing right now, refreshed about once a second. "
    "At full speed the agent makes many moves between two pictures.",
    "q": "For each move, the network's guess of the total future reward if it makes that move now; when not "
    "exploring, the agent picks the move with the highest guess. Thin line: the guess at each recorded step; "
    f"thick line: its average over the last {_WINDOW}; shaded band: the lowest to highest guess "
    "among those; dot: the guess right now.",
    "cards": f"Each card sums up one move's guesses over the last {_RECENT:,} recorded steps (at full "
    "speed only a sample of the steps is recorded); the trend compares the newer half of them with the older "
    "half. Confidence is 1 / (1 + CV), where CV, the coefficient of variation, is the standard deviation "
    "divided by the size of the mean: steady guesses score near 100%, guesses that swing a lot for their size "
    "(or sit near zero) score low.",
    "bars": f"How often each move was made in the last {_RECENT:,} recorded steps. Solid: the network "
    "chose it as its best guess (exploiting); striped: a random move, made to try something new (exploring).",
    "share": f"How the mix of moves changes during training, as shares of the last {_WINDOW} "
    "recorded steps. The dotted line is the share of random moves: high at first, falling as the agent "
    "starts trusting its own guesses.",
    "episodes": "One point per game: a rising score means the agent is learning, and the loss (how far the "
    "network's guesses were from what then happened) should settle rather than grow. ε is the chance of a "
    "random move, lowered on a schedule; steps per second is the training speed.",
    # an actor-critic (SAC)
    "critics": "SAC learns two critics: networks that each guess the total future reward of the action just "
    "taken. Coloured lines: each critic's guess; dotted line: the smaller of the two, which the agent learns from "
    f"so that one over-optimistic critic cannot lead it astray. Each point averages the last {_WINDOW} recorded "
    "steps.",
    "policy-discrete": "The actor (the policy network) gives every move a probability and the agent draws its "
    f"move from them. Each band is one move's probability, averaged over the last {_WINDOW} recorded steps: a "
    "band that widens is a move the policy has come to prefer.",
    "policy-continuous": "The actor (the policy network) describes each number of the action as a range to draw "
    "from: the line is its middle (the most likely action), the band one standard deviation either side (how "
    f"widely it still tries things). Averages of the last {_WINDOW} recorded steps; a narrowing band is a policy "
    "growing sure of itself.",
    "choice-discrete": f"How often each move was made in the last {_RECENT:,} recorded steps. Solid: the move the "
    "policy thought most likely; striped: another move it drew by chance, which is how SAC explores. Before "
    "learning starts every move is drawn at random.",
    "choice-continuous": f"Where the actions of the last {_RECENT:,} recorded steps fell in the allowed range. "
    "Before learning starts they are drawn at random over all of it; a policy that has learned what works "
    "gathers them where it pays.",
    "episodes-actor-critic": "One point per game: a rising score means the agent is learning. SAC rewards "
    "randomness (entropy) by the temperature α, tuned so that the entropy stays near its target; the "
    "temperature loss drives α and sits near zero when the entropy is on target. The critic loss is how far the "
    "critics' guesses were from what then happened. The actor loss is minus the critics' rating of the policy's "
    "actions (plus the randomness term), so it moves with the critics: it rises while they learn how costly the "
    "game is and falls as the policy finds better actions.",
}

TITLES = {
    "episodes": "Episodes: score, loss, exploration and speed",
    "episodes-actor-critic": "Episodes: score, entropy, temperature and losses",
    "choice-discrete": "Which moves it makes: most likely vs drawn by chance",
    "choice-continuous": "Which actions it takes",
}


def _titled(key: str, default: str):
    """A panel title whose text the agent callback sets (``live-<key>-title``)."""
    return html.Span(default, id=f"live-{key}-title")


def _noted(key: str, default: str):
    """A panel note whose text the agent callback sets (``live-<key>-note``)."""
    return html.Span(NOTES[default], id=f"live-{key}-note")


def _value_panels():
    return html.Div(
        [
            panel(
                "Q-value statistics per move",
                dbc.Row(
                    id="live-q-cards",
                    className="g-3",
                    children=dbc.Col(html.P("Waiting for Q-values...", className="empty-note")),
                ),
                NOTES["cards"],
                class_name="mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "Which moves it makes: exploring vs exploiting",
                            graph("live-actions-bar", "Waiting for actions...", ACTIONS_HEIGHT),
                            NOTES["bars"],
                        ),
                        lg=5,
                        className="mb-3",
                    ),
                    dbc.Col(
                        panel(
                            "How the choice of moves changes over time",
                            graph("live-actions-trend", "Waiting for actions...", ACTIONS_HEIGHT),
                            NOTES["share"],
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                ]
            ),
        ],
        id="live-value-panels",
    )


def _actor_critic_panels():
    return html.Div(
        dbc.Row(
            [
                dbc.Col(
                    panel(
                        _titled("choice", TITLES["choice-discrete"]),
                        graph("live-choice-graph", "Waiting for actions...", ACTIONS_HEIGHT),
                        _noted("choice", "choice-discrete"),
                    ),
                    lg=5,
                    className="mb-3",
                ),
                dbc.Col(
                    panel(
                        "The policy: what the actor would do",
                        graph("live-policy-graph", "Waiting for the policy...", ACTIONS_HEIGHT),
                        _noted("policy", "policy-discrete"),
                    ),
                    lg=7,
                    className="mb-3",
                ),
            ]
        ),
        id="live-policy-panels",
        className=COLLAPSED,
    )


def layout():
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "The game",
                            html.Div(
                                [
                                    html.Div(
                                        id="live-frame-box",
                                        className="live-frame-box",
                                        children=html.P(
                                            "Waiting for the first picture of the game...", className="empty-note"
                                        ),
                                    ),
                                    html.Div(id="live-frame-caption", className="live-frame-caption"),
                                ]
                            ),
                            NOTES["game"],
                        ),
                        lg=4,
                        className="mb-3",
                    ),
                    dbc.Col(
                        [
                            html.Div(
                                panel(
                                    "Q-values: how good the network thinks each move is",
                                    graph("live-q-graph", "Waiting for Q-values...", Q_HEIGHT),
                                    NOTES["q"],
                                ),
                                id="live-q-panel",
                            ),
                            html.Div(
                                panel(
                                    "The critics: what the agent expects from each action it takes",
                                    graph("live-critics-graph", "Waiting for the critics...", Q_HEIGHT),
                                    NOTES["critics"],
                                ),
                                id="live-critics-panel",
                                className=COLLAPSED,
                            ),
                        ],
                        lg=8,
                        className="mb-3",
                    ),
                ]
            ),
            _value_panels(),
            _actor_critic_panels(),
            panel(
                _titled("episodes", TITLES["episodes"]),
                graph("live-episodes-graph", "Waiting for the first finished game...", EPISODES_HEIGHT),
                _noted("episodes", "episodes"),
                class_name="mb-3",
            ),
            dcc.Store(id="live-agent"),
            dcc.Store(id="live-steps-cursor"),
            dcc.Store(id="live-steps-reload"),
            dcc.Store(id="live-policy-cursor"),
            dcc.Store(id="live-policy-reload"),
            dcc.Store(id="live-episodes-cursor"),
            dcc.Store(id="live-episodes-reload"),
            dcc.Store(id="live-frame-cursor"),
        ],
        className="tab-body",
    )


# --------------------------------------------------------------------------- shared by the callbacks
def agent_of(agent: Any) -> tuple[str | None, str, bool]:
    """(run, kind, discrete) from the ``live-agent`` store; kind ``None`` until the store
    is set, so that the tab's charts wait for it.

    ``dashapp.tabs.live.tick`` hands the charts' ticks the store as ``show_agent`` has just
    set it on the same poll (or as the page holds it), so a change of run reaches the
    charts at once.
    """
    if not isinstance(agent, dict):
        return None, "", True
    return agent.get("run"), agent.get("kind") or VALUE, agent.get("discrete") is not False


def placeholder(message: str) -> list:
    return [dbc.Col(html.P(message, className="empty-note"))]


def load_pair(agent: Any, history: Callable[[read.Session], Any], draw: Callable[[Any, list[str]], tuple]) -> tuple:
    """A load of the tab's two growing charts (Q_HEIGHT above, ACTIONS_HEIGHT below) for the
    run in the ``live-agent`` store: ``draw(history(session), action names)`` gives the two
    figures; no run or an unreadable one puts the reason on both. Returns the two figures
    and the cursor the load leaves behind."""
    run = agent_of(agent)[0]
    key = {"run": run}
    if not run:
        msg = "Choose a run above."
        return empty_figure(msg, height=Q_HEIGHT), empty_figure(msg, height=ACTIONS_HEIGHT), R.loaded(key, -1, False)
    try:
        with read.session(run) as s:
            names = action_names(s)
            points = history(s)
    except read.BrokenRun as exc:
        msg = f"This run cannot be read: {exc}"
        return (
            empty_figure(msg, height=Q_HEIGHT),
            empty_figure(msg, height=ACTIONS_HEIGHT),
            R.loaded(key, -1, False, broken=True),
        )
    upper, lower = draw(points, names)
    return upper, lower, loaded(key, points, not is_empty_figure(upper) and not is_empty_figure(lower))


def action_names(s: read.Session) -> list[str]:
    meta = s.meta()
    return list(meta.action_names) if meta else []


def position(cursor, key) -> read.series.Position | None:
    """Where the page's step, policy or episode charts stand, if drawn for view ``key``."""
    seq = R.drawn_seq(cursor, key)
    if seq is None:
        return None
    return read.series.Position(seq, int(cursor.get("stride") or 1), int(cursor.get("n_actions") or 0))


def advanced(cursor: dict, points) -> dict:
    """The cursor after extending the charts by ``points``."""
    pos = points.position
    return {**cursor, "seq": pos.seq, "stride": pos.stride, "n_actions": pos.n_actions or cursor.get("n_actions", 0)}


#: The cursor's note of the newest step record the cards and the actions chart summarise.
SUMMARY_SEQ = "summary_seq"


def summary_is_current(s: read.Session, drawn, cursor) -> tuple[int, bool]:
    """(the newest step record's seq, whether the page already shows everything up to it:
    charts drawn to it and the cards and actions chart made from it). A tick with nothing
    new sends nothing: every output the page receives costs its browser work, even an
    unchanged one."""
    newest = s.last_seq(T.STEPS)
    return newest, drawn is not None and drawn.seq == newest and cursor.get(SUMMARY_SEQ) == newest


def summarised(cursor: dict, newest: int) -> dict:
    """``cursor`` noting that the cards and actions chart now summarise up to ``newest``."""
    return {**cursor, SUMMARY_SEQ: newest}


def loaded(key: dict, points, drawn: bool) -> dict:
    pos = points.position
    return R.loaded(key, pos.seq, drawn, stride=pos.stride, n_actions=pos.n_actions)
