from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.dashapp.runbuilder import RunBuilder


@pytest.fixture
def make_run(tmp_path):
    """Factory: ``make_run("name")`` -> a :class:`RunBuilder` in ``tmp_path/runs/name``."""
    built: list[RunBuilder] = []

    def make(name: str = "run-1", **kw) -> RunBuilder:
        builder = RunBuilder(tmp_path / "runs" / name, **kw)
        built.append(builder)
        return builder

    yield make
    for b in built:
        b.close()


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"


#: A run folder written by the schema-1 neurodash (see tests/fixtures/README.md).
SCHEMA1_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "run-schema1"


@pytest.fixture
def schema1_run(tmp_path) -> Path:
    """A copy of ``tests/fixtures/run-schema1`` in ``tmp_path/runs`` (opening a diskcache
    store may write to it, so the kept one is never opened)."""
    path = tmp_path / "runs" / SCHEMA1_RUN.name
    shutil.copytree(SCHEMA1_RUN, path)
    return path
