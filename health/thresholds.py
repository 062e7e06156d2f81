"""Every threshold neurodash uses, in one place, each with where it comes from.

Sources cited below:

* [GUIDE] "Network Health Analysis Guide" -- the network-health requirements document
  (sections such as "Key Metrics", "What to Look For", "Debugging Poor Performance",
  "Common Patterns", "FAQ"). Its figures are requirements for neurodash.
* [PLAN] "Neural Network Visualizer Improvement Plan" -- the visualizer plan (numbered
  sections such as 4.1, 5.1).
* [WW] WeightWatcher 0.7.x (weightwatcher.ai; Martin & Mahoney 2019, "Traditional and
  Heavy-Tailed Self Regularization in Neural Network Learning"; Martin & Mahoney 2021,
  "Implicit Self-Regularization in Deep Neural Networks").
* [OURS] a neurodash choice where the sources give no number; the comment says why.

Plain numbers only: this module imports nothing, so any package (the dashboard included)
can read it without pulling in torch.

Two sections: "Checkpoint diagnosis" (``neurodash health`` and the ``health`` package's
analysis of saved checkpoints) and "Live training alerts" (the rules the training probe
applies to the network while it trains).
"""

from __future__ import annotations

# =====================================================================================
# Checkpoint diagnosis (neurodash health)
# =====================================================================================

# --- WeightWatcher alpha (power-law exponent of a layer's eigenvalue spectrum) --------
# [GUIDE "Key Metrics / 1. Alpha"], from [WW]: alpha near 2 is the best-trained regime;
# [2, 5] is the recommended band; (5, 6] is under-trained; above 6 looks random or
# severely under-trained; below 2 is over-fit and a signal to stop early.
ALPHA_OPTIMAL = 2.0
ALPHA_RECOMMENDED_LOW = 2.0  # below this: over-fit / early-stopping signal
ALPHA_RECOMMENDED_HIGH = 5.0  # [2, 5]: recommended
ALPHA_UNDERTRAINED_HIGH = 6.0  # (5, 6]: under-trained; > 6: severely under-trained/random
# [GUIDE "FAQ: What's the ideal alpha value"]: values in [2.0, 2.5] are excellent, i.e.
# what the guide means by "alpha ~ 2.0".
ALPHA_NEAR_OPTIMAL_HIGH = 2.5
# [GUIDE "Practical Workflow / Early stages"]: random matrices approach alpha ~ 8.
ALPHA_RANDOM_TYPICAL = 8.0
# [WW] weightwatcher writes alpha = -1 when the power-law fit failed or was skipped.
WW_FAILED_ALPHA = -1.0

# --- Confidence of a layer's verdict ---------------------------------------------------
# [OURS]: a power-law fit to fewer than ~20 eigenvalues is fragile, so a verdict from
# such a layer is marked weak-confidence. (WeightWatcher itself only refuses layers below
# its own min_evals, 8 by default in 0.7.x -- [WW] weightwatcher.constants.DEFAULT_MIN_EVALS
# -- which we leave at its default so our figures equal analyze().)
MIN_EVALS_CONFIDENT = 20

# --- Dead neurons -----------------------------------------------------------------------
# [GUIDE "4. Dead Neurons"]: activation-based default -- a neuron is dead when the
# variance of its activation over the sample inputs is below 1e-6 (any activation fn).
DEAD_ACTIVATION_VARIANCE = 1e-6
# [GUIDE "4. Dead Neurons / Alternative method"] gives no number for the weight-based
# method; [PLAN 5.1 "Per-Layer Weight Statistics"] treats |w| < 1e-6 as "nearly zero", which we
# apply to the L2 norm of a neuron's incoming weights.
DEAD_WEIGHT_NORM = 1e-6
# [GUIDE "Basic Analysis"]: 1000 input samples by default.
DEAD_NEURON_SAMPLES_DEFAULT = 1000
# [PLAN 4.1, 4.2] judges a neuron over 100 observations (LIVE_DEAD_WINDOW below); we ask
# as many of a checkpoint's check. Why a minimum: a unit that fires on 1 input in 20 shows
# no change on any of n samples with probability 0.95^n -- 77 % for n = 5, 0.6 % for
# n = 100 -- so with few samples healthy units read dead (with 1 sample every unit does:
# one value has no variance). Smaller counts are refused; when the checkpoint holds fewer
# observations than this, they are used but the count is marked low-confidence.
DEAD_NEURON_SAMPLES_MIN = 100
# [GUIDE "4. Dead Neurons / Interpretation"], as fractions of all hidden neurons:
# < 5 % good, 5-15 % moderate, 15-30 % high, > 30 % critical.
DEAD_RATIO_MODERATE = 0.05
DEAD_RATIO_HIGH = 0.15
DEAD_RATIO_CRITICAL = 0.30

