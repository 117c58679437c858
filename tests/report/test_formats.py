"""JSON (schema), SARIF 2.1.0, JUnit XML and Markdown renderings of the audit report."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from reidcheck import rules
from reidcheck.report.json_report import SCHEMA_PATH, render_json, validate
from reidcheck.report.junit import render_junit
from reidcheck.report.markdown import render_markdown
from reidcheck.report.sarif import render_sarif

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLE = DATA / "audit_report_example.json"
SARIF_SCHEMA = DATA / "sarif-schema-2.1.0.json"
# Pakistani mobile numbers in every written form (+92 3xx…, 92 3xx…, 03xx…, 3xx…). The brief's literal
# ``\+?92?0?3\d{9}`` needs a "9" and so misses 03001234567; this pattern finds everything it finds.
PHONE = re.compile(r"(?:\+?92|0)?3\d{9}")
CNIC = re.compile(r"\d{5}-\d{7}-\d")


@pytest.fixture
def report() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def _sarif(report: dict) -> dict:
    return json.loads(render_sarif(report))


def _fingerprints(report: dict) -> list[str]:
    return [r["partialFingerprints"]["reidcheckFinding/v1"] for r in _sarif(report)["runs"][0]["results"]]


# -- JSON and its schema ---------------------------------------------------------------------------------------
def test_schema_file_is_a_valid_draft_2020_12_schema():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_render_json_round_trips_in_insertion_order(report):
    report["zeta_added_key"] = 1
    text = render_json(report)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.splitlines()[1] == '  "schema": "reidcheck-audit",'
    back = json.loads(text)
    assert back == report and list(back) == list(report)
    assert list(back["findings"][0]) == list(report["findings"][0])


def test_validate_accepts_the_example_and_added_keys(report):
    validate(report)
    report["ignored_files"] = ["notes.txt"]
    report["findings"][0]["new_key"] = {"anything": True}
    report["findings"][0]["result"]["n_no_match"] = 3
    report["tables"][0]["kind"] = "places"
    validate(report)


@pytest.mark.parametrize("mutate, path, word", [
    (lambda r: r.pop("verdict"), "$", "'verdict' is a required property"),
    (lambda r: r["findings"][1].update(status="maybe"), "$.findings[1].status", "'maybe'"),
    (lambda r: r["findings"][2].update(rule_id="X1"), "$.findings[2].rule_id", "'X1'"),
    (lambda r: r.update(verdict="unknown"), "$.verdict", "'unknown'"),
    (lambda r: r.update(schema="reidcheck-compare"), "$.schema", "reidcheck-audit"),
    (lambda r: r.update(version=2), "$.version", "1 was expected"),
    (lambda r: r["findings"][0].update(interval=[0.1]), "$.findings[0].interval", "too short"),
    (lambda r: r["findings"][0]["threshold"].update(op="<"), "$.findings[0].threshold.op", "'<'"),
    (lambda r: r["findings"][0]["result"].pop("n_targets"), "$.findings[0].result", "'n_targets'"),
    (lambda r: r["findings"][0]["result"].update(unique_rate={"value": 0.9}), "$.findings[0].result.unique_rate",
     "'ci'"),
    (lambda r: r["anonymity_sets"][0].update(rule_id="RC2011"), "$.anonymity_sets[0].rule_id", "RC2011"),
])
def test_validate_rejects_and_names_the_path(report, mutate, path, word):
    mutate(report)
    with pytest.raises(ValueError) as exc:
        validate(report)
    message = str(exc.value)
    assert f" at {path}: " in message
    assert word in message


def test_validate_without_jsonschema_says_to_install_the_dev_extra(report, monkeypatch):
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    monkeypatch.setitem(sys.modules, "jsonschema.exceptions", None)
    with pytest.raises(RuntimeError, match=r"jsonschema.*`dev` extra"):
        validate(report)


# -- SARIF -----------------------------------------------------------------------------------------------------
def test_sarif_is_valid_sarif_2_1_0(report):
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft7Validator  # the file declares draft-07
    cls.check_schema(schema)
    sarif = _sarif(report)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(sarif)
    assert sarif["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json" and sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("reidcheck", "0.1.0")
    assert driver["informationUri"] == "https://github.com/reidcheck/reidcheck"
    assert run["automationDetails"] == {"id": "reidcheck/audit/"}
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_sarif_rules_and_results_follow_the_findings(report):
    run = _sarif(report)["runs"][0]
    sarif_rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in sarif_rules] == sorted({f["rule_id"] for f in report["findings"]})
    for r in sarif_rules:
        assert (r["name"], r["shortDescription"]["text"]) == (rules.get(r["id"]).name, rules.get(r["id"]).title)
        assert rules.get(r["id"]).adversary in r["help"]["text"]
        assert r["fullDescription"]["text"] and r["helpUri"].startswith("https://")
        assert r["defaultConfiguration"] == {"level": "error"}
        assert r["properties"]["tags"] == ["privacy", "re-identification"]
    kept = [f for f in report["findings"] if f["status"] != "not_applicable"]
    results = run["results"]
    assert len(results) == len(kept) == 4
    assert {r["ruleId"] for r in results} <= set(rules.ids())
    for f, r in zip(kept, results, strict=True):
        assert r["ruleId"] == f["rule_id"] == sarif_rules[r["ruleIndex"]]["id"]
        assert r["message"]["text"] == f["message"]
        expected = ("fail", "error") if f["status"] == "fail" else ("pass", "none")
        assert (r["kind"], r["level"]) == expected
        assert r["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
        props = r["properties"]
        assert (props["value"], props["interval"], props["threshold"], props["table"]) == (
            f["value"], f["interval"], f["threshold"], f["table"])
    assert [r["kind"] for r in results].count("fail") == 3
    assert render_sarif(report) == render_sarif(copy.deepcopy(report))


def test_sarif_fingerprint_is_stable_under_the_measured_value_not_the_params(report):
    base = _fingerprints(report)
    assert len(set(base)) == len(base) and all(re.fullmatch(r"[0-9a-f]{64}", fp) for fp in base)
    params = report["findings"][0]["params"]
    key = "RC201|cdr|releases/hash/cdr.parquet|" + json.dumps(params, sort_keys=True, separators=(",", ":"))
    assert base[0] == hashlib.sha256(key.encode()).hexdigest()

    moved = copy.deepcopy(report)
    moved["findings"][0].update(value=0.5, interval=[0.45, 0.55], judged=0.55, message="50% singled out.")
    moved["findings"][0]["result"]["unique_rate"] = {"value": 0.5, "ci": [0.45, 0.55]}
    moved["findings"][0]["params"] = dict(reversed(list(params.items())))  # key order does not matter
    assert _fingerprints(moved) == base

    changed = copy.deepcopy(report)
    changed["findings"][0]["params"]["points"] = 5
    fps = _fingerprints(changed)
    assert fps[0] != base[0] and fps[1:] == base[1:]


def test_sarif_uris_are_relative(report, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = _fingerprints(report)
    absolute = copy.deepcopy(report)
    for f in absolute["findings"]:
        f["file"] = str(tmp_path / f["file"])
    absolute["findings"][3]["file"] = str(tmp_path.parent / "elsewhere" / "trips 2024.parquet")
    uris = []
    for rep in (report, absolute):
        for r in _sarif(rep)["runs"][0]["results"]:
            loc = r["locations"][0]["physicalLocation"]["artifactLocation"]
            assert loc["uriBaseId"] == "%SRCROOT%"
            assert not loc["uri"].startswith("/") and ":" not in loc["uri"] and "\\" not in loc["uri"]
            uris.append(loc["uri"])
    assert uris[:4] == ["releases/hash/cdr.parquet", "releases/hash/cdr.parquet",
                        "releases/hash/subscribers.parquet", "releases/hash/travel.parquet"]
    assert uris[4:] == uris[:3] + ["../elsewhere/trips%202024.parquet"]
    assert _fingerprints(absolute)[:3] == base[:3]  # an absolute path under the cwd is the same finding


# -- JUnit -----------------------------------------------------------------------------------------------------
def test_junit_counts_suites_and_failures(report):
    text = render_junit(report)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites" and root.get("name") == "reidcheck audit"
    statuses = [f["status"] for f in report["findings"]]
    counts = (len(statuses), statuses.count("fail"), statuses.count("not_applicable"))
    assert counts == (5, 3, 1)
    assert (int(root.get("tests")), int(root.get("failures")), int(root.get("skipped"))) == counts
    assert float(root.get("time")) == pytest.approx(12.3)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["cdr", "subscribers", "travel"]
    assert [(s.get("tests"), s.get("failures"), s.get("skipped")) for s in suites.values()] == [
        ("3", "2", "1"), ("1", "1", "0"), ("1", "0", "0")]
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["RC201 trajectory-unicity", "RC301 reversible-pseudonyms",
                                              "RC204 aggregate-small-counts", "RC101 k-anonymity",
                                              "RC501 travel-uniqueness"]
    assert cases[0].get("classname") == "reidcheck.cdr" and float(cases[0].get("time")) == pytest.approx(3.2)
    failures = root.findall(".//failure")
    assert len(failures) == 3 and len(root.findall(".//skipped")) == 1
    for failure, rule_id in zip(failures, ["RC201", "RC301", "RC101"], strict=True):
        assert rule_id in failure.get("message") and failure.get("type") == rule_id
    assert "94.1%" in failures[0].text and "\N{LESS-THAN OR EQUAL TO} 10%" in failures[0].text
    assert cases[-1].find("failure") is None and cases[-1].find("skipped") is None


def test_junit_escapes_markup(report):
    nasty = 'a <b>&"quoted"</b> ]]> \x07bell'
    report["findings"][0]["message"] = nasty
    report["findings"][2]["table"] = report["tables"][1]["name"] = "sub<&>"
    root = ET.fromstring(render_junit(report).encode("utf-8"))
    failure = root.find(".//failure")
    assert failure.get("message").endswith(nasty.replace("\x07", ""))
    assert failure.text.startswith(nasty.replace("\x07", ""))
    assert root.findall("testsuite")[1].get("name") == "sub<&>"


# -- Markdown --------------------------------------------------------------------------------------------------
def test_markdown_verdict_first_and_every_finding(report):
    text = render_markdown(report)
    assert text.splitlines()[0] == "**FAIL** \N{EM DASH} 3 of 5 rules violated"
    for f in report["findings"]:
        assert f["rule_id"] in text
    rows = [line for line in text.splitlines() if line.startswith("| RC")]
    assert len(rows) == 5 and all(row.count(" | ") == 5 for row in rows)
    assert "94.1% (95% CI 93.6%\N{EN DASH}94.6%)" in rows[0] and "\N{LESS-THAN OR EQUAL TO} 10%" in rows[0]
    assert "not applicable" in rows[4]
    assert "## Tables audited" in text and "| subscribers | tabular | 5,000 |" in text
    assert "```sh\nreidcheck audit releases/hash --seed 7\n```" in text


def test_markdown_pass_verdict_and_cell_escaping(report):
    for f in report["findings"]:
        f["status"] = "pass" if f["status"] == "fail" else f["status"]
    report.update(verdict="pass", summary={**report["summary"], "passed": 4, "failed": 0})
    report["findings"][0]["message"] = "a | b\nc"
    text = render_markdown(report)
    assert text.startswith("**PASS** \N{EM DASH} 4 of 5 rules passed, 1 not applicable\n")
    row = next(line for line in text.splitlines() if line.startswith("| RC201"))
    assert "a \\| b c" in row and row.count(" | ") == 5


def test_markdown_reproduce_block_is_exactly_the_command(report):
    report["reproduce"] = "reidcheck audit 'releases/my hash' --seed 7 --config reidcheck.toml"
    text = render_markdown(report)
    block = text[text.index("## Reproduce"):].split("```sh\n", 1)[1].split("\n```", 1)[0]
    assert block == report["reproduce"]                     # one line, nothing appended (no trailing comment)
    assert "Settings" not in text and "params" not in text  # the Markdown report shows no settings


# -- no personal data ------------------------------------------------------------------------------------------
def test_patterns_catch_personal_data():
    for number in ("call 03001234567", "+923001234567", "923001234567", "3001234567"):
        assert PHONE.search(number), number
    assert CNIC.search("35202-1234567-1")


def test_renderers_add_no_personal_data(report):
    sarif = _sarif(report)
    for r in sarif["runs"][0]["results"]:
        del r["partialFingerprints"]  # hex digests, not data
    outputs = {"json": render_json(report), "sarif": json.dumps(sarif, ensure_ascii=False),
               "junit": render_junit(report), "markdown": render_markdown(report)}
    for name, text in outputs.items():
        assert not PHONE.search(text), name
        assert not CNIC.search(text), name
