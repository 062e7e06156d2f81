"""Verdict bands, combined issues, actor/critic mismatch and cross-checkpoint patterns."""

from __future__ import annotations

import json

import pytest
import torch

from health import (
    alpha_pattern,
    alpha_verdict,
    analyze_checkpoint,
    compare_checkpoints,
    dead_verdict,
    spectral_verdict,
    stable_rank_verdict,
)
from health import thresholds as TH
from tests.health import writers as W

torch.set_num_threads(1)


# ----------------------------------------------------------------------------- bands
@pytest.mark.parametrize(
    "alpha, key",
    [
        (1.3, "overfit"),
        (1.999, "overfit"),
        (2.0, "optimal"),
        (2.5, "optimal"),
        (2.51, "good"),
        (5.0, "good"),
        (5.01, "undertrained"),
        (6.0, "undertrained"),
        (6.01, "random"),
        (8.0, "random"),
    ],
)
def test_alpha_bands(alpha, key):
    assert alpha_verdict(alpha).key == key
    assert alpha_verdict(None) is None and alpha_verdict(float("nan")) is None


@pytest.mark.parametrize(
    "ratio, key",
    [
        (0.0, "good"),
        (0.0499, "good"),
        (0.05, "moderate"),
        (0.1499, "moderate"),
        (0.15, "high"),
        (0.30, "high"),
        (0.3001, "critical"),
        (1.0, "critical"),
    ],
)
def test_dead_bands_and_remedies(ratio, key):
    verdict = dead_verdict(ratio)
    assert verdict.key == key
    assert verdict.advice  # every band says what to do


@pytest.mark.parametrize(
    "ratio, key",
    [
        (0.05, "low"),
        (0.199, "low"),
        (0.2, "below"),
        (0.3, "healthy"),
        (0.8, "healthy"),
        (0.81, "high"),
    ],
)
def test_stable_rank_bands(ratio, key):
    assert stable_rank_verdict(ratio).key == key


@pytest.mark.parametrize("lsn, key", [(0.3, "ok"), (2.0, "ok"), (2.01, "high"), (5.0, "high"), (5.01, "very_high")])
def test_spectral_bands(lsn, key):
    assert spectral_verdict(lsn).key == key


# ----------------------------------------------------------------------------- issues
def test_healthy_network_has_no_obvious_issues(tmp_path):
    model = W.mlp([64, 128, 128, 128], seed=3, alpha=2.5, cap=5)
    res = analyze_checkpoint(W.write_state_dict(tmp_path / "m.pt", model), dead_samples=300)
    health = res.networks["model"]
    assert health.alpha_verdict.severity == "ok"
    assert health.issues == []
    summary = health.summary()
    json.dumps(summary)  # plain data, ready for the dashboard
    json.dumps(health.rows())
    assert summary["layers"] == 3 and summary["layers_analysed"] == 3


def test_over_parameterised_combination(tmp_path):
    # A wide layer that only uses a few directions (low stable rank) with many dead units.
    torch.manual_seed(0)
    model = W.mlp([64, 256, 256, 128], seed=1, alpha=2.5)
    with torch.no_grad():
        lowrank = torch.randn(256, 4) @ torch.randn(4, 64)
        model[0].weight.copy_(lowrank + 0.001 * torch.randn(256, 64))
        model[0].weight[:100].zero_()
        model[0].bias[:100] = -1.0
    res = analyze_checkpoint(W.write_state_dict(tmp_path / "m.pt", model), dead_samples=300)
    health = res.networks["model"]
    assert health.dead.dead >= 100 and health.dead_verdict.key in ("high", "critical")
    assert health.layers[0].stable_rank_verdict.key == "low"
    texts = " | ".join(i.text for i in health.issues)
    assert "stable rank below 20% of full rank in 0" in texts
    assert health.stable_rank_ratio_mean < TH.STABLE_RANK_LOW
    assert "many dead units together with a low stable rank" in texts
    assert health.issues[0].severity == "bad"  # the most serious issue comes first


def test_unstable_training_combination(tmp_path):
    model = W.mlp([64, 128, 128, 128], seed=2, alpha=2.3)
    with torch.no_grad():
        model[2].weight.copy_(W.heavy_tailed(128, 128, 9.0, 5) * 3e3)  # random-like and huge
    res = analyze_checkpoint(W.write_state_dict(tmp_path / "m.pt", model), dead_method="weight")
    health = res.networks["model"]
    assert health.layers[1].metrics.log_spectral_norm > TH.LOG_SPECTRAL_NORM_VERY_HIGH
    assert health.alpha_std > TH.ALPHA_STD_LARGE
    assert health.issues[0].severity == "bad" and "unstable training" in health.issues[0].text


