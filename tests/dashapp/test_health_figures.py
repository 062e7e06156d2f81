"""The Health tab's pure builders on tiny hand-made analyses: the charts over training (gaps
where a layer was not analysed, the bands, extensions), the table's rows, the pattern and
the checkpoint to keep, the early-stopping signal, the watch's sentence, the components."""

from __future__ import annotations

import dataclasses
import json

import plotly.utils
import pytest

from dashapp.figures import health as F
from dashapp.figures.alpha_bands import ALPHA_BANDS
from dashapp.figures.common import is_empty_figure
from dashapp.tabs import health_panels as V
from rl import telemetry as T

OVERFIT = T.HealthVerdict("overfit", "OVER-FIT", "below 2", "keep an earlier checkpoint", "bad")
GOOD = T.HealthVerdict("good", "GOOD", "in the band", "", "ok")
LOW_RANK = T.HealthVerdict("low", "LOW", "few directions", "a smaller layer may do", "warn")


def layer(name, alpha=None, *, share=0.5, dead=0, units=16, hidden=True, reason=None, verdict=None, rank=None):
    analysed = alpha is not None
    return T.HealthLayer(
        name=name,
        kind="linear",
        shape=[units or 3, 8],
        hidden=hidden,
        analysed=analysed,
        reason=None if analysed else (reason or "too few eigenvalues (3; WeightWatcher needs at least 8)"),
        num_evals=8 if analysed else 3,
        alpha=alpha,
        alpha_verdict=verdict or (GOOD if analysed else None),
        stable_rank=share * 8 if share is not None else None,
        full_rank=8,
        stable_rank_share=share,
        stable_rank_verdict=rank,
        units=units if hidden else None,
        dead_activation=dead if hidden else None,
        dead_weight=0 if hidden else None,
    )


def record(step, fc1, fc2, *, checkpoint=None, overall=None, network="q_network", target=None, skipped=()):
    layers = [layer("fc1", fc1), layer("fc2", fc2, dead=4), layer("q_out", None, hidden=False, share=None)]
    alphas = [a for a in (fc1, fc2) if a is not None]
    alpha = overall if overall is not None else (sum(alphas) / len(alphas) if alphas else None)
    nets = [T.HealthNetwork(network, layers, alpha=alpha, alpha_verdict=OVERFIT if alpha and alpha < 2 else GOOD)]
    if target is not None:
        nets.append(T.HealthNetwork("target_network", layers, alpha=target, target_of=network))
    return T.HealthRecord(step, 0.0, nets, checkpoint=checkpoint, skipped=list(skipped))


RECORDS = [
    record(1000, 6.5, 7.5, checkpoint="ckpt_1000.pt"),
    record(2000, 4.0, None),  # fc2 could not be fitted at this analysis
    record(3000, 3.0, 3.4, checkpoint="ckpt_3000.pt"),
]


def sent(fig) -> dict:
    return json.loads(json.dumps(fig, cls=plotly.utils.PlotlyJSONEncoder))


def test_alpha_over_training_has_the_overall_line_a_gap_where_a_layer_was_not_fitted_and_the_bands():
    fig = F.alpha_figure(RECORDS, "q_network")
    assert [t.name for t in fig.data] == ["overall (mean of layers)", "fc1", "fc2"]
    overall, fc1, fc2 = fig.data
    assert list(fc1.x) == [1000, 2000, 3000] and list(fc1.y) == [6.5, 4.0, 3.0]
    assert list(fc2.y) == [7.5, None, 3.4]  # a gap, never a number, for the analysis that could not fit it
    assert list(overall.y) == [7.0, 4.0, 3.2] and list(fc1.text) == [
        "ckpt_1000.pt",
        "between checkpoints",
        "ckpt_3000.pt",
    ]
    assert len(fig.layout.shapes) == len(ALPHA_BANDS)  # the shaded bands
    assert list(fig.layout.yaxis.range) == [0.0, 9.0]
    sent(fig)  # JSON-able


def test_alpha_charts_say_why_they_are_empty():
    assert is_empty_figure(F.alpha_figure([], "q_network"))
    unfit = [record(1000, None, None)]
    fig = F.alpha_figure(unfit, "q_network")
    assert is_empty_figure(fig) and "could not fit any layer" in fig.layout.annotations[0].text
    assert is_empty_figure(F.alpha_figure(RECORDS, "no_such_network"))


def test_extensions_add_the_new_analyses_and_ask_for_a_redraw_for_a_new_line():
    names = F.series_names(RECORDS[:2], "q_network", "alpha")
    assert names == ["overall", "fc1", "fc2"]
    points = F.series_points(RECORDS[2:], "q_network", "alpha", names)
    assert [p["y"] for p in points] == [[3.2], [3.0], [3.4]] and points[0]["x"] == [3000]
    only_fc1 = [record(1000, 6.0, None)]
    assert F.series_names(only_fc1, "q_network", "alpha") == ["overall", "fc1"]
    assert F.series_points(RECORDS[2:], "q_network", "alpha", ["overall", "fc1"]) is None  # fc2 is new


def test_shares_over_training_are_per_hidden_layer_in_percent():
    dead = F.share_figure(RECORDS, "q_network", "dead")
    assert [t.name for t in dead.data] == ["fc1", "fc2"]  # the output layer has no neurons to die
    assert list(dead.data[1].y) == [0.25, 0.25, 0.25] and dead.layout.yaxis.tickformat == ".0%"
    rank = F.share_figure(RECORDS, "q_network", "stable_rank")
    assert [t.name for t in rank.data] == ["fc1", "fc2"] and list(rank.data[0].y) == [0.5, 0.5, 0.5]
    assert is_empty_figure(F.share_figure([], "q_network", "dead"))


