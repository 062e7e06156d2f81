"""The Compare tab's text panels: the verdict, the files that failed, one checkpoint's report.

Components from health's own results (``Comparison``, ``CheckpointHealth``) -- the words
are health's verdicts and patterns, the text report is ``health.report.render_checkpoint``.
"""

from __future__ import annotations

from pathlib import Path

import dash_bootstrap_components as dbc
from dash import html

from dashapp.checkpoints.analysis import FileOutcome
from dashapp.figures.common import fmt, percent
from health import Comparison
from health.results import CheckpointHealth, LayerHealth, NetworkHealth

#: Bootstrap colours of health's severities (of verdicts, issues and patterns).
SEVERITY_COLOR = {"ok": "success", "note": "info", "warn": "warning", "bad": "danger"}


def short_error(line: str, outcomes: tuple[FileOutcome, ...] = ()) -> tuple[str, str]:
    """(file name, what is wrong) from a one-line error ``"<path>: <problem>"``."""
    for o in outcomes:
        if o.error == line and line.startswith(f"{o.path}: "):
            return Path(o.path).name, line[len(o.path) + 2 :]
    path, sep, problem = line.partition(": ")
    return (Path(path).name, problem) if sep else ("", line)


def errors_view(errors: list[str], outcomes: tuple[FileOutcome, ...] = ()) -> dbc.Alert | None:
    """The files that could not be analysed, each with its one-line error; None if none."""
    if not errors:
        return None
    items = []
    for line in errors:
        name, problem = short_error(line, outcomes)
        items.append(html.Li([html.Code(name), f": {problem}"] if name else problem, className="compare-error"))
    n = len(errors)
    return dbc.Alert(
        [
            html.Strong(f"{n} file{'s' if n != 1 else ''} could not be analysed (the others are shown):"),
            html.Ul(items, className="mb-0"),
        ],
        color="warning",
        className="mt-2 mb-0",
        id="compare-error-list",
    )


def missing_view(rows: list[tuple[str, str, list[str]]], n_checkpoints: int) -> html.Div | None:
    """The layers WeightWatcher did not fit (not drawn on the chart), with the reason."""
    if not rows:
        return None
    items = []
    for layer, reason, labels in rows:
        where = "in every checkpoint" if len(labels) == n_checkpoints else "in " + ", ".join(labels)
        items.append(html.Li([html.Strong(layer), f": not analysed {where} -- {reason}"]))
    return html.Div([html.Span("Not on the chart (no alpha):"), html.Ul(items, className="mb-0")])


def _pattern_block(title: str, pattern) -> list:
    out = [
        html.Div(
            [
                html.Span(title, className="me-2 fw-semibold"),
                dbc.Badge(pattern.title, color=SEVERITY_COLOR.get(pattern.severity, "secondary"), className="me-2"),
            ],
            className="mb-1",
        ),
        html.P(pattern.meaning, className="mb-1"),
    ]
    if pattern.checks:
        out.append(html.Div("Things to check:", className="small"))
        out.append(html.Ul([html.Li(c) for c in pattern.checks], className="small mb-1"))
    return out


def verdict_view(cmp: Comparison, network: str) -> list:
    """The checkpoint to keep (``neurodash health``'s "Keep:" line: over the networks that
    learn, targets aside), the chosen network's pattern, and the overall pattern when the
    checkpoints hold several networks."""
    if not cmp.results:
        return [html.P("No checkpoint could be analysed.", className="empty-note")]
    out: list = []
    keep = cmp.overall.keep
    if keep is not None:
        out.append(
            dbc.Alert(
                [html.Strong(f"Keep {cmp.labels[keep]}"), f" -- {cmp.overall.keep_reason}."],
                color="primary",
                className="mb-2",
                id="compare-keep",
            )
        )
    else:
        out.append(dbc.Alert("No recommendation: no checkpoint has an overall alpha.", color="secondary"))
    if network in cmp.patterns:
        out += _pattern_block(f"{network}:", cmp.patterns[network])
        own = cmp.patterns[network].keep
        if own is not None and own != keep:
            out.append(
                html.P(
                    f"For {network} alone the pick would be {cmp.labels[own]}: {cmp.patterns[network].keep_reason}.",
                    className="small",
                )
            )
    if cmp.overall_alphas != cmp.alphas.get(network):  # the keep rule looked at more than this network
        out += _pattern_block("Overall (mean of the networks that learn, targets aside):", cmp.overall)
    return out


