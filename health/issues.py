"""Potential issues: the plain-language findings drawn from a network's figures and verdicts.

:func:`network_issues` lists what looks wrong in one network (most serious first);
:func:`actor_critic_issues` compares an actor with its critics. Every number they
compare against comes from :mod:`health.thresholds`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from health import thresholds as TH
from health.verdicts import SEVERITIES

if TYPE_CHECKING:  # the results hold issues, so they are imported for annotations only
    from health.results import LayerHealth, NetworkHealth

__all__ = ["Issue", "actor_critic_issues", "network_issues"]


@dataclass(frozen=True)
class Issue:
    """One potential issue: how serious it is and what it says."""

    severity: str  # "note" | "warn" | "bad"
    text: str


def _names(rows: Iterable[LayerHealth], with_alpha: bool = False) -> str:
    parts = []
    for lh in rows:
        text = lh.name
        if with_alpha and lh.metrics.alpha is not None:
            weak = f", weak: {lh.metrics.num_evals} eigenvalues" if lh.metrics.weak_confidence else ""
            text += f" ({lh.metrics.alpha:.2f}{weak})"
        parts.append(text)
    return ", ".join(parts)


def network_issues(h: NetworkHealth, nonfinite: Sequence[str] = ()) -> list[Issue]:
    """The potential issues of one network, most serious first."""
    issues: list[Issue] = []
    if nonfinite:
        issues.append(
            Issue(
                "bad",
                f"NaN or infinite weights in {', '.join(nonfinite)}: the checkpoint is corrupt "
                "or training diverged; these layers were not analysed",
            )
        )
    alpha, av = h.alpha, h.alpha_verdict
    if alpha is None:
        issues.append(
            Issue(
                "note",
                "WeightWatcher could not analyse any layer of this network, so there is no "
                "alpha verdict (see the layers marked 'not analysed')",
            )
        )
    else:
        # the overall alpha is the mean of finite layer alphas, so it is finite and has a verdict
        assert av is not None
        if av.severity in ("warn", "bad"):
            weak = (
                " (weak confidence: every analysed layer has few eigenvalues)" if h.alpha_confidence == "weak" else ""
            )
            issues.append(
                Issue(av.severity, f"overall alpha {alpha:.2f} is {av.label.lower()}{weak}: {av.meaning}; {av.advice}")
            )
    analysed = h.analysed_layers
    # every analysed layer has an alpha (health.metrics marks a layer without one "not analysed"),
    # so the check below drops nothing
    layer_alphas = [(lh, lh.metrics.alpha) for lh in analysed if lh.metrics.alpha is not None]
    random_layers = [lh for lh, a in layer_alphas if a > TH.ALPHA_UNDERTRAINED_HIGH]
    overfit_layers = [lh for lh, a in layer_alphas if a < TH.ALPHA_RECOMMENDED_LOW]
    if random_layers and (alpha is None or alpha <= TH.ALPHA_UNDERTRAINED_HIGH):
        issues.append(
            Issue(
                "warn",
                f"layers that still look random (alpha > {TH.ALPHA_UNDERTRAINED_HIGH:g}): "
                f"{_names(random_layers, True)}; they have learned little so far",
            )
        )
    if overfit_layers and (alpha is None or alpha >= TH.ALPHA_RECOMMENDED_LOW):
        issues.append(
            Issue(
                "warn",
                f"layers with alpha below {TH.ALPHA_RECOMMENDED_LOW:g} (over-fit): {_names(overfit_layers, True)}",
            )
        )
    std = h.alpha_std
    very_high = [lh for lh in h.layers if (lh.spectral_verdict and lh.spectral_verdict.key == "very_high")]
    high = [lh for lh in h.layers if (lh.spectral_verdict and lh.spectral_verdict.key == "high")]
    large_spread = std is not None and len(analysed) >= 2 and std > TH.ALPHA_STD_LARGE
    if large_spread and very_high:
        issues.append(
            Issue(
                "bad",
                f"signs of unstable training: alpha varies a lot between layers (std {std:.2f} > "
                f"{TH.ALPHA_STD_LARGE:g}) and {_names(very_high)} have very high spectral norms; "
                "lower the learning rate, use larger batches, check the gradients",
            )
        )
    else:
        if large_spread:
            issues.append(
                Issue(
                    "warn",
                    f"alpha varies a lot between layers (std {std:.2f} > {TH.ALPHA_STD_LARGE:g}): "
                    "some layers learn and others do not; check the gradient flow and any "
                    "normalisation layers",
                )
            )
        if very_high:
            issues.append(
                Issue(
                    "bad",
                    f"very high log spectral norm (> {TH.LOG_SPECTRAL_NORM_VERY_HIGH:g}) in "
                    f"{_names(very_high)}: a sign of unstable training; lower the learning rate, "
                    "clip gradients or add weight decay",
                )
            )
    if high:
        issues.append(
            Issue(
                "note",
                f"log spectral norm above {TH.LOG_SPECTRAL_NORM_REASONABLE:g} in {_names(high)}: "
                "these layers may benefit from regularisation",
            )
        )
    dv = h.dead_verdict
    ratio = h.dead.ratio
    if dv is not None and dv.severity != "ok":
        assert ratio is not None  # dead_verdict() gives a verdict only for a ratio
        issues.append(
            Issue(
                dv.severity,
                f"{h.dead.dead} of {h.dead.total} hidden units are dead ({100 * ratio:.1f} %, "
                f"{dv.label.lower()}; their {h.dead.measured}): {dv.advice}",
            )
        )
    low_sr = [lh for lh in h.layers if lh.stable_rank_verdict and lh.stable_rank_verdict.key == "low"]
    if low_sr:
        issues.append(
            Issue(
                "warn",
                f"stable rank below {TH.STABLE_RANK_LOW:.0%} of full rank in {_names(low_sr)}: "
                "possibly over-parameterised, a smaller layer may do as well",
            )
        )
    sr_mean = h.stable_rank_ratio_mean
    if ratio is not None and ratio >= TH.DEAD_RATIO_HIGH:
        if sr_mean is not None and sr_mean < TH.STABLE_RANK_LOW:
            issues.append(
                Issue(
                    "bad",
                    "many dead units together with a low stable rank: strong evidence the network "
                    "is over-parameterised; try about half as many units",
                )
            )
        if alpha is not None and TH.ALPHA_RECOMMENDED_LOW <= alpha <= TH.ALPHA_RECOMMENDED_HIGH:
            issues.append(
                Issue(
                    "note",
                    "despite the dead units, alpha is good, so the network can still generalise; "
                    "a smaller network would likely do as well next time",
                )
            )
        elif alpha is not None and alpha > TH.ALPHA_UNDERTRAINED_HIGH:
            issues.append(
                Issue(
                    "warn",
                    f"many dead units and alpha above {TH.ALPHA_UNDERTRAINED_HIGH:g}: "
                    "the network is both larger than needed and under-trained",
                )
            )
    if h.dead.note:
        issues.append(Issue("note", f"dead neurons: {h.dead.note}"))
    order = {s: k for k, s in enumerate(reversed(SEVERITIES))}
    return sorted(issues, key=lambda i: order.get(i.severity, 9))


def _role(name: str) -> str | None:
    low = name.lower()
    if "target" in low:
        return None
    if "actor" in low or "policy" in low or low in ("pi", "mu"):
        return "actor"
    if "critic" in low or "qf" in low or low.startswith("q") or "value" in low:
        return "critic"
    return None


def actor_critic_issues(networks: dict[str, NetworkHealth]) -> list[Issue]:
    """Compare the actor's overall alpha with the critics' mean (targets excluded)."""
    actors = [h.alpha for n, h in networks.items() if _role(n) == "actor" and h.alpha is not None]
    critics = [h.alpha for n, h in networks.items() if _role(n) == "critic" and h.alpha is not None]
    if not actors or not critics:
        return []
    a, c = float(np.mean(actors)), float(np.mean(critics))
    gap = a - c
    if gap > TH.ACTOR_CRITIC_ALPHA_GAP:
        return [
            Issue(
                "warn",
                f"actor alpha ({a:.2f}) is well above the critics' ({c:.2f}): the policy is learning "
                "more slowly than the value function; consider a higher actor learning rate "
                "(or a lower critic one)",
            )
        ]
    if gap < -TH.ACTOR_CRITIC_ALPHA_GAP:
        return [
            Issue(
                "warn",
                f"actor alpha ({a:.2f}) is well below the critics' ({c:.2f}): the value estimate is "
                "lagging behind the policy; consider a higher critic learning rate "
                "(or a lower actor one)",
            )
        ]
    return []
