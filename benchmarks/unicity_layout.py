"""Unicity must not depend on the input's layout (issue 17): ours against a plain DuckDB script.

1. Data "made elsewhere" (cached in ``benchmarks/data/unicity_layout_<N>/``; made on first use,
   seeded): N users (default 300,000; ``--quick`` 30,000), Poisson(120) rows per user, cells drawn
   i.i.d. from a Zipf(1.2) popularity over 20,000 cells (the most popular cell holds ~20% of all
   rows), times uniform over 28 days (``t``, timestamp UTC). Columns ``uid`` (BIGINT), ``t``,
   ``cell`` (BIGINT), written as Parquet in three layouts of the same rows:

   * ``user``: rows in user order, each user's rows in random time order;
   * ``time``: rows in time order;
   * ``shuffled``: rows in random order.

2. For each layout, each in a fresh process (wall time; peak = maximum resident set size of the
   process from ``os.wait4``), run in alternation ``--repeat`` times (median reported):

   * ours: ``reidcheck attack unicity FILE --mapping user=uid,time=t,place=cell --points 4
     --targets 10000 --seed 1 --json OUT`` (input loading and validation included);
   * reference: a plain DuckDB script with the same semantics (the same seeded hash for the 10,000
     targets and their 4 points): materialize DISTINCT (uid, hour, cell) once, pick the targets, draw
     the points, join and count the users holding all 4. Its unique count must equal ours.

3. ``--generator``: the same on the generator's own population (``benchmarks/data/pop1000000_24d``,
   as ``benchmarks/attacks_trajectory.py``; generated on first use, ~8 minutes): target <= 15 s and
   <= 4 GB.

``--before DIR`` also runs ours from another checkout (e.g. a worktree of the previous commit) in the
same alternation; ``--reference-memory SIZE`` caps the reference's DuckDB (default: DuckDB's own
limit, 80% of RAM). The machine's load average is recorded: compare sides within one run.

    python benchmarks/unicity_layout.py                  # 300k users, three layouts
    python benchmarks/unicity_layout.py --quick          # 30k users
    python benchmarks/unicity_layout.py --generator      # ... and the 1M-subscriber generator cdr
    python benchmarks/unicity_layout.py --layouts --generator --before ../reidcheck-prev

Results: ``benchmarks/results/unicity_layout.json`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DATA = HERE / "data"
LAYOUTS = ("user", "time", "shuffled")
ROWS_PER_USER = 120
N_CELLS = 20_000
ZIPF_S = 1.2
DAYS = 28
T0 = 1_709_510_400          # 2024-03-04 00:00 UTC
POINTS, TARGETS, SEED = 4, 10_000, 1


# -- data ------------------------------------------------------------------------------------------
def ensure_layouts(users: int, seed: int = 17) -> dict[str, Path]:
    """The three Parquet layouts of one seeded trace table (made once, cached)."""
    folder = DATA / f"unicity_layout_{users}"
    paths = {name: folder / f"{name}.parquet" for name in LAYOUTS}
    if all(p.exists() for p in paths.values()):
        return paths
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    print(f"making {users:,} users × ~{ROWS_PER_USER} rows in {folder} ...", flush=True)
    rng = np.random.default_rng(seed)
    counts = np.maximum(rng.poisson(ROWS_PER_USER, users), 1)
    n = int(counts.sum())
    uid = np.repeat(np.arange(1, users + 1, dtype=np.int64) * 7 + 1000, counts)   # user order
    p = np.arange(1, N_CELLS + 1, dtype=np.float64) ** -ZIPF_S
    cdf = np.cumsum(p / p.sum())
    cell_of_rank = rng.permutation(N_CELLS).astype(np.int64) + 100_000          # popularity ≠ id order
    cell = cell_of_rank[np.minimum(np.searchsorted(cdf, rng.random(n)), N_CELLS - 1)]
    t = T0 + rng.integers(0, DAYS * 86_400, n, dtype=np.int64)                  # random time order

    def write(name, order):
        tab = pa.table({"uid": uid if order is None else uid[order],
                        "t": pa.array(t if order is None else t[order], pa.timestamp("s", tz="UTC")),
                        "cell": cell if order is None else cell[order]})
        tmp = paths[name].with_suffix(".tmp")
        pq.write_table(tab, tmp, row_group_size=1_000_000)
        os.replace(tmp, paths[name])

    write("user", None)
    write("time", np.argsort(t, kind="stable"))
    write("shuffled", rng.permutation(n))
    return paths


def top_share() -> float:
    """Share of all rows at the most popular cell."""
    import numpy as np

    p = np.arange(1, N_CELLS + 1, dtype=np.float64) ** -ZIPF_S
    return float(p[0] / p.sum())


def rows_of(paths: dict[str, Path]) -> int | None:
    import pyarrow.parquet as pq

    return next((pq.ParquetFile(p).metadata.num_rows for p in paths.values()), None)


def ensure_generator(users: int = 1_000_000, days: int = 24) -> Path:
    out = DATA / f"pop{users}_{days}d"
    if not (out / "population.json").exists():
        print(f"generating {users:,} subscribers × {days} days into {out} (~8 min) ...", flush=True)
        subprocess.run([sys.executable, "-m", "reidcheck.cli", "generate", "--subscribers", str(users),
                        "--days", str(days), "--seed", "1", "--out", str(out), "--quiet"], check=True, cwd=ROOT)
    return out


# -- the reference: a plain DuckDB script (run in a child process) -----------------------------------
def hash_sql(seed: int, *cols: str) -> str:
    """The seeded hash of ``reidcheck.attacks.points.hash_sql`` (DESIGN.md), written out here so the
    reference is plain DuckDB: h = ((((u·48271 + a) mod P)·69621 + b) mod P · 16807 + seed) mod P."""
    P = 2147483647
    u, a, b = (list(cols) + ["0", "0"])[:3]
    m = lambda e: f"((({e}) % {P}) + {P}) % {P}"  # noqa: E731
    return f"((((({m(u)} * 48271 + {m(a)}) % {P}) * 69621 + {m(b)}) % {P}) * 16807 + {int(seed) % P}) % {P}"


def reference(path: str, user: str, time_col: str, place: str, offset_s: int) -> dict:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if os.environ.get("REFERENCE_MEMORY"):          # --reference-memory; else DuckDB's default (80% of RAM)
        con.execute(f"SET memory_limit = '{os.environ['REFERENCE_MEMORY']}'")
    src = path.replace("'", "''")
    con.execute(f"""CREATE TABLE pts AS
        SELECT DISTINCT CAST({user} AS BIGINT) AS uid,
               CAST(FLOOR((epoch(CAST({time_col} AS TIMESTAMPTZ)) + {offset_s}) / 3600) AS BIGINT) AS tb,
               CAST({place} AS BIGINT) AS loc
        FROM read_parquet('{src}')""")
    con.execute(f"""CREATE TABLE tgt AS
        SELECT uid FROM (SELECT DISTINCT uid FROM pts) u ORDER BY {hash_sql(SEED, 'uid')}, uid LIMIT {TARGETS}""")
    con.execute(f"""CREATE TABLE drawn AS
        SELECT uid, tb, loc FROM (
          SELECT p.uid, p.tb, p.loc, COUNT(*) OVER (PARTITION BY p.uid) AS n,
                 ROW_NUMBER() OVER (PARTITION BY p.uid
                                    ORDER BY {hash_sql(SEED, 'p.uid', 'p.tb', 'p.loc')}, p.tb, p.loc) AS rn
          FROM pts p JOIN tgt USING (uid)) x
        WHERE n >= {POINTS} AND rn <= {POINTS}""")
    sizes = con.execute(f"""
        SELECT sz, COUNT(*) AS n FROM (
          SELECT target, COUNT(*) AS sz FROM (
            SELECT d.uid AS target, r.uid AS cand FROM drawn d JOIN pts r ON r.tb = d.tb AND r.loc = d.loc
            GROUP BY d.uid, r.uid HAVING COUNT(*) = {POINTS}) m
          GROUP BY target) s
        GROUP BY sz ORDER BY sz""").fetchall()
    n_targets = sum(n for _, n in sizes)
    n_unique = sum(n for sz, n in sizes if sz == 1)
    return {"n_targets": n_targets, "n_unique": n_unique, "unique_rate": n_unique / n_targets if n_targets else None,
            "max_size": max((sz for sz, _ in sizes), default=None), "elapsed_s": round(time.perf_counter() - t0, 2)}


# -- measuring a fresh process ----------------------------------------------------------------------
def run_child(cmd: list[str], cwd: Path = ROOT) -> dict:
    """Wall time and peak RSS (MB, ``os.wait4``) of ``cmd`` run from ``cwd`` (the project root)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{errors[-2000:]}")
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "stdout": text}


