"""`reidcheck bench`: every reproduction's quick mode, and RESULTS.md generated from committed JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reidcheck.bench import BENCHMARKS, results_md_path, write_results_md
from reidcheck.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_every_benchmark_runs_in_quick_mode(tmp_path, capsys):
    out, cache = tmp_path / "results", tmp_path / "cache"
    assert main(["bench", "all", "--quick", "--seed", "3", "--out", str(out), "--cache", str(cache), "-q"]) == 0
    md = (tmp_path / "RESULTS.md").read_text()
    for name in BENCHMARKS:
        doc = json.loads((out / f"{name}.json").read_text())
        assert doc["quick"] is True and doc["seed"] == 3 and doc["rows"], name
        assert all({"quantity", "ours", "published", "agreement", "note"} <= set(r) for r in doc["rows"]), name
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"## {name} " in md, name
    # one command regenerates the table from the JSON alone
    (tmp_path / "RESULTS.md").unlink()
    assert main(["bench", "results", "--out", str(out), "-q"]) == 0
    assert (tmp_path / "RESULTS.md").read_text() == md


def test_committed_results_md_is_generated_from_committed_json(tmp_path):
    results = REPO / "benchmarks" / "results"
    committed = results_md_path(results)
    if not committed.exists():
        pytest.fail("benchmarks/RESULTS.md is missing: run `reidcheck bench results`")
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    assert write_results_md(copy).read_text() == committed.read_text()


def test_unknown_benchmark_is_a_usage_error(capsys):
    assert main(["bench", "nope"]) == 2
    assert "Unknown benchmark 'nope'" in capsys.readouterr().err


def test_installed_package_runs_a_reproduction_outside_the_repository(tmp_path):
    """A non-editable install (what a wheel holds, built from the build inputs alone) runs
    ``reidcheck bench`` from a folder outside the checkout: no path outside the package is needed."""
    src, site, cwd = tmp_path / "src", tmp_path / "site", tmp_path / "elsewhere"
    src.mkdir()
    cwd.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for pkg in ("reidcheck", "synthetic"):
        shutil.copytree(REPO / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site),
                          str(src)], capture_output=True, text=True, cwd=tmp_path)
    assert pip.returncode == 0, pip.stderr[-2000:]
    # package data is in the install
    assert (site / "reidcheck" / "report" / "schema" / "audit-report.schema.json").is_file()
    assert sorted(p.name for p in (site / "synthetic" / "data").glob("*.csv")) == \
        sorted(p.name for p in (REPO / "synthetic" / "data").glob("*.csv"))
    assert not (site / "benchmarks").exists()

    env = {k: v for k, v in os.environ.items() if not k.startswith("REIDCHECK_")}
    env["PYTHONPATH"] = str(site)

    def py(*args):
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)

    where = py("-c", "import reidcheck, synthetic, reidcheck.bench as b; "
                     "print(reidcheck.__file__); print(synthetic.__file__); print(b.shared_data_dir())")
    assert where.returncode == 0, where.stderr
    lines = where.stdout.split()
    assert all(Path(f).is_relative_to(site) for f in lines[:2]), lines
    assert lines[2] == "None"                      # installed: no guess at ../shared/data

    out = tmp_path / "out"
    run = py("-m", "reidcheck.cli", "bench", "hash-reversal", "--quick", "--out", str(out), "-q")
    assert run.returncode == 0, run.stderr[-2000:]
    doc = json.loads((out / "hash-reversal.json").read_text())
    assert doc["name"] == "hash-reversal" and doc["quick"] is True and doc["rows"]
    assert (out / "hash-reversal.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "RESULTS.md").is_file()
    assert (cwd / "benchmarks" / "data").is_dir()  # the default --cache: under the current directory

    # the peer scripts are the checkout's: without them, peers says so in one line and exits 0
    peers = py("-m", "reidcheck.cli", "bench", "peers", "--quick", "--out", str(out))
    assert peers.returncode == 0, peers.stderr[-2000:]
    assert "peers skipped" in peers.stderr
    assert json.loads((out / "peers.json").read_text())["rows"][0]["ours"] == "skipped"
