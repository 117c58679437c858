"""Trajectory attack performance: unicity at scale, a read+sort floor, and scikit-mobility side by side.

1. Data: a population made by the project's own generator (cached in ``benchmarks/data/``; made on
   first use): by default 1,000,000 subscribers × 24 days ≈ 200 CDR rows per subscriber (~200M rows).
2. In a fresh process each (peak memory = PSS of the process, sampled every 0.1 s):
   * ``unicity``: ``Unicity(points=4, targets=10000, seed=1)`` on DuckDB, input loading included;
   * ``baseline``: DuckDB reads the same cdr rows and sorts them by (subscriber_id, timestamp) into a
     table — the floor any exact method pays; the ratio unicity / baseline is reported.
3. scikit-mobility 1.3.1 (installed by this script into ``benchmarks/.venv-skmob``, as REFERENCES.md
   says: ``pip install scikit-mobility 'numpy<2' 'shapely<2'``): ``LocationTimeAttack(knowledge_length=2,
   time_precision='Hour')`` on 20 targets over the first N users of the same data (timestamps binned to
   the hour beforehand, cell coordinates as lat/lng), N growing until a run exceeds ``--skmob-timeout``.
   Ours runs ``Unicity(points=2, targets=20)`` on exactly the same rows. Runtime only: skmob's risk
   values are not comparable (it enumerates every 2-combination of a target's records and bins
   'Hour' by day, REFERENCES.md).

    python benchmarks/attacks_trajectory.py             # full: 1M users, skmob up to its 5-minute limit
    python benchmarks/attacks_trajectory.py --quick     # 20k users, skmob at 100 users (CI smoke test)

Results: ``benchmarks/results/attacks_trajectory.json`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from measure import run_measured  # noqa: E402
RESULTS = HERE / "results"
DATA = HERE / "data"
SKMOB_VENV = HERE / ".venv-skmob"


def ensure_population(users: int, days: int) -> tuple[Path, dict | None]:
    out = DATA / f"pop{users}_{days}d"
    if (out / "population.json").exists():
        return out, None
    DATA.mkdir(parents=True, exist_ok=True)
    print(f"generating {users:,} subscribers × {days} days into {out} ...", flush=True)
    gen = run_measured([sys.executable, "-m", "reidcheck.cli", "generate", "--subscribers", str(users),
                        "--days", str(days), "--seed", "1", "--out", str(out), "--quiet"])
    if gen["returncode"] != 0:
        raise SystemExit(f"generation failed with exit code {gen['returncode']}")
    return out, {"wall_s": gen["wall_s"], "peak_pss_mb": gen["peak_pss_mb"]}


# -- measurements run in a child process ---------------------------------------------------------
def measure_unicity(data: str, points: int, targets: int) -> dict:
    from reidcheck.attacks import Unicity
    from reidcheck.engine import get_engine
    from reidcheck.io import load_trajectories

    t0 = time.perf_counter()
    engine = get_engine("duckdb")
    inp = load_trajectories(engine, data)
    t1 = time.perf_counter()
    res = Unicity(points=points, targets=targets, seed=1).run(engine, inp)
    t2 = time.perf_counter()
    return {"rows": inp.meta["rows"], "load_s": round(t1 - t0, 2), "attack_s": round(t2 - t1, 2),
            "total_s": round(t2 - t0, 2), "n_targets": res.n_targets, "n_skipped": res.n_skipped,
            "unique_rate": res.unique_rate["value"]}


def measure_baseline(data: str) -> dict:
    import duckdb

    path = str(Path(data) / "cdr.parquet")
    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE s AS SELECT subscriber_id, timestamp, cell_id FROM read_parquet('{path}') "
                "ORDER BY subscriber_id, timestamp")
    n = con.execute("SELECT COUNT(*) FROM s").fetchone()[0]
    return {"rows": int(n), "read_sort_s": round(time.perf_counter() - t0, 2)}


# -- scikit-mobility ---------------------------------------------------------------------------
SKMOB_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import pandas as pd
    import skmob
    from skmob.privacy import attacks
    df = pd.read_csv(sys.argv[1], parse_dates=["datetime"])
    targets = json.loads(sys.argv[2])
    tdf = skmob.TrajDataFrame(df, latitude="lat", longitude="lng", datetime="datetime", user_id="uid")
    at = attacks.LocationTimeAttack(knowledge_length=int(sys.argv[3]), time_precision="Hour")
    t0 = time.perf_counter()
    risk = at.assess_risk(tdf, targets=targets)
    print(json.dumps({"attack_s": round(time.perf_counter() - t0, 2), "targets": len(risk),
                      "mean_risk": float(risk["risk"].mean())}))
""")


