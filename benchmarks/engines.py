"""Engines side by side: the same unicity and k-anonymity workloads on DuckDB and Spark local[2].

Usage: python benchmarks/engines.py [--sizes 100000 1000000] [--quick]

For each population size (generated once into benchmarks/data/, like attacks_trajectory.py) and each
engine, one fresh process runs unicity (p = 4, 10,000 targets, cell × 1 h, seed 1) on the CDR table and
k-anonymity (k = 5 over gender, birth date, home district) on the subscribers table; wall time and
peak PSS of the process tree (Spark's JVM included) are recorded, with the results, which must agree.
Writes benchmarks/results/engines.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from measure import run_measured  # noqa: E402

RESULTS = HERE / "results"
DATA = HERE / "data"


def population(users: int, days: int) -> Path:
    for candidate in (DATA / f"pop{users}_{days}d", DATA / f"pop{users}_{days}d_seed1"):
        if (candidate / "population.json").exists():
            return candidate
    out = DATA / f"pop{users}_{days}d"
    print(f"generating {users:,} subscribers × {days} days into {out} ...", flush=True)
    gen = run_measured([sys.executable, "-m", "reidcheck.cli", "generate", "--subscribers", str(users),
                        "--days", str(days), "--seed", "1", "--out", str(out), "--quiet"])
    if gen["returncode"] != 0:
        raise SystemExit(f"generation failed with exit code {gen['returncode']}")
    return out


def measure(engine_name: str, data: str, targets: int) -> dict:
    """Run in the child process: both workloads on one engine."""
    import warnings

    warnings.simplefilter("ignore")
    from reidcheck.attacks import Unicity
    from reidcheck.attacks.inputs import TableInput
    from reidcheck.attacks.tabular import KAnonymity
    from reidcheck.engine import get_engine
    from reidcheck.io import load_table, load_trajectories

    t0 = time.perf_counter()
    engine = get_engine(engine_name, **({"master": "local[2]"} if engine_name == "spark" else {}))
    t1 = time.perf_counter()
    inp = load_trajectories(engine, data)
    res = Unicity(points=4, targets=targets, seed=1).run(engine, inp)
    t2 = time.perf_counter()
    load_table(engine, str(Path(data) / "subscribers.parquet"))
    k = KAnonymity(qi="gender,birth_date,home_district", k=5).run(engine, TableInput("tbl"))
    t3 = time.perf_counter()
    return {"engine_start_s": round(t1 - t0, 2), "unicity_s": round(t2 - t1, 2), "kanon_s": round(t3 - t2, 2),
            "rows": inp.meta["rows"], "n_targets": res.n_targets, "n_unique": res.n_unique,
            "k": k.extra["k"], "records_below_k": k.extra["records_below_k"]["records"]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--days", type=int, default=24)
    ap.add_argument("--targets", type=int, default=10_000)
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    ap.add_argument("--quick", action="store_true", help="20k users only")
    ap.add_argument("--out", type=Path, default=RESULTS / "engines.json")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.data, args.targets)))
        return
    sizes = [20_000] if args.quick else args.sizes
    runs = []
    for users in sizes:
        data = population(users, args.days)
        for eng in args.engines:
            print(f"{eng} on {users:,} users ...", flush=True)
            r = run_measured([sys.executable, str(Path(__file__).resolve()), "--measure", eng, "--data", str(data),
                              "--targets", str(args.targets)], timeout=3600)
            runs.append({"users": users, "engine": eng, **r})
            print(json.dumps(runs[-1]), flush=True)
    by = {(r["users"], r["engine"]): r for r in runs}
    agree = all(by[(u, "duckdb")]["result"] == {**by[(u, "spark")]["result"], **{
        k: by[(u, "duckdb")]["result"][k] for k in ("engine_start_s", "unicity_s", "kanon_s")}}
                for u in sizes if (u, "duckdb") in by and (u, "spark") in by
                and by[(u, "duckdb")]["result"] and by[(u, "spark")]["result"])
    doc = {"benchmark": "engines", "date": dt.date.today().isoformat(), "cpus": os.cpu_count(),
           "targets": args.targets, "days": args.days, "runs": runs, "results_agree": agree}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}; results agree across engines: {agree}")


if __name__ == "__main__":
    main()
