"""``neurodash demo``: an agent (a DQN, or discrete SAC) learns Breakout in its own process;
the dashboard watches.

The worker is a separate process (``neurodash train ...``), never a Dash background
callback: training keeps going whatever the browser does, and the two only meet in the
run folder's store. On Ctrl-C (or SIGTERM) the demo asks the worker to stop through the
store -- it saves a final checkpoint and exits -- and only terminates it if it does not
respond.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from dashapp import server

ENV_ID = "neurodash/Breakout-v0"
#: The agents the demo can show (Breakout's actions are discrete: SAC runs as discrete SAC).
AGENTS = ("dqn", "sac")
DEFAULT_STEPS = 200_000
#: How long to wait for the worker to create its run folder before opening the browser.
START_TIMEOUT_S = 120.0
#: How long a worker gets to stop cleanly before it is terminated.
STOP_TIMEOUT_S = 20.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs",
        default="runs",
        metavar="DIR",
        help="folder for run folders; the demo's run goes into a new timestamped folder inside it",
    )
    parser.add_argument(
        "--agent",
        default="dqn",
        choices=AGENTS,
        help="the learning algorithm: a DQN, or discrete SAC (an actor and twin critics)",
    )
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="environment steps to train for")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a fresh one each time)")
    server.add_server_arguments(parser)
    parser.set_defaults(func=run)


def new_run_dir(runs: Path, now: float | None = None, agent: str = "dqn") -> Path:
    """``runs/<YYYYmmdd-HHMMSS>-breakout-<agent>`` (with a suffix if that exists already)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    base = runs / f"{stamp}-breakout-{agent}"
    candidate, n = base, 2
    while candidate.exists():
        candidate, n = Path(f"{base}-{n}"), n + 1
    return candidate


def worker_command(
    run_dir: Path, steps: int, seed: int | None, extra: list[str] | None = None, agent: str = "dqn"
) -> list[str]:
    """The command line of the training worker process."""
    cmd = [
        sys.executable,
        "-m",
        "dashapp.cli",
        "train",
        "--env",
        ENV_ID,
        "--agent",
        agent,
        "--steps",
        str(steps),
        "--run-dir",
        str(run_dir),
    ]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    return cmd + list(extra or [])


def start_worker(cmd: list[str]) -> subprocess.Popen:
    """Start the worker in its own session, so a Ctrl-C in the terminal reaches only the
    demo (which then stops the worker cleanly) rather than killing both mid-step. On
    Linux the worker is also told (SIGTERM: it saves and reports "stopped") when the demo
    dies without a word -- killed with SIGKILL, or its terminal closed -- instead of
    training on unseen."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    stop_with_me = _stop_with_parent(os.getpid()) if sys.platform.startswith("linux") else None
    return subprocess.Popen(cmd, start_new_session=True, env=env, stdin=subprocess.DEVNULL, preexec_fn=stop_with_me)


def _stop_with_parent(parent: int):
    """In the child, before the worker starts: ask Linux for SIGTERM when ``parent`` dies
    (prctl PR_SET_PDEATHSIG), and stop at once if it already has."""

    def arrange() -> None:  # pragma: no cover - runs in the forked child
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(1)

    return arrange


def wait_for_run(run_dir: Path, proc: subprocess.Popen, timeout: float = START_TIMEOUT_S) -> bool:
    """Wait until the worker has created its run folder; False if it exited or timed out."""
    from rl.store import is_run_dir

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_run_dir(run_dir):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def stop_worker(proc: subprocess.Popen, run_dir: Path, timeout: float = STOP_TIMEOUT_S) -> int | None:
    """Ask the worker to stop through the store, wait, then terminate/kill if needed.
    Returns its exit code (None if it could not be reaped)."""
    if proc.poll() is not None:
        return proc.returncode
    from dashapp import read

    try:
        read.send_command(run_dir, "stop")
    except read.BrokenRun:
        pass  # no run folder yet: the worker is still starting; terminate it below
    else:
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    proc.terminate()
    try:
        return proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            return proc.wait(5)
        except subprocess.TimeoutExpired:
            return None


def _report_exit(proc: subprocess.Popen, stopping: threading.Event) -> None:
    code = proc.wait()
    if not stopping.is_set():
        how = "finished" if code == 0 else f"exited with code {code}"
        print(
            f"neurodash demo: the training worker {how}; the dashboard keeps showing the run (Ctrl-C to quit)",
            file=sys.stderr,
            flush=True,
        )


def run(args: argparse.Namespace) -> int:
    from dashapp.app import create_app

    problem = server.port_problem(args.host, args.port)
    if problem:
        print(f"neurodash demo: {problem}", file=sys.stderr)
        return server.EXIT_CANNOT_SERVE
    if args.steps < 1:
        print("neurodash demo: --steps must be at least 1", file=sys.stderr)
        return 2
    runs = Path(args.runs)
    if runs.exists() and not runs.is_dir():
        print(f"neurodash demo: --runs {runs} is a file, not a folder", file=sys.stderr)
        return 2
    runs.mkdir(parents=True, exist_ok=True)
    run_dir = new_run_dir(runs, agent=args.agent)
    restore_sigterm = server.terminate_on_sigterm()
    # --quiet: the dashboard shows the progress; a progress bar would garble these lines.
    proc = start_worker(worker_command(run_dir, args.steps, args.seed, ["--quiet"], agent=args.agent))
    print(f"neurodash demo: training worker started (pid {proc.pid}), run folder {run_dir}", flush=True)
    stopping = threading.Event()
    threading.Thread(target=_report_exit, args=(proc, stopping), daemon=True).start()
    try:
        # Serve the newest run: wait for the worker's folder so the page opens on it.
        if not wait_for_run(run_dir, proc):
            if proc.poll() is not None:
                print(
                    f"neurodash demo: the worker exited (code {proc.returncode}) before creating {run_dir}; "
                    "see its messages above",
                    file=sys.stderr,
                )
                return 1
            print(
                f"neurodash demo: the worker has not created {run_dir} after {START_TIMEOUT_S:.0f} s; serving anyway",
                file=sys.stderr,
            )
        app = create_app(runs)
        return server.serve_app(
            app,
            args.host,
            args.port,
            open_browser=not args.no_browser,
            banner=f"neurodash demo: watching runs in {runs.resolve()}",
        )
    except KeyboardInterrupt:
        return 130
    finally:
        stopping.set()
        if proc.poll() is None:
            print("neurodash demo: stopping the training worker...", file=sys.stderr, flush=True)
        code = stop_worker(proc, run_dir)
        if code is None:
            print(f"neurodash demo: could not stop worker pid {proc.pid}", file=sys.stderr)
        restore_sigterm()
