"""``neurodash train``: train an agent in this process, publishing into a run folder.

Every field of :class:`rl.worker.WorkerConfig` and of each agent's config (e.g.
``DQNConfig``) becomes a flag (``learning_rate`` -> ``--learning-rate``), with the
docstring written under the field as its ``--help`` text. The agent configs are read
from their source file rather than imported, so building the parser never imports
torch -- the dashboard process builds this parser too.

Bad input (unknown environment, non-discrete actions, an unusable run folder, a run
written by a newer neurodash, a refused setting) ends with one line on stderr,
``neurodash train: <what is wrong and what to do>``, and exit code 2. A failure during
training prints its traceback, leaves the heartbeat in state "failed", and exits 1.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib.util
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rl import telemetry as T
from rl.agents.base import AGENTS
from rl.worker import DEFAULT_ENV, TrainingFailed, WorkerConfig, train

PROG = "neurodash train"
#: Fields with a flag of their own in the main group rather than among the settings.
MAIN_FIELDS = ("steps", "seed", "speed")


@dataclass(frozen=True)
class FieldSpec:
    """One config field as written in its class: name, annotation text, default, docstring."""

    name: str
    annotation: str
    default: Any
    doc: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


_NO_LITERAL = object()


def fields_from_source(path: str | Path, class_name: str) -> list[FieldSpec]:
    """The annotated fields of ``class_name`` in the Python file ``path``, without importing it.

    Defaults are evaluated only when they are literals (numbers, strings, tuples, None,
    ...); others are kept as their source text.
    """
    tree = ast.parse(Path(path).read_text(), filename=str(path))
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name), None)
    if cls is None:
        raise LookupError(f"no class {class_name} in {path}")
    specs = []
    body = cls.body
    for i, node in enumerate(body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        annotation = ast.unparse(node.annotation)
        if annotation.startswith("ClassVar"):
            continue
        default: Any = dataclasses.MISSING
        if node.value is not None:
            try:
                default = ast.literal_eval(node.value)
            except ValueError:
                default = ast.unparse(node.value)
        doc = ""
        following = body[i + 1] if i + 1 < len(body) else None
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            doc = " ".join(following.value.value.split())
        specs.append(FieldSpec(node.target.id, annotation, default, doc))
    return specs


def worker_fields() -> list[FieldSpec]:
    """WorkerConfig's fields, with its real defaults (the class is imported anyway)."""
    import rl.worker

    real = {f.name: f.default for f in dataclasses.fields(WorkerConfig)}
    return [
        dataclasses.replace(s, default=real[s.name]) for s in fields_from_source(rl.worker.__file__, "WorkerConfig")
    ]


def agent_fields(agent: str) -> list[FieldSpec]:
    """The fields of ``agent``'s config class, read from its source file (no import)."""
    spec = AGENTS[agent]
    module_spec = importlib.util.find_spec(spec.config_source)
    if module_spec is None or not module_spec.origin:
        raise LookupError(f"cannot find the source of {spec.config_source}")
    return fields_from_source(module_spec.origin, spec.config_class)


# --------------------------------------------------------------------------- flag types
def _optional(kind):
    def parse(text: str):
        return None if text.lower() in ("none", "null") else kind(text)

    parse.__name__ = kind.__name__
    return parse


def _argument_kwargs(field: FieldSpec) -> dict[str, Any]:
    """argparse keyword arguments for a field's annotation."""
    annotation = field.annotation.replace(" ", "")
    optional = annotation.endswith("|None") or annotation.startswith("Optional[")
    base = annotation.removesuffix("|None")
    if base.startswith("Optional["):
        base = base[len("Optional[") : -1]
    scalars = {"int": int, "float": float, "str": str}
    if base == "bool":
        return {"action": argparse.BooleanOptionalAction}
    if base in scalars:
        kind = scalars[base]
        if optional:
            return {"type": _optional(kind), "metavar": f"{base.upper()}|none"}
        return {"type": kind, "metavar": base.upper()}
    if base.startswith(("tuple[", "list[")) and base.endswith((",...]", "]")):
        item = base.split("[", 1)[1].split(",")[0].rstrip("]")
        if item in scalars:
            return {"type": scalars[item], "nargs": "+", "metavar": item.upper()}
    if base.startswith("Literal["):
        choices = ast.literal_eval("(" + base[len("Literal[") : -1] + ",)")
        return {"choices": list(choices)}
    raise TypeError(f"no command-line form for field {field.name}: {field.annotation}")


