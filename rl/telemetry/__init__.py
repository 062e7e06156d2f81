"""Telemetry: the record types the worker writes and the dashboard reads, and the names
they are stored under.

Both sides import this package, so a field or a key is declared exactly once:

* :mod:`rl.telemetry.keys` -- series and key names, capacities, states, commands;
* :mod:`rl.telemetry.records` -- the record base (schema version, upgrades) and the run's
  records: metadata, steps, episodes, heartbeat, frame, commands;
* :mod:`rl.telemetry.probe_records` -- what the probe and the attribution publisher
  measure inside a network, layer by layer;
* :mod:`rl.telemetry.labels` -- the names shown for unnamed features and actions;
* :mod:`rl.telemetry.arrays` -- numpy arrays as JSON-able data.

No torch here: the dashboard imports it.
"""

from rl.telemetry.arrays import decode_array, encode_array
from rl.telemetry.keys import (
    ACTIVATIONS,
    ALERTS,
    ATTRIBUTION,
    ATTRIBUTION_STEP,
    CMD_PAUSE,
    CMD_RESUME,
    CMD_SPEED,
    CMD_STEP,
    CMD_STOP,
    COMMANDS,
    COMMANDS_ACCEPTED,
    DEFAULT_CAPS,
    EPISODES,
    FAILED,
    FINISHED,
    FRAME,
    FRAME_UNAVAILABLE,
    GRADIENTS,
    HEARTBEAT,
    HEARTBEAT_STALE_S,
    META,
    NEURONS,
    PAUSED,
    PER_NETWORK,
    PROBE_CONFIG,
    RUNNING,
    SPEED_FULL,
    SPEED_WATCH,
    SPEEDS,
    STEPS,
    STOPPED,
    WEIGHTS,
    default_cap,
    probe_key,
)
from rl.telemetry.labels import action_label, action_labels, feature_label, feature_labels, labels
from rl.telemetry.probe_records import (
    ActivationLayer,
    ActivationRecord,
    AlertEntry,
    AlertsRecord,
    AttributionLayer,
    AttributionRecord,
    GradientLayer,
    GradientRecord,
    NeuronLayer,
    NeuronsRecord,
    OutputLayer,
    ProbeSettings,
    WatchedLayerInfo,
    WeightLayer,
    WeightRecord,
)
from rl.telemetry.records import (
    SCHEMA_VERSION,
    ActionSpace,
    Command,
    EpisodeRecord,
    Frame,
    Heartbeat,
    LayerInfo,
    NetworkInfo,
    Part,
    Record,
    RunMeta,
    SchemaError,
    StepRecord,
    check_version,
    rows,
    worker_alive,
)

__all__ = [
    "ACTIVATIONS", "ALERTS", "ATTRIBUTION", "ATTRIBUTION_STEP", "CMD_PAUSE", "CMD_RESUME", "CMD_SPEED",
    "CMD_STEP", "CMD_STOP", "COMMANDS", "COMMANDS_ACCEPTED", "DEFAULT_CAPS", "EPISODES", "FAILED", "FINISHED",
    "FRAME", "FRAME_UNAVAILABLE", "GRADIENTS", "HEARTBEAT", "HEARTBEAT_STALE_S", "META", "NEURONS", "PAUSED",
    "PER_NETWORK", "PROBE_CONFIG", "RUNNING", "SCHEMA_VERSION", "SPEEDS", "SPEED_FULL", "SPEED_WATCH", "STEPS",
    "STOPPED", "WEIGHTS", "ActionSpace", "ActivationLayer", "ActivationRecord", "AlertEntry", "AlertsRecord",
    "AttributionLayer", "AttributionRecord", "Command", "EpisodeRecord", "Frame", "GradientLayer",
    "GradientRecord", "Heartbeat", "LayerInfo", "NetworkInfo", "NeuronLayer", "NeuronsRecord", "OutputLayer",
    "Part", "ProbeSettings", "Record", "RunMeta", "SchemaError", "StepRecord", "WatchedLayerInfo", "WeightLayer",
    "WeightRecord", "action_label", "action_labels", "check_version", "decode_array", "default_cap",
    "encode_array", "feature_label", "feature_labels", "labels", "probe_key", "rows", "worker_alive",
]