def test_actor_critic_mismatch(tmp_path):
    nets = {
        "actor": W.mlp([12, 128, 128, 128], 1, alpha=4.6),
        "critic_1": W.mlp([14, 128, 128, 128], 2, alpha=2.3),
        "critic_2": W.mlp([14, 128, 128, 128], 3, alpha=2.3),
        "target_critic_1": W.mlp([14, 64, 64], 4, alpha=9.0),  # targets are not compared
    }
    res = analyze_checkpoint(W.write_sac(tmp_path / "sac.pt", nets), dead_method="weight")
    assert len(res.issues) == 1 and "policy is learning more slowly than the value function" in res.issues[0].text
    picked = analyze_checkpoint(
        W.write_sac(tmp_path / "sac2.pt", nets), networks=["actor", "critic_1"], dead_method="weight"
    )
    assert list(picked.networks) == ["actor", "critic_1"]

    swapped = {"actor": nets["critic_1"], "critic_1": nets["actor"]}
    res = analyze_checkpoint(W.write_sac(tmp_path / "sac3.pt", swapped), dead_method="weight")
    assert "value estimate is lagging behind the policy" in res.issues[0].text


def test_unknown_network_name_is_a_clear_error(tmp_path):
    from health import CheckpointError

    path = W.write_sac(tmp_path / "sac.pt", {"actor": W.mlp([4, 16, 2])})
    with pytest.raises(CheckpointError, match=r"has no network named 'critic_9' \(it holds: actor\)"):
        analyze_checkpoint(path, networks=["critic_9"])
    res = analyze_checkpoint(path, networks=["actor", "critic_9"], dead_method="weight")
    assert list(res.networks) == ["actor"] and "no network named 'critic_9'" in res.notes[0]


# ----------------------------------------------------------------------------- patterns
LABELS = ["gen100", "gen200", "gen300", "gen400", "gen500"]


def test_guide_pattern_healthy_progression():
    pat = alpha_pattern([6.5, 3.8, 2.4, 2.1], LABELS[:4])
    assert pat.key == "healthy" and pat.keep == 3


def test_guide_pattern_overtraining():
    pat = alpha_pattern([5.2, 2.8, 2.0, 1.7, 1.3], LABELS)
    assert pat.key == "overtraining" and pat.keep == 2
    assert "gen400" in pat.meaning  # where it fell below 2
    assert "gen300 has alpha 2.00" in pat.keep_reason


def test_guide_pattern_not_learning():
    pat = alpha_pattern([7.8, 7.5, 7.2, 6.9], LABELS[:4])
    assert pat.key == "not_learning" and pat.keep == 3
    assert any("learning rate" in c for c in pat.checks) and any("replay buffer" in c for c in pat.checks)


def test_a_dip_below_two_is_mentioned():
    # 1.99 is within the trend tolerance of 2: the sequence never left the excellent band
    pat = alpha_pattern([2.23, 2.14, 1.99, 2.10], LABELS[:4])
    assert pat.key == "stable" and pat.keep == 3 and "dipped" not in pat.meaning
    pat = alpha_pattern([2.6, 2.3, 1.8, 2.2], LABELS[:4])
    assert pat.key == "healthy" and pat.keep == 3
    assert "dipped below 2 at gen300, so watch for over-fitting" in pat.meaning


def test_other_patterns():
    assert alpha_pattern([1.8, 1.6], LABELS[:2]).key == "overfit"
    assert alpha_pattern([2.8, 3.9], LABELS[:2]).key == "rising"
    assert alpha_pattern([3.0, 3.05], LABELS[:2]).key == "flat"
    assert alpha_pattern([3.0, None], LABELS[:2]).key == "unknown"
    # never prefer an over-fit checkpoint to one at or above 2.0, even if nearer
    assert alpha_pattern([2.6, 1.95], LABELS[:2]).keep == 0


def test_compare_real_checkpoints_overtraining_and_bad_file(tmp_path):
    paths = []
    for i, alpha in enumerate([4.6, 2.8, 2.2, 1.6]):
        model = W.mlp([64, 128, 128], seed=10, alpha=alpha)
        paths.append(
            W.write_ours(
                tmp_path / f"ckpt_{(i + 1) * 1000:09d}.pt",
                model,
                names=["fc1", "q_out"],
                obs_samples=torch.randn(100, 64).numpy(),
            )
        )
    bad = tmp_path / "ckpt_broken.pt"
    bad.write_bytes(b"\x80\x02garbage")
    cmp = compare_checkpoints([paths[0], paths[1], bad, paths[2], paths[3]], dead_method="weight")
    assert len(cmp.errors) == 1 and cmp.errors[0].startswith(str(bad))
    assert cmp.labels == [p.name for p in paths]
    q = cmp.alphas["q_network"]
    assert q[0] > q[1] > q[2] > 2.0 > q[3]
    assert cmp.patterns["q_network"].key == "overtraining"
    assert cmp.overall.key == "overtraining" and cmp.keep_label == paths[2].name
    assert cmp.overall_alphas == pytest.approx(q)  # targets are left out of the overall mean
    as_dict = json.loads(json.dumps(cmp.to_dict()))  # plain data for the dashboard
    assert as_dict["overall"]["key"] == "overtraining" and as_dict["overall"]["keep_label"] == paths[2].name
    assert as_dict["errors"] == cmp.errors
    details = json.loads(json.dumps(cmp.results[0].to_dict()))
    assert details["networks"]["q_network"]["layers"][0]["layer"] == "fc1"
    assert details["networks"]["q_network"]["summary"]["alpha"] == pytest.approx(q[0])
    rows = cmp.to_rows()
    assert len(rows) == 4 * 2 and {r["network"] for r in rows} == {"q_network", "target_network"}
