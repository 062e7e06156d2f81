"""WeightWatcher metrics per layer, exactly as WeightWatcher's own ``analyze()`` gives them.

We hand WeightWatcher a module holding the rebuilt layers (``layer0``, ``layer1``, ...)
and call ``analyze()`` with its defaults, so every figure we report is WeightWatcher's
own. What we add is bookkeeping WeightWatcher leaves implicit:

* a layer WeightWatcher skips (fewer eigenvalues than its ``min_evals``, 8 by default)
  does not appear in its table at all: we list it as *not analysed*, with the reason
  and its eigenvalue count (taken from WeightWatcher's ``describe()``);
* a failed power-law fit comes back as ``alpha = -1`` and WeightWatcher's own warning
  column then says "over-trained". We list it as *not analysed* (fit failed), keep the
  norm metrics, which do not depend on the fit, and never show alpha or alpha_weighted;
* an infinite alpha (a degenerate, flat spectrum) is treated the same way;
* layers whose weights hold NaN or infinities are not given to WeightWatcher at all.

Stable rank is also given as a share of the full rank, i.e. of the number of
eigenvalues (``min(out, in)`` for a Linear layer), which bounds it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

from health import thresholds as TH
from health.networks import Network, to_torch_module

__all__ = ["WW_EXTRA_COLUMNS", "LayerMetrics", "weightwatcher_metrics", "import_weightwatcher"]

# WeightWatcher columns we copy verbatim next to the main metrics (CSV "every metric").
WW_EXTRA_COLUMNS = (
    "N",
    "M",
    "rf",
    "Q",
    "D",
    "sigma",
    "xmin",
    "xmax",
    "num_pl_spikes",
    "lambda_max",
    "spectral_norm",
    "norm",
    "log_alpha_norm",
    "sv_max",
    "sv_min",
    "matrix_rank",
    "rank_loss",
    "weak_rank_loss",
    "entropy",
    "status",
)


@dataclass
class LayerMetrics:
    """WeightWatcher's figures for one layer (None where there is no meaningful value)."""

    index: int
    name: str
    num_evals: int | None
    analysed: bool  # True: WeightWatcher fitted a power law and alpha is meaningful
    reason: str | None = None  # why not analysed
    alpha: float | None = None
    alpha_weighted: float | None = None
    log_norm: float | None = None
    log_spectral_norm: float | None = None
    stable_rank: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def full_rank(self) -> int | None:
        return self.num_evals

    @property
    def stable_rank_ratio(self) -> float | None:
        if self.stable_rank is None or not self.num_evals:
            return None
        return self.stable_rank / self.num_evals

    @property
    def weak_confidence(self) -> bool:
        return self.analysed and (self.num_evals or 0) < TH.MIN_EVALS_CONFIDENT


def import_weightwatcher():
    """Import weightwatcher with its import-time chatter (printed notes about CUDA and
    SVD back-ends) kept off our output."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import weightwatcher as ww
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    return ww


def _num(value: Any) -> float | None:
    """A finite float, or None (NaN, +-inf, missing)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        with contextlib.suppress(ValueError, TypeError):
            value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _skip_reason(num_evals: int | None, n_max: int | None) -> str:
    from_ww = _ww_constants()
    if num_evals is not None and num_evals < from_ww["min_evals"]:
        return f"too few eigenvalues ({num_evals}; WeightWatcher needs at least {from_ww['min_evals']})"
    if num_evals is not None and num_evals > from_ww["max_evals"]:
        return f"too many eigenvalues ({num_evals}; WeightWatcher's limit is {from_ww['max_evals']})"
    if n_max is not None and n_max > from_ww["max_N"]:
        return f"matrix too large ({n_max} rows; WeightWatcher's limit is {from_ww['max_N']})"
    return "WeightWatcher skipped this layer"


def _ww_constants() -> dict[str, int]:
    from weightwatcher import constants as C

    return {"min_evals": C.DEFAULT_MIN_EVALS, "max_evals": C.DEFAULT_MAX_EVALS, "max_N": C.DEFAULT_MAX_N}


def weightwatcher_metrics(network: Network) -> list[LayerMetrics]:
    """Run WeightWatcher (``analyze()`` with its defaults) on every layer of ``network``
    and return one :class:`LayerMetrics` per layer, in layer order."""
    ww = import_weightwatcher()
    results: dict[int, LayerMetrics] = {}
    finite_idx = [i for i, layer in enumerate(network.layers) if layer.finite]
    for i, layer in enumerate(network.layers):
        if i not in finite_idx:
            results[i] = LayerMetrics(
                i, layer.name, _expected_evals(layer), False, "weights contain NaN or infinite values"
            )
    if finite_idx:
        module = to_torch_module([network.layers[i] for i in finite_idx])
        sink = io.StringIO()  # weightwatcher prints progress notes ("SMALL N PL FIT")
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # weightwatcher's pandas deprecation notices
            watcher = ww.WeightWatcher(model=module, log_level=logging.ERROR)
            described = watcher.describe(min_evals=1)
            details = watcher.analyze()
        described_rows = {str(r["name"]): r for _, r in described.iterrows()} if len(described) else {}
        detail_rows = {str(r["name"]): r for _, r in details.iterrows()} if len(details) else {}
        for pos, i in enumerate(finite_idx):
            layer = network.layers[i]
            key = f"layer{pos}"
            desc = described_rows.get(key)
            num_evals = int(desc["num_evals"]) if desc is not None else _expected_evals(layer)
            row = detail_rows.get(key)
            if row is None:
                n_max = int(desc["N"]) if desc is not None else max(layer.shape[:2])
                results[i] = LayerMetrics(i, layer.name, num_evals, False, _skip_reason(num_evals, n_max))
                continue
            results[i] = _from_row(i, layer.name, row)
    return [results[i] for i in range(len(network.layers))]


def _from_row(index: int, name: str, row: Any) -> LayerMetrics:
    num_evals = int(row["num_evals"])
    alpha = _num(row.get("alpha"))
    status = str(row.get("status", ""))
    extra = {col: _plain(row[col]) for col in WW_EXTRA_COLUMNS if col in row.index}
    metrics = LayerMetrics(
        index=index,
        name=name,
        num_evals=num_evals,
        analysed=True,
        alpha=alpha,
        alpha_weighted=_num(row.get("alpha_weighted")),
        log_norm=_num(row.get("log_norm")),
        log_spectral_norm=_num(row.get("log_spectral_norm")),
        stable_rank=_num(row.get("stable_rank")),
        extra=extra,
    )
    raw_alpha = float(row.get("alpha")) if row.get("alpha") is not None else float("nan")
    if status == "failed" or raw_alpha == TH.WW_FAILED_ALPHA:
        metrics.analysed = False
        metrics.reason = f"power-law fit failed ({num_evals} eigenvalues)"
    elif alpha is None:
        metrics.analysed = False
        metrics.reason = f"power-law fit degenerate (alpha is not finite; {num_evals} eigenvalues, nearly all equal)"
    if not metrics.analysed:
        metrics.alpha = None
        metrics.alpha_weighted = None
    return metrics


def _expected_evals(layer) -> int:
    """Eigenvalue count WeightWatcher would use: min(out, in) x receptive field."""
    shape = layer.shape
    rf = 1
    for s in shape[2:]:
        rf *= int(s)
    return int(min(shape[0], shape[1]) * rf)
