"""``reidcheck audit``: read an export, recognize its tables, run the rules that apply, judge them.

Input: one CSV/Parquet file or a directory of them (a population or release directory, or any folder
of exports). Each table's *kind* comes from the policy (``[tables.NAME] kind``) or from its columns:

* ``trajectory`` — a user column, a time column and a place (or lat/lon) column → RC201 unicity,
  RC202 top-N places, RC203 home/work, RC301 on the user column;
* ``travel`` — a user column, ``country`` and ``month`` (or ``depart_date``) → RC501, RC301;
* ``aggregate`` — place, time and a count column, no user column → RC204;
* ``tabular`` — quasi-identifier columns (age, gender, birth date, district, …) → RC101, RC104,
  RC102/RC103 when a sensitive column is configured, RC301 on an id column;
* ``places`` — a cells table (cell_id, lat, lon): reference data, used to generalize places.

Every table also gets RC302 (phone numbers, ID numbers or names in clear). Figures come from the
attacks of ``reidcheck.attacks``; without a truth map, the adversary's knowledge is drawn from the
export itself (``n_correct`` is null). Findings are judged by ``reidcheck.policy.judge``.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import InputError, UsageError
from .io import Mapping, load_table, load_trajectories
from .policy import Policy, judge
from .redact import column_list
from .report import RULES

TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".tsv", ".tsv.gz")
USER_COLS = ("pid", "subscriber_id", "user_id", "user", "uid", "customer_id", "imsi", "msisdn_hash", "msisdn")
TIME_COLS = ("timestamp", "datetime", "time", "event_time", "start_time", "ts")
PLACE_COLS = ("cell_id", "cell", "place", "antenna_id", "site_id", "location_id", "venue_id")
LAT_COLS, LON_COLS = ("lat", "latitude"), ("lon", "lng", "longitude")
COUNT_COLS = ("users", "count", "n", "visitors", "subscribers")
QI_COLS = ("age", "gender", "sex", "birth_date", "birth_year", "date_of_birth", "dob", "home_district", "district",
           "province", "zip", "zipcode", "postcode", "race", "marital-status", "marital_status", "education")
NAME_COLS = ("name", "full_name", "first_name", "last_name", "surname", "customer_name")
ID_COLS = ("msisdn", "cnic", "phone", "phone_number", "mobile", "national_id", "counterpart_msisdn")
PHONE = re.compile(r"^(\+?92|0)3\d{9}$")
CNIC = re.compile(r"^\d{5}-?\d{7}-?\d$")
HEX = re.compile(r"^[0-9a-f]+$")


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


def _scored(res) -> bool:
    return bool(res.unique_rate) and res.unique_rate.get("value") is not None


# ----------------------------------------------------------------------------------------------
@dataclass
class Auditor:
    engine: object
    policy: Policy
    input: Path
    progress: object = None          # callable(label) or None
    findings: list = field(default_factory=list)
    _pseudonyms: dict = field(default_factory=dict)
    _reversed: dict = field(default_factory=dict)
    curves: list = field(default_factory=list)
    anonymity_sets: list = field(default_factory=list)

    def step(self, label: str) -> None:
        if self.progress is not None:
            self.progress(label)

    # -- findings ---------------------------------------------------------------------------
    def add(self, rule_id: str, table: Table, *, metric: str | None, value, interval, params: dict,
            message: str, result=None, status: str | None = None) -> None:
        rule = self.policy.rule(rule_id)
        if status is None:
            status, judged, threshold = judge(rule, value, interval, self.policy.judge)
        else:
            judged = None
            threshold = {"op": "<=" if "max" in rule else ">=", "value": rule.get("max", rule.get("min"))}
        mode = self.policy.judge if interval else "value"
        name, title = RULES[rule_id]
        limit = threshold["value"]
        if metric in ("unique_rate", "reversed_share"):
            allowed = (f"the policy allows at most {limit:.1%}" if threshold["op"] == "<="
                       else f"the policy requires at least {limit:.1%}")
        else:
            allowed = f"the policy requires {'at most' if threshold['op'] == '<=' else 'at least'} {limit}"
        full = message if status == "not_applicable" else f"{message}; {allowed}."
        self.findings.append({
            "rule_id": rule_id, "rule": name, "title": title, "table": table.name, "file": str(table.file),
            "status": status, "metric": metric, "value": value, "interval": list(interval) if interval else None,
            "judged": judged, "judge": mode, "threshold": threshold, "message": full, "params": params,
            "result": result.to_dict() if result is not None else None})

    # -- per kind -----------------------------------------------------------------------------
    def trajectory(self, table: Table, cells: Path | None, utc_offset: float | None) -> None:
        from .attacks import HomeWork, TopN, Unicity, UnicityCurve

        r = table.roles
        mapping = Mapping(user=r["user"], time=r["time"], place=r["place"],
                          lat=r["lat"] if not r["place"] else None, lon=r["lon"] if not r["place"] else None)
        inp = load_trajectories(self.engine, table.file, mapping, cells=cells, utc_offset_h=utc_offset)
        seed = self.policy.seed
        if self.policy.enabled("RC201"):
            self.step(f"{table.name}: unicity")
            rule = self.policy.rule("RC201")
            attack = Unicity(points=rule["points"], time_bin=rule["time_bin"], space=rule["space"],
                             targets=rule["targets"], seed=seed)
            res = attack.run(self.engine, inp)
            self._rate("RC201", table, res, f"{res.unique_rate['value']:.1%} of {res.n_targets:,} targets are singled "
                       f"out by {rule['points']} points at {res.params['time_bin']} × {res.params['space']}"
                       if _scored(res) else "no target could be scored")
            if res.anonymity_set:
                self.anonymity_sets.append({"table": table.name, "rule_id": "RC201",
                                            "histogram": res.anonymity_set.get("histogram", {})})
            self.step(f"{table.name}: unicity curves")
            resolutions = [(rule["time_bin"], rule["space"])]
            coarse = ("1d", "district") if inp.places is not None and "district" in inp.places.columns else ("1d", "grid:10km")
            if inp.has_coords or coarse[1] == "district":
                resolutions.append(("4h", rule["space"]))
                resolutions.append(coarse)
            targets = min(int(rule["targets"]), 2000) if str(rule["targets"]).isdigit() else 2000
            res_curve = UnicityCurve(max_points=5, resolutions=tuple(resolutions), targets=targets,
                                     seed=seed).run(self.engine, inp)
            groups: dict = {}
            for x in res_curve:
                groups.setdefault((x.params["time_bin"], x.params["space"]), []).append(x)
            for (tb, sp), pts in groups.items():
                self.curves.append({"table": table.name, "time_bin": tb, "space": sp,
                                    "points": [x.params["points"] for x in pts],
                                    "unique_rate": [x.unique_rate for x in pts]})
        if self.policy.enabled("RC202"):
            self.step(f"{table.name}: top places")
            rule = self.policy.rule("RC202")
            res = TopN(n=rule["n"], space=rule["space"]).run(self.engine, inp)
            self._rate("RC202", table, res, f"{res.unique_rate['value']:.1%} of {res.n_targets:,} users are singled out "
                       f"by their top-{rule['n']} places ({res.params['space']})" if _scored(res) else "no user")
        if self.policy.enabled("RC203"):
            self.step(f"{table.name}: home and work")
            rule = self.policy.rule("RC203")
            res = HomeWork(space=rule["space"]).run(self.engine, inp)
            self._rate("RC203", table, res, f"{res.unique_rate['value']:.1%} of {res.n_targets:,} users with a home and a "
                       f"work place are singled out by the pair ({res.params['space']})"
                       if _scored(res) else "no user has both a night and a workday place")
        self.engine.drop(inp.relation)

    def _rate(self, rule_id: str, table: Table, res, message: str) -> None:
        if not _scored(res):
            self.add(rule_id, table, metric=None, value=None, interval=None, params=res.params,
                     message=message.capitalize() + ".", result=res, status="not_applicable")
            return
        lo, hi = res.unique_rate["ci"]
        self.add(rule_id, table, metric="unique_rate", value=res.unique_rate["value"], interval=(lo, hi),
                 params=res.params, message=f"{message} (95% CI {lo:.1%}–{hi:.1%})", result=res)

    def tabular(self, table: Table) -> None:
        from .attacks.inputs import TableInput
        from .attacks.tabular import KAnonymity, LDiversity, TCloseness

        settings = table.settings
        qi = settings.get("qi") or self.policy.rule("RC101").get("qi") or [c for c in table.columns
                                                                         if c.lower() in QI_COLS]
        missing = [c for c in qi if c not in table.columns]
        if missing:
            raise InputError(f"File '{table.file}': quasi-identifier column '{missing[0]}' not found.")
        if self.policy.enabled("RC101") or self.policy.enabled("RC104"):
            self.step(f"{table.name}: k-anonymity")
            rule = self.policy.rule("RC101")
            res = KAnonymity(qi=tuple(qi), k=int(rule["min"])).run(self.engine, TableInput("tbl", str(table.file)))
            x = res.extra
            if self.policy.enabled("RC101"):
                self.add("RC101", table, metric="k", value=x["k"], interval=None, params={"qi": qi, "k": rule["min"]},
                         message=f"The smallest class of ({', '.join(qi)}) has {x['k']:,} record(s); "
                                 f"{x['records_below_k']['value']:.1%} of records are in classes below {rule['min']}",
                         result=res)
            if self.policy.enabled("RC104"):
                high = x["prosecutor_risk"]["highest"]
                self.add("RC104", table, metric="prosecutor_risk", value=high, interval=None, params={"qi": qi},
                         message=f"The highest probability of re-identifying a record from ({', '.join(qi)}) is "
                                 f"{high:.2f} (average {x['prosecutor_risk']['average']:.3f})", result=res)
            if res.anonymity_set:
                self.anonymity_sets.append({"table": table.name, "rule_id": "RC101",
                                            "histogram": res.anonymity_set.get("histogram", {})})
        sensitive = settings.get("sensitive") or self.policy.rule("RC102").get("sensitive")
        for rid in ("RC102", "RC103"):
            if not self.policy.enabled(rid):
                continue
            if not sensitive:
                self.add(rid, table, metric=None, value=None, interval=None, params={}, status="not_applicable",
                         message="No sensitive column is configured (set `sensitive` under [tables."
                                 f"{table.name}] to check it).")
                continue
            if sensitive not in table.columns:
                raise InputError(f"File '{table.file}': sensitive column '{sensitive}' not found.")
            rule = self.policy.rule(rid)
            if rid == "RC102":
                res = LDiversity(qi=tuple(qi), sensitive=sensitive, l=float(rule["min"]),
                                 variant=rule["variant"]).run(self.engine, TableInput("tbl", str(table.file)))
                self.add(rid, table, metric="l", value=res.extra["l"], interval=None,
                         params={"qi": qi, "sensitive": sensitive, "variant": rule["variant"]},
                         message=f"The least diverse class holds {res.extra['l']:g} distinct value(s) of '{sensitive}'",
                         result=res)
            else:
                res = TCloseness(qi=tuple(qi), sensitive=sensitive, t=float(rule["max"])).run(
                    self.engine, TableInput("tbl", str(table.file)))
                self.add(rid, table, metric="t", value=res.extra["t"], interval=None,
                         params={"qi": qi, "sensitive": sensitive},
                         message=f"The farthest class's distribution of '{sensitive}' is {res.extra['t']:.3f} from "
                                 "the table's", result=res)

    def travel(self, table: Table) -> None:
        from .attacks import TravelLinkage

        if not self.policy.enabled("RC501"):
            return
        self.step(f"{table.name}: travel")
        r = table.roles
        q = self.engine.quote
        trips = self.engine.query(f"SELECT CAST({q(r['user'])} AS STRING) AS pid, CAST({q(r['country'])} AS STRING) "
                                  f"AS country, CAST({q(r['month'])} AS STRING) AS month FROM tbl")
        rule = self.policy.rule("RC501")
        if trips.empty:
            self.add("RC501", table, metric=None, value=None, interval=None, params={}, status="not_applicable",
                     message="The table has no trips.")
            return
        res = TravelLinkage(known_trips=int(rule["known_trips"]), seed=self.policy.seed).run(self.engine, trips)
        self._rate("RC501", table, res, f"{res.unique_rate['value']:.1%} of {res.n_targets:,} travellers are singled "
                   f"out by {rule['known_trips']} known trip(s) (country, month)" if _scored(res) else "no traveller")

    def aggregate(self, table: Table) -> None:
        if not self.policy.enabled("RC204"):
            return
        col = table.roles["count"]
        v = self.engine.query(f"SELECT MIN(TRY_CAST({self.engine.quote(col)} AS DOUBLE)) AS m, COUNT(*) AS n "
                              "FROM tbl").iloc[0]
        smallest = None if pd.isna(v["m"]) else float(v["m"])
        if smallest is None:
            self.add("RC204", table, metric=None, value=None, interval=None, params={"column": col},
                     status="not_applicable", message="The aggregate has no counts.")
            return
        self.add("RC204", table, metric="min_count", value=smallest, interval=None, params={"column": col},
                 message=f"The smallest of {int(v['n']):,} released counts ('{col}') is {smallest:g}")

    def identifiers(self, table: Table) -> None:
        """RC302: columns named like or holding phone numbers, ID numbers or names (values never shown)."""
        if not self.policy.enabled("RC302"):
            return
        flagged = []
        for c in table.columns:
            low = c.lower()
            if low in NAME_COLS or low in ID_COLS:
                flagged.append(f"{c} (by name)")
                continue
            qc = self.engine.quote(c)
            sample = self.engine.query(f"SELECT CAST({qc} AS STRING) AS v FROM tbl WHERE {qc} IS NOT NULL LIMIT 2000")
            vals = sample["v"].astype(str).str.strip()
            if len(vals) and (vals.str.match(PHONE).mean() > 0.5 or vals.str.match(CNIC).mean() > 0.5):
                flagged.append(f"{c} (by content)")
        self.add("RC302", table, metric="columns", value=len(flagged), interval=None, params={"columns": flagged},
                 message=(f"{len(flagged)} column(s) hold direct identifiers in clear: {', '.join(flagged)}"
                          if flagged else "No column holds phone numbers, ID numbers or names in clear"))

    def collect_pseudonyms(self, table: Table) -> None:
        """Remember the distinct values of the user column (read before any table is materialized),
        so that the numbering plan is enumerated once for all tables."""
        col = table.roles.get("user")
        if not self.policy.enabled("RC301") or not col or table.kind not in ("trajectory", "travel", "tabular"):
            return
        values = self.engine.query(f"SELECT DISTINCT CAST({self.engine.quote(col)} AS STRING) AS p FROM tbl")["p"].dropna()
        self._pseudonyms[table.name] = values.astype(str).str.strip().str.lower()

    def reverse_all(self) -> None:
        """One enumeration of the budgeted plan slice over every table's hash-shaped pseudonyms."""
        from .attacks.pseudonyms import detect_algorithm, reverse_plan_slice

        shaped = {}
        for values in self._pseudonyms.values():
            algo = detect_algorithm(values.tolist()) if len(values) and values.str.match(HEX).all() else None
            if algo is not None:
                shaped.setdefault(algo, set()).update(values.tolist())
        for algo, values in shaped.items():
            self.step(f"reversing {algo} pseudonyms")
            rev = reverse_plan_slice(sorted(values), budget=int(self.policy.rule("RC301")["budget"]))
            self._reversed[algo] = (rev.reversed, rev.result.extra["candidates_hashed"], rev.full_plan_minutes,
                                    rev.serial_hi, rev.result.extra["plan_hashes_per_s"])

    def pseudonyms(self, table: Table) -> None:
        """RC301 on the user column: unsalted hashes of phone numbers, reversed within a budget. The
        share is exact over the table's distinct pseudonyms (no sampling), so it is judged as is."""
        from .attacks.pseudonyms import detect_algorithm
        from .numbering import PLAN_PREFIXES
        from .stats import rate

        if table.name not in self._pseudonyms:
            return
        col, values = table.roles["user"], self._pseudonyms[table.name]
        algo = detect_algorithm(values.tolist()) if len(values) and values.str.match(HEX).all() else None
        if algo is None:
            self.add("RC301", table, metric="reversed_share", value=0.0, interval=None, params={"column": col},
                     message=f"Column '{col}' does not hold hash-shaped pseudonyms (32, 40 or 64 hex digits); "
                             "nothing to reverse by enumeration")
            return
        found, hashed, minutes, serial_hi, per_s = self._reversed[algo]
        n, k = len(values), int(values.isin(found).sum())
        r = rate(k, n)
        self.add("RC301", table, metric="reversed_share", value=r["value"], interval=None,
                 params={"column": col, "budget": int(self.policy.rule("RC301")["budget"]),
                         "prefix": PLAN_PREFIXES[0], "serials": [0, serial_hi]},
                 message=(f"Column '{col}' holds {algo.upper()}-shaped pseudonyms: {k:,} of {n:,} reversed to phone "
                          f"numbers within {hashed:,} hashes (prefix {PLAN_PREFIXES[0]}, first {serial_hi:,} serials, "
                          f"{per_s or 0:,} hashes/s); the whole national plan takes ≈ {minutes:.0f} min"
                          if k else
                          f"Column '{col}' holds {algo.upper()}-shaped pseudonyms; none reversed within {hashed:,} "
                          "hashes (keyed hashes or tokens look the same; raise [rules.RC301] budget for a stronger "
                          "check)"))


