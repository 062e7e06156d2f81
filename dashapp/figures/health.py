"""Figure builders for the Health tab, from typed ``rl.telemetry.HealthRecord``\\ s (the
health watch's analyses, oldest first): a card per network, the per-layer table, alpha per
layer over training on the alpha bands, stable-rank and dead-neuron shares over training,
the pattern so far with the checkpoint to keep, the early-stopping signal, and a sentence
on what the watch is doing. Pure: data in, figure or plain data out.

The pattern and the checkpoint to keep are ``health.compare.alpha_pattern``'s, over the
network's overall alpha per analysis (the keep only among analyses at checkpoints, so it
names a file there is).
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from dashapp.figures.alpha_bands import alpha_axis_range, shade_alpha_bands
from dashapp.figures.common import HOVER_NUMBER, base_layout, color, empty_figure, finite
from health import alpha_pattern
from health import thresholds as TH
from rl import telemetry as T

__all__ = [
    "OVERALL",
    "SERIES",
    "SEVERITY_ORDER",
    "alpha_figure",
    "alpha_points",
    "early_stop",
    "layer_rows",
    "network_cards",
    "pattern_view",
    "series_names",
    "series_points",
    "share_figure",
    "watch_summary",
]

#: The trace of the network's overall alpha (the mean of its analysed layers').
OVERALL = "overall"
#: What each over-training chart plots per layer.
SERIES = {"alpha": "alpha", "stable_rank": "stable_rank_share", "dead": "dead_share"}
SEVERITY_ORDER = ("ok", "note", "warn", "bad")


def _severity(*verdicts: T.HealthVerdict | None) -> str:
    found = [v.severity for v in verdicts if v is not None and v.severity in SEVERITY_ORDER]
    return max(found, key=SEVERITY_ORDER.index) if found else "ok"


def network_cards(record: T.HealthRecord | None) -> list[dict]:
    """Per network of the newest analysis: its overall alpha and verdict, the dead
    neurons, and whether its alpha gives the early-stopping signal (below 2)."""
    cards = []
    for net in record.networks if record is not None else []:
        verdict = net.alpha_verdict
        alpha = finite(net.alpha)
        cards.append(
            {
                "network": net.name,
                "target_of": net.target_of,
                "alpha": alpha,
                "label": verdict.label if verdict else None,
                "meaning": verdict.meaning if verdict else None,
                "advice": verdict.advice if verdict else None,
                "severity": verdict.severity if verdict else "note",
                "confidence": net.alpha_confidence,
                "analysed": net.layers_analysed,
                "layers": len(net.layers),
                "dead": net.dead,
                "hidden_units": net.hidden_units,
                "dead_share": net.dead_share,
                "dead_label": net.dead_verdict.label if net.dead_verdict else None,
                "error": net.error,
                "early_stop": alpha is not None and alpha < TH.ALPHA_RECOMMENDED_LOW,
            }
        )
    return cards


def layer_rows(net: T.HealthNetwork | None) -> list[dict]:
    """One plain row per layer of ``net``: the figures, the verdicts' labels, the remedies
    of the verdicts that ask for one, the worst severity. A layer WeightWatcher could not
    fit has ``analysed`` False and its ``reason``, and no alpha."""
    rows = []
    for layer in net.layers if net is not None else []:
        verdicts = (layer.alpha_verdict, layer.stable_rank_verdict, layer.spectral_verdict, layer.dead_verdict)
        remedies = []
        for v in verdicts:
            if v is not None and v.advice and v.severity != "ok" and v.advice not in remedies:
                remedies.append(v.advice)
        rows.append(
            {
                "layer": layer.name,
                "shape": "×".join(str(s) for s in layer.shape),
                "analysed": layer.analysed,
                "reason": layer.reason,
                "alpha": finite(layer.alpha) if layer.analysed else None,
                "alpha_label": layer.alpha_verdict.label if layer.alpha_verdict else None,
                "weak": layer.confidence == "weak",
                "stable_rank": finite(layer.stable_rank),
                "full_rank": layer.full_rank,
                "stable_rank_share": finite(layer.stable_rank_share),
                "stable_rank_label": layer.stable_rank_verdict.label if layer.stable_rank_verdict else None,
                "log_spectral_norm": finite(layer.log_spectral_norm),
                "spectral_label": layer.spectral_verdict.label if layer.spectral_verdict else None,
                "num_evals": layer.num_evals,
                "hidden": layer.hidden,
                "units": layer.units,
                "dead_activation": layer.dead_activation,
                "dead_weight": layer.dead_weight,
                "dead_share": layer.dead_share,
                "dead_label": layer.dead_verdict.label if layer.dead_verdict else None,
                "remedy": " ".join(r[0].upper() + r[1:] + "." for r in remedies),
                "severity": _severity(*verdicts),
            }
        )
    return rows


# --------------------------------------------------------------------------- over training
def _value(net: T.HealthNetwork, name: str, series: str) -> float | None:
    if name == OVERALL:
        return finite(net.alpha) if series == "alpha" else None
    layer = net.layer(name)
    if layer is None or (series == "alpha" and not layer.analysed):
        return None
    return finite(getattr(layer, SERIES[series]))


def series_names(records: Sequence[T.HealthRecord], network: str | None, series: str) -> list[str]:
    """The lines of chart ``series`` ("alpha", "stable_rank", "dead") for ``network``: its
    layers with a value in any analysis, input to output (alpha: the overall first)."""
    names: list[str] = []
    for record in records:
        net = record.network(network)
        if net is None:
            continue
        for layer in net.layers:
            if layer.name not in names and _value(net, layer.name, series) is not None:
                names.append(layer.name)
    if series == "alpha" and any((n := r.network(network)) is not None and finite(n.alpha) for r in records):
        names.insert(0, OVERALL)
    return names


def series_points(
    records: Sequence[T.HealthRecord], network: str | None, series: str, names: Sequence[str]
) -> list[dict] | None:
    """Per line of ``names``, its points in ``records``: ``{"x": steps, "y": values,
    "text": checkpoint}`` (None where a layer has no value: a gap). None when the records
    hold a line ``names`` lacks (the chart must be drawn anew)."""
    if set(series_names(records, network, series)) - set(names):
        return None
    points: list[dict] = [{"x": [], "y": [], "text": []} for _ in names]
    for record in records:
        net = record.network(network)
        if net is None:
            continue
        for point, name in zip(points, names):
            point["x"].append(int(record.step))
            point["y"].append(_value(net, name, series))
            point["text"].append(record.checkpoint or "between checkpoints")
    return points


def _lines(records, network, series: str, names: Sequence[str], height: int, y_title: str) -> go.Figure:
    fig = go.Figure()
    for i, (name, point) in enumerate(zip(names, series_points(records, network, series, names) or [])):
        overall = name == OVERALL
        fig.add_trace(
            go.Scatter(
                x=point["x"],
                y=point["y"],
                text=point["text"],
                name="overall (mean of layers)" if overall else name,
                mode="lines+markers",
                connectgaps=False,
                line=dict(color="#212529" if overall else color(i), width=3 if overall else 2),
                marker=dict(size=7 if overall else 6),
                hovertemplate=f"%{{y:{HOVER_NUMBER if series == 'alpha' else '.1%'}}} (%{{text}})",
            )
        )
    base_layout(fig, height=height)
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text=y_title)
    return fig


def alpha_figure(records: Sequence[T.HealthRecord], network: str | None, *, height: int = 340) -> go.Figure:
    """Alpha per layer (and overall) over training, on the shaded alpha bands."""
    names = series_names(records, network, "alpha")
    if not names:
        return empty_figure(_nothing_yet(records, "alpha"), height=height)
    fig = _lines(records, network, "alpha", names, height, "WeightWatcher alpha")
    shade_alpha_bands(fig)
    fig.update_yaxes(range=alpha_axis_range(v for t in fig.data for v in t.y))
    return fig


def share_figure(
    records: Sequence[T.HealthRecord], network: str | None, series: str, *, height: int = 300
) -> go.Figure:
    """Stable rank as a share of full rank (``series`` "stable_rank") or the share of dead
    neurons (``series`` "dead") per layer over training, as percentages."""
    names = series_names(records, network, series)
    if not names:
        return empty_figure(_nothing_yet(records, series), height=height)
    title = "stable rank / full rank" if series == "stable_rank" else "dead neurons (share of the layer)"
    fig = _lines(records, network, series, names, height, title)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    if series == "stable_rank":
        fig.add_hrect(y0=TH.STABLE_RANK_HEALTHY_LOW, y1=TH.STABLE_RANK_HEALTHY_HIGH, fillcolor="rgba(25,135,84,0.07)")
        fig.update_shapes(line_width=0, layer="below")
    else:
        fig.add_hline(y=TH.DEAD_RATIO_HIGH, line=dict(color="#D55E00", dash="dash", width=1))
    return fig


def _nothing_yet(records: Sequence[T.HealthRecord], series: str) -> str:
    if not records:
        return "Waiting for the first analysis..."
    if series == "alpha":
        return "WeightWatcher could not fit any layer of this network (see the table)."
    if series == "dead":
        return "This network has no hidden layers to count dead neurons in."
    return "No layer of this network has a stable rank."


# --------------------------------------------------------------------------- verdicts so far
def alpha_points(records: Sequence[T.HealthRecord], network: str | None) -> list[list]:
    """``[step, checkpoint or None, overall alpha or None]`` per analysis of ``network``:
    what :func:`pattern_view` needs (a page keeps it and adds new analyses to it)."""
    points = []
    for record in records:
        net = record.network(network)
        if net is not None:
            points.append([int(record.step), record.checkpoint, finite(net.alpha)])
    return points


def pattern_view(points: Sequence[Sequence]) -> dict:
    """The pattern of a network's overall alpha over the analyses so far (``points`` from
    :func:`alpha_points`; ``health.alpha_pattern``: healthy progression, overtraining, not
    learning, ...) and the checkpoint to keep among the analyses at checkpoints (None when
    there is none)."""
    pattern = alpha_pattern([finite(a) for _, _, a in points], [f"step {int(step):,}" for step, _, _ in points])
    saved = [(int(step), str(ckpt), finite(a)) for step, ckpt, a in points if ckpt]
    keep = alpha_pattern([a for _, _, a in saved], [ckpt for _, ckpt, _ in saved])
    kept = saved[keep.keep] if keep.keep is not None else None
    return {
        "key": pattern.key,
        "title": pattern.title,
        "meaning": pattern.meaning,
        "checks": list(pattern.checks),
        "analyses": len(points),
        "keep": kept[1] if kept else None,
        "keep_step": kept[0] if kept else None,
        "keep_reason": keep.keep_reason if kept else None,
        "checkpoints": len(saved),
    }


def early_stop(record: T.HealthRecord | None) -> list[dict]:
    """The networks whose overall alpha in the newest analysis is below 2 (the guide's
    early-stopping signal), online networks first; ``weak``: every analysed layer has few
    eigenvalues, so the alpha is a rough one."""
    found = []
    for net in record.networks if record is not None else []:
        alpha = finite(net.alpha)
        if alpha is not None and alpha < TH.ALPHA_RECOMMENDED_LOW:
            weak = net.alpha_confidence == "weak"
            found.append({"network": net.name, "alpha": alpha, "target": bool(net.target_of), "weak": weak})
    return sorted(found, key=lambda f: f["target"])


def watch_summary(status: T.HealthStatus | None, analysed: bool, step: int | None, enabled: bool | None) -> dict:
    """What the health watch is doing, in a sentence, and how it stands (``kind``: "off",
    "waiting", "analysing", "idle", "failed"). ``analysed``: the page has analyses to show;
    ``step``: where training is."""
    if status is None:
        if analysed:
            return {"kind": "idle", "text": "The health watch's status is not known; its analyses are below."}
        if enabled is False:
            return {
                "kind": "off",
                "text": "This run was trained with the health analysis switched off (--no-health). "
                "`neurodash health <checkpoint>` analyses its checkpoints afterwards.",
            }
        return {"kind": "off", "text": "No health analysis has reported for this run."}
    when = _schedule(status)
    now = f" (training is at step {step:,})" if step is not None else ""
    if status.state == T.HEALTH_FAILED:
        return {"kind": "failed", "text": f"The health analysis stopped: {status.error}. Training goes on."}
    if not status.analyses:
        if status.state == T.HEALTH_ANALYSING and status.running_step is not None:
            return {
                "kind": "analysing",
                "text": f"Analysing… first result after step {status.running_step:,}: the weights of that step are "
                f"being analysed{now}; {when}.",
            }
        if status.next_step is None:
            return {
                "kind": "waiting",
                "text": f"No analysis was due in this run: it ended at step {status.total_steps:,}, before the "
                f"first ({when}).",
            }
        return {"kind": "waiting", "text": f"Analysing… first result after step {status.next_step:,}{now}; {when}."}
    latest = f"Latest analysis: step {status.last_step:,}" if status.last_step is not None else "Latest analysis"
    if status.last_checkpoint:
        latest += f" ({status.last_checkpoint})"
    if status.last_seconds is not None:
        latest += f", {status.last_seconds:.1f} s"
    parts = [latest]
    if status.state == T.HEALTH_ANALYSING and status.running_step is not None:
        parts.append(f"analysing step {status.running_step:,} now")
    elif status.next_step is not None:
        parts.append(f"next at step {status.next_step:,}")
    parts.append(f"{status.analyses} so far; {when}")
    if status.skipped:
        were = "were" if status.skipped != 1 else "was"
        parts.append(f"{status.skipped} due while one was still running {were} skipped")
    text = " · ".join(parts) + "."
    if status.error:
        text += f" {status.error}."
    return {"kind": status.state, "text": text}


def _schedule(status: T.HealthStatus) -> str:
    every = f"every {status.every:,} steps" if status.every else ""
    saved = "at every checkpoint" if status.checkpoint_every else ""
    return "analyses run " + (" and ".join(p for p in (every, saved) if p) or "at the end of training")
