"""The health report: plain text, per-network CSV tables and PNG plots.

``render_checkpoint`` / ``render_comparison`` return text (no printing). ``write_reports``
writes, into an output folder:

* ``network_health_report.txt`` -- the same text the command prints;
* ``<network>_details.csv``     -- one row per layer, every metric (loads into pandas);
* ``<network>_health_metrics.png`` -- four plots: alpha distribution with the healthy
  band shaded, log spectral norm by layer, stable rank by layer, alpha by layer.

With several checkpoints each one's CSV/PNG files go into a sub-folder named after the
checkpoint file, and ``checkpoint_comparison.csv`` lists the alpha of every network in
every checkpoint.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

from health import thresholds as TH
from health.compare import Comparison
from health.results import CheckpointHealth, LayerHealth, NetworkHealth

__all__ = [
    "EXPLANATION",
    "render_checkpoint",
    "render_comparison",
    "render_network",
    "write_network_csv",
    "write_network_plot",
    "write_reports",
]

MARK = {"ok": "[ok]  ", "note": "[note]", "warn": "[warn]", "bad": "[BAD] "}

# the band edges as the text prints them
_LO, _HI, _UNDER = (f"{v:g}" for v in (TH.ALPHA_RECOMMENDED_LOW, TH.ALPHA_RECOMMENDED_HIGH, TH.ALPHA_UNDERTRAINED_HIGH))
_SR_LOW, _SR_OK_LOW, _SR_OK_HIGH = (
    f"{v:.0%}" for v in (TH.STABLE_RANK_LOW, TH.STABLE_RANK_HEALTHY_LOW, TH.STABLE_RANK_HEALTHY_HIGH)
)
_LSN_OK, _LSN_BAD = (f"{v:g}" for v in (TH.LOG_SPECTRAL_NORM_REASONABLE, TH.LOG_SPECTRAL_NORM_VERY_HIGH))
_DEAD_OK, _DEAD_BAD = (f"{v:.0%}" for v in (TH.DEAD_RATIO_MODERATE, TH.DEAD_RATIO_CRITICAL))

EXPLANATION = f"""\
How to read this report
  alpha          WeightWatcher fits a power law to the spread of each weight matrix's
                 eigenvalues. Trained layers have heavy tails and alpha near {TH.ALPHA_OPTIMAL:g};
                 {_LO}-{_HI} is good, {_HI}-{_UNDER} under-trained, above {_UNDER} random-like,
                 below {_LO} over-fit (time to stop training). No test data is needed.
                 In small layers (a few dozen units) the fit is noisy -- even untrained
                 weights can score 3-5 -- so trust trends across checkpoints of one run
                 more than a single number.
  not analysed   layers too small for a power-law fit (e.g. a 3-action output head) or
                 whose fit failed; they get no alpha rather than a made-up one. A layer
                 with fewer than {TH.MIN_EVALS_CONFIDENT} eigenvalues is marked "weak": its alpha is a rough guess.
  dead neurons   hidden units whose output never changes (activation method) or whose
                 incoming weights are all ~0 (weight method); they waste capacity.
                 Under {_DEAD_OK} is normal, over {_DEAD_BAD} means the network is far too big.
  stable rank    how many directions of a weight matrix really carry signal, shown as
                 a share of the most it could be; {_SR_OK_LOW}-{_SR_OK_HIGH} is healthy, under {_SR_LOW}
                 suggests the layer is bigger than it needs to be. Secondary to alpha.
  log spec. norm log10 of the largest eigenvalue of W^T W (the layer's biggest stretch).
                 Up to {_LSN_OK} is well conditioned; above {_LSN_BAD} warns of unstable training.
"""


def _f(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _layer_line(lh: LayerHealth, width: int) -> str:
    m = lh.metrics
    shape = "x".join(str(s) for s in lh.shape)
    evals = "?" if m.num_evals is None else str(m.num_evals)
    dead = f"{lh.dead}/{lh.units}" if lh.units is not None else "output"
    if m.analysed:
        av = lh.alpha_verdict
        assert av is not None  # an analysed layer has a finite alpha (health.metrics), hence a verdict
        verdict = av.label.lower() + (" (weak)" if lh.confidence == "weak" else "")
        alpha = f"{m.alpha:7.3f}  {verdict:<24}"
    else:
        alpha = f"{'  -':7}  {'not analysed':<24}"
    sr = "n/a" if m.stable_rank is None else f"{m.stable_rank:.1f} ({_pct(m.stable_rank_ratio)})"
    line = f"    {lh.name:<{width}}  {shape:>10}  {evals:>5}  {alpha} {_f(m.log_spectral_norm):>8}  {sr:<16}  {dead:>9}"
    if not m.analysed:
        line += f"\n    {'':<{width}}  -> not analysed: {m.reason}"
    return line.rstrip()


def render_network(h: NetworkHealth) -> str:
    """The report section for one network."""
    out = [f"  --- network: {h.name} " + "-" * max(4, 60 - len(h.name))]
    av = h.alpha_verdict
    if h.alpha is None:
        out.append("  Overall alpha: n/a (WeightWatcher could not analyse any layer)")
    else:
        # the overall alpha is the mean of finite layer alphas, so it is finite and has a verdict
        assert av is not None
        out.append(f"  Overall alpha: {h.alpha:.3f}  -> {MARK[av.severity]} {av.label}: {av.meaning}")
        if av.advice:
            out.append(f"                 what to do: {av.advice}")
        n, weak = len(h.analysed_layers), h.weak_layers
        conf = f"  Based on {n} analysed layer{'s' if n != 1 else ''}"
        if weak:
            conf += (
                f"; weak confidence for {', '.join(lh.name for lh in weak)} "
                f"(fewer than {TH.MIN_EVALS_CONFIDENT} eigenvalues)"
            )
        if h.alpha_confidence == "weak":
            conf += " -- so this verdict is only a rough guess"
        out.append(conf)

    d, dv = h.dead, h.dead_verdict
    out.append("")
    method = "activation-based" if d.method == "activation" else "weight-based"
    out.append(f"  Dead neurons ({method}):")
    if d.samples is not None:
        out.append(f"    inputs: {d.samples.description}")
    if d.confidence == "low":
        out.append(
            f"    low confidence: only {d.samples_used} observations (at least {TH.DEAD_NEURON_SAMPLES_MIN} are "
            "needed to tell a rarely firing unit from a dead one), so the count may be too high"
        )
    if d.method == "activation":
        out.append(f"    rule: activation variance below {d.threshold:g} over those inputs")
    else:
        out.append(f"    rule: incoming-weight L2 norm below {d.threshold:g}")
    if d.note:
        out.append(f"    note: {d.note}")
    if d.total:
        assert dv is not None  # with hidden units there is a dead ratio, and every ratio has a verdict
        out.append(
            f"    count: {d.dead}/{d.total} hidden units  ratio: {_pct(d.ratio)}  "
            f"-> {MARK[dv.severity]} {dv.label}: {dv.meaning}"
        )
        if dv.severity != "ok":
            out.append(f"    what to do: {dv.advice}")
    else:
        out.append("    no hidden layers to check")

    out.append("")
    out.append("  Layer statistics (WeightWatcher):")
    out.append(f"    alpha range: [{_f(h.alpha_min)}, {_f(h.alpha_max)}]")
    out.append(f"    alpha mean: {_f(h.alpha)} ± {_f(h.alpha_std)}")
    out.append(f"    log spectral norm mean: {_f(h.log_spectral_norm_mean)}")
    sr_mean = h.stable_rank_mean
    out.append(f"    stable rank mean: {_f(sr_mean, 1)}  ({_pct(h.stable_rank_ratio_mean)} of full rank on average)")
    out.append(f"    layers analysed: {len(h.analysed_layers)} of {len(h.layers)}")

    width = max([len(lh.name) for lh in h.layers] + [5])
    out.append("")
    out.append(
        f"    {'layer':<{width}}  {'shape':>10}  {'evals':>5}  {'alpha':>7}  {'verdict':<24} "
        f"{'log-spec':>8}  {'stable rank':<16}  {'dead':>9}"
    )
    for lh in h.layers:
        out.append(_layer_line(lh, width))
    if h.ignored:
        names = ", ".join(k for k, _, _ in h.ignored[:6]) + (" ..." if len(h.ignored) > 6 else "")
        out.append(
            f"    ({len(h.ignored)} tensor{'s' if len(h.ignored) != 1 else ''} that are not layer weights "
            f"left out: {names})"
        )

    out.append("")
    out.append("  Potential issues:")
    if not h.issues:
        out.append("    [ok]   no obvious issues")
    for issue in h.issues:
        out.append(f"    {MARK[issue.severity]} {issue.text}")
    return "\n".join(out)


def render_checkpoint(c: CheckpointHealth) -> str:
    """The report section for one checkpoint (header, every network, cross-network issues)."""
    out = ["=" * 78, f"Checkpoint: {c.path}"]
    facts = [c.format_label]
    if c.step is not None:
        facts.append(f"step {c.step}")
    if c.env_id:
        facts.append(f"env {c.env_id}")
    if isinstance(c.metadata.get("agent"), str):
        facts.append(f"agent {c.metadata['agent']}")
    out.append("  " + ", ".join(facts))
    out.append(f"  networks analysed: {', '.join(c.networks)}")
    for note in c.notes:
        out.append(f"  note: {note}")
    out.append("")
    for h in c.networks.values():
        out.append(render_network(h))
        out.append("")
    if c.issues:
        out.append("  Across networks:")
        for issue in c.issues:
            out.append(f"    {MARK[issue.severity]} {issue.text}")
        out.append("")
    return "\n".join(out)


def render_comparison(cmp: Comparison) -> str:
    """The 'across checkpoints' section: alpha table, pattern per network, what to keep."""
    out = ["=" * 78, "Alpha across checkpoints (in the order given)"]
    width = max([len(n) for n in cmp.alphas] + [len("overall"), 7])
    colw = max([len(lb) for lb in cmp.labels] + [6])
    out.append(f"  {'network':<{width}}  " + "  ".join(f"{lb:>{colw}}" for lb in cmp.labels))
    for net, alphas in cmp.alphas.items():
        out.append(f"  {net:<{width}}  " + "  ".join(f"{_f(a, 2):>{colw}}" for a in alphas))
    if len(cmp.alphas) > 1:
        out.append(
            f"  {'overall':<{width}}  "
            + "  ".join(f"{_f(a, 2):>{colw}}" for a in cmp.overall_alphas)
            + "   (mean of the non-target networks)"
        )
    out.append("")
    for net, pat in cmp.patterns.items():
        out.append(f"  {net}: {pat.title} -- {pat.meaning}")
        for check in pat.checks:
            out.append(f"      check: {check}")
    out.append("")
    pat = cmp.overall
    if pat.keep is not None:
        out.append(f"  Keep: {cmp.labels[pat.keep]} -- {pat.keep_reason}.")
    else:
        out.append("  Keep: no recommendation (no checkpoint has an overall alpha).")
    if cmp.errors:
        out.append("")
        out.append("  Files that could not be analysed:")
        for err in cmp.errors:
            out.append(f"    {err}")
    return "\n".join(out)


# ----------------------------------------------------------------------------- files
def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    return cleaned or "network"


def write_network_csv(h: NetworkHealth, path: str | os.PathLike) -> Path:
    """One row per layer with every metric; empty cells where a value does not exist."""
    rows = h.rows()
    path = Path(path)
    columns = list(rows[0].keys()) if rows else ["network", "layer"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return path


def write_network_plot(h: NetworkHealth, path: str | os.PathLike, title: str | None = None) -> Path:
    """Four panels: alpha distribution (healthy band shaded), log spectral norm by layer,
    stable rank by layer (full rank as an outline), alpha by layer (bands shaded).
    Layers without a value are labelled "n/a" rather than drawn as zero."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = [lh.name for lh in h.layers]
    xs = list(range(len(names)))
    alphas = [lh.metrics.alpha for lh in h.layers]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    fig.suptitle(title or f"{h.name}: network health", fontsize=13)

    ax = axes[0][0]
    valid = [a for a in alphas if a is not None]
    ax.axvspan(
        TH.ALPHA_RECOMMENDED_LOW,
        TH.ALPHA_RECOMMENDED_HIGH,
        color="tab:green",
        alpha=0.15,
        label=f"recommended {TH.ALPHA_RECOMMENDED_LOW:g}-{TH.ALPHA_RECOMMENDED_HIGH:g}",
    )
    ax.axvline(TH.ALPHA_OPTIMAL, color="tab:green", linestyle="--", linewidth=1, label=f"optimal {TH.ALPHA_OPTIMAL:g}")
    if valid:
        ax.hist(valid, bins=min(20, max(5, len(valid))), color="tab:blue", edgecolor="white")
    else:
        ax.text(0.5, 0.5, "no layer could be analysed", transform=ax.transAxes, ha="center", va="center")
    ax.set_title("Alpha distribution (analysed layers)")
    ax.set_xlabel("alpha")
    ax.set_ylabel("layers")
    ax.legend(fontsize=8)

    def bars(ax, values, color, label):
        heights = [v if v is not None else 0.0 for v in values]
        ax.bar(xs, heights, color=[color if v is not None else "lightgrey" for v in values])
        for x, v in zip(xs, values):
            if v is None:
                ax.text(x, 0, "n/a", ha="center", va="bottom", fontsize=8, color="dimgrey")
        ax.set_xticks(xs)
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(label)

    ax = axes[0][1]
    bars(ax, [lh.metrics.log_spectral_norm for lh in h.layers], "tab:purple", "log10 spectral norm")
    ax.axhline(
        TH.LOG_SPECTRAL_NORM_REASONABLE,
        color="tab:orange",
        linestyle="--",
        linewidth=1,
        label=f"reasonable up to {TH.LOG_SPECTRAL_NORM_REASONABLE:g}",
    )
    ax.set_title("Log spectral norm by layer")
    ax.legend(fontsize=8)

    ax = axes[1][0]
    bars(ax, [lh.metrics.stable_rank for lh in h.layers], "tab:cyan", "stable rank")
    full = [lh.metrics.full_rank for lh in h.layers]
    ax.bar(xs, [f or 0 for f in full], fill=False, edgecolor="black", linewidth=0.8, label="full rank")
    ax.set_title("Stable rank by layer (outline: full rank)")
    ax.legend(fontsize=8)

    ax = axes[1][1]
    ax.axhspan(TH.ALPHA_RECOMMENDED_LOW, TH.ALPHA_RECOMMENDED_HIGH, color="tab:green", alpha=0.15, label="recommended")
    ax.axhspan(
        TH.ALPHA_RECOMMENDED_HIGH, TH.ALPHA_UNDERTRAINED_HIGH, color="tab:orange", alpha=0.12, label="under-trained"
    )
    ax.axhline(TH.ALPHA_OPTIMAL, color="tab:green", linestyle="--", linewidth=1)
    bars(ax, alphas, "tab:blue", "alpha")
    for lh in h.layers:
        if lh.confidence == "weak":
            ax.text(lh.index, lh.metrics.alpha, "weak", ha="center", va="bottom", fontsize=7, color="tab:red")
    ax.set_title("Alpha by layer (n/a: not analysed)")
    ax.legend(fontsize=8, loc="upper right")

    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_reports(
    output_dir: str | os.PathLike,
    results: Sequence[CheckpointHealth],
    report_text: str,
    comparison: Comparison | None = None,
) -> list[Path]:
    """Write the text report, a CSV and a PNG per network (per checkpoint when several),
    and the comparison CSV. Returns the paths written."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    report = out / "network_health_report.txt"
    report.write_text(report_text, encoding="utf-8")
    written.append(report)
    several = len(results) > 1
    used: set[str] = set()
    for res in results:
        folder = out
        if several:
            stem = _safe_name(Path(res.path).stem)
            base, k = stem, 2
            while stem in used:
                stem, k = f"{base}_{k}", k + 1
            used.add(stem)
            folder = out / stem
            folder.mkdir(exist_ok=True)
        for name, h in res.networks.items():
            safe = _safe_name(name)
            written.append(write_network_csv(h, folder / f"{safe}_details.csv"))
            written.append(
                write_network_plot(
                    h, folder / f"{safe}_health_metrics.png", title=f"{res.label} / {name}: network health"
                )
            )
    if comparison is not None and several:
        path = out / "checkpoint_comparison.csv"
        rows = comparison.to_rows()
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["checkpoint", "path", "order", "network", "alpha", "pattern"])
            writer.writeheader()
            for row in rows:
                writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        written.append(path)
    return written
