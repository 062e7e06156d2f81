"""The Health tab's components, from the plain data of ``dashapp.figures.health``: the
watch's status line, the early-stopping signal, a card per network, the per-layer table
and the pattern so far. Pure: data in, Dash components out."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashapp.figures.common import fmt, percent
from health import thresholds as TH

#: A verdict's severity as a Bootstrap colour.
SEVERITY_COLOR = {"ok": "success", "note": "info", "warn": "warning", "bad": "danger"}
#: The watch's state as the colour of its status line.
WATCH_COLOR = {"analysing": "info", "waiting": "info", "idle": "light", "failed": "warning", "off": "light"}


def watch_line(summary: dict) -> dbc.Alert:
    """What the health watch is doing (``watch_summary``), in one line."""
    return dbc.Alert(
        summary["text"],
        color=WATCH_COLOR.get(summary["kind"], "light"),
        className="py-2 mb-3 health-watch-line",
        id="health-watch-text",
    )


def early_stop_alert(found: list[dict], step: int | None, pattern: dict | None, network: str | None):
    """The early-stopping signal: a badge and a sentence when a network's overall alpha
    fell below 2 in the newest analysis; nothing otherwise."""
    if not found:
        return None
    names = ", ".join(f"{f['network']} ({fmt(f['alpha'])}{', weak' if f['weak'] else ''})" for f in found)
    when = f" at step {step:,}" if step is not None else ""
    text = [
        dbc.Badge("EARLY-STOPPING SIGNAL", color="danger", className="me-2"),
        f"Overall alpha is below {TH.ALPHA_RECOMMENDED_LOW:g}{when} in {names}: by the health guide the weights "
        f"have started to memorise their training data, and this is the point to stop -- keep this checkpoint "
        f"or an earlier one whose alpha is closer to {TH.ALPHA_OPTIMAL:g}.",
    ]
    if any(f["weak"] for f in found):
        text.append(" (weak: every analysed layer has few eigenvalues, so that alpha is a rough estimate.)")
    if pattern and pattern.get("keep") and any(f["network"] == network for f in found):
        text.append(f" For {network}, the checkpoint to keep so far is {pattern['keep']}.")
    return dbc.Alert(text, color="danger", className="mb-3", id="health-early-stop-signal")


def network_cards(cards: list[dict], shown: str | None) -> html.Div | html.P:
    """A card per network: its overall alpha, the verdict and what to do, dead neurons."""
    if not cards:
        return html.P("Waiting for the first analysis...", className="empty-note")
    cols = []
    for card in cards:
        if card["error"]:
            body = [html.P(f"could not be analysed: {card['error']}", className="text-danger small mb-0")]
        else:
            verdict = (
                dbc.Badge(card["label"], color=SEVERITY_COLOR.get(card["severity"], "secondary"), className="ms-2")
                if card["label"]
                else dbc.Badge("no alpha", color="secondary", className="ms-2")
            )
            weak = " (weak: few eigenvalues)" if card["confidence"] == "weak" else ""
            dead = (
                f"dead neurons: {card['dead']} of {card['hidden_units']} ({percent(card['dead_share'])})"
                if card["dead"] is not None and card["hidden_units"]
                else "no hidden layers"
            )
            body = [
                html.Div([html.Span(fmt(card["alpha"]), className="health-alpha fs-3 fw-bold"), verdict]),
                html.P((card["meaning"] or "no layer could be fitted") + weak, className="small mb-1"),
                html.P(card["advice"], className="small mb-1 fw-semibold") if card["advice"] else None,
                html.P(
                    f"{card['analysed']} of {card['layers']} layers analysed · {dead}",
                    className="small text-muted mb-0",
                ),
            ]
        title = [html.Strong(card["network"])]
        if card["target_of"]:
            title.append(html.Span(f" follows {card['target_of']}", className="text-muted small"))
        border = "border-danger" if card["early_stop"] else ("border-primary" if card["network"] == shown else "")
        cols.append(
            dbc.Col(
                dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], className=f"h-100 {border}".strip()),
                className="mb-2",
                md=4,
                lg=True,
            )
        )
    return html.Div(dbc.Row(cols, className="g-2"), className="health-cards")


def _dead(count: int | None, units: int | None) -> str:
    if count is None:
        return "–"
    return f"{count} of {units} ({percent(count / units)})" if units else str(count)


def layer_table(rows: list[dict], network: str | None, step: int | None, notes: list[str]):
    """The newest analysis of ``network``, layer by layer: alpha and its verdict (or "not
    analysed" and why), stable rank and its share, log spectral norm, eigenvalues, dead
    neurons by both methods, and the remedies; ``notes`` under it (inputs, issues)."""
    if not rows:
        return html.P("Waiting for the first analysis...", className="empty-note")
    head = html.Thead(
        html.Tr(
            [
                html.Th(h)
                for h in (
                    "layer",
                    "alpha",
                    "verdict",
                    "stable rank (share)",
                    "log spectral norm",
                    "eigenvalues",
                    "dead: activation",
                    "dead: weight",
                    "what to do",
                )
            ]
        )
    )
    body = []
    for r in rows:
        if r["analysed"]:
            weak = " (weak)" if r["weak"] else ""
            alpha = [html.Td(fmt(r["alpha"])), html.Td((r["alpha_label"] or "–") + weak)]
        else:
            alpha = [html.Td(f"not analysed: {r['reason']}", colSpan=2, className="text-muted health-skipped")]
        rank = "–"
        if r["stable_rank"] is not None:
            rank = f"{fmt(r['stable_rank'])} of {r['full_rank']} ({percent(r['stable_rank_share'])})"
        body.append(
            html.Tr(
                [
                    html.Td([html.Strong(r["layer"]), html.Span(f" {r['shape']}", className="text-muted small")]),
                    *alpha,
                    html.Td(rank),
                    html.Td(fmt(r["log_spectral_norm"])),
                    html.Td("–" if r["num_evals"] is None else str(r["num_evals"])),
                    html.Td(_dead(r["dead_activation"], r["units"]) if r["hidden"] else "output layer"),
                    html.Td(_dead(r["dead_weight"], r["units"]) if r["hidden"] else "–"),
                    html.Td(r["remedy"] or "–", className=f"text-{SEVERITY_COLOR[r['severity']]} small"),
                ],
                className="health-layer-row",
            )
        )
    caption = f"{network} at step {step:,}" if step is not None else str(network)
    return html.Div(
        [
            html.P(caption, className="fw-semibold mb-1"),
            dbc.Table([head, html.Tbody(body)], size="sm", hover=True, responsive=True, className="mb-1"),
            *(html.P(note, className="small text-muted mb-0") for note in notes),
        ]
    )


def network_notes(net) -> list[str]:
    """What was measured beside the table: the activation method's inputs (or why it
    could not run) and the potential issues ``health`` found."""
    if net is None:
        return []
    notes = []
    if net.dead_inputs:
        notes.append(f"Dead neurons by activation were measured on {net.dead_inputs}.")
    if net.dead_note:
        notes.append(f"Dead neurons: {net.dead_note}.")
    notes += [f"{issue.severity}: {issue.text}" for issue in net.issues]
    return notes


def pattern_panel(view: dict, network: str | None, checkpoint_every: int | None):
    """The pattern so far and the checkpoint to keep."""
    if not view["analyses"]:
        return html.P("Waiting for the first analysis...", className="empty-note")
    parts = [
        html.P([html.Strong(view["title"]), f" — {network}, over {view['analyses']} analyses"], className="mb-1"),
        html.P(view["meaning"], className="mb-1"),
    ]
    if view["checks"]:
        parts.append(html.Ul([html.Li(c) for c in view["checks"]], className="small mb-1"))
    if view["keep"]:
        parts.append(
            html.P(
                [html.Strong("Checkpoint to keep so far: "), view["keep"], f" — {view['keep_reason']}."],
                className="mb-0",
                id="health-keep",
            )
        )
    elif checkpoint_every == 0:
        parts.append(html.P("No checkpoints are saved on the way in this run, so none to keep.", className="mb-0"))
    else:
        parts.append(html.P("No analysis was at a checkpoint yet.", className="mb-0 text-muted"))
    return html.Div(parts)
