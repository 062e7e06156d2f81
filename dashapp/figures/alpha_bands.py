"""The WeightWatcher alpha bands, shaded behind any chart whose y axis is alpha.

One place for the bands both the Health tab (alpha over training) and the Compare tab
(alpha across checkpoints) draw: over-fit below 2, recommended 2-5 (best near 2),
under-trained 5-6, random-like above 6. The edges are the thresholds the verdicts use
(``health.thresholds``), so a shaded band and a verdict never disagree. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from health import thresholds as TH


@dataclass(frozen=True)
class AlphaBand:
    """One band of alpha values, from ``low`` to ``high`` (None: unbounded); a value on an
    edge takes the verdict ``health.alpha_verdict`` gives it."""

    low: float | None
    high: float | None
    label: str
    fill: str


#: From the bottom of the axis up. The colours follow the verdicts' (green: good, amber:
#: watch, red: act), kept pale so the lines stay readable on top.
ALPHA_BANDS: tuple[AlphaBand, ...] = (
    AlphaBand(None, TH.ALPHA_RECOMMENDED_LOW, "over-fit (< 2)", "rgba(220, 53, 69, 0.10)"),
    AlphaBand(TH.ALPHA_RECOMMENDED_LOW, TH.ALPHA_NEAR_OPTIMAL_HIGH, "near optimal (≈ 2)", "rgba(25, 135, 84, 0.16)"),
    AlphaBand(TH.ALPHA_NEAR_OPTIMAL_HIGH, TH.ALPHA_RECOMMENDED_HIGH, "recommended (2-5)", "rgba(25, 135, 84, 0.07)"),
    AlphaBand(TH.ALPHA_RECOMMENDED_HIGH, TH.ALPHA_UNDERTRAINED_HIGH, "under-trained (5-6)", "rgba(255, 193, 7, 0.14)"),
    AlphaBand(TH.ALPHA_UNDERTRAINED_HIGH, None, "random-like (> 6)", "rgba(220, 53, 69, 0.07)"),
)

#: The alpha axis's default span: every band shows, with room above the random-like edge.
ALPHA_AXIS = (0.0, TH.ALPHA_RANDOM_TYPICAL + 1.0)


def alpha_axis_range(values) -> list[float]:
    """The y range for ``values`` (alphas, None skipped): at least :data:`ALPHA_AXIS`,
    widened to hold every value with a margin."""
    finite = [float(v) for v in values if v is not None]
    low, high = ALPHA_AXIS
    if finite:
        low, high = min(low, min(finite) - 0.3), max(high, max(finite) + 0.5)
    return [low, high]


def shade_alpha_bands(fig: go.Figure, *, row: int | None = None, col: int | None = None, labels: bool = True) -> None:
    """Shade the alpha bands behind ``fig``'s data (one subplot with ``row``/``col``), the
    band's name at its right edge when ``labels``. Unbounded bands reach the plot's edge."""
    where = {"row": row, "col": col} if row is not None else {}
    bottom, top = ALPHA_AXIS[0] - 100.0, ALPHA_AXIS[1] + 100.0  # beyond any axis range in use
    for band in ALPHA_BANDS:
        low = bottom if band.low is None else band.low
        high = top if band.high is None else band.high
        fig.add_hrect(y0=low, y1=high, fillcolor=band.fill, line_width=0, layer="below", **where)
        if labels:
            at = (max(low, ALPHA_AXIS[0]) + min(high, ALPHA_AXIS[1])) / 2
            fig.add_annotation(
                x=1.0,
                xref="x domain",
                y=at,
                text=band.label,
                showarrow=False,
                xanchor="right",
                font={"size": 10, "color": "#6c757d"},
                **where,
            )


__all__ = ["ALPHA_AXIS", "ALPHA_BANDS", "AlphaBand", "alpha_axis_range", "shade_alpha_bands"]
