"""neurodash.health -- diagnose networks and checkpoints (pure analysis, no Dash, no training).

The API the command line and the dashboard use::

    from health import load_checkpoint, analyze_checkpoint, analyze_network, compare_checkpoints

    ckpt = load_checkpoint("runs/x/checkpoints/ckpt_000050000.pt")  # safe: weights only
    ckpt.networks                        # {"q_network": Network, "target_network": Network}
    result = analyze_checkpoint(ckpt)    # CheckpointHealth
    result.networks["q_network"].rows()  # one plain dict per layer (every metric)
    result.networks["q_network"].summary()
    cmp = compare_checkpoints(["a.pt", "b.pt", "c.pt"])   # pattern verdict + which to keep
    cmp.overall.key, cmp.keep_label

Every threshold lives in :mod:`health.thresholds`. Importing this package does not
import torch or weightwatcher (they are imported when first needed).
"""

from health.compare import Comparison, Pattern, alpha_pattern, compare_checkpoints
from health.dead import DeadNeurons, InputSamples, dead_neurons, input_samples
from health.diagnosis import (
    CheckpointHealth,
    Issue,
    LayerHealth,
    NetworkHealth,
    Verdict,
    alpha_verdict,
    analyze_checkpoint,
    analyze_network,
    dead_verdict,
    spectral_verdict,
    stable_rank_verdict,
)
from health.loading import Checkpoint, CheckpointError, find_checkpoints, load_checkpoint
from health.networks import Layer, Network, build_network

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointHealth",
    "Comparison",
    "DeadNeurons",
    "InputSamples",
    "Issue",
    "Layer",
    "LayerHealth",
    "Network",
    "NetworkHealth",
    "Pattern",
    "Verdict",
    "alpha_pattern",
    "alpha_verdict",
    "analyze_checkpoint",
    "analyze_network",
    "build_network",
    "compare_checkpoints",
    "dead_neurons",
    "dead_verdict",
    "find_checkpoints",
    "input_samples",
    "load_checkpoint",
    "spectral_verdict",
    "stable_rank_verdict",
]
