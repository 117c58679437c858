"""Speed side by side in one run: reidcheck against scikit-mobility (trajectory attacks) and pycanon
(k, l, t), each peer at sizes up to the largest it finishes in 5 minutes.

Runs ``benchmarks/attacks_trajectory.py`` and ``benchmarks/attacks_tabular.py`` (each measures every
tool in a fresh process: wall time and peak PSS) and collects their ratios. Quick mode: 20k users and
scikit-mobility at 100 users only (skipped when its environment ``benchmarks/.venv-skmob`` is absent:
building it downloads pinned old numpy/shapely), pycanon at 10k rows.

Those scripts are performance scripts of the source checkout, not of the installed package: they
measure processes with psutil (a dev dependency), run the peers from their own environments
(``benchmarks/.venv-skmob``, ``.venv-peers``) and cache gigabytes in ``benchmarks/data``. This module
finds them in ``$REIDCHECK_BENCHMARKS``, else in ``./benchmarks`` (run from the checkout); without
them it logs one line and returns a single "skipped" row (and a figure saying so).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from . import savefig, skipped

NAME = "peers"
TITLE = "Speed against scikit-mobility and pycanon"
PAPER = "Peer tools: scikit-mobility 1.3.1 (Pellungrini et al. 2017 attacks), pycanon 1.3.6"
SCRIPTS = ("attacks_trajectory.py", "attacks_tabular.py", "measure.py")


def scripts_dir() -> Path | None:
    """The checkout's ``benchmarks/`` folder holding the peer scripts: ``$REIDCHECK_BENCHMARKS``, else
    ``./benchmarks``; None when the scripts are not there."""
    env = os.environ.get("REIDCHECK_BENCHMARKS")
    path = Path(env) if env else Path.cwd() / "benchmarks"
    return path.resolve() if all((path / s).is_file() for s in SCRIPTS) else None


def _script(bench: Path, name: str, args: list[str], out: Path, log) -> dict:
    cmd = [sys.executable, str(bench / name), *args, "--out", str(out)]
    log(" ".join(cmd))
    proc = subprocess.run(cmd, cwd=bench.parent, text=True, capture_output=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{name} failed: {tail[0][:300]}")
    return json.loads(out.read_text())


def _skipped(ctx) -> dict:
    return skipped(ctx, NAME, "the peer scripts (benchmarks/attacks_*.py) are not here: run from the source "
                              "checkout or set REIDCHECK_BENCHMARKS to its benchmarks/ folder", {"quick": ctx.quick})


def run(ctx) -> dict:
    bench = scripts_dir()
    if bench is None:
        return _skipped(ctx)
    traj_args = ["--quick"] if ctx.quick else []
    if ctx.quick and not (bench / ".venv-skmob" / "bin" / "python").exists():
        traj_args.append("--skip-skmob")
    # the scripts' own outputs are kept beside ours: the raw measurements of this run
    traj = _script(bench, "attacks_trajectory.py", traj_args, ctx.out / "peers_trajectory.raw.json", ctx.log)
    tab = _script(bench, "attacks_tabular.py", ["--quick"] if ctx.quick else [], ctx.out / "peers_tabular.raw.json",
                  ctx.log)

    sk = [r for r in traj.get("skmob_comparison") or []]
    checks = tab["checks"] if isinstance(tab["checks"], list) else [tab["checks"]]
    rows = []
    u = traj["unicity"]
    rows.append({"quantity": f"unicity p=4, {u['targets']:,} targets over {traj['data']['rows']:,} rows",
                 "ours": f"{u['wall_s']:.1f} s, {u['peak_pss_mb']:.0f} MB",
                 "published": "DuckDB SQL 21 s / 3.2 GB; Spark local[2] 115 s (1M users, 195M rows; REFERENCES.md)",
                 "agreement": f"read+sort of the same rows: {traj['read_sort_baseline']['wall_s']:.1f} s "
                              f"(ratio {traj['ratio_unicity_over_read_sort']:.2f})",
                 "note": "streams the Parquet file; never sorts it"})
    for r in sk:
        done = not r.get("skmob_timed_out")
        rows.append({"quantity": f"scikit-mobility LocationTimeAttack k=2, {r['targets']} targets, {r['users']:,} users",
                     "ours": f"{r['ours_attack_s']:.2f} s" if r.get("ours_attack_s") is not None else "n/a",
                     "published": f"skmob {r['skmob_attack_s']:.1f} s"
                     if done else f"skmob killed at the {r.get('timeout_s') or 300:.0f} s limit",
                     "agreement": f"{r['ratio_attack_skmob_over_ours']:.0f}× faster" if done and
                     r.get("ratio_attack_skmob_over_ours") else "peer did not finish",
                     "note": "same rows, same targets; skmob's risk values are not compared (its 'Hour' bins by day)"})
    for c in checks:
        for chk in ("k", "l", "t"):
            x = c.get(chk)
            if not x:
                continue
            ratio = (x["pycanon_s"] / x["ours_s"]) if x.get("pycanon_s") and x.get("ours_s") and \
                not x.get("pycanon_timed_out") else None
            rows.append({"quantity": f"{chk} on {c['rows']:,} rows", "ours": f"{x['ours_s']:.2f} s (= {x['ours_value']})",
                         "published": "pycanon > 300 s" if x.get("pycanon_timed_out") else
                         f"pycanon {x['pycanon_s']:.2f} s (= {x['pycanon_value']})" if x.get("pycanon_s") is not None
                         else "pycanon not run (no .venv-peers: bash tasks.sh test)",
                         "agreement": (f"{ratio:.1f}× faster, same value" if ratio else "peer did not finish"
                                       if x.get("pycanon_s") is not None or x.get("pycanon_timed_out") else "no peer"),
                         "note": "pycanon 1.3.6 in its own environment (.venv-peers)"})

    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    labels, ours_s, peer_s = [], [], []
    for r in sk:
        if not r.get("skmob_timed_out"):
            labels.append(f"skmob {r['users']}u")
            ours_s.append(r["ours_attack_s"])
            peer_s.append(r["skmob_attack_s"])
    for c in checks:
        for chk in ("k", "l", "t"):
            x = c.get(chk)
            if x and not x.get("pycanon_timed_out") and x.get("pycanon_s") is not None:
                labels.append(f"{chk} {c['rows'] // 1000}k")
                ours_s.append(x["ours_s"])
                peer_s.append(x["pycanon_s"])
    xs = range(len(labels))
    ax.bar([i - 0.2 for i in xs], [max(v, 1e-3) for v in ours_s], width=0.4, label="reidcheck")
    ax.bar([i + 0.2 for i in xs], [max(v, 1e-3) for v in peer_s], width=0.4, label="peer")
    ax.set_xticks(list(xs), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("seconds (log)")
    ax.legend()
    ax.set_title("Same work, same machine (2 cores)", fontsize=10)
    fig.tight_layout()
    savefig(fig, ctx.out / f"{NAME}.png")
    return {"params": {"quick": ctx.quick}, "figures": {"trajectory": traj, "tabular": tab}, "rows": rows}
