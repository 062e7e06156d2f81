"""The Compare tab's pure parts: figures from a hand-made ``health.Comparison``, the path
confinement, the cache's guarded unpickler and its key, the settings against the CLI's."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from dashapp.checkpoints import analysis as A
from dashapp.checkpoints import folders as FO
from dashapp.figures import compare as F
from dashapp.figures.alpha_bands import ALPHA_BANDS
from dashapp.figures.common import is_empty_figure
from dashapp.tabs.compare import report as V
from health import cli as health_cli
from health.compare import comparison_from_results
from health.dead import DeadNeurons
from health.metrics import LayerMetrics
from health.results import CheckpointHealth, LayerHealth, NetworkHealth
from tests.health.writers import MarkerPayload

TOO_FEW = "too few eigenvalues (3; WeightWatcher needs at least 8)"


def layer(i, name, alpha, *, evals=32, stable=8.0, dead=None, units=None, reason=None) -> LayerHealth:
    analysed = alpha is not None
    metrics = LayerMetrics(
        i,
        name,
        evals,
        analysed,
        reason=None if analysed else reason,
        alpha=alpha,
        log_spectral_norm=0.5 if stable is not None else None,
        stable_rank=stable,
    )
    return LayerHealth(
        "q", i, name, "linear", (units or 3, 17), metrics, hidden=units is not None, units=units, dead=dead
    )


def result(path: str, fc1: float | None, fc2: float, dead1: int = 4) -> CheckpointHealth:
    layers = [
        layer(0, "fc1", fc1, evals=17, dead=dead1, units=32, reason="power-law fit failed (17 eigenvalues)"),
        layer(1, "fc2", fc2, dead=0, units=32),
        layer(2, "q_out", None, evals=3, stable=None, reason=TOO_FEW),
    ]
    dead = DeadNeurons("activation", dead1, 64, {0: (dead1, 32), 1: (0, 32)}, {}, 1e-6)
    net = NetworkHealth("q_network", layers, dead, [])
    return CheckpointHealth(path, "plain state dict", None, None, {"q_network": net})


@pytest.fixture
def cmp():
    return comparison_from_results(
        [result("/x/a.pt", 5.5, 4.8), result("/x/b.pt", None, 3.9, dead1=8), result("/x/c.pt", 3.0, 2.6)],
        ["/x/bad.pt: not a checkpoint"],
    )


def test_alpha_lines_per_analysed_layer_and_the_overall(cmp):
    fig = F.alpha_figure(cmp, "q_network")
    traces = {t.name: t for t in fig.data}
    assert set(traces) == {"fc1", "fc2", "q_network overall", "keep"}  # q_out never analysed: no line
    assert list(traces["fc1"].y) == [5.5, None, 3.0]  # the failed fit is a gap, not a number
    assert list(traces["fc2"].y) == [4.8, 3.9, 2.6]
    assert list(traces["q_network overall"].y) == pytest.approx([(5.5 + 4.8) / 2, 3.9, (3.0 + 2.6) / 2])
    assert list(traces["q_network overall"].x) == ["a.pt", "b.pt", "c.pt"]
    keep = cmp.patterns["q_network"].keep
    assert keep is not None and list(traces["keep"].x) == [cmp.labels[keep]]  # the star: health's pick
    assert len(fig.layout.shapes) == len(ALPHA_BANDS)  # the bands are shaded


def test_layers_without_alpha_are_listed_with_their_reason(cmp):
    assert F.not_analysed(cmp, "q_network") == [
        ("fc1", "power-law fit failed (17 eigenvalues)", ["b.pt"]),
        ("q_out", TOO_FEW, ["a.pt", "b.pt", "c.pt"]),
    ]
    text = str(V.missing_view(F.not_analysed(cmp, "q_network"), 3))
    assert "not analysed in every checkpoint" in text and "in b.pt" in text


def test_grid_values_and_their_gaps(cmp):
    alpha = F.layer_grid(cmp, "q_network", "alpha")
    assert alpha.layers == ["fc1", "fc2", "q_out"] and alpha.labels == ["a.pt", "b.pt", "c.pt"]
    assert alpha.values() == [[5.5, None, 3.0], [4.8, 3.9, 2.6], [None, None, None]]
    assert alpha.cells[2][0].note == f"not analysed: {TOO_FEW}"
    dead = F.layer_grid(cmp, "q_network", "dead_share")
    assert dead.values() == [[4 / 32, 8 / 32, 4 / 32], [0.0, 0.0, 0.0], [None, None, None]]
    assert "output layer" in dead.cells[2][1].note
    stable = F.layer_grid(cmp, "q_network", "stable_rank_share")
    assert stable.values()[0] == [8 / 17] * 3 and stable.values()[2] == [None] * 3
    with pytest.raises(ValueError):
        F.layer_grid(cmp, "q_network", "loss")


def test_heatmap_writes_values_and_marks_gaps(cmp):
    fig = F.heatmap_figure(F.layer_grid(cmp, "q_network", "alpha"))
    heat, gaps = fig.data
    assert [list(r) for r in heat.z] == [[5.5, None, 3.0], [4.8, 3.9, 2.6], [None, None, None]]
    assert heat.text[0][0] == "5.5" and heat.text[0][1] == ""
    assert list(gaps.text) == ["not<br>analysed"] * 4 and (gaps.x[0], gaps.y[0]) == ("b.pt", "fc1")
    assert "power-law fit failed" in gaps.customdata[0]
    dead = F.heatmap_figure(F.layer_grid(cmp, "q_network", "dead_share"))
    assert dead.data[0].text[0][1] == "25%" and (dead.data[0].zmin, dead.data[0].zmax) == (0.0, 1.0)
    assert list(dead.data[1].text) == ["n/a"] * 3  # the output layer has no dead share: not a fit that failed


def test_empty_and_missing_cases():
    nothing = comparison_from_results([], ["/x/bad.pt: not a checkpoint"])
    assert is_empty_figure(F.alpha_figure(nothing, "q_network"))
    assert "No checkpoint could be analysed" in str(V.verdict_view(nothing, "q_network"))
    unfit = comparison_from_results([result("/x/a.pt", None, 4.0)], [])
    unfit.results[0].networks["q_network"].layers[1].metrics.analysed = False
    unfit.results[0].networks["q_network"].layers[1].metrics.alpha = None
    unfit = comparison_from_results(unfit.results, [])
    assert is_empty_figure(F.alpha_figure(unfit, "q_network"))
    other = comparison_from_results([result("/x/a.pt", 3.0, 4.0), CheckpointHealth("/x/z.pt", "x", None, None, {})])
    grid = F.layer_grid(other, "q_network", "alpha")
    assert grid.values()[0] == [3.0, None] and grid.cells[0][1].note == "this checkpoint has no such network"


def test_verdict_and_errors(cmp):
    text = str(V.verdict_view(cmp, "q_network"))
    assert f"Keep {cmp.keep_label}" in text and cmp.overall.keep_reason in text
    assert cmp.patterns["q_network"].title in text
    alert = V.errors_view(cmp.errors)
    assert "bad.pt" in str(alert) and "not a checkpoint" in str(alert)
    assert V.errors_view([]) is None


# --------------------------------------------------------------------------- folders
def test_confine_refuses_escapes(tmp_path):
    root = tmp_path / "served"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "secret"
    outside.mkdir()
    (root / "link-out").symlink_to(outside)
    (root / "link-in").symlink_to(root / "sub")
    assert FO.confine(root / "sub", [root]) == (root / "sub").resolve()
    assert FO.confine(root, [root]) == root.resolve()
    assert FO.confine(root / "link-in", [root]) == (root / "sub").resolve()
    for escape in (root / ".." / "secret", root / "sub" / ".." / ".." / "secret", root / "link-out", Path("/etc")):
        with pytest.raises(FO.OutsideServed):
            FO.confine(escape, [root])
    with pytest.raises(FO.OutsideServed):
        FO.confine("sub", [root])  # relative: never what the page was given
    with pytest.raises(FO.OutsideServed):
        FO.confine(root / "sub", [])


def test_folder_listing_and_files(tmp_path):
    root = tmp_path / "ckpts"
    (root / "exp1").mkdir(parents=True)
    (root / "empty").mkdir()
    for name in ("ckpt_20.pt", "ckpt_3.pt", "best.pt", "notes.txt"):
        (root / "exp1" / name).write_bytes(b"x")
    secret = tmp_path / "secret.pt"
    secret.write_bytes(b"x")
    (root / "exp1" / "ckpt_99.pt").symlink_to(secret)
    listed = FO.list_folders(None, [root])
    assert [(f.label, f.files) for f in listed] == [("ckpts", 0), ("ckpts/exp1", 4)]
    files, left_out = FO.checkpoint_files(root / "exp1", [root])
    assert [f.name for f in files] == ["ckpt_3.pt", "ckpt_20.pt", "best.pt"]  # training order, as neurodash health
    assert left_out == ["ckpt_99.pt: left out, a link to a file outside the folders this dashboard serves"]


# --------------------------------------------------------------------------- cache
def test_cache_round_trip_and_the_guarded_unpickler(tmp_path, cmp):
    res = cmp.results[0]
    A.store_result(tmp_path, "k1", res)
    back = A.load_result(tmp_path, "k1", "/y/renamed.pt")
    assert back is not None and back.path == "/y/renamed.pt" and back.label == "renamed.pt"
    assert back.networks["q_network"].alpha == res.networks["q_network"].alpha
    marker = tmp_path / "ran"
    (tmp_path / f"evil{A.SUFFIX}").write_bytes(pickle.dumps(MarkerPayload(marker)))
    assert A.load_result(tmp_path, "evil") is None and not marker.exists()  # refused, nothing ran
    (tmp_path / f"junk{A.SUFFIX}").write_bytes(b"\x80\x05junk")
    assert A.load_result(tmp_path, "junk") is None and A.load_result(tmp_path, "absent") is None
    assert A.load_result(tmp_path, "../k1") is None  # a key is a name in the cache folder, never a path


def test_cache_key_follows_bytes_and_settings(tmp_path):
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    a.write_bytes(b"same")
    b.write_bytes(b"same")
    s = A.AnalysisSettings()
    assert A.cache_key(A.file_digest(a), s) == A.cache_key(A.file_digest(b), s)
    assert A.cache_key(A.file_digest(a), s) != A.cache_key(A.file_digest(a), A.AnalysisSettings(dead_method="weight"))
    b.write_bytes(b"other")
    assert A.cache_key(A.file_digest(a), s) != A.cache_key(A.file_digest(b), s)
    key, problem = A.lookup(tmp_path / "missing.pt", s)
    assert key is None and "missing.pt" in problem


def test_settings_are_the_commands_defaults():
    args = health_cli.build_parser().parse_args(["--checkpoint", os.devnull])
    assert A.AnalysisSettings().kwargs() == {
        "dead_method": args.dead_neuron_method,
        "dead_samples": args.dead_neuron_samples,
        "default_activation": args.activation,
        "variance_threshold": args.dead_variance_threshold,
        "weight_threshold": args.dead_weight_threshold,
        "seed": args.seed,
    }