# --- Stable rank (as a fraction of full rank = min(rows, cols)) -------------------------
# [GUIDE "2. Stable Rank" and FAQ]: 30-80 % of full rank is healthy utilisation;
# below 20 % the network may be over-parameterised.
STABLE_RANK_HEALTHY_LOW = 0.30
STABLE_RANK_HEALTHY_HIGH = 0.80
STABLE_RANK_LOW = 0.20

# --- Log spectral norm (weightwatcher's log_spectral_norm = log10 of the largest ------
# eigenvalue of W^T W) -------------------------------------------------------------------
# [GUIDE "What to Look For"]: healthy networks show spectral norms below 2.0; unstable
# training shows very high ones, above 5.0. The guide prints and compares the *log*
# spectral norm (its example report: "Log spectral norm mean: 1.234"), so we apply both
# figures to weightwatcher's log_spectral_norm.
LOG_SPECTRAL_NORM_REASONABLE = 2.0
LOG_SPECTRAL_NORM_VERY_HIGH = 5.0

# --- Spread of alpha across layers ------------------------------------------------------
# [GUIDE "What to Look For / Unstable Training"] says "large variance in alpha across
# layers" without a number; its healthy example shows a standard deviation of 0.41.
# [OURS]: we call a standard deviation above 1.0 (more than twice the healthy example)
# large. Unstable training = large spread AND a very high log spectral norm.
ALPHA_STD_LARGE = 1.0

# --- Actor vs critic ---------------------------------------------------------------------
# [GUIDE "Debugging Poor Performance / 4. Critics vs Actor mismatch"] says "actor alpha
# >> critic alpha" without a number. [OURS]: a difference of more than 1.0 in overall
# alpha (a fifth of the whole recommended [2, 5] band) counts as a mismatch.
ACTOR_CRITIC_ALPHA_GAP = 1.0

# --- Patterns across checkpoints ---------------------------------------------------------
# [GUIDE "Common Patterns"]: healthy progression (alpha falls towards 2), overtraining
# (reaches ~2 then drops below 2), not learning (alpha stays above 6).
# [OURS]: a change of overall alpha smaller than 0.1 between first and last checkpoint
# counts as "flat" (the guide's not-learning example still moves 0.3 per step). [OURS]:
# "not learning" is every analysed alpha above the recommended band (above 5, not only
# above 6) and a fall so far that, at the same pace, would not reach 5 within as much
# training again -- a network that is above 6 but coming down fast is still learning.
ALPHA_TREND_MIN_CHANGE = 0.1

# --- Safety limits when reading untrusted checkpoint files -------------------------------
# [OURS] untrusted files are data, and their sizes are bounded: the largest file we
# open, and the most any one archive member may decompress to (2 GiB: far above any RL
# policy -- a 3-layer 1024-wide MLP is ~8 MB -- yet small enough to bound memory). Zip
# archives with more members than ZIP_MAX_MEMBERS are refused (an SB3 save has ~6). The
# SB3 "data" JSON member is only read when it is at most SB3_DATA_MAX_BYTES.
CHECKPOINT_MAX_BYTES = 2 * 1024**3
ZIP_MAX_MEMBERS = 10_000
SB3_DATA_MAX_BYTES = 16 * 1024**2
# [OURS]: at most this many stored observations are used for dead-neuron checks (our
# checkpoints hold up to 1000; the cap bounds memory if a file claims more).
OBS_SAMPLES_MAX_ROWS = 100_000


# =====================================================================================
# Live training alerts (rl/probe/ + health/live_rules.py)
# =====================================================================================
# A "sample" below is one sampled acting forward pass (activations), one sampled
# optimisation step (gradients) or one weight snapshot; an "evaluation" is one run of the
# rules, which the probe does each time it publishes (about once a second at most).

# --- Dead and saturated neurons --------------------------------------------------------
# [PLAN 4.1, 4.2]: an activation below 0.01 in magnitude counts as "not firing", and a
# neuron that has not fired over its last 100 observations is dead.
LIVE_DEAD_ACTIVATION = 0.01
LIVE_DEAD_WINDOW = 100
# [GUIDE "4. Dead Neurons"] (the checkpoint section's DEAD_ACTIVATION_VARIANCE, reused so
# the number lives once): for leaky or smooth activations (LeakyReLU, ELU, GELU, SiLU,
# softplus) a dead neuron's output need not be near zero, only constant -- so there a
# neuron whose activation variance over the window is below this also counts as dead.
LIVE_DEAD_VARIANCE = DEAD_ACTIVATION_VARIANCE
# [PLAN 4.1]: |a| > 0.95 counts as saturated for tanh-like activations; in general, an
# activation within 5 % of its range's bound (sigmoid: a < 0.05 or a > 0.95; tanh and
# hardtanh: |a| > 0.95). A neuron is saturated when it sits there for the whole window.
LIVE_SATURATION_MARGIN = 0.05
# [PLAN 4.2]: alert when more than 10 % of a layer is dead ...
LIVE_DEAD_ALERT_SHARE = 0.10
# ... and [GUIDE "4. Dead Neurons / Interpretation"]: above 30 % is critical
# (DEAD_RATIO_CRITICAL of the checkpoint section, reused).
LIVE_DEAD_CRITICAL_SHARE = DEAD_RATIO_CRITICAL
# [PLAN 4.2]: alert when more than 50 % of a layer is saturated.
LIVE_SATURATED_ALERT_SHARE = 0.50
# [PLAN 5.1]: a weight with |w| < 1e-6 counts as (nearly) zero.
LIVE_NEAR_ZERO_WEIGHT = 1e-6

