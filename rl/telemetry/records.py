"""The telemetry record types of a run: metadata, steps, episodes, heartbeat, frame, commands.

Records are frozen dataclasses that travel as plain JSON-able dicts tagged with ``kind``
and the schema version ``v`` -- never as pickled class instances -- so renaming a class
cannot make yesterday's runs unreadable. A record written by an older schema is brought
up to date by its class's :meth:`Record.upgrade` when it is read; a newer one is refused
with :class:`SchemaError`.

A record's fields hold plain data or typed *parts* (:class:`Part`: a layer's statistics,
a network's description), declared in the record's ``NESTED`` so both directions convert
them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rl.telemetry.keys import HEARTBEAT_STALE_S, PAUSED, RUNNING, SPEED_FULL
from rl.telemetry.labels import action_labels, feature_labels

#: Bump when a stored record changes. Readers upgrade older versions and refuse newer ones.
#: 1: the first release (one DQN network). 2: decisions of any agent (int or vector actions,
#: Q-values, probabilities, a policy's mean and std), named losses and exploration figures
#: per episode, several networks per run, typed per-layer probe records stored per network.
SCHEMA_VERSION = 2

_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


class SchemaError(ValueError):
    """A stored record was written by a newer neurodash than this one."""


@dataclass(frozen=True)
class Part:
    """A typed piece of a record. Fields hold plain data, or parts of the types named in
    ``NESTED`` (one part, or a list of them)."""

    NESTED: ClassVar[Mapping[str, type[Part]]] = {}

    def to_dict(self) -> dict[str, Any]:
        """The part as plain data (a shallow copy: lists and dicts of numbers are shared)."""
        out = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if value is not None and name in self.NESTED:
                value = [v.to_dict() for v in value] if isinstance(value, list) else value.to_dict()
            out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        """The part from plain data; unknown keys are ignored, a missing required field or a
        value of the wrong kind raises ``TypeError``."""
        if not isinstance(data, Mapping):
            raise TypeError(f"a {cls.__name__} must be a JSON object, not {type(data).__name__}")
        kwargs = {}
        for name in _field_names(cls):
            if name not in data:
                continue
            value = data[name]
            kind = cls.NESTED.get(name)
            if kind is not None and value is not None:
                value = [kind.from_dict(v) for v in value] if isinstance(value, list) else kind.from_dict(value)
            kwargs[name] = value
        return cls(**kwargs)


def check_version(data: Mapping[str, Any], where: str = "record") -> int:
    """The schema version ``data`` was written with (1 when it does not say); raises
    :class:`SchemaError` for a newer one."""
    version = data.get("v", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version > SCHEMA_VERSION:
        raise SchemaError(
            f"{where} was written with telemetry schema {version!r}, but this neurodash "
            f"reads schema {SCHEMA_VERSION} or older; upgrade neurodash to read it"
        )
    return version


@dataclass(frozen=True)
class Record(Part):
    """A stored record: a part tagged with its ``kind`` and the schema version."""

    KIND: ClassVar[str] = "record"

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["kind"] = self.KIND
        data["v"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        if not isinstance(data, Mapping):
            raise TypeError(f"a {cls.KIND} record must be a JSON object, not {type(data).__name__}")
        version = check_version(data, where=f"a {cls.KIND} record")
        if version < SCHEMA_VERSION:
            data = cls.upgrade(dict(data), version)
        return super().from_dict(data)

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        """``data`` as written by schema ``version``, rewritten to today's fields (override
        where a record changed)."""
        return data


# --------------------------------------------------------------------------- the run
@dataclass(frozen=True)
class LayerInfo(Part):
    """One layer of a network, as the dashboard labels it."""

    name: str
    in_features: int
    out_features: int
    activation: str = "linear"


@dataclass(frozen=True)
class NetworkInfo(Part):
    """One of an agent's networks: its layers, input to output, and what its inputs and
    outputs stand for (``inputs``: a name per input number, e.g. the observation's
    features, or features then the action for a critic; ``outputs``: a name per output
    number, e.g. one Q-value per action). ``watched``: the probe watches it live; a target
    network (``target_of`` names its online network) is not -- the probe samples its
    weights only -- but is saved and diagnosed."""

    NESTED: ClassVar[Mapping[str, type[Part]]] = {"layers": LayerInfo}
    name: str
    layers: list[LayerInfo]
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    watched: bool = True
    target_of: str | None = None


@dataclass(frozen=True)
class ActionSpace(Part):
    """The environment's actions: ``discrete`` (``n`` of them, named) or ``box`` (a vector
    of ``shape[0]`` numbers between ``low`` and ``high``)."""

    kind: str  # "discrete" | "box"
    n: int | None = None
    shape: list[int] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Actions to choose from (discrete), or numbers per action (box)."""
        if self.kind == "discrete":
            return int(self.n or 0)
        return int(self.shape[0]) if self.shape else 0


