"""The probe's record types: what it measured inside a network, layer by layer.

Each publish of the probe (``rl.probe``) for one network writes an
:class:`ActivationRecord`, zero or more :class:`GradientRecord` and :class:`WeightRecord`
(one per sample taken since the last publish), a :class:`NeuronsRecord` (the per-neuron
detail the network view draws) and the run's :class:`AlertsRecord`. The attribution
publisher (``rl.attribution``) writes an :class:`AttributionRecord`.

Every layer's figures are a typed part (:class:`ActivationLayer`, ...), on the worker's
side and on the dashboard's, so a renamed field is a failing test rather than a "–" on
screen. Arrays of per-neuron numbers use :func:`rl.telemetry.arrays.encode_array`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rl.telemetry.records import Part, Record


@dataclass(frozen=True)
class NetworkRecord(Record):
    """A record about one watched network (its subclasses declare the ``network`` field)."""

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        # schema 1 watched one network, the DQN's q_network
        data.setdefault("network", "q_network")
        return data


# --------------------------------------------------------------------------- activations
@dataclass(frozen=True)
class ActivationLayer(Part):
    """One hidden layer's activations since the previous publish.

    ``mean``/``std``/``min``/``max`` over those ``samples`` and all neurons (None when
    none was finite; ``nonfinite`` counts NaN and infinite outputs); ``hist`` counts over
    equal bins from ``hist_lo`` to ``hist_hi``. The neuron states rest on the ``window``
    most recent samples: ``dead`` and ``saturated`` neurons, ``always_active`` ones (a
    ReLU-family layer's never-silent neurons, else None) and ``states`` per neuron
    (0 dead, 1 active, 2 saturated).
    """

    name: str
    activation: str
    size: int
    samples: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    hist: list[int]
    hist_lo: float | None
    hist_hi: float | None
    window: int
    dead: int | None
    saturated: int | None
    always_active: int | None = None
    states: list[int] = field(default_factory=list)
    nonfinite: int = 0


@dataclass(frozen=True)
class ActivationRecord(NetworkRecord):
    """Activation statistics of each hidden layer of ``network``, input to output.

    ``output_abs_max``/``output_mean``: the largest |output| and the mean output over the
    samples (a DQN's Q-values); None when the network's output is not a tensor.
    """

    KIND: ClassVar[str] = "activations"
    NESTED: ClassVar[Mapping[str, type[Part]]] = {"layers": ActivationLayer}
    step: int
    samples: int  # acting samples taken since the run started
    layers: list[ActivationLayer]
    network: str = "q_network"
    output_abs_max: float | None = None
    output_mean: float | None = None

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        data.setdefault("output_abs_max", data.pop("q_abs_max", None))
        data.setdefault("output_mean", data.pop("q_mean", None))
        return super().upgrade(data, version)


# --------------------------------------------------------------------------- gradients
@dataclass(frozen=True)
class GradientLayer(Part):
    """One layer's gradient after a sampled optimisation step, over all its parameters
    (weight and bias), as the backward pass left it (before any clipping). ``finite``:
    no NaN or infinity in it (then the other figures are None)."""

    name: str
    norm: float | None
    mean_abs: float | None
    max_abs: float | None
    std: float | None
    finite: bool = True


@dataclass(frozen=True)
class GradientRecord(NetworkRecord):
    KIND: ClassVar[str] = "gradients"
    NESTED: ClassVar[Mapping[str, type[Part]]] = {"layers": GradientLayer}
    step: int
    update: int  # optimisation steps of this network seen since the run started
    layers: list[GradientLayer]
    total_norm: float | None
    network: str = "q_network"


# --------------------------------------------------------------------------- weights
@dataclass(frozen=True)
class WeightLayer(Part):
    """One layer's weights at a sample: statistics, a histogram from ``hist_lo`` to
    ``hist_hi``, ``near_zero`` = weights with |w| below
    ``health.thresholds.LIVE_NEAR_ZERO_WEIGHT``, and ``velocity`` = ||W - W_prev|| /
    ||W_prev|| since the previous sample (None for the first)."""

    name: str
    size: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    near_zero: int
    norm: float | None
    velocity: float | None
    hist: list[int]
    hist_lo: float | None
    hist_hi: float | None


@dataclass(frozen=True)
class WeightRecord(NetworkRecord):
    KIND: ClassVar[str] = "weights"
    NESTED: ClassVar[Mapping[str, type[Part]]] = {"layers": WeightLayer}
    step: int
    updates: int  # optimisation steps between the previous sample and this one (a target network: its online one's)
    layers: list[WeightLayer]
    network: str = "q_network"


# --------------------------------------------------------------------------- neurons
@dataclass(frozen=True)
class NeuronLayer(Part):
    """A hidden layer as the network view draws it: each neuron's ``current`` output,
    ``history`` (float16, (n, size), oldest first), incoming ``weight`` (float32, (size,
    inputs)) and ``bias``, as encoded arrays."""

    name: str
    activation: str
    size: int
    current: list[float | None]
    history: dict
    weight: dict
    bias: dict


@dataclass(frozen=True)
class OutputLayer(Part):
    """The network's final layer: its weights and biases (encoded arrays)."""

    name: str
    weight: dict
    bias: dict


@dataclass(frozen=True)
class NeuronsRecord(NetworkRecord):
    """The per-neuron detail of ``network`` (its NEURONS key): hidden ``layers``, the
    ``output`` layer, the current ``input`` and the network's ``output`` for it (a DQN's
    Q-values), the ``action`` taken, and ``samples`` = acting samples taken so far (the
    newest of them are the layers' histories)."""

    KIND: ClassVar[str] = "neurons"
    NESTED: ClassVar[Mapping[str, type[Part]]] = {"layers": NeuronLayer, "output_layer": OutputLayer}
    step: int
    layers: list[NeuronLayer]
    output_layer: OutputLayer | None
    input: list[float | None]
    output: list[float | None]
    action: int | list[float] | None
    samples: int = 0
    network: str = "q_network"

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        # schema 1 called the output layer "output" and the network's output "q"
        if "output_layer" not in data:
            data["output_layer"] = data.pop("output", None)
        data.setdefault("output", data.pop("q", []))
        return super().upgrade(data, version)


# --------------------------------------------------------------------------- alerts
@dataclass(frozen=True)
class AlertEntry(Part):
    """One network-health alert (see ``health.live_rules``): which ``rule`` fired in which
    ``network`` and ``layer``, how bad (``level``), what it means and what to try, and when
    it started and (if it is no longer ``active``) ended."""

    id: str
    rule: str
    layer: str | None
    level: str
    title: str
    message: str
    remedy: str
    active: bool
    value: float | None = None
    network: str | None = None
    started_step: int | None = None
    started_time: float | None = None
    last_step: int | None = None
    ended_step: int | None = None
    ended_time: float | None = None

    #: Levels, most severe first (``health.live_rules``' words).
    LEVELS: ClassVar[tuple[str, ...]] = ("critical", "warning", "info")

    @property
    def severity(self) -> int:
        """0 for the most severe level; unknown levels last."""
        return self.LEVELS.index(self.level) if self.level in self.LEVELS else len(self.LEVELS)


@dataclass(frozen=True)
class AlertsRecord(Record):
    """The ALERTS key: the alerts of every watched network, active ones first (most
    severe first), then recently cleared ones."""

    KIND: ClassVar[str] = "alerts"
    NESTED: ClassVar[Mapping[str, type[Part]]] = {"alerts": AlertEntry}
    step: int
    time: float
    alerts: list[AlertEntry]


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class WatchedLayerInfo(Part):
    """A layer the probe watches: its activation, and whether it is hidden (activations are
    recorded) or an output layer (weights and gradients only)."""

    name: str
    activation: str
    hidden: bool


@dataclass(frozen=True)
class WatchedNetwork(Part):
    """A network the probe watches, and its layers, input to output. ``weights_only``: only
    its weights are sampled (a target network, which neither acts nor learns by itself:
    WEIGHTS records, but no activations, gradients, neurons or alerts); False in runs
    written before the probe sampled target networks."""

    NESTED: ClassVar[Mapping[str, type[Part]]] = {"layers": WatchedLayerInfo}
    name: str
    layers: list[WatchedLayerInfo]
    weights_only: bool = False


@dataclass(frozen=True)
class ProbeSettings(Record):
    """The PROBE_CONFIG key: the probe's settings (``rl.probe.ProbeConfig`` as a dict) and
    the networks it watches -- the live ones first, then those whose weights only it
    samples."""

    KIND: ClassVar[str] = "probe_settings"
    NESTED: ClassVar[Mapping[str, type[Part]]] = {"networks": WatchedNetwork}
    config: dict
    networks: list[WatchedNetwork] = field(default_factory=list)

    def watched_layers(self, network: str) -> list[WatchedLayerInfo]:
        """The layers of ``network`` the probe watches ([] when it does not watch it)."""
        return next((n.layers for n in self.networks if n.name == network), [])

    @property
    def weights_only(self) -> list[str]:
        """The networks whose weights only the probe samples (the target networks)."""
        return [n.name for n in self.networks if n.weights_only]

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        # schema 1 stored the settings at the top level and one network's layers as a list
        layers = data.pop("layers", [])
        config = {k: v for k, v in data.items() if k not in ("kind", "v")}
        return {"config": config, "networks": [{"name": "q_network", "layers": layers}]}


# --------------------------------------------------------------------------- attribution
@dataclass(frozen=True)
class AttributionLayer(Part):
    """A hidden layer in one attributed state: each neuron's output (``values``, (size,))
    and its ``contribution`` to each output ((outputs, size)), as encoded arrays."""

    name: str
    activation: str
    values: dict
    contribution: dict


@dataclass(frozen=True)
class IntegratedGradientsInfo(Part):
    """How an attribution's integrated gradients were computed: the quadrature ``method`` and
    its ``steps``, the ``baseline`` state (and what it is: ``baseline_kind``,
    ``baseline_label``), the outputs there (``q_baseline``) and, per output, the completeness
    residual ``delta`` = sum of the attributions - (output now - output at the baseline)."""

    method: str
    steps: int
    baseline: list[float]
    baseline_kind: str
    baseline_label: str
    q_baseline: list[float]
    delta: list[float]


@dataclass(frozen=True)
class ResponseSweep(Part):
    """Each input feature swept over its recent range, the others held: ``values``
    (features, points) and the outputs there, ``q`` (features, points, outputs)."""

    values: dict
    q: dict


@dataclass(frozen=True)
class RecentStates(Part):
    """Recent states (``obs``, (n, features)) and the network's greedy action in each
    (``actions``, (n,)), oldest first."""

    obs: dict
    actions: dict


@dataclass(frozen=True)
class AttributionRecord(NetworkRecord):
    """Attribution of one state (see ``rl.attribution``). Arrays use ``encode_array``.

    ``saliency`` and ``integrated_gradients``: (outputs, features); ``ig``: how the
    integrated gradients were computed; ``response``: the feature sweep; ``recent``: recent
    states and the network's choice in each.
    """

    KIND: ClassVar[str] = "attribution"
    NESTED: ClassVar[Mapping[str, type[Part]]] = {
        "layers": AttributionLayer,
        "ig": IntegratedGradientsInfo,
        "response": ResponseSweep,
        "recent": RecentStates,
    }
    step: int
    q: list[float]
    action: int  # the network's choice (argmax Q) for this state
    taken: int  # the action the agent actually took (may be exploratory)
    input: list[float]
    contribution_method: str
    layers: list[AttributionLayer]
    saliency: dict
    integrated_gradients: dict
    ig: IntegratedGradientsInfo
    response: ResponseSweep
    recent: RecentStates
    network: str = "q_network"
