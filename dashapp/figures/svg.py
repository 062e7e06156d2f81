"""Small charts as SVG text, for the Network tab's inspector (numpy only, no I/O).

A click on a neuron shows four small charts. Drawn by Plotly they cost the browser
60-150 ms (one figure per chart, or one with four subplots: Plotly's cost grows with the
number of axes), most of the 200 ms a click may take. Written here as SVG, the browser
shows them as images in a millisecond or two, and each is already a file to export.

Every builder takes plain numbers and returns a complete ``<svg>`` document; NaN and
infinite values are left out (and said so), and an empty input gives a chart that says
why it is empty -- never a blank box. Text from the run (feature and action names) is
escaped. :func:`data_uri` makes an ``<img src>`` of one.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from dashapp.figures.common import NEGATIVE, POSITIVE, fmt

WIDTH, HEIGHT = 400, 190
#: Plot area inside the chart: left, right, top, bottom margins (px of the viewBox).
LEFT, RIGHT, TOP, BOTTOM = 46, 12, 30, 34
INK, MUTED, GRID = "#1f2933", "#6c757d", "#e5e8ec"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"


# --------------------------------------------------------------------------- helpers
def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """About ``n`` round tick values within [lo, hi] (steps of 1, 2 or 5 x 10^k, the one
    nearest to (hi - lo) / n). A range too narrow or too wide for that (next to the
    float's resolution, or overflowing) gets just its two ends."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    if not (math.isfinite(raw) and raw > 0) or raw < 1e-9 * max(abs(lo), abs(hi)):
        return [lo, hi]
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10)), key=lambda st: abs(math.log(st / raw)))
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    if not step > 0 or last - first > 50:
        return [lo, hi]
    return [0.0 if k == 0 else round(k * step, 12) for k in range(int(first), int(last) + 1)]


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _safe(s: str) -> str:
    """Text from the run (names) as XML character data: escaped, and without the
    characters XML cannot hold (control characters, lone surrogates)."""
    return escape(_NOT_XML.sub("\ufffd", str(s)))


def _text(
    x: float,
    y: float,
    s: str,
    *,
    size: int = 11,
    anchor: str = "start",
    fill: str = INK,
    weight: str = "normal",
    rotate: bool = False,
) -> str:
    turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
        f'font-weight="{weight}"{turn}>{_safe(s)}</text>'
    )


def _document(body: list[str], title: str) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" font-family="{escape(FONT)}">'
        f'<title>{_safe(title)}</title><rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>'
    )
    return head + _text(4, 16, title, size=12, weight="bold") + "".join(body) + "</svg>"


TOO_FAR_APART = "values too far apart to chart"


def _chartable(lo: float, hi: float) -> bool:
    """False when the span of the values overflows (e.g. -1e308 ... 1e308)."""
    return math.isfinite((hi - lo) * 2)


def _widen(lo: float, hi: float) -> tuple[float, float]:
    """A range with room in it: one value (or as good as one) becomes a band around it."""
    if hi - lo > 1e-9 * max(abs(lo), abs(hi), 1e-300):
        return lo, hi
    pad = max(0.5, 1e-6 * max(abs(lo), abs(hi)))
    return lo - pad, hi + pad


