"""The Compare tab's callbacks on a real folder of checkpoints (a short real DQN run) with a
bad file among them, against what ``neurodash health`` says of the same files; the cache
(a second look runs no WeightWatcher); paths from the page confined to the served folders.

The analyses run in threads of the test process (``NEURODASH_COMPARE_WORKERS=0``), so
WeightWatcher's calls can be counted; the browser test runs them in worker processes."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import shutil
import time
import zipfile
from contextvars import copy_context
from pathlib import Path

import pytest
import torch
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate

from dashapp import cli as top
from dashapp.app import create_app
from dashapp.checkpoints import folders as FO
from dashapp.checkpoints import jobs
from dashapp.figures.common import is_empty_figure
from dashapp.tabs import compare as C
from tests.dashapp.checkpoint_runs import BAD_NAME, folder_with_bad_file, train_run
from tests.dashapp.test_app import text_of

torch.set_num_threads(1)
pytestmark = pytest.mark.timeout(300)


def triggered(prop_id: str, func, *args):
    """Call a callback that reads ``ctx.triggered_id``, as Dash would for ``prop_id``."""

    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": 1}]))
        return func(*args)

    return copy_context().run(run)


def analyse(folder: Path, files: list[str] | None = None, timeout: float = 120) -> dict:
    """What the page does: tick the files, press Analyse, poll until done; returns the
    ``compare-done`` store and the progress labels seen on the way."""
    options, ticked, _info, disabled = C.list_files(str(folder))
    assert not disabled and ticked == [o["value"] for o in options]
    job, feedback = C.start_analysis(1, str(folder), files if files is not None else ticked)
    assert feedback == "" and job["total"] == len(files if files is not None else ticked)
    labels, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        _value, label, status, done = C.poll_job(1, job, C.TAB_ID, None)
        labels.append(label)
        if isinstance(done, dict):
            return {"done": done, "labels": labels, "status": status}
        time.sleep(0.1)
    raise AssertionError(f"the analysis did not finish: {labels[-3:]}")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A run (served with --runs), a copy of its checkpoints plus ckpt_bad.pt (served with
    --checkpoints), an app over both, and a cache of our own."""
    base = tmp_path_factory.mktemp("compare")
    checkpoints = train_run(base / "runs" / "short")
    folder = folder_with_bad_file(checkpoints, base / "mine" / "exp1").resolve()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEURODASH_CACHE_DIR", str(base / "cache"))
        mp.setenv("NEURODASH_COMPARE_WORKERS", "0")
        mp.setattr(jobs, "_RUNNER", None)
        app = create_app(base / "runs")
        FO.configure(app.server.config, [base / "mine"])
        with app.server.app_context():
            yield {"base": base, "folder": folder, "app": app, "checkpoints": checkpoints}
        jobs.runner().shutdown()


@pytest.fixture(scope="module")
def analysed(world):
    return analyse(world["folder"])


@pytest.fixture(scope="module")
def cli(world):
    """``neurodash health --checkpoint <folder> --output-dir <out>``: its exit code, stdout, files."""
    out = world["base"] / "cli-reports"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        code = top.main(["health", "--checkpoint", str(world["folder"]), "--output-dir", str(out)])
    return {"code": code, "stdout": stdout.getvalue(), "out": out}


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_folders_are_the_served_ones(world):
    options, value = C.update_folders(1, C.TAB_ID, None, None)
    labels = [o["label"] for o in options]
    assert labels == ["run short · 4 checkpoint files", "mine · 0 checkpoint files", "mine/exp1 · 5 checkpoint files"]
    assert value == str(world["checkpoints"].resolve()) and options[1]["disabled"]
    with pytest.raises(PreventUpdate):
        C.update_folders(1, "live", None, None)  # hidden: reads nothing