def test_the_table_rows_show_not_analysed_with_the_reason_and_the_remedies():
    net = T.HealthNetwork(
        "q_network",
        [
            layer("fc1", 1.7, verdict=OVERFIT, rank=LOW_RANK),
            layer("q_out", None, hidden=False, share=None),
        ],
    )
    fc1, out = F.layer_rows(net)
    assert fc1["analysed"] and fc1["alpha"] == 1.7 and fc1["alpha_label"] == "OVER-FIT" and fc1["severity"] == "bad"
    assert fc1["remedy"] == "Keep an earlier checkpoint. A smaller layer may do."
    assert not out["analysed"] and out["alpha"] is None and out["reason"].startswith("too few eigenvalues")
    assert out["remedy"] == "" and out["severity"] == "ok"
    table = str(V.layer_table([fc1, out], "q_network", 3000, ["Dead neurons by activation were measured on x."]))
    assert "not analysed: too few eigenvalues (3; WeightWatcher needs at least 8)" in table
    assert "q_network at step 3,000" in table and "output layer" in table
    assert F.layer_rows(None) == [] and "Waiting" in str(V.layer_table([], None, None, []))


def test_the_pattern_so_far_and_the_checkpoint_to_keep_is_a_checkpoint():
    view = F.pattern_view(F.alpha_points(RECORDS, "q_network"))
    assert view["key"] == "healthy" and view["analyses"] == 3 and view["checkpoints"] == 2
    assert view["keep"] == "ckpt_3000.pt" and view["keep_step"] == 3000 and "3.20" in view["keep_reason"]
    over = [
        record(1000, 5.0, 5.0, checkpoint="a.pt"),
        record(2000, 2.2, 2.2, checkpoint="b.pt"),
        record(3000, 1.6, 1.6, checkpoint="c.pt"),
    ]
    view = F.pattern_view(F.alpha_points(over, "q_network"))
    assert view["key"] == "overtraining" and view["keep"] == "b.pt"  # not the over-fit one
    between = [record(1000, 7.0, 7.0), record(2000, 7.5, 7.0)]
    view = F.pattern_view(F.alpha_points(between, "q_network"))
    assert view["key"] == "not_learning" and view["checks"] and view["keep"] is None
    assert "No checkpoints are saved" in str(V.pattern_panel(view, "q_network", 0))
    assert F.pattern_view([])["analyses"] == 0


def test_the_early_stopping_signal_names_the_networks_below_2_online_first():
    rec = record(5000, 1.8, 1.6, target=1.9)
    assert F.early_stop(rec) == [
        {"network": "q_network", "alpha": pytest.approx(1.7), "target": False, "weak": False},
        {"network": "target_network", "alpha": 1.9, "target": True, "weak": False},
    ]
    assert F.early_stop(RECORDS[-1]) == [] and F.early_stop(None) == []
    cards = F.network_cards(rec)
    assert [c["early_stop"] for c in cards] == [True, True] and cards[1]["target_of"] == "q_network"
    alert = str(V.early_stop_alert(F.early_stop(rec), 5000, {"keep": "ckpt_4000.pt"}, "q_network"))
    assert "EARLY-STOPPING SIGNAL" in alert and "at step 5,000" in alert and "ckpt_4000.pt" in alert
    assert V.early_stop_alert([], 5000, None, "q_network") is None
    rough = dataclasses.replace(rec, networks=[dataclasses.replace(rec.networks[0], alpha_confidence="weak")])
    assert F.early_stop(rough)[0]["weak"] and "rough estimate" in str(
        V.early_stop_alert(F.early_stop(rough), 1, None, "")
    )


def _status(state, **kw):
    values = dict(time=0.0, every=20_000, checkpoint_every=10_000, total_steps=200_000)
    values.update(kw)
    return T.HealthStatus(state, **values)


def test_the_watch_sentence_follows_the_watch():
    waiting = F.watch_summary(_status("waiting", next_step=10_000), False, 3_456, True)
    assert waiting["kind"] == "waiting"
    assert waiting["text"].startswith("Analysing… first result after step 10,000 (training is at step 3,456)")
    assert "every 20,000 steps and at every checkpoint" in waiting["text"]
    first = F.watch_summary(_status("analysing", running_step=10_000), False, 10_400, True)
    assert first["kind"] == "analysing" and "first result after step 10,000" in first["text"]
    assert "every 20,000 steps and at every checkpoint" in first["text"]  # the schedule is said in every state
    idle = F.watch_summary(
        _status(
            "idle", analyses=3, last_step=30_000, last_checkpoint="c.pt", last_seconds=0.25, next_step=40_000, skipped=1
        ),
        True,
        None,
        True,
    )
    assert idle["text"] == (
        "Latest analysis: step 30,000 (c.pt), 0.2 s · next at step 40,000 · 3 so far; analyses run every 20,000 "
        "steps and at every checkpoint · 1 due while one was still running was skipped."
    )
    short = F.watch_summary(_status("waiting", total_steps=300), False, 300, True)
    assert "No analysis was due in this run: it ended at step 300" in short["text"]
    failed = F.watch_summary(_status("failed", error="process exited"), False, 10, True)
    assert failed["kind"] == "failed" and "process exited" in failed["text"]
    assert F.watch_summary(None, False, None, False)["kind"] == "off"
    assert "--no-health" in F.watch_summary(None, False, None, False)["text"]
