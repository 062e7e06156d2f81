"""Helpers shared by every figure builder: colours, the base look, the empty figure.

Pure functions only: plain data in, ``go.Figure`` (or plain data) out, no I/O, no globals
that change. Every tab's builders use :func:`base_layout` so the dashboard reads as one
piece, and :func:`empty_figure` so a panel with nothing to show says so in words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go

#: Okabe-Ito palette: distinguishable with the common forms of colour blindness.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#CC79A7",  # purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",
)
MUTED = "#6c757d"
#: Signed values on every chart: positive blue, negative red (the ends of the diverging scale).
POSITIVE, NEGATIVE = "#2166ac", "#b2182b"
GRID = "#e9ecef"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

#: Plotly config shared by all dashboard graphs: no Plotly logo or cloud links, and
#: nothing that would fetch from the internet.
GRAPH_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


#: The dashboard's Plotly template: a few settings in the spirit of "plotly_white", much
#: cheaper to apply (a full built-in template costs tens of milliseconds per figure, on
#: every poll). Built once, never modified.
TEMPLATE = go.layout.Template(
    layout=go.Layout(
        colorway=list(PALETTE),
        font=dict(family=FONT, color="#212529"),
        paper_bgcolor="white",
        plot_bgcolor="white",
        hoverlabel=dict(align="left", font=dict(family=FONT)),
        xaxis=dict(
            gridcolor=GRID, linecolor="#ced4da", zeroline=False, ticks="", automargin=True, title=dict(standoff=8)
        ),
        yaxis=dict(
            gridcolor=GRID, linecolor="#ced4da", zeroline=False, ticks="", automargin=True, title=dict(standoff=8)
        ),
    )
)


def color(index: int) -> str:
    """The colour of the ``index``-th series (an action, a layer, ...), cycling the palette:
    action ``a`` has ``color(a)`` on every tab."""
    return PALETTE[index % len(PALETTE)]


#: Numbers shown in hover boxes, as a d3 format: four significant digits, like :func:`fmt`.
HOVER_NUMBER = ".4~g"


def fmt(v) -> str:
    """Every number the dashboard writes out (cards, tables, inspectors, chart labels):
    four significant digits ("12.35", "0.001234"), powers of ten outside 0.001 to 10,000
    ("1.23e+04"), and "–" for a missing or non-finite value. ``assets/network_graph.js``
    writes the canvas's numbers by the same rule."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(f):
        return "–"
    if f == 0:
        return "0"  # also for -0.0, as the canvas writes it
    r = abs(float(f"{f:.4g}"))  # the range is judged after rounding: 9999.96 is "1.00e+04", not "1e+04"
    if r != 0 and (r < 1e-3 or r >= 1e4):
        return f"{f:.2e}"
    return f"{f:.4g}"


def percent(share) -> str:
    """A share (0.25) as a percentage ("25%"; "2.5%" below ten per cent); "–" when missing."""
    try:
        p = 100 * float(share)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(p):
        return "–"
    return f"{p:.1f}%" if abs(p) < 10 and p != 0 else f"{p:.0f}%"


def rgba(hex_color: str, alpha: float) -> str:
    """``"#0072B2"`` -> ``"rgba(0,114,178,alpha)"``, for translucent fills."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"


def clean(values: Iterable) -> list:
    """A list safe for JSON and Plotly: NaN, infinities and missing values become None
    (Plotly draws a gap there instead of failing or drawing a spike)."""
    out: list[float | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            out.append(None)
            continue
        out.append(f if math.isfinite(f) else None)
    return out


def finite(v) -> float | None:
    """``v`` as a finite float, else None (missing, junk, NaN or infinite)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def as_floats(values) -> np.ndarray:
    """Any array-like of numbers as a flat float64 array."""
    return np.asarray(values, dtype=np.float64).reshape(-1)


def has_numbers(values: Iterable) -> bool:
    """True if at least one value is a finite number."""
    return any(v is not None for v in clean(values))


def base_layout(fig: go.Figure, *, height: int = 320, legend: bool = True) -> go.Figure:
    """Apply the dashboard's common look to ``fig`` (in place) and return it."""
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        margin=dict(l=52, r=16, t=16, b=40),
        font=dict(family=FONT, size=12, color="#212529"),
        showlegend=legend,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0, font=dict(size=11)),
        hovermode="x unified",
        # Keep zoom/pan and legend clicks when the figure is replaced by a newer one.
        uirevision="keep",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="white",
    )
    return fig


def empty_figure(message: str, *, height: int = 320) -> go.Figure:
    """A figure with no data and ``message`` written in its middle.

    Used before the first record arrives, for a run that cannot be read, and for input
    that holds no finite number -- never a blank box.
    """
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        margin=dict(l=16, r=16, t=16, b=16),
        font=dict(family=FONT, size=13, color=MUTED),
        xaxis=dict(visible=False),
        yaxis=dict(visible=False),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        meta={"empty": True},
        annotations=[
            dict(
                text=message,
                xref="paper",
                yref="paper",
                x=0.5,
                y=0.5,
                showarrow=False,
                font=dict(size=14, color=MUTED),
            )
        ],
    )
    return fig


def is_empty_figure(fig: go.Figure | dict) -> bool:
    """True for figures made by :func:`empty_figure` (handy in tests and callbacks)."""
    layout = fig["layout"] if isinstance(fig, dict) else fig.layout
    meta = layout["meta"] if isinstance(layout, dict) else layout.meta
    return isinstance(meta, dict) and bool(meta.get("empty"))
