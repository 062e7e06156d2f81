from __future__ import annotations

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
