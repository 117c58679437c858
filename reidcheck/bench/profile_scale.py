"""Scale of the profile-linkage attack: wall time and peak memory of ``reidcheck attack profile`` at
100,000 and 1,000,000 subscribers × 28 days (full mode; 3,000 in quick mode).

For each size: a population from the project's generator (cached), its release with keyed tokens
only (``anonymize -s token``, key derived from the seed: not a real release), then, each in a fresh
process (``python -m reidcheck.cli attack profile``; wall time from start to exit, peak = the
child's maximum resident set size, from ``os.wait4``):

* ``--self-split 14`` — what the audit's behavioural-linkability rule runs on every export;
* ``--knowledge POP --truth TRUTH --knowledge-days 0..14 --release-days 14..28`` — scenario A.

Above 100,000 subscribers only the self-split runs, on the population's own cdr table (its stable
ids are the pseudonyms): ``anonymize`` holds a release in memory, and 240M rows do not fit.

Budgets (issue 14): 100k in ≤ 3 min; 1M in ≤ 30 min with a peak ≤ 6 GB on this 2-core machine.
``REIDCHECK_PROFILE_SCALE_SIZES=100000`` (comma-separated) measures other sizes in full mode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

NAME = "profile-scale"
TITLE = "Profile linkage at 100k and 1M subscribers × 28 days: wall time and peak memory"
PAPER = "Budgets of issue 14 (100k ≤ 3 min; 1M ≤ 30 min, ≤ 6 GB); Tournier & de Montjoye 2022 ran 0.5M people"


def _child(cmd: list[str]) -> dict:
    """Run ``cmd``: wall s, the peak resident set size (MB) of that child alone (``os.wait4``'s
    rusage), and its JSON on stdout."""
    import os
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[3:6])}… failed: {err.read().decode(errors='replace').strip()[-300:]}")
        return {"wall_s": round(wall, 1), "peak_mb": round(usage.ru_maxrss / 1024), "result": json.loads(out.read())}


def run(ctx) -> dict:
    sizes = (3_000,) if ctx.quick else (100_000, 1_000_000)
    if os.environ.get("REIDCHECK_PROFILE_SCALE_SIZES") and not ctx.quick:
        sizes = tuple(int(x) for x in os.environ["REIDCHECK_PROFILE_SCALE_SIZES"].split(","))
    budgets = {100_000: (180, None), 1_000_000: (1800, 6144)}
    py = [sys.executable, "-m", "reidcheck.cli"]
    figures = []
    for n in sizes:
        pop = ctx.population(n, 28)
        if n > RELEASE_UP_TO:
            # `anonymize` holds a release in memory (pandas): 240M rows do not fit. The self-split needs no
            # release: the population's own stable ids are the pseudonyms, the same computation.
            runs = [("self-split 14 (population's cdr)", pop, ["--self-split", "14"])]
        else:
            runs = _release_runs(ctx, py, pop)
        for label, target, args in runs:
            ctx.log(f"attack profile {label} on {n:,} subscribers")
            m = _child(py + ["attack", "profile", str(target), *args, "--json", "-", "-q"])
            r = m.pop("result")
            figures.append({"subscribers": n, "scenario": label, **m, "n_targets": r["n_targets"],
                            "n_candidates": r["n_candidates"], "top1_rate": r["top1_rate"],
                            "assignment_rate": r["assignment_rate"], "attack_s": r["elapsed_s"]})
    return _document(ctx, sizes, budgets, figures)


#: Populations up to this size are released first (anonymize -s token); larger ones are attacked as they are.
RELEASE_UP_TO = 100_000


def _release_runs(ctx, py, pop):
    from ..secrets import key_from_seed

    rel = ctx.cache / f"{pop.name}_tokens"
    key = ctx.cache / f"{pop.name}_tokens.key"
    if not (rel / "release.json").is_file():
        key.write_bytes(key_from_seed(ctx.seed).hex().encode())
        key.chmod(0o600)
        ctx.log(f"releasing {pop.name} with keyed tokens into {rel}")
        subprocess.run(py + ["anonymize", str(pop), "-s", "token", "--seed", str(ctx.seed), "--key-file", str(key),
                             "--out", str(rel), "--overwrite", "--quiet"], check=True, capture_output=True)
    truth = rel.parent / f"{rel.name}.TRUTH-MAP-SECRET.parquet"
    return [("self-split 14", rel, ["--self-split", "14"]),
            ("days 0..14 vs 14..28", rel, ["--knowledge", str(pop), "--truth", str(truth),
                                           "--knowledge-days", "0..14", "--release-days", "14..28"])]


def _document(ctx, sizes, budgets, figures) -> dict:
    rows = []
    for f in figures:
        wall_budget, mem_budget = budgets.get(f["subscribers"], (None, None))
        within = []
        if wall_budget:
            within.append("time within" if f["wall_s"] <= wall_budget else "time OVER")
        if mem_budget and f["peak_mb"]:
            within.append("memory within" if f["peak_mb"] <= mem_budget else "memory OVER")
        rows.append({"quantity": f"{f['subscribers']:,} subscribers × 28 days, {f['scenario']}",
                     "ours": f"{f['wall_s']:.0f} s, {f['peak_mb'] or '?'} MB peak; top-1 "
                             f"{f['top1_rate']['value']:.3f}, one-to-one {f['assignment_rate']['value']:.3f}",
                     "published": (f"≤ {wall_budget // 60} min" + (f", ≤ {mem_budget // 1024} GB" if mem_budget else ""))
                     if wall_budget else "(quick mode: no budget)",
                     "agreement": ", ".join(within) or "quick mode",
                     "note": f"{f['n_targets']:,} targets × {f['n_candidates']:,} candidates; one process on 2 cores, "
                             "input reading included"})
    _plot(ctx, figures)
    return {"params": {"sizes": list(sizes), "days": 28}, "figures": {"runs": figures}, "rows": rows}


def _plot(ctx, figures) -> None:
    from matplotlib.figure import Figure

    from . import savefig

    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for scen in sorted({f["scenario"] for f in figures}):
        pts = [f for f in figures if f["scenario"] == scen]
        ax.plot([f["subscribers"] for f in pts], [f["wall_s"] for f in pts], "o-", label=scen)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("subscribers (28 days)")
    ax.set_ylabel("wall time of attack profile (s)")
    ax.set_title("Profile linkage: time against population size", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    savefig(fig, ctx.out / f"{NAME}.png")