def ensure_skmob() -> Path:
    py = SKMOB_VENV / "bin" / "python"
    if not py.exists():
        print("installing scikit-mobility into", SKMOB_VENV, flush=True)
        subprocess.run(["python3.11", "-m", "venv", str(SKMOB_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "scikit-mobility", "numpy<2", "shapely<2"],
                       check=True)
    return py


def subsample(data: Path, users: int, folder: Path) -> tuple[Path, Path, list[int]]:
    """The first ``users`` subscribers' cdr rows, timestamps binned to the hour, with cell coordinates:
    a CSV for skmob and a Parquet copy (canonical columns) for us."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cdr, cells = data / "cdr.parquet", data / "cells.parquet"
    con.execute(f"""CREATE TABLE sub AS
        SELECT c.subscriber_id, date_trunc('hour', c.timestamp) AS timestamp, c.cell_id, k.lat, k.lon
        FROM read_parquet('{cdr}') c JOIN read_parquet('{cells}') k ON k.cell_id = c.cell_id
        WHERE c.subscriber_id < {int(users)}""")
    csv = folder / f"skmob_{users}.csv"
    con.execute(f"""COPY (SELECT subscriber_id AS uid, strftime(timezone('UTC', timestamp), '%Y-%m-%d %H:%M:%S')
                          AS datetime, lat, lon AS lng FROM sub ORDER BY uid, datetime) TO '{csv}' (HEADER)""")
    pq_dir = folder / f"ours_{users}"
    pq_dir.mkdir(exist_ok=True)
    con.execute(f"COPY (SELECT subscriber_id, timestamp, cell_id FROM sub) TO '{pq_dir / 'cdr.parquet'}'")
    con.execute(f"COPY (SELECT * FROM read_parquet('{cells}')) TO '{pq_dir / 'cells.parquet'}'")
    (pq_dir / "population.json").write_text((data / "population.json").read_text())
    targets = [int(r[0]) for r in con.execute(
        "SELECT DISTINCT subscriber_id FROM sub ORDER BY subscriber_id LIMIT 20").fetchall()]
    return csv, pq_dir, targets


def compare_skmob(data: Path, sizes: list[int], timeout: float, knowledge: int) -> list[dict]:
    py = ensure_skmob()
    rows = []
    with tempfile.TemporaryDirectory(prefix="reidcheck-skmob-") as tmp:
        script = Path(tmp) / "skmob_attack.py"
        script.write_text(SKMOB_SCRIPT)
        for n in sizes:
            csv, ours_dir, targets = subsample(data, n, Path(tmp))
            sk = run_measured([str(py), str(script), str(csv), json.dumps(targets), str(knowledge)], timeout=timeout)
            ours = run_measured([sys.executable, __file__, "--measure", "unicity", "--data", str(ours_dir),
                                 "--points", str(knowledge), "--targets", str(len(targets))])
            row = {"users": n, "targets": len(targets), "knowledge_length": knowledge,
                   "skmob_s": sk["wall_s"] if not sk["timed_out"] else None, "skmob_timed_out": sk["timed_out"],
                   "skmob_attack_s": (sk["result"] or {}).get("attack_s"), "skmob_peak_mb": sk["peak_pss_mb"],
                   "ours_s": ours["wall_s"], "ours_attack_s": (ours["result"] or {}).get("attack_s"),
                   "ours_peak_mb": ours["peak_pss_mb"]}
            if row["skmob_attack_s"] and row["ours_attack_s"]:
                row["ratio_attack_skmob_over_ours"] = round(row["skmob_attack_s"] / max(row["ours_attack_s"], 1e-3), 1)
            rows.append(row)
            print(f"  skmob vs ours, {n:>6,} users: skmob "
                  f"{'> %ds (killed)' % timeout if sk['timed_out'] else '%.1f s' % sk['wall_s']}"
                  f" (attack {row['skmob_attack_s']}), ours {ours['wall_s']:.1f} s (attack {row['ours_attack_s']})",
                  flush=True)
            if sk["timed_out"] or sk["returncode"] != 0:
                if sk["returncode"] not in (0, None) and not sk["timed_out"]:
                    row["skmob_error"] = f"exit code {sk['returncode']}"
                break
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=24)
    ap.add_argument("--quick", action="store_true", help="20k users; skmob at 100 users only")
    ap.add_argument("--skip-skmob", action="store_true")
    ap.add_argument("--skmob-sizes", type=int, nargs="+", default=[100, 300, 1000, 3000, 10000])
    ap.add_argument("--skmob-timeout", type=float, default=300.0)
    ap.add_argument("--out", type=Path, default=RESULTS / "attacks_trajectory.json")
    # Child-process measurements (internal).
    ap.add_argument("--measure", choices=["unicity", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--points", type=int, default=4, help=argparse.SUPPRESS)
    ap.add_argument("--targets", type=int, default=10_000, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.measure == "unicity":
        print(json.dumps(measure_unicity(args.data, args.points, args.targets)))
        return
    if args.measure == "baseline":
        print(json.dumps(measure_baseline(args.data)))
        return

    users = 20_000 if args.quick else args.users
    skmob_sizes = [100] if args.quick else args.skmob_sizes
    data, generation = ensure_population(users, args.days)
    uni = run_measured([sys.executable, __file__, "--measure", "unicity", "--data", str(data)])
    base = run_measured([sys.executable, __file__, "--measure", "baseline", "--data", str(data)])
    if uni["returncode"] != 0 or base["returncode"] != 0:
        raise SystemExit("a measurement failed")
    ratio = round(uni["wall_s"] / base["wall_s"], 2)
    rows = uni["result"]["rows"]
    print(f"unicity p=4, 10,000 targets over {users:,} users / {rows:,} rows: {uni['wall_s']:.1f} s "
          f"(load {uni['result']['load_s']} s, attack {uni['result']['attack_s']} s), peak {uni['peak_pss_mb']:,.0f} MB")
    print(f"read + sort of the same rows: {base['wall_s']:.1f} s, peak {base['peak_pss_mb']:,.0f} MB; "
          f"ratio unicity / read+sort = {ratio}")
    skmob = [] if args.skip_skmob else compare_skmob(data, skmob_sizes, args.skmob_timeout, knowledge=2)
    result = {
        "benchmark": "attacks_trajectory", "date": dt.date.today().isoformat(), "quick": args.quick,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "memory_gb": round(psutil.virtual_memory().total / 2**30)},
        "data": {"users": users, "days": args.days, "rows": rows, "generation": generation},
        "unicity": {"points": 4, "targets": 10_000, "seed": 1, **uni},
        "read_sort_baseline": base, "ratio_unicity_over_read_sort": ratio,
        "target": "unicity p=4, 10,000 targets over 1M users × ~200 points in <= 30 s and <= 6 GB",
        "skmob_comparison": skmob,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
