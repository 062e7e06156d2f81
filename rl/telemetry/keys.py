"""Where telemetry is stored: the names of every series and key, their capacities, and
the words the worker and the dashboard exchange (states, commands, speeds).

Two kinds of storage exist (see ``rl.store``):

* **series** -- bounded ring buffers; every record gets a sequence number ``seq`` and
  readers ask for "what is newer than my cursor";
* **keys** -- a single latest value (heartbeat, the current game frame, ...).

The probe watches each of an agent's live networks on its own (a DQN's ``q_network``;
SAC's ``actor``, ``critic_1``, ``critic_2``) and samples the weights of its target
networks (``target_network``; ``target_critic_1``, ``target_critic_2``: WEIGHTS only), so
its series and keys are per network: :func:`probe_key` names them. Runs of schema 1 knew
one network and stored its probe data under the plain names.
"""

from __future__ import annotations

from typing import Final

# --------------------------------------------------------------------------- series
#: one record per environment step (or per sampled step): the action and what the agent
#: knew when it chose it (Q-values, probabilities, a policy's mean and std, ...).
STEPS = "rollout/steps"
#: one record per finished episode: score, length, mean losses, exploration, steps/s.
EPISODES = "rollout/episodes"
#: per-layer activation statistics, sampled (the probe; per network, see probe_key).
ACTIVATIONS = "probe/activations"
#: per-layer gradient statistics after sampled optimisation steps (the probe; per network).
GRADIENTS = "probe/gradients"
#: per-layer weight statistics and update velocity, every N steps (the probe; per network,
#: target networks included).
WEIGHTS = "probe/weights"
#: commands from the dashboard to the worker (pause, resume, step, stop, speed).
COMMANDS = "control/commands"
#: one record per analysis of the agent's networks by ``health`` while it trains, at
#: checkpoints and every N steps (:class:`rl.telemetry.HealthRecord`, ``rl.healthwatch``).
HEALTH = "health/analyses"

# --------------------------------------------------------------------------- keys
#: run metadata (:class:`rl.telemetry.RunMeta`), written once when the run starts.
META = "run/meta"
#: the worker's liveness and state (:class:`rl.telemetry.Heartbeat`), about twice a second.
HEARTBEAT = "worker/heartbeat"
#: the latest rendered game frame (:class:`rl.telemetry.Frame`).
FRAME = "live/frame"
#: why the game cannot be drawn, when the environment's renderer failed ({"reason": str}).
FRAME_UNAVAILABLE = "live/frame_unavailable"
#: per-neuron recent activations, the layer weights and the current input, for the network
#: view and the neuron inspector (the probe; per network, see probe_key).
NEURONS = "probe/neurons"
#: network-health alerts of every watched network, active and recently cleared.
ALERTS = "health/alerts"
#: what the health watch is doing and when its next analysis is due (:class:`rl.telemetry.HealthStatus`).
HEALTH_STATUS = "health/status"
#: the probe's settings and the layers it watches (:class:`rl.telemetry.ProbeSettings`).
PROBE_CONFIG = "probe/config"
#: why the network acts as it does for the current state (:class:`rl.telemetry.AttributionRecord`).
ATTRIBUTION = "probe/attribution"
#: the step of the newest ATTRIBUTION (an int, written with it): lets a reader see that a
#: new one exists without reading the record itself.
ATTRIBUTION_STEP = "probe/attribution_step"

#: The series and keys of the probe that exist once per watched network.
PER_NETWORK = (ACTIVATIONS, GRADIENTS, WEIGHTS, NEURONS)


def probe_key(base: str, network: str, schema: int | None = None) -> str:
    """The name of ``network``'s copy of the probe series or key ``base``
    (``"probe/activations/q_network"``). ``schema``: the run's telemetry schema; runs of
    schema 1 stored their one network's data under ``base`` itself."""
    if base not in PER_NETWORK:
        raise ValueError(f"{base!r} is not a per-network probe series or key")
    if schema is not None and schema < 2:
        return base
    return f"{base}/{network}"


#: Default ring-buffer capacity per series (the per-network probe series share theirs).
DEFAULT_CAPS: dict[str, int] = {
    STEPS: 20_000,
    EPISODES: 5_000,
    ACTIVATIONS: 2_000,
    GRADIENTS: 2_000,
    WEIGHTS: 2_000,
    COMMANDS: 200,
    HEALTH: 1_000,
}


def default_cap(series: str) -> int | None:
    """The default capacity of ``series`` (a per-network probe series has its base's)."""
    if series in DEFAULT_CAPS:
        return DEFAULT_CAPS[series]
    base = series.rsplit("/", 1)[0]
    return DEFAULT_CAPS.get(base) if base in PER_NETWORK else None


#: Worker states as shown on the dashboard.
RUNNING, PAUSED, STOPPED, FINISHED, FAILED = "running", "paused", "stopped", "finished", "failed"
#: Command actions accepted by the worker.
CMD_PAUSE, CMD_RESUME, CMD_STEP, CMD_STOP, CMD_SPEED = "pause", "resume", "step", "stop", "speed"
COMMANDS_ACCEPTED = (CMD_PAUSE, CMD_RESUME, CMD_STEP, CMD_STOP, CMD_SPEED)
#: Speed settings: "watch" paces training so a class can follow it; "full" does not pace.
SPEED_WATCH: Final = "watch"
SPEED_FULL: Final = "full"
SPEEDS = (SPEED_WATCH, SPEED_FULL)

#: A running or paused worker beats every ``heartbeat_interval`` (0.5 s by default); a
#: heartbeat older than this means the worker hung, was killed, or died before it could
#: say "failed". The one rule both the worker (refusing to train a run another worker is
#: training) and the dashboard ("not responding") use: :func:`rl.telemetry.worker_alive`.
HEARTBEAT_STALE_S = 5.0
