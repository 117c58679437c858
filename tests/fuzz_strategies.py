"""Hypothesis strategies and the CLI contract checker of ``tests/test_fuzz.py``.

Everything here is test-side: random tables (CSV/Parquet bytes from hypothesis), random option
values, and ``check`` — the contract every ``reidcheck`` invocation must keep:

* the exit code is in {0, 1, 2, 130};
* no traceback, and ``main`` never raises;
* on exit 2 stderr is exactly one line ``reidcheck: error: ...``;
* no partial output: on exit 2/130 no requested output exists (nor an ``--out`` directory), no
  pre-existing file changed, stdout is empty, and no temp file (``.``-names) is left beside them;
* no file appears anywhere under the example's folder except the requested outputs (SQL injection
  through column names must never write ``pwned.csv``);
* no planted phone number or CNIC appears on stdout/stderr (nor in report files), unless ``--reveal``;
* ``--json -`` on exit 0/1: stdout is strict JSON (no NaN), and nothing else.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

# ------------------------------------------------------------------------------------------------
# Planted personal data (fake numbers; serials < 1000 so a --serials 0-999 sweep reverses them).
PHONES = ("+923001234567", "03001234567", "923001234567", "+923000000042", "03000000042", "923000000042",
          "+923000000777")
CNICS = ("35202-1234567-1", "3520212345671")
PLANTED = PHONES + CNICS
#: Any phone number or CNIC shaped run of digits (not part of a longer number or a decimal).
PII_RE = re.compile(r"(?<![\w.+])(?:\+92|92|0)3\d{9}(?![\w.])|(?<![\w.])\d{5}-\d{7}-\d(?![\w.])")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


#: SHA-256 of the planted numbers in the forms the reversal enumerates (+92…, 92…, 0…).
PLANTED_HASHES = tuple(sha256(p) for p in ("+923000000042", "923000000042", "03000000042", "+923000000777"))

SPECIALS = ['"', "'", "`", ";", "\n", "\r\n", ",", "=", " ", "\\", "--", "/*", "*/", "\t", "|", "$", "{", "}",
            "%", "?", ":", "\u00e9", "\u200b", "\ufeff", "\U0001f600", "\u202e"]

_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
#: A column name: arbitrary unicode (no NUL), biased towards SQL/CSV metacharacters.
column_name = st.one_of(
    st.text(_chars, min_size=0, max_size=12),
    st.lists(st.one_of(st.sampled_from(SPECIALS), st.text(_chars, max_size=3)), min_size=1, max_size=5).map("".join),
    st.sampled_from(["age", "gender", "sex", "zip", "district", "birth_date", "uid", "pid", "user", "ts",
                     "timestamp", "time", "cell_id", "cell", "place", "lat", "lon", "count", "users", "country",
                     "month", "msisdn", "cnic", "name", "subscriber_id", "diagnosis", "AGE", "Age "]),
)

ISO = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59))
time_value = st.one_of(
    st.sampled_from(["2025-01-06 10:00:00", "2025-01-06T10:00:00+05:00", "2025-01-07 23:59:59", "2025-01-06",
                     "06/01/2025 12:00", "not a time", "", "0001-01-01 00:00:00", "9999-12-31 23:59:59",
                     "294247-01-10 04:00:54", "2025-02-30 10:00:00", "infinity", "-infinity", "epoch"]),
    ISO.map(lambda d: d.isoformat(sep=" ")),
    st.integers(min_value=1_736_100_000, max_value=1_736_400_000),
    st.integers(),
    st.floats(),
)
text_value = st.one_of(st.text(_chars, max_size=10), st.sampled_from(PLANTED), st.sampled_from(SPECIALS))
value = st.one_of(st.none(), st.integers(-5, 60), st.integers(), st.floats(), st.booleans(), text_value, time_value)


@dataclass
class Table:
    columns: list[str]
    rows: list[list]

    def column(self, name):
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


@st.composite
def tables(draw, min_cols=1, max_cols=5, max_rows=12, cols=None, values=value):
    columns = cols if cols is not None else draw(st.lists(column_name, min_size=min_cols, max_size=max_cols))
    n = draw(st.integers(0, max_rows))
    rows = [[draw(values) for _ in columns] for _ in range(n)]
    return Table(list(columns), rows)


@st.composite
def pii_table(draw):
    """A table that carries planted numbers: as values of id columns, and sometimes as its header row."""
    qi = draw(st.lists(st.sampled_from(["age", "gender", "zip", "district", "sex"]), min_size=1, max_size=3,
                       unique=True))
    ids = draw(st.lists(st.sampled_from(["msisdn", "cnic", "phone", "contact", "x", "pid"]), min_size=1,
                        max_size=2, unique=True))
    cols = qi + ids
    n = draw(st.integers(0, 10))
    rows = []
    for _ in range(n):
        rows.append([draw(st.one_of(st.integers(18, 90).map(str), st.sampled_from(["F", "M", "", "100"])))
                     for _ in qi] + [draw(st.sampled_from(PLANTED)) for _ in ids])
    if draw(st.booleans()):   # headerless export: its first record becomes the header row
        cols = [draw(st.sampled_from(PLANTED)) for _ in cols]
    return Table(cols, rows)


@st.composite
def trajectory_table(draw):
    """user, time and place (or lat/lon) columns with mostly sensible values, under random names."""
    expressible = st.sampled_from(["u", "t", "p", "lat", "lon", "uid", "ts", "cell", "user id", "Zeit", "時間",
                                   "col;1", 'q"uote', "back`tick", "semi;colon", "it's", "new\nline", "a.b", "x)y",
                                   "--", "/*c*/", "SELECT", "timestamp", "cell_id", "subscriber_id"])
    names = draw(st.lists(mostly(expressible, column_name), min_size=4, max_size=4, unique=True))
    coords = draw(st.booleans())
    n = draw(st.integers(0, 30))
    users = draw(st.sampled_from(["int", "int", "text", "any"]))
    uval = {"int": st.integers(0, 6), "text": st.sampled_from(["a", "b", "c", "d", "+923001234567"]),
            "any": value}[users]
    epoch = st.integers(1_736_100_000, 1_736_400_000)
    iso = epoch.map(lambda s: dt.datetime.fromtimestamp(s, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"))
    tkind = draw(st.sampled_from(["epoch", "iso", "iso", "any"]))
    tv = {"epoch": epoch, "iso": iso, "any": st.one_of(epoch, time_value)}[tkind]
    clean = draw(st.integers(0, 9)) < 6         # most tables: every row valid, so the attack runs
    if clean:
        uval = uval if users != "any" else st.integers(0, 6)
        tv = iso if tkind == "any" else tv
    rows = []
    for _ in range(n):
        row = [draw(uval), draw(tv)]
        if coords:
            row += [draw(st.floats(24, 36) if clean else mostly(st.floats(24, 36), st.floats(), 9)),
                    draw(st.floats(61, 77) if clean else mostly(st.floats(61, 77), value, 9))]
        else:
            row += [draw(st.integers(0, 9) if clean else mostly(st.integers(0, 9), value, 9)), draw(value)]
        rows.append(row)
    roles = {"user": names[0], "time": names[1]}
    if coords:
        roles.update(lat=names[2], lon=names[3])
    else:
        roles["place"] = names[2]
    return Table(names, rows), roles


# ------------------------------------------------------------------------------------------------
# Writing a table to bytes


def _cell(v, fmt="csv"):
    if v is None:
        return ""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return str(v)


@st.composite
def csv_options(draw):
    return {"header": draw(st.booleans()) if draw(st.integers(0, 3)) == 0 else True,
            "delimiter": draw(st.sampled_from([",", ",", ";", "\t", "|"])),
            "quoting": draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_MINIMAL, csv.QUOTE_ALL, "raw"])),
            "lineterminator": draw(st.sampled_from(["\n", "\n", "\r\n", "\r"])),
            "encoding": draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"])),
            "ragged": draw(st.integers(0, 5)) == 0,
            "gzip": draw(st.integers(0, 6)) == 0,
            "ext": draw(st.sampled_from([".csv", ".csv", ".tsv", ".txt"]))}


def csv_bytes(table: Table, opts: dict) -> bytes:
    buf = io.StringIO()
    rows = ([table.columns] if opts["header"] else []) + [[_cell(v) for v in r] for r in table.rows]
    if opts.get("ragged"):
        rows = [r[: max(1, len(r) - (i % 2))] + ([""] if i % 3 == 0 else []) for i, r in enumerate(rows)]
    if opts["quoting"] == "raw":
        buf.write("".join(opts["delimiter"].join(r) + opts["lineterminator"] for r in rows))
    else:
        w = csv.writer(buf, delimiter=opts["delimiter"], quoting=opts["quoting"], lineterminator=opts["lineterminator"])
        w.writerows(rows)
    data = buf.getvalue().encode(opts["encoding"], errors="replace")
    return gzip.compress(data, mtime=0) if opts.get("gzip") else data


def parquet_bytes(table: Table, typed: bool = True) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = []
    for i, _ in enumerate(table.columns):
        vals = [r[i] for r in table.rows]
        arr = None
        if typed:
            try:
                arr = pa.array(vals)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
                arr = None
        if arr is None:
            arr = pa.array([None if v is None else str(v) for v in vals], pa.string())
        arrays.append(arr)
    if not table.columns:
        tbl = pa.table({})
    else:
        tbl = pa.Table.from_arrays(arrays, names=list(table.columns)) if arrays else pa.table({})
    sink = io.BytesIO()
    pq.write_table(tbl, sink)
    return sink.getvalue()


@st.composite
def table_file(draw, table_strategy=None, name="t"):
    """(file name, bytes, description): a table as CSV (random dialect/encoding) or Parquet, sometimes
    truncated or with flipped bytes, sometimes pure random bytes."""
    table = draw(table_strategy if table_strategy is not None else tables())
    how = draw(st.sampled_from(["csv", "csv", "csv", "parquet", "parquet", "corrupt", "bytes"]))
    if how == "csv":
        opts = draw(csv_options())
        data = csv_bytes(table, opts)
        ext = opts["ext"] + (".gz" if opts["gzip"] and opts["ext"] in (".csv", ".tsv") else "")
        return f"{name}{ext}", data, {"format": "csv", **{k: v for k, v in opts.items()}, "table": table}
    if how == "parquet":
        typed = draw(st.booleans())
        try:
            data = parquet_bytes(table, typed)
        except Exception:   # duplicate/odd names pyarrow refuses: write text columns under safe names
            data = parquet_bytes(Table([f"c{i}" for i in range(len(table.columns))], table.rows), False)
        return f"{name}{draw(st.sampled_from(['.parquet', '.parquet', '.pq']))}", data, {
            "format": "parquet", "typed": typed, "table": table}
    if how == "corrupt":
        base = parquet_bytes(table, False) if draw(st.booleans()) else csv_bytes(table, draw(csv_options()))
        cut = draw(st.integers(0, max(0, len(base))))
        data = bytearray(base[:cut] if draw(st.booleans()) else base)
        for _ in range(draw(st.integers(0, 4))):
            if data:
                i = draw(st.integers(0, len(data) - 1))
                data[i] = draw(st.integers(0, 255))
        ext = draw(st.sampled_from([".parquet", ".csv", ".csv.gz", ".tsv"]))
        return f"{name}{ext}", bytes(data), {"format": "corrupt", "table": table}
    data = draw(st.binary(max_size=300))
    ext = draw(st.sampled_from([".parquet", ".csv", ".csv.gz", ".tsv", ".tsv.gz", ".pq", ".txt"]))
    return f"{name}{ext}", data, {"format": "bytes"}


# ------------------------------------------------------------------------------------------------
# Option values
ints_text = st.one_of(st.integers(-3, 12).map(str), st.integers().map(str),
                      st.sampled_from(["0", "-1", "1e3", "ten", "", " 3", "4 ", "٣", "１", "9" * 30, "-" + "9" * 30,
                                       "0x10", "2147483648", "9223372036854775808"]))
floats_text = st.one_of(st.floats(-2, 2).map(repr), st.floats().map(repr),
                        st.sampled_from(["nan", "inf", "-inf", "NaN", "1e308", "-1e308", "1e-320", "0", "-0.0",
                                         "", "abc", "5", "14.5", "-13", "1_0"]))
time_bins = st.one_of(st.sampled_from(["15min", "1h", "4h", "1d", "1w", "how"]),
                      st.sampled_from(["0h", "-1h", "1m", "1s", "0s", "999999999999w", "1.5h", "H", "", "1 h",
                                       "2628000s", "nans", "1e9s"]),
                      st.text(_chars, max_size=5))
spaces = st.one_of(st.sampled_from(["cell", "site", "district", "province", "grid:1km", "grid:500m", "grid:5km"]),
                   st.sampled_from(["grid:0km", "grid:-1km", "grid:nankm", "grid:infkm", "grid:1e-9m", "grid:1e308km",
                                    "grid:", "grid:1", "grid:1mi", "GRID:1KM", "county", ""]),
                   st.text(_chars, max_size=6))
targets_text = st.one_of(st.sampled_from(["all", "ALL", "10000", "1", "0", "-5", "lots", "", "1e3", "9" * 25]),
                         st.integers(-2, 50).map(str))


def serials_text():
    """Small serial ranges (huge ones are tried in a memory-capped subprocess, test_huge_values)."""
    small = st.integers(0, 1500)
    return st.one_of(
        st.tuples(small, small).map(lambda t: f"{t[0]}-{t[1]}"),
        small.map(str),
        st.lists(st.tuples(small, small).map(lambda t: f"{t[0]}-{t[1]}"), min_size=1, max_size=3).map(",".join),
        st.sampled_from(["0-999", "", "-", "5-3", "1-2-3", "x", "0x10", " 7 ", "٣", "-5-0", "0-9999999-1",
                         ",", "0-999,", "10000000-10000000", "9999999", "9999999-10000001", "-1"]),
    )


prefixes_text = st.one_of(
    st.sampled_from(["300", "300-301", "300,320", "299", "400", "3", "", "-", "300-299", "0300", "abc", "300-309",
                     "399", "300 , 301", "३००"]),
    st.integers(250, 420).map(str),
)


def relpath(p, root) -> str:
    try:
        return str(Path(p).relative_to(root))
    except ValueError:
        return str(p)


# ------------------------------------------------------------------------------------------------
# The contract


@dataclass
class Outcome:
    argv: list
    code: object
    out: str
    err: str
    exc: BaseException | None = None
    tb: str = ""
    shown_warnings: list = field(default_factory=list)


_HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def run_cli(argv, capfd) -> Outcome:
    """``main(argv)`` in-process with warnings as the real CLI shows them (not pytest's 'error')."""
    import traceback

    from reidcheck.cli import main

    capfd.readouterr()
    code, exc, tb = None, None, ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = main([str(a) for a in argv])
        except BaseException as e:  # noqa: BLE001 - the contract: main never raises
            exc, tb = e, traceback.format_exc()
    cap = capfd.readouterr()
    shown = [warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line)
             for w in caught if not issubclass(w.category, _HIDDEN)]
    return Outcome(list(map(str, argv)), code, cap.out, cap.err, exc, tb, shown)


