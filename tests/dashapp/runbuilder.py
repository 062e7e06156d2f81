"""Write real run folders for dashboard tests, through the real store (diskcache).

The records are the worker's own types from ``rl.telemetry``, appended with
``Store.append``/``put`` into a folder made by ``rl.store.create_run_dir`` -- the same path
the training worker takes -- so a test that reads them back exercises the real storage.
Importable from any test package: ``from tests.dashapp.runbuilder import RunBuilder``.
"""

from __future__ import annotations

import base64
import io
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

from rl import store as S
from rl import telemetry as T

ACTIONS = ["LEFT", "STAY", "RIGHT"]


def meta(run_id: str = "run", actions: Sequence[str] = ACTIONS, created: float | None = None) -> T.RunMeta:
    layers = [T.LayerInfo("fc1", 2, 4, "relu")]
    features = ["ball x", "ball y"]
    return T.RunMeta(
        run_id=run_id,
        env_id="neurodash/Breakout-v0",
        agent="dqn",
        action_names=list(actions),
        feature_names=features,
        layers=layers,
        config={"steps": 1000},
        created=time.time() if created is None else created,
        networks=[T.NetworkInfo("q_network", layers, features, list(actions))],
        action_space=T.ActionSpace("discrete", n=len(actions)),
    )


def tiny_png(width: int = 4, height: int = 3) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


class RunBuilder:
    """A run folder plus helpers that append telemetry to it."""

    def __init__(self, path: Path, actions: Sequence[str] = ACTIONS, created: float | None = None) -> None:
        self.path = Path(path)
        self.actions = list(actions)
        self.store = S.create_run_dir(self.path, meta(self.path.name, actions, created))
        self.step = 0
        self.episode = 0

    def close(self) -> None:
        self.store.close()

    # ---- series
    def add_steps(self, n: int, q=None, explored=None, action=None) -> list[dict]:
        """Append ``n`` step records. ``q``/``explored``/``action`` may be callables of the
        step number; defaults: Q rising slowly per action, every 3rd step exploring,
        the greedy action otherwise."""
        rows = []
        for _ in range(n):
            self.step += 1
            s = self.step
            qs = list(q(s)) if callable(q) else [0.01 * s + a for a in range(len(self.actions))]
            ex = explored(s) if callable(explored) else s % 3 == 0
            if callable(action):
                act = action(s)
            else:
                finite = [(v, i) for i, v in enumerate(qs) if v is not None and not math.isnan(v)]
                act = max(finite)[1] if finite else 0
            rows.append(T.StepRecord(step=s, q=qs, action=act, explored=ex, reward=0.0, episode=self.episode).to_dict())
        self.store.append(T.STEPS, rows)
        return rows

    def add_episodes(self, n: int, score=None, loss=None) -> list[dict]:
        rows = []
        for _ in range(n):
            self.episode += 1
            e = self.episode
            value = loss(e) if callable(loss) else 1.0 / e
            rows.append(
                T.EpisodeRecord(
                    episode=e,
                    step=self.step,
                    score=score(e) if callable(score) else float(e),
                    length=10,
                    sps=500.0,
                    losses={} if value is None else {"loss": value},
                    exploration={"epsilon": max(0.05, 1 - e / 10)},
                ).to_dict()
            )
        self.store.append(T.EPISODES, rows)
        return rows

    # ---- keys
    def heartbeat(self, state: str = T.RUNNING, age: float = 0.0, **kw) -> dict:
        hb = T.Heartbeat(
            time=time.time() - age, step=self.step, state=state, pid=12345, **{"total_steps": 1000, "sps": 250.0, **kw}
        ).to_dict()
        self.store.put(T.HEARTBEAT, hb)
        return hb

    def frame(self, step: int | None = None) -> dict:
        fr = T.Frame(step=self.step if step is None else step, png_base64=tiny_png(), width=4, height=3).to_dict()
        self.store.put(T.FRAME, fr)
        return fr

    def commands(self) -> list[dict]:
        return self.store.read(T.COMMANDS)


def newer_schema_run(path: Path) -> Path:
    """A run folder whose run.json says it was written by a newer neurodash."""
    RunBuilder(path).close()
    data = json.loads((path / S.RUN_MARKER).read_text())
    data["v"] = T.SCHEMA_VERSION + 1
    (path / S.RUN_MARKER).write_text(json.dumps(data))
    return path


def unreadable_marker_run(path: Path) -> Path:
    """A run folder whose run.json is not JSON."""
    path.mkdir(parents=True)
    (path / S.RUN_MARKER).write_text("{ this is not json")
    return path
