"""The health watch: its schedule, one analysis from copied weights to a typed record (real
``health`` on real networks), the analysis process, and -- with a stand-in process the test
answers when it likes -- skipping while an analysis runs, failures reported once, a process
that dies; none of it stops training."""

from __future__ import annotations

import json
import queue
import time

import numpy as np
import pytest
import torch

from rl import telemetry as T
from rl.agents.mlp import MLP
from rl.callbacks import Callback
from rl.healthwatch import HealthJob, HealthWatch, analyse, input_samples_for, next_due
from rl.healthwatch.process import DONE, FAILED, AnalysisProcess
from rl.store import MemoryStore
from rl.worker import train

torch.set_num_threads(1)

BREAKOUT = "neurodash/Breakout-v0"
SMALL = {"hidden_sizes": [16], "dueling": False, "learning_starts": 50, "batch_size": 16, "buffer_size": 2_000}


def _weights(net: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}


def _job(step: int = 10, *, dead_unit: bool = True, obs_dim: int = 6, n: int = 300) -> HealthJob:
    """A DQN-like 6-24-20-3 network (``fc1`` unit 0 planted dead: no incoming weights,
    a negative bias) and a continuous critic reading (observation, action)."""
    torch.manual_seed(0)
    q = MLP(obs_dim, (24, 20), {"q_out": 3})
    critic = MLP(obs_dim + 2, (24, 20), {"q_out": 1})
    if dead_unit:
        with torch.no_grad():
            q.fc1.weight[0].zero_()
            q.fc1.bias[0] = -1.0
    rng = np.random.default_rng(0)
    return HealthJob(
        step=step,
        time=1.0,
        weights={"q_network": _weights(q), "critic": _weights(critic)},
        activations={
            "q_network": {i.name: i.activation for i in q.layer_infos()},
            "critic": {i.name: i.activation for i in critic.layer_infos()},
        },
        targets={},
        observations=rng.standard_normal((n, obs_dim)).astype(np.float32),
        actions=rng.uniform(-1, 1, (n, 2)).astype(np.float32),
        checkpoint="ckpt_000000010.pt",
    )


# --------------------------------------------------------------------------- schedule
def test_analyses_are_due_at_multiples_of_either_period_up_to_the_end():
    assert next_due(0, 20_000, 10_000, 200_000) == 10_000
    assert next_due(10_000, 20_000, 10_000, 200_000) == 20_000
    assert next_due(0, 300, 0, 1_000) == 300 and next_due(900, 300, 0, 1_000) is None
    assert next_due(0, 0, 0, 1_000) is None  # neither: never
    assert next_due(0, 5_000, 0, 1_000) is None  # a run too short for one
    assert next_due(0, 500, 0, None) == 500


# --------------------------------------------------------------------------- one analysis
def test_inputs_are_observations_or_observation_action_pairs():
    job = _job()
    assert input_samples_for(job, 6).values.shape == (300, 6)
    pairs = input_samples_for(job, 8)
    assert pairs.values.shape == (300, 8) and "(observation, action) pairs" in pairs.description
    assert np.array_equal(pairs.values[:, 6:], job.actions)
    assert input_samples_for(job, 5) is None and input_samples_for(job, None) is None
    assert input_samples_for(HealthJob(1, 0.0, {}, observations=np.zeros((0, 6), np.float32)), 6) is None


def test_an_analysis_records_every_figure_of_health_and_the_skipped_layers_reason():
    record = analyse(_job())
    assert record.step == 10 and record.checkpoint == "ckpt_000000010.pt" and record.seconds >= 0
    q = record.network("q_network")
    assert q.error is None and [layer.name for layer in q.layers] == ["fc1", "fc2", "q_out"]
    fc1, fc2, out = q.layers
    # fc1 has 6 eigenvalues, the output 3: fewer than WeightWatcher's 8 -- not analysed, no alpha
    for layer, evals in ((fc1, 6), (out, 3)):
        assert not layer.analysed and layer.alpha is None and layer.alpha_verdict is None
        assert layer.reason == f"too few eigenvalues ({evals}; WeightWatcher needs at least 8)"
        assert layer.num_evals == evals
    assert fc2.analysed and fc2.reason is None and fc2.alpha > 0 and fc2.num_evals == 20
    assert fc2.alpha_verdict.label and fc2.alpha_verdict.severity in ("ok", "note", "warn", "bad")
    assert fc2.stable_rank_share == pytest.approx(fc2.stable_rank / fc2.full_rank)
    assert fc2.full_rank == 20 and fc2.log_spectral_norm is not None and fc2.spectral_verdict is not None
    assert q.alpha == pytest.approx(fc2.alpha)  # the mean of the analysed layers: here the one
    # the planted unit is dead by both methods; the output layer is no hidden layer
    assert fc1.units == 24 and fc1.dead_activation >= 1 and fc1.dead_weight == 1
    assert out.units is None and out.dead_activation is None and out.dead_weight is None
    assert q.dead_method == "activation" and q.dead_weight == 1 and q.hidden_units == 44
    assert q.dead_inputs == "the 300 newest observations in the replay buffer"
    # the critic's dead neurons were measured on (observation, action) pairs
    critic = record.network("critic")
    assert critic.dead_method == "activation" and "(observation, action) pairs" in critic.dead_inputs


