"""Reading inputs: canonical tables, any CSV/Parquet through a column mapping, check-in data.

The one place that touches files. ``load_trajectories`` registers on an engine a relation ``events``
with normalized columns:

* ``uid`` BIGINT — the user (integer ids are kept; other ids get dense integer codes),
* ``t`` BIGINT — epoch seconds UTC (timestamps without a zone are taken as UTC),
* ``place`` BIGINT or NULL — a place id (cell, venue), when the input has one,
* ``lat``, ``lon`` DOUBLE or NULL — coordinates, when the input has them,
* ``ukey`` STRING — the user column as text (to join a truth map on the released pseudonym),
* ``kind`` STRING or NULL — the record's ``event_type/direction`` when the table has those columns,
* ``dur`` DOUBLE or NULL — the record's duration in seconds (``duration_s``) when the table has it,

and returns a ``TrajectoryInput`` describing it (and, when known, a table of place coordinates and
administrative areas for spatial generalization). Errors name the file, the column and, where
possible, the row; they never quote values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, ReidcheckError, UsageError
from .redact import check_header, column_list, headerless, scrub

ROLES = ("user", "time", "place", "lat", "lon")
#: Columns whose values make a record's *kind* (``kind`` = their values joined by '/'), when present.
KIND_COLS = ("event_type", "direction")
#: The column of a record's duration in seconds (calls, data sessions), when present.
DUR_COL = "duration_s"

#: Presets for known public formats (headerless files).
PRESETS = {
    # Gowalla check-ins (SNAP): user id, ISO UTC time, lat, lon, location id; tab-separated.
    "gowalla": {"columns": ["user", "time", "lat", "lon", "place"], "delim": "\t",
                "mapping": {"user": "user", "time": "time", "lat": "lat", "lon": "lon", "place": "place"}},
}


@dataclass(frozen=True)
class Mapping:
    """Which input column plays which role. ``place`` or both ``lat`` and ``lon`` are required."""

    user: str
    time: str
    place: str | None = None
    lat: str | None = None
    lon: str | None = None
    time_unit: str = "s"   # for integer times: s, ms, us

    @classmethod
    def parse(cls, text: str) -> "Mapping":
        """``user=uid,time=datetime,place=cell`` or ``user=u,time=t,lat=y,lon=x[,time_unit=ms]``."""
        parts = {}
        for item in filter(None, (p.strip() for p in str(text).split(","))):
            if "=" not in item:
                raise UsageError(f"Mapping item {item!r} must be role=column (roles: {', '.join(ROLES)}).")
            k, v = (s.strip() for s in item.split("=", 1))
            if k not in ROLES + ("time_unit",):
                raise UsageError(f"Mapping role {k!r} is unknown; roles are {', '.join(ROLES)} and time_unit.")
            if k in parts:
                raise UsageError(f"Mapping names the role '{k}' twice.")
            parts[k] = v
        cols = [v for k, v in parts.items() if k != "time_unit"]
        twice = sorted({c for c in cols if cols.count(c) > 1})
        if twice:
            roles = [k for k, v in parts.items() if v == twice[0] and k != "time_unit"]
            raise UsageError(f"Mapping names column '{twice[0]}' twice (as {' and '.join(roles)}); each role needs "
                             "its own column.")
        for required in ("user", "time"):
            if required not in parts:
                raise UsageError(f"Mapping must name the `{required}` column (e.g. {required}=<column>).")
        if "place" not in parts and not ("lat" in parts and "lon" in parts):
            raise UsageError("Mapping must name a `place` column or both `lat` and `lon` columns.")
        if parts.get("time_unit", "s") not in ("s", "ms", "us"):
            raise UsageError(f"Mapping time_unit must be s, ms or us. Got {parts['time_unit']!r} instead.")
        return cls(**parts)


CANONICAL = Mapping(user="subscriber_id", time="timestamp", place="cell_id")
#: Releases written by ``reidcheck anonymize``: a pseudonym, times, and cells or (noisy) coordinates.
RELEASE = Mapping(user="pid", time="timestamp", place="cell_id")
RELEASE_COORDS = Mapping(user="pid", time="timestamp", lat="lat", lon="lon")


@dataclass
class TrajectoryInput:
    """A registered ``events`` relation and what is known about its places."""

    source: str
    has_place: bool
    has_coords: bool
    places: pd.DataFrame | None = None     # place, lat, lon, site_id, district, province
    utc_offset_h: float = 0.0
    meta: dict = field(default_factory=dict)
    relation: str = "events"


def check_output(path, *, directory: bool = False) -> Path:
    """Validate an output path before any work starts (UsageError naming it): an existing path must
    be a regular file (or, with ``directory``, a directory) — never a device, FIFO or socket, so that
    ``--html /dev/full`` cannot replace a device node — and the nearest existing ancestor must be a
    writable directory. Nothing is created."""
    p = Path(path)
    if p.exists() or p.is_symlink():
        if directory and not p.is_dir():
            raise UsageError(f"Output '{p}' exists and is not a directory.")
        if not directory and not p.is_file():
            what = "a directory" if p.is_dir() else "not a regular file"
            raise UsageError(f"Output '{p}' exists and is {what}; give the path of a file to write.")
    what = "output directory" if directory else "output file"
    parent = p.parent if str(p.parent) else Path(".")
    while not parent.exists():
        if parent.is_symlink():    # a dangling link
            raise UsageError(f"Cannot write to {what} '{p}': '{parent}' is a broken link.")
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"Cannot write to {what} '{p}': '{parent}' is not a directory.")
    import os

    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"Cannot write to {what} '{p}': permission denied in '{parent}'.")
    return p


def write_files(outputs: dict) -> None:
    """Write every ``{path: str | bytes}`` whole, all or nothing: each path is checked first, each
    content goes to a temporary sibling, then all are renamed into place. On any failure (including
    Ctrl-C) no temporary file remains and no output of this call is left behind. OSError becomes
    one UsageError naming the path."""
    import os
    import tempfile

    paths = [check_output(p) for p in outputs]
    if len({q.resolve() for q in paths}) != len(paths):
        raise UsageError("Two outputs name the same file.")
    temps: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    current = None
    try:
        for path, data in zip(paths, outputs.values()):
            current = path
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps.append((Path(tmp), path))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            os.chmod(tmp, 0o666 & ~_umask())
        for tmp, path in temps:
            current = path
            os.replace(tmp, path)
            placed.append(path)
    except BaseException as exc:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        for path in placed:
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise UsageError(f"Cannot write to output file '{current}': {exc.strerror or exc}.") from None
        raise


def write_text_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` whole (``write_files`` with one file)."""
    write_files({path: text})


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_toml(path, what: str) -> dict:
    """A TOML file as a dict; a missing, unreadable or malformed file is one InputError naming ``what``
    and the path (a TOML error names the line, never quotes it)."""
    import tomllib

    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} '{path}' is a directory; give the TOML file.")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{what} '{path}' does not exist.") from None
    except UnicodeDecodeError:
        raise InputError(f"{what} '{path}': not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{what} '{path}': not valid TOML ({scrub(exc)}).") from None
    except OSError as exc:
        raise InputError(f"{what} '{path}': cannot be read ({exc.strerror or type(exc).__name__}).") from None


