"""The Live tab: the game, what the agent thinks of its moves, the moves it makes and the
episodes of the selected run -- with the panels that fit its agent: Q-values per move for
a value-based agent (DQN), the twin critics and the policy for an actor-critic (SAC).

* :mod:`~dashapp.tabs.live.view` -- the layout, the notes, what the callbacks share;
* :mod:`~dashapp.tabs.live.agent` -- which panels to show (the ``live-agent`` store);
* :mod:`~dashapp.tabs.live.value` -- Q-value trend, cards, action bars and mix;
* :mod:`~dashapp.tabs.live.policy` -- critics, policy, actions taken;
* :mod:`~dashapp.tabs.live.episodes` -- the episode charts;
* :mod:`~dashapp.tabs.live.frame` -- the game picture;
* :mod:`~dashapp.tabs.live.tick` -- the one callback that runs every panel's tick on a poll.

Each growing chart family follows the tick / load split of :mod:`dashapp.tabs.reloading`:
a tick on the tab's own poll (every panel's tick in one request) reads, in one store
session, only what is newer than where the charts stand and sends it with
``extendData``; a load, asked for by the tick, draws the downsampled history whole
(first view, another run, a restart, a page that fell far behind). Charts that summarise
a fixed window of recent steps are small and are replaced whole on each tick; the game
frame is sent only when it changed.
"""

from dashapp.tabs.live.agent import agent_panels, describe_agent, show_agent
from dashapp.tabs.live.episodes import load_episodes, tick_episodes
from dashapp.tabs.live.frame import update_frame
from dashapp.tabs.live.policy import load_policy, tick_policy
from dashapp.tabs.live.tick import tick_live
from dashapp.tabs.live.value import load_steps, q_cards, tick_steps
from dashapp.tabs.live.view import ACTOR_CRITIC, NOTES, TAB_ID, TAB_LABEL, VALUE, layout

__all__ = [
    "ACTOR_CRITIC",
    "NOTES",
    "TAB_ID",
    "TAB_LABEL",
    "VALUE",
    "agent_panels",
    "describe_agent",
    "layout",
    "load_episodes",
    "load_policy",
    "load_steps",
    "q_cards",
    "show_agent",
    "tick_episodes",
    "tick_live",
    "tick_policy",
    "tick_steps",
    "update_frame",
]
