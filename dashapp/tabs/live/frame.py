"""The Live tab's game picture: the newest frame the worker rendered, sent only when it
changed (or why there is none)."""

from __future__ import annotations

from dash import html, no_update

from dashapp import read
from dashapp.tabs.live.view import TAB_ID


def _frame_view(frame: read.runs.FrameImage | None, message: str):
    if frame is None:
        return html.P(message, className="empty-note")
    return html.Img(
        src=frame.src,
        alt=f"Game frame at step {frame.step:,}",
        className="live-frame",
        width=frame.width,
        height=frame.height,
    )


def update_frame(_n, active_tab, run, cursor):
    """The newest game picture, sent only when it changed."""
    if active_tab != TAB_ID:
        return no_update, no_update, no_update
    if not run:
        return _frame_view(None, "Choose a run above."), "", None
    try:
        with read.session(run) as s:
            game = read.runs.game(s)
    except read.BrokenRun as exc:
        return _frame_view(None, f"This run cannot be read: {exc}"), "", None
    frame = game.frame
    if frame is None:
        if game.unavailable:
            return (
                _frame_view(
                    None,
                    f"This environment cannot draw its picture here ({game.unavailable}); "
                    "everything else on the page still works.",
                ),
                "",
                {"run": run, "step": None},
            )
        return _frame_view(None, "Waiting for the first picture of the game..."), "", {"run": run, "step": None}
    seen = {"run": run, "step": frame.step}
    if cursor == seen:
        return no_update, no_update, no_update
    return _frame_view(frame, ""), f"step {frame.step:,}", seen


__all__ = ["update_frame"]
