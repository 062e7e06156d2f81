"""The probe's statistics: pure functions from captured tensors to typed layer records.

Everything is computed in bulk with torch ops over all pending samples at once (a
publish turns dozens of samples into records in one go), then converted to plain numbers.
No state, no hooks: :mod:`rl.probe.capture` fills the tensors, :mod:`rl.probe.probe`
calls these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from health import live_rules as R
from health import thresholds as TH
from rl import telemetry as T


def finite_or_none(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def batched_histograms(rows: torch.Tensor, bins: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per row of ``rows`` (k, n): counts over ``bins`` equal bins from the row's min to
    its max -- all rows at once. Returns (counts (k, bins), lo (k,), hi (k,))."""
    lo, hi = rows.amin(dim=1), rows.amax(dim=1)
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    idx = ((rows - lo[:, None]) / span[:, None] * bins).floor().clamp_(0, bins - 1)
    idx = torch.nan_to_num(idx, nan=0.0).long()
    counts = torch.zeros(rows.shape[0], bins).scatter_add_(1, idx, torch.ones_like(rows))
    return counts, lo, lo + span


def activation_layer(
    name: str, activation: str, fresh: torch.Tensor, window: np.ndarray, bins: int
) -> T.ActivationLayer:
    """One hidden layer's record from its ``fresh`` samples since the last publish
    ((new, size)) and the ``window`` of recent samples its neuron states rest on."""
    flat = fresh.reshape(-1)
    finite = flat[torch.isfinite(flat)]
    mean = std = mn = mx = lo = hi = None
    hist = [0] * bins
    if finite.numel():
        mean, std, mn, mx = torch.stack(
            [finite.mean(), finite.std(unbiased=False), finite.min(), finite.max()]
        ).tolist()
        lo, hi = (mn - 0.5, mx + 0.5) if mx <= mn else (mn, mx)
        hist = [int(c) for c in torch.histc(finite, bins=bins, min=lo, max=hi).tolist()]
    summary = R.summarize_neurons(window, activation)
    return T.ActivationLayer(
        name=name,
        activation=activation,
        size=int(fresh.shape[1]),
        samples=int(fresh.shape[0]),
        mean=mean,
        std=std,
        min=mn,
        max=mx,
        hist=hist,
        hist_lo=lo,
        hist_hi=hi,
        window=summary["window"],
        dead=summary["dead"],
        saturated=summary["saturated"],
        always_active=summary["always_active"],
        states=summary["states"],
        nonfinite=int(flat.numel() - finite.numel()),
    )


def output_summary(outputs: torch.Tensor) -> tuple[list[float], float | None, float | None]:
    """Of the network's outputs at the fresh samples ((new, outputs)): the largest |output|
    of each sample, the largest of them, and the mean finite output."""
    per_sample = outputs.abs().amax(dim=1)
    finite = outputs[torch.isfinite(outputs)]
    largest = finite_or_none(float(per_sample.max())) if per_sample.numel() else None
    return per_sample.tolist(), largest, float(finite.mean()) if finite.numel() else None


def gradient_layers(
    rows: torch.Tensor, seen: torch.Tensor, params: Sequence[tuple[int, int, int]], names: Sequence[str]
) -> tuple[list[list[T.GradientLayer]], list[float | None]]:
    """Per gradient sample (a row of ``rows``: every parameter's gradient, flattened side by
    side), each layer's gradient figures and the total norm.

    ``params`` are ``(layer index, start, end)`` column ranges; ``seen`` (samples, params)
    says which parameters' gradients the sample caught (a layer without any is left out).
    """
    k, n_layers = rows.shape[0], len(names)
    s1, mx, s, s2, cnt = (torch.zeros(k, n_layers) for _ in range(5))
    for j, (li, a, b) in enumerate(params):
        seg = rows[:, a:b]
        m = seen[:, j]
        absseg = seg.abs()
        s1[:, li] += torch.where(m, absseg.sum(dim=1), 0.0)
        mx[:, li] = torch.maximum(mx[:, li], torch.where(m, absseg.amax(dim=1), 0.0))
        s[:, li] += torch.where(m, seg.sum(dim=1), 0.0)
        s2[:, li] += torch.where(m, (seg * seg).sum(dim=1), 0.0)
        cnt[:, li] += m.float() * (b - a)
    safe = cnt.clamp(min=1.0)
    std = (s2 / safe - (s / safe) ** 2).clamp(min=0.0).sqrt()
    table = torch.stack([s2.sqrt(), s1 / safe, mx, std], dim=2).tolist()
    has, totals = (cnt > 0).tolist(), s2.sum(dim=1).sqrt().tolist()
    samples = []
    for r in range(k):
        layers = []
        for j, name in enumerate(names):
            if has[r][j]:
                norm, mean_abs, max_abs, sd = table[r][j]
                layers.append(
                    T.GradientLayer(
                        name=name,
                        norm=finite_or_none(norm),
                        mean_abs=finite_or_none(mean_abs),
                        max_abs=finite_or_none(max_abs),
                        std=finite_or_none(sd),
                        finite=math.isfinite(norm),
                    )
                )
        samples.append(layers)
    return samples, [finite_or_none(t) for t in totals]


def weight_layers(
    rows: torch.Tensor,
    previous: torch.Tensor | None,
    slices: Sequence[tuple[int, int]],
    names: Sequence[str],
    bins: int,
) -> list[list[T.WeightLayer]]:
    """Per weight sample (a row of ``rows``: every layer's weights side by side), each
    layer's weight figures; the update velocity is measured against the sample before
    (``previous`` for the first row; None: there was none)."""
    k = rows.shape[0]
    prev = torch.cat(
        [previous[None] if previous is not None else torch.full((1, rows.shape[1]), float("nan")), rows[:-1]]
    )
    per_layer = []
    for a, b in slices:
        seg, before = rows[:, a:b], prev[:, a:b]
        norm = torch.linalg.vector_norm(seg, dim=1)
        velocity = torch.linalg.vector_norm(seg - before, dim=1) / torch.linalg.vector_norm(before, dim=1)
        counts, lo, hi = batched_histograms(seg, bins)
        stats = torch.stack(
            [
                seg.mean(dim=1),
                seg.std(dim=1, unbiased=False) if b - a > 1 else torch.zeros(k),
                seg.amin(dim=1),
                seg.amax(dim=1),
                (seg.abs() < TH.LIVE_NEAR_ZERO_WEIGHT).sum(dim=1).float(),
                norm,
                velocity,
                lo,
                hi,
            ],
            dim=1,
        )
        per_layer.append((stats.tolist(), counts.tolist()))
    samples = []
    for r in range(k):
        layers = []
        for j, name in enumerate(names):
            mean, std, mn, mx, near_zero, norm, velocity, lo, hi = per_layer[j][0][r]
            layers.append(
                T.WeightLayer(
                    name=name,
                    size=int(slices[j][1] - slices[j][0]),
                    mean=finite_or_none(mean),
                    std=finite_or_none(std),
                    min=finite_or_none(mn),
                    max=finite_or_none(mx),
                    near_zero=int(near_zero),
                    norm=finite_or_none(norm),
                    velocity=finite_or_none(velocity),
                    hist=[int(c) for c in per_layer[j][1][r]],
                    hist_lo=finite_or_none(lo),
                    hist_hi=finite_or_none(hi),
                )
            )
        samples.append(layers)
    return samples
