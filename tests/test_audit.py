"""`reidcheck audit`: table recognition, rules, policy, verdict, exit codes, bad input."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from reidcheck.anonymize import Release, apply_strategies
from reidcheck.cli import main
from reidcheck.io import read_population


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """A population (1,000 subscribers × 7 days, seed 3) and four releases of it."""
    from synthetic import write_population

    root = tmp_path_factory.mktemp("audit")
    write_population(root / "pop", 1000, 7, 3)
    base = Release.from_population(read_population(root / "pop"))
    chains = {"hash": ["hash"],
              "coarse": ["generalize-space:level=province", "generalize-time:bin=1w", "kanon:k=10,suppression=0.05",
                         "drop:tables=travel", "hmac"],
              "aggregate": ["generalize-space:level=district", "aggregate:bin=1d,min_count=10,epsilon=1"],
              "aggregate-raw": ["generalize-space:level=district", "aggregate:bin=1d,min_count=10"]}
    for name, chain in chains.items():
        apply_strategies(base, chain, seed=1).publish(seed=1).write(root / name)
    return root


def _run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_hashed_release_fails_and_says_why(releases, capsys, tmp_path):
    report_path = tmp_path / "r.json"
    code, out, err = _run(["audit", str(releases / "hash"), "--json", str(report_path), "-q"], capsys)
    assert code == 1 and err == ""
    rep = json.loads(report_path.read_text())
    failed = {(f["rule_id"], f["table"]) for f in rep["findings"] if f["status"] == "fail"}
    assert ("RC201", "cdr") in failed and ("RC101", "subscribers") in failed
    kinds = {t["name"]: t["kind"] for t in rep["tables"]}
    assert kinds == {"cdr": "trajectory", "cells": "places", "subscribers": "tabular", "travel": "travel"}
    uni = next(f for f in rep["findings"] if f["rule_id"] == "RC201")
    assert uni["judged"] == uni["interval"][1] and uni["value"] > 0.5 and uni["result"]["n_targets"] > 500
    assert rep["curves"] and rep["curves"][0]["points"] == [1, 2, 3, 4, 5]
    assert rep["verdict"] == "fail" and rep["summary"]["failed"] == len(failed)
    assert _run(["audit", str(releases / "hash"), "-q", "--exit-zero"], capsys)[0] == 0


def test_aggregate_release_passes(releases, capsys):
    code, out, _ = _run(["audit", str(releases / "aggregate"), "--json", "-"], capsys)
    rep = json.loads(out)                      # stdout holds the JSON and nothing else
    assert code == 0 and rep["verdict"] == "pass"
    assert {t["kind"] for t in rep["tables"]} == {"aggregate", "places"}
    small = next(f for f in rep["findings"] if f["rule_id"] == "RC204")
    assert small["status"] == "pass" and small["value"] >= 10


def test_suppressing_small_counts_does_not_hide_members(releases, capsys):
    """Raw counts of at least 10 pass the small-count rule, but a member still moves the counts of
    every cell they visit: the membership rule fails them (Pyrgelis et al. 2018)."""
    from reidcheck.rules import for_attack

    code, out, _ = _run(["audit", str(releases / "aggregate-raw"), "--json", "-"], capsys)
    rep = json.loads(out)
    assert code == 1 and rep["verdict"] == "fail"
    assert next(f for f in rep["findings"] if f["rule_id"] == "RC204")["status"] == "pass"
    mia = next(f for f in rep["findings"] if f["rule_id"] == for_attack("membership").id)
    assert mia["status"] == "fail" and mia["interval"][0] > 0.5              # better than a coin, surely


def test_json_report_follows_its_schema(releases, capsys):
    from reidcheck.report.json_report import validate

    for name in ("hash", "coarse", "aggregate"):
        code, out, _ = _run(["audit", str(releases / name), "--json", "-"], capsys)
        validate(json.loads(out))


def test_reversible_pseudonyms_are_caught_only_when_reversed(releases, capsys):
    code, out, _ = _run(["audit", str(releases / "hash"), "--json", "-", "--select", "RC301"], capsys)
    rep = json.loads(out)
    rc301 = [f for f in rep["findings"] if f["rule_id"] == "RC301"]
    assert {f["table"] for f in rc301} == {"cdr", "subscribers", "travel"}
    assert any(f["status"] == "fail" and f["value"] > 0 for f in rc301)
    code, out, _ = _run(["audit", str(releases / "coarse"), "--json", "-", "--select", "RC301"], capsys)
    assert all(f["status"] == "pass" for f in json.loads(out)["findings"])   # HMAC: nothing reversed


def test_policy_is_found_and_judged_on_the_upper_end(releases, capsys, tmp_path, monkeypatch):
    code, out, _ = _run(["audit", str(releases / "hash"), "--json", "-", "--select", "RC201"], capsys)
    uni = json.loads(out)["findings"][0]
    lo, hi = uni["interval"]
    assert lo < hi
    limit = (uni["value"] + hi) / 2          # the estimate passes, the upper end does not
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reidcheck.toml").write_text(f"select = ['RC201']\n[rules.RC201]\nmax = {limit}\n")
    code, out, _ = _run(["audit", str(releases / "hash"), "--json", "-"], capsys)
    rep = json.loads(out)
    assert code == 1 and rep["config"]["source"].endswith("reidcheck.toml")
    assert _run(["audit", str(releases / "hash"), "--json", "-", "--judge", "value"], capsys)[0] == 0
    (tmp_path / "reidcheck.toml").unlink()
    (tmp_path / "pyproject.toml").write_text(f"[tool.reidcheck]\nselect = ['RC201']\njudge = 'value'\n"
                                             f"[tool.reidcheck.rules.RC201]\nmax = {limit}\n")
    code, out, _ = _run(["audit", str(releases / "hash"), "--json", "-"], capsys)
    assert code == 0 and "[tool.reidcheck]" in json.loads(out)["config"]["source"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[rules.RC999]\nmax = 1\n")
    code, out, err = _run(["audit", str(releases / "hash"), "--config", str(bad)], capsys)
    assert code == 2 and "unknown rule 'RC999'" in err and err.count("\n") == 1


def test_raw_population_fails_on_direct_identifiers(releases, capsys):
    code, out, _ = _run(["audit", str(releases / "pop"), "--json", "-", "--select", "RC302"], capsys)
    rep = json.loads(out)
    subs = next(f for f in rep["findings"] if f["table"] == "subscribers")
    assert code == 1 and subs["status"] == "fail"
    assert {"msisdn (by name)", "cnic (by name)", "name (by name)"} <= set(subs["params"]["columns"])
    assert "+92" not in out                                   # values are never reported


def _bad_inputs(tmp):
    """(name, path, extra args, text the one-line error must contain)."""
    b = tmp / "bad"
    b.mkdir()
    cases = []

    def csv(name, text, *extra, expect, binary=False):
        p = b / name
        (p.write_bytes if binary else p.write_text)(text)
        cases.append((name, p, list(extra), expect))

    csv("empty.csv", "", expect="empty.csv': empty (no header, no rows)")
    csv("header.csv", "uid,ts,cell\n", expect="no data rows")
    csv("semi.csv", "uid;ts;cell\n1;2025-01-06 10:00:00;5\n", expect="is the delimiter right")
    (b / "semi.toml").write_text('[tables.semi]\ndelimiter = ","\n')
    cases[-1][2].extend(["--config", str(b / "semi.toml")])
    csv("types.csv", "uid,ts,lat,lon\n1,2025-01-06 10:00:00,31.5,74.3\n2,2025-01-06 11:00:00,abc,74.3\n",
        expect="column 'lat'")
    csv("latin.csv", b"uid,ts,cell\n1,2025-01-06 10:00:00,5\n2,2025-01-06 11:\xff\xfe:00,6\n", binary=True,
        expect="not UTF-8")
    csv("mixed.csv", "uid,ts,cell\n1,2025-01-06 10:00:00,5\n2,2025-01-06 11:00:00,6\n3,06/01/2025 12:00,7\n",
        expect="column 'ts': 1 row(s) where the value is empty or not a time (first at data row 3)")
    csv("dup.csv", "uid,ts,cell\n1,2025-01-06 10:00:00,5\n2,2025-01-06 11:00:00,6\n1,2025-01-06 10:00:00,5\n",
        expect="duplicated row(s) (first at data row 3)")
    csv("mapped.csv", "a,b,c\n1,2025-01-06 10:00:00,5\n", expect="column 'uid' (the user column of the mapping)")
    (b / "mapped.toml").write_text('[tables.mapped]\nkind = "trajectory"\nmapping = "user=uid,time=b,place=c"\n')
    cases[-1][2].extend(["--config", str(b / "mapped.toml")])
    csv("twice.csv", "a,b,c\n1,2025-01-06 10:00:00,5\n", expect="names column 'a' twice")
    (b / "twice.toml").write_text('[tables.twice]\nkind = "trajectory"\nmapping = "user=a,time=b,place=a"\n')
    cases[-1][2].extend(["--config", str(b / "twice.toml")])
    csv("zero.parquet", b"", binary=True, expect="zero.parquet': cannot be read")
    csv("trunc.parquet", b"PAR1\x00\x01\x02truncated", binary=True, expect="trunc.parquet': cannot be read")
    other = b / "unrelated"
    other.mkdir()
    (other / "notes.txt").write_text("hello\n")
    (other / "meta.json").write_text("{}\n")
    cases.append(("unrelated dir", other, [], "holds no CSV or Parquet table (found: meta.json, notes.txt)"))
    csv("what.csv", "foo,bar\n1,2\n", expect="cannot tell what kind of table")
    return cases


def test_bad_input_is_one_line_exit_2_and_no_report(tmp_path, capsys):
    for name, path, extra, expect in _bad_inputs(tmp_path):
        out = tmp_path / f"{name}.report"
        code, stdout, err = _run(["audit", str(path), *extra, "--json", str(out.with_suffix(".json")),
                                  "--html", str(out.with_suffix(".html")), "-q"], capsys)
        assert code == 2, (name, err)
        assert err.startswith("reidcheck: error: ") and err.count("\n") == 1, (name, err)
        assert expect in err, (name, err)
        assert "Traceback" not in err and stdout == ""
        assert not out.with_suffix(".json").exists() and not out.with_suffix(".html").exists(), name
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], name   # no temp files left


def test_outputs_of_every_format(releases, capsys, tmp_path):
    paths = {fmt: tmp_path / f"r.{ext}" for fmt, ext in
             (("json", "json"), ("html", "html"), ("sarif", "sarif"), ("junit", "xml"), ("markdown", "md"))}
    args = ["audit", str(releases / "hash"), "-q"]
    for fmt, p in paths.items():
        args += [f"--{fmt}", str(p)]
    assert main(args) == 1
    for fmt, p in paths.items():
        assert p.stat().st_size > 200, fmt
    import jsonschema
    from pathlib import Path
    import xml.etree.ElementTree as ET

    sarif_schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
    sarif = json.loads(paths["sarif"].read_text())
    jsonschema.Draft7Validator(sarif_schema).validate(sarif)
    rep = json.loads(paths["json"].read_text())
    results = sarif["runs"][0]["results"]
    assert sum(r["level"] == "error" for r in results) == rep["summary"]["failed"]
    suites = ET.parse(paths["junit"]).getroot()
    assert int(suites.get("tests")) == len(rep["findings"]) and int(suites.get("failures")) == rep["summary"]["failed"]
    assert paths["markdown"].read_text().startswith("**FAIL**")
    shutil.rmtree(tmp_path)


def test_a_rate_that_few_targets_cannot_decide_is_inconclusive_not_a_failure(tmp_path):
    """20 users with the same 5 (hour, cell) points: none is singled out (0 of 20), but even 0 of 20 has
    a Wilson upper end (16%) above RC201's 10% limit. That is no evidence of risk: the finding is
    inconclusive, says why, and does not fail the verdict; a measured excess with few targets still fails."""
    from reidcheck.audit import inconclusive, run_audit
    from reidcheck.engine import get_engine
    from reidcheck.policy import Policy

    t0 = 1_736_100_000
    df = pd.DataFrame([{"user_id": u, "timestamp": t0 + 3600 * h, "cell_id": h % 3} for u in range(20) for h in range(5)])
    f = tmp_path / "export.csv"
    df.to_csv(f, index=False)
    policy = Policy()
    policy.doc["select"] = ["RC201"]
    report = run_audit(get_engine("duckdb"), f, policy)
    (rc,) = [x for x in report["findings"] if x["rule_id"] == "RC201"]
    assert rc["value"] == 0.0 and rc["interval"][1] > 0.1
    assert rc["status"] == "inconclusive" and rc["message"].startswith("Inconclusive: 20 target(s)")
    assert report["verdict"] == "pass" and report["summary"]["inconclusive"] == 1
    limit = {"op": "<=", "value": 0.1}
    assert inconclusive(limit, 0.0, 20) and not inconclusive(limit, 0.0, 40)     # 3.84 / (n + 3.84) vs 0.1
    assert not inconclusive(limit, 0.3, 20)                                     # a measured excess still fails
    assert not inconclusive({"op": ">=", "value": 5}, 1, 3)                     # only for "at most" limits
