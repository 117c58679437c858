"""The audit report as GitHub-flavoured Markdown (e.g. a pull-request comment or a CI job summary).

Verdict first, then one table row per finding, the tables audited and the command that reproduces the run.
Aggregates only: no parameters, no attack details. ``measured`` and ``threshold`` are shared with the JUnit
renderer.
"""

from __future__ import annotations

import html
import re

from . import rule_names

_RATE_METRICS = {"unique_rate", "reversed_share", "prosecutor_risk", "correct_rate", "linked_rate"}
_STATUS = {"fail": "**fail**", "pass": "pass", "inconclusive": "inconclusive", "not_applicable": "not applicable"}


def _is_rate(finding: dict) -> bool:
    metric = finding.get("metric") or ""
    return metric in _RATE_METRICS or metric.endswith(("_rate", "_share"))


def _pct(x: float) -> str:
    p = 100 * x
    s = f"{p:.2g}" if 0 < abs(p) < 1 else f"{p:.1f}"
    return (s[:-2] if s.endswith(".0") else s) + "%"


def _num(x) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:.3g}"


def measured(finding: dict, ci_label: str = "95% CI") -> str:
    """The measured value with its 95% interval when there is one, e.g. ``94.1% (95% CI 93.6–94.6%)``."""
    if finding.get("value") is None:
        return "not measured"
    fmt = _pct if _is_rate(finding) else _num
    text = fmt(finding["value"])
    if finding.get("interval"):
        lo, hi = finding["interval"]
        text += f" ({ci_label} {fmt(lo)}\N{EN DASH}{fmt(hi)})"
    return text


def threshold(finding: dict, words: bool = False) -> str:
    """The policy's threshold, e.g. ``≤ 10%`` or ``≥ 5`` (``at most 10%`` with ``words``)."""
    th = finding.get("threshold") or {}
    if th.get("value") is None:
        return "none"
    if words:
        op = "at most" if th.get("op") == "<=" else "at least"
    else:
        op = "\N{LESS-THAN OR EQUAL TO}" if th.get("op") == "<=" else "\N{GREATER-THAN OR EQUAL TO}"
    return f"{op} {(_pct if _is_rate(finding) else _num)(th['value'])}"


def verdict_line(report: dict) -> str:
    """``**FAIL** — 3 of 5 rules violated`` or ``**PASS** — 4 of 5 rules passed, 1 not applicable``."""
    s = report.get("summary") or {}
    total = s.get("rules", 0)
    noun = "rule" if total == 1 else "rules"
    if report.get("verdict") == "fail":
        return f"**FAIL** \N{EM DASH} {s.get('failed', 0)} of {total} {noun} violated"
    na, unsure = s.get("not_applicable", 0), s.get("inconclusive", 0)
    return f"**PASS** \N{EM DASH} {s.get('passed', 0)} of {total} {noun} passed" + (
        f", {unsure} inconclusive" if unsure else "") + (f", {na} not applicable" if na else "")


def _cell(value) -> str:
    """Text safe inside a Markdown table cell: HTML-escaped, pipes escaped, one line."""
    text = html.escape(str(value), quote=False).replace("|", "\\|")
    return re.sub(r"\s*[\r\n]+\s*", " ", text)


def _row(cells) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _fenced(text: str) -> str:
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))
    return f"{fence}sh\n{text}\n{fence}"


def render_markdown(report: dict) -> str:
    """The report as Markdown text ending with a newline."""
    s = report.get("summary") or {}
    cfg = report.get("config") or {}
    judge = ("judged on the upper end of each 95% interval" if cfg.get("judge") == "upper"
             else "judged on the estimate")
    lines = [verdict_line(report), "",
             f"reidcheck {_cell((report.get('tool') or {}).get('version', ''))} audit of "
             f"{_cell(report.get('input', ''))}: {s.get('tables', 0)} tables, seed {_cell(report.get('seed'))}, "
             f"policy: {_cell(cfg.get('source', ''))} ({judge}).", "",
             "## Findings", ""]
    findings = report.get("findings") or []
    if findings:
        lines += [_row(["Rule", "Table", "Status", "Measured", "Threshold", "Message"]), "|---" * 6 + "|"]
        for f in findings:
            name = rule_names(f.get("rule_id", ""))[0] or f.get("rule", "")
            row = [f"{f.get('rule_id')} {name}", f.get("table", ""), "", measured(f), threshold(f),
                   f.get("message", "")]
            cells = [_cell(c) for c in row]
            cells[2] = _STATUS.get(f.get("status"), _cell(f.get("status")))
            lines.append("| " + " | ".join(cells) + " |")
    else:
        lines.append("No rule was checked.")
    lines += ["", "## Tables audited", ""]
    tables = report.get("tables") or []
    if tables:
        lines += [_row(["Table", "Kind", "Rows", "Columns", "File"]), "|---" * 5 + "|"]
        lines += [_row([t.get("name", ""), t.get("kind", ""), _num(t.get("rows")), len(t.get("columns") or []),
                        t.get("file", "")]) for t in tables]
    else:
        lines.append("No table.")
    lines += ["", "## Reproduce", "", _fenced(report.get("reproduce", "")), ""]
    return "\n".join(lines)
