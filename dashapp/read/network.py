"""The network view's data: a watched network as columns of neurons (the probe's NEURONS
key), why it acts as it does (the ATTRIBUTION key), and cheap change markers that tell a
poll whether anything new exists before it reads the heavy parts.

Decoding the weights and the activation histories is most of the work (a 3x512 network
holds megabytes of them), so :func:`snapshot` decodes only the columns a callback asks for.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dashapp.read.series import floats, int_or
from dashapp.read.sessions import Session
from rl import telemetry as T


@dataclass(frozen=True)
class NetworkData:
    """A network as the graph draws it: columns from input to output.

    ``values[c]`` are column ``c``'s current outputs; ``weights[c]`` its incoming weights
    (``(size_c, size_{c-1})``, None for the input column or when not decoded);
    ``histories[c]`` its recent outputs ``(n, size_c)`` when decoded. ``input_names`` and
    ``output_names`` name the input and output numbers (a Q-network: the observation's
    features and the actions); ``action`` is the output the network rates highest.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]  # "input" | "hidden" | "output"
    activations: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray | None, ...]
    histories: tuple[np.ndarray | None, ...] = ()
    biases: tuple[np.ndarray | None, ...] = ()
    input_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    action: int | None = None
    step: int = 0
    network: str = "q_network"

    @property
    def sizes(self) -> list[int]:
        return [int(np.size(v)) for v in self.values]

    def history(self, column: int) -> np.ndarray | None:
        return self.histories[column] if column < len(self.histories) else None

    def labels(self, column: int) -> list[str]:
        """Every node's label in ``column``."""
        size, kind = self.sizes[column], self.kinds[column]
        if kind == "input":
            return T.feature_labels(self.input_names, size)
        if kind == "output":
            return T.action_labels(self.output_names, size)
        return [T.neuron_label(self.names[column], i) for i in range(size)]

    def label(self, column: int, index: int) -> str:
        """One node's label (cheaper than :meth:`labels` for a wide layer)."""
        kind = self.kinds[column]
        if kind == "hidden":
            return T.neuron_label(self.names[column], index)
        names = self.input_names if kind == "input" else self.output_names
        if index < len(names):
            return str(names[index])
        return T.feature_label(index) if kind == "input" else T.action_label(index)

    def shape_key(self) -> list:
        """What decides the figure's structure (a change means: rebuild, not patch)."""
        return [self.network, list(self.names), self.sizes, list(self.input_names), list(self.output_names)]


@dataclass(frozen=True)
class AttributionView:
    """The ATTRIBUTION key decoded (see ``rl.attribution``): why the network acts as it
    does in one state. Arrays: ``saliency``/``integrated_gradients`` (actions, features),
    ``contributions[layer]`` (actions, size), ``response_values`` (features, points),
    ``response_q`` (features, points, actions), ``recent_obs`` (n, features),
    ``recent_actions`` (n,)."""

    step: int
    q: np.ndarray
    action: int
    taken: int
    input: np.ndarray
    method: str
    contributions: dict[str, np.ndarray]
    saliency: np.ndarray
    integrated_gradients: np.ndarray
    ig: T.IntegratedGradientsInfo
    response_values: np.ndarray
    response_q: np.ndarray
    recent_obs: np.ndarray
    recent_actions: np.ndarray
    feature_names: tuple = ()
    action_names: tuple = ()
    network: str = "q_network"


@dataclass(frozen=True)
class NetworkVersions:
    """Cheap change markers: the newest activation and weight records of a network (the
    probe appends one with every NEURONS it writes / weight sample) and the newest
    attribution's step. Equal markers: nothing new to draw."""

    activations: int
    weights: int
    attribution: int | None

    def as_dict(self) -> dict:
        return asdict(self)


def _array(data: Any, what: str, ndim: int | None = None) -> np.ndarray:
    if not isinstance(data, dict):
        raise ValueError(f"{what} is not an encoded array")
    arr = T.decode_array(data)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{what} has {arr.ndim} dimensions, expected {ndim}")
    return arr


def versions(s: Session, network: str | None = None) -> NetworkVersions:
    """The change markers of ``network`` (default: the one shown first): three look-ups,
    so an unchanged (e.g. paused) run costs almost nothing a poll."""
    step = s.get(T.ATTRIBUTION_STEP)
    return NetworkVersions(
        activations=s.last_seq(s.probe_key(T.ACTIVATIONS, network)),
        weights=s.last_seq(s.probe_key(T.WEIGHTS, network)),
        attribution=step if isinstance(step, int) and not isinstance(step, bool) else None,
    )


