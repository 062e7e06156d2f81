"""The Compare tab's layout and the notes under its panels."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.components import graph, panel
from dashapp.figures.compare import METRICS
from dashapp.tabs.reloading import poll_id
from health import thresholds as TH

TAB_ID = "compare"
TAB_LABEL = "Compare"
POLL = poll_id(TAB_ID)
ALPHA_HEIGHT = 380

_LO, _HI, _UNDER = (f"{v:g}" for v in (TH.ALPHA_RECOMMENDED_LOW, TH.ALPHA_RECOMMENDED_HIGH, TH.ALPHA_UNDERTRAINED_HIGH))

NOTES = {
    "choose": "Pick a folder of saved checkpoints -- a run's checkpoints, or a folder given to neurodash serve "
    "--checkpoints -- and analyse them. Each file is diagnosed from its weights alone by the same functions as "
    "neurodash health, so the numbers here are the command's. A file that cannot be read is listed with what is "
    "wrong; the others are still compared. Results are kept by the files' contents, so a second look is instant.",
    "alpha": "WeightWatcher's alpha sums up how much structure a layer's weights hold: well-trained layers sit "
    f"near {TH.ALPHA_OPTIMAL:g} ({_LO}-{_HI} is the recommended band), above {_UNDER} the weights still look random, "
    f"and below {_LO} a layer has started to memorise. One line per layer; the thick line is the network's overall "
    "alpha (the mean of its analysed layers), the star the checkpoint to keep. Layers of a few dozen units give "
    "noisy alphas (even untrained ones can score 3-5), so trust the trend across checkpoints more than one point. "
    "Click a point for that checkpoint's report.",
    "grid": "Every layer (down) in every checkpoint (across). Alpha cells take the colour of their band. "
    "Stable-rank share is how many directions of the weight matrix carry signal, as a share of the most it could "
    f"have ({TH.STABLE_RANK_HEALTHY_LOW:.0%}-{TH.STABLE_RANK_HEALTHY_HIGH:.0%} is healthy). Dead-neuron share is "
    'the part of a hidden layer\'s units whose output never changes. "not analysed": WeightWatcher could not '
    "fit the layer; n/a: there is no such value (an output layer has no dead neurons); hover a cell for why. "
    "Click a cell for that checkpoint's report.",
    "verdict": "How alpha moved from the first checkpoint to the last names a pattern: falling towards "
    f"{TH.ALPHA_OPTIMAL:g} is healthy progress, staying above the recommended band ({_HI}) means the network is "
    f"not learning, falling below {_LO} after reaching the band means overtraining. The checkpoint to keep is "
    f"neurodash health's pick -- the one whose alpha is nearest {TH.ALPHA_OPTIMAL:g}, preferring the recommended "
    "band -- with its reason.",
    "report": "One checkpoint's full diagnosis, as neurodash health prints it: per layer its alpha and verdict "
    "(or why it was not analysed), log spectral norm, stable rank and dead neurons, then what looks wrong and what "
    "to try. The download buttons give the report's text, and its CSV tables and PNG plots for every checkpoint.",
}


def layout():
    choose = html.Div(
        [
            html.Div(
                [
                    html.Label("Folder", htmlFor="compare-folder", className="me-2"),
                    dcc.Dropdown(
                        id="compare-folder",
                        options=[],
                        value=None,
                        clearable=False,
                        placeholder="Choose a folder of checkpoints...",
                        style={"minWidth": "24rem"},
                    ),
                ],
                className="d-flex align-items-center mb-2",
            ),
            html.Div(id="compare-folder-info", className="small text-muted mb-2"),
            dcc.Checklist(
                id="compare-files",
                options=[],
                value=[],
                inline=True,
                inputClassName="me-1",
                labelClassName="me-3 small",
            ),
            html.Div(
                [
                    dbc.Button("Analyse", id="compare-start", color="primary", size="sm", disabled=True),
                    html.Span(id="compare-start-feedback", className="ms-2 small text-danger", role="status"),
                ],
                className="d-flex align-items-center mt-2 mb-2",
            ),
            dbc.Progress(id="compare-progress", value=0, label="", style={"height": "1.2rem"}, className="mb-1"),
            html.Div(id="compare-status", className="small text-muted", role="status"),
            html.Div(id="compare-errors"),
        ]
    )
    metric = dcc.RadioItems(
        id="compare-metric",
        options=[{"label": label, "value": key} for key, label in METRICS.items()],
        value="alpha",
        inline=True,
        inputClassName="me-1",
        labelClassName="me-3",
        className="mb-2",
    )
    report = html.Div(
        [
            html.Div(
                [
                    html.Label("Checkpoint", htmlFor="compare-checkpoint", className="me-2"),
                    dcc.Dropdown(
                        id="compare-checkpoint", options=[], value=None, clearable=False, style={"minWidth": "18rem"}
                    ),
                    dbc.Button(
                        "Download report text",
                        id="compare-download-text",
                        size="sm",
                        outline=True,
                        color="secondary",
                        disabled=True,
                        className="ms-3",
                    ),
                    dbc.Button(
                        "Download all report files (.zip: text, CSV, PNG)",
                        id="compare-download-zip",
                        size="sm",
                        outline=True,
                        color="secondary",
                        disabled=True,
                        className="ms-2",
                    ),
                    dcc.Download(id="compare-download"),
                ],
                className="d-flex align-items-center flex-wrap mb-2",
            ),
            html.Div(id="compare-download-feedback", className="small text-muted", role="status"),
            html.Div(
                id="compare-report",
                children=html.P("Analyse a folder, then pick a checkpoint.", className="empty-note"),
            ),
        ]
    )
    return html.Div(
        [
            panel("Checkpoints to compare", choose, NOTES["choose"], class_name="mb-3"),
            html.Div(
                [
                    html.Label("Network", htmlFor="compare-network", className="me-2"),
                    dcc.Dropdown(
                        id="compare-network", options=[], value=None, clearable=False, style={"minWidth": "14rem"}
                    ),
                ],
                id="compare-network-block",
                className="d-flex align-items-center mb-2",
                style={"display": "none"},
            ),
            panel(
                "Alpha across checkpoints",
                html.Div(
                    [
                        graph("compare-alpha", "Analyse a folder of checkpoints to see alpha.", ALPHA_HEIGHT),
                        html.Div(id="compare-alpha-missing", className="small text-muted"),
                    ]
                ),
                NOTES["alpha"],
                class_name="mb-3",
            ),
            panel(
                "Every layer in every checkpoint",
                html.Div([metric, graph("compare-heatmap", "Analyse a folder of checkpoints first.", 300)]),
                NOTES["grid"],
                class_name="mb-3",
            ),
            panel(
                "Verdict: the pattern, and which checkpoint to keep",
                html.Div(id="compare-verdict", children=html.P("No analysis yet.", className="empty-note")),
                NOTES["verdict"],
                class_name="mb-3",
            ),
            panel("One checkpoint's report", report, NOTES["report"], class_name="mb-3"),
            dcc.Store(id="compare-job"),
            dcc.Store(id="compare-done"),
        ],
        className="tab-body",
    )
