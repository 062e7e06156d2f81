"""One store session per tick: every poll-driven callback opens the run's store once,
however many things it reads (an opening costs more than the reads)."""

from __future__ import annotations

import contextlib

import pytest
from dash.exceptions import PreventUpdate

from tests.dashapp.network_run import write_run
from tests.dashapp.ticks import poll_ticks


@pytest.fixture(params=["today", "schema1"])
def run(request, tmp_path) -> str:
    """A run written by today's probe and attribution publisher, or the schema-1 run kept in
    tests/fixtures (which also has episodes, gradients, a heartbeat, a frame and alerts)."""
    if request.param == "schema1":
        return str(request.getfixturevalue("schema1_run"))
    path = tmp_path / "runs" / "today"
    write_run(path, sizes=(12, 16, 8, 3), steps=20)
    return str(path)


@pytest.mark.parametrize(
    "selection",
    [
        {"kind": "neuron", "column": 1, "index": 0},
        {"kind": "neuron", "column": 3, "index": 1},
        {"kind": "layer", "column": 2},
    ],
    ids=["hidden-neuron", "action", "layer"],
)
def test_every_poll_driven_callback_opens_the_store_once(run, selection, store_openings):
    for name, call in poll_ticks(run, selection=selection):
        store_openings.clear()
        with contextlib.suppress(PreventUpdate):  # "nothing to send" is an answer too
            call()
        assert len(store_openings) == 1, f"{name} opened the run's store {len(store_openings)} times"
