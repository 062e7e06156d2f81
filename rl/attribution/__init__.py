"""Why did the network pick that action? Attribution for the network view.

Four questions, each answered for one observation ``x`` (the current state):

* **neuron contribution** -- how much each hidden neuron pushes each action's Q-value:
  ``contribution[a, j] = h_j * dQ_a/dh_j`` (*gradient x activation*, with ``h_j`` the
  neuron's post-activation output). For the last hidden layer of a DQN the Q-value is
  linear in ``h``, so the contributions of that layer add up exactly to
  ``Q_a - bias_a`` -- the number each bar shows is that neuron's share of the Q-value.
* **input saliency** -- ``|dQ_a/dx_i|``: how sharply Q of action ``a`` reacts to a small
  nudge of input feature ``i``. Same as Captum's ``Saliency(abs=True)``.
* **integrated gradients** -- ``(x_i - b_i) * integral_0^1 dQ_a/dx_i(b + t (x - b)) dt``
  with baseline ``b`` = the mean of the recently observed states (documented choice: a
  "typical moment" of this game rather than an all-zero state, which in Breakout would
  mean "ball and paddle in the top-left corner"). The integral uses Gauss-Legendre
  quadrature with :data:`IG_STEPS` nodes -- exactly Captum's ``IntegratedGradients``
  default method -- and the attributions add up to ``Q_a(x) - Q_a(b)`` (completeness);
  the residual is published as ``delta`` so the page can say how good the sum is.
* **feature response** -- for every input feature, Q of every action across the range
  the feature took recently, with all other features held at the current state.

Every computation runs on a private, hook-free copy of the network in evaluation mode
and uses ``torch.autograd.grad`` only, so training gradients (``p.grad``), the probe's
forward hooks and the optimiser never see these extra passes.

:class:`AttributionCallback` keeps a ring of recent observations and the network's
greedy actions, and publishes one :class:`rl.telemetry.AttributionRecord` under
``telemetry.ATTRIBUTION`` on a sampled schedule.
"""

from rl.attribution.callback import DEFAULT_PUBLISH_S, RECENT_OBSERVATIONS, AttributionCallback, attribution_callbacks
from rl.attribution.maths import (
    CONTRIBUTION_METHOD,
    IG_METHOD,
    IG_STEPS,
    RESPONSE_POINTS,
    AttributionError,
    HiddenLayer,
    compute_attribution,
    feature_ranges,
    feature_response,
    gauss_legendre,
    integrated_gradients,
    neuron_contributions,
    private_copy,
    q_values,
    saliency,
    trace_hidden_layers,
)

__all__ = [
    "CONTRIBUTION_METHOD",
    "DEFAULT_PUBLISH_S",
    "IG_METHOD",
    "IG_STEPS",
    "RECENT_OBSERVATIONS",
    "RESPONSE_POINTS",
    "AttributionCallback",
    "AttributionError",
    "HiddenLayer",
    "attribution_callbacks",
    "compute_attribution",
    "feature_ranges",
    "feature_response",
    "gauss_legendre",
    "integrated_gradients",
    "neuron_contributions",
    "private_copy",
    "q_values",
    "saliency",
    "trace_hidden_layers",
]
