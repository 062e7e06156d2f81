"""How alpha moved across checkpoints, what the pattern means, and which one to keep.

The patterns follow the Network Health Analysis Guide's "Common Patterns", read against
alpha's bands (thresholds in :mod:`health.thresholds`: over-fit below 2, excellent 2-2.5,
recommended 2-5, under-trained 5-6, random-like above 6). They look at the overall
alphas in the order the checkpoints were given; an alpha within ``ALPHA_TREND_MIN_CHANGE``
(0.1) of a band's edge has not crossed it (measurement noise, not a trend). In order:

* ``stable``        -- every alpha in the excellent band: settled at the optimum;
* ``overfit``       -- every alpha below 2 already;
* ``overtraining``  -- a checkpoint in the recommended band, and later ones fell below 2;
* ``overshoot``     -- alpha went from above the recommended band straight to below 2,
                       with no checkpoint in between: the best moment was passed unseen;
* ``not_learning``  -- every alpha above the recommended band, and not on course to reach
                       it: as much training again, at the pace so far, would not get there;
* ``healthy``       -- alpha fell by more than 0.1 and ends at 2 or above;
* ``rising``        -- alpha rose by more than 0.1 (a concern once it leaves the recommended band);
* ``flat``          -- little change either way.

Each pattern has a ``severity`` (health's "ok" / "note" / "warn" / "bad").

The checkpoint to keep is the one whose alpha is nearest 2.0, the optimum -- among those in
the recommended band [2, 5] when there is one (an over-fit checkpoint is never preferred to
one in the recommended band, however near 2 it is), else among all; equally near: the
earlier one (it cost less training and is less likely to be over-fit).
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

    key: str  # stable | overfit | overtraining | overshoot | not_learning | healthy | rising | flat | unknown
    title: str
    meaning: str
    keep: int | None  # index into the sequence of the checkpoint to keep
    keep_reason: str
    checks: tuple[str, ...] = ()
    severity: str = "ok"  # ok | note | warn | bad (health.verdicts.SEVERITIES)


def _in_recommended(a: float) -> bool:
    return TH.ALPHA_RECOMMENDED_LOW <= a <= TH.ALPHA_RECOMMENDED_HIGH


def keep_index(alphas: Sequence[float | None]) -> int | None:
    """Index of the alpha nearest 2.0 (see the module doc): among those in the recommended
    band when any is, else among all; ties go to the earlier checkpoint."""
    valid = [(i, a) for i, a in enumerate(alphas) if a is not None]
    if not valid:
        return None
    pool = [(i, a) for i, a in valid if _in_recommended(a)] or valid
    return min(pool, key=lambda t: (abs(t[1] - TH.ALPHA_OPTIMAL), t[0]))[0]


def _keep_reason(alphas: Sequence[float | None], labels: Sequence[str], keep: int) -> str:
    ka = alphas[keep]
    assert ka is not None  # keep_index only picks a checkpoint with an alpha
    reason = f"{labels[keep]} has alpha {ka:.2f}, the nearest to {TH.ALPHA_OPTIMAL:.1f}"
    nearer = [a for a in alphas if a is not None and abs(a - TH.ALPHA_OPTIMAL) < abs(ka - TH.ALPHA_OPTIMAL)]
    if nearer:
        reason += (
            f" in the recommended band [{TH.ALPHA_RECOMMENDED_LOW:g}, {TH.ALPHA_RECOMMENDED_HIGH:g}] "
            "(an over-fit checkpoint nearer 2 is not preferred to it)"
        )
    elif ka < TH.ALPHA_RECOMMENDED_LOW and any(a is not None and a > TH.ALPHA_RECOMMENDED_HIGH for a in alphas):
        reason += ", though over-fit (no checkpoint is in the recommended band)"
    return reason


def alpha_pattern(alphas: Sequence[float | None], labels: Sequence[str] | None = None) -> Pattern:
    """Classify how alpha moved over checkpoints given in training order (see the module doc)."""
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
            severity="note",
        )
    # with two or more alphas keep_index always picks a checkpoint, and only one that has an alpha
    assert keep is not None
    keep_reason = _keep_reason(alphas, labels, keep)
    return _classify(valid, labels, keep, keep_reason)


def _classify(valid: list[tuple[int, float]], labels: list[str], keep: int, keep_reason: str) -> Pattern:
    lo, hi, tol = TH.ALPHA_RECOMMENDED_LOW, TH.ALPHA_RECOMMENDED_HIGH, TH.ALPHA_TREND_MIN_CHANGE
    values = [a for _, a in valid]
    first, last = values[0], values[-1]
    seq = " -> ".join(f"{a:.2f}" for a in values)

    if all(lo - tol <= a <= TH.ALPHA_NEAR_OPTIMAL_HIGH + tol for a in values):
        return Pattern(
            "stable",
            "STABLE NEAR THE OPTIMUM",
            f"alpha stayed in the excellent band around {TH.ALPHA_OPTIMAL:g} ({seq}): the network is well trained "
            "and training has settled there",
            keep,
            keep_reason,
        )
    if all(a < lo for a in values):
        return Pattern(
            "overfit",
            "OVER-FIT THROUGHOUT",
            f"every checkpoint already has alpha below {lo:g} ({seq}): look for an earlier checkpoint",
            keep,
            f"{labels[keep]} is the least over-fit (alpha {values[[i for i, _ in valid].index(keep)]:.2f})",
            severity="bad",
        )
    if last < lo:
        good = [k for k, a in enumerate(values) if _in_recommended(a)]
        if good:
            dropped = next(k for k in range(good[0] + 1, len(values)) if values[k] < lo)
            return Pattern(
                "overtraining",
                "OVERTRAINING",
                f"alpha came down into the recommended band and then fell below {lo:g} from "
                f"{labels[valid[dropped][0]]} on ({seq}): the later checkpoints are over-fit; early stopping would "
                "have helped",
                keep,
                keep_reason + f"; stop training once alpha drops below {lo:g}",
                severity="bad",
            )
        before = max(k for k, a in enumerate(values[:-1]) if a >= lo)
        after = next(k for k in range(before + 1, len(values)) if values[k] < lo)
        return Pattern(
            "overshoot",
            "PASSED THE OPTIMUM UNSEEN",
            f"alpha went from {values[before]:.2f} at {labels[valid[before][0]]} to {values[after]:.2f} at "
            f"{labels[valid[after][0]]} ({seq}), from above the recommended band [{lo:g}, {hi:g}] to over-fit, with "
            f"no checkpoint in between: the best moment lies between {labels[valid[before][0]]} and "
            f"{labels[valid[after][0]]}; save checkpoints more often there",
            keep,
            keep_reason,
            severity="warn",
        )
    if all(a > hi for a in values):
        fall = first - last
        if fall <= tol or fall < last - hi:  # at this pace, as much training again stays above the band
            moving = f"; it fell {fall:.2f}, which at this pace does not reach {hi:g} soon" if fall > tol else ""
            return Pattern(
                "not_learning",
                "NOT LEARNING",
                f"alpha stays above the recommended band ({seq}; above {hi:g} is under-trained, above "
                f"{TH.ALPHA_UNDERTRAINED_HIGH:g} random-like): the network is not learning effectively{moving}",
                keep,
                keep_reason + " (but none of them is well trained)",
                NOT_LEARNING_CHECKS,
                severity="bad",
            )
    dips = [labels[i] for i, a in valid[:-1] if a < lo - tol]
    dip_note = f"; it dipped below {lo:g} at {', '.join(dips)}, so watch for over-fitting" if dips else ""
    if last < first - tol:
        tail = ""
        if last > hi:
            tail = f"; it is still above {hi:g}, so more training should help"
        elif last <= TH.ALPHA_NEAR_OPTIMAL_HIGH:
            tail = f"; {labels[keep]} is close to the optimum"
        return Pattern(
            "healthy",
            "HEALTHY PROGRESSION",
            f"alpha falls towards {TH.ALPHA_OPTIMAL:g} ({seq}): the network keeps learning useful structure{tail}"
            f"{dip_note}",
            keep,
            keep_reason,
            severity="note" if dips else "ok",
        )
    if last > first + tol:
        inside = last <= hi
        where = (
            f"; it is still in the recommended band [{lo:g}, {hi:g}], so watch whether it keeps rising"
            if inside
            else f"; it has left the recommended band (above {hi:g})"
        )
        return Pattern(
            "rising",
            "ALPHA RISING",
            f"alpha went up ({seq}): the weights are becoming more random-like, which points to forgetting or an "
            f"unstable optimiser (learning rate too high?){where}{dip_note}",
            keep,
            keep_reason,
            severity="note" if inside else "warn",
        )
    return Pattern(
        "flat",
        "FLAT",
        f"alpha hardly changed ({seq}): training has settled, or stalled{dip_note}",
        keep,
        keep_reason,
        severity="note" if dips else "ok",
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
                "severity": p.severity,
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
