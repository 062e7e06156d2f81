"""The dashboard shell and the Live tab's callbacks, called directly on real run folders."""

from __future__ import annotations

import subprocess
import sys
from contextvars import copy_context

import dash
import pytest
from dash import dcc
from dash._callback import GLOBAL_CALLBACK_LIST
from dash._callback_context import context_value
from dash._utils import AttributeDict

from dashapp import app as A
from dashapp import read
from dashapp.figures.common import is_empty_figure
from dashapp.tabs import live
from dashapp.tabs import reloading as R
from rl import telemetry as T
from tests.dashapp.reading import worker_status
from tests.dashapp.runbuilder import newer_schema_run, unreadable_marker_run
from tests.e2e.helpers import output_ids

#: Every callback dashapp registers, as imported (the first request an app serves moves
#: Dash's global list into that app).
REGISTERED = list(GLOBAL_CALLBACK_LIST)


def ids_in(component) -> set[str]:
    """Every string id in a component tree."""
    found = set()

    def walk(c):
        if isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
            return
        if not hasattr(c, "to_plotly_json"):
            return
        cid = getattr(c, "id", None)
        if isinstance(cid, str):
            found.add(cid)
        for prop in ("children", "tab_id"):
            walk(getattr(c, prop, None))
        if hasattr(c, "label") and not isinstance(c.label, str):
            walk(c.label)

    walk(component)
    return found


