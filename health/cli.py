"""``neurodash health``: diagnose saved checkpoints from the command line.

Wired into the top-level CLI by ``dashapp/cli.py`` (``add_arguments`` + ``DESCRIPTION``).
Nothing heavy is imported at module import time: torch and weightwatcher load inside
:func:`main`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from health import thresholds as TH

# the band edges as the help text prints them
_LO, _HI, _UNDER = (f"{v:g}" for v in (TH.ALPHA_RECOMMENDED_LOW, TH.ALPHA_RECOMMENDED_HIGH, TH.ALPHA_UNDERTRAINED_HIGH))
_DEAD_OK, _DEAD_BAD = (f"{v:.0%}" for v in (TH.DEAD_RATIO_MODERATE, TH.DEAD_RATIO_CRITICAL))

DESCRIPTION = f"""\
Diagnose trained networks from their saved weights alone -- no test data and no
training code needed. For every network in a checkpoint it reports:

  * WeightWatcher's alpha per layer and overall, with a verdict: about {TH.ALPHA_OPTIMAL:g} is
    optimal, {_LO}-{_HI} recommended, {_HI}-{_UNDER} under-trained, above {_UNDER} random-like, below {_LO} over-fit;
    layers too small to fit (e.g. a 3-action output head) are listed as "not analysed";
  * dead neurons (count, ratio, band: under {_DEAD_OK} good ... over {_DEAD_BAD} critical) and what to do;
  * layer statistics: alpha range, mean and spread, log spectral norm, stable rank
    (also as a share of full rank), and a list of potential issues.

Given several checkpoints (in training order) it also shows how alpha moved across them,
names the pattern (healthy progression, overtraining, not learning, ...) and says which
checkpoint to keep. A folder -- a run folder or its checkpoints/ -- stands for the
checkpoint files inside it, in step order.

Formats: neurodash run checkpoints, plain state dicts (torch.save(model.state_dict()),
CleanRL .cleanrl_model), dicts of several networks (SAC-style actor/critic_1/...),
Stable-Baselines3 .zip saves, .safetensors. Files are loaded as data only
(torch.load(weights_only=True)); nothing inside them is ever executed.

examples:
  neurodash health --checkpoint runs/breakout-dqn/checkpoints/ckpt_000050000.pt
  neurodash health --checkpoint gen100.pt gen200.pt gen300.pt best.pt
  neurodash health --checkpoint runs/breakout-dqn          # every checkpoint of a run
  neurodash health --checkpoint best.pt --networks actor critic_1 --output-dir health_reports/
  neurodash health --checkpoint best.pt --dead-neuron-method weight
  neurodash health --checkpoint best.pt --dead-neuron-samples 5000

