"""Tabular checks and pseudonym reversal: speed side by side with pycanon and OpenSSL, in one run.

1. A table of N rows × 5 quasi-identifiers (gender, birth year, home district, operator, MSISDN
   prefix) and a sensitive attribute (work/study anchor present or not), cut from a generated
   population (``benchmarks/data/``; the 1M population of ``attacks_trajectory.py`` when present).
   For N = 10k, 100k, 1M: our k-anonymity, l-diversity and t-closeness (DuckDB) and pycanon 1.3.6's
   (``.venv-peers``), each in a fresh process, pycanon killed after ``--timeout`` seconds per check.
   The ratio is taken at the largest N where pycanon finished all three.
2. Pseudonym reversal of an operator's whole mobile range (Jazz: 20 prefixes × 10⁷ numbers, SHA-256,
   one written form) on both cores, with ``openssl speed sha256`` (16-byte inputs) measured in the
   same run for comparison.

    python benchmarks/attacks_tabular.py            # full (~15 min)
    python benchmarks/attacks_tabular.py --quick    # 10k rows, one prefix

Results: ``benchmarks/results/attacks_tabular.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from measure import ROOT, run_measured  # noqa: E402

from reidcheck.bench.hashrev import openssl_per_core  # noqa: E402  (one measurement of OpenSSL's speed)

DATA = HERE / "data"
RESULTS = HERE / "results"
QI = ["gender", "birth_year", "home_district", "operator", "prefix"]
SENSITIVE = "works"

PYCANON = textwrap.dedent("""
    import json, sys, time
    import pandas as pd
    from pycanon import anonymity
    df = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
    qi, sa, check = json.loads(sys.argv[2]), [sys.argv[3]], sys.argv[4]
    t0 = time.perf_counter()
    fn = {"k": lambda: anonymity.k_anonymity(df, qi), "l": lambda: anonymity.l_diversity(df, qi, sa),
          "t": lambda: anonymity.t_closeness(df, qi, sa)}[check]
    value = fn()
    print(json.dumps({"value": float(value), "s": round(time.perf_counter() - t0, 2)}))
