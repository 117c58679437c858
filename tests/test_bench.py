"""`reidcheck bench`: every reproduction's quick mode, and RESULTS.md generated from committed JSON."""

from __future__ import annotations

import json
import shutil
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
