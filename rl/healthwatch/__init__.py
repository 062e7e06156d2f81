"""The health watch: ``health/``'s diagnosis of every network of the agent while it trains.

At each checkpoint and every ``WorkerConfig.health_every`` steps the worker copies the
agent's weights and hands them to a process of their own, which runs the same analysis
as ``neurodash health`` (WeightWatcher alpha, stable rank, log spectral norm, dead
neurons by both methods, verdicts and remedies); the results are published as typed
``rl.telemetry.HealthRecord``\\ s for the dashboard's Health tab. Training never waits for
an analysis.

One job per module:

* :mod:`rl.healthwatch.analysis` -- one analysis, from copied weights to a record (pure);
* :mod:`rl.healthwatch.process` -- the analysis process and its queues;
* :mod:`rl.healthwatch.callback` -- :class:`HealthWatch`, the watch in the worker's loop.
"""

from rl.healthwatch.analysis import HealthJob, analyse, analyse_network, input_samples_for, network_record
from rl.healthwatch.callback import FINAL_WAIT_S, HealthWatch, health_callbacks, next_due, recent_inputs
from rl.healthwatch.process import AnalysisProcess

__all__ = [
    "FINAL_WAIT_S",
    "AnalysisProcess",
    "HealthJob",
    "HealthWatch",
    "analyse",
    "analyse_network",
    "health_callbacks",
    "input_samples_for",
    "network_record",
    "next_due",
    "recent_inputs",
]