""")


def make_table(rows: int) -> Path:
    """The benchmark table: QIs and the sensitive attribute of ``rows`` subscribers (Parquet)."""
    import duckdb

    out = DATA / f"tabular_{rows}.parquet"
    if out.exists():
        return out
    pops = sorted(DATA.glob("pop*_*d/subscribers.parquet"), key=lambda p: p.stat().st_size)
    source = next((p for p in reversed(pops) if duckdb.sql(f"SELECT COUNT(*) FROM read_parquet('{p}')").fetchall()[0][0]
                   >= rows), None)
    if source is None:
        pop = DATA / f"pop{rows}_1d"
        subprocess.run([sys.executable, "-m", "reidcheck.cli", "generate", "--subscribers", str(rows), "--days", "1",
                        "--seed", "1", "--out", str(pop), "--quiet"], check=True, cwd=ROOT)
        source = pop / "subscribers.parquet"
    DATA.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"""COPY (SELECT gender, CAST(year(birth_date) AS VARCHAR) AS birth_year, home_district, operator,
                              substr(msisdn, 4, 3) AS prefix,
                              CASE WHEN work_cell_id IS NULL THEN 'no' ELSE 'yes' END AS works
                       FROM read_parquet('{source}') WHERE subscriber_id < {rows}) TO '{out}'""")
    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{out}')) TO '{out.with_suffix('.csv')}' (HEADER)")
    return out


def ours(table: str, check: str) -> dict:
    import time

    from reidcheck.attacks.inputs import TableInput
    from reidcheck.attacks.tabular import KAnonymity, LDiversity, TCloseness
    from reidcheck.engine import get_engine
    from reidcheck.io import load_table

    engine = get_engine()
    load_table(engine, table)
    attack = {"k": KAnonymity(qi=QI), "l": LDiversity(qi=QI, sensitive=SENSITIVE),
              "t": TCloseness(qi=QI, sensitive=SENSITIVE, ordered=False)}[check]
    t0 = time.perf_counter()
    res = attack.run(engine, TableInput("tbl", str(table)))
    value = {"k": res.extra.get("k"), "l": res.extra.get("l"), "t": res.extra.get("t")}[check]
    return {"value": value, "s": round(time.perf_counter() - t0, 2)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--out", type=Path, default=RESULTS / "attacks_tabular.json")
    ap.add_argument("--ours", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.ours:
        print(json.dumps(ours(*args.ours)))
        return
    sizes = [10_000] if args.quick else args.sizes
    peers = ROOT / ".venv-peers" / "bin" / "python"
    script = DATA / "pycanon_check.py"
    DATA.mkdir(parents=True, exist_ok=True)
    script.write_text(PYCANON)
    rows = []
    for n in sizes:
        table = make_table(n)
        row = {"rows": n}
        for check in ("k", "l", "t"):
            mine = run_measured([sys.executable, __file__, "--ours", str(table), check])
            theirs = (run_measured([str(peers), str(script), str(table.with_suffix(".csv")), json.dumps(QI), SENSITIVE,
                                    check],
                                   timeout=args.timeout) if peers.exists() else None)
            row[check] = {"ours_s": (mine["result"] or {}).get("s"), "ours_value": (mine["result"] or {}).get("value"),
                          "ours_peak_mb": mine["peak_pss_mb"],
                          "pycanon_s": ((theirs or {}).get("result") or {}).get("s"),
                          "pycanon_value": ((theirs or {}).get("result") or {}).get("value"),
                          "pycanon_timed_out": bool(theirs and theirs["timed_out"])}
            print(f"{n:>9,} rows, {check}: ours {row[check]['ours_s']} s, pycanon "
                  f"{'> %d s' % args.timeout if row[check]['pycanon_timed_out'] else row[check]['pycanon_s']} s",
                  flush=True)
        ours_total = sum(row[c]["ours_s"] or 0 for c in "klt")
        if all(row[c]["pycanon_s"] for c in "klt"):
            row["ratio_pycanon_over_ours"] = round(sum(row[c]["pycanon_s"] for c in "klt") / max(ours_total, 1e-3), 1)
        rows.append(row)
    # Pseudonym reversal of a whole range, and OpenSSL's single-core speed.
    prefixes = "300" if args.quick else "300-309,320-329"
    pseudo = DATA / "hashed_msisdn.csv"
    pseudo.write_text("pid\n" + "\n".join(__import__("hashlib").sha256(f"+92300{s:07d}".encode()).hexdigest()
                                         for s in range(0, 10_000_000, 99_991)) + "\n")
    rev = run_measured([sys.executable, "-m", "reidcheck.cli", "attack", "hash-reversal", str(pseudo), "--column",
                        "pid", "--prefixes", prefixes, "--forms", "e164", "--json", "-", "-q"])
    doc = rev["result"] or {}
    ossl = openssl_per_core()
    reversal = {"prefixes": prefixes, "numbers": doc.get("candidates_hashed"), "wall_s": rev["wall_s"],
                "hashes_per_s": doc.get("hashes_per_s"), "reversed": f"{doc.get('n_unique')}/{doc.get('n_targets')}",
                "openssl_sha256_per_s_one_core": round(ossl) if ossl else None}
    print(f"hash reversal of {prefixes}: {rev['wall_s']} s, {doc.get('hashes_per_s'):,} hashes/s on 2 cores; "
          f"openssl speed: {reversal['openssl_sha256_per_s_one_core']:,} hashes/s on one core")
    result = {"benchmark": "attacks_tabular", "date": dt.date.today().isoformat(), "quick": args.quick,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "memory_gb": round(psutil.virtual_memory().total / 2**30)},
              "qi": QI, "sensitive": SENSITIVE, "timeout_s": args.timeout, "checks": rows, "hash_reversal": reversal}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
