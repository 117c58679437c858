"""Generator throughput and peak memory: rows/s and peak memory for N subscribers × D days.

Each size runs ``reidcheck generate`` in a fresh process (Parquet, default workers); a sampler sums
the proportional set size (PSS, so pages shared between forked workers count once) of the process
tree every 0.1 s. Results go to ``benchmarks/results/generate.json``.

    python benchmarks/generate.py                 # 10k and 100k subscribers × 28 days
    python benchmarks/generate.py --sizes 10000   # one size
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import run_measured  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def run_one(subscribers: int, days: int, seed: int, workers: int | None) -> dict:
    out = Path(tempfile.mkdtemp(prefix="reidcheck-bench-")) / "pop"
    cmd = [sys.executable, "-m", "reidcheck.cli", "generate", "--subscribers", str(subscribers),
           "--days", str(days), "--seed", str(seed), "--out", str(out), "--quiet"]
    if workers:
        cmd += ["--workers", str(workers)]
    run = run_measured(cmd)
    if run["returncode"] != 0:
        raise SystemExit(f"generate failed with exit code {run['returncode']}")
    manifest = json.loads((out / "population.json").read_text())
    rows = {k: v["rows"] for k, v in manifest["tables"].items()}
    size = sum(f.stat().st_size for f in out.iterdir())
    shutil.rmtree(out.parent, ignore_errors=True)
    event_rows = rows["cdr"] + rows["pings"]
    return {"subscribers": subscribers, "days": days, "seed": seed, "workers": workers or "default",
            "elapsed_s": run["wall_s"], "rows": rows, "event_rows_per_s": round(event_rows / run["wall_s"]),
            "peak_pss_mb": run["peak_pss_mb"], "output_mb": round(size / 2**20, 1)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--out", type=Path, default=RESULTS / "generate.json")
    args = ap.parse_args(argv)
    runs = []
    for n in args.sizes:
        r = run_one(n, args.days, args.seed, args.workers)
        runs.append(r)
        print(f"{n:>9,} subscribers × {args.days} days: {r['elapsed_s']:8.1f} s, "
              f"{r['event_rows_per_s']:>10,} event rows/s, peak {r['peak_pss_mb']:,.0f} MB, "
              f"cdr {r['rows']['cdr']:,} rows, pings {r['rows']['pings']:,} rows", flush=True)
    result = {"benchmark": "generate", "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                   "memory_gb": round(psutil.virtual_memory().total / 2**30)},
              "target": "100k subscribers × 28 days in < 180 s with < 4 GB peak", "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
