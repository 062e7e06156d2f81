"""The dashboard's one window onto the telemetry store: only this package knows which
store keys and series hold what (their names are declared in ``rl.telemetry``).

A callback opens one store session per tick and asks the modules here for typed values,
which it hands to a pure figure builder::

    with read.session(run) as s:
        points = read.steps.step_tick(s, drawn)
        recent = read.steps.recent_steps(s)

* :mod:`~dashapp.read.sessions` -- :func:`session`, :class:`BrokenRun`, the served folder;
* :mod:`~dashapp.read.runs` -- the run picker, the worker's status, commands, the game frame;
* :mod:`~dashapp.read.series` -- downsampling and where a page's chart stands;
* :mod:`~dashapp.read.steps` / :mod:`~dashapp.read.episodes` -- the Live tab's series;
* :mod:`~dashapp.read.policy` -- an actor-critic's steps: its critics and its policy;
* :mod:`~dashapp.read.network` -- the network view: neurons, attribution, change markers;
* :mod:`~dashapp.read.probe` -- activations, gradients, weights, neuron histories, alerts;
* :mod:`~dashapp.read.health` -- the health watch's analyses and status.

Nothing here keeps state between calls and nothing imports torch: everything comes from
the store, so any number of dashboard processes show the same thing.
"""

from dashapp.read import episodes, health, network, policy, probe, runs, series, steps
from dashapp.read.runs import BROKEN, NO_HEARTBEAT, NOT_RESPONDING, RunInfo, WorkerStatus, list_runs, send_command
from dashapp.read.sessions import (
    RUNS_DIR_CONFIG,
    BrokenRun,
    Session,
    check_served,
    served_root,
    session,
    shared_session,
)

__all__ = [
    "BROKEN",
    "BrokenRun",
    "NOT_RESPONDING",
    "NO_HEARTBEAT",
    "RUNS_DIR_CONFIG",
    "RunInfo",
    "Session",
    "WorkerStatus",
    "check_served",
    "episodes",
    "health",
    "list_runs",
    "network",
    "policy",
    "probe",
    "runs",
    "send_command",
    "series",
    "served_root",
    "session",
    "shared_session",
    "steps",
]