def test_records_round_trip_through_json_with_their_verdicts():
    record = analyse(_job())
    again = T.HealthRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record
    assert isinstance(again.networks[0].layers[1].alpha_verdict, T.HealthVerdict)
    assert record.to_dict()["kind"] == "health" and record.to_dict()["v"] == T.SCHEMA_VERSION
    status = T.HealthStatus("idle", 1.0, 500, 1000, 3000, next_step=3500, analyses=2, last_step=3000)
    assert T.HealthStatus.from_dict(json.loads(json.dumps(status.to_dict()))) == status


def test_a_network_that_cannot_be_analysed_carries_its_error_and_the_others_are_kept():
    job = _job()
    job.weights["broken"] = {"fc1.weight": np.array([["not", "numbers"]])}  # torch cannot take text
    record = analyse(job)
    broken = record.network("broken")
    assert broken.error.startswith("TypeError: ") and broken.layers == [] and broken.alpha is None
    assert record.network("q_network").error is None


def test_the_analysis_process_answers_a_job():
    process = AnalysisProcess("low")  # a share of a busy machine: this test is about the protocol
    process.start()
    try:
        process.submit(_job(step=7))
        answer = process.get(timeout=180)
        assert answer is not None and answer[0] == DONE and answer[1] == 7
        record = T.HealthRecord.from_dict(answer[2])
        assert record.step == 7 and record.network("q_network").layers[1].analysed
        assert process.alive
    finally:
        process.close()
    assert not process.alive


def test_the_priority_is_one_of_three_and_lowers_this_process(monkeypatch):
    import os

    from rl.healthwatch.process import lower_priority

    with pytest.raises(ValueError, match="idle, low, normal"):
        AnalysisProcess("urgent")
    with pytest.raises(ValueError, match="health_priority"):
        from rl.worker import WorkerConfig

        WorkerConfig(health_priority="urgent")
    asked = []
    monkeypatch.setattr(os, "nice", lambda n: asked.append(("nice", n)))
    monkeypatch.setattr(os, "sched_setscheduler", lambda pid, policy, param: asked.append(("sched", policy)))
    assert lower_priority("normal") == "normal" and asked == []
    assert lower_priority("low") == "nice 10" and asked == [("nice", 10)]
    assert lower_priority("idle") == "idle" and asked[-1] == ("sched", os.SCHED_IDLE)


# --------------------------------------------------------------------------- the watch, with a stand-in process
class FakeProcess:
    """Stands in for the analysis process: keeps the jobs until the test answers them
    (``auto``: at once), with the real analysis or a failure."""

    instances: list[FakeProcess] = []

    def __init__(self, priority: str) -> None:
        self.priority = priority
        self.jobs: list[HealthJob] = []
        self.answers: queue.Queue = queue.Queue()
        self.auto, self.fail, self.alive, self.exitcode = False, False, True, None
        self.started = self.closed = False
        FakeProcess.instances.append(self)

    def start(self):
        self.started = True

    def submit(self, job):
        self.jobs.append(job)
        if self.auto:
            self.answer()

    def answer(self):
        job = self.jobs.pop(0)
        self.answers.put(
            (FAILED, job.step, "ValueError: no") if self.fail else (DONE, job.step, analyse(job).to_dict())
        )

    def get(self, timeout):
        try:
            return self.answers.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self, timeout=2.0):
        self.closed = True


