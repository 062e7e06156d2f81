"""The dashboard shell: ``create_app(runs_dir)``.

The shell holds what every tab shares: the run picker, the worker's status badge and
controls (pause, resume, single step, stop, watch/full speed), the tabs, the polls and
the shared ``dcc.Store``s ("app-run": the selected run folder; "app-runs-dir": the
folder being served).

Tabs are modules in ``dashapp/tabs``; each has ``TAB_ID``, ``TAB_LABEL``, ``layout()`` and
registers its callbacks with ``dash.callback`` when imported. To add a tab, add its
module to ``TABS`` below (one line). Nothing here imports torch, and nothing keeps state
in the server process: all that is shown comes from the run folders.

Polling: "app-poll" (a ``dcc.Interval``) drives the shell's always-visible parts (run
picker, status, alerts) in one callback, :func:`update_shell`: one request per poll, and
outputs that did not change are not sent again. Each tab has its own interval, "<TAB_ID>-poll"
(:func:`dashapp.tabs.reloading.poll_id`), that runs only while the tab is shown: on a
tab switch a client-side callback stops the hidden tabs' polls and starts the shown
one's, bumping its ``n_intervals`` so the tab updates at once. A hidden tab thus sends
no requests, and a switch sends only the shown tab's. A tab's callbacks take
``app-tabs.active_tab`` as State (never as Input) to answer 204 when the run store or
the page load triggers them while they are hidden.

Keep callbacks driven by a poll fast (tens of milliseconds): Dash drops a callback's
answer when the interval triggers the same callback again before it has returned
(dash-core-components#661), so a slow one never updates the page on a busy machine. Do
slow work (a first load of a long history) in a callback the poll does not trigger --
the Live tab asks for it through a "live-*-reload" store.

Dash hands callbacks registered with ``dash.callback`` to the first app that serves a
request, so serve one app per process (``neurodash serve`` does).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import g, request

from dashapp import alerts, read
from dashapp.tabs import activations, compare, gradients, health, live, network, weights
from dashapp.tabs.reloading import poll_id
from rl import telemetry as T

#: The tabs, in order. Other tabs add their module here.
TABS = [live, network, activations, gradients, weights, health, compare]

#: CSS, the Bootstrap stylesheet and any client-side JS, served by Dash from disk (the
#: page must work without internet).
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
#: How often the shell and the shown tab poll the store.
POLL_MS = 1000
#: How often a page polls while it is hidden (a background browser tab, a minimised
#: window): slowly enough to cost nearly nothing, often enough to be current when shown.
HIDDEN_POLL_MS = 5000

_STATE_COLORS = {
    T.RUNNING: "success",
    T.PAUSED: "warning",
    T.STOPPED: "secondary",
    T.FINISHED: "primary",
    T.FAILED: "danger",
    read.NOT_RESPONDING: "danger",
    read.NO_HEARTBEAT: "secondary",
    read.BROKEN: "danger",
}


def create_app(runs_dir: str | Path, *, poll_ms: int = POLL_MS) -> dash.Dash:
    """The dashboard over the run folders in ``runs_dir`` (or ``runs_dir`` itself if it
    is a run folder). The folder may be empty or not exist yet; runs appear as they are
    created."""
    app = dash.Dash(
        __name__,
        title="neurodash",
        update_title=None,
        assets_folder=str(ASSETS_DIR),
        serve_locally=True,
        external_stylesheets=[],
        external_scripts=[],
    )
    # The served folder is server-side config: paths the page sends back are checked
    # against it (read.check_served), never trusted as given.
    app.server.config[read.RUNS_DIR_CONFIG] = str(Path(runs_dir).resolve())
    app.layout = layout(runs_dir, poll_ms)
    time_callbacks(app.server)
    return app


def time_callbacks(server) -> None:
    """Say in each callback response how long the server took (a ``Server-Timing`` header:
    the browser's developer tools show it next to the request, and ``bench/browser_cost.py``
    reads it to measure the server's time per tick where it is spent)."""

    @server.before_request
    def _start_clock():
        g.neurodash_started = time.perf_counter()

    @server.after_request
    def _say_time(response):
        started = getattr(g, "neurodash_started", None)
        if started is not None and request.path.endswith("/_dash-update-component"):
            response.headers["Server-Timing"] = f"callback;dur={1000 * (time.perf_counter() - started):.1f}"
        return response


# --------------------------------------------------------------------------- layout
def _controls():
    def button(id_, label, hint, **kw):
        return [
            dbc.Button(label, id=id_, size="sm", disabled=True, **kw),
            dbc.Tooltip(hint, target=id_, placement="bottom"),
        ]

    return html.Div(
        [
            dbc.ButtonGroup(
                button(
                    "app-pause",
                    "❚❚ Pause",
                    "Pause training (the worker waits; the dashboard keeps showing the run).",
                    color="secondary",
                    outline=True,
                )
                + button("app-resume", "▶ Resume", "Continue training.", color="secondary", outline=True)
                + button(
                    "app-step",
                    "Step",
                    "While paused: let the agent make one move, then pause again.",
                    color="secondary",
                    outline=True,
                ),
                className="me-2",
            ),
            dcc.ConfirmDialogProvider(
                dbc.Button("■ Stop", id="app-stop", size="sm", color="danger", outline=True, disabled=True),
                id="app-stop-confirm",
                message="Stop training this run? The worker saves a checkpoint and exits; it cannot be resumed.",
            ),
            dbc.ButtonGroup(
                button(
                    "app-speed-watch",
                    "Watch speed",
                    "Slow training down so people can follow the game and the charts.",
                    color="primary",
                    outline=True,
                )
                + button(
                    "app-speed-full",
                    "Full speed",
                    "Train as fast as the computer allows.",
                    color="primary",
                    outline=True,
                ),
                className="ms-2",
            ),
        ],
        className="app-controls",
    )


def layout(runs_dir: str | Path, poll_ms: int = POLL_MS):
    """The shell's component tree (a function, so each page load is built fresh)."""
    return html.Div(
        [
            html.Header(
                dbc.Container(
                    [
                        html.Div(
                            [
                                html.Span("neurodash", className="brand"),
                                html.Span("see inside a learning agent", className="tagline"),
                            ],
                            className="brand-block",
                        ),
                        html.Div(
                            dcc.Dropdown(
                                id="app-run-picker",
                                options=[],
                                value=None,
                                clearable=False,
                                searchable=False,
                                placeholder="Choose a run...",
                            ),
                            className="run-picker",
                        ),
                        html.Div(
                            [
                                dbc.Badge("…", id="app-status", color="secondary", className="status-badge"),
                                html.Span(id="app-status-detail", className="status-detail"),
                            ],
                            className="status-block",
                        ),
                        _controls(),
                    ],
                    fluid=True,
                    className="app-header-inner",
                ),
                className="app-header",
            ),
            dbc.Container(
                [
                    dbc.Progress(id="app-progress", value=0, className="app-progress"),
                    html.Div(id="app-control-feedback", className="control-feedback", role="status"),
                    html.Div(id="app-notice"),
                    alerts.layout(),  # network-health alerts, in view above every tab
                    dbc.Tabs(
                        [dbc.Tab(tab.layout(), tab_id=tab.TAB_ID, label=tab.TAB_LABEL) for tab in TABS],
                        id="app-tabs",
                        active_tab=TABS[0].TAB_ID,
                        className="app-tabs",
                    ),
                ],
                fluid=True,
                className="app-main",
            ),
            dcc.Interval(id="app-poll", interval=poll_ms, n_intervals=0),
            *tab_polls(poll_ms),
            dcc.Store(id="app-run"),
            dcc.Store(id="app-notice-key"),
            dcc.Store(id="app-status-key"),
            dcc.Store(id="app-poll-ms", data=poll_ms),
            dcc.Store(id="app-visibility"),
            dcc.Store(id="app-runs-dir", data=str(runs_dir)),
        ]
    )


def tab_polls(poll_ms: int = POLL_MS) -> list[dcc.Interval]:
    """One interval per tab, "<TAB_ID>-poll"; only the first tab's (shown on load) runs."""
    return [
        dcc.Interval(id=poll_id(tab.TAB_ID), interval=poll_ms, n_intervals=0, disabled=tab is not TABS[0])
        for tab in TABS
    ]


# --------------------------------------------------------------------------- notices
def how_to_start(runs_dir: str) -> html.Div:
    """The friendly sentence shown for an empty runs folder."""
    return dbc.Alert(
        [
            html.H4("No training runs here yet", className="alert-heading"),
            html.P(
                [
                    "The dashboard is watching ",
                    html.Code(runs_dir),
                    ". Start a run and it appears here within a second:",
                ]
            ),
            html.Pre(
                f"neurodash train --env neurodash/Breakout-v0 --agent dqn --steps 50000 "
                f"--run-dir {Path(runs_dir) / 'my-first-run'}",
                className="mb-2",
            ),
            html.P(["or run ", html.Code("neurodash demo"), " to train and watch in one go."], className="mb-0"),
        ],
        color="info",
        className="mt-3",
    )


def broken_notice(runs: list[read.RunInfo]) -> dbc.Alert | None:
    broken = [r for r in runs if r.broken]
    if not broken:
        return None
    return dbc.Alert(
        [
            html.Strong(
                f"{len(broken)} run folder{'s' if len(broken) != 1 else ''} cannot be read and {{}} skipped: ".format(
                    "is" if len(broken) == 1 else "are"
                )
            ),
            html.Ul([html.Li([html.Code(r.name), f": {r.broken}"]) for r in broken], className="mb-0"),
        ],
        color="warning",
        className="mt-2 mb-2 broken-runs",
        dismissable=True,
    )


# --------------------------------------------------------------------------- callbacks
def switch_polls_js(tab_ids: list[str]) -> str:
    """The client-side tab switch over ``tab_ids``: ``(active_tab, *n_intervals,
    *disabled)`` -> every tab poll's ``disabled`` (only the shown tab's runs; no_update
    where that is so already), then every poll's ``n_intervals`` (the shown tab's bumped
    by one, so it updates at once; the others unchanged, so they send nothing)."""
    return """
function (activeTab, ...state) {
    const tabs = __TABS__;
    const counts = state.slice(0, tabs.length), disabled = state.slice(tabs.length);
    const noUpdate = window.dash_clientside.no_update;
    return tabs.map((tab, i) => (disabled[i] === (tab !== activeTab) ? noUpdate : tab !== activeTab)).concat(
        tabs.map((tab, i) => (tab === activeTab ? (counts[i] || 0) + 1 : noUpdate)));
}
""".replace("__TABS__", json.dumps(tab_ids))


# In the browser: a tab switch is not worth a round trip, and must not wake hidden tabs.
# Not called on page load: the first tab's poll starts enabled (see tab_polls).
clientside_callback(
    switch_polls_js([tab.TAB_ID for tab in TABS]),
    [Output(poll_id(tab.TAB_ID), "disabled") for tab in TABS]
    + [Output(poll_id(tab.TAB_ID), "n_intervals") for tab in TABS],
    Input("app-tabs", "active_tab"),
    [State(poll_id(tab.TAB_ID), "n_intervals") for tab in TABS]
    + [State(poll_id(tab.TAB_ID), "disabled") for tab in TABS],
    prevent_initial_call=True,
)


def hidden_polls_js(poll_ids: list[str], hidden_ms: int = HIDDEN_POLL_MS) -> str:
    """Client-side, once per page load: while the page is hidden (``document.hidden``),
    every poll's interval becomes ``hidden_ms``; when it is shown again, the page's own
    interval returns (the next poll comes one interval later). Which polls run at all (the
    shell's and the shown tab's) stays the tab switch's business."""
    return """
function (pollMs) {
    if (window.__neurodashHiddenPolls) return window.dash_clientside.no_update;
    window.__neurodashHiddenPolls = true;
    const polls = __POLLS__, hiddenMs = __HIDDEN_MS__;
    document.addEventListener("visibilitychange", () => {
        const interval = document.hidden ? hiddenMs : pollMs;
        polls.forEach(id => window.dash_clientside.set_props(id, {interval}));
    });
    return "watching";
}
""".replace("__POLLS__", json.dumps(poll_ids)).replace("__HIDDEN_MS__", str(int(hidden_ms)))


clientside_callback(
    hidden_polls_js(["app-poll", *(poll_id(tab.TAB_ID) for tab in TABS)]),
    Output("app-visibility", "data"),
    Input("app-poll-ms", "data"),
)


def notice_key(root: Path, runs: list) -> str:
    """What the notice under the run picker depends on (it is sent again only when this changes)."""
    return json.dumps([root.exists(), [[r.label, r.broken] for r in runs if r.broken] if runs else None])


def refresh_runs(_n, runs_dir, current, current_options, shown_notice=None):
    """Keep the run picker in step with the folder: new runs appear, broken runs are
    listed (disabled) with their reason, and the newest readable run is chosen when
    nothing is selected yet. Returns the picker's options and value, the notice under it
    and the notice's key (no_update for each that ``current``, ``current_options`` and
    ``shown_notice`` already show)."""
    root = read.served_root() or Path(runs_dir or ".")
    runs = read.list_runs(root)
    options = [{"label": r.label, "value": r.path, "disabled": bool(r.broken)} for r in runs]
    readable = [r.path for r in runs if not r.broken]
    value = current if current in readable else (readable[0] if readable else None)
    key = notice_key(root, runs)
    if key == shown_notice:
        notice = no_update
    elif not root.exists():
        notice = dbc.Alert(
            f"The folder {root} does not exist yet. It is created when the first run starts; "
            "this page shows runs as soon as they appear.",
            color="info",
            className="mt-3",
        )
    elif not runs:
        notice = how_to_start(str(root))
    else:
        notice = broken_notice(runs)
    return (
        no_update if options == current_options else options,
        no_update if value == current else value,
        notice,
        no_update if notice is no_update else key,
    )


@callback(Output("app-run", "data"), Input("app-run-picker", "value"))
def select_run(value):
    """The selected run folder, shared with every tab through the "app-run" store."""
    return value


def _status_detail(status: read.WorkerStatus) -> str:
    parts = []
    if status.state == read.NO_HEARTBEAT:
        return "waiting for the worker to report"
    if status.total_steps:
        parts.append(f"step {status.step:,} of {status.total_steps:,}")
    else:
        parts.append(f"step {status.step:,}")
    if status.state == T.RUNNING and status.sps:
        parts.append(f"{status.sps:,.0f} steps/s")
    if status.controllable and status.speed:
        parts.append("watch speed" if status.speed == T.SPEED_WATCH else "full speed")
    if status.state == read.NOT_RESPONDING and status.age is not None:
        parts.append(f"no heartbeat for {status.age:,.0f} s")
    if status.message:
        parts.append(status.message)
    return " · ".join(parts)


def update_status(_n, run):
    """The status badge, progress bar and which controls can be used, from the heartbeat."""
    if not run:
        return "no run", "secondary", "", 0, True, True, True, True, True, True, True, True
    try:
        with read.session(run) as s:
            status = read.runs.worker_status(s)
    except read.BrokenRun as exc:
        return read.BROKEN, "danger", str(exc), 0, True, True, True, True, True, True, True, True
    running, paused, alive = status.state == T.RUNNING, status.state == T.PAUSED, status.controllable
    progress = 0 if status.progress is None else round(100 * status.progress, 1)
    watch = alive and status.speed == T.SPEED_WATCH
    return (
        status.state,
        _STATE_COLORS.get(status.state, "secondary"),
        _status_detail(status),
        progress,
        not running,
        not paused,
        not paused,
        not alive,
        not alive,
        not alive,
        not watch,
        not (alive and not watch),
    )


_STATUS_OUTPUTS = 12
_ALERT_OUTPUTS = 4


@callback(
    Output("app-run-picker", "options"),
    Output("app-run-picker", "value"),
    Output("app-notice", "children"),
    Output("app-notice-key", "data"),
    Output("app-status", "children"),
    Output("app-status", "color"),
    Output("app-status-detail", "children"),
    Output("app-progress", "value"),
    Output("app-pause", "disabled"),
    Output("app-resume", "disabled"),
    Output("app-step", "disabled"),
    Output("app-stop", "disabled"),
    Output("app-speed-watch", "disabled"),
    Output("app-speed-full", "disabled"),
    Output("app-speed-watch", "outline"),
    Output("app-speed-full", "outline"),
    Output("app-status-key", "data"),
    Output("alerts-panel", "children"),
    Output("alerts-float", "children"),
    Output("alerts-float", "style"),
    Output("alerts-seen", "data"),
    Input("app-poll", "n_intervals"),
    Input("app-run-picker", "value"),  # also an output: a run chosen here or by the user is shown at once
    State("app-runs-dir", "data"),
    State("app-run-picker", "options"),
    State("app-notice-key", "data"),
    State("app-status-key", "data"),
    State("alerts-seen", "data"),
)
def update_shell(n, current, runs_dir, current_options, shown_notice, shown_status, alerts_seen):
    """The shell's one request per poll: the run picker (and the notice under it), the
    status badge and controls, and the network-health alerts, for the chosen run."""
    options, value, notice, key = refresh_runs(n, runs_dir, current, current_options, shown_notice)
    run = current if value is no_update else value
    with read.shared_session(run):  # one store opening for both panels
        status = update_status(n, run)
        status_key = json.dumps(status)
        if status_key == shown_status:  # a finished or paused run: the badge says it already
            status, status_key = (no_update,) * _STATUS_OUTPUTS, no_update
        try:
            shown_alerts = alerts.update_alerts(n, run, alerts_seen)
        except PreventUpdate:
            shown_alerts = (no_update,) * _ALERT_OUTPUTS
    return options, value, notice, key, *status, status_key, *shown_alerts


_COMMAND_FOR = {
    "app-pause": (T.CMD_PAUSE, None),
    "app-resume": (T.CMD_RESUME, None),
    "app-step": (T.CMD_STEP, None),
    "app-stop-confirm": (T.CMD_STOP, None),
    "app-speed-watch": (T.CMD_SPEED, T.SPEED_WATCH),
    "app-speed-full": (T.CMD_SPEED, T.SPEED_FULL),
}


def command_for(trigger: str | None) -> tuple[str, str | None] | None:
    """The (action, value) a control sends, or None for an unknown trigger."""
    return _COMMAND_FOR.get(trigger or "")


@callback(
    Output("app-control-feedback", "children"),
    Input("app-pause", "n_clicks"),
    Input("app-resume", "n_clicks"),
    Input("app-step", "n_clicks"),
    Input("app-stop-confirm", "submit_n_clicks"),
    Input("app-speed-watch", "n_clicks"),
    Input("app-speed-full", "n_clicks"),
    State("app-run", "data"),
    prevent_initial_call=True,
)
def send_control(_pause, _resume, _step, _stop, _watch, _full, run):
    """Send the pressed control's command to the selected run's worker."""
    command = command_for(ctx.triggered_id)
    if command is None or not run:
        return no_update
    action, value = command
    try:
        read.send_command(run, action, value)
    except read.BrokenRun as exc:
        return f"Could not send {action}: {exc}"
    label = f"{action} {value}" if value else action
    return f"Sent “{label}” to the worker."
