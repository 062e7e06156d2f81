"""The ``neurodash`` command: demo, train, serve, health.

Each subcommand's flags are declared by the package that owns the work (``rl.worker``
for training, ``dashapp.server`` for serving, ``health.cli`` for checkpoint diagnosis);
this module only wires them together, and imports each lazily so ``--help`` is quick
and the dashboard process never imports torch.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurodash",
        description="Watch the neural network inside a reinforcement-learning agent while it "
        "trains, and diagnose saved checkpoints afterwards.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    from dashapp import demo, server

    demo.add_arguments(
        sub.add_parser(
            "demo",
            help="classroom demo: train an agent on Breakout and open the live dashboard",
            description="Start an agent (a DQN, or discrete SAC with --agent sac) learning our Breakout "
            "game in a background worker process and serve the live dashboard on http://127.0.0.1:8050.",
        )
    )

    from rl import cli as rl_cli

    rl_cli.add_arguments(
        sub.add_parser(
            "train",
            help="train an agent headless, publishing telemetry into a run folder",
            description="Train an agent without the dashboard. Telemetry and checkpoints go "
            "into --run-dir; point `neurodash serve` at it (live or later) to watch.",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
    )
    server.add_arguments(
        sub.add_parser(
            "serve",
            help="serve the dashboard over existing run folders (live or finished)",
            description="Serve the dashboard over the run folders in --runs.",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
    )

    from health import cli as health_cli

    health_cli.add_arguments(
        sub.add_parser(
            "health",
            help="diagnose saved checkpoints (WeightWatcher metrics, dead neurons, verdicts)",
            description=health_cli.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("neurodash: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