def snapshot(root: Path) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for f in filenames:
            p = Path(dirpath) / f
            try:
                out[p] = hashlib.sha1(p.read_bytes()).hexdigest()
            except OSError:
                out[p] = "?"
    return out


class ContractError(AssertionError):
    """A broken clause of the contract; ``clause`` names it (the signature of a bug)."""

    def __init__(self, clause: str, detail: str):
        super().__init__(f"[{clause}] {detail}")
        self.clause = clause


def _strict_json(text: str):
    def bad(c):
        raise ValueError(f"non-standard JSON constant {c}")
    return json.loads(text, parse_constant=bad)


def check(res: Outcome, root: Path, before: dict, *, outputs=(), out_dirs=(), reveal=False, json_stdout=False,
          report_files=(), describe: str = "") -> None:
    """Assert the contract for one invocation (see the module docstring). ``outputs``: requested
    output files; ``out_dirs``: requested output directories (``--out``); ``report_files``: outputs
    that must not carry planted values either."""
    def clip(t):
        return t if len(t) <= 1500 else t[:300] + " … " + t[-1200:]
    where = f"\nargv: {res.argv}\n{describe}\nexit: {res.code!r}\nstdout: {clip(res.out)!r}\nstderr: {clip(res.err)!r}"
    if res.exc is not None:
        raise ContractError(f"raised {type(res.exc).__name__}",
                            f"main() raised {res.exc!r}{where}\n{res.tb[-4000:]}") from res.exc
    if res.code not in (0, 1, 2, 130):
        raise ContractError("exit code", f"exit code {res.code!r} not in {{0, 1, 2, 130}}{where}")
    for stream, text in (("stderr", res.err), ("stdout", res.out)):
        if "Traceback" in text:
            raise ContractError("traceback", f"a traceback on {stream}{where}")
    err = res.err + "".join(res.shown_warnings)
    if res.code == 2:
        if not (err.startswith("reidcheck: error: ") and err.count("\n") == 1 and err.endswith("\n")
                and len(err.strip()) > len("reidcheck: error:")):
            clause = "exit 2 stderr not one line" + (" (a warning printed)" if res.shown_warnings else "")
            raise ContractError(clause, f"on exit 2 stderr must be one line 'reidcheck: error: ...'{where}\n"
                                        f"warnings: {res.shown_warnings}")
    if not reveal:
        texts = [("stdout", res.out), ("stderr", err)]
        for p in report_files:
            p = Path(p)
            if p.is_file():
                texts.append((f"report {p.name}", p.read_text(errors="replace")))
        for stream, text in texts:
            # what the user typed (an option value echoed in an error) is not a leak of the data
            hits = [h for h in [v for v in PLANTED if v in text] or PII_RE.findall(text)
                    if not any(h in a for a in res.argv)]
            if hits:
                kind = "CNIC" if hits[0] in CNICS or "-" in hits[0] else "phone"
                raise ContractError(f"{kind} leaked on {stream.split()[0]}",
                                    f"a planted {kind} ({hits[0]}) appears on {stream}{where}")
    after = snapshot(root)
    outputs = [Path(p) for p in outputs]
    out_dirs = [Path(p) for p in out_dirs]
    allowed = set(outputs)

    def under_out_dir(p: Path) -> bool:
        return any(p == d or d in p.parents for d in out_dirs)

    new = [p for p in after if p not in before and p not in allowed and not under_out_dir(p)]
    if res.code in (0, 1):
        # temp files (".name.xxxx") left beside the outputs, or any other stray file
        if new:
            clause = "stray file" if not any(p.name == "pwned.csv" for p in new) else "SQL injection wrote a file"
            raise ContractError(clause, f"files appeared that were not requested: "
                                        f"{[relpath(p, root) for p in new]}{where}")
        if json_stdout:
            try:
                _strict_json(res.out)
            except ValueError as e:
                raise ContractError("--json - stdout not strict JSON", f"stdout is not (strict) JSON: {e}{where}")
        return
    # exit 2 / 130: nothing written, nothing changed
    if any(p.name == "pwned.csv" for p in new):
        raise ContractError("SQL injection wrote a file", f"pwned.csv appeared{where}")
    if new:
        raise ContractError("partial output", f"files left after a failed run: {[relpath(p, root) for p in new]}{where}")
    partial = [p for p in outputs if p.exists() and p not in before]
    partial += [d for d in out_dirs if d.exists() and not any(q == d or d in q.parents for q in before)
                and not (d.is_dir() and not any(d.iterdir()))]
    if partial:
        raise ContractError("partial output", f"outputs exist after exit {res.code}: "
                                              f"{[relpath(p, root) for p in partial]}{where}")
    changed = [p for p, h in before.items() if after.get(p) != h]
    if changed:
        raise ContractError("partial output (changed)", f"files changed or removed by a failed run: "
                                                        f"{[relpath(p, root) for p in changed]}{where}")
    if res.out.strip():
        raise ContractError("stdout on error", f"stdout carries output on exit {res.code}{where}")


@st.composite
def mostly(draw, valid, wild, p: int = 8):
    """``valid`` p times in 10, else ``wild`` (keeps most examples past option validation)."""
    return draw(valid) if draw(st.integers(0, 9)) < p else draw(wild)


def m_int(lo, hi):
    return mostly(st.integers(lo, hi).map(str), ints_text)


def m_float(lo, hi):
    return mostly(st.floats(lo, hi).map(repr), floats_text)


VALID_BINS = st.sampled_from(["15min", "1h", "4h", "1d", "1w", "how"])
VALID_SPACES = st.sampled_from(["cell", "cell", "grid:1km", "grid:500m", "grid:5km", "site", "district", "province"])