def test_progress_then_every_panel(world, analysed):
    done = analysed["done"]
    assert analysed["labels"][-1] == "5 of 5 checkpoints" and "of 5 checkpoints" in analysed["labels"][0]
    assert analysed["status"] == "Analysed 4 of 5 checkpoints (1 could not be)."
    assert done["networks"] == ["q_network", "target_network"] and len(done["labels"]) == 4
    options, network, block, text_off, zip_off = C.show_networks(done, None)
    assert network == "q_network" and block == {} and not text_off and not zip_off  # several networks: a picker

    fig, missing, verdict, errors = C.show_comparison(done, "q_network")
    names = [t.name for t in fig.data]
    assert names[:2] == ["fc1", "fc2"] and "q_network overall" in names
    assert "value_out" in text_of(missing) and "too few eigenvalues" in text_of(missing)
    assert "value_out" not in names  # never a number for a layer WeightWatcher could not fit
    assert f"Keep {done['keep']}" in text_of(verdict)
    assert BAD_NAME in text_of(errors) and "could not be analysed" in text_of(errors)

    heat = C.show_grid(done, "q_network", "alpha")
    assert list(heat.data[0].y) == ["fc1", "fc2", "value_out", "advantage_out"] and "not<br>analysed" in list(
        heat.data[1].text
    )
    assert not is_empty_figure(C.show_grid(done, "target_network", "dead_share"))

    opts, value = triggered("compare-done.data", C.pick_checkpoint, done, None, None, None)
    assert value == done["keep"] and [o["value"] for o in opts] == done["labels"]
    click = {"points": [{"x": done["labels"][0], "y": 3.0}]}
    _, value = triggered("compare-alpha.clickData", C.pick_checkpoint, done, click, None, done["keep"])
    assert value == done["labels"][0]
    _, value = triggered("compare-heatmap.clickData", C.pick_checkpoint, done, None, {"points": [{"x": "nope"}]}, value)
    assert value == done["labels"][0]  # a click on nothing known keeps the choice

    report = text_of(C.show_report(done["labels"][0], "q_network", done))
    for words in ("network: q_network", "Overall alpha", "Dead neurons", "not analysed: too few eigenvalues", "fc2"):
        assert words in report
    assert "Checkpoint: " in report and "neurodash health report" in report  # the text as the command prints it


def test_the_tab_shows_what_neurodash_health_gives(world, analysed, cli):
    """Alpha, stable-rank share and dead share per layer, the overall alpha and the
    checkpoint to keep: the tab's figures against the command's CSV files and text."""
    done = analysed["done"]
    assert cli["code"] == 1  # the bad file makes the command exit 1, with the others analysed
    assert f"{BAD_NAME}: " in cli["stdout"]
    for network in done["networks"]:
        alpha_fig = C.show_comparison(done, network)[0]
        lines = {t.name: list(t.y) for t in alpha_fig.data}
        grids = {m: C.show_grid(done, network, m).data[0] for m in ("alpha", "stable_rank_share", "dead_share")}
        for j, label in enumerate(done["labels"]):
            rows = read_csv(cli["out"] / Path(label).stem / f"{network}_details.csv")
            for i, row in enumerate(rows):
                assert grids["alpha"].y[i] == row["layer"]
                for metric, column in (
                    ("alpha", "alpha"),
                    ("stable_rank_share", "stable_rank_ratio"),
                    ("dead_share", "dead_ratio"),
                ):
                    shown, expected = grids[metric].z[i][j], row[column]
                    if expected == "":
                        assert shown is None, (network, label, row["layer"], metric)
                    else:
                        assert shown == pytest.approx(float(expected), rel=1e-9), (network, label, row["layer"], metric)
                if row["alpha"]:
                    assert lines[row["layer"]][j] == pytest.approx(float(row["alpha"]), rel=1e-9)
        overall = {
            r["checkpoint"]: r["alpha"]
            for r in read_csv(cli["out"] / "checkpoint_comparison.csv")
            if r["network"] == network
        }
        for j, label in enumerate(done["labels"]):
            assert lines[f"{network} overall"][j] == pytest.approx(float(overall[label]), rel=1e-9)
    assert f"  Keep: {done['keep']} -- " in cli["stdout"]


def test_downloads_are_the_commands_report(world, analysed, cli, tmp_path):
    done = analysed["done"]
    text, feedback = triggered("compare-download-text.n_clicks", C.download, 1, None, done)
    assert feedback == "" and text["filename"] == "network_health_report.txt"
    assert cli["stdout"].startswith(text["content"])  # the command prints the same text, then its file list
    sent, feedback = triggered("compare-download-zip.n_clicks", C.download, None, 1, done)
    assert feedback == ""
    path = tmp_path / sent["filename"]
    path.write_bytes(base64.b64decode(sent["content"]))
    names = set(zipfile.ZipFile(path).namelist())
    expected = {p.relative_to(cli["out"]).as_posix() for p in cli["out"].rglob("*") if p.is_file()}
    assert names == expected and "network_health_report.txt" in names and "checkpoint_comparison.csv" in names
    assert any(n.endswith("q_network_health_metrics.png") for n in names)


