"""The results of a diagnosis as plain data: per layer, per network (with its summary) and per checkpoint.

:class:`LayerHealth`, :class:`NetworkHealth` and :class:`CheckpointHealth` hold what the
analysis (:mod:`health.diagnosis`) found, derive the summary figures and verdicts from it
and turn it into flat rows and JSON-able dicts; nothing here computes a metric or prints.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from health.dead import DeadNeurons
from health.issues import Issue
from health.metrics import WW_EXTRA_COLUMNS, LayerMetrics
from health.verdicts import Verdict, alpha_verdict, dead_verdict, spectral_verdict, stable_rank_verdict

__all__ = ["CheckpointHealth", "LayerHealth", "NetworkHealth"]


@dataclass
class LayerHealth:
    """Everything known about one layer: shape, WeightWatcher metrics, verdicts, dead units."""

    network: str
    index: int
    name: str
    kind: str
    shape: tuple[int, ...]
    metrics: LayerMetrics
    hidden: bool
    units: int | None = None  # hidden units counted for dead neurons (None: output layer)
    dead: int | None = None
    dead_units: list[int] = field(default_factory=list)
    dead_samples: int | None = None  # inputs the activation method ran (None: weight method)
    dead_confidence: str | None = None  # "low" / "normal" (health.dead.DeadNeurons.confidence)

    @property
    def alpha_verdict(self) -> Verdict | None:
        return alpha_verdict(self.metrics.alpha) if self.metrics.analysed else None

    @property
    def confidence(self) -> str | None:
        if not self.metrics.analysed:
            return None
        return "weak" if self.metrics.weak_confidence else "normal"

    @property
    def stable_rank_verdict(self) -> Verdict | None:
        return stable_rank_verdict(self.metrics.stable_rank_ratio)

    @property
    def spectral_verdict(self) -> Verdict | None:
        return spectral_verdict(self.metrics.log_spectral_norm)

    def to_row(self) -> dict[str, Any]:
        """One flat dict (a CSV row / a dashboard table row); missing values are None."""
        m = self.metrics
        av, sv, spv = self.alpha_verdict, self.stable_rank_verdict, self.spectral_verdict
        row: dict[str, Any] = {
            "network": self.network,
            "layer": self.name,
            "layer_index": self.index,
            "kind": self.kind,
            "shape": "x".join(str(s) for s in self.shape),
            "num_evals": m.num_evals,
            "analysed": m.analysed,
            "not_analysed_reason": m.reason,
            "alpha": m.alpha,
            "alpha_verdict": av.key if av else None,
            "confidence": self.confidence,
            "alpha_weighted": m.alpha_weighted,
            "log_norm": m.log_norm,
            "log_spectral_norm": m.log_spectral_norm,
            "spectral_verdict": spv.key if spv else None,
            "stable_rank": m.stable_rank,
            "full_rank": m.full_rank,
            "stable_rank_ratio": m.stable_rank_ratio,
            "stable_rank_verdict": sv.key if sv else None,
            "hidden": self.hidden,
            "units": self.units,
            "dead_neurons": self.dead,
            "dead_ratio": (self.dead / self.units) if (self.units and self.dead is not None) else None,
            "dead_samples": self.dead_samples if self.units is not None else None,
            "dead_confidence": self.dead_confidence if self.units is not None else None,
        }
        for col in WW_EXTRA_COLUMNS:
            row[f"ww_{col}"] = m.extra.get(col)
        return row


@dataclass
class NetworkHealth:
    """The analysis of one network: per-layer rows, a summary and potential issues."""

    name: str
    layers: list[LayerHealth]
    dead: DeadNeurons
    issues: list[Issue]
    ignored: list[tuple[str, tuple[int, ...], str]] = field(default_factory=list)
    graph_problem: str | None = None

    # --- summary (all over analysed layers; None when there are none) -----------------
    @property
    def analysed_layers(self) -> list[LayerHealth]:
        return [lh for lh in self.layers if lh.metrics.analysed]

    def _stat(self, fn, attr: str, only_analysed: bool = True) -> float | None:
        """``fn`` (mean, min, ...) of the finite values of the metric ``attr`` over the analysed
        layers (over every layer with ``only_analysed=False``); None when there are none."""
        rows = self.analysed_layers if only_analysed else self.layers
        vals = [float(v) for v in (getattr(lh.metrics, attr) for lh in rows) if v is not None and math.isfinite(v)]
        return float(fn(vals)) if vals else None

    @property
    def alpha(self) -> float | None:
        """Overall alpha: the mean alpha of the analysed layers (WeightWatcher's
        ``get_summary()["alpha"]`` when every layer fitted)."""
        return self._stat(np.mean, "alpha")

    @property
    def alpha_verdict(self) -> Verdict | None:
        return alpha_verdict(self.alpha)

    @property
    def alpha_confidence(self) -> str | None:
        rows = self.analysed_layers
        if not rows:
            return None
        return "weak" if all(lh.metrics.weak_confidence for lh in rows) else "normal"

    @property
    def weak_layers(self) -> list[LayerHealth]:
        return [lh for lh in self.analysed_layers if lh.metrics.weak_confidence]

    @property
    def alpha_min(self) -> float | None:
        return self._stat(min, "alpha")

    @property
    def alpha_max(self) -> float | None:
        return self._stat(max, "alpha")

    @property
    def alpha_std(self) -> float | None:
        """Spread of alpha across analysed layers (population standard deviation)."""
        return self._stat(np.std, "alpha")

    @property
    def log_spectral_norm_mean(self) -> float | None:
        """Mean over every layer WeightWatcher measured (a failed fit still has norms)."""
        return self._stat(np.mean, "log_spectral_norm", only_analysed=False)

    @property
    def stable_rank_mean(self) -> float | None:
        return self._stat(np.mean, "stable_rank", only_analysed=False)

    @property
    def stable_rank_ratio_mean(self) -> float | None:
        return self._stat(np.mean, "stable_rank_ratio", only_analysed=False)

    @property
    def dead_verdict(self) -> Verdict | None:
        return dead_verdict(self.dead.ratio)

    def rows(self) -> list[dict[str, Any]]:
        return [lh.to_row() for lh in self.layers]

    def summary(self) -> dict[str, Any]:
        """The headline figures as one flat dict (JSON-able)."""
        av, dv = self.alpha_verdict, self.dead_verdict
        return {
            "network": self.name,
            "alpha": self.alpha,
            "alpha_verdict": av.key if av else None,
            "alpha_confidence": self.alpha_confidence,
            "alpha_min": self.alpha_min,
            "alpha_max": self.alpha_max,
            "alpha_std": self.alpha_std,
            "log_spectral_norm_mean": self.log_spectral_norm_mean,
            "stable_rank_mean": self.stable_rank_mean,
            "stable_rank_ratio_mean": self.stable_rank_ratio_mean,
            "layers": len(self.layers),
            "layers_analysed": len(self.analysed_layers),
            "dead_method": self.dead.method,
            "dead_neurons": self.dead.dead,
            "hidden_units": self.dead.total,
            "dead_ratio": self.dead.ratio,
            "dead_verdict": dv.key if dv else None,
            "dead_samples": self.dead.samples_used,
            "dead_confidence": self.dead.confidence,
            "issues": [i.text for i in self.issues],
        }


@dataclass
class CheckpointHealth:
    """The analysis of one checkpoint file."""

    path: str
    format_label: str
    step: int | None
    env_id: str | None
    networks: dict[str, NetworkHealth]
    issues: list[Issue] = field(default_factory=list)  # across networks (actor vs critic)
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return os.path.basename(self.path)

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-able plain data (for a store or a dashboard callback)."""
        networks = {}
        for name, h in self.networks.items():
            samples = h.dead.samples
            networks[name] = {
                "summary": h.summary(),
                "layers": h.rows(),
                "issues": [{"severity": i.severity, "text": i.text} for i in h.issues],
                "dead_inputs": samples.description if samples is not None else None,
                "dead_note": h.dead.note,
            }
        return {
            "path": self.path,
            "label": self.label,
            "format": self.format_label,
            "step": self.step,
            "env_id": self.env_id,
            "notes": list(self.notes),
            "issues": [{"severity": i.severity, "text": i.text} for i in self.issues],
            "networks": networks,
        }