def _check_duplicates(engine, table: Table) -> None:
    cols = ", ".join(engine.quote(c) for c in table.columns)
    n = engine.query(f"SELECT (SELECT COUNT(*) FROM tbl) - (SELECT COUNT(*) FROM (SELECT DISTINCT {cols} FROM tbl) d) AS n")
    dup = int(n["n"][0])
    if dup:
        first = engine.query(f"""SELECT MIN(rn) AS r FROM (
            SELECT rn, ROW_NUMBER() OVER (PARTITION BY {cols} ORDER BY rn) AS k
            FROM (SELECT *, ROW_NUMBER() OVER () AS rn FROM tbl) a) b WHERE k > 1""")["r"][0]
        raise InputError(f"File '{table.file}': {dup:,} duplicated row(s) (first at data row {int(first):,}); a row "
                         f"repeated verbatim usually means a botched export. Set allow_duplicates = true under "
                         f"[tables.{table.name}] in reidcheck.toml if they are expected.")


def run_audit(engine, input_path, policy: Policy, *, progress=None, utc_offset: float | None = None,
              comparison: dict | None = None, argv: list[str] | None = None) -> dict:
    """Audit ``input_path`` under ``policy``; returns the report dictionary (``reidcheck.report``)."""
    t0 = time.perf_counter()
    input_path = Path(input_path)
    files, ignored, manifest = discover(input_path)
    made_by_us = manifest.get("kind") == "reidcheck-release" or "tables" in manifest
    auditor = Auditor(engine, policy, input_path, progress)
    tables: list[Table] = []
    for f in files:
        name = _stem(f)
        settings = policy.table(name)
        info = load_table(engine, f, delimiter=settings.get("delimiter"), materialize=False,
                          allow_empty=len(files) > 1)
        if info["rows"] == 0:      # one empty table of a directory (e.g. no trips abroad): nothing to judge
            ignored.append(f"{f.name} (no data rows)")
            continue
        cols = [str(c) for c in info["columns"]]
        if len(cols) == 1 and settings.get("delimiter"):
            raise InputError(f"File '{f}': a single column '{column_list(cols[:1])}' with delimiter "
                             f"{settings['delimiter']!r}; is the delimiter right?")
        kind, roles = classify(name, f, cols, settings)
        if settings.get("mapping"):
            for role, col in roles.items():
                if col is not None and role in ("user", "time", "place", "lat", "lon") and col not in cols:
                    raise InputError(f"File '{f}': column '{col}' (the {role} column of the mapping) not found; "
                                     f"columns are {column_list(cols)}.")
        table = Table(name, f, kind, info["rows"], cols, settings, roles)
        auditor.collect_pseudonyms(table)
        tables.append(table)
    if not tables:
        raise InputError(f"Input '{input_path}': every table is empty (no data rows); nothing can be judged.")
    auditor.reverse_all()
    cells = next((t.file for t in tables if t.kind == "places"), None)
    for t in tables:
        auditor.step(f"{t.name}: reading")
        load_table(engine, t.file, delimiter=t.settings.get("delimiter"))
        if t.kind in ("trajectory", "travel", "tabular") and not (made_by_us or t.settings.get("allow_duplicates")):
            _check_duplicates(engine, t)
        auditor.identifiers(t)
        if t.kind == "places":
            continue
        if t.kind in ("trajectory", "travel", "tabular"):
            auditor.pseudonyms(t)
        if t.kind == "trajectory":
            offset = utc_offset
            if offset is None:
                offset = float(manifest.get("params", {}).get("utc_offset_h", 5.0)) if manifest else 0.0
            auditor.trajectory(t, cells, offset)
        elif t.kind == "tabular":
            auditor.tabular(t)
        elif t.kind == "travel":
            auditor.travel(t)
        elif t.kind == "aggregate":
            auditor.aggregate(t)
    findings = auditor.findings
    failed = sum(f["status"] == "fail" for f in findings)
    passed = sum(f["status"] == "pass" for f in findings)
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
                    "not_applicable": len(findings) - passed - failed},
        "tables": [t.describe() for t in tables], "ignored_files": ignored,
        "findings": sorted(findings, key=lambda f: (f["status"] != "fail", f["table"], f["rule_id"])),
        "curves": auditor.curves, "anonymity_sets": auditor.anonymity_sets, "comparison": comparison,
        "reproduce": " ".join(shlex.quote(c) for c in cmd), "elapsed_s": round(time.perf_counter() - t0, 2),
    }


def exit_code(report: dict) -> int:
    return 1 if report["verdict"] == "fail" else 0


def validate_policy_against(policy: Policy) -> None:
    """Parameters of the rules that are checked before any data is read (UsageError on a bad value)."""
    from .attacks import HomeWork, TopN, Unicity

    r = policy.rule("RC201")
    Unicity(points=r["points"], time_bin=r["time_bin"], space=r["space"], targets=r["targets"]).validate()
    TopN(n=policy.rule("RC202")["n"], space=policy.rule("RC202")["space"]).validate()
    HomeWork(space=policy.rule("RC203")["space"]).validate()
    for rid, rule in policy.doc["rules"].items():
        limit = rule.get("max", rule.get("min"))
        if not isinstance(limit, (int, float)) or isinstance(limit, bool) or not np.isfinite(limit):
            raise UsageError(f"[rules.{rid}] threshold must be a number. Got {limit!r} instead.")
