"""The audit report as SARIF 2.1.0, for code-scanning dashboards (e.g. GitHub code scanning).

One run; one rule (reportingDescriptor) per rule id in the findings, sorted by id; one result per failed
finding (level ``error``) and per passed finding (kind ``pass``, level ``none``); not-applicable findings are
left out. Locations are relative URIs under ``%SRCROOT%``, never absolute paths. Each result carries a
``partialFingerprints`` entry that depends on the rule, table, file and parameters only, so a dashboard
tracks the same finding across runs whatever the measured value.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path, PurePath, PurePosixPath
from urllib.parse import quote


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/reidcheck/reidcheck"
HELP_URI = INFORMATION_URI + "#audit-a-policy-gate-for-exports"
FINGERPRINT = "reidcheckFinding/v1"


def relative_path(file: str, cwd: Path | None = None) -> str:
    """``file`` as a relative POSIX path: relative to ``cwd`` (default: the current directory) when absolute."""
    path = PurePath(file)
    if path.is_absolute():
        cwd = cwd or Path.cwd()
        try:
            path = PurePath(os.path.relpath(path, cwd))
        except ValueError:  # another drive (Windows): keep the name only
            path = PurePath(path.name)
    text = path.as_posix()
    while text.startswith("./"):
        text = text[2:]
    return str(PurePosixPath(text.lstrip("/") or "."))


def fingerprint(finding: dict) -> str:
    """SHA-256 of ``rule_id|table|relative file|sorted params JSON``: stable across runs, blind to the value."""
    params = json.dumps(finding.get("params") or {}, sort_keys=True, separators=(",", ":"), default=str)
    key = "|".join([finding.get("rule_id", ""), finding.get("table", ""),
                    relative_path(finding.get("file", "")), params])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _rule(rule_id: str, finding: dict) -> dict:
    """SARIF rule metadata from the registry: name, title, the rule's help text and its adversary."""
    from .. import rules

    try:
        r = rules.get(rule_id)
        name, title, help_text = r.name, r.title, f"{r.help}\n\nAdversary: {r.adversary}."
    except KeyError:
        name, title, help_text = finding.get("rule", rule_id), finding.get("title", ""), ""
    return {
        "id": rule_id,
        "name": name,
        "shortDescription": {"text": title or name},
        "fullDescription": {"text": f"{title or name}. reidcheck measures this on the exported table and fails "
                                    "the rule when the figure crosses the policy's threshold (a share is judged "
                                    "on the upper end of its 95% interval by default)."},
        "help": {"text": help_text or title or name},
        "helpUri": HELP_URI,
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["privacy", "re-identification"]},
    }


def _result(finding: dict, index: int) -> dict:
    failed = finding.get("status") == "fail"
    rule_id = finding.get("rule_id", "")
    return {
        "ruleId": rule_id,
        "ruleIndex": index,
        "kind": "fail" if failed else "pass",
        "level": "error" if failed else "none",
        "message": {"text": finding.get("message") or f"{rule_id}: {finding.get('status')}"},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": quote(relative_path(finding.get("file", "")), safe="/"),
                                 "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 1}}}],
        "partialFingerprints": {FINGERPRINT: fingerprint(finding)},
        "properties": {key: finding.get(key) for key in ("table", "metric", "value", "interval", "threshold")},
    }


def render_sarif(report: dict) -> str:
    """The report as SARIF 2.1.0 JSON text (deterministic; ends with a newline)."""
    findings = report.get("findings") or []
    first = {}
    for f in findings:
        first.setdefault(f.get("rule_id", ""), f)
    rule_ids = sorted(first)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    results = [_result(f, index[f.get("rule_id", "")]) for f in findings if f.get("status") in ("fail", "pass")]
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "reidcheck",
                "version": str((report.get("tool") or {}).get("version", "")),
                "informationUri": INFORMATION_URI,
                "rules": [_rule(rid, first[rid]) for rid in rule_ids],
            }},
            "automationDetails": {"id": "reidcheck/audit/"},
            "invocations": [{"executionSuccessful": True}],
            "results": results,
        }],
    }
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"
