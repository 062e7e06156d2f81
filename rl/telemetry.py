"""Telemetry record types and the names they are stored under.

The training worker writes these records and the dashboard reads them; both sides
import this module, so a field or a key is declared exactly once. Records travel as
plain JSON-able dicts tagged with ``kind`` and the schema version ``v`` -- never as
pickled class instances -- so renaming a class here cannot make yesterday's runs
unreadable.

Two kinds of storage exist (see ``rl.store``):

* **series** -- bounded ring buffers; every record gets a sequence number ``seq``
  and readers ask for "what is newer than my cursor";
* **keys** -- a single latest value (heartbeat, the current game frame, ...).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

#: Bump when a stored record changes incompatibly. Readers refuse newer versions.
SCHEMA_VERSION = 1

# --------------------------------------------------------------------------- series
#: one record per environment step (or per sampled step): Q per action, action taken.
STEPS = "rollout/steps"
#: one record per finished episode: score, length, mean loss, epsilon, steps/s.
EPISODES = "rollout/episodes"
#: per-layer activation statistics, sampled (the probe).
ACTIVATIONS = "probe/activations"
#: per-layer gradient statistics after sampled optimisation steps (the probe).
GRADIENTS = "probe/gradients"
#: per-layer weight statistics and update velocity, every N steps (the probe).
WEIGHTS = "probe/weights"
#: commands from the dashboard to the worker (pause, resume, step, stop, speed).
COMMANDS = "control/commands"

# --------------------------------------------------------------------------- keys
#: run metadata (:class:`RunMeta`), written once when the run starts.
META = "run/meta"
#: the worker's liveness and state (:class:`Heartbeat`), refreshed about twice a second.
HEARTBEAT = "worker/heartbeat"
#: the latest rendered game frame (:class:`Frame`).
FRAME = "live/frame"
#: why the game cannot be drawn, when the environment's renderer failed ({"reason": str}).
FRAME_UNAVAILABLE = "live/frame_unavailable"
#: per-neuron recent activations, the layer weights and the current state, for the
#: network view and the neuron inspector (written by the probe).
NEURONS = "probe/neurons"
#: currently known network-health alerts, active and recently cleared.
ALERTS = "health/alerts"
#: the probe's settings (rl.probe.ProbeConfig as a dict) and the layers it watches.
PROBE_CONFIG = "probe/config"
#: why the network acts as it does for the current state: per-neuron contributions to each
#: Q-value, input saliency, integrated gradients, the feature-response sweep and recent
#: states with the network's choices (:class:`AttributionRecord`, written by
#: ``rl.attribution.AttributionCallback``, read by the network view).
ATTRIBUTION = "probe/attribution"
#: the step of the newest ATTRIBUTION (an int, written with it): lets a reader see that a
#: new one exists without reading the record itself.
ATTRIBUTION_STEP = "probe/attribution_step"

#: Default ring-buffer capacity per series. A run's config may override these.
DEFAULT_CAPS: dict[str, int] = {
    STEPS: 20_000,
    EPISODES: 5_000,
    ACTIVATIONS: 2_000,
    GRADIENTS: 2_000,
    WEIGHTS: 2_000,
    COMMANDS: 200,
}

#: Worker states as shown on the dashboard.
RUNNING, PAUSED, STOPPED, FINISHED, FAILED = "running", "paused", "stopped", "finished", "failed"
#: Command actions accepted by the worker.
CMD_PAUSE, CMD_RESUME, CMD_STEP, CMD_STOP, CMD_SPEED = "pause", "resume", "step", "stop", "speed"
#: Speed settings: "watch" paces training so a class can follow it; "full" does not pace.
SPEED_WATCH, SPEED_FULL = "watch", "full"


class SchemaError(ValueError):
    """A stored record was written by a newer neurodash than this one."""


@dataclass(frozen=True)
class Record:
    """Base for telemetry records: a frozen dataclass <-> a plain dict."""

    KIND: ClassVar[str] = "record"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["kind"] = self.KIND
        data["v"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        check_version(data)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def check_version(data: Mapping[str, Any], where: str = "record") -> None:
    version = data.get("v", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise SchemaError(
            f"{where} was written with telemetry schema {version!r}, but this neurodash "
            f"reads schema {SCHEMA_VERSION} or older; upgrade neurodash to read it"
        )


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the watched network, as the dashboard labels it."""

    name: str
    in_features: int
    out_features: int
    activation: str = "linear"