def ours(path: Path, mapping: str | None, root: Path = ROOT) -> dict:
    with tempfile.TemporaryDirectory(prefix="reidcheck-unicity-layout-") as tmp:
        js = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "reidcheck.cli", "attack", "unicity", str(path)]
        if mapping:
            cmd += ["--mapping", mapping]
        cmd += ["--points", str(POINTS), "--targets", str(TARGETS), "--seed", str(SEED), "--json", str(js)]
        m = run_child(cmd, cwd=root)
        res = json.loads(js.read_text())
    res = res[0] if isinstance(res, list) else res
    hist = (res.get("anonymity_set") or {}).get("histogram")
    return {"wall_s": m["wall_s"], "peak_rss_mb": m["peak_rss_mb"], "n_targets": res["n_targets"],
            "n_skipped": res["n_skipped"], "n_unique": res["n_unique"], "unique_rate": res["unique_rate"]["value"],
            "elapsed_s": res.get("elapsed_s"), "histogram": hist}


def ref(path: Path, cols: tuple[str, str, str], offset_s: int) -> dict:
    m = run_child([sys.executable, __file__, "--reference", str(path), *cols, str(offset_s)])
    return {"wall_s": m["wall_s"], "peak_rss_mb": m["peak_rss_mb"], **json.loads(m["stdout"].strip().splitlines()[-1])}


