"""The store contract, run against every backend (MemoryStore and DiskStore).

A backend that passes this file can sit behind the worker and the dashboard: sequence
numbers and cursors, ring-buffer capacities, ``limit``, atomic multi-record and
multi-key writes (across processes for DiskStore), JSON-only values, schema-version
refusal and run-folder errors.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import threading

import pytest

from rl import telemetry as T
from rl.store import (
    CHECKPOINT_DIR,
    RUN_MARKER,
    STORE_DIR,
    DiskStore,
    MemoryStore,
    RunDirError,
    create_run_dir,
    find_runs,
    is_run_dir,
    iter_new,
    open_run,
)

BACKENDS = ["memory", "disk"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """(kind, factory): factory() opens a store; for disk, every call opens the same folder."""
    if request.param == "memory":
        store = MemoryStore()
        yield "memory", lambda: store
    else:
        opened: list[DiskStore] = []

        def factory():
            opened.append(DiskStore(tmp_path / "store"))
            return opened[-1]

        yield "disk", factory
        for s in opened:
            s.close()


@pytest.fixture
def store(backend):
    return backend[1]()


def rows(n, start=0, **extra):
    return [{"i": start + k, **extra} for k in range(n)]


def _meta(**overrides) -> T.RunMeta:
    values = dict(
        run_id="r1",
        env_id="neurodash/Breakout-v0",
        agent="dqn",
        action_names=["LEFT", "STAY", "RIGHT"],
        feature_names=["ball x"],
        layers=[T.LayerInfo("fc1", 1, 4, "relu")],
        config={"worker": {"steps": 10}},
        created=1.0,
        seed=0,
    )
    values.update(overrides)
    return T.RunMeta(**values)


# ------------------------------------------------------------------ sequence numbers
def test_empty_series(store):
    assert store.last_seq("nothing") == -1
    assert store.read("nothing") == []
    assert store.read("nothing", after=5, limit=3) == []
    assert iter_new(store, "nothing", -1) == ([], -1)


def test_append_numbers_records_from_zero_and_returns_last_seq(store):
    assert store.append("s", rows(3)) == 2
    assert store.append("s", rows(2, start=3)) == 4
    got = store.read("s")
    assert [r["seq"] for r in got] == [0, 1, 2, 3, 4]
    assert [r["i"] for r in got] == [0, 1, 2, 3, 4]
    assert store.last_seq("s") == 4


def test_series_are_independent(store):
    store.append("a", rows(3))
    store.append("b", rows(1))
    assert store.last_seq("a") == 2
    assert store.last_seq("b") == 0
    assert [r["i"] for r in store.read("b")] == [0]


def test_append_of_nothing_changes_nothing(store):
    store.append("s", rows(2))
    assert store.append("s", []) == 1
    assert store.last_seq("s") == 1


def test_read_after_cursor_returns_only_newer_records_oldest_first(store):
    store.append("s", rows(10))
    assert [r["seq"] for r in store.read("s", after=6)] == [7, 8, 9]
    assert store.read("s", after=9) == []
    assert store.read("s", after=100) == []


def test_iter_new_advances_the_cursor_and_keeps_it_when_nothing_is_new(store):
    store.append("s", rows(3))
    got, cursor = iter_new(store, "s", -1)
    assert (len(got), cursor) == (3, 2)
    got, cursor = iter_new(store, "s", cursor)
    assert (got, cursor) == ([], 2)
    store.append("s", rows(2, start=3))
    got, cursor = iter_new(store, "s", cursor)
    assert [r["i"] for r in got] == [3, 4] and cursor == 4


# ------------------------------------------------------------------ capacities
def test_cap_keeps_only_the_newest_records(store):
    for k in range(5):
        store.append("s", rows(3, start=3 * k), cap=7)
    got = store.read("s")
    assert [r["seq"] for r in got] == list(range(8, 15))
    assert store.last_seq("s") == 14  # numbering never restarts


def test_a_reader_that_fell_behind_the_ring_gets_what_is_still_there(store):
    store.append("s", rows(20), cap=5)
    assert [r["seq"] for r in store.read("s", after=2)] == [15, 16, 17, 18, 19]


def test_a_single_append_larger_than_the_cap_keeps_its_tail(store):
    store.append("s", rows(10), cap=4)
    assert [r["i"] for r in store.read("s")] == [6, 7, 8, 9]


def test_shrinking_the_cap_drops_older_records(store):
    store.append("s", rows(10), cap=10)
    store.append("s", rows(1, start=10), cap=3)
    assert [r["seq"] for r in store.read("s")] == [8, 9, 10]


def test_growing_the_cap_keeps_more_from_then_on(store):
    store.append("s", rows(6), cap=2)
    store.append("s", rows(4, start=6), cap=5)
    assert [r["seq"] for r in store.read("s")] == [5, 6, 7, 8, 9]
    # Records dropped under the old cap never come back; new ones fill the larger ring.
    store.append("s", rows(3, start=10), cap=5)
    assert [r["seq"] for r in store.read("s")] == [8, 9, 10, 11, 12]


def test_a_network_s_probe_series_has_the_default_cap_of_its_kind(store):
    series = T.probe_key(T.ACTIVATIONS, "q_network")
    cap = T.DEFAULT_CAPS[T.ACTIVATIONS]
    assert series == "probe/activations/q_network" and T.default_cap(series) == cap
    store.append(series, rows(cap + 5))
    assert len(store.read(series)) == cap and store.read(series)[0]["i"] == 5


def test_default_caps_come_from_telemetry(store):
    cap = T.DEFAULT_CAPS[T.COMMANDS]
    store.append(T.COMMANDS, rows(cap + 5))
    got = store.read(T.COMMANDS)
    assert len(got) == cap and got[-1]["seq"] == cap + 4


@pytest.mark.parametrize("cap", [0, -3])
def test_cap_below_one_is_refused(store, cap):
    with pytest.raises(ValueError, match="at least 1"):
        store.append("s", rows(1), cap=cap)
    assert store.last_seq("s") == -1


# ------------------------------------------------------------------ limit
def test_limit_returns_the_newest_records_newer_than_the_cursor(store):
    store.append("s", rows(10))
    assert [r["seq"] for r in store.read("s", limit=3)] == [7, 8, 9]
    assert [r["seq"] for r in store.read("s", after=7, limit=5)] == [8, 9]
    assert store.read("s", limit=0) == []
    assert [r["seq"] for r in store.read("s", after=-1, limit=100)] == list(range(10))


def test_iter_new_with_limit_skips_to_the_present(store):
    store.append("s", rows(50))
    got, cursor = iter_new(store, "s", 3, limit=4)
    assert [r["seq"] for r in got] == [46, 47, 48, 49] and cursor == 49


# ------------------------------------------------------------------ values
def test_records_are_plain_data_detached_from_the_caller(store):
    record = {"q": [1.0, 2.0], "nested": {"x": 1}}
    store.append("s", [record])
    record["q"].append(3.0)
    got = store.read("s")[0]
    assert got["q"] == [1.0, 2.0]
    got["nested"]["x"] = 99
    assert store.read("s")[0]["nested"] == {"x": 1}
    assert "seq" not in record  # the caller's dict is not modified


def test_nan_and_infinity_survive_a_round_trip(store):
    store.append("s", [{"loss": float("nan"), "q": [float("inf"), -float("inf")]}])
    got = store.read("s")[0]
    assert math.isnan(got["loss"]) and got["q"] == [float("inf"), -float("inf")]


def test_a_batch_with_one_bad_record_appends_nothing(store):
    store.append("s", rows(2))
    with pytest.raises(TypeError, match="JSON-able"):
        store.append("s", [{"i": 2}, {"i": object()}])
    assert store.last_seq("s") == 1
    assert [r["i"] for r in store.read("s")] == [0, 1]


def test_keys_put_get_and_default(store):
    assert store.get("k") is None
    assert store.get("k", default={"d": 1}) == {"d": 1}
    store.put("k", {"a": [1, 2]})
    assert store.get("k") == {"a": [1, 2]}
    store.put("k", 3)
    assert store.get("k") == 3
    with pytest.raises(TypeError):
        store.put("k", {1, 2})
    assert store.get("k") == 3


def test_get_returns_a_copy(store):
    store.put("k", {"a": [1]})
    store.get("k")["a"].append(2)
    assert store.get("k") == {"a": [1]}


def test_put_many_writes_every_key_or_none(store):
    store.put_many({"a": 1, "b": [2], "c": None})
    assert (store.get("a"), store.get("b"), store.get("c", "missing")) == (1, [2], None)
    with pytest.raises(TypeError):
        store.put_many({"a": 10, "b": object()})
    assert store.get("a") == 1 and store.get("b") == [2]


def test_send_command_appends_a_command_record(store):
    seq = store.send_command(T.CMD_SPEED, T.SPEED_WATCH, now=12.5)
    assert seq == 0 == store.last_seq(T.COMMANDS)
    cmd = T.Command.from_dict(store.read(T.COMMANDS)[0])
    assert (cmd.action, cmd.value, cmd.time) == ("speed", "watch", 12.5)


def test_meta_round_trip(store):
    assert store.read_meta() is None
    meta = _meta()
    store.write_meta(meta)
    assert store.read_meta() == meta


# ------------------------------------------------------------------ schema versions
def test_records_from_a_newer_schema_are_refused(store):
    store.write_meta(_meta())
    newer = dict(store.get(T.META), v=T.SCHEMA_VERSION + 1)
    store.put(T.META, newer)
    with pytest.raises(T.SchemaError, match="upgrade neurodash"):
        store.read_meta()
    beat = T.Heartbeat(time=1.0, step=3, state=T.RUNNING, pid=1).to_dict()
    store.put(T.HEARTBEAT, dict(beat, v=T.SCHEMA_VERSION + 1))
    with pytest.raises(T.SchemaError):
        T.Heartbeat.from_dict(store.get(T.HEARTBEAT))
    # ... while the current and older versions are read.
    assert T.Heartbeat.from_dict(dict(beat, v=T.SCHEMA_VERSION)).step == 3
    assert T.Heartbeat.from_dict({k: v for k, v in beat.items() if k != "v"}).step == 3


def test_records_of_schema_1_are_upgraded_when_read(store):
    """A dict without "v" is schema 1: one DQN network, its loss and epsilon as fields."""
    old = {k: v for k, v in _meta().to_dict().items() if k not in ("v", "networks", "action_space")}
    old["layers"] = [layer.to_dict() for layer in _meta().layers]
    store.put(T.META, old)
    meta = store.read_meta()
    assert meta.layers == _meta().layers and meta.watched == ["q_network"]
    (network,) = meta.networks
    assert (network.name, network.layers, network.inputs, network.outputs) == (
        "q_network",
        meta.layers,
        ["ball x"],
        ["LEFT", "STAY", "RIGHT"],
    )
    assert meta.action_space == T.ActionSpace("discrete", n=3)
    episode = {"kind": "episode", "episode": 2, "step": 40, "score": 1.0, "length": 20, "sps": 9.0}
    store.append(T.EPISODES, [dict(episode, loss=0.25, epsilon=0.5), dict(episode, v=1, loss=None, epsilon=0.4)])
    first, second = (T.EpisodeRecord.from_dict(r) for r in store.read(T.EPISODES))
    assert (first.losses, first.exploration) == ({"loss": 0.25}, {"epsilon": 0.5})
    assert (second.losses, second.exploration) == ({}, {"epsilon": 0.4})  # no learning yet: no loss
    assert T.EpisodeRecord.from_dict(first.to_dict()) == first  # today's records are not "upgraded"
    # the probe's settings: schema 1 put them at the top level, with one network's layers
    store.put(
        T.PROBE_CONFIG,
        {
            "v": 1,
            "enabled": True,
            "history": 500,
            "layers": [
                {"name": "fc1", "activation": "relu", "hidden": True},
                {"name": "q_out", "activation": "linear", "hidden": False},
            ],
        },
    )
    settings = T.ProbeSettings.from_dict(store.get(T.PROBE_CONFIG))
    assert settings.config == {"enabled": True, "history": 500}
    assert settings.watched_layers("q_network") == [
        T.WatchedLayerInfo("fc1", "relu", True),
        T.WatchedLayerInfo("q_out", "linear", False),
    ]


# ------------------------------------------------------------------ concurrency
def _append_worker(directory, barrier, series, writer, batches, batch_size):
    store = DiskStore(directory)
    try:
        barrier.wait(timeout=60)  # both writers start together, so their appends interleave
        for b in range(batches):
            store.append(series, [{"writer": writer, "batch": b, "k": k} for k in range(batch_size)], cap=100_000)
    finally:
        store.close()


def _put_many_worker(directory, barrier, n):
    store = DiskStore(directory)
    try:
        barrier.wait(timeout=60)
        for i in range(1, n + 1):
            store.put_many({"a": i, "b": i})
    finally:
        store.close()


def _run_concurrently(kind, directory, store, target, arg_lists):
    """Run ``target`` in processes (disk: separate stores on one folder) or threads (memory)."""
    if kind == "disk":
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(len(arg_lists))
        workers = [ctx.Process(target=target, args=(str(directory), barrier, *args)) for args in arg_lists]
    else:
        barrier = threading.Barrier(len(arg_lists))
        workers = [threading.Thread(target=target, args=(store, barrier, *args)) for args in arg_lists]
    for w in workers:
        w.keep_alive = barrier  # the children unpickle it after start(): keep it referenced
        w.start()
    return workers


def _memory_append_worker(store, barrier, series, writer, batches, batch_size):
    barrier.wait(timeout=60)
    for b in range(batches):
        store.append(series, [{"writer": writer, "batch": b, "k": k} for k in range(batch_size)], cap=100_000)


def _memory_put_many_worker(store, barrier, n):
    barrier.wait(timeout=60)
    for i in range(1, n + 1):
        store.put_many({"a": i, "b": i})


def _join(workers):
    for w in workers:
        w.join(timeout=60)
        assert not w.is_alive()
        if hasattr(w, "exitcode"):
            assert w.exitcode == 0


def test_concurrent_appends_get_unique_consecutive_seqs_and_readers_see_whole_batches(backend, tmp_path):
    kind, factory = backend
    store = factory()
    batches, batch_size = 150, 4
    target = _append_worker if kind == "disk" else _memory_append_worker
    workers = _run_concurrently(
        kind, tmp_path / "store", store, target, [("s", w, batches, batch_size) for w in (0, 1)]
    )
    # Read while the writers write: every read shows whole batches only.
    reads = 0
    while any(w.is_alive() for w in workers) or reads == 0:
        got = store.read("s")
        reads += 1
        if got:
            assert [r["seq"] for r in got] == list(range(len(got)))
            counts: dict = {}
            for r in got:
                counts[(r["writer"], r["batch"])] = counts.get((r["writer"], r["batch"]), 0) + 1
            assert set(counts.values()) == {batch_size}, "a reader saw part of a batch"
    _join(workers)
    got = store.read("s")
    assert [r["seq"] for r in got] == list(range(2 * batches * batch_size))
    assert store.last_seq("s") == 2 * batches * batch_size - 1
    for writer in (0, 1):
        mine = [r for r in got if r["writer"] == writer]
        # each writer's records are contiguous per batch and in the writer's order
        assert [(r["batch"], r["k"]) for r in mine] == [(b, k) for b in range(batches) for k in range(batch_size)]


def test_put_many_is_never_seen_half_written(backend, tmp_path):
    kind, factory = backend
    store = factory()
    store.put_many({"a": 0, "b": 0})
    n = 300
    target = _put_many_worker if kind == "disk" else _memory_put_many_worker
    workers = _run_concurrently(kind, tmp_path / "store", store, target, [(n,)])
    # put_many writes "a" then "b". Reading "a" first and "b" second, a torn write would
    # show the new "a" next to the old "b" (b < a); an atomic one never does.
    seen = 0
    while any(w.is_alive() for w in workers) or seen == 0:
        a = store.get("a")
        b = store.get("b")
        assert b >= a, f"torn write: a={a} b={b}"
        seen += 1
    _join(workers)
    assert store.get("a") == store.get("b") == n


def test_disk_store_is_shared_between_handles(tmp_path):
    writer, reader = DiskStore(tmp_path / "s"), DiskStore(tmp_path / "s")
    try:
        writer.append("s", rows(3))
        writer.put("k", {"x": 1})
        assert [r["i"] for r in reader.read("s")] == [0, 1, 2]
        assert reader.get("k") == {"x": 1}
        assert reader.last_seq("s") == 2
    finally:
        writer.close()
        reader.close()


def test_disk_store_holds_json_text_not_pickles(tmp_path):
    store = DiskStore(tmp_path / "s")
    try:
        store.append("s", [{"q": [1.5]}])
        store.put("k", {"x": 1})
        raw = store._cache.get("s#0")
        assert isinstance(raw, str) and json.loads(raw) == {"q": [1.5], "seq": 0}
        assert isinstance(store._cache.get("k"), str)
    finally:
        store.close()


# ------------------------------------------------------------------ run folders
def test_create_run_dir_makes_a_run_folder_and_open_run_reads_it(tmp_path):
    run = tmp_path / "runs" / "one"
    store = create_run_dir(run, _meta(run_id="one"))
    try:
        store.append(T.STEPS, rows(2))
    finally:
        store.close()
    assert is_run_dir(run)
    assert (run / CHECKPOINT_DIR).is_dir() and (run / STORE_DIR).is_dir()
    assert json.loads((run / RUN_MARKER).read_text())["run_id"] == "one"
    with open_run(run) as again:
        assert again.read_meta().run_id == "one"
        assert again.last_seq(T.STEPS) == 1
    assert find_runs(tmp_path / "runs") == [run]
    assert find_runs(run) == [run]
    assert find_runs(tmp_path / "missing") == []


def test_create_run_dir_reuses_one_of_ours(tmp_path):
    create_run_dir(tmp_path / "r", _meta()).close()
    store = create_run_dir(tmp_path / "r", _meta(seed=5))
    try:
        assert store.read_meta().seed == 5
    finally:
        store.close()


def test_create_run_dir_refuses_a_file(tmp_path):
    target = tmp_path / "afile"
    target.write_text("hello")
    with pytest.raises(RunDirError, match="not a folder"):
        create_run_dir(target, _meta())
    assert target.read_text() == "hello"


def test_create_run_dir_refuses_a_folder_holding_something_else(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "thesis.tex").write_text("x")
    with pytest.raises(RunDirError, match="not a neurodash run"):
        create_run_dir(tmp_path / "data", _meta())
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["thesis.tex"]


def test_create_run_dir_reports_an_unwritable_place(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(RunDirError, match="cannot write"):
        create_run_dir(tmp_path / "afile" / "run", _meta())


def test_create_run_dir_refuses_a_run_written_by_a_newer_neurodash(tmp_path):
    create_run_dir(tmp_path / "r", _meta()).close()
    marker = tmp_path / "r" / RUN_MARKER
    marker.write_text(json.dumps(dict(json.loads(marker.read_text()), v=T.SCHEMA_VERSION + 1)))
    before = marker.read_text()
    with pytest.raises(T.SchemaError, match="newer"):
        create_run_dir(tmp_path / "r", _meta())
    assert marker.read_text() == before  # not overwritten


@pytest.mark.parametrize("marker, problem", [("{not json", "unreadable"), ("[1, 2]", "does not hold run details")])
def test_create_run_dir_refuses_a_broken_marker(tmp_path, marker, problem):
    create_run_dir(tmp_path / "r", _meta()).close()
    (tmp_path / "r" / RUN_MARKER).write_text(marker)
    with pytest.raises(RunDirError, match=problem):
        create_run_dir(tmp_path / "r", _meta())
    assert (tmp_path / "r" / RUN_MARKER).read_text() == marker


def test_open_run_refuses_newer_and_foreign_folders(tmp_path):
    with pytest.raises(RunDirError, match="not a neurodash run"):
        open_run(tmp_path)
    create_run_dir(tmp_path / "r", _meta()).close()
    marker = tmp_path / "r" / RUN_MARKER
    marker.write_text(json.dumps(dict(json.loads(marker.read_text()), v=T.SCHEMA_VERSION + 1)))
    with pytest.raises(T.SchemaError, match="upgrade neurodash"):
        open_run(tmp_path / "r")
    marker.write_text("{not json")
    with pytest.raises(RunDirError, match="unreadable"):
        open_run(tmp_path / "r")