def test_a_second_look_runs_no_weightwatcher(world, monkeypatch):
    import health.diagnosis as D

    calls = []
    real = D.weightwatcher_metrics

    def counting(network):
        calls.append(network.name)
        return real(network)

    monkeypatch.setattr(D, "weightwatcher_metrics", counting)
    monkeypatch.setenv("NEURODASH_CACHE_DIR", str(world["base"] / "cache-count"))
    first = analyse(world["folder"])
    assert len(calls) == 4 * 2  # four readable checkpoints, two networks each
    calls.clear()
    again = analyse(world["folder"])
    assert calls == [] and again["done"]["keep"] == first["done"]["keep"]
    # the same bytes under other names, elsewhere: still found by their content
    copy = world["base"] / "mine" / "renamed"
    shutil.copytree(world["folder"], copy)
    for i, f in enumerate(sorted(copy.glob("ckpt_0*.pt"))):
        f.rename(copy / f"gen_{i + 1}.pt")
    moved = analyse(copy)
    assert calls == [] and moved["done"]["labels"][:4] == ["gen_1.pt", "gen_2.pt", "gen_3.pt", "gen_4.pt"]
    report = text_of(C.show_report("gen_1.pt", "q_network", moved["done"]))
    assert "gen_1.pt" in report and "ckpt_0" not in report  # the cached result carries the new name


def test_paths_outside_the_served_folders_are_refused(world):
    folder = world["folder"]
    secret = world["base"] / "secret"
    secret.mkdir(exist_ok=True)
    (secret / "ckpt_1.pt").write_bytes((folder / sorted(p.name for p in folder.glob("ckpt_0*"))[0]).read_bytes())
    (folder.parent / "escape").symlink_to(secret)
    for forged in (f"{folder}/../../secret", str(secret), str(folder.parent / "escape"), "/etc", "runs"):
        options, ticked, info, disabled = C.list_files(forged)
        assert options == [] and disabled and "this dashboard serves" in str(info), forged
        job, feedback = C.start_analysis(1, forged, [str(secret / "ckpt_1.pt")])
        assert "Cannot analyse" in feedback
    # a served folder, with a file from elsewhere ticked: nothing outside is analysed
    _, feedback = C.start_analysis(1, str(folder), [str(secret / "ckpt_1.pt"), f"{folder}/../../secret/ckpt_1.pt"])
    assert feedback == "Tick at least one checkpoint file."


def test_serve_refuses_a_checkpoints_folder_that_is_not_one(tmp_path, capsys):
    from tests.e2e.helpers import free_port

    missing = tmp_path / "nope"
    code = top.main(["serve", "--runs", str(tmp_path), "--checkpoints", str(missing), "--port", str(free_port())])
    assert code == 2 and f"--checkpoints {missing} is not a folder" in capsys.readouterr().err


def test_every_format_neurodash_health_reads(world):
    """SAC-style dicts of several networks, a Stable-Baselines3 .zip and a .safetensors
    file in one served folder: read by health's one reader, every network offered."""
    from tests.health import writers as W

    folder = world["base"] / "mine" / "formats"
    folder.mkdir()
    for i in (1, 2):
        nets = {n: W.mlp([8, 64, 64, 3], seed=10 * i + k, alpha=3.0) for k, n in enumerate(("actor", "critic_1"))}
        W.write_sac(folder / f"sac_{i}.pt", nets, step=1000 * i, env_id="Pendulum-v1")
    W.write_sb3_zip(folder / "sb3_3.zip", W.sb3_policy_state_dict("dqn"))
    W.write_safetensors(folder / "plain_4.safetensors", W.named_state_dict(W.mlp([8, 32, 3]), ["fc1", "q_out"]))
    done = analyse(folder)["done"]
    assert done["labels"] == ["sac_1.pt", "sac_2.pt", "sb3_3.zip", "plain_4.safetensors"]
    assert {"actor", "critic_1"} <= set(done["networks"]) and len(done["networks"]) >= 4
    _options, _value, block, _t, _z = C.show_networks(done, None)
    assert block == {}  # several networks: the picker shows
    fig, _missing, _verdict, errors = C.show_comparison(done, "actor")
    overall = next(t for t in fig.data if t.name == "actor overall")
    assert errors is None and overall.y[0] is not None and overall.y[1] is not None
    assert list(overall.y)[2:] == [None, None]  # the other files hold no actor: no point, not a zero
