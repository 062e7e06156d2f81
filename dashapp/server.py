"""``neurodash serve``: the dashboard over existing run folders (live or finished).

Binds 127.0.0.1 unless told otherwise: the dashboard can pause and stop training and
has no login, so it is not for an open network. A port that is already taken is a
one-line error and a non-zero exit, not a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050

#: Exit code for "cannot serve" (port taken, bad host).
EXIT_CANNOT_SERVE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs",
        default="runs",
        metavar="DIR",
        help="folder holding run folders (or a single run folder); it may be empty or not exist yet",
    )
    parser.add_argument(
        "--checkpoints",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of checkpoint files (any format `neurodash health` reads) the Compare tab may browse, "
        "with the folders below it; repeat for several",
    )
    add_server_arguments(parser)
    parser.set_defaults(func=run)


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """--host, --port, --no-browser (shared with ``neurodash demo``)."""
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to listen on; anything but 127.0.0.1/localhost exposes the controls to the network",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_problem(host: str, port: int) -> str | None:
    """None if ``host:port`` can be listened on, else a one-line reason."""
    if not 0 < port < 65536:
        return f"port {port} is not a valid port number (1-65535)"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot listen on host {host!r}: {exc.strerror}"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Same option as the server itself, so a port merely in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use; stop the other program or pass --port with "
                    "another number"
                )
            if exc.errno == errno.EACCES:
                return f"not allowed to listen on port {port} (ports below 1024 need root); pass --port 8050 or higher"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def has_display() -> bool:
    """True when a graphical browser could open (always on macOS/Windows; on Linux and
    other Unixes only with an X11 or Wayland display -- otherwise ``webbrowser`` may
    pick a text-mode browser that would take over the terminal)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_browser_later(url: str, delay: float = 1.0) -> None:
    """Open ``url`` in the user's browser shortly after the server starts, if there is one."""
    if not has_display():
        return

    def _open() -> None:
        with contextlib.suppress(webbrowser.Error):  # no browser to open: the banner has the address
            webbrowser.open(url, new=2)

    timer = threading.Timer(delay, _open)
    timer.daemon = True
    timer.start()


def _quiet_request_log() -> None:
    # The page polls every second; one log line per request would drown everything else.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def terminate_on_sigterm() -> Callable[[], object]:
    """Turn SIGTERM into KeyboardInterrupt in the main thread (so ``finally`` blocks run);
    returns a function restoring the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, previous)


def serve_app(app, host: str, port: int, *, open_browser: bool, banner: str = "") -> int:
    """Serve a Dash app until Ctrl-C or SIGTERM; return an exit code."""
    from werkzeug.serving import make_server

    problem = port_problem(host, port)
    if problem:
        print(f"neurodash: {problem}", file=sys.stderr)
        return EXIT_CANNOT_SERVE
    try:
        server = make_server(host, port, app.server, threaded=True)
    except (OSError, SystemExit) as exc:  # lost a race for the port
        print(f"neurodash: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return EXIT_CANNOT_SERVE
    _quiet_request_log()
    url = url_for(host, port)
    if banner:
        print(banner, flush=True)
    print(f"neurodash: dashboard on {url}  (Ctrl-C to stop)", flush=True)
    if not is_loopback(host):
        print(
            f"neurodash: warning: listening on {host}: anyone who can reach this address can pause "
            "and stop training (there is no login)",
            file=sys.stderr,
            flush=True,
        )
    if open_browser:
        open_browser_later(url)
    restore = terminate_on_sigterm()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        restore()
    return 0


def run(args: argparse.Namespace) -> int:
    from dashapp.app import create_app

    problem = port_problem(args.host, args.port)
    if problem:
        print(f"neurodash serve: {problem}", file=sys.stderr)
        return EXIT_CANNOT_SERVE
    runs = Path(args.runs)
    if runs.exists() and not runs.is_dir():
        print(f"neurodash serve: --runs {runs} is a file, not a folder of runs", file=sys.stderr)
        return EXIT_CANNOT_SERVE
    for folder in args.checkpoints:
        if not Path(folder).is_dir():
            print(f"neurodash serve: --checkpoints {folder} is not a folder", file=sys.stderr)
            return EXIT_CANNOT_SERVE
    app = create_app(runs)
    from dashapp.checkpoints import folders, jobs

    folders.configure(app.server.config, args.checkpoints)
    if args.checkpoints:  # checkpoints to compare: start the analysis workers now, not on the first click
        jobs.runner().warm()
    return serve_app(
        app,
        args.host,
        args.port,
        open_browser=not args.no_browser,
        banner=f"neurodash: watching runs in {runs.resolve()}",
    )