# --- Gradients (per layer: the L2 norm of the gradient of all the layer's parameters) --
# [OURS] a gradient orders of magnitude below the other layers', made concrete: a layer
# whose gradient norm is below 1/1000 of the median of the other layers' norms is vanishing.
LIVE_GRAD_VANISHING_RATIO = 1e-3
# [OURS] absolute floor: a layer's gradient norm below 1e-7. Under plain SGD such a
# gradient moves float32 weights of typical size (~0.1) by less than their rounding error
# at any usual learning rate (< 1e-2). Under Adam (our agents' optimiser) the layer still
# moves, because Adam divides each step by the gradient's own running size (measured: a
# layer at gradient norm 5e-8 moved 2.7 % in 100 steps), but per weight that gradient is
# at the size of Adam's eps (1e-8), so what sets the step's direction is noise.
LIVE_GRAD_VANISHING_FLOOR = 1e-7
# [OURS] ceiling: ten times Stable-Baselines3's DQN default max_grad_norm = 10
# (stable_baselines3.dqn.DQN), the norm at which a standard DQN would already clip the
# whole network's gradient; one layer above 100 on its own is exploding.
LIVE_GRAD_EXPLODING_NORM = 100.0
# [OURS] "growing fast": the gradient norm's median over the last GROWTH_SAMPLES samples
# is at least 10 times its median over the GROWTH_SAMPLES before them, and above 1.0
# (early in training a norm rising from 1e-3 to 1e-2 is normal and harmless).
LIVE_GRAD_GROWTH_FACTOR = 10.0
LIVE_GRAD_GROWTH_SAMPLES = 5
LIVE_GRAD_GROWTH_MIN_NORM = 1.0
# [OURS] the vanishing rule looks at the median of the layer's last 5 gradient samples,
# so one unlucky mini-batch cannot trigger it.
LIVE_GRAD_RULE_SAMPLES = 5

# --- Update velocity ||W_now - W_prev|| / ||W_prev|| between two weight samples --------
# [OURS] measured: our DQN on Breakout (Adam, learning rate 1e-3, 64-64 network, 40,000
# steps) moves each layer by 4e-3..5e-2 (relative) per 100 steps; below 1e-6 -- more than
# three orders of magnitude less -- the weights are effectively frozen. Learning has
# stalled when that holds for 5 weight samples in a row during which optimisation steps
# did happen (before learning starts is not a stall).
LIVE_VELOCITY_STALL = 1e-6
LIVE_VELOCITY_STALL_SAMPLES = 5

# --- Q-values diverging ------------------------------------------------------------------
# [OURS] the largest |Q| growing at least 10-fold over the last 50 activation samples
# while above 100 (a return few tasks reach with unit rewards) is the sign; any non-finite
# Q-value is critical. (There is no rule against a bound r_max / (1 - gamma): no run
# records its environment's reward range -- gymnasium no longer declares one -- so such a
# bound could only be guessed, and a guessed bound raises false alarms or none.)
LIVE_Q_GROWTH_FACTOR = 10.0
LIVE_Q_GROWTH_SAMPLES = 50
LIVE_Q_GROWTH_MIN = 100.0

# --- The Live tab's Q-value cards -----------------------------------------------------------
# [OURS] an action's Q-value is "rising" ("falling") when the newer half of the recent
# window averages more than 0.25 of the window's standard deviation above (below) the
# older half: a quarter of the spread is about what two halves of pure noise differ by,
# so smaller changes read "steady".
LIVE_Q_TREND_MIN_CHANGE = 0.25
# [OURS] the cards' confidence is 1 / (1 + CV), CV = std / |mean| over the recent window:
# "high" at 0.9 or above (the estimates vary by at most about a tenth of their size,
# CV <= 0.11), "medium" at 0.7 or above (CV <= 0.43), "low" below.
LIVE_Q_CONFIDENCE_HIGH = 0.9
LIVE_Q_CONFIDENCE_MEDIUM = 0.7

# --- Hysteresis ---------------------------------------------------------------------------
# [OURS] an alert is raised after its condition held for 2 evaluations in a row and
# cleared only after it was false for 5 in a row, so a noisy measure near a threshold
# does not flicker on and off on every poll. The last 20 cleared alerts are kept, with
# when they started and ended, so the dashboard can show what happened.
LIVE_ALERT_RAISE_AFTER = 2
LIVE_ALERT_CLEAR_AFTER = 5
LIVE_ALERT_HISTORY = 20
