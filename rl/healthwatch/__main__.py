"""``python -m rl.healthwatch [idle|low|normal]``: the analysis process (``rl.healthwatch.process``):
jobs arrive pickled on stdin, answers leave pickled on stdout, and whatever the analysis
prints goes to stderr. The worker starts it; it ends when its stdin closes."""

from __future__ import annotations

import os
import signal
import sys

from rl.healthwatch.process import serve


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is for the worker; stdin closing ends us
    results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # whatever the analysis prints goes to stderr
    serve(sys.stdin.buffer, results, argv[0] if argv else "idle")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
