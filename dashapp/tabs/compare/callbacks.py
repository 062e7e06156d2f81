"""The Compare tab's callbacks: pick a folder, start an analysis, follow it, show it.

* ``update_folders`` (the tab's poll) lists the served checkpoint folders and starts the
  analysis workers, so they have imported torch by the time "Analyse" is pressed;
* ``list_files`` lists a chosen folder's checkpoint files -- the folder checked first
  (:func:`dashapp.checkpoints.folders.confine`): the page may only name served folders;
* ``start_analysis`` starts a job (:mod:`dashapp.checkpoints.jobs`) and returns its id;
  nothing is analysed in the request;
* ``poll_job`` (the tab's poll) reads the job's progress from disk: the bar, "k of n";
* ``show_networks``, ``show_comparison``, ``show_grid``, ``pick_checkpoint``,
  ``show_report`` draw the finished job, rebuilding health's ``Comparison`` from the cache;
* ``download`` sends the report text or the zipped report files.

Every callback reads what it shows from disk (the job's files and the result cache), so
any server process answers the same.
"""

from __future__ import annotations

from pathlib import Path

from dash import Input, Output, State, callback, ctx, dcc, no_update
from dash.exceptions import PreventUpdate

from dashapp.checkpoints import folders as FO
from dashapp.checkpoints import jobs, reports
from dashapp.checkpoints.analysis import AnalysisSettings
from dashapp.figures import compare as F
from dashapp.figures.common import empty_figure
from dashapp.tabs.compare import report as V
from dashapp.tabs.compare.view import ALPHA_HEIGHT, POLL, TAB_ID
from health import Comparison

_HIDDEN: dict[str, str] = {"display": "none"}
_SHOWN: dict[str, str] = {}


def _roots() -> tuple[Path | None, list[Path], list[Path]]:
    """(served runs folder, ``--checkpoints`` folders, every root a path may lie in)."""
    runs, dirs = FO.served_roots()
    return runs, dirs, ([runs] if runs is not None else []) + dirs


def load_comparison(done) -> tuple[Comparison, jobs.JobResult] | None:
    """The finished job's ``Comparison`` (health's, over the cached results) and result."""
    if not isinstance(done, dict):
        return None
    root = jobs.state_dir()
    result = jobs.read_result(root, done.get("id"))
    if result is None:
        return None
    results, errors = jobs.load_results(root, result)
    return reports.comparison(results, errors), result


@callback(
    Output("compare-folder", "options"),
    Output("compare-folder", "value"),
    Input(POLL, "n_intervals"),
    State("app-tabs", "active_tab"),
    State("compare-folder", "options"),
    State("compare-folder", "value"),
)
def update_folders(_n, active_tab, current_options, current):
    """The served checkpoint folders (each with its number of files); keeps the choice."""
    if active_tab != TAB_ID:
        raise PreventUpdate
    runs, dirs, _ = _roots()
    found = FO.list_folders(runs, dirs)
    jobs.runner().warm()
    options = [
        {
            "label": f"{f.label} · {f.files} checkpoint file{'s' if f.files != 1 else ''}",
            "value": f.path,
            "disabled": not f.files,
        }
        for f in found
    ]
    usable = [f.path for f in found if f.files]
    value = current if current in usable else (usable[0] if usable else None)
    return (no_update if options == current_options else options), (no_update if value == current else value)


@callback(
    Output("compare-files", "options"),
    Output("compare-files", "value"),
    Output("compare-folder-info", "children"),
    Output("compare-start", "disabled"),
    Input("compare-folder", "value"),
)
def list_files(folder):
    """The chosen folder's checkpoint files, all ticked, in training order."""
    if not folder:
        return [], [], "No folder of checkpoints: start `neurodash serve` with --runs or --checkpoints.", True
    _, _, roots = _roots()
    try:
        path = FO.confine(folder, roots)
        files, left_out = FO.checkpoint_files(path, roots)
    except (FO.OutsideServed, OSError) as exc:
        return [], [], f"Cannot use this folder: {exc}", True
    options = [{"label": f.name, "value": str(f)} for f in files]
    info = [
        f"{len(files)} checkpoint file{'s' if len(files) != 1 else ''} in {path}, in training order. "
        "The same analysis on the command line: ",
        dcc.Markdown(f"`neurodash health --checkpoint {path}`", style={"display": "inline-block"}),
        *(f" {line}." for line in left_out),
    ]
    return options, [o["value"] for o in options], info, not files