#: Local time is UTC + this many hours; real zones lie within [-12, +14].
UTC_OFFSET_RANGE = (-12.0, 14.0)
#: Times outside [1990-01-01, now + 1 year) are implausible for an operator's export.
PLAUSIBLE_FROM = 631_152_000          # 1990-01-01T00:00:00Z, epoch seconds


def check_utc_offset(value) -> float | None:
    """``--utc-offset``: None, or a finite number of hours in [-12, 14] (UsageError otherwise)."""
    if value is None:
        return None
    import math

    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    lo, hi = UTC_OFFSET_RANGE
    if not math.isfinite(v) or not lo <= v <= hi:
        raise UsageError(f"Option `--utc-offset` must be a number of hours between {lo:g} and {hi:g}. "
                         f"Got {value!r} instead.")
    return v


def plausible_until() -> int:
    """Epoch seconds one year (365 days) from now: later times are refused as implausible."""
    import time

    return int(time.time()) + 365 * 86_400


def engine_error(file, exc: Exception) -> InputError:
    """A reading error of the engine as one line naming the file, column and line; never a value."""
    import re

    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    where = f" (line {int(line.group(1)):,} of the file)" if line else ""
    if "not utf-8" in text.lower() or "invalid unicode" in text.lower():
        return InputError(f"File '{file}': not UTF-8 text{where}; convert it first (e.g. iconv -f latin1 -t utf-8).")
    col = re.search(r'converting column "([^"]+)"', text)
    typ = re.search(r"to '([A-Z]+)'", text)
    if col:
        return InputError(f"File '{file}', column '{col.group(1)}': a value that is not "
                          f"{'a ' + typ.group(1) if typ else 'of the column type'}{where}.")
    return InputError(f"File '{file}': cannot be read ({scrub(text)}){where}.")


def file_dialect(engine, path, delimiter: str | None = None):
    """How to read a table file: None for Parquet (a file, or a dataset folder behind a URI), else its
    CSV dialect, detected once from the content (``reidcheck.dialect``) or, for a URI the engine reads
    where it is, from the name. InputError for any other format."""
    from .dialect import CsvDialect, detect_csv, normalize_delimiter

    low = str(path).lower()
    name = low.rstrip("/").rsplit("/", 1)[-1]
    remote = is_uri(path) and engine.reads_uris
    if low.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt")):
        if remote:
            return CsvDialect(delimiter=normalize_delimiter(delimiter) or ("\t" if ".tsv" in name else ","),
                              compression="gzip" if low.endswith(".gz") else None)
        return detect_csv(path, delimiter)
    if low.endswith((".parquet", ".pq")) or (remote and "." not in name):
        return None
    raise InputError(f"File '{path}': unknown format (expected .parquet, .csv, .tsv, optionally .gz).")


def is_uri(path) -> bool:
    """``hdfs://…``, ``s3a://…``, ``file://…``: paths only an engine like Spark reads."""
    return "://" in str(path)