class Driver(Callback):
    """Calls ``actions[step](watch, process)`` at the steps it names."""

    def __init__(self, actions):
        self.actions, self.watch = actions, None

    def on_step(self, ctx, step):
        if step.step in self.actions:
            self.actions[step.step](self.watch, FakeProcess.instances[-1])
        return True


def _watched_run(actions, steps=400, every=100, **watch_kw):
    store = MemoryStore()
    watch = HealthWatch(every, process=FakeProcess, final_wait_s=5.0, **watch_kw)
    driver = Driver(actions)
    driver.watch = watch
    summary = train(
        BREAKOUT, "dqn", steps, seed=0, store=store, telemetry=False, overrides=SMALL, callbacks=[driver, watch]
    )
    return summary, store, watch


def _wait(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_step_due_while_an_analysis_runs_is_skipped_and_named_in_the_record():
    def answer_first(watch, process):
        process.answer()
        _wait(lambda: watch.published == [100])

    def answer_and_go_on(watch, process):
        process.auto = True
        process.answer()
        _wait(lambda: watch.published == [100, 300])

    summary, store, watch = _watched_run({250: answer_first, 350: answer_and_go_on})
    assert summary.steps == 400 and FakeProcess.instances[-1].closed
    assert FakeProcess.instances[-1].priority == "idle"  # the default: only CPU time nothing else wants
    records = [T.HealthRecord.from_dict(r) for r in store.read(T.HEALTH)]
    assert [r.step for r in records] == [100, 300, 400] == watch.published
    assert [r.skipped for r in records] == [[200], [], []]  # 200 came while 100 ran: skipped, not queued
    status = T.HealthStatus.from_dict(store.get(T.HEALTH_STATUS))
    assert (status.state, status.analyses, status.skipped, status.next_step) == ("idle", 3, 1, None)
    assert (status.last_step, status.running_step, status.every, status.total_steps) == (400, None, 100, 400)
    # the records hold what the real analysis found in the run's own networks
    assert {n.name for n in records[-1].networks} == {"q_network", "target_network"}
    assert records[-1].network("target_network").target_of == "q_network"


def test_the_status_says_when_the_first_analysis_is_due_and_while_it_runs():
    seen = {}

    def look(watch, process):
        seen["before"] = T.HealthStatus.from_dict(watch._store.get(T.HEALTH_STATUS))

    def look_running(watch, process):
        seen["running"] = T.HealthStatus.from_dict(watch._store.get(T.HEALTH_STATUS))
        process.auto = True
        process.answer()

    _watched_run({50: look, 150: look_running}, steps=300)
    assert (seen["before"].state, seen["before"].next_step, seen["before"].analyses) == ("waiting", 100, 0)
    assert (seen["running"].state, seen["running"].running_step) == ("analysing", 100)


def test_a_failing_analysis_is_reported_once_and_training_goes_on(capsys):
    def fail_all(watch, process):
        process.fail = process.auto = True
        process.answer()

    summary, store, watch = _watched_run({150: fail_all})
    assert summary.steps == 400 and store.read(T.HEALTH) == []
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["neurodash: health analysis of step 100 failed: ValueError: no"]
    status = T.HealthStatus.from_dict(store.get(T.HEALTH_STATUS))
    assert status.state == "waiting" and "ValueError: no" in status.error and status.analyses == 0


def test_a_process_that_dies_stops_the_analyses_not_training(capsys):
    def die(watch, process):
        process.alive, process.exitcode = False, -9
        _wait(lambda: watch._failed, timeout=5)

    summary, store, watch = _watched_run({150: die})
    assert summary.steps == 400 and watch.published == []
    assert FakeProcess.instances[-1].jobs and [j.step for j in FakeProcess.instances[-1].jobs] == [100]
    assert capsys.readouterr().err.strip().splitlines() == [
        "neurodash: health analysis process exited unexpectedly (exit code -9)"
    ]
    status = T.HealthStatus.from_dict(store.get(T.HEALTH_STATUS))
    assert status.state == "failed" and status.next_step is None


def test_a_run_too_short_for_an_analysis_starts_no_process():
    FakeProcess.instances.clear()
    summary, store, watch = _watched_run({}, steps=150, every=1_000)
    assert summary.steps == 150 and FakeProcess.instances == [] and store.read(T.HEALTH) == []
    status = T.HealthStatus.from_dict(store.get(T.HEALTH_STATUS))
    assert (status.state, status.next_step, status.analyses) == ("waiting", None, 0)
