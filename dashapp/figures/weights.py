"""Figure builders for the Weights tab: per-layer weight statistics and the update velocity
||ΔW|| / ||W|| between weight samples, from typed ``rl.telemetry.WeightRecord``s (the
histograms are :mod:`dashapp.figures.histograms`'). Pure: data in, figure or plain data out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from dashapp.figures.gradients import VANISHING_COLOR, lines_extension, log_lines
from dashapp.figures.layers import layer_names, log_line, num
from health import thresholds as TH

#: Velocities below this are drawn at it on the log scale (the hover says the real value).
VELOCITY_DISPLAY_FLOOR = TH.LIVE_VELOCITY_STALL / 100


def weight_stat_rows(record: Any | None) -> list[dict]:
    """The latest weight statistics per layer (plain data for a table)."""
    rows = []
    for layer in record.layers if record is not None else []:
        size = int(layer.size or 0)
        near = layer.near_zero
        rows.append(
            {
                "layer": layer.name,
                "size": size,
                "mean": num(layer.mean),
                "std": num(layer.std),
                "min": num(layer.min),
                "max": num(layer.max),
                "norm": num(layer.norm),
                "near_zero": near,
                "near_zero_share": (near / size) if size and near is not None else None,
                "velocity": num(layer.velocity),
            }
        )
    return rows


def velocity_lines(records: Sequence[Any], names: Sequence[str] | None = None, *, height: int = 320) -> go.Figure:
    """Update velocity ||ΔW|| / ||W|| per layer between weight samples (log scale), with
    the stall line below which the weights count as frozen."""
    fig = log_lines(
        records,
        list(names or layer_names(records)),
        "velocity",
        VELOCITY_DISPLAY_FLOOR,
        height=height,
        empty="Waiting for two weight samples...",
        markers=True,
    )
    if fig.data:
        log_line(fig, TH.LIVE_VELOCITY_STALL, VANISHING_COLOR, "stalled below", above=False)
        fig.update_yaxes(type="log", title_text="‖ΔW‖ / ‖W‖ (log scale)", exponentformat="power")
    return fig


def velocity_lines_extension(records: Sequence[Any], names: Sequence[str], max_points: int) -> list | None:
    return lines_extension(records, names, "velocity", VELOCITY_DISPLAY_FLOOR, max_points)