def resolve_input(path, table: str = "cdr") -> tuple[Path, Path | None, dict]:
    """A population directory → its ``table`` file, cells file and manifest; a file → itself.
    A URI (``hdfs://``, ``s3a://``) is passed on as it is (a file or a dataset folder of the table)."""
    if is_uri(path):
        return path, None, {}
    path = Path(path)
    if not path.exists():
        raise InputError(f"Input '{path}' does not exist.")
    if path.is_dir():
        manifest_path = path / "population.json"
        if not manifest_path.exists():
            manifest_path = path / "release.json"   # a release written by `reidcheck anonymize`
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        candidates = sorted(path.glob(f"{table}.*"))
        if not candidates:
            raise InputError(f"Directory '{path}' has no '{table}' table (expected {table}.parquet or {table}.csv).")
        cells = sorted(path.glob("cells.*"))
        return candidates[0], (cells[0] if cells else None), manifest
    return path, None, {}


def load_places(engine, cells_path: Path, source_relation: str | None = None) -> pd.DataFrame:
    """Cell locations and areas: place, lat, lon, site_id, district, province (site etc. may be absent).
    ``source_relation``: the file is already registered (typed) under this name."""
    if source_relation is None:
        dialect = file_dialect(engine, cells_path)
        _register_file(engine, cells_path, "__cells", dialect=dialect)
    rel = source_relation or "__cells"
    cols = engine.columns(rel)
    need = {"cell_id", "lat", "lon"}
    missing = need - set(cols)
    if missing:
        raise InputError(f"File '{cells_path}': column '{sorted(missing)[0]}' not found.")
    extra = [c for c in ("site_id", "district", "province") if c in cols]
    df = engine.query(f"SELECT cell_id AS place, lat, lon{''.join(', ' + c for c in extra)} FROM {rel}")
    if source_relation is None:
        engine.drop("__cells")
    if df["place"].isna().any() or df["place"].duplicated().any():
        raise InputError(f"File '{cells_path}': column 'cell_id' has missing or repeated values.")
    return df


def load_trajectories(engine, path, mapping: Mapping | str | None = None, *, table: str = "cdr",
                      cells=None, utc_offset_h: float | None = None, relation: str = "events",
                      plausible_times: bool | None = None, source_relation: str | None = None) -> TrajectoryInput:
    """Register ``relation`` on ``engine`` from a population directory, a file, a preset format, or
    a pandas DataFrame (``path`` may be one; then ``cells`` may be a DataFrame too). Times before 1990
    or more than a year from now are refused when ``plausible_times`` is true (default: for files, the
    exports the CLI reads; a DataFrame from Python code may use any epoch, e.g. small test times).
    ``source_relation``: the file ``path`` is already registered under this name (read once by the
    caller); the events are a view over it."""
    preset = None
    utc_offset_h = check_utc_offset(utc_offset_h)
    if plausible_times is None:
        plausible_times = not isinstance(path, pd.DataFrame)
    if isinstance(path, pd.DataFrame):
        engine.register(f"__df_{relation}", path)
        file, cells_file, manifest = Path(f"<DataFrame {relation}>"), None, {}
        reader = f"__df_{relation}"
    else:
        file, cells_file, manifest = resolve_input(path, table)
        reader = None
    if isinstance(mapping, str) and mapping in PRESETS:
        preset = PRESETS[mapping]
        mapping = Mapping(**preset["mapping"])
    elif isinstance(mapping, str):
        mapping = Mapping.parse(mapping)
    if source_relation is not None:         # already read (once) by the caller, e.g. the audit
        reader = source_relation
    elif reader is None:
        reader = f"__file_{relation}"
        if preset is not None:               # a known headerless format: its columns, as text
            from dataclasses import replace

            dialect = replace(file_dialect(engine, file, preset["delim"]), header=False)
            _register_file(engine, file, reader, dialect=dialect, text=True, names=preset["columns"])
        else:
            dialect = file_dialect(engine, file)
            if dialect is not None and not dialect.header:
                raise headerless(file)
            _register_file(engine, file, reader, dialect=dialect)
    try:
        engine.register("__raw", f"SELECT * FROM {reader} LIMIT 0")
    except Exception as exc:  # the engine's own parse error, reduced to one line
        raise engine_error(file, exc) from None
    cols = engine.columns("__raw")
    if preset is None:
        check_header(file, cols)
    if mapping is None:
        if {"subscriber_id", "timestamp", "cell_id"} <= set(cols):
            mapping = CANONICAL
        elif {"pid", "timestamp", "cell_id"} <= set(cols):
            mapping = RELEASE
        elif {"pid", "timestamp", "lat", "lon"} <= set(cols):
            mapping = RELEASE_COORDS
        else:
            raise UsageError(f"File '{file}' is not a canonical cdr/pings table; give a column mapping "
                             "(e.g. --mapping user=uid,time=datetime,lat=lat,lon=lon).")
    for role in ROLES:
        col = getattr(mapping, role)
        if col is not None and col not in cols:
            raise InputError(f"File '{file}': column '{col}' (the {role} column) not found; "
                             f"columns are {column_list(cols)}.")
    ctype = {role: cols[getattr(mapping, role)] for role in ROLES if getattr(mapping, role)}

    # Users: integer ids are kept; other ids get dense integer codes.
    if _is_integer(ctype["user"]):
        uid = f"CAST({engine.quote(mapping.user)} AS BIGINT)"
    else:
        uid = f"DENSE_RANK() OVER (ORDER BY CAST({engine.quote(mapping.user)} AS STRING))"
    t = _time_sql(engine, engine.quote(mapping.time), ctype["time"], mapping.time_unit)
    place = "CAST(NULL AS BIGINT)"
    if mapping.place:
        col = engine.quote(mapping.place)
        if _is_integer(ctype["place"]):
            place = f"CAST({col} AS BIGINT)"
        elif preset is not None:  # numeric ids read as text
            place = f"TRY_CAST({col} AS BIGINT)"
        else:
            place = f"DENSE_RANK() OVER (ORDER BY CAST({col} AS STRING))"
    lat = f"TRY_CAST({engine.quote(mapping.lat)} AS DOUBLE)" if mapping.lat else "CAST(NULL AS DOUBLE)"
    lon = f"TRY_CAST({engine.quote(mapping.lon)} AS DOUBLE)" if mapping.lon else "CAST(NULL AS DOUBLE)"
    engine.drop("__raw")
    # The record's kind (event type / direction) when the table has them: the profile attack uses it.
    kinds = [c for c in KIND_COLS if c in cols]
    kind = ("CONCAT(" + ", '/', ".join(f"CAST({engine.quote(c)} AS STRING)" for c in kinds) + ")"
            if kinds else "CAST(NULL AS STRING)")
    dur = f"TRY_CAST({engine.quote(DUR_COL)} AS DOUBLE)" if DUR_COL in cols else "CAST(NULL AS DOUBLE)"
    engine.register(relation, materialize=False, source=f"""
        SELECT {uid} AS uid, {t} AS t, {place} AS place, {lat} AS lat, {lon} AS lon,
               CAST({engine.quote(mapping.user)} AS STRING) AS ukey, {kind} AS kind, {dur} AS dur,
               {engine.quote(mapping.user)} IS NULL AS bad_user, {engine.quote(mapping.time)} IS NULL AS null_time
        FROM {reader}""")
    try:
        _validate_events(engine, file, mapping, relation, plausible_times,
                         _raw_checks(engine, mapping, ctype, preset is not None, reader) if plausible_times else None)
    except InputError:
        raise
    except Exception as exc:  # a type error met while scanning the whole file
        if type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb"):
            raise engine_error(file, exc) from None
        raise
    places = None
    if isinstance(cells, pd.DataFrame):
        renamed = cells.rename(columns={"cell_id": "place"})
        places = renamed[[c for c in ("place", "lat", "lon", "site_id", "district", "province")
                          if c in renamed.columns]].copy()
    elif cells is not None:
        places = load_places(engine, Path(cells))
    elif cells_file is not None and mapping.place:
        places = load_places(engine, cells_file)
    offset = utc_offset_h
    if offset is None:
        offset = float(manifest.get("params", {}).get("utc_offset_h", 5.0 if manifest else 0.0))
    meta = {"file": str(file), "rows": int(engine.query(f"SELECT COUNT(*) AS n FROM {relation}")["n"][0]),
            "manifest": manifest, "kinds": kinds, "durations": DUR_COL in cols}
    return TrajectoryInput(source=str(file), has_place=mapping.place is not None,
                           has_coords=mapping.lat is not None or places is not None,
                           places=places, utc_offset_h=offset, meta=meta, relation=relation)


