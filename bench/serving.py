"""``neurodash serve`` for the benchmarks: start it over a runs folder, wait until it
answers, stop it again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing


def serve(runs_dir: Path, log: Path, timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """Start ``neurodash serve`` over ``runs_dir`` on a free port (its output to ``log``);
    return the process and its URL once the page answers."""
    from tests.e2e.helpers import free_port, serve_command

    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen(serve_command(runs_dir, port), stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"neurodash serve exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"the dashboard did not answer on {url}")


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Ask a process we started to end (SIGTERM); kill it if it does not in time."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
