"""Fuzzing the readers and the command line with hypothesis: random bytes, random CSV/Parquet
tables (column names of arbitrary unicode with quotes, backticks, semicolons, newlines), random
option values and policy files, through ``reidcheck.cli.main`` in-process.

The contract every invocation keeps (``tests/fuzz_strategies.py:check``):

* the exit code is in {0, 1, 2, 130}, ``main`` never raises and nothing prints a traceback;
* on exit 2, stderr is exactly one line starting with ``reidcheck: error: ``;
* no partial output: after exit 2 or 130 no requested output (``--json PATH``, ``--html``, ``--sarif``,
  ``--junit``, ``--markdown``, ``--out DIR``, the truth map) exists, no earlier file changed, stdout is
  empty, and no temp file is left; after any exit no file appears that was not requested (so a column
  name such as ``x" FROM tbl) d) AS n; COPY (SELECT 1) TO '…/pwned.csv'; SELECT (1 AS "x`` never
  writes a file);
* no planted phone number or CNIC (``+923001234567``, ``03001234567``, ``35202-1234567-1``, …: in the
  data, and as the header row of a headerless file) appears on stdout, stderr or in a report, unless
  ``--reveal`` is passed;
* ``--json -``: stdout holds strict JSON (no NaN) and nothing else.

Profiles: ``ci`` (default; deterministic: ``derandomize=True``, a few hundred examples in all, under
~3 minutes on 2 cores) and ``long`` (random, 25× more examples)::

    REIDCHECK_FUZZ=long bash tasks.sh test tests/test_fuzz.py

With ``REIDCHECK_FUZZ_LOG=bugs.jsonl`` a broken contract is appended to that file (clause, argv,
input description) instead of failing the example, so that one long run collects every distinct
bug instead of stopping at the first: ``REIDCHECK_FUZZ=long REIDCHECK_FUZZ_LOG=bugs.jsonl bash
tasks.sh test tests/test_fuzz.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st

from tests.fuzz_strategies import (CNICS, PHONES, PLANTED, PLANTED_HASHES, ContractError, Table, check,
                                   column_name, csv_bytes, csv_options, floats_text, ints_text, parquet_bytes,
                                   pii_table, prefixes_text, run_cli, serials_text, sha256, snapshot, spaces,
                                   table_file, tables, targets_text, text_value, time_bins, time_value,
                                   trajectory_table, value, mostly, m_int, m_float, VALID_BINS,
                                   VALID_SPACES)

PROFILE = os.environ.get("REIDCHECK_FUZZ", "ci")
_common = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large, HealthCheck.filter_too_much])
# CI: deterministic and bounded in time, so no shrinking (a failure prints the example as drawn, with the
# argv and file contents in the message); REIDCHECK_FUZZ_SHRINK=1 shrinks it. Long: random, shrunk.
_ci_phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if os.environ.get(
    "REIDCHECK_FUZZ_SHRINK") else [])
settings.register_profile("ci", derandomize=True, phases=_ci_phases, **_common)
settings.register_profile("long", derandomize=False, **_common)
settings.load_profile("long" if PROFILE == "long" else "ci")
SCALE = 25 if PROFILE == "long" else 1
LOG = os.environ.get("REIDCHECK_FUZZ_LOG")


def examples(n: int):
    return settings(max_examples=n * SCALE)


def verify(res, root, before, **kw):
    """``check`` the contract; in collect mode (REIDCHECK_FUZZ_LOG) log a breach instead of failing."""
    first = res.err.replace(str(root), "<tmp>").splitlines()[0][18:90] if res.code == 2 and res.err.strip() else ""
    event(f"exit {res.code}" + (f": {first}" if first else ""))
    try:
        check(res, root, before, **kw)
    except ContractError as exc:
        if not LOG:
            raise
        with open(LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"clause": exc.clause, "argv": [a.replace(str(root), "<tmp>") for a in res.argv],
                                 "exit": res.code, "detail": str(exc).replace(str(root), "<tmp>")[:6000]},
                                ensure_ascii=False) + "\n")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@contextlib.contextmanager
def workspace(base: Path):
    """A fresh folder per example, the current directory during it (no policy file above it);
    removed when the example passes."""
    root = Path(tempfile.mkdtemp(prefix="ex-", dir=base))
    (root / "in").mkdir()
    (root / "out").mkdir()
    with contextlib.chdir(root):
        yield root
    shutil.rmtree(root, ignore_errors=True)


def write(root: Path, name: str, data: bytes) -> Path:
    p = root / "in" / name
    p.write_bytes(data)
    return p


def describe(files: dict, extra: str = "") -> str:
    parts = []
    for name, (data, desc) in files.items():
        d = {k: v for k, v in (desc or {}).items() if k != "table"}
        parts.append(f"file {name} ({d}): {data[:600]!r}{' …' if len(data) > 600 else ''}")
    return "\n".join(parts) + (("\n" + extra) if extra else "")


def json_args(how: str, root: Path, name="r.json"):
    if how == "none":
        return [], [], False
    if how == "-":
        return ["--json", "-"], [], True
    p = {"file": root / "out" / name, "nested": root / "out" / "new" / name,
         "under-file": root / "in" / "blocker" / name, "dir": root / "out"}[how]
    if how == "under-file":
        (root / "in" / "blocker").write_text("x")
    return ["--json", str(p)], [p] if how != "dir" else [], False


# ================================================================================================
# 1. Any bytes, any reader


READERS = ["unicity", "kanon", "audit", "hash-reversal", "topn", "ldiv", "risk", "travel", "linkage"]


@examples(40)
@given(f=table_file(), cmd=st.sampled_from(READERS), data=st.data())
def test_any_file_any_reader(base, capfd, f, cmd, data):
    name, blob, desc = f
    with workspace(base) as root:
        path = write(root, name, blob)
        cols = desc.get("table").columns if desc.get("table") is not None else ["a", "b", "c"]
        cols = [c for c in cols if c not in PLANTED]
        pick = lambda: data.draw(st.one_of(st.sampled_from(cols or ["a"]), column_name))  # noqa: E731
        argv = {"unicity": ["attack", "unicity", path, "--mapping", f"user={pick()},time={pick()},place={pick()}"],
                "kanon": ["attack", "kanon", path, "--qi", pick()],
                "ldiv": ["attack", "ldiv", path, "--qi", pick(), "--sensitive", pick()],
                "risk": ["attack", "risk", path, "--qi", pick()],
                "audit": ["audit", path],
                "hash-reversal": ["attack", "hash-reversal", path, "--column", pick(), "--prefixes", "300",
                                  "--serials", "0-99"],
                "topn": ["attack", "topn", path],
                "travel": ["attack", "travel", path],
                "linkage": ["attack", "linkage", path, "--auxiliary", path, "--qi", pick()]}[cmd]
        frag, outs, to_stdout = json_args(data.draw(st.sampled_from(["none", "-", "file"])), root)
        argv = argv + frag + (["-q"] if data.draw(st.booleans()) else [])
        before = snapshot(root)
        res = run_cli(argv, capfd)
        verify(res, root, before, outputs=outs, json_stdout=to_stdout, report_files=outs,
               describe=describe({name: (blob, desc)}))


# ================================================================================================
# 2. Tabular checks: kanon, ldiv, tclose, risk


@examples(60)
@given(f=table_file(st.one_of(tables(), pii_table(), pii_table())), cmd=st.sampled_from(["kanon", "ldiv", "tclose",
                                                                                           "risk"]),
       data=st.data())
def test_tabular_checks(base, capfd, f, cmd, data):
    name, blob, desc = f
    table = desc.get("table")
    cols = [c for c in (table.columns if table is not None else []) if c not in PLANTED]
    col = st.one_of(st.sampled_from(cols), column_name) if cols else column_name
    qi = data.draw(mostly(st.lists(st.sampled_from(cols), min_size=1, max_size=3, unique=True) if cols else
                          st.lists(column_name, min_size=1, max_size=2), st.lists(col, min_size=1, max_size=3)))
    argv_opts = []
    if cmd == "kanon":
        argv_opts += ["--k", data.draw(m_int(1, 6))] if data.draw(st.booleans()) else []
    if cmd in ("ldiv", "tclose"):
        argv_opts += ["--sensitive", data.draw(mostly(st.sampled_from(cols), col) if cols else col)]
    if cmd == "ldiv":
        if data.draw(st.booleans()):
            argv_opts += ["--variant", data.draw(mostly(st.sampled_from(["distinct", "entropy", "recursive"]),
                                                        st.text(max_size=5)))]
        if data.draw(st.booleans()):
            argv_opts += ["--l", data.draw(m_float(1, 4))]
        if data.draw(st.booleans()):
            argv_opts += ["--c", data.draw(m_float(0.1, 5))]
    if cmd == "tclose":
        if data.draw(st.booleans()):
            argv_opts += ["--t", data.draw(m_float(0, 1))]
        if data.draw(st.booleans()):
            argv_opts += [data.draw(st.sampled_from(["--ordered", "--categorical"]))]
    if cmd == "risk" and data.draw(st.booleans()):
        argv_opts += ["--sampling-fraction", data.draw(m_float(0.001, 1))]
    if data.draw(st.integers(0, 6)) == 0:
        argv_opts += ["--delimiter", data.draw(st.one_of(st.sampled_from([",", ";", "\\t", "|", "'", '"', "", "ab",
                                                                          "\n", "é"]), st.text(max_size=2)))]
    with workspace(base) as root:
        path = write(root, name, blob)
        frag, outs, to_stdout = json_args(data.draw(st.sampled_from(["none", "-", "file", "nested", "under-file"])),
                                          root)
        argv = ["attack", cmd, path, "--qi", ",".join(qi), *argv_opts, *frag]
        if data.draw(st.booleans()):
            argv.append("-q")
        before = snapshot(root)
        res = run_cli(argv, capfd)
        verify(res, root, before, outputs=outs, json_stdout=to_stdout, report_files=outs,
               describe=describe({name: (blob, desc)}))


# ================================================================================================
# 3. Trajectory attacks: unicity, unicity-curve, topn, homework


@examples(50)
@given(tt=trajectory_table(), cmd=st.sampled_from(["unicity", "unicity", "unicity-curve", "topn", "homework"]),
       data=st.data())
def test_trajectory_attacks(base, capfd, tt, cmd, data):
    table, roles = tt
    f = data.draw(table_file(st.just(table)))
    name, blob, desc = f
    mapping = ",".join(f"{k}={v}" for k, v in roles.items())
    tweak = data.draw(mostly(st.sampled_from(["none", "none", "unit"]), st.sampled_from(["drop", "gowalla", "garbage",
                                                                                         "absent"])))
    if tweak == "unit":
        mapping += f",time_unit={data.draw(mostly(st.sampled_from(['s', 'ms', 'us']), st.sampled_from(['ns', ''])))}"
    elif tweak == "drop":
        mapping = ",".join(mapping.split(",")[1:])
    elif tweak == "gowalla":
        mapping = "gowalla"
    elif tweak == "garbage":
        mapping = data.draw(st.text(max_size=20))
    opts = []
    if tweak != "absent":
        opts += ["--mapping", mapping]
    if cmd == "unicity":
        for flag, s in (("--points", m_int(1, 4)), ("--time-bin", mostly(VALID_BINS, time_bins)),
                        ("--space", mostly(VALID_SPACES, spaces)),
                        ("--targets", mostly(st.sampled_from(["all", "5", "100"]), targets_text)),
                        ("--seed", m_int(0, 99)), ("--time-tolerance", m_int(0, 2)),
                        ("--space-tolerance-km", m_float(0, 5))):
            if data.draw(st.integers(0, 2)) == 0:
                opts += [flag, data.draw(s)]
    elif cmd == "unicity-curve":
        if data.draw(st.booleans()):
            opts += ["--max-points", data.draw(m_int(1, 4))]
        for _ in range(data.draw(st.integers(0, 2))):
            opts += ["--resolution", f"{data.draw(mostly(VALID_BINS, time_bins))},{data.draw(mostly(VALID_SPACES, spaces))}"]
        if data.draw(st.booleans()):
            opts += ["--targets", data.draw(mostly(st.sampled_from(["all", "5", "100"]), targets_text))]
    elif cmd == "topn":
        if data.draw(st.booleans()):
            opts += ["--n", data.draw(m_int(1, 3))]
        if data.draw(st.booleans()):
            opts += ["--space", data.draw(mostly(VALID_SPACES, spaces))]
        if data.draw(st.booleans()):
            opts.append("--ordered")
    else:
        if data.draw(st.booleans()):
            opts += ["--space", data.draw(mostly(VALID_SPACES, spaces))]
        if data.draw(st.booleans()):
            opts += ["--workdays", data.draw(st.one_of(st.sampled_from(["0-4", "0-5", "6", "5-1", "0-7", "", "x",
                                                                        "0-4,6", "-1"]), st.text(max_size=4)))]
    if data.draw(st.integers(0, 2)) == 0:
        opts += ["--utc-offset", data.draw(m_float(-12, 14))]
    with workspace(base) as root:
        path = write(root, name, blob)
        files = {name: (blob, desc)}
        if data.draw(st.integers(0, 3)) == 0:
            cells_table = data.draw(st.one_of(
                tables(cols=["cell_id", "lat", "lon", "district"],
                       values=st.one_of(st.integers(0, 9), st.floats(20, 40), st.text(max_size=4))),
                tables()))
            cname, cblob, cdesc = data.draw(table_file(st.just(cells_table), name="cells"))
            opts += ["--cells", write(root, cname, cblob)]
            files[cname] = (cblob, cdesc)
        frag, outs, to_stdout = json_args(data.draw(st.sampled_from(["none", "-", "file", "under-file"])), root)
        argv = ["attack", cmd, path, *opts, *frag] + (["-q"] if data.draw(st.booleans()) else [])
        before = snapshot(root)
        res = run_cli(argv, capfd)
        verify(res, root, before, outputs=outs, json_stdout=to_stdout, report_files=outs, describe=describe(files))


# ================================================================================================
# 4. Hash reversal


pseudonym = st.one_of(st.sampled_from(PLANTED_HASHES), st.sampled_from(PLANTED),
                      st.text("0123456789abcdef", min_size=32, max_size=32), st.text("0123456789ABCDEF", min_size=64,
                                                                                       max_size=64),
                      st.sampled_from([sha256(c) for c in CNICS]), value)


@examples(40)
@given(data=st.data())
def test_hash_reversal(base, capfd, data):
    col = data.draw(st.one_of(st.just("pid"), column_name))
    extra = data.draw(st.lists(column_name, max_size=2))
    cols = [col] + [c for c in extra if c != col]
    table = Table(cols, [[data.draw(pseudonym)] + [data.draw(value) for _ in cols[1:]]
                         for _ in range(data.draw(st.integers(0, 12)))])
    name, blob, desc = data.draw(table_file(st.just(table)))
    kind = data.draw(mostly(st.sampled_from(["msisdn", "msisdn", "cnic"]), st.sampled_from(["imei", "", "MSISDN"])))
    opts = ["--column", data.draw(st.one_of(st.just(col), column_name)) if data.draw(st.integers(0, 4)) == 0 else col,
            "--serials", data.draw(mostly(st.sampled_from(["0-999", "0-99", "40-800", "0-1000"]), serials_text(), 7)),
            "--kind", kind]
    if kind == "msisdn" or data.draw(st.booleans()):
        opts += ["--prefixes", data.draw(mostly(st.sampled_from(["300", "300-301", "300,320"]), prefixes_text))]
    if kind == "cnic" or data.draw(st.integers(0, 5)) == 0:
        opts += ["--heads", data.draw(mostly(st.sampled_from(["35202", "35202,35201"]), st.one_of(st.sampled_from(
            ["05202", "3520", "", "35202-"]), st.text(max_size=6))))]
    if data.draw(st.integers(0, 5)) == 0:
        opts += ["--forms", data.draw(st.one_of(st.sampled_from(["e164", "intl,national", "dashed", "plain", "",
                                                                 "e164,e164", "x"]), st.text(max_size=6)))]
    if data.draw(st.integers(0, 5)) == 0:
        opts += ["--workers", data.draw(st.sampled_from(["1", "2", "0", "-1", "x"]))]
    reveal = data.draw(st.integers(0, 3)) == 0
    if reveal:
        opts.append("--reveal")
    with workspace(base) as root:
        path = write(root, name, blob)
        files = {name: (blob, desc)}
        if data.draw(st.integers(0, 3)) == 0:
            t2 = Table(cols, [[data.draw(pseudonym)] + [None] * (len(cols) - 1) for _ in range(data.draw(st.integers(0, 5)))])
            n2, b2, d2 = data.draw(table_file(st.just(t2), name="other"))
            opts += ["--compare", write(root, n2, b2)]
            files[n2] = (b2, d2)
        frag, outs, to_stdout = json_args(data.draw(st.sampled_from(["none", "-", "file", "nested"])), root)
        argv = ["attack", "hash-reversal", path, *opts, *frag] + (["-q"] if data.draw(st.booleans()) else [])
        before = snapshot(root)
        res = run_cli(argv, capfd)
        verify(res, root, before, outputs=outs, json_stdout=to_stdout, reveal=reveal, report_files=outs,
               describe=describe(files))


# ================================================================================================
# 5. Audit: files and folders of random tables, random policies, every report format

AUDIT_NAMES = ["cdr", "subscribers", "travel", "cells", "export", "presence", "t"]


@st.composite
def audit_table(draw):
    """Columns named so that the table is recognized as one kind or another (or none)."""
    kind = draw(st.sampled_from(["trajectory", "tabular", "travel", "aggregate", "places", "random", "pii"]))
    if kind == "pii":
        return draw(pii_table())
    if kind == "random":
        return draw(tables())
    pick = lambda names: draw(st.sampled_from(names))  # noqa: E731
    n = draw(st.integers(0, 12))
    small = st.one_of(st.integers(0, 4), st.integers(0, 4).map(str))
    if kind == "trajectory":
        cols = [pick(["pid", "uid", "user", "msisdn_hash", "subscriber_id"]), pick(["timestamp", "ts", "time"]),
                pick(["cell_id", "cell", "place"])]
        vals = [small, st.one_of(st.integers(1_736_100_000, 1_736_200_000), time_value), st.one_of(small, value)]
    elif kind == "tabular":
        cols = draw(st.lists(st.sampled_from(["age", "gender", "zip", "district", "birth_date", "pid", "diagnosis"]),
                             min_size=1, max_size=4, unique=True))
        vals = [st.one_of(small, value) for _ in cols]
    elif kind == "travel":
        cols = [pick(["pid", "user"]), "country", pick(["month", "depart_date"])]
        vals = [small, st.sampled_from(["SA", "AE", "", "GB"]), st.one_of(st.sampled_from(["2025-01", "2025-02"]),
                                                                          time_value)]
    elif kind == "aggregate":
        cols = [pick(["cell_id", "place"]), pick(["time", "timestamp"]), pick(["users", "count", "n"])]
        vals = [small, st.one_of(small, time_value), st.one_of(st.integers(-5, 30), value)]
    else:
        cols = ["cell_id", "lat", "lon"] + draw(st.lists(st.sampled_from(["district", "site_id", "province"]),
                                                         max_size=2, unique=True))
        vals = [st.one_of(small, value), st.one_of(st.floats(24, 36), value), st.one_of(st.floats(60, 77), value)] + \
            [st.one_of(small, value)] * (len(cols) - 3)
    rows = [[draw(v) for v in vals] for _ in range(n)]
    if draw(st.integers(0, 4)) == 0 and rows:
        rows.append(list(rows[0]))            # a duplicated row
    return Table(cols, rows)


toml_scalar = st.one_of(st.integers(-3, 10), st.integers(), st.floats(), st.booleans(), st.text(max_size=8),
                        st.sampled_from(["1h", "cell", "district", "upper", "value", "RC201", "entropy"]),
                        st.lists(st.sampled_from(["RC101", "RC201", "RC301", "RC999", "age", ""]), max_size=3))


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v == float("inf") else "-inf" if v == float("-inf") else repr(v))
    if isinstance(v, int):
        return str(v) if -2**63 <= v < 2**63 else f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v)


@st.composite
def policy_toml(draw):
    from reidcheck.policy import default_policy

    DEFAULT_POLICY = default_policy()

    lines = []
    for key in ("judge", "seed", "select", "skip"):
        if draw(st.integers(0, 3)) == 0:
            lines.append(f"{key} = {toml_value(draw(toml_scalar))}")
    for rid in draw(st.lists(st.sampled_from(sorted(DEFAULT_POLICY["rules"])), max_size=3, unique=True)):
        lines.append(f"[rules.{rid}]")
        keys = list(DEFAULT_POLICY["rules"][rid])
        for k in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
            default = DEFAULT_POLICY["rules"][rid][k]
            v = draw(st.one_of(st.just(default), toml_scalar)) if default is not None else draw(toml_scalar)
            if rid == "RC301" and k == "budget" and isinstance(v, int) and v > 30_000:
                v = 3000          # keep the enumeration cheap (huge budgets: test_huge_values)
            if rid == "RC201" and k == "targets" and isinstance(v, int) and v > 100_000:
                v = 100
            lines.append(f"{k} = {toml_value(v)}")
    for name in draw(st.lists(st.sampled_from(AUDIT_NAMES), max_size=2, unique=True)):
        lines.append(f'[tables."{name}"]')
        for k in draw(st.lists(st.sampled_from(["kind", "mapping", "qi", "sensitive", "delimiter",
                                                "allow_duplicates"]), max_size=3, unique=True)):
            v = {"kind": st.sampled_from(["trajectory", "tabular", "travel", "aggregate", "places", "x"]),
                 "mapping": st.one_of(st.sampled_from(["user=pid,time=timestamp,place=cell_id", "user=a,time=b",
                                                       "user=uid,time=ts,lat=lat,lon=lon", "x"]), st.text(max_size=10)),
                 "qi": st.one_of(st.lists(st.sampled_from(["age", "gender", "zip", "nope"]), max_size=3),
                                 st.text(max_size=5)),
                 "sensitive": st.sampled_from(["diagnosis", "age", "nope"]),
                 "delimiter": st.sampled_from([",", ";", "\t", "||", ""]),
                 "allow_duplicates": st.booleans()}[k]
            lines.append(f"{k} = {toml_value(draw(v))}")
    text = "\n".join(lines) + "\n"
    if draw(st.integers(0, 6)) == 0:
        text += draw(st.text(max_size=10))     # maybe broken TOML
    return text


@examples(50)
@given(data=st.data())
def test_audit(base, capfd, data):
    files = {}
    with workspace(base) as root:
        as_dir = data.draw(st.booleans())
        if as_dir:
            d = root / "in" / "export"
            d.mkdir()
            for nm in data.draw(st.lists(st.sampled_from(AUDIT_NAMES), min_size=0, max_size=3, unique=True)):
                fname, blob, desc = data.draw(table_file(audit_table(), name=nm))
                (d / fname).write_bytes(blob)
                files[fname] = (blob, desc)
            manifest = data.draw(st.sampled_from([None, None, "{}", "[]", '"x"', "{", '{"kind": "reidcheck-release"}',
                                                  '{"params": {"utc_offset_h": "x"}}', '{"params": []}',
                                                  '{"params": {"utc_offset_h": 1e999}}', "\xff"]))
            if manifest is not None:
                mname = data.draw(st.sampled_from(["population.json", "release.json"]))
                (d / mname).write_bytes(manifest.encode("latin-1", errors="replace"))
                files[mname] = (manifest.encode("latin-1", errors="replace"), {})
            if data.draw(st.integers(0, 5)) == 0:
                (d / "notes.txt").write_text("hello")
            target = d
        else:
            fname, blob, desc = data.draw(table_file(audit_table(), name=data.draw(st.sampled_from(AUDIT_NAMES))))
            target = write(root, fname, blob)
            files[fname] = (blob, desc)
        opts, outs = [], []
        cfg = data.draw(mostly(st.sampled_from(["none", "none", "toml", "auto"]), st.sampled_from(["dir", "missing",
                                                                                                  "binary"]), 9))
        if cfg in ("toml", "auto", "binary"):
            text = data.draw(policy_toml())
            blob = text.encode() if cfg != "binary" else b"\xff\xfe" + text.encode("utf-16-le")
            p = (root / "reidcheck.toml") if cfg == "auto" else (root / "in" / "policy.toml")
            p.write_bytes(blob)
            files[p.name] = (blob, {})
            if cfg != "auto":
                opts += ["--config", p]
        elif cfg == "dir":
            opts += ["--config", root / "in"]
        elif cfg == "missing":
            opts += ["--config", root / "in" / "nope.toml"]
        for flag, s in (("--seed", m_int(0, 9)),
                        ("--judge", mostly(st.sampled_from(["upper", "value"]), st.sampled_from(["x", ""]))),
                        ("--select", mostly(st.sampled_from(["RC201", "RC101,RC302", "rc301", "RC501,RC204", "RC102"]),
                                            st.sampled_from(["RC999", "", ",", "RC201,,"]))),
                        ("--skip", mostly(st.sampled_from(["RC301", "RC201,RC202,RC203"]), st.just("X"))),
                        ("--utc-offset", m_float(-12, 14))):
            if data.draw(st.integers(0, 3)) == 0:
                opts += [flag, data.draw(s)]
        if data.draw(st.integers(0, 4)) == 0:
            opts.append("--exit-zero")
        jhow = data.draw(st.sampled_from(["none", "-", "file", "nested", "under-file"]))
        frag, jouts, to_stdout = json_args(jhow, root)
        opts += frag
        outs += jouts
        for flag, ext in (("--html", "html"), ("--sarif", "sarif"), ("--junit", "xml"), ("--markdown", "md")):
            where = data.draw(st.sampled_from(["none", "none", "out", "nested", "under-file", "dir"]))
            if where == "none":
                continue
            p = {"out": root / "out" / f"r.{ext}", "nested": root / "out" / "sub" / f"r.{ext}",
                 "under-file": root / "in" / "blocker" / f"r.{ext}", "dir": root / "out"}[where]
            if where == "under-file":
                (root / "in" / "blocker").write_text("x")
            opts += [flag, p]
            if where != "dir":
                outs.append(p)
        if not to_stdout and data.draw(st.booleans()):
            opts.append("-q")
        argv = ["audit", target, *opts]
        before = snapshot(root)
        res = run_cli(argv, capfd)
        verify(res, root, before, outputs=outs, json_stdout=to_stdout, report_files=outs,
               describe=describe(files))
        if res.code in (0, 1) and res.exc is None:
            doc = None
            if to_stdout:
                with contextlib.suppress(ValueError):
                    doc = json.loads(res.out)
            elif jouts and jouts[0].is_file():
                doc = json.loads(jouts[0].read_text())
            if doc is not None:
                from reidcheck.report.json_report import validate

                try:
                    validate(doc)
                except ValueError as exc:
                    verify_fail(res, root, "audit report breaks its schema", str(exc))


def verify_fail(res, root, clause, detail):
    exc = ContractError(clause, f"{detail}\nargv: {res.argv}")
    if not LOG:
        raise exc
    with open(LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"clause": clause, "argv": [a.replace(str(root), "<tmp>") for a in res.argv],
                             "exit": res.code, "detail": str(exc).replace(str(root), "<tmp>")[:6000]},
                            ensure_ascii=False) + "\n")


# ================================================================================================
# 6. SQL injection through column names: never a new file

CLOSERS = ["FROM tbl) d) AS n", "AS STRING) AS v FROM tbl", "FROM tbl", ") FROM tbl", "", "AS BIGINT) FROM tbl",
           "AS STRING) AS p FROM tbl", "IS NULL) x", "FROM __raw"]
TAILS = ['SELECT (1 AS "x', "--", 'SELECT "x', "SELECT 1 /*", 'SELECT 1 AS "', "SELECT '"]


@st.composite
def injection(draw, pwned: str):
    lead = draw(st.sampled_from(["x", "age", "pid", "cell_id", "msisdn"]))
    closer = draw(st.sampled_from(CLOSERS))
    tail = draw(st.sampled_from(TAILS))
    quote = draw(st.sampled_from(['"', '"', "'", "`", ']', '""']))
    return lead, f"{lead}{quote} {closer}; COPY (SELECT 1) TO '{pwned}'; {tail}"


@examples(40)
@given(data=st.data(), fmt=st.sampled_from(["parquet", "parquet", "csv"]),
       cmd=st.sampled_from(["audit", "audit", "audit-dir", "hash-reversal", "kanon", "ldiv", "unicity", "risk",
                            "travel"]))
def test_sql_injection_through_column_names(base, capfd, data, fmt, cmd):
    with workspace(base) as root:
        pwned = root / "pwned.csv"
        lead, payload = data.draw(injection(str(pwned)))
        # A table that gets past the early checks: QIs, a user column, times and cells, and the payload.
        cols = list(dict.fromkeys(["age", "pid", "timestamp", "cell_id", "country", "month", lead]))
        fill = {"age": lambda i: str(20 + i % 3), "pid": lambda i: f"u{i % 4}",
                "timestamp": lambda i: 1_736_100_000 + 3600 * i, "cell_id": lambda i: i % 3,
                "country": lambda i: "SA", "month": lambda i: "2025-01"}
        n = data.draw(st.integers(1, 8))
        rows = [[fill.get(c, lambda i: "v")(i) for c in cols] for i in range(n)]
        where = data.draw(st.integers(0, len(cols)))
        cols.insert(where, payload)
        for r in rows:
            r.insert(where, "p")
        if data.draw(st.booleans()):
            rows.append(list(rows[0]))  # a duplicate, so that the duplicate check goes on to its second query
        table = Table(cols, rows)
        if fmt == "parquet":
            name, blob = "export.parquet", parquet_bytes(table, typed=data.draw(st.booleans()))
        else:
            name, blob = "export.csv", csv_bytes(table, {**data.draw(csv_options()), "header": True, "gzip": False,
                                                         "encoding": "utf-8", "ragged": False, "quoting": 0})
        if cmd == "audit-dir":
            (root / "in" / "d").mkdir()
            path = root / "in" / "d" / name
            path.write_bytes(blob)
            argv = ["audit", path.parent]
        else:
            path = write(root, name, blob)
            argv = {"audit": ["audit", path],
                    "hash-reversal": ["attack", "hash-reversal", path, "--column", payload, "--prefixes", "300",
                                      "--serials", "0-9"],
                    "kanon": ["attack", "kanon", path, "--qi", payload],
                    "risk": ["attack", "risk", path, "--qi", f"age,{payload}"],
                    "ldiv": ["attack", "ldiv", path, "--qi", "age", "--sensitive", payload],
                    "unicity": ["attack", "unicity", path, "--mapping", f"user={payload},time=timestamp,place=cell_id"],
                    "travel": ["attack", "travel", path]}[cmd]
        if cmd.startswith("audit") and data.draw(st.booleans()):
            pol = root / "in" / "policy.toml"
            pol.write_text('[rules.RC301]\nbudget = 3000\n[tables.export]\nkind = "'
                           + data.draw(st.sampled_from(["tabular", "trajectory", "travel"])) + '"\n')
            argv += ["--config", pol]
        argv += ["-q"]
        before = snapshot(root)
        res = run_cli(argv, capfd)
        if pwned.exists() and pwned not in before:
            verify_fail(res, root, "SQL injection wrote a file",
                        f"{pwned.name} was written (exit {res.code}, stderr {res.err[:300]!r})")
            pwned.unlink()
        verify(res, root, before, describe=describe({name: (blob, {"format": fmt})}))


# ================================================================================================
# 7. anonymize a tiny population with random strategy chains


@pytest.fixture(scope="module")
def populations(tmp_path_factory):
    from reidcheck.cli import main

    root = tmp_path_factory.mktemp("fuzzpop")
    with warnings_as_cli():
        assert main(["generate", "-n", "50", "-d", "1", "--seed", "1", "--out", str(root / "pop"), "-q"]) == 0
        assert main(["generate", "-n", "30", "-d", "1", "--seed", "2", "--out", str(root / "popcsv"), "--format",
                     "csv", "-q"]) == 0
    return root


@contextlib.contextmanager
def warnings_as_cli():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


PARAM_VALUES = {
    "algorithm": ["md5", "sha1", "sha256", "sha3", ""], "form": ["e164", "intl", "national", "x"],
    "key": ["k", "", "change-me", "a,b", "=", "é"], "period": ["month", "week", "day", "year", ""],
    "level": ["site", "district", "province", "grid:5km", "grid:0km", "grid:-1km", "cell", "grid:nankm", ""],
    "bin": ["15min", "1h", "4h", "1d", "1w", "0h", "how", "", "1e9h"], "age": ["10", "*", "0", "-1", "x", "1.5", "200"],
    "home_district": ["province", "*", "x"], "gender": ["*", "x"],
    "places": ["0", "1", "5", "-1", "100000", "x", "nan"], "points": ["0", "2", "-3", "1e9", "x"],
    "events": ["1", "0", "-1", "1000000", "x"], "n": ["1", "3", "0", "-1", "999", "x", "2.5"],
    "epsilon": ["0.5", "0", "-1", "nan", "inf", "1e-300", "1e300", "x", ""], "per": ["record", "place", "x"],
    "minutes": ["30", "0", "-5", "1e12", "nan", "x"], "records": ["0.5", "0", "1", "1.5", "-0.1", "nan", "x"],
    "users": ["0.5", "0", "1", "2", "nan"], "k": ["10", "1", "0", "-1", "51", "100000", "x", "2.5"],
    "suppression": ["0.05", "0", "1", "-1", "2", "nan"], "tables": ["travel", "subscribers", "subscribers|travel", "cdr",
                                                                     "", "x|y"],
    "min_count": ["10", "0", "-1", "1e9", "x"], "delta": ["1e-6", "0", "1", "-1", "nan"],
    "mechanism": ["laplace", "gaussian", "x"], "max_cells": ["24", "0", "-1", "1e9", "x"],
}


@st.composite
def strategy_spec(draw):
    from reidcheck.anonymize.strategies import NAMES, PARAMS

    name = draw(mostly(st.sampled_from(NAMES), st.text(max_size=6), 9))
    keys = list(PARAMS.get(name, {}))
    chosen = draw(st.lists(mostly(st.sampled_from(keys), st.text(max_size=4), 9) if keys else st.text(max_size=4),
                           max_size=3, unique=True)) if keys and draw(st.booleans()) else []
    params = []
    for k in chosen:
        vals = PARAM_VALUES.get(k, ["1"])
        params.append(f"{k}={draw(mostly(st.sampled_from(vals[:3] or vals), st.one_of(st.sampled_from(vals), st.text(max_size=4))))}")
    if draw(st.integers(0, 9)) == 0:
        params.append(draw(st.sampled_from(["novalue", "=x", "a=b=c", ""])))
    return name + (":" + ",".join(params) if params or draw(st.booleans()) else "")


@examples(40)
@given(chain=st.lists(strategy_spec(), min_size=1, max_size=4), data=st.data())
def test_anonymize(base, populations, capfd, chain, data):
    src = populations / data.draw(st.sampled_from(["pop", "pop", "popcsv"]))
    with workspace(base) as root:
        out_kind = data.draw(st.sampled_from(["fresh", "fresh", "fresh", "nested", "nonempty", "file", "empty"]))
        out = {"fresh": root / "out" / "rel", "nested": root / "out" / "a" / "b" / "rel",
               "nonempty": root / "out" / "full", "file": root / "out" / "afile", "empty": root / "out" / "empty"}[out_kind]
        if out_kind == "nonempty":
            out.mkdir()
            (out / "keep.txt").write_text("x")
        elif out_kind == "file":
            out.write_text("x")
        elif out_kind == "empty":
            out.mkdir()
        argv = ["anonymize", src, *[a for s in chain for a in ("--strategy", s)], "--out", out]
        truth_kind = data.draw(st.sampled_from(["default", "default", "path", "inside", "missing-dir", "under-file"]))
        truth = {"default": out.parent / (out.name + ".TRUTH-MAP-SECRET.parquet"),
                 "path": root / "out" / "truth.parquet", "inside": out / "truth.parquet",
                 "missing-dir": root / "out" / "nodir" / "truth.parquet",
                 "under-file": root / "in" / "blocker" / "truth.parquet"}[truth_kind]
        if truth_kind == "under-file":
            (root / "in" / "blocker").write_text("x")
        if truth_kind != "default":
            argv += ["--truth", truth]
        if data.draw(st.booleans()):
            argv += ["--seed", data.draw(m_int(0, 9))]
        if data.draw(st.integers(0, 4)) == 0:
            argv += ["--table", data.draw(st.sampled_from(["cdr", "pings", "travel", ""]))]
        if data.draw(st.integers(0, 3)) == 0:
            argv.append("--overwrite")
        if data.draw(st.booleans()):
            argv.append("-q")
        before = snapshot(root)
        res = run_cli(argv, capfd)
        key = out.parent / (out.name + ".KEY-SECRET")     # a fresh key's sidecar, beside the release
        verify(res, root, before, outputs=[truth, key], out_dirs=[out], describe=f"chain: {chain}")
        if res.code == 0 and out.is_dir():
            _release_has_no_identifiers(res, root, out)


def _release_has_no_identifiers(res, root, out):
    """README: no subscriber id, phone number, ID number or name in any file of the release."""
    import pyarrow.parquet as pq

    from tests.fuzz_strategies import PII_RE

    for p in sorted(out.glob("*.parquet")):
        t = pq.read_table(p)
        bad = {"subscriber_id", "msisdn", "cnic", "name", "counterpart_msisdn"} & set(t.column_names)
        if bad:
            verify_fail(res, root, "release carries identifiers", f"{p.name} has column {sorted(bad)[0]}")
        for c in t.column_names:
            col = t.column(c)
            if str(col.type) in ("string", "large_string"):
                vals = [v for v in col.to_pylist()[:5000] if isinstance(v, str)]
                if any(PII_RE.fullmatch(v.strip()) for v in vals):
                    verify_fail(res, root, "release carries identifiers",
                                f"{p.name} column {c!r} holds phone numbers or CNICs")


# ================================================================================================
# 8. generate with random option values (small)


@examples(20)
@given(data=st.data())
def test_generate(base, capfd, data):
    small_int = mostly(st.integers(1, 40).map(str), st.sampled_from(["0", "-1", "x", "", "1e1", "10.0", "٣"]))
    with workspace(base) as root:
        out_kind = data.draw(st.sampled_from(["fresh", "fresh", "nonempty", "file", "under-file", "nested"]))
        out = {"fresh": root / "out" / "pop", "nonempty": root / "out" / "full", "file": root / "out" / "f",
               "under-file": root / "out" / "f" / "pop", "nested": root / "out" / "x" / "y"}[out_kind]
        if out_kind == "nonempty":
            out.mkdir()
            (out / "keep.txt").write_text("x")
        if out_kind in ("file", "under-file"):
            (root / "out" / "f").write_text("x")
        argv = ["generate", "-n", data.draw(small_int), "-d", data.draw(mostly(st.sampled_from(["1", "1", "2"]),
                                                                       st.sampled_from(["0", "-1", "367", "x", "1.5"]))),
                "--out", out]
        for flag, s in (("--seed", m_int(0, 9)),
                        ("--format", st.sampled_from(["parquet", "csv", "CSV", "xls", ""])),
                        ("--start", st.one_of(st.sampled_from(["2025-01-06", "0001-01-01", "9999-12-31", "2025-02-30",
                                                               "2025-1-6", "", "1970-01-01", "2038-01-19", "x",
                                                               "1900-02-28", "20250106"]),
                                              st.text(max_size=8))),
                        ("--sites", mostly(st.sampled_from(["1", "2", "12", "300"]), st.sampled_from(["0", "-1", "x"]))),
                        ("--travel-rate", m_float(0, 12)),
                        ("--workers", st.sampled_from(["1", "2", "0", "-1", "x"])),
                        ("--chunk-size", st.sampled_from(["1", "2048", "0", "-1", "x", "9" * 20]))):
            if data.draw(st.integers(0, 3)) == 0:
                argv += [flag, data.draw(s)]
        if data.draw(st.integers(0, 3)) == 0:
            argv.append("--overwrite")
        if data.draw(st.booleans()):
            argv.append("-q")
        before = snapshot(root)
        res = run_cli(argv, capfd)
        verify(res, root, before, out_dirs=[out], describe="")


# ================================================================================================
# 9. Interrupted at any point: exit 130, nothing written

INTERRUPT_AT = {
    "audit": ["reidcheck.io.write_files", "os.replace", "reidcheck.report.html.render_html",
              "reidcheck.report.sarif.render_sarif", "reidcheck.attacks.Unicity.run",
              "reidcheck.audit.Audit.judge_table", "reidcheck.audit.load_table", "reidcheck.audit.load_trajectories"],
    "anonymize": ["pyarrow.parquet.write_table", "os.replace", "shutil.rmtree", "pathlib.Path.write_text",
                  "reidcheck.anonymize.release.Release.publish"],
    "generate": ["os.replace", "pyarrow.parquet.write_table", "pyarrow.parquet.ParquetWriter.write_table",
                 "os.chmod"],
    "unicity": ["reidcheck.io.write_files", "os.replace", "reidcheck.attacks.Unicity.run", "os.fdopen"],
}


@examples(20)
@given(nth=st.integers(1, 3), cmd=st.sampled_from(["audit", "anonymize", "generate", "unicity"]), data=st.data())
def test_interrupted(base, populations, capfd, nth, cmd, data):
    import importlib

    target = data.draw(st.sampled_from(INTERRUPT_AT[cmd]))

    with workspace(base) as root:
        outs, out_dirs = [], []
        if cmd == "audit":
            outs = [root / "out" / "r.json", root / "out" / "r.html", root / "out" / "r.sarif", root / "out" / "r.md"]
            argv = ["audit", populations / "pop", "--select", "RC201,RC302", "--json", outs[0], "--html", outs[1],
                    "--sarif", outs[2], "--markdown", outs[3], "-q"]
        elif cmd == "anonymize":
            out_dirs = [root / "out" / "rel"]
            outs = [root / "out" / "rel.TRUTH-MAP-SECRET.parquet", root / "out" / "rel.KEY-SECRET"]
            argv = ["anonymize", populations / "pop", "-s", "generalize-time:bin=1d", "--out", out_dirs[0], "-q"]
        elif cmd == "generate":
            out_dirs = [root / "out" / "pop"]
            argv = ["generate", "-n", "5", "-d", "1", "--out", out_dirs[0], "-q"]
        else:
            outs = [root / "out" / "u.json"]
            argv = ["attack", "unicity", populations / "pop", "--targets", "20", "--json", outs[0], "-q"]
        modname, _, attr = target.rpartition(".")
        try:
            owner = importlib.import_module(modname)
        except ImportError:
            mod2, _, cls = modname.rpartition(".")
            owner = getattr(importlib.import_module(mod2), cls)
        real = getattr(owner, attr)
        calls = {"n": 0}

        def interrupting(*a, **kw):
            calls["n"] += 1
            if calls["n"] == nth:
                raise KeyboardInterrupt
            return real(*a, **kw)

        before = snapshot(root)
        with mock.patch.object(owner, attr, interrupting):
            res = run_cli(argv, capfd)
        assume(calls["n"] >= nth)          # the interrupt happened
        if res.code == 130:
            assert res.err == "reidcheck: interrupted; nothing was written\n", res.err
            res.err = ""
        verify(res, root, before, outputs=outs, out_dirs=out_dirs, describe=f"KeyboardInterrupt at call {nth} of "
                                                                             f"{target}")
        if res.exc is None and res.code != 130:
            verify_fail(res, root, "interrupt not exit 130", f"exit {res.code} after a KeyboardInterrupt at {target}")


# ================================================================================================
# 10. Huge option values: a memory-capped subprocess (they must be refused, not attempted)

HUGE = [
    ["attack", "hash-reversal", "{csv}", "--column", "pid", "--prefixes", "300", "--serials", "0-99999999999"],
    ["attack", "hash-reversal", "{csv}", "--column", "pid", "--prefixes", "300-99999999999", "--serials", "0-9"],
    ["generate", "-n", "1", "-d", "1", "--sites", "1000000000", "--out", "{out}/pop", "-q"],
    ["generate", "-n", "1", "-d", "1", "--chunk-size", "99999999999999999999", "--out", "{out}/pop", "-q"],
    ["attack", "unicity", "{traj}", "--mapping", "user=u,time=t,place=p", "--points", "1000000000000000000000"],
    ["attack", "unicity", "{traj}", "--mapping", "user=u,time=t,place=p", "--targets", "9" * 30],
    ["attack", "unicity", "{traj}", "--mapping", "user=u,time=t,place=p", "--time-tolerance", "9" * 20],
    ["attack", "unicity", "{traj}", "--mapping", "user=u,time=t,place=p", "--seed", "9" * 30],
    ["attack", "kanon", "{csv}", "--qi", "pid", "--k", "9" * 30],
    ["audit", "{csv}", "--seed", "9" * 30],
    ["audit", "{traj}", "--utc-offset", "1e308"],
    ["audit", "{csv}", "--config", "{budget}"],
]


def _limit_child():
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))


@pytest.mark.parametrize("argv", HUGE, ids=lambda a: " ".join(a[:2] + a[3:])[:60])
def test_huge_values(tmp_path, argv):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    csv_path = tmp_path / "in" / "t.csv"
    csv_path.write_text("pid,age\n" + "\n".join(f"{h},{30 + i}" for i, h in enumerate(PLANTED_HASHES)) + "\n")
    traj = tmp_path / "in" / "traj.csv"
    traj.write_text("u,t,p\n" + "".join(f"{i % 3},2025-01-06 {i % 24:02d}:00:00,{i % 5}\n" for i in range(30)))
    budget = tmp_path / "in" / "budget.toml"
    budget.write_text("[rules.RC301]\nbudget = 1000000000000000\n")
    args = [a.format(csv=csv_path, traj=traj, out=tmp_path / "out", budget=budget) for a in argv]
    before = snapshot(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    try:
        r = subprocess.run([sys.executable, "-m", "reidcheck.cli", *args], capture_output=True, text=True, timeout=30,
                           env=env, cwd=tmp_path, preexec_fn=_limit_child)
    except subprocess.TimeoutExpired:
        pytest.fail(f"[hang] `reidcheck {' '.join(argv)}` did not finish in 30 s (a huge value is attempted, "
                    "not refused)")
    from tests.fuzz_strategies import Outcome

    res = Outcome(args, r.returncode, r.stdout, r.stderr)
    if r.returncode < 0 or r.returncode not in (0, 1, 2, 130):
        pytest.fail(f"[exit code] {r.returncode} (killed/crashed) for {args}\nstderr tail: {r.stderr[-1500:]}")
    outs = [tmp_path / "out" / "pop"] if argv[0] == "generate" else []
    check(res, tmp_path, before, out_dirs=outs)