@dataclass(frozen=True)
class RunMeta(Record):
    """What a run is: environment, agent, its networks and the names of its numbers.

    ``layers`` and ``network`` describe the network the dashboard shows first (the first
    watched one); ``networks`` lists every network the agent has."""

    KIND: ClassVar[str] = "meta"
    NESTED: ClassVar[Mapping[str, type[Part]]] = {
        "networks": NetworkInfo,
        "action_space": ActionSpace,
        "layers": LayerInfo,
    }
    run_id: str
    env_id: str
    agent: str
    action_names: list[str]
    feature_names: list[str]
    layers: list[LayerInfo]
    config: dict
    created: float
    seed: int | None = None
    network: str = "q_network"
    networks: list[NetworkInfo] = field(default_factory=list)
    action_space: ActionSpace | None = None

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        # schema 1: one watched network (`network`, `layers`) with discrete actions
        features, actions = list(data.get("feature_names") or []), list(data.get("action_names") or [])
        data.setdefault(
            "networks",
            [
                {
                    "name": data.get("network", "q_network"),
                    "layers": data.get("layers") or [],
                    "inputs": features,
                    "outputs": actions,
                }
            ],
        )
        data.setdefault("action_space", {"kind": "discrete", "n": len(actions)})
        return data

    @property
    def watched(self) -> list[str]:
        """The names of the networks the probe watches, the one shown first first."""
        names = [n.name for n in self.networks if n.watched]
        return names or [self.network]

    @property
    def targets(self) -> dict[str, str]:
        """The target networks (not watched live), each with the name of the network it
        follows: SAC's ``{"target_critic_1": "critic_1", ...}``, a DQN's ``{"target_network":
        "q_network"}``."""
        return {n.name: n.target_of for n in self.networks if n.target_of and not n.watched}

    def network_info(self, name: str | None = None) -> NetworkInfo | None:
        """The named network (default: the one shown first), or None."""
        name = name or self.network
        return next((n for n in self.networks if n.name == name), None)

    def features(self, n: int | None = None) -> list[str]:
        """The observation's feature names (``n`` of them, filled in where missing)."""
        return feature_labels(self.feature_names, len(self.feature_names) if n is None else n)

    def actions(self, n: int | None = None) -> list[str]:
        """The action names (``n`` of them, filled in where missing)."""
        return action_labels(self.action_names, len(self.action_names) if n is None else n)


# --------------------------------------------------------------------------- per step
@dataclass(frozen=True)
class StepRecord(Record):
    """One environment step: the action taken and what the agent knew about it.

    ``action`` is an int (discrete) or a list of floats (continuous). Every other field is
    filled by the agents that know it: ``explored`` (the action was not the agent's best
    guess: an epsilon-greedy random move, a sampled non-greedy action), ``q`` (a Q-value per
    action), ``probs`` (the policy's probability per action), ``mean``/``std`` (a Gaussian
    policy per action dimension, in the action's units), ``value`` (V(s)), ``advantages``
    (A(s, a), a dueling head) and ``critics`` (each critic's estimate of the action taken).
    """

    KIND: ClassVar[str] = "step"
    step: int
    action: int | list[float]
    reward: float
    episode: int = 0
    explored: bool | None = None
    q: list[float] | None = None
    probs: list[float] | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    value: float | None = None
    advantages: list[float] | None = None
    critics: dict[str, float] | None = None


@dataclass(frozen=True)
class EpisodeRecord(Record):
    """One finished episode. ``losses``: the mean of each loss the agent reported over the
    episode's learning steps (``{"loss": ...}`` for DQN; empty before learning starts);
    ``stats``: the mean of each other figure of those steps (SAC: ``entropy``, ``alpha``,
    ``target_entropy``); ``exploration``: the agent's exploration settings at the episode's
    end (``{"epsilon": ...}`` for epsilon-greedy)."""

    KIND: ClassVar[str] = "episode"
    episode: int
    step: int
    score: float
    length: int
    sps: float
    losses: dict[str, float] = field(default_factory=dict)
    exploration: dict[str, float] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        # schema 1: one DQN loss and epsilon
        loss, epsilon = data.pop("loss", None), data.pop("epsilon", None)
        data.setdefault("losses", {} if loss is None else {"loss": loss})
        data.setdefault("exploration", {} if epsilon is None else {"epsilon": epsilon})
        return data


# --------------------------------------------------------------------------- the worker
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


def worker_alive(beat: Heartbeat, now: float) -> bool:
    """True when the worker that wrote ``beat`` is training or paused and beat less than
    :data:`HEARTBEAT_STALE_S` seconds before ``now`` (wall-clock seconds)."""
    return beat.state in (RUNNING, PAUSED) and now - float(beat.time) <= HEARTBEAT_STALE_S


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


def rows(records: Sequence[Record]) -> list[dict]:
    """Records as the plain dicts a store appends."""
    return [r.to_dict() for r in records]
