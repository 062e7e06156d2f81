"""Write a real run folder with what the network view reads, the way the worker does.

A small torch MLP named like our DQN (fc1, relu1, ..., q_out) acts on random
observations; the real :class:`rl.probe.ProbeCallback` and
:class:`rl.attribution.AttributionCallback` watch it through the callback seam and
publish NEURONS, ACTIVATIONS, WEIGHTS and ATTRIBUTION into a folder made by
``rl.store.create_run_dir``; step records go to STEPS. Used by the tab tests, the
browser test and ``bench/network_view.py``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rl import store as S
from rl import telemetry as T

FEATURES = ["ball x", "ball y", "ball vx", "ball vy", "paddle x"] + [f"brick {i}" for i in range(1, 8)]
ACTIONS = ["LEFT", "STAY", "RIGHT"]


def mlp(sizes: Sequence[int], seed: int = 0, dead_layer: str | None = None):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    layers: list[tuple[str, nn.Module]] = []
    n_hidden = len(sizes) - 2
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        if i <= n_hidden:
            layers += [(f"fc{i}", nn.Linear(a, b)), (f"relu{i}", nn.ReLU())]
        else:
            layers.append(("q_out", nn.Linear(a, b)))
    net = nn.Sequential(OrderedDict(layers))
    if dead_layer:
        with torch.no_grad():
            getattr(net, dead_layer).bias.fill_(-50.0)
    return net


def write_run(
    path: Path,
    sizes: Sequence[int] = (12, 32, 32, 3),
    steps: int = 40,
    seed: int = 0,
    features: Sequence[str] | None = None,
    actions: Sequence[str] | None = None,
    dead_layer: str | None = None,
    publish_every_s: float = 0.0,
) -> dict:
    """Create ``path`` as a run folder and play ``steps`` random steps through the probe
    and the attribution publisher (publishing every step, or at most every
    ``publish_every_s`` seconds; always at the end). Returns the network and what was
    published last."""
    import torch

    from rl.agents.base import Decision
    from rl.attribution import AttributionCallback
    from rl.callbacks import CallbackList, RunContext, StepInfo
    from rl.probe import ProbeCallback, ProbeConfig

    torch.set_num_threads(1)
    if features is None:
        features = (FEATURES + [f"x{i}" for i in range(12, sizes[0])])[: sizes[0]]
    features = list(features)
    actions = list(actions if actions is not None else (ACTIONS + [f"a{i}" for i in range(3, sizes[-1])])[: sizes[-1]])
    net = mlp(sizes, seed, dead_layer)
    layers = [
        T.LayerInfo(n, m.in_features, m.out_features, "relu" if n != "q_out" else "linear")
        for n, m in net.named_children()
        if isinstance(m, torch.nn.Linear)
    ]
    meta = T.RunMeta(
        run_id=Path(path).name,
        env_id="neurodash/Breakout-v0",
        agent="dqn",
        action_names=actions,
        feature_names=features,
        layers=layers,
        config={},
        created=time.time(),
        seed=seed,
        networks=[T.NetworkInfo("q_network", layers, features, actions)],
        action_space=T.ActionSpace("discrete", n=len(actions)),
    )
    store = S.create_run_dir(path, meta)
    ctx = RunContext(store=store, meta=meta, networks={"q_network": net}, watched=("q_network",))
    callbacks = CallbackList(
        [
            ProbeCallback(
                ProbeConfig(
                    activation_every=1, activation_max_per_s=None, publish_every_s=publish_every_s, weight_every=10
                )
            ),
            AttributionCallback(publish_every_s=publish_every_s),
        ]
    )
    callbacks.on_training_start(ctx)
    rng = np.random.default_rng(seed)
    obs = rng.random(sizes[0]).astype(np.float32)
    try:
        for step in range(1, steps + 1):
            with torch.no_grad():
                q = net(torch.as_tensor(obs)[None])[0].numpy()
            action = int(np.argmax(q)) if rng.random() > 0.2 else int(rng.integers(sizes[-1]))
            next_obs = rng.random(sizes[0]).astype(np.float32)
            ctx.step = step
            decision = Decision(action, explored=action != int(np.argmax(q)), q=q.tolist())
            callbacks.on_step(
                ctx,
                StepInfo(
                    step=step,
                    episode=0,
                    obs=obs,
                    decision=decision,
                    reward=0.0,
                    next_obs=next_obs,
                    terminated=False,
                    truncated=False,
                ),
            )
            store.append(
                T.STEPS,
                [
                    T.StepRecord(
                        step=step,
                        q=[float(v) for v in q],
                        action=action,
                        explored=action != int(np.argmax(q)),
                        reward=0.0,
                    ).to_dict()
                ],
            )
            obs = next_obs
        callbacks.on_training_end(ctx)
        return {
            "network": net,
            "neurons": store.get(T.probe_key(T.NEURONS, "q_network")),
            "attribution": store.get(T.ATTRIBUTION),
            "features": features,
            "actions": actions,
        }
    finally:
        store.close()
