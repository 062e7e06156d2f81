"""How alpha moved across checkpoints, what the pattern means, and which one to keep.

The patterns follow the Network Health Analysis Guide's "Common Patterns" (thresholds in
:mod:`health.thresholds`), checked in this order on the overall alphas, in the order the
checkpoints were given:

* ``not_learning``  -- every alpha above 6: the network is still random-like;
* ``overtraining``  -- alpha reached 2 or more, then a later checkpoint fell below 2;
* ``overfit``       -- every alpha below 2 already;
* ``healthy``       -- alpha fell by more than ``ALPHA_TREND_MIN_CHANGE`` overall and
                       ends at 2 or above (falling towards 2);
* ``rising``        -- alpha rose by more than that: the weights are becoming more
                       random-like (forgetting, or an unstable optimiser);
* ``flat``          -- little change either way.

The checkpoint to keep is the one whose alpha is nearest 2.0 without being below it (an
over-fit checkpoint is never preferred to a good one); when every alpha is below 2, the
least over-fit one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from health import thresholds as TH
from health.diagnosis import analyze_checkpoint
from health.readers import CheckpointError
from health.results import CheckpointHealth

__all__ = ["Comparison", "Pattern", "alpha_pattern", "compare_checkpoints", "keep_index"]

NOT_LEARNING_CHECKS = (
    "the learning rate may be too low",
    "other hyper-parameters (batch size, target-network update rate, exploration schedule)",
    "too few optimisation steps per environment step, or learning never starts",
    "the replay buffer (is it filling, and is it sampled?)",
    "the network architecture (size, activation, input scaling)",
)


@dataclass(frozen=True)
class Pattern:
    """One pattern verdict over a sequence of alphas."""

    key: str  # not_learning | overtraining | overfit | healthy | rising | flat | unknown
    title: str
    meaning: str
    keep: int | None  # index into the sequence of the checkpoint to keep
    keep_reason: str
    checks: tuple[str, ...] = ()


def keep_index(alphas: Sequence[float | None]) -> int | None:
    """Index of the alpha nearest 2.0 from above; if all are below 2, the largest."""
    valid = [(i, a) for i, a in enumerate(alphas) if a is not None]
    if not valid:
        return None
    above = [(i, a) for i, a in valid if a >= TH.ALPHA_OPTIMAL]
    if above:
        return min(above, key=lambda t: (t[1] - TH.ALPHA_OPTIMAL, -t[0]))[0]
    return max(valid, key=lambda t: (t[1], t[0]))[0]


def alpha_pattern(alphas: Sequence[float | None], labels: Sequence[str] | None = None) -> Pattern:
    """Classify how alpha moved over checkpoints given in training order."""
    labels = list(labels) if labels is not None else [f"#{i + 1}" for i in range(len(alphas))]
    valid = [(i, a) for i, a in enumerate(alphas) if a is not None]
    keep = keep_index(alphas)
    if len(valid) < 2:
        reason = (
            f"{labels[keep]} is the only checkpoint with an alpha" if keep is not None else "no checkpoint has an alpha"
        )
        return Pattern(
            "unknown",
            "NOT ENOUGH DATA",
            "at least two checkpoints with an overall alpha are needed to see a trend",
            keep,
            reason,
        )
    first_i, first = valid[0]
    last_i, last = valid[-1]
    seq = " -> ".join(f"{a:.2f}" for _, a in valid)
    # with two or more alphas keep_index always picks a checkpoint, and only one that has an alpha
    assert keep is not None
    ka = alphas[keep]
    assert ka is not None
    near = abs(ka - TH.ALPHA_OPTIMAL)
    keep_reason = f"{labels[keep]} has alpha {ka:.2f}, the nearest to {TH.ALPHA_OPTIMAL:.1f}"
    if ka >= TH.ALPHA_OPTIMAL and any(a < TH.ALPHA_OPTIMAL for _, a in valid):
        keep_reason += " without having fallen below it"

    if all(a > TH.ALPHA_UNDERTRAINED_HIGH for _, a in valid):
        return Pattern(
            "not_learning",
            "NOT LEARNING",
            f"alpha stays above {TH.ALPHA_UNDERTRAINED_HIGH:g} ({seq}): the weights still look random and the network "
            "is not learning effectively",
            keep,
            keep_reason + " (but none of them is well trained)",
            NOT_LEARNING_CHECKS,
        )
    reached = [i for i, a in valid if a >= TH.ALPHA_RECOMMENDED_LOW]
    if last < TH.ALPHA_RECOMMENDED_LOW and reached:
        dropped = next(i for i, a in valid if i > reached[0] and a < TH.ALPHA_RECOMMENDED_LOW)
        return Pattern(
            "overtraining",
            "OVERTRAINING",
            f"alpha came down to about {TH.ALPHA_OPTIMAL:g} and then fell below it from {labels[dropped]} on ({seq}): "
            "the later checkpoints are over-fit; early stopping would have helped",
            keep,
            keep_reason + f"; stop training once alpha drops below {TH.ALPHA_RECOMMENDED_LOW:g}",
        )
    if all(a < TH.ALPHA_RECOMMENDED_LOW for _, a in valid):
        return Pattern(
            "overfit",
            "OVER-FIT THROUGHOUT",
            f"every checkpoint already has alpha below {TH.ALPHA_RECOMMENDED_LOW:g} ({seq}): "
            "look for an earlier checkpoint",
            keep,
            f"{labels[keep]} is the least over-fit (alpha {ka:.2f})",
        )
    dips = [labels[i] for i, a in valid[:-1] if a < TH.ALPHA_RECOMMENDED_LOW]
    dip_note = (
        f"; it dipped below {TH.ALPHA_RECOMMENDED_LOW:g} at {', '.join(dips)}, so watch for over-fitting"
        if dips
        else ""
    )
    if last < first - TH.ALPHA_TREND_MIN_CHANGE:
        tail = ""
        if last > TH.ALPHA_RECOMMENDED_HIGH:
            tail = f"; it is still above {TH.ALPHA_RECOMMENDED_HIGH:g}, so more training should help"
        elif near <= TH.ALPHA_NEAR_OPTIMAL_HIGH - TH.ALPHA_OPTIMAL:
            tail = f"; {labels[keep]} is close to the optimum"
        return Pattern(
            "healthy",
            "HEALTHY PROGRESSION",
            f"alpha falls towards {TH.ALPHA_OPTIMAL:g} ({seq}): the network keeps learning useful structure{tail}"
            f"{dip_note}",
            keep,
            keep_reason,
        )
    if last > first + TH.ALPHA_TREND_MIN_CHANGE:
        return Pattern(
            "rising",
            "ALPHA RISING",
            f"alpha went up ({seq}): the weights are becoming more random-like, which points to forgetting or an "
            f"unstable optimiser (learning rate too high?){dip_note}",
            keep,
            keep_reason,
        )
    return Pattern(
        "flat",
        "FLAT",
        f"alpha hardly changed ({seq}): training has settled, or stalled{dip_note}",
        keep,
        keep_reason,
    )


@dataclass
class Comparison:
    """Checkpoints compared: per network the alphas (in the order given) and the pattern,
    plus an overall pattern over the mean alpha of the non-target networks."""

    labels: list[str]
    paths: list[str]
    alphas: dict[str, list[float | None]]  # network -> alpha per checkpoint (None: absent/not analysed)
    patterns: dict[str, Pattern]
    overall_alphas: list[float | None]
    overall: Pattern
    errors: list[str] = field(default_factory=list)  # one line per file that could not be analysed
    results: list[CheckpointHealth] = field(default_factory=list)

    @property
    def keep_label(self) -> str | None:
        return self.labels[self.overall.keep] if self.overall.keep is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON-able plain data (per-checkpoint details via ``results``)."""

        def pattern(p: Pattern) -> dict[str, Any]:
            return {
                "key": p.key,
                "title": p.title,
                "meaning": p.meaning,
                "keep": p.keep,
                "keep_label": self.labels[p.keep] if p.keep is not None else None,
                "keep_reason": p.keep_reason,
                "checks": list(p.checks),
            }

        return {
            "labels": list(self.labels),
            "paths": list(self.paths),
            "alphas": {k: list(v) for k, v in self.alphas.items()},
            "patterns": {k: pattern(p) for k, p in self.patterns.items()},
            "overall_alphas": list(self.overall_alphas),
            "overall": pattern(self.overall),
            "errors": list(self.errors),
        }

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per (checkpoint, network) with the overall alpha."""
        rows = []
        for i, label in enumerate(self.labels):
            for net, alphas in self.alphas.items():
                rows.append(
                    {
                        "checkpoint": label,
                        "path": self.paths[i],
                        "order": i,
                        "network": net,
                        "alpha": alphas[i],
                        "pattern": self.patterns[net].key,
                    }
                )
        return rows


def _unique_labels(paths: Sequence[str]) -> list[str]:
    names = [os.path.basename(p) for p in paths]
    if len(set(names)) == len(names):
        return names
    return [os.path.join(os.path.basename(os.path.dirname(p)), os.path.basename(p)) for p in paths]


def compare_checkpoints(items: Sequence[str | os.PathLike | CheckpointHealth], **analyze_kwargs) -> Comparison:
    """Compare checkpoints given in training order.

    ``items`` are paths (analysed here with ``analyze_checkpoint(**analyze_kwargs)``) or
    already-computed :class:`CheckpointHealth` results. A file that cannot be read is
    listed in ``errors`` and left out; the others are still compared.
    """
    results: list[CheckpointHealth] = []
    errors: list[str] = []
    for item in items:
        if isinstance(item, CheckpointHealth):
            results.append(item)
            continue
        try:
            results.append(analyze_checkpoint(item, **analyze_kwargs))
        except CheckpointError as exc:
            errors.append(str(exc))
    return comparison_from_results(results, errors)


def comparison_from_results(results: Sequence[CheckpointHealth], errors: Sequence[str] = ()) -> Comparison:
    """Build the :class:`Comparison` from analysed checkpoints (pure)."""
    paths = [r.path for r in results]
    labels = _unique_labels(paths)
    networks: list[str] = []
    for r in results:
        for name in r.networks:
            if name not in networks:
                networks.append(name)
    alphas = {n: [r.networks[n].alpha if n in r.networks else None for r in results] for n in networks}
    patterns = {n: alpha_pattern(alphas[n], labels) for n in networks}
    primary = [n for n in networks if "target" not in n.lower()] or networks
    common = [n for n in primary if all(a is not None for a in alphas[n])] or primary
    overall = []
    for i in range(len(results)):
        vals = [a for a in (alphas[n][i] for n in common) if a is not None]
        overall.append(float(np.mean(vals)) if vals else None)
    return Comparison(
        labels, paths, alphas, patterns, overall, alpha_pattern(overall, labels), list(errors), list(results)
    )