@callback(
    Output("compare-job", "data"),
    Output("compare-start-feedback", "children"),
    Input("compare-start", "n_clicks"),
    State("compare-folder", "value"),
    State("compare-files", "value"),
    prevent_initial_call=True,
)
def start_analysis(n_clicks, folder, chosen):
    """Start analysing the ticked files (in the folder's training order) in the background."""
    if not n_clicks:
        raise PreventUpdate
    _, _, roots = _roots()
    try:
        path = FO.confine(folder or "", roots)
        files, _ = FO.checkpoint_files(path, roots)
    except (FO.OutsideServed, OSError) as exc:
        return no_update, f"Cannot analyse: {exc}"
    picked = {_confined(c, roots) for c in chosen or []} - {None}
    ordered = [f for f in files if str(f.resolve()) in picked]
    if not ordered:
        return no_update, "Tick at least one checkpoint file."
    job_id = jobs.start_job(ordered, AnalysisSettings(), folder=str(path))
    return {"id": job_id, "total": len(ordered)}, ""


def _confined(path, roots: list[Path]) -> str | None:
    """A ticked file from the page, resolved, or None when it lies outside the served folders."""
    try:
        return str(FO.confine(path, roots)) if isinstance(path, str) else None
    except FO.OutsideServed:
        return None


@callback(
    Output("compare-progress", "value"),
    Output("compare-progress", "label"),
    Output("compare-status", "children"),
    Output("compare-done", "data"),
    Input(POLL, "n_intervals"),
    Input("compare-job", "data"),
    State("app-tabs", "active_tab"),
    State("compare-done", "data"),
)
def poll_job(_n, job, active_tab, done):
    """The running job's progress (k of n checkpoints); when it has finished, what to draw."""
    if active_tab != TAB_ID or not isinstance(job, dict):
        raise PreventUpdate
    if isinstance(done, dict) and done.get("id") == job.get("id"):
        raise PreventUpdate  # finished and drawn: nothing to poll
    progress = jobs.read_progress(jobs.state_dir(), job.get("id"))
    if progress is None:
        return 0, "", "This analysis is not known to the server (its files were removed); start it again.", no_update
    value = round(100 * progress.done / progress.total) if progress.total else 100
    label = f"{progress.done} of {progress.total} checkpoints"
    if progress.state == jobs.RUNNING:
        first = ""
        if progress.done == 0:
            first = " -- the analysis workers load PyTorch and WeightWatcher once, which takes a few seconds"
        return value, label, f"Analysing in the background (the other tabs keep working){first}...", no_update
    if progress.state != jobs.DONE:
        return value, label, progress.message, no_update
    loaded = load_comparison({"id": job["id"]})
    if loaded is None:
        return value, label, "The analysis finished but its result cannot be read; start it again.", no_update
    cmp, result = loaded
    status = f"Analysed {len(cmp.results)} of {progress.total} checkpoints"
    status += f" ({len(cmp.errors)} could not be)." if cmp.errors else "."
    keep = cmp.keep_label
    return value, label, status, {"id": job["id"], "networks": list(cmp.alphas), "labels": cmp.labels, "keep": keep}


@callback(
    Output("compare-network", "options"),
    Output("compare-network", "value"),
    Output("compare-network-block", "style"),
    Output("compare-download-text", "disabled"),
    Output("compare-download-zip", "disabled"),
    Input("compare-done", "data"),
    State("compare-network", "value"),
)
def show_networks(done, current):
    """The network picker, shown when the checkpoints hold several networks."""
    networks = done.get("networks", []) if isinstance(done, dict) else []
    value = current if current in networks else (networks[0] if networks else None)
    options = [{"label": n, "value": n} for n in networks]
    return options, value, (_SHOWN if len(networks) > 1 else _HIDDEN), not done, not networks