@dataclass(frozen=True)
class RunMeta(Record):
    KIND: ClassVar[str] = "meta"
    run_id: str
    env_id: str
    agent: str
    action_names: list[str]
    feature_names: list[str]
    layers: list[dict]  # LayerInfo as dicts, input to output
    config: dict
    created: float
    seed: int | None = None
    network: str = "q_network"


@dataclass(frozen=True)
class StepRecord(Record):
    KIND: ClassVar[str] = "step"
    step: int
    q: list[float]
    action: int
    explored: bool
    reward: float
    episode: int = 0
    #: dueling head only: the state value V(s) and the advantages A(s, a).
    value: float | None = None
    advantages: list[float] | None = None


@dataclass(frozen=True)
class EpisodeRecord(Record):
    KIND: ClassVar[str] = "episode"
    episode: int
    step: int
    score: float
    length: int
    loss: float | None
    epsilon: float
    sps: float


@dataclass(frozen=True)
class Heartbeat(Record):
    KIND: ClassVar[str] = "heartbeat"
    time: float
    step: int
    state: str
    pid: int
    speed: str = SPEED_FULL
    sps: float = 0.0
    total_steps: int | None = None
    message: str = ""


@dataclass(frozen=True)
class Frame(Record):
    KIND: ClassVar[str] = "frame"
    step: int
    png_base64: str
    width: int
    height: int


@dataclass(frozen=True)
class Command(Record):
    KIND: ClassVar[str] = "command"
    action: str
    value: Any = None
    time: float = field(default=0.0)


@dataclass(frozen=True)
class AttributionRecord(Record):
    """Attribution of one state (see ``rl.attribution``). Arrays use :func:`encode_array`.

    ``layers``: per hidden layer ``{"name", "activation", "values": (size,),
    "contribution": (actions, size)}``; ``saliency`` and ``integrated_gradients``:
    (actions, features); ``ig``: method, steps, baseline, q_baseline, delta;
    ``response``: ``{"values": (features, points), "q": (features, points, actions)}``;
    ``recent``: ``{"obs": (n, features), "actions": (n,)}`` -- recent states and the
    network's greedy action in each, oldest first.
    """

    KIND: ClassVar[str] = "attribution"
    step: int
    q: list[float]
    action: int  # the network's choice (argmax Q) for this state
    taken: int  # the action the agent actually took (may be exploratory)
    input: list[float]
    contribution_method: str
    layers: list[dict]
    saliency: dict
    integrated_gradients: dict
    ig: dict
    response: dict
    recent: dict


# --------------------------------------------------------------------------- the probe
@dataclass(frozen=True)
class _PlainRecord(Record):
    """A record whose fields already hold plain JSON data (lists, dicts, numbers):
    ``to_dict`` copies the top level only, instead of ``dataclasses.asdict``'s deep,
    slow recursion -- the probe publishes sizeable nested lists every second."""

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["kind"] = self.KIND
        data["v"] = SCHEMA_VERSION
        return data


@dataclass(frozen=True)
class ActivationRecord(_PlainRecord):
    """Activation statistics of each hidden layer, written by the probe at each publish.

    ``layers``: per hidden layer, input to output::

        {"name", "activation", "size",
         "samples",                    # acting samples these statistics cover
         "mean", "std", "min", "max",  # over those samples and all neurons
         "hist", "hist_lo", "hist_hi", # 20 counts over equal bins from lo to hi
         "window",                     # recent samples the neuron states rest on
         "dead", "saturated",          # neurons dead / saturated over that window
         "always_active",              # ReLU-family: neurons never silent (else None)
         "states"}                     # per neuron: 0 dead, 1 active, 2 saturated

    ``q_abs_max``/``q_mean``: the largest |output| and the mean output over the samples
    (a DQN's Q-values); None when the network's output is not a tensor.
    """

    KIND: ClassVar[str] = "activations"
    step: int
    samples: int  # acting samples taken since the run started
    layers: list[dict]
    q_abs_max: float | None = None
    q_mean: float | None = None