def _is_integer(duck_type: str) -> bool:
    return duck_type.upper() in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                                 "USMALLINT", "UINTEGER", "UBIGINT")


def _time_sql(engine, col: str, col_type: str, unit: str) -> str:
    """Epoch seconds of a time column: numbers in ``unit`` (s, ms, us), else the engine's own
    expression for timestamps, dates and text (``Engine.epoch_seconds_sql``)."""
    ty = col_type.upper()
    if _is_integer(ty) or ty in ("DOUBLE", "FLOAT", "DECIMAL") or ty.startswith("DECIMAL"):
        div = {"s": 1, "ms": 1000, "us": 1_000_000}[unit]
        return f"CAST(FLOOR({col} / {div}) AS BIGINT)"
    return engine.epoch_seconds_sql(col, col_type)


def _raw_checks(engine, mapping: Mapping, ctype: dict, text_preset: bool, reader: str):
    """``(reader, condition)``: a filter on the raw columns of ``reader`` true exactly for the rows
    ``_validate_events`` refuses with plausible times, or None when the columns' types give no such
    form (text times, numbers read as text, floating-point times, coordinates given as text).

    Written on the stored columns, it lets the engine skip every Parquet row group whose statistics
    (null counts, minimum and maximum) show that none of its rows is bad: a well-formed Parquet export
    is then validated without reading its rows. Equivalences: ``t`` (epoch seconds, floored) of a
    timestamp is below the integer bound B exactly when the timestamp is, and ``FLOOR(x / d)`` of an
    integer x is below B exactly when x < B·d; integer and text ids are missing exactly when the
    column is NULL; a DOUBLE or FLOAT coordinate is compared as it is (NaN compares above every
    number, as in the derived check)."""
    import datetime as dt

    q = engine.quote
    ty = {role: ctype[role].upper() for role in ctype}
    time_col = q(mapping.time)
    until = plausible_until()

    def stamp(epoch_s: int) -> str:
        return "TIMESTAMP '" + dt.datetime.fromtimestamp(epoch_s, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S") + "'"

    if ty["time"].startswith("TIMESTAMP"):
        lo, hi = stamp(PLAUSIBLE_FROM), stamp(until)
    elif _is_integer(ty["time"]):
        div = {"s": 1, "ms": 1000, "us": 1_000_000}[mapping.time_unit]
        lo, hi = str(PLAUSIBLE_FROM * div), str(until * div)
    else:
        return None
    conds = [f"{q(mapping.user)} IS NULL", f"{time_col} IS NULL OR {time_col} < {lo} OR {time_col} >= {hi}"]
    if mapping.place:
        if text_preset and not _is_integer(ty["place"]):
            return None                      # TRY_CAST of text: a value may fail to parse
        conds.append(f"{q(mapping.place)} IS NULL")
    else:
        for role, bound in (("lat", 90), ("lon", 180)):
            if ty[role] not in ("DOUBLE", "FLOAT", "REAL"):
                return None
            col = q(getattr(mapping, role))
            conds.append(f"{col} IS NULL OR {col} < -{bound} OR {col} > {bound}")
    return reader, " OR ".join(f"({c})" for c in conds)


def _validate_events(engine, file: Path, mapping: Mapping, relation: str, plausible_times: bool = True,
                     raw=None) -> None:
    """Every row needs a user, a parseable, plausible time (1990 to a year from now) and a place or
    coordinates; the table needs a row. Reports the count of bad rows and the first one.

    ``raw``: ``_raw_checks``' filter on the stored columns (only with plausible times); when it finds
    no bad row, the table is valid and the per-check counts are not computed."""
    if int(engine.query(f"SELECT COUNT(*) AS n FROM {relation}")["n"][0]) == 0:
        raise InputError(f"File '{file}': no data rows (a header only, or an empty table).")
    if raw is not None:
        reader, cond = raw
        if int(engine.query(f"SELECT COUNT(*) AS n FROM {reader} WHERE {cond}")["n"][0]) == 0:
            return
    until = plausible_until()
    checks = [("bad_user", mapping.user, "is empty"),
              ("null_time OR t IS NULL", mapping.time, "is empty or not a time"),
              (f"t < {PLAUSIBLE_FROM} OR t >= {until}" if plausible_times else "FALSE", mapping.time,
               "is a time before 1990 or more than a year from now (is the unit right? time_unit=s|ms|us)")]
    if mapping.place:
        checks.append(("place IS NULL", mapping.place, "is empty or not an id"))
    else:
        checks.append(("lat IS NULL OR lat < -90 OR lat > 90", mapping.lat, "is empty or not a latitude"))
        checks.append(("lon IS NULL OR lon < -180 OR lon > 180", mapping.lon, "is empty or not a longitude"))
    counts = engine.query("SELECT " + ", ".join(
        f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS c{i}" for i, (cond, _, _) in enumerate(checks))
        + f" FROM {relation}").iloc[0]
    for i, (cond, col, what) in enumerate(checks):
        n = int(counts[f"c{i}"] or 0)
        if n and not engine.ordered_rows:   # row order is not defined on a distributed engine
            raise InputError(f"File '{file}', column '{col}': {n:,} row(s) where the value {what}.")
        if n:
            first = engine.query(f"SELECT MIN(rn) AS first FROM (SELECT ({cond}) AS bad, "
                                 f"ROW_NUMBER() OVER () AS rn FROM {relation}) x WHERE bad")["first"][0]
            raise InputError(f"File '{file}', column '{col}': {n:,} row(s) where the value {what} "
                             f"(first at data row {int(first):,}).")


def table_columns(engine, path, *, delimiter: str | None = None) -> list[str]:
    """The column names of a table file, from its header (CSV) or schema (Parquet), without reading
    its rows (a view, dropped again)."""
    dialect = file_dialect(engine, path, delimiter)
    if dialect is not None and not dialect.header:
        raise headerless(path)
    _register_file(engine, path, "__header", dialect=dialect, text=True)
    try:
        cols = [str(c) for c in engine.columns("__header")]
    except ReidcheckError:
        raise
    except Exception as exc:
        raise engine_error(path, exc) from None
    finally:
        engine.drop("__header")
    check_header(path, cols)
    return cols


def load_table(engine, path, *, delimiter: str | None = None, relation: str = "tbl", materialize: bool = True,
               allow_empty: bool = False, text: bool = True) -> dict:
    """Register a CSV/Parquet table (or a DataFrame) as ``relation``; read once, now, unless
    ``materialize`` is false (then a view). A table without data rows is an InputError unless
    ``allow_empty``.

    A CSV file's dialect (delimiter unless given, header, quoting, gzip) is detected once
    (``reidcheck.dialect``) and passed explicitly to the engine. With ``text`` (the default, for the
    tabular checks) every CSV value is kept as written (``39`` stays ``39``), so equivalence classes
    are exact; ``text=False`` infers types (trajectories). Returns ``{"file", "rows", "columns"}``.
    """
    if isinstance(path, pd.DataFrame):
        engine.register(relation, path)
        return {"file": "<DataFrame>", "rows": len(path), "columns": list(path.columns)}
    if not (is_uri(path) and engine.reads_uris):
        path = Path(path)
        if not path.exists():
            raise InputError(f"Input '{path}' does not exist.")
        if path.is_dir():
            raise InputError(f"Input '{path}' is a directory; give the table's file.")
    dialect = file_dialect(engine, path, delimiter)
    if dialect is not None and not dialect.header:
        raise headerless(path)
    _register_file(engine, path, relation, dialect=dialect, text=text, materialize=materialize)
    try:
        cols = list(engine.columns(relation))
        check_header(path, cols)
        rows = int(engine.query(f"SELECT COUNT(*) AS n FROM {relation}")["n"][0])
    except ReidcheckError:
        raise
    except Exception as exc:  # a view reads the file only now
        raise engine_error(path, exc) from None
    if rows == 0 and not allow_empty:
        raise InputError(f"File '{path}': no data rows (a header only, or an empty table).")
    return {"file": str(path), "rows": rows, "columns": cols}


def _register_file(engine, path, relation: str, **options) -> None:
    """``engine.register_file``, its reading errors reduced to one line naming the file."""
    try:
        engine.register_file(relation, path, **options)
    except ReidcheckError:
        raise
    except Exception as exc:  # the engine's parse error
        raise engine_error(path, exc) from None


@dataclass
class CanonicalTables:
    """Canonical tables read from a population directory (timestamps int64 epoch seconds UTC)."""

    cells: pd.DataFrame
    subscribers: pd.DataFrame
    travel: pd.DataFrame
    params: dict
    cdr: pd.DataFrame | None = None
    pings: pd.DataFrame | None = None


def _read_canonical(path: Path, name: str) -> pd.DataFrame:
    """One canonical table as pandas; timestamps converted through explicit units to epoch seconds."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from .schema import SCHEMAS, TIMESTAMP

    schema = SCHEMAS[name]
    try:
        if path.suffix == ".parquet":
            table = pq.read_table(path)
        else:
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                column_types={f.name: f.type for f in schema}))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"File '{path}': cannot be read ({scrub(exc)}).") from None
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise InputError(f"File '{path}': column '{missing[0]}' not found (a canonical {name} table).")
    cols = {}
    for f in schema:
        col = table.column(f.name)
        if pa.types.is_timestamp(col.type):
            col = col.cast(TIMESTAMP).cast(pa.int64())     # any unit → seconds, explicitly
            cols[f.name] = col.to_numpy()
        else:
            cols[f.name] = col.to_pandas()
    return pd.DataFrame(cols)


#: Columns that identify one row of a canonical table: a repeated value would merge two people.
_UNIQUE = {"cells": ("cell_id",), "subscribers": ("subscriber_id", "msisdn", "cnic")}


def _require_unique(df: pd.DataFrame, col: str, file: Path) -> None:
    """InputError naming the file, column, count and first row of repeated or missing values."""
    bad = df[col].isna() | df[col].duplicated(keep="first")
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise InputError(f"File '{file}', column '{col}': {int(bad.sum()):,} missing or repeated value(s) "
                         f"(first at data row {first:,}); each row must be a distinct {col}.")


def read_population(path, table: str = "cdr") -> CanonicalTables:
    """Read a population directory written by ``reidcheck generate`` (Parquet or CSV): cells,
    subscribers, travel and the ``table`` of events (cdr or pings)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"Input '{path}' is not a population directory.")
    if table not in ("cdr", "pings"):
        raise UsageError(f"Option `--table` must be cdr or pings. Got {table!r} instead.")
    found = {}
    for name in ("cells", "subscribers", "travel", table):
        files = sorted(path.glob(f"{name}.parquet")) + sorted(path.glob(f"{name}.csv"))
        if not files:
            raise InputError(f"Directory '{path}' has no '{name}' table (expected {name}.parquet or {name}.csv).")
        found[name] = _read_canonical(files[0], name)
        for col in _UNIQUE.get(name, ()):
            _require_unique(found[name], col, files[0])
    manifest_path = path / "population.json"
    params = {}
    if manifest_path.exists():
        try:
            params = json.loads(manifest_path.read_text(encoding="utf-8")).get("params", {})
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            raise InputError(f"File '{manifest_path}': not a valid population manifest (JSON).") from None
    return CanonicalTables(cells=found["cells"], subscribers=found["subscribers"], travel=found["travel"],
                           params=params, **{table: found[table]})


def load_frame(engine, path, *, delimiter: str | None = None) -> pd.DataFrame:
    """A whole (small) table file as pandas, CSV values as text: releases, auxiliary tables and truth
    maps of the linkage attack."""
    load_table(engine, path, delimiter=delimiter, relation="__frame")
    try:
        return engine.query("SELECT * FROM __frame")
    finally:
        engine.drop("__frame")


def truth_frame(frame: pd.DataFrame, *, table: str | None = None, source: str = "The truth map") -> pd.DataFrame:
    """A truth map as pandas with text columns ``pid`` (the released pseudonym) and ``uid`` (the
    person), plus ``period`` when present, from what ``reidcheck anonymize`` writes (``pid``,
    ``subscriber_id``, ``table``[, ``period``]) or any table with ``pid`` and ``subscriber_id`` (or
    ``uid``). With ``table`` and a ``table`` column, only the rows of that released table (or of
    ``all``) are kept, since a release may pseudonymize its tables apart. The one reader of truth maps:
    ``load_truth`` for files, the attacks for DataFrames; an InputError starting with ``source`` when a
    column is missing."""
    who = "subscriber_id" if "subscriber_id" in frame.columns else "uid"
    if "pid" not in frame.columns or who not in frame.columns:
        raise InputError(f"{source}: a truth map needs columns 'pid' and 'subscriber_id' (or 'uid'), as "
                         f"`reidcheck anonymize` writes; columns are {column_list(frame.columns)}.")
    if table is not None and "table" in frame.columns:
        frame = frame[frame["table"].astype(str).isin([table, "all"]).to_numpy()]
    out = pd.DataFrame({"pid": frame["pid"].astype("string").to_numpy(),
                        "uid": frame[who].astype("string").to_numpy()})
    if "period" in frame.columns:
        out["period"] = frame["period"].to_numpy()
    return out.reset_index(drop=True)


def load_truth(engine, path, *, table: str | None = None, delimiter: str | None = None) -> pd.DataFrame:
    """``truth_frame`` of a truth-map file (the whole file is read: one row per pseudonym). One
    InputError naming the file when a column is missing, or when ``table`` is given and the map has
    none of that table's pseudonyms."""
    frame = load_frame(engine, path, delimiter=delimiter)
    if table is not None and "table" in frame.columns and len(frame):
        names = frame["table"].astype(str)
        if not names.isin([table, "all"]).any():
            raise InputError(f"File '{path}': the truth map has no pseudonyms of the {table} table (its tables are "
                             f"{column_list(sorted(names.unique()))}).")
    return truth_frame(frame, table=table, source=f"File '{path}'")


def load_pseudonyms(engine, path, column: str, *, delimiter: str | None = None) -> list[str]:
    """The distinct non-null values of ``column`` of a table file, as text (the pseudonyms to reverse)."""
    info = load_table(engine, path, delimiter=delimiter, relation="__pseudonyms")
    try:
        if column not in info["columns"]:
            raise InputError(f"File '{info['file']}': column '{column}' not found; columns are "
                             f"{column_list(info['columns'])}.")
        q = engine.quote(column)
        return engine.query(f"SELECT DISTINCT CAST({q} AS STRING) AS p FROM __pseudonyms")["p"].dropna().tolist()
    finally:
        engine.drop("__pseudonyms")


def load_trips(engine, path, *, delimiter: str | None = None) -> pd.DataFrame:
    """Trips abroad as (pid, country, month): a population directory's travel table (subscriber_id,
    country, depart_date) or any table with columns pid, country, month."""
    if Path(path).is_dir():
        path, _, _ = resolve_input(path, "travel")
    load_table(engine, path, delimiter=delimiter, relation="__trips")
    try:
        cols = set(engine.columns("__trips"))
        if {"subscriber_id", "depart_date", "country"} <= cols:
            sql = ("SELECT CAST(subscriber_id AS STRING) AS pid, country, CAST(depart_date AS STRING) AS month "
                   "FROM __trips")
        elif {"pid", "country", "month"} <= cols:
            sql = "SELECT pid, country, month FROM __trips"
        else:
            raise InputError(f"File '{path}': a trips table needs columns pid, country, month.")
        return engine.query(sql)
    finally:
        engine.drop("__trips")


def load_calls(engine, path, *, utc_offset_h: float | None = None):
    """Call and SMS records with their counterparts, for the call-graph attack
    (``attacks.callgraph.CallTable``): a release directory or file (``pid``, ``counterpart_pid``,
    ``timestamp``, ``event_type``, ``direction``) or a population directory (``subscriber_id``,
    ``counterpart_msisdn``, …; in-network numbers become their subscriber through the subscribers
    table, off-network ones stay numbers). Records without a counterpart count as the party's own
    activity. ``utc_offset_h``: default from the manifest (5 for generated populations), else 0."""
    from .attacks.callgraph import CallTable

    file, _, manifest = resolve_input(path, "cdr")
    load_table(engine, file, relation="__calls", text=False)
    try:
        cols = set(engine.columns("__calls"))
        q = engine.quote
        if {"pid", "counterpart_pid"} <= cols:
            party, other = "pid", "counterpart_pid"
        elif {"subscriber_id", "counterpart_msisdn"} <= cols:
            party, other = "subscriber_id", "counterpart_msisdn"
        else:
            raise InputError(f"File '{file}': a call graph needs pid and counterpart_pid (a release made with "
                             "counterparts=pseudonymize) or subscriber_id and counterpart_msisdn (a population); "
                             f"columns are {column_list(sorted(cols))}.")
        for c in ("timestamp", "event_type", "direction"):
            if c not in cols:
                raise InputError(f"File '{file}': column '{c}' not found; columns are {column_list(sorted(cols))}.")
        types = engine.columns("__calls")
        t = _time_sql(engine, q("timestamp"), types["timestamp"], "s")
        df = engine.query(f"SELECT CAST({q(party)} AS STRING) AS party, CAST({q(other)} AS STRING) AS other, "
                          f"{t} AS t, LOWER(CAST({q('event_type')} AS STRING)) = 'voice' AS call, "
                          f"LOWER(CAST({q('direction')} AS STRING)) = 'out' AS \"out\" FROM __calls")
    finally:
        engine.drop("__calls")
    bad = df["party"].isna() | df["t"].isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        col = party if df["party"].isna().iloc[row - 1] else "timestamp"
        raise InputError(f"File '{file}', column '{col}', row {row}: empty or unreadable "
                         f"({int(bad.sum()):,} such rows).")
    if other == "counterpart_msisdn":
        subs_file = Path(path) / "subscribers.parquet" if Path(path).is_dir() else None
        if subs_file is not None and subs_file.exists():
            subs = _read_canonical(subs_file, "subscribers")[["subscriber_id", "msisdn"]]
            own = pd.Series(subs["subscriber_id"].astype(str).to_numpy(), index=subs["msisdn"].astype(str).to_numpy())
            mapped = own.reindex(df["other"].to_numpy()).to_numpy()
            df["other"] = np.where(pd.isna(mapped), "n:" + df["other"].astype(object).fillna("").astype(str),
                                   mapped.astype(object))
            df.loc[df["other"] == "n:", "other"] = None
    utc_offset_h = check_utc_offset(utc_offset_h)
    offset = utc_offset_h if utc_offset_h is not None else float(
        manifest.get("params", {}).get("utc_offset_h", 5.0 if manifest else 0.0))
    df["t"] = df["t"].astype(np.int64)
    return CallTable(records=df, utc_offset_h=offset)


def load_aggregate(engine, path, knowledge_cells: pd.DataFrame | None = None, *, utc_offset_h: float | None = None):
    """An aggregate release directory written by ``reidcheck anonymize -s aggregate…``
    (``presence.parquet``: place, timestamp = bin start, users; ``cells.parquet``: what each place
    code stands for; ``release.json``: bin and spatial level) as an ``anonymize.release.Release``
    with ``presence`` for the aggregate attacks. ``knowledge_cells`` (the population's cells) gives
    ``cell_to_place``: how the knowledge's cells are expressed in the release's places — by district
    or province name at those levels, the same code when the codes agree, else the nearest place."""
    from .anonymize.release import Release

    path = Path(path)
    if not (path.is_dir() and (path / "presence.parquet").exists()):
        raise InputError(f"Input '{path}' is not an aggregate release (a directory with presence.parquet, written "
                         "by `reidcheck anonymize -s aggregate`).")
    manifest_path = path / "release.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    load_table(engine, path / "presence.parquet", relation="__presence", text=False)
    try:
        cols = engine.columns("__presence")
        for c in ("place", "timestamp", "users"):
            if c not in cols:
                raise InputError(f"File '{path / 'presence.parquet'}': column '{c}' not found; columns are "
                                 f"{column_list(list(cols))}.")
        t = _time_sql(engine, "timestamp", cols["timestamp"], "s")
        presence = engine.query(f"SELECT CAST(place AS BIGINT) AS place, {t} AS timestamp, "
                                "CAST(users AS BIGINT) AS users FROM __presence")
    finally:
        engine.drop("__presence")
    if not (path / "cells.parquet").exists():
        raise InputError(f"Directory '{path}' has no cells.parquet: the places of the aggregate are unknown.")
    cells = load_frame(engine, path / "cells.parquet")
    for c in ("cell_id", "lat", "lon"):
        if c not in cells.columns:
            raise InputError(f"File '{path / 'cells.parquet'}': column '{c}' not found; columns are "
                             f"{column_list(list(cells.columns))}.")
    cells["cell_id"] = cells["cell_id"].astype(np.int64)
    places = cells.rename(columns={"cell_id": "place"})
    space = manifest.get("space") or "cell"
    c2p = None
    if knowledge_cells is not None:
        kc = knowledge_cells
        if space in ("district", "province") and space in places.columns and space in kc.columns:
            code = pd.Series(places["place"].to_numpy(np.int64), index=places[space].astype(str).to_numpy())
            code = code[~code.index.duplicated()]
            mapped = code.reindex(kc[space].astype(str).to_numpy()).to_numpy()
        elif set(kc["cell_id"].to_numpy(np.int64)) <= set(places["place"].to_numpy(np.int64)):
            mapped = kc["cell_id"].to_numpy(np.int64)
        else:
            from scipy.spatial import cKDTree

            def xyz(df):
                la, lo = np.radians(df["lat"].to_numpy(float)), np.radians(df["lon"].to_numpy(float))
                return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])

            _, idx = cKDTree(xyz(places)).query(xyz(kc))
            mapped = places["place"].to_numpy(np.int64)[idx]
        ok = ~pd.isna(mapped)
        c2p = pd.Series(np.asarray(mapped[ok], dtype=np.int64), index=kc["cell_id"].to_numpy(np.int64)[ok])
    utc_offset_h = check_utc_offset(utc_offset_h)
    offset = utc_offset_h if utc_offset_h is not None else float(manifest.get("params", {}).get("utc_offset_h", 0.0))
    empty = pd.DataFrame({"subscriber_id": pd.Series([], dtype=np.int64), "msisdn": pd.Series([], dtype=object)})
    return Release(events=None, places=places, cell_to_place=c2p, qi=None, travel=None, subscribers=empty,
                   cells=cells, utc_offset_h=offset, space=space, time_bin_s=manifest.get("time_bin_s"),
                   presence=presence, pseudonym={"method": "none"}, steps=tuple(manifest.get("steps", [])))
