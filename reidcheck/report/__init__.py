"""Audit reports: one dictionary (the JSON report), rendered as JSON, SARIF, JUnit, HTML, Markdown and a
terminal table. Every renderer takes the report dictionary and returns text (``render_*``); nothing here
recomputes a figure.

The report dictionary (schema ``reidcheck-audit``, version 1; ``schema/audit-report.schema.json`` is the
contract; keys may be added, never renamed):

``schema``, ``version``, ``tool`` ({name, version}), ``input`` (path as given), ``seed``, ``engine``,
``config`` ({source: file or "default policy", judge: "upper" | "value"}), ``verdict`` ("pass" | "fail"),
``summary`` ({tables, rules, passed, failed, not_applicable}), ``tables`` (list of {name, file, kind:
"trajectory" | "tabular" | "travel" | "aggregate", rows, columns}), ``findings`` (list, one per rule ×
table: {rule_id, rule, title, table, file, status: "pass" | "fail" | "inconclusive" | "not_applicable", metric, value,
interval: [lo, hi] | null, judged, judge, threshold: {op: "<=" | ">=", value}, message, params, result:
the AttackResult dictionary or null}), ``curves`` (list of {table, time_bin, space, points: [p...],
unique_rate: [{value, ci}...]}: uniqueness against known points, one per resolution), ``anonymity_sets``
(list of {table, rule_id, histogram: {label: count}}), ``comparison`` (a ``reidcheck compare`` document
or null), ``reproduce`` (the command line that reproduces the report), ``elapsed_s``.

Reports hold aggregates only: no phone number, ID number or name of a person.
"""



def rule_names(rule_id: str) -> tuple[str, str]:
    """(name, title) of a rule, from the registry (``reidcheck.rules``); empty for an unknown id."""
    from .. import rules

    try:
        r = rules.get(rule_id)
    except KeyError:
        return "", ""
    return r.name, r.title

#: Report formats: name → (module, renderer). Each renderer takes the report dictionary, returns text.
FORMATS = {
    "json": ("json_report", "render_json"),
    "html": ("html", "render_html"),
    "sarif": ("sarif", "render_sarif"),
    "junit": ("junit", "render_junit"),
    "markdown": ("markdown", "render_markdown"),
}


def check_targets(targets: dict) -> dict:
    """``{format: path or None or "-"}`` → ``{format: Path}`` of the files to write, each validated
    (``reidcheck.io.check_output``) before any work starts; ``-`` (stdout) and None are left out."""
    from pathlib import Path

    from ..errors import UsageError
    from ..io import check_output

    out = {}
    for fmt, path in targets.items():
        if fmt not in FORMATS:
            raise UsageError(f"Unknown report format {fmt!r} (formats: {', '.join(FORMATS)}).")
        if path is None or str(path) == "-":
            continue
        out[fmt] = check_output(Path(path))
    return out


def render(report: dict, fmt: str) -> str:
    """The report in one format (``FORMATS``)."""
    from importlib import import_module

    module, func = FORMATS[fmt]
    return getattr(import_module(f"{__name__}.{module}"), func)(report)


def write_all(report: dict, targets: dict) -> None:
    """Render every requested format in memory, then write the files all or nothing
    (``reidcheck.io.write_files``): on any error, none of them is left behind."""
    from ..io import write_files

    files = check_targets(targets)
    write_files({path: render(report, fmt) for fmt, path in files.items()})
