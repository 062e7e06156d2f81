"""The health watch's record types: what ``health/`` found in each of the agent's networks
while it trained (``rl.healthwatch`` analyses them at checkpoints and every N steps).

Each analysis writes one :class:`HealthRecord` to the HEALTH series: the step, the
checkpoint file saved at that step (if any), and per network (:class:`HealthNetwork`) the
overall alpha with its verdict, the dead neurons and the potential issues, and per layer
(:class:`HealthLayer`) WeightWatcher's alpha, stable rank (also as a share of full rank),
log spectral norm and eigenvalue count, the dead neurons by both methods and the verdicts
with their remedies (:class:`HealthVerdict`). A layer WeightWatcher could not fit is
``analysed=False`` with the ``reason``, and has no alpha. The HEALTH_STATUS key
(:class:`HealthStatus`) says what the watch is doing (waiting for the first analysis,
analysing the weights of a step, failed) and when the next analysis is due.

The numbers are ``health``'s own (``health.results.NetworkHealth.rows()`` and
``summary()``); nothing here computes one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from rl.telemetry.records import Part, Record

#: What the watch is doing (HealthStatus.state).
HEALTH_WAITING, HEALTH_ANALYSING, HEALTH_IDLE, HEALTH_FAILED = "waiting", "analysing", "idle", "failed"


@dataclass(frozen=True)
class HealthVerdict(Part):
    """Which band of the health guide a value falls in (``health.verdicts.Verdict``):
    ``label`` (short, upper case), ``meaning`` (one sentence), ``advice`` (the remedy;
    may be empty) and ``severity`` ("ok" < "note" < "warn" < "bad")."""

    key: str
    label: str
    meaning: str
    advice: str
    severity: str


@dataclass(frozen=True)
class HealthIssue(Part):
    """One potential issue ``health`` found in a network (``health.issues.Issue``)."""

    severity: str
    text: str


@dataclass(frozen=True)
class HealthLayer(Part):
    """One weight layer as ``health`` diagnosed it.

    ``analysed``: WeightWatcher fitted a power law and ``alpha`` means something; when
    False, ``reason`` says why (too few eigenvalues, a failed fit, non-finite weights) and
    ``alpha`` is None -- the norms, which do not depend on the fit, may still be there.
    ``stable_rank_share`` = stable rank / full rank (the number of eigenvalues). Dead
    neurons (hidden layers only; None for an output layer): ``dead_activation`` by the
    activation method (units whose output hardly varies over recent observations; None
    when it could not be used) and ``dead_weight`` by the weight method (units whose
    incoming weights are all near zero), of ``units``.
    """

    NESTED: ClassVar[Mapping[str, type[Part]]] = {
        "alpha_verdict": HealthVerdict,
        "stable_rank_verdict": HealthVerdict,
        "spectral_verdict": HealthVerdict,
        "dead_verdict": HealthVerdict,
    }
    name: str
    kind: str
    shape: list[int]
    hidden: bool
    analysed: bool
    reason: str | None = None
    num_evals: int | None = None
    alpha: float | None = None
    alpha_verdict: HealthVerdict | None = None
    confidence: str | None = None
    stable_rank: float | None = None
    full_rank: int | None = None
    stable_rank_share: float | None = None
    stable_rank_verdict: HealthVerdict | None = None
    log_spectral_norm: float | None = None
    spectral_verdict: HealthVerdict | None = None
    units: int | None = None
    dead_activation: int | None = None
    dead_weight: int | None = None
    dead_verdict: HealthVerdict | None = None

    @property
    def dead(self) -> int | None:
        """The dead units by the activation method, else by the weight method."""
        return self.dead_activation if self.dead_activation is not None else self.dead_weight

    @property
    def dead_share(self) -> float | None:
        dead = self.dead
        return dead / self.units if dead is not None and self.units else None


@dataclass(frozen=True)
class HealthNetwork(Part):
    """One network's diagnosis at one step: its ``layers``, input to output; the overall
    ``alpha`` (the mean of the analysed layers') with its verdict; the dead neurons of its
    hidden layers (``dead_method``: the method ``dead`` was counted with -- "weight" when
    the activation method was not possible, ``dead_note`` says why; ``dead_inputs``: which
    inputs the activation method ran on) and the weight method's count; the potential
    ``issues``. ``target_of``: the network a target network follows. ``error``: the
    analysis of this network failed (then it has no layers)."""

    NESTED: ClassVar[Mapping[str, type[Part]]] = {
        "layers": HealthLayer,
        "alpha_verdict": HealthVerdict,
        "dead_verdict": HealthVerdict,
        "issues": HealthIssue,
    }
    name: str
    layers: list[HealthLayer] = field(default_factory=list)
    alpha: float | None = None
    alpha_verdict: HealthVerdict | None = None
    alpha_confidence: str | None = None
    layers_analysed: int = 0
    dead_method: str | None = None
    dead: int | None = None
    dead_weight: int | None = None
    hidden_units: int | None = None
    dead_verdict: HealthVerdict | None = None
    dead_inputs: str | None = None
    dead_note: str | None = None
    issues: list[HealthIssue] = field(default_factory=list)
    target_of: str | None = None
    error: str | None = None

    @property
    def dead_share(self) -> float | None:
        return self.dead / self.hidden_units if self.dead is not None and self.hidden_units else None

    def layer(self, name: str) -> HealthLayer | None:
        return next((layer for layer in self.layers if layer.name == name), None)


@dataclass(frozen=True)
class HealthRecord(Record):
    """One analysis of every network of the agent, on the weights of step ``step``
    (``checkpoint``: the file saved at that step, by name, or None between checkpoints).
    ``seconds``: how long the analysis took (in its own process); ``skipped``: the steps
    at which another analysis was due while this one ran -- they were skipped, not
    queued."""

    KIND: ClassVar[str] = "health"
    NESTED: ClassVar[Mapping[str, type[Part]]] = {"networks": HealthNetwork}
    step: int
    time: float
    networks: list[HealthNetwork]
    checkpoint: str | None = None
    seconds: float | None = None
    skipped: list[int] = field(default_factory=list)

    def network(self, name: str | None) -> HealthNetwork | None:
        return next((n for n in self.networks if n.name == name), None)


@dataclass(frozen=True)
class HealthStatus(Record):
    """The HEALTH_STATUS key: what the health watch is doing. ``state``: waiting (for the
    first analysis), analysing (the weights of ``running_step``), idle (between two) or
    failed (``error`` says why; no more analyses in this run). ``every``: an analysis every
    this many steps (0: at checkpoints only), and at every checkpoint (``checkpoint_every``,
    0: none on the way); ``next_step``: when the next one is due (None: none left before
    the run ends at ``total_steps``). ``analyses`` published so far, the newest of them
    of step ``last_step`` (at checkpoint ``last_checkpoint``; it took ``last_seconds``),
    and ``skipped`` because one was still running."""

    KIND: ClassVar[str] = "health_status"
    state: str
    time: float
    every: int
    checkpoint_every: int
    total_steps: int
    next_step: int | None = None
    running_step: int | None = None
    analyses: int = 0
    last_step: int | None = None
    last_checkpoint: str | None = None
    last_seconds: float | None = None
    skipped: int = 0
    error: str | None = None