@callback(
    Output("compare-alpha", "figure"),
    Output("compare-alpha-missing", "children"),
    Output("compare-verdict", "children"),
    Output("compare-errors", "children"),
    Input("compare-done", "data"),
    Input("compare-network", "value"),
)
def show_comparison(done, network):
    """Alpha across checkpoints, the layers without an alpha, the verdict and the failed files."""
    loaded = load_comparison(done)
    if loaded is None:
        raise PreventUpdate
    cmp, result = loaded
    errors = V.errors_view(cmp.errors, result.outcomes)
    if not cmp.results or network not in cmp.alphas:
        msg = "No checkpoint could be analysed." if not cmp.results else "Choose a network."
        return empty_figure(msg, height=ALPHA_HEIGHT), None, V.verdict_view(cmp, network or ""), errors
    missing = V.missing_view(F.not_analysed(cmp, network), len(cmp.labels))
    return F.alpha_figure(cmp, network, height=ALPHA_HEIGHT), missing, V.verdict_view(cmp, network), errors


@callback(
    Output("compare-heatmap", "figure"),
    Input("compare-done", "data"),
    Input("compare-network", "value"),
    Input("compare-metric", "value"),
)
def show_grid(done, network, metric):
    """The layer x checkpoint heatmap of the chosen metric."""
    loaded = load_comparison(done)
    if loaded is None:
        raise PreventUpdate
    cmp, _ = loaded
    if not cmp.results or network not in cmp.alphas or metric not in F.METRICS:
        return empty_figure("No checkpoint could be analysed." if not cmp.results else "Choose a network.")
    return F.heatmap_figure(F.layer_grid(cmp, network, metric))


@callback(
    Output("compare-checkpoint", "options"),
    Output("compare-checkpoint", "value"),
    Input("compare-done", "data"),
    Input("compare-alpha", "clickData"),
    Input("compare-heatmap", "clickData"),
    State("compare-checkpoint", "value"),
)
def pick_checkpoint(done, alpha_click, grid_click, current):
    """The checkpoint list; a click on either chart picks the checkpoint clicked. Until
    then: the one to keep."""
    labels = done.get("labels", []) if isinstance(done, dict) else []
    options = [{"label": lb, "value": lb} for lb in labels]
    click = {"compare-alpha": alpha_click, "compare-heatmap": grid_click}.get(str(ctx.triggered_id))
    clicked = (click or {}).get("points", [{}])[0].get("x") if isinstance(click, dict) else None
    if clicked in labels:
        return options, clicked
    keep = done.get("keep") if isinstance(done, dict) else None
    value = current if current in labels else (keep if keep in labels else (labels[-1] if labels else None))
    return options, value


@callback(
    Output("compare-report", "children"),
    Input("compare-checkpoint", "value"),
    Input("compare-network", "value"),
    State("compare-done", "data"),
)
def show_report(label, network, done):
    """The picked checkpoint's report: tables and verdicts, and the text ``neurodash health`` prints."""
    loaded = load_comparison(done)
    if loaded is None or label not in (loaded[0].labels if loaded else []):
        raise PreventUpdate
    cmp, _ = loaded
    result = cmp.results[cmp.labels.index(label)]
    return V.report_view(result, network, reports.report_text([result], [], 1))


@callback(
    Output("compare-download", "data"),
    Output("compare-download-feedback", "children"),
    Input("compare-download-text", "n_clicks"),
    Input("compare-download-zip", "n_clicks"),
    State("compare-done", "data"),
    prevent_initial_call=True,
)
def download(_text, _zip, done):
    """The report text of every analysed checkpoint, or all its files zipped (made once per analysis)."""
    loaded = load_comparison(done)
    if loaded is None:
        return no_update, "Analyse a folder first."
    cmp, result = loaded
    if ctx.triggered_id == "compare-download-text":
        text = reports.report_text(cmp.results, cmp.errors, len(result.outcomes))
        return dcc.send_string(text, "network_health_report.txt"), ""
    try:
        path = reports.reports_zip(jobs.state_dir(), done["id"], jobs.runner())
    except Exception as exc:  # the page says why instead of failing silently
        return no_update, f"Could not write the report files: {type(exc).__name__}: {exc}"
    return dcc.send_file(str(path), filename=path.name), ""
