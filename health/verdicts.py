"""Verdicts: which band of the Network Health Analysis Guide a metric's value falls in, what it means and what to do.

Pure functions from one number (a layer's or a network's alpha, dead-neuron ratio, share
of full rank, log spectral norm) to a :class:`Verdict`, or None when there is no value.
Every band edge comes from :mod:`health.thresholds`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from health import thresholds as TH

__all__ = [
    "SEVERITIES",
    "Verdict",
    "alpha_verdict",
    "dead_verdict",
    "spectral_verdict",
    "stable_rank_verdict",
]

SEVERITIES = ("ok", "note", "warn", "bad")


@dataclass(frozen=True)
class Verdict:
    """A band a value falls in: ``key`` (stable id), ``label`` (short, upper case),
    ``meaning`` (one plain sentence), ``advice`` (what to do; may be empty) and
    ``severity`` ("ok" < "note" < "warn" < "bad")."""

    key: str
    label: str
    meaning: str
    advice: str
    severity: str


def alpha_verdict(alpha: float | None) -> Verdict | None:
    """Where a WeightWatcher alpha falls among the guide's bands (None: no alpha)."""
    if alpha is None or not math.isfinite(alpha):
        return None
    if alpha < TH.ALPHA_RECOMMENDED_LOW:
        return Verdict(
            "overfit",
            "OVER-FIT",
            f"below {TH.ALPHA_RECOMMENDED_LOW:g}, the weights have started to memorise the training data",
            "an early-stopping signal: keep this checkpoint or an earlier one with alpha closer to 2.0",
            "bad",
        )
    if alpha <= TH.ALPHA_NEAR_OPTIMAL_HIGH:
        return Verdict(
            "optimal",
            "OPTIMAL",
            f"close to {TH.ALPHA_OPTIMAL:g}, where the best-trained networks sit",
            "",
            "ok",
        )
    if alpha <= TH.ALPHA_RECOMMENDED_HIGH:
        return Verdict(
            "good",
            "GOOD",
            f"inside the recommended {TH.ALPHA_RECOMMENDED_LOW:g}-{TH.ALPHA_RECOMMENDED_HIGH:g} band, well trained "
            "and should generalise (lower, towards 2.0, is better)",
            "",
            "ok",
        )
    if alpha <= TH.ALPHA_UNDERTRAINED_HIGH:
        return Verdict(
            "undertrained",
            "UNDER-TRAINED",
            f"between {TH.ALPHA_RECOMMENDED_HIGH:g} and {TH.ALPHA_UNDERTRAINED_HIGH:g}, "
            "learning has started but is not finished",
            "train longer or tune the optimisation (learning rate, updates per step)",
            "warn",
        )
    return Verdict(
        "random",
        "SEVERELY UNDER-TRAINED",
        f"above {TH.ALPHA_UNDERTRAINED_HIGH:g}, the weights still look random "
        f"(untrained layers sit near {TH.ALPHA_RANDOM_TYPICAL:g})",
        "check that the loss falls and updates really happen; raise the learning rate or train longer",
        "bad",
    )


def dead_verdict(ratio: float | None) -> Verdict | None:
    """The guide's dead-neuron bands and remedies (ratio = dead / hidden units)."""
    if ratio is None:
        return None
    pct = lambda v: f"{100 * v:g}"
    if ratio < TH.DEAD_RATIO_MODERATE:
        return Verdict(
            "good", "GOOD", f"under {pct(TH.DEAD_RATIO_MODERATE)} % dead, normal and healthy", "nothing to do", "ok"
        )
    if ratio < TH.DEAD_RATIO_HIGH:
        return Verdict(
            "moderate",
            "MODERATE",
            f"{pct(TH.DEAD_RATIO_MODERATE)}-{pct(TH.DEAD_RATIO_HIGH)} % dead, some capacity is wasted",
            "keep an eye on it in later checkpoints; no action needed while the agent performs well",
            "note",
        )
    if ratio <= TH.DEAD_RATIO_CRITICAL:
        return Verdict(
            "high",
            "HIGH",
            f"{pct(TH.DEAD_RATIO_HIGH)}-{pct(TH.DEAD_RATIO_CRITICAL)} % dead, a large part of the network does nothing",
            "consider a smaller network next time or prune the dead units; "
            "check the learning rate and the initialisation",
            "warn",
        )
    return Verdict(
        "critical",
        "CRITICAL",
        f"over {pct(TH.DEAD_RATIO_CRITICAL)} % dead, the network is very likely bigger than the task needs",
        "try about half as many units per layer, and review how many layers you need",
        "bad",
    )


def stable_rank_verdict(ratio: float | None) -> Verdict | None:
    """Stable rank as a share of full rank: how much of a layer's capacity is used."""
    if ratio is None or not math.isfinite(ratio):
        return None
    if ratio < TH.STABLE_RANK_LOW:
        return Verdict(
            "low",
            "LOW",
            f"under {TH.STABLE_RANK_LOW:.0%} of full rank: few directions carry the signal",
            "possibly over-parameterised: a smaller layer may work as well",
            "warn",
        )
    if ratio < TH.STABLE_RANK_HEALTHY_LOW:
        return Verdict(
            "below",
            "BELOW HEALTHY",
            f"{TH.STABLE_RANK_LOW:.0%}-{TH.STABLE_RANK_HEALTHY_LOW:.0%} of full rank: somewhat redundant",
            "",
            "note",
        )
    if ratio <= TH.STABLE_RANK_HEALTHY_HIGH:
        return Verdict(
            "healthy",
            "HEALTHY",
            f"{TH.STABLE_RANK_HEALTHY_LOW:.0%}-{TH.STABLE_RANK_HEALTHY_HIGH:.0%} of full rank: good use of capacity",
            "",
            "ok",
        )
    return Verdict(
        "high", "HIGH", f"over {TH.STABLE_RANK_HEALTHY_HIGH:.0%} of full rank: nearly all capacity in use", "", "ok"
    )


def spectral_verdict(log_spectral_norm: float | None) -> Verdict | None:
    """WeightWatcher's log10 spectral norm against the guide's 2.0 / 5.0 marks."""
    if log_spectral_norm is None or not math.isfinite(log_spectral_norm):
        return None
    if log_spectral_norm > TH.LOG_SPECTRAL_NORM_VERY_HIGH:
        return Verdict(
            "very_high",
            "VERY HIGH",
            f"above {TH.LOG_SPECTRAL_NORM_VERY_HIGH:g}: some weights are huge, a sign of unstable training",
            "lower the learning rate, clip gradients or add weight decay",
            "bad",
        )
    if log_spectral_norm > TH.LOG_SPECTRAL_NORM_REASONABLE:
        return Verdict(
            "high",
            "HIGH",
            f"above {TH.LOG_SPECTRAL_NORM_REASONABLE:g}: larger than in well-conditioned layers",
            "this layer may benefit from regularisation (weight decay)",
            "note",
        )
    return Verdict("ok", "OK", f"at most {TH.LOG_SPECTRAL_NORM_REASONABLE:g}: well conditioned", "", "ok")
