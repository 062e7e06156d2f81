"""Which checkpoint to keep and what pattern alpha drew across checkpoints, with the bands
taken into account: the named sequences and a few more."""

from __future__ import annotations

import pytest

from health import Pattern, alpha_pattern
from health import thresholds as TH
from health.compare import keep_index

LABELS = ["a.pt", "b.pt", "c.pt", "d.pt", "e.pt"]


def pattern(alphas) -> Pattern:
    return alpha_pattern(alphas, LABELS[: len(alphas)])


# ----------------------------------------------------------------------------- keep
def test_keep_is_the_checkpoint_nearest_two():
    # nearest the optimum wins over a random-like one, even from below when nothing is in [2, 5]
    assert keep_index([8.0, 7.0, 1.9]) == 2
    assert keep_index([6.5, 3.8, 2.4, 2.1]) == 3
    assert keep_index([3.0, 2.2, 2.6]) == 1


def test_keep_never_prefers_the_over_fit_band_to_the_recommended_one():
    assert keep_index([2.6, 1.95]) == 0  # 1.95 is nearer 2, but over-fit
    assert keep_index([4.9, 1.99, 1.5]) == 0
    assert keep_index([1.5, 1.8]) == 1  # all over-fit: the nearest 2


def test_keep_ties_go_to_the_earlier_checkpoint():
    assert keep_index([2.3, 2.3]) == 0
    assert keep_index([7.0, 3.0, 3.0]) == 1
    assert keep_index([None, 2.5, 1.5]) == 1  # equally far, but 1.5 is over-fit
    assert keep_index([None, None]) is None


# ----------------------------------------------------------------------------- patterns
def test_the_named_sequences():
    over = pattern([8.0, 7.0, 1.9])
    assert over.key == "overshoot" and over.keep == 2 and over.severity == "warn"
    assert "came down to about" not in over.meaning and "between b.pt and c.pt" in over.meaning

    stable = pattern([2.05, 1.99, 2.2])
    assert stable.key == "stable" and stable.severity == "ok" and stable.keep == 0
    assert "rising" not in stable.title.lower() and "forgetting" not in stable.meaning

    slow = pattern([6.5, 6.2, 5.9])
    assert slow.key == "not_learning" and slow.severity == "bad" and slow.checks


@pytest.mark.parametrize(
    "alphas, key, keep",
    [
        ([7.0, 4.0, 2.5], "healthy", 2),  # healthy progression
        ([4.0, 2.5, 1.6], "overtraining", 1),  # overtraining
        ([7.5, 7.4, 7.6], "not_learning", 1),  # not learning (7.4 is the nearest 2, though none is trained)
        ([6.5, 3.8, 2.4, 2.1], "healthy", 3),
        ([5.2, 2.8, 2.0, 1.7, 1.3], "overtraining", 2),
        ([7.8, 7.5, 7.2, 6.9], "not_learning", 3),
        ([9.0, 7.0, 5.5], "healthy", 2),  # still under-trained, but at this pace it gets there
        ([2.23, 2.14, 1.99, 2.10], "stable", 3),  # never really left the excellent band
        ([2.6, 2.3, 1.8, 2.2], "healthy", 3),  # a real dip, noted below
        ([2.8, 3.9], "rising", 0),
        ([3.0, 3.05], "flat", 0),
        ([1.8, 1.6], "overfit", 0),
        ([3.0, None], "unknown", 0),
    ],
)
def test_patterns_take_the_bands_into_account(alphas, key, keep):
    got = pattern(alphas)
    assert (got.key, got.keep) == (key, keep), got.meaning


def test_texts_follow_the_bands():
    dip = pattern([2.6, 2.3, 1.8, 2.2])
    assert f"dipped below {TH.ALPHA_RECOMMENDED_LOW:g} at c.pt" in dip.meaning
    assert "still above 5" in pattern([9.0, 7.0, 5.5]).meaning
    assert "still in the recommended band" in pattern([2.8, 3.9]).meaning and pattern([2.8, 3.9]).severity == "note"
    assert pattern([3.0, 5.8]).severity == "warn"  # rose out of the recommended band
    assert "over-fit" in pattern([4.0, 2.5, 1.6]).meaning and pattern([4.0, 2.5, 1.6]).severity == "bad"
    assert "nearest to 2.0" in pattern([8.0, 7.0, 1.9]).keep_reason
    assert "not preferred" in pattern([2.6, 1.95]).keep_reason