def text_of(component) -> str:
    """All text in a component tree, for asserting what a user would read."""
    if component is None:
        return ""
    if isinstance(component, str):
        return component
    if isinstance(component, (int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


# --------------------------------------------------------------------------- shell
def test_dashapp_does_not_import_torch():
    code = "import sys, dashapp.app, dashapp.server, dashapp.demo, dashapp.read; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_create_app_layout_has_the_shared_components(tmp_path):
    app = A.create_app(tmp_path)
    assert isinstance(app, dash.Dash)
    ids = ids_in(app.layout)
    for shared in (
        "app-poll",
        "app-run",
        "app-runs-dir",
        "app-tabs",
        "app-run-picker",
        "app-status",
        "app-pause",
        "app-resume",
        "app-step",
        "app-stop",
        "app-speed-watch",
        "app-speed-full",
    ):
        assert shared in ids, shared
    for tab_id in (
        "live-q-graph",
        "live-actions-bar",
        "live-actions-trend",
        "live-episodes-graph",
        "live-frame-box",
        "live-steps-cursor",
    ):
        assert tab_id in ids, tab_id
    assert [t.TAB_ID for t in A.TABS][0] == "live"
    # everything a page loads is local
    assert app.config.external_stylesheets == [] and app.config.external_scripts == []
    assert (A.ASSETS_DIR / "bootstrap.min.css").is_file()
    css = (A.ASSETS_DIR / "bootstrap.min.css").read_text()
    assert "sourceMappingURL" not in css and "Bootstrap" in css[:200]


def test_every_live_panel_explains_itself():
    for key, note in live.NOTES.items():
        assert 60 < len(note) < 600, key
    assert "coefficient of variation" in live.NOTES["cards"]


def test_refresh_runs_empty_folder_shows_how_to_start(tmp_path):
    (tmp_path / "runs").mkdir()
    options, value, notice, key = A.refresh_runs(0, str(tmp_path / "runs"), None, [])
    assert options == dash.no_update and value == dash.no_update
    assert "No training runs here yet" in text_of(notice) and "neurodash demo" in text_of(notice)
    # the same notice is not sent again on the next poll
    assert A.refresh_runs(1, str(tmp_path / "runs"), None, [], key)[2:] == (dash.no_update, dash.no_update)
    _, _, notice, _ = A.refresh_runs(0, str(tmp_path / "nowhere"), None, [], key)
    assert "does not exist yet" in text_of(notice)


def test_refresh_runs_lists_broken_runs_and_selects_a_readable_one(make_run, runs_dir):
    good = make_run("good")
    newer_schema_run(runs_dir / "zz-newer")  # newest marker: would be picked if not broken
    unreadable_marker_run(runs_dir / "zz-garbled")
    options, value, notice, _ = A.refresh_runs(0, str(runs_dir), None, [])
    assert value == str(good.path)
    disabled = {o["value"] for o in options if o["disabled"]}
    assert disabled == {str(runs_dir / "zz-newer"), str(runs_dir / "zz-garbled")}
    message = text_of(notice)
    assert "2 run folders cannot be read" in message and "zz-garbled" in message and "schema" in message
    # a second poll with the same folder changes nothing in the picker
    again, same_value, _, _ = A.refresh_runs(1, str(runs_dir), value, options)
    assert again == dash.no_update and same_value == dash.no_update


def test_select_run_shares_the_choice():
    assert A.select_run("/some/run") == "/some/run"


@pytest.mark.parametrize(
    "state,age,badge,enabled",
    [
        (T.RUNNING, 0, "running", {"app-pause", "app-stop", "app-speed-watch", "app-speed-full"}),
        (T.PAUSED, 0, "paused", {"app-resume", "app-step", "app-stop", "app-speed-watch", "app-speed-full"}),
        (T.RUNNING, 60, "not responding", set()),
        (T.FINISHED, 60, "finished", set()),
        (T.FAILED, 0, "failed", set()),
    ],
)
def test_update_status(make_run, state, age, badge, enabled):
    run = make_run()
    run.add_steps(10)
    run.heartbeat(state=state, age=age, speed=T.SPEED_WATCH)
    out = A.update_status(0, str(run.path))
    text, color, detail, progress = out[:4]
    controls = ["app-pause", "app-resume", "app-step", "app-stop", "app-speed-watch", "app-speed-full"]
    disabled = dict(zip(controls, out[4:10]))
    assert text == badge and color == A._STATE_COLORS[badge]
    assert {k for k, v in disabled.items() if not v} == enabled
    assert "step 10 of 1,000" in detail and progress == 1.0
    watch_outline, full_outline = out[10:]
    if enabled:  # the current speed is the solid button
        assert (watch_outline, full_outline) == (False, True)
    if badge == "not responding":
        assert "no heartbeat for" in detail


def test_update_status_broken_and_no_run(tmp_path):
    unreadable_marker_run(tmp_path / "bad")
    out = A.update_status(0, str(tmp_path / "bad"))
    assert out[0] == "broken" and "unreadable" in out[2] and all(out[4:10])
    assert A.update_status(0, None)[0] == "no run"


def call_with_trigger(func, prop_id: str, *args):
    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": 1}]))
        return func(*args)

    return copy_context().run(run)


@pytest.mark.parametrize(
    "prop_id,expected",
    [
        ("app-pause.n_clicks", ("pause", None)),
        ("app-resume.n_clicks", ("resume", None)),
        ("app-step.n_clicks", ("step", None)),
        ("app-stop-confirm.submit_n_clicks", ("stop", None)),
        ("app-speed-watch.n_clicks", ("speed", "watch")),
        ("app-speed-full.n_clicks", ("speed", "full")),
    ],
)
def test_send_control_writes_the_command_to_the_store(make_run, prop_id, expected):
    run = make_run()
    feedback = call_with_trigger(A.send_control, prop_id, 1, None, None, None, None, None, str(run.path))
    assert "Sent" in feedback
    assert [(c["action"], c["value"]) for c in run.commands()] == [expected]


def test_send_control_without_a_run_or_to_a_broken_one(tmp_path):
    no_run = call_with_trigger(A.send_control, "app-pause.n_clicks", 1, None, None, None, None, None, None)
    assert no_run is dash.no_update
    msg = call_with_trigger(A.send_control, "app-pause.n_clicks", 1, None, None, None, None, None, str(tmp_path))
    assert msg.startswith("Could not send pause")


# --------------------------------------------------------------------------- per-tab polls
def deps(items: list[dict]) -> list[str]:
    return [f"{d['id']}.{d['property']}" for d in items]


def test_every_tab_has_its_own_poll_and_only_the_first_tab_polls_on_load(tmp_path):
    app = A.create_app(tmp_path, poll_ms=250)
    polls = {c.id: c for c in app.layout.children if isinstance(c, dcc.Interval)}
    tab_polls = [f"{tab.TAB_ID}-poll" for tab in A.TABS]
    assert set(polls) == {"app-poll", *tab_polls} and "network-poll" in polls
    assert all(p.interval == 250 and p.n_intervals == 0 for p in polls.values())
    running = {pid for pid, p in polls.items() if not getattr(p, "disabled", False)}
    assert running == {"app-poll", tab_polls[0]}  # the first tab is the one shown on load


def test_the_tab_switch_is_one_client_side_callback_over_every_tab_poll():
    switches = [cb for cb in GLOBAL_CALLBACK_LIST if "app-tabs.active_tab" in deps(cb["inputs"])]
    assert len(switches) == 1  # no server callback listens to the tabs: a switch costs no request
    switch = switches[0]
    polls = [f"{tab.TAB_ID}-poll" for tab in A.TABS]
    assert switch["clientside_function"] and switch["prevent_initial_call"]
    assert deps(switch["inputs"]) == ["app-tabs.active_tab"]
    assert switch["output"] == "..{}..".format(
        "...".join([f"{p}.disabled" for p in polls] + [f"{p}.n_intervals" for p in polls])
    )
    assert deps(switch["state"]) == [f"{p}.n_intervals" for p in polls] + [f"{p}.disabled" for p in polls]


def test_each_tab_polls_on_its_own_interval_and_guards_against_running_hidden():
    """A callback that writes into a tab runs on that tab's poll (never on another tab's or
    on the shell's) and reads ``active_tab`` as State, so it can answer 204 when the run
    store or the page load triggers it while the tab is hidden."""
    tab_ids = [tab.TAB_ID for tab in A.TABS]
    checked = set()
    for cb in GLOBAL_CALLBACK_LIST:
        if cb["clientside_function"]:
            continue
        tabs = {t for t in tab_ids for oid in output_ids(cb["output"]) if oid.startswith(f"{t}-")}
        polls = {d.split(".")[0] for d in deps(cb["inputs"]) if d.endswith("poll.n_intervals")}
        if not tabs:
            assert polls <= {"app-poll"}, cb["output"]  # the shell polls on its own interval
            continue
        assert polls <= {f"{t}-poll" for t in tabs}, cb["output"]
        if polls:
            assert "app-tabs.active_tab" in deps(cb["state"]), cb["output"]
            checked |= tabs
    assert checked == set(tab_ids)  # every tab has at least one polled callback


# --------------------------------------------------------------------------- live tab
def test_live_callbacks_fetch_nothing_when_hidden(make_run):
    run = make_run()
    run.add_steps(5)
    assert live.tick_steps(1, "network", live.describe_agent(str(run.path)), None) == (dash.no_update,) * 6
    assert live.tick_episodes(1, "network", live.describe_agent(str(run.path)), None) == (dash.no_update,) * 3
    assert live.update_frame(1, "network", str(run.path), None) == (dash.no_update,) * 3


def test_a_run_chosen_while_live_is_hidden_is_drawn_when_it_is_shown(make_run):
    old, new = make_run("old"), make_run("new")
    old.add_steps(10)
    new.add_steps(30)
    cursor = live.load_steps(1, live.describe_agent(str(old.path)))[2]
    # the run store changes while another tab is shown: no answer (the poll is stopped)
    assert live.tick_steps(4, "network", live.describe_agent(str(new.path)), cursor) == (dash.no_update,) * 6
    # the tab is shown again: its first tick asks for the new run's history
    *_, cursor, reload = live.tick_steps(5, "live", live.describe_agent(str(new.path)), cursor)
    assert reload["tick"] == 5 and cursor["pending"]["key"] == {"run": str(new.path)}
    q_fig, _, cursor = live.load_steps(reload, live.describe_agent(str(new.path)))
    assert len(q_fig.data[0].x) == 30 and cursor["run"] == str(new.path)


def test_live_catches_up_after_being_hidden(make_run):
    """While another tab is shown nothing polls the Live tab; the first tick afterwards
    either extends the charts by all it missed or, if it missed more than a tick reads,
    asks for a redraw -- and then continues from the newest record (through the real store)."""
    run = make_run()
    path = str(run.path)
    run.add_steps(50)
    run.add_episodes(3)
    steps = live.load_steps(1, live.describe_agent(path))[2]
    episodes = live.load_episodes(1, live.describe_agent(path))[1]
    # hidden for a little while: one tick sends everything missed
    run.add_steps(300)
    run.add_episodes(2)
    q_ext, _, _, _, steps, reload = live.tick_steps(2, "live", live.describe_agent(path), steps)
    assert reload is dash.no_update and steps["seq"] == 349 and q_ext[0]["x"][0][-1] == 350
    ext, episodes, reload = live.tick_episodes(2, "live", live.describe_agent(path), episodes)
    assert reload is dash.no_update and ext[0]["x"][0] == [4, 5]
    # hidden for long: more than one tick may read, so the tick asks for the history
    run.add_steps(read.series.MAX_TICK_RECORDS + 1)
    q_ext, _, _, _, steps, reload = live.tick_steps(3, "live", live.describe_agent(path), steps)
    assert q_ext is dash.no_update and reload == {"key": {"run": path}, "tick": 3}
    newest = 350 + read.series.MAX_TICK_RECORDS + 1
    q_fig, _, steps = live.load_steps(reload, live.describe_agent(path))
    assert q_fig.data[0].x[-1] == newest and steps["seq"] == newest - 1 and "pending" not in steps
    run.add_steps(2)  # and from there on, ticks extend again
    q_ext, _, _, _, steps, reload = live.tick_steps(4, "live", live.describe_agent(path), steps)
    assert reload is dash.no_update and q_ext[0]["x"][0][-1] == newest + 2


def test_steps_tick_asks_for_a_load_then_extends(make_run):
    run = make_run()
    path = str(run.path)
    run.add_steps(40)
    # first tick: nothing drawn -> ask load_steps (through the reload store); cards and bars now
    q_ext, share_ext, bars, cards, cursor, reload = live.tick_steps(7, "live", live.describe_agent(path), None)
    assert q_ext is dash.no_update and share_ext is dash.no_update
    assert reload == {"key": {"run": path}, "tick": 7} and cursor["pending"] == reload
    assert not is_empty_figure(bars) and "RIGHT" in text_of(cards) and "best move now" in text_of(cards)
    # while the load is on its way, later ticks do not ask again
    assert live.tick_steps(8, "live", live.describe_agent(path), cursor)[5] is dash.no_update
    # ... unless it seems lost
    assert (
        live.tick_steps(7 + R.RELOAD_PATIENCE, "live", live.describe_agent(path), cursor)[5]["tick"]
        == 7 + R.RELOAD_PATIENCE
    )

    q_fig, share_fig, cursor = live.load_steps(reload, live.describe_agent(path))
    assert not is_empty_figure(q_fig) and len(q_fig.data[0].x) == 40 and not is_empty_figure(share_fig)
    assert cursor["drawn"] and cursor["seq"] == 39 and "pending" not in cursor

    run.add_steps(3)
    q_ext, share_ext, _, _, cursor2, reload = live.tick_steps(9, "live", live.describe_agent(path), cursor)
    update, indices, _ = q_ext
    assert all(xs == [41, 42, 43] for xs, i in zip(update["x"], indices) if i < 12)
    assert share_ext[0]["x"][0] == [41, 42, 43] and reload is dash.no_update
    assert cursor2["seq"] == 42

    # nothing new: nothing sent for the growing charts
    out = live.tick_steps(10, "live", live.describe_agent(path), cursor2)
    assert out[0] is dash.no_update and out[1] is dash.no_update and out[4] is dash.no_update


def test_steps_before_any_step_and_without_a_run(make_run):
    run = make_run()
    path = str(run.path)
    q_fig, share_fig, cursor = live.load_steps(1, live.describe_agent(path))
    assert is_empty_figure(q_fig) and "No Q-values yet" in q_fig.layout.annotations[0].text
    assert cursor["drawn"] is False
    # still no steps: the tick does not reload every poll
    assert live.tick_steps(2, "live", live.describe_agent(path), cursor)[5] is dash.no_update
    run.add_steps(2)
    assert live.tick_steps(3, "live", live.describe_agent(path), cursor)[5]["tick"] == 3  # steps arrived: load them

    out = live.tick_steps(4, "live", live.describe_agent(None), None)
    assert out[5]["tick"] == 4 and "Choose a run" in text_of(out[3])
    q_fig, _, cursor = live.load_steps(4, live.describe_agent(None))
    assert "Choose a run" in q_fig.layout.annotations[0].text
    assert live.tick_steps(5, "live", live.describe_agent(None), cursor) == (dash.no_update,) * 6


def test_steps_of_a_broken_run_say_why(tmp_path):
    unreadable_marker_run(tmp_path / "bad")
    path = str(tmp_path / "bad")
    _, _, bars, cards, cursor, reload = live.tick_steps(1, "live", live.describe_agent(path), None)
    assert "cannot be read" in text_of(cards) and "cannot be read" in bars.layout.annotations[0].text
    assert reload["tick"] == 1  # once, so the charts say it too
    q_fig, _, cursor = live.load_steps(reload, live.describe_agent(path))
    assert "cannot be read" in q_fig.layout.annotations[0].text and cursor["broken"]
    assert live.tick_steps(2, "live", live.describe_agent(path), cursor)[5] is dash.no_update


def test_episodes_tick_and_load(make_run):
    run = make_run()
    path = str(run.path)
    ext, cursor, reload = live.tick_episodes(1, "live", live.describe_agent(path), None)
    assert ext is dash.no_update and reload["tick"] == 1
    fig, cursor = live.load_episodes(reload, live.describe_agent(path))
    assert is_empty_figure(fig) and not cursor["drawn"]
    run.add_episodes(4)
    _, cursor, reload = live.tick_episodes(2, "live", live.describe_agent(path), cursor)
    fig, cursor = live.load_episodes(reload, live.describe_agent(path))
    assert not is_empty_figure(fig) and list(fig.data[0].x) == [1, 2, 3, 4]
    run.add_episodes(1)
    ext, cursor, reload = live.tick_episodes(3, "live", live.describe_agent(path), cursor)
    assert ext[0]["x"][0] == [5] and cursor["seq"] == 4 and reload is dash.no_update


def test_update_frame_sends_only_a_new_picture(make_run):
    run = make_run()
    box, caption, cursor = live.update_frame(1, "live", str(run.path), None)
    assert "Waiting for the first picture" in text_of(box)
    run.add_steps(3)
    run.frame()
    box, caption, cursor = live.update_frame(2, "live", str(run.path), cursor)
    assert box.src.startswith("data:image/png;base64,") and caption == "step 3"
    assert live.update_frame(3, "live", str(run.path), cursor) == (dash.no_update,) * 3


def test_a_tick_sends_only_what_is_new(make_run):
    """The history goes to the browser once; a poll after that carries the new points."""
    from dash._utils import to_json

    run = make_run()
    path = str(run.path)
    run.add_steps(5000)
    q_fig, share_fig, cursor = live.load_steps(1, live.describe_agent(path))
    history_bytes = len(to_json([q_fig, share_fig]))
    run.add_steps(20)
    q_ext, share_ext, _, _, cursor, _ = live.tick_steps(2, "live", live.describe_agent(path), cursor)
    tick_bytes = len(to_json([q_ext, share_ext]))
    assert len(q_ext[0]["x"][0]) <= 20  # at most the new records, downsampled
    assert history_bytes > 100_000 and tick_bytes < 5_000, (history_bytes, tick_bytes)


# --------------------------------------------------------------------------- served folder only
def test_run_paths_from_the_page_are_confined_to_the_served_folder(tmp_path):
    """The page sends run paths back; the server opens only runs in the folder it serves."""
    from dashapp import read
    from tests.dashapp.runbuilder import RunBuilder

    served, elsewhere = tmp_path / "served", tmp_path / "elsewhere"
    inside = RunBuilder(served / "ok")
    inside.add_steps(3)
    inside.close()
    outside = RunBuilder(elsewhere / "secret")
    outside.add_steps(3)
    outside.close()

    app = A.create_app(served)
    with app.server.app_context():
        assert read.served_root() == served.resolve()
        assert worker_status(served / "ok").state == read.NO_HEARTBEAT  # a run the dashboard serves opens
        for sneaky in (elsewhere / "secret", served / ".." / "elsewhere" / "secret"):
            with pytest.raises(read.BrokenRun, match="not a run in the folder this dashboard serves"):
                worker_status(sneaky)
            with pytest.raises(read.BrokenRun, match="not a run in the folder this dashboard serves"):
                read.send_command(sneaky, T.CMD_STOP)
        # the picker lists the served folder even if the page claims another one
        options, _value, _notice, _ = A.refresh_runs(1, str(elsewhere), None, None)
        assert [o["value"] for o in options] == [str(served / "ok")]
    # outside a request (scripts, tests) there is no served folder to check against
    assert read.served_root() is None
    assert worker_status(elsewhere / "secret").state == read.NO_HEARTBEAT


def test_update_frame_says_why_an_environment_draws_no_picture(make_run):
    """CartPole without pygame cannot render: the game panel says so instead of waiting forever."""
    run = make_run("cartpole")
    box, _caption, _cursor = live.update_frame(1, "live", str(run.path), None)
    assert "Waiting for the first picture" in text_of(box)
    run.store.put(T.FRAME_UNAVAILABLE, {"reason": "DependencyNotInstalled: pygame is not installed"})
    box, _caption, _cursor = live.update_frame(2, "live", str(run.path), None)
    assert "cannot draw its picture here (DependencyNotInstalled: pygame is not installed)" in text_of(box)


def test_callback_responses_say_the_server_time_and_pages_do_not(tmp_path):
    client = A.create_app(tmp_path).server.test_client()
    body = {
        "output": "app-run.data",
        "outputs": {"id": "app-run", "property": "data"},
        "inputs": [{"id": "app-run-picker", "property": "value", "value": None}],
        "changedPropIds": ["app-run-picker.value"],
        "state": [],
    }
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code == 200, answer.data
    name, duration = answer.headers["Server-Timing"].split(";dur=")
    assert name == "callback" and 0 <= float(duration) < 60_000
    assert "Server-Timing" not in client.get("/").headers


def test_the_live_tab_and_the_shell_send_one_request_per_poll_each():
    """A poll of the Live tab is one request, and so is the shell's: every request costs
    the browser and the server on top of the panels' own work."""
    per_poll: dict[str, list[str]] = {}
    for cb in REGISTERED:
        for poll in (d for d in deps(cb["inputs"]) if d.endswith("poll.n_intervals")):
            per_poll.setdefault(poll, []).append(cb["output"])
    assert len(per_poll["app-poll.n_intervals"]) == 1 and len(per_poll["live-poll.n_intervals"]) == 1


def test_one_live_tick_draws_a_new_run_at_once_through_one_store_session(make_run):
    run = make_run()
    run.add_steps(30)
    run.add_episodes(3)
    out = live.tick_live(1, str(run.path), live.TAB_ID, None, None, None, None, None)
    outputs = [o for panel in live.tick.PANELS.values() for o in panel]
    assert len(out) == len(outputs)
    got = dict(zip(outputs, out, strict=True))
    assert got[("live-agent", "data")]["run"] == str(run.path)  # found on this tick ...
    assert got[("live-steps-reload", "data")] is not dash.no_update  # ... and its charts asked for at once
    assert got[("live-episodes-reload", "data")] is not dash.no_update
    with pytest.raises(dash.exceptions.PreventUpdate):  # hidden: nothing read, nothing sent
        live.tick_live(2, str(run.path), "network", None, None, None, None, None)


def test_a_tick_with_nothing_new_sends_nothing(make_run):
    """A finished or paused run: the Live tab's and the shell's polls answer without
    re-sending what the page already shows (each resent output costs the browser)."""
    run = make_run()
    run.add_steps(30)
    run.heartbeat(T.FINISHED, age=60)
    agent = live.describe_agent(str(run.path))
    cursor = live.load_steps(1, agent)[2]
    *_, bars, cards, cursor, _reload = live.tick_steps(2, live.TAB_ID, agent, cursor)
    assert bars is not dash.no_update and cards is not dash.no_update  # the cards are drawn once ...
    assert live.tick_steps(3, live.TAB_ID, agent, cursor) == (dash.no_update,) * 6  # ... and not again
    run.add_steps(1)
    assert live.tick_steps(4, live.TAB_ID, agent, cursor)[3] is not dash.no_update  # a new step: new cards
    shell = A.update_shell(1, str(run.path), str(run.path.parent), None, None, None, None)
    status_key = shell[4 + 12]
    again = A.update_shell(2, str(run.path), str(run.path.parent), shell[0], shell[3], status_key, None)
    assert again[4 : 4 + 13] == (dash.no_update,) * 13 and again[2] is dash.no_update