def compare(label: str, path: Path, mapping: str | None, cols, offset_s: int, repeat: int,
            before: Path | None = None, ref_path: Path | None = None) -> dict:
    """Ours on ``path`` and the reference on ``ref_path`` (default: the same file), alternated."""
    ref_path = ref_path or path
    runs_ours, runs_ref, runs_before = [], [], []
    for _ in range(repeat):                   # alternate, so both sides see the same machine load
        runs_ours.append(ours(path, mapping))
        runs_ref.append(ref(ref_path, cols, offset_s))
        if before is not None:
            runs_before.append(ours(path, mapping, before))
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    o = {"wall_s": med(runs_ours, "wall_s"), "peak_rss_mb": med(runs_ours, "peak_rss_mb"),
         "runs": [{k: r[k] for k in ("wall_s", "peak_rss_mb")} for r in runs_ours],
         **{k: runs_ours[0][k] for k in ("n_targets", "n_skipped", "n_unique", "unique_rate")}}
    r = {"wall_s": med(runs_ref, "wall_s"), "peak_rss_mb": med(runs_ref, "peak_rss_mb"),
         "runs": [{k: x[k] for k in ("wall_s", "peak_rss_mb")} for x in runs_ref],
         **{k: runs_ref[0][k] for k in ("n_targets", "n_unique", "unique_rate")}}
    same = len({(x["n_targets"], x["n_unique"]) for x in runs_ours + runs_ref}) == 1 and \
        len({json.dumps(x["histogram"], sort_keys=True) for x in runs_ours}) == 1
    row = {"layout": label, "ours": o, "reference": r, "same_result": same,
           "ratio_wall_ours_over_ref": round(o["wall_s"] / r["wall_s"], 2),
           "ratio_peak_ours_over_ref": round(o["peak_rss_mb"] / r["peak_rss_mb"], 2)}
    print(f"{label:>10}: ours {o['wall_s']:6.1f} s {o['peak_rss_mb']:8,.0f} MB | reference {r['wall_s']:6.1f} s "
          f"{r['peak_rss_mb']:8,.0f} MB | ratio wall {row['ratio_wall_ours_over_ref']:.2f}, peak "
          f"{row['ratio_peak_ours_over_ref']:.2f} | unique {o['n_unique']:,}/{o['n_targets']:,} "
          f"{'= reference' if same else 'DIFFERS from reference'}", flush=True)
    if runs_before:
        b = {"root": str(before), "wall_s": med(runs_before, "wall_s"), "peak_rss_mb": med(runs_before, "peak_rss_mb"),
             "runs": [{k: x[k] for k in ("wall_s", "peak_rss_mb")} for x in runs_before],
             "same_result": all(x["histogram"] == runs_ours[0]["histogram"] and x["n_unique"] == o["n_unique"]
                                for x in runs_before)}
        row["before"] = b
        print(f"{'':>10}  before ({before}): {b['wall_s']:6.1f} s {b['peak_rss_mb']:8,.0f} MB | "
              f"{'same result' if b['same_result'] else 'DIFFERENT result'}", flush=True)
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=300_000)
    ap.add_argument("--quick", action="store_true", help="30,000 users")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side per layout (median reported)")
    ap.add_argument("--layouts", nargs="*", choices=LAYOUTS, default=list(LAYOUTS),
                    help="layouts to run (none with --generator: the generator only)")
    ap.add_argument("--generator", action="store_true", help="also the 1M-subscriber generator cdr")
    ap.add_argument("--reference-memory", help="DuckDB memory_limit of the reference (default: DuckDB's own)")
    ap.add_argument("--before", type=Path, help="also run ours from this checkout (e.g. the previous commit)")
    ap.add_argument("--out", type=Path, default=RESULTS / "unicity_layout.json")
    ap.add_argument("--reference", nargs=5, metavar=("FILE", "USER", "TIME", "PLACE", "OFFSET_S"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.reference:
        f, u, t, p, off = args.reference
        print(json.dumps(reference(f, u, t, p, int(off))))
        return

    import psutil

    if args.reference_memory:
        os.environ["REFERENCE_MEMORY"] = args.reference_memory
    load_start = os.getloadavg()
    users = 30_000 if args.quick else args.users
    paths = ensure_layouts(users) if args.layouts else {}
    rows = []
    for name in args.layouts:
        rows.append(compare(name, paths[name], "user=uid,time=t,place=cell", ("uid", "t", "cell"), 0, args.repeat,
                            args.before))
    gen = None
    if args.generator:
        pop = ensure_generator()
        offset = int(json.loads((pop / "population.json").read_text())["params"].get("utc_offset_h", 5) * 3600)
        gen = compare("generator", pop, None, ("subscriber_id", "timestamp", "cell_id"), offset,
                      args.repeat, args.before, ref_path=pop / "cdr.parquet")
        gen["ours"]["path"] = str(pop.relative_to(ROOT))
        gen["target"] = "<= 15 s and <= 4 GB"
        gen["meets_target"] = gen["ours"]["wall_s"] <= 15 and gen["ours"]["peak_rss_mb"] <= 4096
    shuffled = next((r for r in rows if r["layout"] == "shuffled"), None)
    result = {
        "benchmark": "unicity_layout", "date": dt.date.today().isoformat(), "quick": args.quick,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "memory_gb": round(psutil.virtual_memory().total / 2**30)},
        "load_average_1_5_15min": {"start": [round(x, 2) for x in load_start],
                                   "end": [round(x, 2) for x in os.getloadavg()]},
        "data": {"users": users, "rows": rows_of(paths), "rows_per_user": f"Poisson({ROWS_PER_USER})",
                 "cells": N_CELLS, "zipf_s": ZIPF_S, "top_cell_share": round(top_share(), 3), "days": DAYS,
                 "files": {k: str(v.relative_to(ROOT)) for k, v in paths.items()}},
        "attack": {"points": POINTS, "targets": TARGETS, "seed": SEED, "time_bin": "1h", "space": "cell"},
        "peak": "maximum resident set size of the process (os.wait4)", "repeat": args.repeat,
        "reference_memory_limit": args.reference_memory or "DuckDB default (80% of RAM)",
        "layouts": rows, "generator": gen,
        "target": "at 300k shuffled users: ours wall <= reference wall (same run) and ours peak <= 4 GB; "
                  "1M generator users: <= 15 s and <= 4 GB",
        "meets_target": all(
            [shuffled["ours"]["wall_s"] <= shuffled["reference"]["wall_s"] and shuffled["ours"]["peak_rss_mb"] <= 4096]
            * (shuffled is not None) + [gen["meets_target"]] * (gen is not None)) if shuffled or gen else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
