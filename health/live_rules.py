"""The live network-health rules in one namespace: neuron states, per-signal checks and alerts.

This is where the training worker and the dashboard import them from
(``from health import live_rules as R``); each part lives in a module of its own:

* **neuron states** (:mod:`health.live_neurons`) -- from a window of recent activations
  ``(samples, neurons)``, which neurons are dead, active or saturated
  (:func:`summarize_neurons`, the one judgement, on a full window only:
  :func:`enough_samples`; :func:`neuron_states`, the rule; :func:`dead_rule`, it in words);
* **checks** (:mod:`health.live_checks`) -- from the latest per-layer statistics, one
  :class:`Check` per rule and layer saying whether the condition holds now
  (:func:`check_activations`, :func:`check_gradients`, :func:`check_velocity`,
  :func:`check_q_values`);
* **alerts** (:mod:`health.live_alerts`) -- :class:`AlertTracker` turns checks into alerts
  with hysteresis: raised only after the condition held for several evaluations in a row,
  cleared only after it was false for several, and remembered (with start and end) after
  clearing.

Every threshold comes from :mod:`health.thresholds` ("Live training alerts" section),
where its source is written.
"""

from __future__ import annotations

from health.live_alerts import Alert, AlertTracker
from health.live_checks import (
    CRITICAL,
    DEAD_NEURONS,
    EXPLODING,
    EXPLODING_GRADIENTS,
    HEALTHY,
    INFO,
    LEARNING_STALLED,
    NO_DATA,
    Q_DIVERGING,
    REMEDIES,
    RULE_TITLES,
    SATURATED_NEURONS,
    VANISHING,
    VANISHING_GRADIENTS,
    WARNING,
    Check,
    GradientVerdict,
    check_activations,
    check_gradients,
    check_q_values,
    check_velocity,
    gradient_verdict_series,
    gradient_verdicts,
    vanishing_meaning,
)
from health.live_neurons import (
    ACTIVE,
    DEAD,
    LEAKY_OR_SMOOTH,
    RELU_FAMILY,
    SATURATED,
    SATURATION_BOUNDS,
    STATE_NAMES,
    always_active,
    dead_consequence,
    dead_rule,
    enough_samples,
    neuron_states,
    normalise_activation,
    saturation_limits,
    summarize_neurons,
)

__all__ = [
    # neuron states
    "ACTIVE",
    "DEAD",
    "LEAKY_OR_SMOOTH",
    "RELU_FAMILY",
    "SATURATED",
    "SATURATION_BOUNDS",
    "STATE_NAMES",
    "always_active",
    "dead_consequence",
    "dead_rule",
    "enough_samples",
    "neuron_states",
    "normalise_activation",
    "saturation_limits",
    "summarize_neurons",
    # checks
    "CRITICAL",
    "DEAD_NEURONS",
    "EXPLODING",
    "EXPLODING_GRADIENTS",
    "HEALTHY",
    "INFO",
    "LEARNING_STALLED",
    "NO_DATA",
    "Q_DIVERGING",
    "REMEDIES",
    "RULE_TITLES",
    "SATURATED_NEURONS",
    "VANISHING",
    "VANISHING_GRADIENTS",
    "WARNING",
    "Check",
    "GradientVerdict",
    "check_activations",
    "check_gradients",
    "check_q_values",
    "check_velocity",
    "gradient_verdict_series",
    "gradient_verdicts",
    "vanishing_meaning",
    # alerts
    "Alert",
    "AlertTracker",
]
