"""A finished job as ``neurodash health`` reports it: the comparison, the text, the report files.

The comparison is ``health.comparison_from_results`` over the cached results; the text is
made of ``health.report``'s sections joined as ``neurodash health`` joins them (a test
checks it equals the command's output); the files are ``health.report.write_reports``'s
(the text, a CSV and a PNG per network and checkpoint, the comparison CSV), zipped once
per job into its folder. Drawing the PNGs (matplotlib) runs in a worker process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from dashapp.checkpoints import jobs
from health import Comparison
from health.compare import comparison_from_results
from health.results import CheckpointHealth

__all__ = ["comparison", "report_text", "reports_zip", "zip_name"]


def comparison(results: Sequence[CheckpointHealth], errors: Sequence[str]) -> Comparison:
    """The comparison ``neurodash health`` prints for these results (in training order)."""
    return comparison_from_results(results, errors)


def _compared(results: Sequence[CheckpointHealth], errors: Sequence[str], n_files: int) -> Comparison | None:
    """The comparison, when the command prints one (several files were given)."""
    if len(results) > 1 or (results and n_files > 1):
        return comparison_from_results(results, errors)
    return None


def report_text(results: Sequence[CheckpointHealth], errors: Sequence[str], n_files: int, explain: bool = True) -> str:
    """The report ``neurodash health --checkpoint <the same files>`` prints."""
    from health.report import EXPLANATION, render_checkpoint, render_comparison

    sections = ["neurodash health report", *(render_checkpoint(r) for r in results)]
    compared = _compared(results, errors, n_files)
    if compared is not None:
        sections.append(render_comparison(compared))
    elif errors and results:
        sections.append("Files that could not be analysed:\n" + "\n".join(f"  {e}" for e in errors))
    if results and explain:
        sections.append("=" * 78 + "\n" + EXPLANATION)
    return "\n\n".join(sections).rstrip() + "\n"


def zip_name(result: jobs.JobResult) -> str:
    stem = Path(result.folder).name or "checkpoints"
    return f"neurodash-health-{stem}.zip"


def build_zip(root: str, job_id: str) -> str:
    """Write the job's report files (``health.report.write_reports``) and zip them into
    the job's folder; returns the zip's path. Runs in a worker process."""
    from health.report import write_reports

    folder = jobs.job_dir(Path(root), job_id)
    result = jobs.read_result(Path(root), job_id)
    if folder is None or result is None:
        raise FileNotFoundError(f"no finished analysis {job_id}")
    target = folder / zip_name(result)
    if target.is_file():
        return str(target)
    results, errors = jobs.load_results(Path(root), result)
    text = report_text(results, errors, len(result.outcomes))
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        out = Path(tmp) / "reports"
        written = write_reports(out, results, text, _compared(results, errors, len(result.outcomes)))
        fd, partial = tempfile.mkstemp(dir=folder, suffix=".zip")
        os.close(fd)
        try:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for path in written:
                    zf.write(path, Path(path).relative_to(out).as_posix())
            os.replace(partial, target)
        finally:
            Path(partial).unlink(missing_ok=True)
        shutil.rmtree(out, ignore_errors=True)
    return str(target)


def reports_zip(root: Path, job_id: str, run: jobs.Runner, timeout: float = 300.0) -> Path:
    """The job's zipped report files, made on first request by ``run``'s workers."""
    return Path(run.executor().submit(build_zip, str(root), job_id).result(timeout=timeout))