def _layer_row(lh: LayerHealth) -> html.Tr:
    m = lh.metrics
    if m.analysed:
        av = lh.alpha_verdict
        verdict = (av.label.lower() if av else "") + (" (weak)" if lh.confidence == "weak" else "")
        alpha = [
            html.Td(fmt(m.alpha)),
            html.Td(verdict, className=f"text-{SEVERITY_COLOR[av.severity]}" if av else None),
        ]
    else:
        alpha = [html.Td("–"), html.Td(f"not analysed: {m.reason}", className="text-muted")]
    stable = "–" if m.stable_rank is None else f"{fmt(m.stable_rank)} ({percent(m.stable_rank_ratio)})"
    dead = "output" if lh.units is None else f"{lh.dead}/{lh.units}"
    return html.Tr(
        [
            html.Td(html.Strong(lh.name)),
            html.Td("x".join(str(s) for s in lh.shape)),
            html.Td("?" if m.num_evals is None else str(m.num_evals)),
            *alpha,
            html.Td(fmt(m.log_spectral_norm)),
            html.Td(stable),
            html.Td(dead),
        ]
    )


def _verdict_line(label: str, verdict, value: str) -> html.P:
    if verdict is None:
        return html.P([html.Strong(f"{label}: "), value], className="mb-1")
    return html.P(
        [
            html.Strong(f"{label}: "),
            f"{value} ",
            dbc.Badge(verdict.label, color=SEVERITY_COLOR[verdict.severity], className="me-1"),
            verdict.meaning + (f" What to do: {verdict.advice}" if verdict.advice and verdict.severity != "ok" else ""),
        ],
        className="mb-1",
    )


def network_view(h: NetworkHealth) -> html.Div:
    """One network of a checkpoint: overall alpha and dead neurons with their verdicts,
    the per-layer table, the potential issues."""
    alpha = "n/a (WeightWatcher could not analyse any layer)" if h.alpha is None else fmt(h.alpha)
    d = h.dead
    dead = "no hidden layers" if not d.total else f"{d.dead} of {d.total} hidden units ({percent(d.ratio)})"
    head = html.Thead(
        html.Tr(
            [
                html.Th(c)
                for c in ("layer", "shape", "evals", "alpha", "verdict", "log spectral norm", "stable rank", "dead")
            ]
        )
    )
    table = dbc.Table([head, html.Tbody([_layer_row(lh) for lh in h.layers])], size="sm", hover=True, className="mb-2")
    issues = [
        html.Li([dbc.Badge(i.severity, color=SEVERITY_COLOR[i.severity], className="me-1"), i.text]) for i in h.issues
    ] or [html.Li("no obvious issues")]
    return html.Div(
        [
            html.H3(f"network: {h.name}", className="h6 mt-2"),
            _verdict_line("Overall alpha", h.alpha_verdict, alpha),
            _verdict_line(f"Dead neurons ({d.method} method)", h.dead_verdict, dead),
            table,
            html.Div("Potential issues:", className="small fw-semibold"),
            html.Ul(issues, className="small"),
        ],
        className="compare-network-report",
    )


def report_view(result: CheckpointHealth, network: str | None, text: str) -> list:
    """The checkpoint's report: the chosen network as a table (every network when it has
    no such network), then the whole text report as ``neurodash health`` prints it."""
    facts = [result.format_label]
    if result.step is not None:
        facts.append(f"step {result.step:,}")
    if result.env_id:
        facts.append(f"env {result.env_id}")
    shown = [result.networks[network]] if network in result.networks else list(result.networks.values())
    out: list = [
        html.P([html.Strong(result.label), " · " + ", ".join(facts)], className="mb-1", id="compare-report-title"),
        *(html.P(f"note: {n}", className="small text-muted mb-1") for n in result.notes),
        *(network_view(h) for h in shown),
    ]
    if result.issues:
        out.append(html.Div("Across networks:", className="small fw-semibold"))
        out.append(html.Ul([html.Li(i.text) for i in result.issues], className="small"))
    out.append(
        html.Details(
            [html.Summary("The full report, as neurodash health prints it"), html.Pre(text, className="small mt-2")],
            open=False,
        )
    )
    return out