exit status: 0 when every checkpoint was analysed, 1 when any could not be read
(the others are still analysed), 2 for bad command-line arguments.
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``health`` flags on ``parser`` and set ``func=main``."""
    from health.networks import ACTIVATIONS

    parser.add_argument(
        "--checkpoint",
        "-c",
        nargs="+",
        required=True,
        metavar="PATH",
        help="checkpoint file(s) to analyse, oldest first when comparing; a folder (a run folder or "
        "its checkpoints/) stands for the checkpoint files in it, sorted by the number in their names",
    )
    parser.add_argument(
        "--networks",
        "-n",
        nargs="+",
        metavar="NAME",
        help="analyse only these networks, e.g. 'actor critic_1' or 'q_network' "
        "(default: every network in the file that holds weights)",
    )
    parser.add_argument(
        "--output-dir",
        "-o",
        metavar="DIR",
        help="also write network_health_report.txt, <network>_details.csv (one row per layer, every "
        "metric) and <network>_health_metrics.png (four plots) into DIR",
    )
    parser.add_argument(
        "--dead-neuron-method",
        choices=("activation", "weight"),
        default="activation",
        help="activation (default): a unit is dead when its output varies by less than "
        f"{TH.DEAD_ACTIVATION_VARIANCE:g} (variance) over sample inputs -- works for any activation "
        "function; weight: a unit is dead when its incoming weights' L2 norm is below "
        f"{TH.DEAD_WEIGHT_NORM:g} -- faster, needs no inputs, misses units killed by their bias",
    )
    parser.add_argument(
        "--dead-neuron-samples",
        type=_positive_int,
        default=TH.DEAD_NEURON_SAMPLES_DEFAULT,
        metavar="N",
        help="how many inputs the activation method runs through each network (default: %(default)s; "
        f"at least {TH.DEAD_NEURON_SAMPLES_MIN}). "
        "Inputs are the observations stored in the checkpoint if any, else observations from "
        "the environment it names (random policy), else standard-normal random numbers",
    )
    parser.add_argument(
        "--activation",
        choices=sorted(ACTIVATIONS),
        default="relu",
        help="activation function assumed after each hidden layer when the checkpoint does not record "
        "it (ours do; plain state dicts do not). Default: %(default)s",
    )
    parser.add_argument(
        "--dead-variance-threshold",
        type=_positive_float,
        default=TH.DEAD_ACTIVATION_VARIANCE,
        metavar="V",
        help="activation method: variance below which a unit counts as dead (default: %(default)g)",
    )
    parser.add_argument(
        "--dead-weight-threshold",
        type=_positive_float,
        default=TH.DEAD_WEIGHT_NORM,
        metavar="W",
        help="weight method: incoming-weight L2 norm below which a unit counts as dead (default: %(default)g)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed for collected or random inputs, so reruns give the same counts (default: %(default)s)",
    )
    parser.add_argument(
        "--no-explain",
        action="store_true",
        help="leave out the short 'how to read this report' section at the end",
    )
    parser.set_defaults(func=main)


def build_parser() -> argparse.ArgumentParser:
    """A stand-alone parser (``python -m health.cli``); the same flags as ``neurodash health``."""
    parser = argparse.ArgumentParser(
        prog="neurodash health", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    return parser


def _expand(paths: list[str]) -> tuple[list[str], list[str]]:
    """Folders -> the checkpoint files inside them. Returns (files, errors)."""
    from health.loading import find_checkpoints

    files: list[str] = []
    errors: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = find_checkpoints(p)
            if not found and (p / "checkpoints").is_dir():  # a run folder: use its checkpoints/
                found = find_checkpoints(p / "checkpoints")
            if not found:
                errors.append(f"{raw}: folder holds no checkpoint files (*.pt, *.pth, *.zip, *.safetensors, ...)")
            files.extend(str(f) for f in found)
        else:
            files.append(raw)
    return files, errors


def main(args: argparse.Namespace) -> int:
    """Run the diagnosis; print the report; return the exit status."""
    from tqdm import tqdm

    from health.compare import comparison_from_results
    from health.diagnosis import analyze_checkpoint, too_few_samples
    from health.loading import CheckpointError
    from health.report import EXPLANATION, render_checkpoint, render_comparison, write_reports

    if args.dead_neuron_method == "activation" and args.dead_neuron_samples < TH.DEAD_NEURON_SAMPLES_MIN:
        why = too_few_samples(args.dead_neuron_samples)
        print(f"neurodash health: error: --dead-neuron-samples: {why}", file=sys.stderr)
        return 2

    try:
        import torch

        torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    except ImportError:  # pragma: no cover - torch is a dependency
        print("neurodash health: error: PyTorch is not installed", file=sys.stderr)
        return 1

    files, errors = _expand(list(args.checkpoint))
    for err in errors:
        print(f"neurodash health: error: {err}", file=sys.stderr)
    results = []
    bar = tqdm(files, desc="checkpoints", unit="file", disable=len(files) < 2 or None, file=sys.stderr)
    for path in bar:
        bar.set_postfix_str(Path(path).name)
        try:
            results.append(
                analyze_checkpoint(
                    path,
                    networks=args.networks,
                    dead_method=args.dead_neuron_method,
                    dead_samples=args.dead_neuron_samples,
                    default_activation=args.activation,
                    variance_threshold=args.dead_variance_threshold,
                    weight_threshold=args.dead_weight_threshold,
                    seed=args.seed,
                )
            )
        except CheckpointError as exc:
            errors.append(str(exc))
            bar.write(f"neurodash health: error: {exc}", file=sys.stderr)
    bar.close()

    sections = ["neurodash health report"]
    for res in results:
        sections.append(render_checkpoint(res))
    comparison = None
    if len(results) > 1 or (results and len(files) > 1):
        comparison = comparison_from_results(results, errors)
        sections.append(render_comparison(comparison))
    elif errors and results:
        sections.append("Files that could not be analysed:\n" + "\n".join(f"  {e}" for e in errors))
    if results and not args.no_explain:
        sections.append("=" * 78 + "\n" + EXPLANATION)
    text = "\n\n".join(sections).rstrip() + "\n"

    if results:
        print(text)
        if args.output_dir:
            try:
                written = write_reports(args.output_dir, results, text, comparison)
            except OSError as exc:
                print(f"neurodash health: error: cannot write reports to {args.output_dir}: {exc}", file=sys.stderr)
                return 1
            print(f"Wrote {len(written)} files to {args.output_dir}:")
            for path in written:
                print(f"  {path}")
    return 1 if errors or not results else 0


if __name__ == "__main__":  # pragma: no cover
    ns = build_parser().parse_args()
    sys.exit(ns.func(ns))
