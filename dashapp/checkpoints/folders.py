"""The folders of checkpoints a dashboard may show, and the check on every path the page sends.

A dashboard serves two kinds of checkpoint folder: each served run's ``checkpoints/``
(``neurodash serve --runs DIR``) and every folder named with ``neurodash serve
--checkpoints DIR`` (repeatable), with the folders below it. The page is given their
paths and sends them back when the user picks one, so a path from the page is data, not
a permission: :func:`confine` resolves it (``..`` and symbolic links included) and
refuses anything that does not lie inside a served folder.

The served folders are server-side configuration (Flask config, set by
:func:`configure` when the app is made); nothing here keeps state of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from health import find_checkpoints
from rl import store as S

__all__ = [
    "CHECKPOINT_DIRS_CONFIG",
    "Folder",
    "OutsideServed",
    "checkpoint_files",
    "configure",
    "confine",
    "list_folders",
    "served_roots",
]

#: Flask config key holding the ``--checkpoints`` folders (resolved paths).
CHECKPOINT_DIRS_CONFIG = "NEURODASH_CHECKPOINT_DIRS"
#: How deep below a ``--checkpoints`` folder sub-folders are listed, and how many at most.
MAX_DEPTH, MAX_FOLDERS = 3, 200


class OutsideServed(ValueError):
    """A path the page sent that lies outside every folder this dashboard serves."""


@dataclass(frozen=True)
class Folder:
    """One folder of checkpoints as the folder picker lists it."""

    path: str  # resolved
    label: str
    files: int  # checkpoint files directly inside it


def configure(server_config: dict, checkpoint_dirs: Iterable[str | os.PathLike]) -> None:
    """Record the ``--checkpoints`` folders in a Flask app's config (``app.server.config``)."""
    server_config[CHECKPOINT_DIRS_CONFIG] = [str(Path(d).resolve()) for d in checkpoint_dirs]


def served_roots() -> tuple[Path | None, list[Path]]:
    """(the served runs folder, the ``--checkpoints`` folders) of the app handling this
    request; (None, []) outside a request."""
    import flask

    from dashapp.read import RUNS_DIR_CONFIG

    if not flask.has_app_context():
        return None, []
    config = flask.current_app.config
    runs = config.get(RUNS_DIR_CONFIG)
    return (Path(runs) if runs else None), [Path(d) for d in config.get(CHECKPOINT_DIRS_CONFIG) or []]


def confine(path: str | os.PathLike, roots: Sequence[str | os.PathLike]) -> Path:
    """``path`` resolved (symbolic links followed, ``..`` removed), refused with
    :class:`OutsideServed` unless it is one of ``roots`` or lies inside one of them. A
    relative path is refused: the page is only ever given absolute ones."""
    raw = Path(path)
    if not raw.is_absolute():
        raise OutsideServed(f"{path}: not a folder this dashboard serves (expected an absolute path)")
    resolved = raw.resolve()
    for root in roots:
        base = Path(root).resolve()
        if resolved == base or resolved.is_relative_to(base):
            return resolved
    raise OutsideServed(f"{path}: outside the folders this dashboard serves")


def _holds_checkpoints(folder: Path) -> int:
    try:
        return len(find_checkpoints(folder))
    except OSError:
        return 0


def _stays(folder: Path, root: Path) -> bool:
    """False for a link that leads out of ``root`` (it is never listed)."""
    return not folder.is_symlink() or folder.resolve().is_relative_to(root)


def _below(root: Path) -> list[Path]:
    """``root`` and the folders below it (to :data:`MAX_DEPTH`), symbolic links not followed."""
    found = [root]
    for here, dirs, _files in os.walk(root, followlinks=False):
        depth = len(Path(here).relative_to(root).parts)
        dirs[:] = (
            sorted(d for d in dirs if not d.startswith(".") and _stays(Path(here) / d, root))
            if depth < MAX_DEPTH
            else []
        )
        found.extend(Path(here) / d for d in dirs)
        if len(found) >= MAX_FOLDERS:
            break
    return found[:MAX_FOLDERS]


def list_folders(runs_dir: Path | None, checkpoint_dirs: Sequence[Path]) -> list[Folder]:
    """The folders the picker offers: each served run's ``checkpoints/`` that holds
    checkpoint files, then each ``--checkpoints`` folder and the folders below it that hold
    some (a ``--checkpoints`` folder is listed even when empty, with 0 files)."""
    out: list[Folder] = []
    for run in S.find_runs(runs_dir) if runs_dir is not None else []:
        folder = (run / S.CHECKPOINT_DIR).resolve()
        n = _holds_checkpoints(folder) if folder.is_dir() else 0
        if n:
            out.append(Folder(str(folder), f"run {run.name}", n))
    for root in checkpoint_dirs:
        root = root.resolve()
        if not root.is_dir():
            out.append(Folder(str(root), f"{root.name} (missing)", 0))
            continue
        for folder in _below(root):
            n = _holds_checkpoints(folder)
            if n or folder == root:
                rel = folder.relative_to(root)
                out.append(Folder(str(folder), root.name if not rel.parts else f"{root.name}/{rel.as_posix()}", n))
    return out


def checkpoint_files(folder: Path, roots: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The checkpoint files in ``folder`` in training order (``health.find_checkpoints``,
    as ``neurodash health`` orders a folder), and one line for each file left out because
    it is a link to a file outside the served folders."""
    files, left_out = [], []
    for f in find_checkpoints(folder):
        try:
            confine(f, roots)
        except OutsideServed:
            left_out.append(f"{f.name}: left out, a link to a file outside the folders this dashboard serves")
            continue
        files.append(f)
    return files, left_out
