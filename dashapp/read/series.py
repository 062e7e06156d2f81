"""Reading growing series for charts: downsampling to what a screen can show, always
keeping the newest record (as TensorBoard does), rolling windows, and where a page's chart
stands (:class:`Position`) so a poll reads only what is new.

Pure functions on numbers; the step and episode readers build on them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Most records one poll reads from a series; a page further behind redraws from the
#: (downsampled) history instead, so a poll stays fast.
MAX_TICK_RECORDS = 2_000


@dataclass(frozen=True)
class Position:
    """How far a page's chart has drawn a series: the newest record drawn (``seq``), the
    downsampling ``stride``, and (step charts) the number of actions drawn."""

    seq: int = -1
    stride: int = 1
    n_actions: int = 0


def stride_for(count: int, max_points: int) -> int:
    """Records per chart point so that ``count`` records fit in ``max_points`` points."""
    return max(1, math.ceil(max(count, 0) / max(max_points, 1)))


def pick_indices(start: int, stop: int, stride: int) -> np.ndarray:
    """Every ``stride``-th index of ``range(start, stop)``, counted back from the newest,
    so the newest record (``stop - 1``) is always among them. Oldest first."""
    if stop <= start:
        return np.zeros(0, dtype=int)
    return np.arange(stop - 1, start - 1, -max(1, stride))[::-1].copy()


def rolling_at(values: np.ndarray, indices: np.ndarray, window: int, how: str) -> np.ndarray:
    """``how`` (mean/min/max) over the ``window`` rows ending at each of ``indices``.

    ``values`` is (n,) or (n, k) with NaN for missing numbers; NaNs are ignored, and a
    window holding no number gives NaN. Near the start, the window is shorter.
    """
    values = np.asarray(values, dtype=float)
    squeeze = values.ndim == 1
    if squeeze:
        values = values[:, None]
    if len(indices) == 0:
        empty = np.zeros((0, values.shape[1]))
        return empty[:, 0] if squeeze else empty
    window = max(1, int(window))
    padded = np.concatenate([np.full((window - 1, values.shape[1]), np.nan), values])
    # windows[i] covers values[i - window + 1 .. i]; shape (n, k, window)
    windows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)[np.asarray(indices)]
    funcs: dict[str, Any] = {"mean": np.nanmean, "min": np.nanmin, "max": np.nanmax}
    func = funcs[how]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window is fine: NaN
        out = func(windows, axis=-1)
    return out[:, 0] if squeeze else out


def number(v: Any) -> float:
    """A stored value as a float; NaN for a missing value, a bool or junk."""
    if isinstance(v, bool) or v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def int_or(value: Any, fallback: int) -> int:
    v = number(value)
    return int(v) if math.isfinite(v) else int(fallback)


def floats(values: Any) -> np.ndarray:
    """A JSON list of numbers as a float array, None/junk as NaN."""
    if not isinstance(values, (list, tuple)):
        return np.zeros(0)
    return np.array([number(v) for v in values], dtype=np.float64)


def rows_since(
    s, series: str, drawn: Position | None, max_points: int, window: int, span: int
) -> tuple[list[dict], int, int] | None:
    """The records a tick of a chart drawn up to ``drawn`` needs: ``(rows, index of the
    first new one, stride)`` -- no rows when nothing is new.

    ``rows`` starts ``window - 1`` records before the first new one, so moving averages
    continue across the cursor. None means "redraw from the history": nothing is drawn
    yet (``drawn`` None) while records exist, the series restarted (the cursor is ahead
    of it) or the page fell too far behind. The stride only grows, in step with how much
    history the chart covers (at most ``span`` records), so a long run keeps a stable
    number of points.
    """
    if drawn is None:
        return ([], 0, 1) if s.last_seq(series) < 0 else None
    seq, stride = drawn.seq, drawn.stride
    last = s.last_seq(series)
    if last < seq:
        return None
    stride = max(int(stride), stride_for(min(last + 1, span), max_points))
    if last == seq:
        return [], 0, stride
    if last - seq > min(stride * max_points, MAX_TICK_RECORDS):
        return None
    rows = s.read(series, after=max(-1, seq - window + 1))
    first_new = next((i for i, r in enumerate(rows) if r["seq"] > seq), len(rows))
    return rows, first_new, stride