class _Scale:
    """Maps data values to viewBox pixels along one axis."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float):
        lo, hi = _widen(lo, hi)
        self.lo, self.hi, self.p0, self.p1 = lo, hi, p0, p1

    def __call__(self, v) -> Any:  # an array of pixels for an array of values, else one number
        return self.p0 + (np.asarray(v, dtype=float) - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)


def _y_axis(scale: _Scale, label: str) -> list[str]:
    out = []
    for t in nice_ticks(scale.lo, scale.hi):
        y = float(scale(t))
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(_text(LEFT - 4, y + 3.5, fmt(t), size=10, anchor="end", fill=MUTED))
    out.append(_text(11, (TOP + HEIGHT - BOTTOM) / 2, label, size=10, anchor="middle", fill=MUTED, rotate=True))
    return out


def _range(values: np.ndarray, include_zero: bool = False) -> tuple[float, float]:
    lo, hi = float(values.min()), float(values.max())
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = (hi - lo) * 0.06 if hi > lo else 0.5
    return lo - (0 if include_zero and lo == 0 else pad), hi + (0 if include_zero and hi == 0 else pad)


def message_chart(title: str, message: str) -> str:
    """A chart that only says why it has nothing to show."""
    return _document([_text(WIDTH / 2, HEIGHT / 2 + 4, message, size=12, anchor="middle", fill=MUTED)], title)


def _finite(values) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values if values is not None else [], dtype=float).reshape(-1)
    return v, np.isfinite(v)


# --------------------------------------------------------------------------- charts
def line_chart(values, title: str, ylabel: str, xlabel: str = "samples ago", empty: str = "no samples yet") -> str:
    """Recent values as a line, oldest left, the newest marked with a dot and its value."""
    v, ok = _finite(values)
    if not ok.any():
        return message_chart(title, empty)
    if not _chartable(float(v[ok].min()), float(v[ok].max())):
        return message_chart(title, TOO_FAR_APART)
    n = v.size
    x = _Scale(-(n - 1), 0, LEFT, WIDTH - RIGHT) if n > 1 else _Scale(-1, 0, LEFT, WIDTH - RIGHT)
    y = _Scale(*_range(v[ok]), HEIGHT - BOTTOM, TOP)
    ages = np.arange(-(n - 1), 1)
    body = _y_axis(y, ylabel)
    # one polyline per run of finite values (a NaN is a gap, not a zero)
    runs, start = [], None
    for i in range(n + 1):
        if i < n and ok[i]:
            start = i if start is None else start
        elif start is not None:
            runs.append((start, i))
            start = None
    for a, b in runs:
        pts = " ".join(f"{px:.1f},{py:.1f}" for px, py in zip(x(ages[a:b]), y(v[a:b])))
        body.append(f'<polyline points="{pts}" fill="none" stroke="{POSITIVE}" stroke-width="1.4"/>')
    last = int(np.flatnonzero(ok)[-1])
    lx, ly = float(x(ages[last])), float(y(v[last]))
    body.append(
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="3.5" fill="{NEGATIVE}"><title>latest: {fmt(v[last])}</title></circle>'
    )
    body.append(_text(WIDTH - RIGHT, TOP - 4, f"latest {fmt(v[last])}", size=10, anchor="end", fill=NEGATIVE))
    for t in nice_ticks(-(n - 1), 0, 4):
        px = float(x(t))
        body.append(_text(px, HEIGHT - BOTTOM + 13, f"{int(round(-t))}", size=10, anchor="middle", fill=MUTED))
    note = f" ({int((~ok).sum())} not finite, left out)" if (~ok).any() else ""
    body.append(
        _text(
            (LEFT + WIDTH - RIGHT) / 2, HEIGHT - 6, f"{xlabel} (last {n}){note}", size=10, anchor="middle", fill=MUTED
        )
    )
    return _document(body, title)


def bar_chart(
    values, names: Sequence[str], title: str, ylabel: str, highlight: int | None = None, empty: str = "nothing to show"
) -> str:
    """One signed bar per name (blue positive, red negative), its value written on it;
    bar ``highlight`` outlined."""
    v, ok = _finite(values)
    if v.size == 0:
        return message_chart(title, empty)
    names = [str(names[i]) if i < len(names) else str(i) for i in range(v.size)]
    if ok.any() and not _chartable(min(float(v[ok].min()), 0.0), max(float(v[ok].max()), 0.0)):
        return message_chart(title, TOO_FAR_APART)
    y = _Scale(*(_range(v[ok], include_zero=True) if ok.any() else (-1.0, 1.0)), HEIGHT - BOTTOM, TOP)
    slot = (WIDTH - LEFT - RIGHT) / v.size
    width = slot * 0.7
    body = _y_axis(y, ylabel)
    zero = float(y(0.0))
    for i, (val, name) in enumerate(zip(v, names)):
        cx = LEFT + slot * (i + 0.5)
        label = name if len(name) <= 14 else name[:13] + "…"
        body.append(_text(cx, HEIGHT - BOTTOM + 13, label, size=10, anchor="middle", fill=INK))
        if not ok[i]:
            body.append(_text(cx, zero - 4, "–", size=10, anchor="middle", fill=MUTED))
            continue
        top, bottom = sorted((float(y(val)), zero))
        outline = ' stroke="#111" stroke-width="2.5"' if i == highlight else ""
        body.append(
            f'<rect x="{cx - width / 2:.1f}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{max(bottom - top, 0.5):.1f}" fill="{NEGATIVE if val < 0 else POSITIVE}"{outline}>'
            f"<title>{_safe(name)}: {fmt(val)}</title></rect>"
        )
        ty = top - 3 if val >= 0 else bottom + 11
        body.append(_text(cx, ty, ("+" if val >= 0 else "") + fmt(val), size=10, anchor="middle", fill=INK))
    body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#999"/>')
    return _document(body, title)


def histogram_chart(values, title: str, xlabel: str = "weight", bins: int = 30, empty: str = "nothing to show") -> str:
    """How the values spread: ``bins`` equal bins (red below zero, blue above), a dotted
    line at zero when zero is in range."""
    v, ok = _finite(values)
    v = v[ok]
    if v.size == 0:
        return message_chart(title, empty)
    lo, hi = float(v.min()), float(v.max())
    if not _chartable(lo, hi):
        return message_chart(title, TOO_FAR_APART)
    lo, hi = _widen(lo, hi)
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    x = _Scale(lo, hi, LEFT, WIDTH - RIGHT)
    y = _Scale(0, float(counts.max()) * 1.08, HEIGHT - BOTTOM, TOP)
    body = _y_axis(y, "count")
    for c, a, b in zip(counts.tolist(), edges[:-1].tolist(), edges[1:].tolist()):
        if not c:
            continue
        x0, x1 = float(x(a)), float(x(b))
        top = float(y(c))
        colour = NEGATIVE if (a + b) / 2 < 0 else POSITIVE
        body.append(
            f'<rect x="{x0 + 0.4:.1f}" y="{top:.1f}" width="{max(x1 - x0 - 0.8, 0.6):.1f}" '
            f'height="{HEIGHT - BOTTOM - top:.1f}" fill="{colour}"><title>{fmt(a)} … {fmt(b)}: {c}'
            f"</title></rect>"
        )
    if lo < 0 < hi:
        zx = float(x(0.0))
        body.append(
            f'<line x1="{zx:.1f}" x2="{zx:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="#999" '
            f'stroke-dasharray="3,3"/>'
        )
    for t in nice_ticks(lo, hi, 4):
        body.append(_text(float(x(t)), HEIGHT - BOTTOM + 13, fmt(t), size=10, anchor="middle", fill=MUTED))
    dropped = int((~ok).sum())
    note = f" ({dropped} not finite, left out)" if dropped else ""
    body.append(
        _text(
            (LEFT + WIDTH - RIGHT) / 2,
            HEIGHT - 6,
            f"{xlabel}: {v.size:,} values{note}",
            size=10,
            anchor="middle",
            fill=MUTED,
        )
    )
    return _document(body, title)


def data_uri(svg: str) -> str:
    """``svg`` as a ``data:`` URI for an ``<img src>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
