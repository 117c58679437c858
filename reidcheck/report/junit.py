"""The audit report as JUnit XML, for CI systems that show test results.

One ``<testsuite>`` per table, one ``<testcase>`` per finding: a failed rule is a ``<failure>``, a rule that
does not apply is ``<skipped>``. Built with ElementTree, so every text and attribute is escaped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from . import rule_names
from .markdown import measured, threshold

# Characters XML 1.0 cannot hold at all (ElementTree escapes markup but passes these through).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value) -> str:
    return _NOT_XML.sub("", str(value))


def _seconds(value) -> str:
    return f"{float(value or 0):.3f}"


def _counts(findings: list[dict]) -> dict[str, str]:
    return {"tests": str(len(findings)),
            "failures": str(sum(f.get("status") == "fail" for f in findings)),
            "errors": "0",
            "skipped": str(sum(f.get("status") in ("not_applicable", "inconclusive") for f in findings))}


def _elapsed(finding: dict) -> float:
    return float((finding.get("result") or {}).get("elapsed_s") or 0)


def render_junit(report: dict) -> str:
    """The report as JUnit XML text (UTF-8 declaration, indented, ending with a newline)."""
    findings = report.get("findings") or []
    names = [t.get("name") for t in report.get("tables") or []]
    names += [n for n in dict.fromkeys(f.get("table") for f in findings) if n not in names]
    root = ET.Element("testsuites", {"name": "reidcheck audit", **_counts(findings),
                                     "time": _seconds(report.get("elapsed_s"))})
    for table in names:
        cases = [f for f in findings if f.get("table") == table]
        suite = ET.SubElement(root, "testsuite", {"name": _text(table), **_counts(cases),
                                                  "time": _seconds(sum(_elapsed(f) for f in cases))})
        for f in cases:
            rule_id = f.get("rule_id", "")
            name = rule_names(rule_id)[0] or f.get("rule", "")
            case = ET.SubElement(suite, "testcase", {"classname": _text(f"reidcheck.{table}"),
                                                     "name": _text(f"{rule_id} {name}"),
                                                     "time": _seconds(_elapsed(f))})
            message = f.get("message", "")
            if f.get("status") == "fail":
                failure = ET.SubElement(case, "failure", {"message": _text(f"{rule_id} {name}: {message}"),
                                                          "type": _text(rule_id)})
                failure.text = _text(f"{message}\nmeasured: {measured(f)}\nthreshold: {threshold(f)}\n"
                                     f"file: {f.get('file', '')}")
            elif f.get("status") in ("not_applicable", "inconclusive"):
                ET.SubElement(case, "skipped", {"message": _text(f"{rule_id} {name}: {message}")})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
