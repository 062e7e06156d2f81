"""The probe's data as the Activations, Gradients and Weights tabs and the alerts panel
read it: typed records of one watched network (``rl.telemetry``'s own types), read
incrementally from where a page's chart stands, which networks have weight samples, each
neuron's recent activations, and the run's network-health alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from dashapp.read.series import int_or
from dashapp.read.sessions import Session
from rl import telemetry as T

#: Probe records a chart draws on first load (the newest ones). At one record per
#: publish (about a second) that is the last five minutes or so of training.
PROBE_RECORDS = 300

#: The probe's series and the record type each holds.
KINDS: dict[str, type[T.Record]] = {
    T.ACTIVATIONS: T.ActivationRecord,
    T.GRADIENTS: T.GradientRecord,
    T.WEIGHTS: T.WeightRecord,
}

R = TypeVar("R", T.ActivationRecord, T.GradientRecord, T.WeightRecord)


@dataclass(frozen=True)
class ProbeRecords(Generic[R]):
    """Records of one probe series, oldest first. ``seq``: the newest one read (or where
    the page stood, when nothing is new); ``full``: these are the newest records as a
    whole and the chart must be redrawn from them; ``tail``: the newest records whatever
    the page had (for verdicts over a window), when asked for."""

    records: list[R] = field(default_factory=list)
    seq: int = -1
    full: bool = True
    tail: list[R] = field(default_factory=list)

    @property
    def latest(self) -> R | None:
        return self.records[-1] if self.records else None


def _decode(s: Session, kind: str, rows: list[dict]) -> list:
    record_type = KINDS[kind]
    with s.decoding(f"its {kind} records"):
        return [record_type.from_dict(row) for row in rows]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a probe series")
    return kind


def probe_records(s: Session, kind: str, network: str | None = None, limit: int | None = PROBE_RECORDS) -> ProbeRecords:
    """The newest ``limit`` records of probe series ``kind`` (``telemetry.ACTIVATIONS``,
    ``GRADIENTS`` or ``WEIGHTS``) of ``network`` (default: the one shown first)."""
    rows = s.read(s.probe_key(_kind(kind), network), limit=limit)
    return ProbeRecords(_decode(s, kind, rows), rows[-1]["seq"] if rows else -1, True)


def probe_update(
    s: Session, kind: str, drawn: int | None, network: str | None = None, limit: int = PROBE_RECORDS, tail: int = 0
) -> ProbeRecords:
    """The records newer than ``drawn`` (the newest record a page's chart holds), or --
    when the page has drawn nothing (``drawn`` None), the series restarted, or the page
    fell more than ``limit`` records behind -- the newest ``limit`` with ``full`` set. With
    ``tail``, also the newest ``tail`` records whatever the page had."""
    series = s.probe_key(_kind(kind), network)
    last = s.last_seq(series)
    if drawn is None or not (drawn <= last <= drawn + limit):
        full, rows = True, s.read(series, limit=limit)
    else:
        full, rows = False, s.read(series, after=drawn) if last > drawn else []
    records = _decode(s, kind, rows)
    if not tail:
        tail_records = []
    elif full or len(rows) >= tail:  # the newest records are among those read
        tail_records = records[-tail:]
    else:
        tail_records = _decode(s, kind, s.read(series, limit=tail))
    seq = rows[-1]["seq"] if rows else (-1 if full or drawn is None else drawn)
    return ProbeRecords(records, seq, full, tail_records)


def latest_probe_record(s: Session, kind: str, network: str | None = None):
    """The newest record of a probe series, or None."""
    return probe_records(s, kind, network, limit=1).latest


def weight_networks(s: Session) -> list[str]:
    """The networks with weight samples: the watched ones (the one shown first first), then
    those whose weights only the probe samples -- the target networks (SAC's
    ``target_critic_1`` and ``target_critic_2``, a DQN's ``target_network``). A run whose
    probe settings name no such network (written before the probe sampled them, or
    without the probe) has the watched ones only."""
    meta = s.meta()
    watched = list(meta.watched) if meta is not None else []
    data = s.get(T.PROBE_CONFIG)
    if data is None:
        return watched
    with s.decoding("its probe settings"):
        if not isinstance(data, dict):
            raise TypeError("they are not a JSON object")
        targets = T.ProbeSettings.from_dict(data).weights_only
    return watched + [name for name in targets if name not in watched]


# --------------------------------------------------------------------------- neurons
@dataclass(frozen=True)
class LayerHistory:
    """One hidden layer's recent activations: ``history`` (samples, neurons), oldest first."""

    name: str
    activation: str
    history: np.ndarray

    @property
    def size(self) -> int:
        return int(self.history.shape[1])


@dataclass(frozen=True)
class NeuronActivity:
    """Each hidden layer's recent activations; ``samples`` acting samples were taken so far
    (the newest of them are the histories)."""

    step: int
    samples: int
    layers: list[LayerHistory]

    def layer(self, name: str | None) -> LayerHistory | None:
        return next((layer for layer in self.layers if layer.name == name), None)


def neuron_activity(s: Session, network: str | None = None) -> NeuronActivity | None:
    """The probe's per-neuron activations of ``network``; None before it has published."""
    data = s.get(s.probe_key(T.NEURONS, network))
    if data is None:
        return None
    with s.decoding("its neuron activations"):
        if not isinstance(data, dict):
            raise TypeError("it is not a JSON object")
        rec = T.NeuronsRecord.from_dict(data)
        layers = []
        for layer in rec.layers:
            history = T.decode_array(layer.history).astype(np.float32)
            if history.ndim != 2:
                raise ValueError(f"{layer.name} history has {history.ndim} dimensions, expected 2")
            layers.append(LayerHistory(str(layer.name), str(layer.activation), history))
    return NeuronActivity(int_or(rec.step, 0), int_or(rec.samples, 0), layers)


# --------------------------------------------------------------------------- alerts


@dataclass(frozen=True)
class AlertsView:
    """The run's network-health alerts: ``active`` ones most severe first, then the
    recently ``cleared`` ones; ``step`` of the last check."""

    active: list[T.AlertEntry] = field(default_factory=list)
    cleared: list[T.AlertEntry] = field(default_factory=list)
    step: int | None = None


def alerts(s: Session) -> AlertsView | None:
    """The ALERTS key, or None before the probe first checked the network."""
    data = s.get(T.ALERTS)
    if data is None:
        return None
    with s.decoding("its alerts"):
        rec = T.AlertsRecord.from_dict(data)
    active = sorted((a for a in rec.alerts if a.active), key=lambda a: (a.severity, a.started_step or 0))
    return AlertsView(active, [a for a in rec.alerts if not a.active], rec.step if isinstance(rec.step, int) else None)