def snapshot(
    s: Session, network: str | None = None, *, weights: bool | Collection[int] = True, histories: bool | int = True
) -> NetworkData | None:
    """The network as the graph draws it; None until the probe has published it once.

    Leave out the weights with ``weights=False`` (biases go with them) or keep only those
    into the columns listed, and leave out the histories with ``histories=False`` or all
    but column ``histories``.
    """
    data = s.get(s.probe_key(T.NEURONS, network))
    if data is None:
        return None
    meta = s.meta()
    with s.decoding("the probe's network record"):
        return _decode_neurons(data, meta, weights, histories)


def _decode_neurons(
    data: Any, meta: T.RunMeta | None, weights: bool | Collection[int], histories: bool | int
) -> NetworkData:
    def wanted(column: int) -> bool:
        return weights is True or (weights is not False and column in weights)

    if not isinstance(data, dict):
        raise TypeError("it is not a JSON object")
    rec = T.NeuronsRecord.from_dict(data)
    names, kinds, acts = ["input"], ["input"], ["input"]
    values: list[np.ndarray] = [floats(rec.input)]
    weights_: list[np.ndarray | None] = [None]
    biases: list[np.ndarray | None] = [None]
    histories_: list[np.ndarray | None] = [None]
    for layer in rec.layers:
        names.append(str(layer.name))
        kinds.append("hidden")
        acts.append(str(layer.activation or "linear"))
        values.append(floats(layer.current))
        col = len(names) - 1
        weights_.append(_array(layer.weight, f"{layer.name} weight", 2) if wanted(col) else None)
        biases.append(_array(layer.bias, f"{layer.name} bias", 1) if wanted(col) else None)
        history = None
        if histories is True or (histories is not False and histories == col):
            history = _array(layer.history, f"{layer.name} history", 2).astype(np.float32)
            if history.shape[1] != values[-1].size:
                raise ValueError(f"{layer.name} history has {history.shape[1]} neurons, the layer {values[-1].size}")
        histories_.append(history)
    out = rec.output_layer
    output = floats(rec.output)
    names.append(str(out.name) if out else "output")
    kinds.append("output")
    acts.append("linear")
    values.append(output)
    col = len(names) - 1
    weights_.append(_array(out.weight, "output weight", 2) if out and wanted(col) else None)
    biases.append(_array(out.bias, "output bias", 1) if out and wanted(col) else None)
    histories_.append(None)
    info = meta.network_info(rec.network) if meta else None
    finite = np.isfinite(output)
    return NetworkData(
        names=tuple(names),
        kinds=tuple(kinds),
        activations=tuple(acts),
        values=tuple(values),
        weights=tuple(weights_),
        histories=tuple(histories_),
        biases=tuple(biases),
        input_names=tuple(info.inputs if info else ()),
        output_names=tuple(info.outputs if info else ()),
        action=int(np.nanargmax(output)) if finite.any() else None,
        step=int_or(rec.step, 0),
        network=rec.network,
    )


def attribution(s: Session) -> AttributionView | None:
    """The newest attribution of the current state; None before the first one."""
    data = s.get(T.ATTRIBUTION)
    if data is None:
        return None
    meta = s.meta()
    with s.decoding("the attribution record"):
        if not isinstance(data, dict):
            raise TypeError("it is not a JSON object")
        rec = T.AttributionRecord.from_dict(data)
        info = meta.network_info(rec.network) if meta else None
        return AttributionView(
            step=int_or(rec.step, 0),
            q=floats(rec.q),
            action=int_or(rec.action, 0),
            taken=int_or(rec.taken, 0),
            input=floats(rec.input),
            method=str(rec.contribution_method),
            contributions={
                str(layer.name): _array(layer.contribution, f"{layer.name} contribution", 2) for layer in rec.layers
            },
            saliency=_array(rec.saliency, "saliency", 2),
            integrated_gradients=_array(rec.integrated_gradients, "integrated gradients", 2),
            ig=rec.ig,
            response_values=_array(rec.response.values, "response values", 2),
            response_q=_array(rec.response.q, "response Q-values", 3),
            recent_obs=_array(rec.recent.obs, "recent observations", 2),
            recent_actions=_array(rec.recent.actions, "recent actions", 1).astype(np.int64),
            feature_names=tuple(info.inputs if info else ()),
            action_names=tuple(info.outputs if info else ()),
            network=rec.network,
        )
