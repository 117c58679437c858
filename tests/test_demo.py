"""`reidcheck demo`: the README's main job, on a small population."""

from __future__ import annotations

import json

from reidcheck.cli import main


def test_demo_writes_the_whole_job(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "-n", "1500", "-d", "7", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "Privacy–utility comparison" in printed and "report.html" in printed
    reports = {p.stem: json.loads(p.read_text()) for p in (out / "reports").glob("*.json")}
    assert set(reports) == {"1-naive-hash", "2-keyed-hash", "3-district-day", "4-aggregate"}
    assert reports["1-naive-hash"]["verdict"] == "fail"
    failed = {f["rule_id"] for f in reports["1-naive-hash"]["findings"] if f["status"] == "fail"}
    assert {"RC201", "RC301"} <= failed                      # hashing the phone number is not enough
    assert "RC301" not in {f["rule_id"] for f in reports["2-keyed-hash"]["findings"] if f["status"] == "fail"}
    assert reports["4-aggregate"]["verdict"] == "pass"
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "FAIL" in html and "data:image/png;base64," in html
    assert reports["1-naive-hash"]["comparison"]["releases"][0]["name"].startswith("1-naive-hash")
    truth = sorted(p.name for p in (out / "releases").iterdir() if p.is_file())
    assert truth == [f"{n}.TRUTH-MAP-SECRET.parquet" for n in ("1-naive-hash", "2-keyed-hash", "3-district-day")]
    # re-running replaces the earlier demo; a foreign non-empty directory is refused
    assert main(["demo", "--out", str(out), "-n", "300", "-d", "2", "-q"]) == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert main(["demo", "--out", str(other), "-q"]) == 2
    assert (other / "keep.txt").read_text() == "mine"


def test_run_demo_is_callable_from_python(tmp_path):
    """The demo is library code: `reidcheck.demo.run_demo` does the whole job without the CLI."""
    from reidcheck.demo import DEMO_RELEASES, run_demo

    steps = []
    res = run_demo(tmp_path / "d", subscribers=300, days=2, seed=2, progress=steps.append)
    assert set(res["reports"]) == {name for name, _, _ in DEMO_RELEASES}
    assert res["reports"]["1-naive-hash"]["verdict"] == "fail" and (tmp_path / "d" / "report.html").is_file()
    assert any(s.startswith("auditing") for s in steps)
    config = tmp_path / "d" / "reidcheck.toml"
    assert res["reports"]["2-keyed-hash"]["reproduce"] == (f"reidcheck audit {tmp_path / 'd' / 'releases' / '2-keyed-hash'}"
                                                           f" --config {config}")