def _show_default(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(str(v) for v in value)
    return str(value)


def _add_field(group, field: FieldSpec) -> None:
    help_text = field.doc or field.name.replace("_", " ")
    if field.default is not dataclasses.MISSING:
        help_text += f" (default: {_show_default(field.default)})"
    group.add_argument(
        field.flag,
        dest=field.name,
        default=argparse.SUPPRESS,
        help=help_text.replace("%", "%%"),
        **_argument_kwargs(field),
    )


# --------------------------------------------------------------------------- parser
#: Where each agent's defaults come from (its config class says it too).
_PRESETS_NOTE = {
    "dqn": f"the defaults shown are tuned for {DEFAULT_ENV}; CartPole-v1 starts from a preset of its own",
    "sac": "the defaults shown suit continuous control (Pendulum-v1); our Breakout and CartPole-v1 start from "
    "presets of their own",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``neurodash train``'s flags on ``parser`` (no torch import)."""
    fields_by_name: dict[str, FieldSpec] = {}
    parser.add_argument(
        "--env",
        default=DEFAULT_ENV,
        help="Gymnasium environment id with a vector observation: discrete actions for dqn (our Breakout, "
        "CartPole-v1, Acrobot-v1, ...), discrete or continuous ones for sac (Pendulum-v1, ...)",
    )
    parser.add_argument("--agent", default="dqn", choices=sorted(AGENTS), help="the learning algorithm")
    parser.add_argument(
        "--run-dir",
        default=argparse.SUPPRESS,
        help="folder for telemetry and checkpoints: a new or empty folder, or an earlier run "
        "of ours (default: a new folder runs/<env>-<date-time>)",
    )
    parser.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        default=None,
        help="carry on training from this checkpoint of the same agent and environment (its networks, "
        "optimisers and step; the replay buffer starts empty), up to --steps in all",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary line")

    worker = worker_fields()
    main = {f.name: f for f in worker if f.name in MAIN_FIELDS}
    for name in MAIN_FIELDS:
        _add_field(parser, main[name])
        fields_by_name[name] = main[name]
    group = parser.add_argument_group("worker settings", "how training runs and what it publishes")
    for field in worker:
        if field.name not in MAIN_FIELDS:
            _add_field(group, field)
            fields_by_name[field.name] = field
    for agent in sorted(AGENTS):
        fields = agent_fields(agent)
        shared = [f.flag for f in fields if f.name in fields_by_name]
        group = parser.add_argument_group(
            f"{agent} settings",
            f"hyper-parameters of --agent {agent} ({_PRESETS_NOTE.get(agent, 'see its config class')})"
            + (f"; it also takes {', '.join(shared)} (listed above; its own defaults apply)" if shared else ""),
        )
        for field in fields:
            if field.name in fields_by_name:
                continue  # shared by several agents (or clashing with a worker field): one flag
            _add_field(group, field)
            fields_by_name[field.name] = field
    parser.set_defaults(func=run, _settings=tuple(fields_by_name))


def default_run_dir(env_id: str, now: float | None = None) -> Path:
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in env_id.split("/")[-1]).strip("-").lower()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return Path("runs") / f"{slug or 'run'}-{stamp}"


def _fail(message: str, code: int = 2) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    """Train as ``args`` say; return the exit code (0 done or stopped, 1 failed, 2 bad input)."""
    settings = {name: getattr(args, name) for name in getattr(args, "_settings", ()) if hasattr(args, name)}
    if args.agent not in AGENTS:
        return _fail(f"unknown agent {args.agent!r}; choose one of {', '.join(sorted(AGENTS))}")
    agent_names = {f.name for f in agent_fields(args.agent)}
    worker_names = {f.name for f in dataclasses.fields(WorkerConfig)}
    foreign = sorted(n for n in settings if n not in agent_names | worker_names)
    if foreign:
        flags = ", ".join("--" + n.replace("_", "-") for n in foreign)
        return _fail(f"{flags} do(es) not apply to --agent {args.agent}; drop them or choose another agent")
    run_dir = Path(args.run_dir) if getattr(args, "run_dir", None) else default_run_dir(args.env)

    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _terminate)  # a terminated worker reports "stopped", not a silent death
    try:
        summary = train(
            env_id=args.env,
            agent=args.agent,
            run_dir=run_dir,
            overrides=settings,
            progress=not args.quiet,
            resume=args.resume,
        )
    except TrainingFailed as exc:
        if not _is_setting_error(exc.__cause__):  # a bug, not a setting: show where it happened
            traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
        return _fail(f"{exc}; the heartbeat in {run_dir} says 'failed'", code=1)
    except (ValueError, OSError) as exc:  # bad input, found before training started
        return _fail(_explain(exc, run_dir))
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not args.quiet:
        print(
            f"{summary.state} after {summary.steps} steps and {summary.episodes} episodes in "
            f"{summary.seconds:.1f} s ({summary.sps:.0f} steps/s); run folder: {run_dir}"
        )
    return 0


def _is_setting_error(error: BaseException | None) -> bool:
    """True for the errors our modules raise about a setting that cannot work (a layer
    name the network does not have, ...): their message says all, a traceback only hides it."""
    from rl.attribution import AttributionError
    from rl.envs import EnvError
    from rl.layers import ProbeError

    return isinstance(error, (ProbeError, EnvError, AttributionError))


def _terminate(signum, frame):  # pragma: no cover - exercised through a subprocess
    raise KeyboardInterrupt


def _explain(exc: Exception, run_dir: Path) -> str:
    """A one-line message for an error found before training: what is wrong, what to do."""
    from rl.store import RunDirError

    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (RunDirError, T.SchemaError)):
        return message
    from rl.envs import EnvError

    if isinstance(exc, EnvError):
        if "e.g." not in message:
            sep = " " if message.endswith(("?", ".")) else "; "
            message += f"{sep}--env takes a Gymnasium id with a vector observation, e.g. {DEFAULT_ENV} or Pendulum-v1"
        return message
    if isinstance(exc, OSError):
        return f"cannot use run folder {run_dir}: {exc.strerror or exc}; choose another --run-dir"
    # "DQNConfig: learning_rate must be > 0" -> "--learning-rate must be > 0"
    head, _, rest = message.partition(": ")
    field = rest.split(" ", 1)[0]
    if head.endswith("Config") and field.isidentifier():
        message = "--" + field.replace("_", "-") + rest[len(field) :]
    return f"{message}; see `{PROG} --help`"
