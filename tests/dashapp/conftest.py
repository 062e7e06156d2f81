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
def store_openings(monkeypatch) -> list:
    """The run folders ``rl.store.open_run`` opens, as ``dashapp.read.session`` calls it."""
    from dashapp.read import sessions as read_session

    opened = []
    real = read_session.S.open_run

    def counting(path):
        opened.append(path)
        return real(path)

    monkeypatch.setattr(read_session.S, "open_run", counting)
    return opened


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


#: A short real SAC run: small networks, learning from step 300 (a few seconds of training).
SAC_OVERRIDES = {"hidden_sizes": (16, 16), "learning_starts": 300, "batch_size": 32, "checkpoint_every": 0}


def _sac_run(tmp_path_factory, env_id: str) -> Path:
    from rl import worker

    path = tmp_path_factory.mktemp("sac") / "run"
    worker.train(env_id, agent="sac", steps=1_500, run_dir=path, seed=0, overrides=SAC_OVERRIDES)
    return path


@pytest.fixture(scope="session")
def sac_run(tmp_path_factory) -> Path:
    """A real SAC run on Pendulum-v1 (continuous actions: the critics are given the action),
    written once per session by ``rl.worker.train``; tests only read it."""
    return _sac_run(tmp_path_factory, "Pendulum-v1")


@pytest.fixture(scope="session")
def discrete_sac_run(tmp_path_factory) -> Path:
    """A real SAC run on our Breakout (discrete actions: the actor outputs logits, the
    critics a Q-value per action; the worker publishes an attribution)."""
    return _sac_run(tmp_path_factory, "neurodash/Breakout-v0")