@dataclass(frozen=True)
class GradientRecord(_PlainRecord):
    """Gradient statistics after one sampled optimisation step (the probe).

    ``layers``: per layer with parameters ``{"name", "norm", "mean_abs", "max_abs",
    "std"}`` over all the layer's parameter gradients (weight and bias), taken as the
    backward pass left them (before any clipping). ``total_norm``: of all of them.
    """

    KIND: ClassVar[str] = "gradients"
    step: int
    update: int  # optimisation steps seen since the run started
    layers: list[dict]
    total_norm: float


@dataclass(frozen=True)
class WeightRecord(_PlainRecord):
    """Weight statistics of each layer, sampled every N steps (the probe).

    ``layers``: ``{"name", "size", "mean", "std", "min", "max", "near_zero", "norm",
    "hist", "hist_lo", "hist_hi", "velocity"}`` -- 30 histogram bins from lo to hi,
    near_zero = weights with |w| below ``health.thresholds.LIVE_NEAR_ZERO_WEIGHT``,
    velocity = ||W - W_prev|| / ||W_prev|| since the previous sample (None for the first).
    ``updates``: optimisation steps between the previous sample and this one.
    """

    KIND: ClassVar[str] = "weights"
    step: int
    updates: int
    layers: list[dict]


@dataclass(frozen=True)
class NeuronsRecord(_PlainRecord):
    """The probe's NEURONS key (see INTERFACES "Probe key"). Arrays via encode_array.

    ``layers``: ``{"name", "activation", "size", "current", "history" (float16,
    (n, size), oldest first, n <= 500), "weight" (float32, (size, in)), "bias"}``;
    ``output``: ``{"name", "weight", "bias"}`` of the final Linear layer; ``input``: the
    current observation; ``q``: the network's output for it; ``samples``: acting samples
    taken so far (the newest ``n`` of them are in ``history``).
    """

    KIND: ClassVar[str] = "neurons"
    step: int
    layers: list[dict]
    output: dict | None
    input: list[float]
    q: list[float]
    action: int | None
    samples: int = 0


@dataclass(frozen=True)
class AlertsRecord(_PlainRecord):
    """The ALERTS key: live network-health alerts (see ``health.live_rules.Alert``).

    ``alerts``: active ones first (most severe first), then recently cleared ones; each
    ``{"id", "rule", "layer", "level", "title", "message", "remedy", "value", "active",
    "started_step", "started_time", "last_step", "ended_step", "ended_time"}``.
    """

    KIND: ClassVar[str] = "alerts"
    step: int
    time: float
    alerts: list[dict]


# --------------------------------------------------------------------------- arrays
def encode_array(array, dtype: str = "float32") -> dict:
    """A numpy array as plain JSON-able data: ``{"dtype", "shape", "b64"}``.

    Used for bulky per-neuron data (activation windows, weight matrices) where a JSON
    list of floats would be several times larger. numpy only -- no torch here.
    """
    import base64

    import numpy as np

    arr = np.ascontiguousarray(np.asarray(array, dtype=dtype))
    return {"dtype": str(arr.dtype), "shape": list(arr.shape), "b64": base64.b64encode(arr.tobytes()).decode("ascii")}


_ARRAY_DTYPES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}


def decode_array(data: Mapping[str, Any]):
    """Inverse of :func:`encode_array`; validates dtype and size before trusting them."""
    import base64

    import numpy as np

    dtype = data.get("dtype")
    if dtype not in _ARRAY_DTYPES:
        raise ValueError(f"unsupported array dtype {dtype!r}")
    shape = tuple(int(n) for n in data.get("shape", ()))
    raw = base64.b64decode(data.get("b64", ""))
    expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if len(raw) != expected:
        raise ValueError(f"array data has {len(raw)} bytes, shape {shape} needs {expected}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
