"""`neurodash serve` and `neurodash demo`: flags, port handling, stopping the worker."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from dashapp import demo, read, server
from rl import telemetry as T
from tests.dashapp.reading import read_once, worker_status
from tests.dashapp.runbuilder import RunBuilder

REPO = Path(__file__).resolve().parents[2]


def parse(module, argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args(argv)


def test_serve_defaults_bind_localhost():
    args = parse(server, [])
    assert (args.host, args.port, args.no_browser, args.runs) == ("127.0.0.1", 8050, False, "runs")
    assert args.func is server.run


def test_demo_flags():
    args = parse(demo, ["--steps", "500", "--seed", "3", "--no-browser", "--port", "8060", "--runs", "x"])
    got = (args.steps, args.seed, args.no_browser, args.port, args.host, args.runs)
    assert got == (500, 3, True, 8060, "127.0.0.1", "x")
    assert args.func is demo.run


def test_port_problem():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        problem = server.port_problem("127.0.0.1", port)
        assert "already in use" in problem and "--port" in problem
    assert server.port_problem("127.0.0.1", port) is None  # free again
    assert "not a valid port" in server.port_problem("127.0.0.1", 70000)
    assert "cannot listen on host" in server.port_problem("no-such-host.invalid", 8050)


def test_serve_refuses_a_port_in_use_with_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "dashapp.cli",
                "serve",
                "--runs",
                str(tmp_path),
                "--port",
                str(port),
                "--no-browser",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )
    assert out.returncode == server.EXIT_CANNOT_SERVE
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "already in use" in lines[0] and str(port) in lines[0]


def test_url_and_loopback():
    assert server.url_for("127.0.0.1", 8050) == "http://127.0.0.1:8050/"
    assert server.url_for("0.0.0.0", 80) == "http://127.0.0.1:80/"
    assert server.url_for("::1", 8050) == "http://[::1]:8050/"
    assert server.is_loopback("localhost") and server.is_loopback("127.0.0.1") and server.is_loopback("::1")
    assert not server.is_loopback("0.0.0.0") and not server.is_loopback("192.168.1.4")


def test_browser_opens_only_with_a_display(monkeypatch):
    opened = []
    monkeypatch.setattr(server.webbrowser, "open", lambda url, new=0: opened.append(url))
    monkeypatch.setattr(server.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not server.has_display()
    server.open_browser_later("http://127.0.0.1:1/", delay=0)
    time.sleep(0.2)
    assert opened == []
    monkeypatch.setenv("DISPLAY", ":0")
    server.open_browser_later("http://127.0.0.1:1/", delay=0)
    for _ in range(50):
        if opened:
            break
        time.sleep(0.02)
    assert opened == ["http://127.0.0.1:1/"]


def test_new_run_dir_is_timestamped_and_unique(tmp_path):
    now = time.mktime((2024, 5, 6, 7, 8, 9, 0, 0, -1))
    first = demo.new_run_dir(tmp_path, now)
    assert first.name == "20240506-070809-breakout-dqn"
    first.mkdir()
    assert demo.new_run_dir(tmp_path, now).name == "20240506-070809-breakout-dqn-2"


def test_worker_command_is_the_train_subcommand(tmp_path):
    cmd = demo.worker_command(tmp_path / "r", 1234, 7, ["--quiet"])
    assert cmd[:4] == [sys.executable, "-m", "dashapp.cli", "train"]
    assert cmd[cmd.index("--env") + 1] == "neurodash/Breakout-v0" and cmd[cmd.index("--agent") + 1] == "dqn"
    assert cmd[cmd.index("--steps") + 1] == "1234" and cmd[cmd.index("--seed") + 1] == "7"
    assert cmd[cmd.index("--run-dir") + 1] == str(tmp_path / "r") and cmd[-1] == "--quiet"
    assert "--seed" not in demo.worker_command(tmp_path, 5, None)
    # the command line parses with the real `neurodash train` parser
    from dashapp.cli import build_parser

    args = build_parser().parse_args(cmd[3:])
    assert args.command == "train"


# A stand-in worker (no torch): obeys "stop" from the store's command channel.
FAKE_WORKER = textwrap.dedent(
    """
    import sys, time
    from rl import store as S, telemetry as T
    st = S.open_run(sys.argv[1])
    cursor = -1
    print("ready", flush=True)
    while True:
        rows, cursor = S.iter_new(st, T.COMMANDS, cursor)
        if any(r["action"] == "stop" for r in rows):
            st.put(T.HEARTBEAT, T.Heartbeat(time=time.time(), step=0, state=T.STOPPED, pid=0).to_dict())
            sys.exit(0)
        time.sleep(0.05)
    """
)


def test_stop_worker_asks_through_the_store_first(tmp_path):
    run = RunBuilder(tmp_path / "run")
    run.close()
    proc = subprocess.Popen([sys.executable, "-c", FAKE_WORKER, str(run.path)], cwd=REPO, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    assert demo.stop_worker(proc, run.path, timeout=20) == 0  # exited by itself, not terminated
    assert worker_status(run.path).state == T.STOPPED
    assert [c["action"] for c in read_once(run.path, read.Session.read, T.COMMANDS)] == ["stop"]


def test_stop_worker_terminates_a_worker_that_does_not_listen(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    # no run folder yet (the worker is still starting): terminated straight away
    assert demo.stop_worker(proc, tmp_path / "not-created-yet", timeout=1) == -15
    assert demo.stop_worker(proc, tmp_path) == -15  # already gone: just its code


def test_the_worker_stops_when_the_demo_dies_without_a_word(tmp_path):
    """SIGKILL gives the demo no chance to stop its worker: Linux tells the worker
    instead, which saves and reports "stopped" rather than training on unseen."""
    run_dir = tmp_path / "run"
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(REPO)!r})
        from dashapp import demo
        cmd = demo.worker_command(Path({str(run_dir)!r}), 10**9, 0, ["--hidden-sizes", "8", "--torch-threads", "1",
                                                                   "--checkpoint-every", "0", "--quiet"])
        print(demo.start_worker(cmd).pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    worker = int(parent.stdout.readline())
    try:
        deadline = time.monotonic() + 60
        while worker_status(run_dir).state != T.RUNNING if (run_dir / "run.json").exists() else True:
            assert time.monotonic() < deadline, "the worker never started training"
            time.sleep(0.2)
        parent.kill()  # SIGKILL: no handler runs in the demo
        parent.wait(10)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{worker}").exists() and "zombie" not in _state(worker):
            assert time.monotonic() < deadline, "the worker kept running after the demo was killed"
            time.sleep(0.2)
        assert worker_status(run_dir).state == T.STOPPED
    finally:
        if Path(f"/proc/{worker}").exists():
            subprocess.run(["kill", "-9", str(worker)], check=False)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "gone"
