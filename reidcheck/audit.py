"""``reidcheck audit``: read an export, recognize its tables, run the rules that apply, judge them.

Input: one CSV/Parquet file or a directory of them (a population or release directory, or any folder
of exports). Each table's *kind* comes from the policy (``[tables.NAME] kind``) or from its columns:

* ``trajectory`` — a user column, a time column and a place (or lat/lon) column;
* ``travel`` — a user column, ``country`` and ``month`` (or ``depart_date``);
* ``aggregate`` — place, time and a count column, no user column;
* ``tabular`` — quasi-identifier columns (age, gender, birth date, district, …);
* ``places`` — a cells table (cell_id, lat, lon): reference data, used to generalize places.

Each table is read once, then every enabled rule of the registry (``reidcheck.rules``; ``reidcheck
rules`` lists them) whose kinds include the table's runs its check on it; rules with work over all
tables (one enumeration of the numbering plan) finish after the last table. Figures come from the
attacks of ``reidcheck.attacks``; without a truth map, the adversary's knowledge is drawn from the
export itself (``n_correct`` is null). Findings are judged by ``reidcheck.policy.judge``.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import InputError, UsageError
from .io import Mapping, check_utc_offset, load_places, load_table, load_trajectories, table_columns
from .policy import Policy, judge
from .redact import column_list
from .schema import COUNT_COLS, LAT_COLS, LON_COLS, PLACE_COLS, QI_COLS, TIME_COLS, USER_COLS

TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".tsv", ".tsv.gz")


@dataclass
class Table:
    name: str
    file: Path
    kind: str
    rows: int
    columns: list[str]
    settings: dict = field(default_factory=dict)
    roles: dict = field(default_factory=dict)

    def describe(self) -> dict:
        return {"name": self.name, "file": str(self.file), "kind": self.kind, "rows": self.rows,
                "columns": self.columns}


def _stem(path: Path) -> str:
    name = path.name
    for suf in TABLE_SUFFIXES:
        if name.lower().endswith(suf):
            return name[: -len(suf)]
    return path.stem


def discover(input_path: Path) -> tuple[list[Path], list[str], dict]:
    """(table files, ignored file names, manifest) of a file or directory."""
    input_path = Path(input_path)
    if not input_path.exists():
        raise InputError(f"Input '{input_path}' does not exist.")
    if input_path.is_file():
        if not input_path.name.lower().endswith(TABLE_SUFFIXES):
            raise InputError(f"File '{input_path}': unknown format (expected .parquet, .csv or .tsv, optionally .gz).")
        return [input_path], [], {}
    files = sorted(p for p in input_path.iterdir() if p.is_file() and not p.name.startswith("."))
    tables = [p for p in files if p.name.lower().endswith(TABLE_SUFFIXES)]
    manifest = {}
    for name in ("population.json", "release.json"):
        if (input_path / name).is_file():
            try:
                manifest = json.loads((input_path / name).read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise InputError(f"File '{input_path / name}': not valid JSON.") from None
    ignored = [p.name for p in files if p not in tables and p.name not in ("population.json", "release.json")]
    if not tables:
        shown = ", ".join(ignored[:5]) + (" …" if len(ignored) > 5 else "")
        raise InputError(f"Directory '{input_path}' holds no CSV or Parquet table"
                         + (f" (found: {shown})." if ignored else " (it is empty)."))
    return tables, ignored, manifest


def _pick(columns, names) -> str | None:
    low = {c.lower(): c for c in columns}
    return next((low[n] for n in names if n in low), None)


def classify(name: str, file: Path, columns: list[str], settings: dict) -> tuple[str, dict]:
    """(kind, roles) of a table from its settings or its columns."""
    roles = {"user": _pick(columns, USER_COLS), "time": _pick(columns, TIME_COLS),
             "place": _pick(columns, PLACE_COLS), "lat": _pick(columns, LAT_COLS), "lon": _pick(columns, LON_COLS),
             "count": _pick(columns, COUNT_COLS), "country": _pick(columns, ("country",)),
             "month": _pick(columns, ("month", "depart_date", "departure_date"))}
    if settings.get("mapping"):
        m = Mapping.parse(settings["mapping"])
        roles.update({r: getattr(m, r) for r in ("user", "time", "place", "lat", "lon")})
    kind = settings.get("kind")
    low = {c.lower() for c in columns}
    if kind is None:
        if {"cell_id", "lat", "lon"} <= low and roles["user"] is None and roles["time"] is None:
            kind = "places"
        elif roles["user"] is None and roles["count"] and roles["time"] and (roles["place"] or roles["lat"]):
            kind = "aggregate"
        elif roles["user"] and roles["time"] and (roles["place"] or (roles["lat"] and roles["lon"])):
            kind = "trajectory"
        elif roles["user"] and roles["country"] and roles["month"]:
            kind = "travel"
        elif settings.get("qi") or any(c.lower() in QI_COLS for c in columns):
            kind = "tabular"
        else:
            raise InputError(f"File '{file}': cannot tell what kind of table this is (columns: "
                             f"{column_list(columns)}); set `kind` and `mapping` under [tables.{name}] "
                             "in reidcheck.toml.")
    return kind, roles


# ----------------------------------------------------------------------------------------------
@dataclass
class Audit:
    """What a rule's check sees (``reidcheck.rules``): the engine (the table being judged registered
    as ``tbl``), the policy, and the findings, curves and anonymity sets of the report."""

    engine: object
    policy: Policy
    input: Path
    progress: object = None          # callable(done, total, label) or None: see run_audit
    places: pd.DataFrame | None = None
    utc_offset: float = 0.0
    findings: list = field(default_factory=list)
    curves: list = field(default_factory=list)
    anonymity_sets: list = field(default_factory=list)
    pseudonyms: dict = field(default_factory=dict)     # table name → (Table, distinct user values)
    manifest: dict = field(default_factory=dict)       # release.json / population.json of the input, if any
    _memo: dict = field(default_factory=dict)
    evaluations: int | None = None   # (table, rule) evaluations and finishing passes to run, once known
    evaluated: int = 0               # ... and finished

    @property
    def seed(self) -> int:
        return self.policy.seed

    def step(self, label: str) -> None:
        """Report the step under way (a rule may name its own steps within its evaluation)."""
        if self.progress is not None:
            self.progress(self.evaluated, self.evaluations, label)

    def rules_for(self, kind: str) -> list:
        """The enabled rules of the registry that apply to a table of ``kind``, in id order."""
        from . import rules

        return [r for r in rules.all_rules() if kind in r.kinds and self.policy.enabled(r.id)]

    def finishing(self) -> list:
        """The enabled rules with work over all tables, in id order."""
        from . import rules

        return [r for r in rules.all_rules() if r.finish is not None and self.policy.enabled(r.id)]

    def params(self, rule) -> dict:
        """The rule's settings under the policy: its registry defaults, overridden by [rules.ID]."""
        return self.policy.rule(rule.id)

    def memo(self, key, compute):
        """One computation per key while a table is judged (e.g. a k-anonymity run shared by rules)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def events(self, table: Table):
        """The trajectory table as ``events`` (a view over ``tbl``, generalized with the export's cells)."""
        def load():
            r = table.roles
            mapping = Mapping(user=r["user"], time=r["time"], place=r["place"],
                              lat=r["lat"] if not r["place"] else None, lon=r["lon"] if not r["place"] else None)
            return load_trajectories(self.engine, table.file, mapping, cells=self.places,
                                     utc_offset_h=self.utc_offset, source_relation="tbl")
        return self.memo((table.name, "events"), load)

    def done(self, table: Table) -> None:
        """Forget what was computed for ``table`` and drop its relations."""
        inp = self._memo.pop((table.name, "events"), None)
        if inp is not None:
            self.engine.drop(inp.relation)
        self._memo = {k: v for k, v in self._memo.items() if k[0] != table.name}

    @staticmethod
    def scored(res) -> bool:
        return bool(res.unique_rate) and res.unique_rate.get("value") is not None

    # -- findings ---------------------------------------------------------------------------
    def add(self, rule, table: Table, *, metric: str | None, value, interval, params: dict,
            message: str, result=None, status: str | None = None) -> None:
        settings = self.policy.rule(rule.id)
        if status is None:
            status, judged, threshold = judge(settings, value, interval, self.policy.judge)
            n = getattr(result, "n_targets", None)
            if status == "fail" and interval and self.policy.judge == "upper" and inconclusive(threshold, value, n):
                status = "inconclusive"
                message = (f"Inconclusive: {n:,} target(s), 95% CI {interval[0]:.1%}–{interval[1]:.1%} — with so few, "
                           f"not even a measured 0% could show the rate below the limit; the rule cannot decide on this "
                           f"table (the estimate, {value:.1%}, is within it). {message}")
        else:
            judged = None
            threshold = {"op": rule.op, "value": settings.get(rule.direction)}
        mode = self.policy.judge if interval else "value"
        limit = threshold["value"]
        if metric in ("unique_rate", "reversed_share", "correct_rate"):
            allowed = (f"the policy allows at most {limit:.1%}" if threshold["op"] == "<="
                       else f"the policy requires at least {limit:.1%}")
        else:
            allowed = f"the policy requires {'at most' if threshold['op'] == '<=' else 'at least'} {limit}"
        full = message if status == "not_applicable" else f"{message}; {allowed}."
        self.findings.append({
            "rule_id": rule.id, "rule": rule.name, "title": rule.title, "table": table.name, "file": str(table.file),
            "status": status, "metric": metric, "value": value, "interval": list(interval) if interval else None,
            "judged": judged, "judge": mode, "threshold": threshold, "message": full, "params": params,
            "result": result.to_dict() if result is not None else None})

    def rate(self, rule, table: Table, res, message: str) -> None:
        """A finding on ``res.unique_rate``, judged on its interval (not applicable when no target scored)."""
        if not self.scored(res):
            self.add(rule, table, metric=None, value=None, interval=None, params=res.params,
                     message=message.capitalize() + ".", result=res, status="not_applicable")
            return
        lo, hi = res.unique_rate["ci"]
        self.add(rule, table, metric="unique_rate", value=res.unique_rate["value"], interval=(lo, hi),
                 params=res.params, message=f"{message} (95% CI {lo:.1%}–{hi:.1%})", result=res)

    # -- the rules ----------------------------------------------------------------------------
    def judge_table(self, table: Table) -> None:
        """Every enabled rule of the registry that applies to the table's kind, in id order."""
        for rule in self.rules_for(table.kind):
            self.step(f"{table.name}: {rule.id} {rule.name}")
            rule.check(self, table, rule)
            self.evaluated += 1
        self.done(table)

    def finish(self) -> None:
        """The rules' work over all tables (one enumeration of the numbering plan)."""
        for rule in self.finishing():
            self.step(f"all tables: {rule.id} {rule.name}")
            rule.finish(self, rule)
            self.evaluated += 1


def _check_duplicates(engine, table: Table) -> None:
    cols = ", ".join(engine.quote(c) for c in table.columns)
    n = engine.query(f"SELECT (SELECT COUNT(*) FROM tbl) - (SELECT COUNT(*) FROM (SELECT DISTINCT {cols} FROM tbl) d) AS n")
    dup = int(n["n"][0])
    if dup:
        where = ""
        if engine.ordered_rows:
            first = engine.query(f"""SELECT MIN(rn) AS r FROM (
                SELECT rn, ROW_NUMBER() OVER (PARTITION BY {cols} ORDER BY rn) AS k
                FROM (SELECT *, ROW_NUMBER() OVER () AS rn FROM tbl) a) b WHERE k > 1""")["r"][0]
            where = f" (first at data row {int(first):,})"
        raise InputError(f"File '{table.file}': {dup:,} duplicated row(s){where}; a row "
                         f"repeated verbatim usually means a botched export. Set allow_duplicates = true under "
                         f"[tables.{table.name}] in reidcheck.toml if they are expected.")


def run_audit(engine, input_path, policy: Policy, *, progress=None, utc_offset: float | None = None,
              comparison: dict | None = None, argv: list[str] | None = None) -> dict:
    """Audit ``input_path`` under ``policy``; returns the report dictionary (``reidcheck.report``).

    ``progress``, if given, is called as ``progress(done, total, label)`` whenever a step starts
    (``label`` names it: a table being read, a rule on a table, a rule's own step) and once at the end
    with ``done == total``: ``done`` of ``total`` units finished, a unit being one rule evaluated on
    one table or one rule's pass over all tables. ``total`` is known from the first call (every table
    is classified from its header before any is read) and shrinks if a table has no data rows."""
    t0 = time.perf_counter()
    input_path = Path(input_path)
    files, ignored, manifest = discover(input_path)
    made_by_us = manifest.get("kind") == "reidcheck-release" or "tables" in manifest
    offset = check_utc_offset(utc_offset)
    if offset is None:
        offset = float(manifest.get("params", {}).get("utc_offset_h", 5.0)) if manifest else 0.0
    audit = Audit(engine, policy, input_path, progress, utc_offset=offset,
                  manifest=manifest if manifest.get("kind") == "reidcheck-release" else {})
    # Every option is checked and every table classified from its header before any data is read.
    entries = []
    for f in files:
        name = _stem(f)
        settings = policy.table(name)
        cols = table_columns(engine, f, delimiter=settings.get("delimiter"))
        if len(cols) == 1 and settings.get("delimiter"):
            raise InputError(f"File '{f}': a single column '{column_list(cols[:1])}' with delimiter "
                             f"{settings['delimiter']!r}; is the delimiter right?")
        kind, roles = classify(name, f, cols, settings)
        if settings.get("mapping"):
            for role, col in roles.items():
                if col is not None and role in ("user", "time", "place", "lat", "lon") and col not in cols:
                    raise InputError(f"File '{f}': column '{col}' (the {role} column of the mapping) not found; "
                                     f"columns are {column_list(cols)}.")
        entries.append((f, name, settings, kind, roles))
    audit.evaluations = sum(len(audit.rules_for(e[3])) for e in entries) + len(audit.finishing())
    # Each table is read once (places first: the trajectories are generalized with them), judged, and
    # dropped; only its distinct pseudonyms are kept, for one enumeration of the plan over all tables.
    entries.sort(key=lambda e: e[3] != "places")
    tables: list[Table] = []
    for f, name, settings, kind, roles in entries:
        audit.step(f"{name}: reading")
        info = load_table(engine, f, delimiter=settings.get("delimiter"), allow_empty=len(files) > 1,
                          text=kind not in ("trajectory", "places"))
        if info["rows"] == 0:      # one empty table of a directory (e.g. no trips abroad): nothing to judge
            ignored.append(f"{f.name} (no data rows)")
            audit.evaluations -= len(audit.rules_for(kind))
            engine.drop("tbl")
            continue
        t = Table(name, f, kind, info["rows"], [str(c) for c in info["columns"]], settings, roles)
        tables.append(t)
        if t.kind in ("trajectory", "travel", "tabular") and not (made_by_us or t.settings.get("allow_duplicates")):
            _check_duplicates(engine, t)
        if t.kind == "places":
            audit.places = load_places(engine, t.file, source_relation="tbl")
        audit.judge_table(t)
        engine.drop("tbl")
    if not tables:
        raise InputError(f"Input '{input_path}': every table is empty (no data rows); nothing can be judged.")
    tables.sort(key=lambda t: files.index(t.file))      # reported in the order of the files
    audit.finish()
    audit.step("finished")
    findings = audit.findings
    failed = sum(f["status"] == "fail" for f in findings)
    passed = sum(f["status"] == "pass" for f in findings)
    unsure = sum(f["status"] == "inconclusive" for f in findings)
    cmd = ["reidcheck", "audit", str(input_path), "--seed", str(policy.seed)]
    if policy.source != "default policy":
        cmd += ["--config", policy.source.split(" [")[0]]
    if argv:
        cmd = ["reidcheck", *argv]
    return {
        "schema": "reidcheck-audit", "version": 1, "tool": {"name": "reidcheck", "version": __version__},
        "input": str(input_path), "seed": policy.seed, "engine": engine.name,
        "config": {"source": policy.source, "judge": policy.judge},
        "verdict": "fail" if failed else "pass",
        "summary": {"tables": len(tables), "rules": len(findings), "passed": passed, "failed": failed,
                    "inconclusive": unsure, "not_applicable": len(findings) - passed - failed - unsure},
        "tables": [t.describe() for t in tables], "ignored_files": ignored,
        "findings": sorted(findings, key=lambda f: (f["status"] != "fail", f["table"], f["rule_id"])),
        "curves": audit.curves, "anonymity_sets": audit.anonymity_sets, "comparison": comparison,
        "reproduce": " ".join(shlex.quote(c) for c in cmd), "elapsed_s": round(time.perf_counter() - t0, 2),
    }


def inconclusive(threshold: dict, value, n) -> bool:
    """True when a share judged at the upper end of its 95% Wilson interval cannot pass whatever is
    measured: with ``n`` targets even 0 of n has an upper end 1.96² / (n + 1.96²) above the limit, so a
    failure would be a failure on evidence of nothing. Only for limits of the ``<=`` kind, and only
    when the estimate itself is within the limit (a measured excess still fails)."""
    if threshold.get("op") != "<=" or value is None or n is None or threshold.get("value") is None:
        return False
    limit, z2 = float(threshold["value"]), 1.959964 ** 2
    return value <= limit and z2 / (int(n) + z2) > limit


def exit_code(report: dict) -> int:
    return 1 if report["verdict"] == "fail" else 0


def validate_policy_against(policy: Policy) -> None:
    """The rules' parameters, checked before any data is read (UsageError on a bad value): every
    threshold is a finite number, and each rule with a ``validate`` hook accepts its settings."""
    from . import rules

    for rule in rules.all_rules():
        if not rule.kinds:        # run by `reidcheck attack` only: not in the policy
            continue
        settings = policy.rule(rule.id)
        limit = settings.get(rule.direction)
        if not isinstance(limit, (int, float)) or isinstance(limit, bool) or not np.isfinite(limit):
            raise UsageError(f"[rules.{rule.id}] threshold must be a number. Got {limit!r} instead.")
        if rule.validate is not None:
            rule.validate(settings)
