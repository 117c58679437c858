"""Hostile input is normal input: no SQL from data, no record values in messages, nothing partial.

Each case is one found by a red-team review (issue 13); each must give exit 2 (or the verdict's 0/1),
one line on stderr, no traceback, no value of a record, and no output left behind.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reidcheck.cli import main

PHONE, CNIC, NAME = "+923001234567", "35202-1234567-1", "Ayesha Khan"


def run(args, capsys):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out
    return rc, out, err


def one_error_line(err: str, *needles: str) -> None:
    assert err.count("\n") == 1 and err.startswith("reidcheck: error: "), err
    for n in needles:
        assert n in err, (n, err)
    for value in (PHONE, PHONE[1:], "03001234567", CNIC, NAME, "Ayesha", "Khan"):
        assert value not in err, f"record value {value!r} in the message"


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.fixture(scope="module")
def pop(tmp_path_factory):
    out = tmp_path_factory.mktemp("sec") / "pop"
    assert main(["generate", "-n", "200", "-d", "2", "--seed", "3", "--out", str(out), "-q"]) == 0
    return out


# --- 1. SQL from column names ------------------------------------------------------------------
INJECTION = 'x" FROM tbl) d) AS n; COPY (SELECT 42) TO \'{target}\'; SELECT (1 AS "x'


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_column_name_is_never_sql(tmp_path, capsys, fmt):
    """The header that made `audit` write a file (issue 13): every command now treats it as a name."""
    target = tmp_path / "pwned.csv"
    name = INJECTION.format(target=target)
    # The injected text closes the quoted name after a real column "x", ends the statement and runs COPY.
    df = pd.DataFrame({"pid": ["a", "b", "c"], "age": ["30", "40", "30"], "x": ["1", "1", "2"], name: ["1", "2", "1"],
                       "timestamp": ["2025-01-06 10:00:00"] * 3, "cell_id": ["1", "2", "3"]})
    path = tmp_path / f"t.{fmt}"
    df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path)
    for args in (["audit", path, "-q"],
                 ["attack", "kanon", path, "--qi", f"age,{name}", "--json", "-"],
                 ["attack", "ldiv", path, "--qi", "age", "--sensitive", name, "--json", "-"],
                 ["attack", "hash-reversal", path, "--column", name, "--prefixes", "300", "--serials", "0-99",
                  "--json", "-"],
                 ["attack", "unicity", path, "--mapping", f"user={name},time=timestamp,place=cell_id", "--json", "-"]):
        rc, out, err = run(args, capsys)
        assert rc in (0, 1, 2), (args, err)
        assert not target.exists(), f"{args[:2]} executed SQL from a column name"
    rc, out, _ = run(["attack", "kanon", path, "--qi", f"age,{name}", "--json", "-"], capsys)
    assert rc == 0 and '"k": 1' in out        # the odd name works as a column


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
                    max_size=24).filter(lambda s: s.strip() and s == s.strip()))
def test_arbitrary_column_names_work_or_exit_2(tmp_path_factory, name):
    """Any unicode name (quotes, semicolons, backticks, newlines) reaches SQL only as a quoted name."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    tmp = tmp_path_factory.mktemp("name")
    df = pd.DataFrame({"pid": ["a", "b", "c", "d"], "q": ["1", "1", "2", "2"]})
    if name in df.columns:
        return
    df[name] = ["x", "x", "y", "z"]
    path = tmp / "t.parquet"
    df.to_parquet(path)
    before = files_under(tmp)
    buf_out, buf_err = io.StringIO(), io.StringIO()
    with redirect_stdout(buf_out), redirect_stderr(buf_err):
        rc = main(["attack", "kanon", str(path), "--qi", name, "--json", "-"]) if "," not in name else 2
        rc2 = main(["attack", "ldiv", str(path), "--qi", "q", "--sensitive", name, "--json", "-"])
    assert rc in (0, 2) and rc2 in (0, 2), buf_err.getvalue()
    assert "Traceback" not in buf_err.getvalue()
    if "," not in name:
        assert rc == 0, buf_err.getvalue()        # a name that the option can carry works
    assert rc2 == 0, buf_err.getvalue()
    assert files_under(tmp) == before


def test_engine_quoting_functions():
    from reidcheck.engine import quote_backtick, quote_double, sql_string
    from reidcheck.errors import UsageError

    assert quote_double('a"b') == '"a""b"' and quote_backtick("a`b") == "`a``b`"
    assert sql_string("it's") == "'it''s'"
    for fn in (quote_double, quote_backtick, sql_string):
        with pytest.raises(UsageError):
            fn("a\x00b")


# --- 2. No record values in messages ------------------------------------------------------------
def _subscribers_csv(path: Path, header: bool) -> None:
    rows = [f"{i},{PHONE[:-1]}{i},{CNIC[:-1]}{i % 10},{NAME},F,1990-01-0{1 + i % 9}" for i in range(1, 30)]
    head = "subscriber_id,msisdn,cnic,name,gender,birth_date\n" if header else ""
    path.write_text(head + f"0,{PHONE},{CNIC},{NAME},F,1990-01-01\n" * (0 if header else 1) + "\n".join(rows) + "\n")


@pytest.mark.parametrize("args", [["audit", "{f}"], ["attack", "kanon", "{f}", "--qi", "gender"],
                                  ["attack", "unicity", "{f}"], ["attack", "hash-reversal", "{f}", "--column", "pid"]])
def test_a_headerless_file_is_named_as_such_without_its_values(tmp_path, capsys, args):
    f = tmp_path / "subs.csv"
    _subscribers_csv(f, header=False)
    rc, out, err = run([a.format(f=f) for a in args], capsys)
    assert rc == 2
    one_error_line(err, "first row looks like data", "mapping")
    assert out == ""


def test_engine_messages_are_scrubbed_of_values():
    from reidcheck.redact import column_list, looks_like_value, scrub

    text = ("Invalid Input Error: CSV Error on Line: 3\nOriginal Line: +923001234567,Ayesha Khan\n"
            "Expected Number of columns: 10 Found: 2 — value '35202-1234567-1' of ayesha@example.com")
    assert scrub(text) == "Invalid Input Error: CSV Error on Line: 3"
    assert PHONE not in scrub("Expected 10 columns, got 2: +923001234567,Ayesha Khan")
    assert "35202" not in scrub("could not convert '35202-1234567-1' to INT64")
    assert "ayesha@example.com" not in scrub("bad value ayesha@example.com in row 3")
    for value in (PHONE, "03001234567", CNIC, "410011234567890", "ayesha@example.com", NAME, "Muhammad Ali"):
        assert looks_like_value(value), value
    for name in ("subscriber_id", "msisdn", "name", "birth_date", "cell_id", "marital-status", "age", "x1"):
        assert looks_like_value(name) is None, name
    assert column_list(["pid", PHONE, "age"]) == "pid, <value>, age"


def test_a_short_row_in_a_population_csv_is_not_quoted(tmp_path, capsys):
    out = tmp_path / "pop"
    assert main(["generate", "-n", "60", "-d", "1", "--seed", "1", "--out", str(out), "--format", "csv", "-q"]) == 0
    subs = out / "subscribers.csv"
    lines = subs.read_text().splitlines()
    subs.write_text("\n".join(lines[:5] + [f'"{PHONE}","{NAME}"'] + lines[5:]) + "\n")
    rc, _, err = run(["anonymize", out, "--strategy", "token", "--out", tmp_path / "rel"], capsys)
    assert rc == 2
    one_error_line(err, "subscribers.csv")
    assert not (tmp_path / "rel").exists()


# --- 4. All or nothing --------------------------------------------------------------------------
def test_a_bad_report_path_leaves_no_report(pop, tmp_path, capsys):
    (tmp_path / "adir").mkdir()
    a, b = tmp_path / "a.json", tmp_path / "b.html"
    rc, _, err = run(["audit", pop, "--json", a, "--html", b, "--sarif", tmp_path / "adir"], capsys)
    assert rc == 2
    one_error_line(err, "adir")
    assert not a.exists() and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]


def test_a_device_is_never_replaced(pop, tmp_path, capsys):
    before = os.stat("/dev/full")
    for args in (["audit", pop, "--html", "/dev/full"], ["attack", "unicity", pop, "--json", "/dev/full"],
                 ["compare", pop, "--json", tmp_path / "c.json", "--png", "/dev/full"]):
        rc, _, err = run(args, capsys)
        assert rc == 2
        one_error_line(err, "/dev/full", "not a regular file")
    after = os.stat("/dev/full")
    assert (after.st_ino, after.st_rdev, after.st_mode) == (before.st_ino, before.st_rdev, before.st_mode)
    assert list(tmp_path.iterdir()) == []


def test_write_files_is_all_or_nothing(tmp_path):
    from reidcheck.errors import UsageError
    from reidcheck.io import write_files

    (tmp_path / "sub").mkdir()
    with pytest.raises(UsageError):
        write_files({tmp_path / "a.txt": "a", tmp_path / "sub": "b"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]
    write_files({tmp_path / "a.txt": "a", tmp_path / "b.bin": b"\x00\x01"})
    assert (tmp_path / "a.txt").read_text() == "a" and (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(UsageError, match="same file"):
        write_files({tmp_path / "c.txt": "x", f"{tmp_path}/sub/../c.txt": "y"})
    assert not (tmp_path / "c.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _bad_cases(tmp: Path, pop: Path):
    """(name, command line, text the one line must hold)."""
    (tmp / "header_only.csv").write_text("subscriber_id,timestamp,cell_id\n")
    (tmp / "cfgdir").mkdir()
    old = pd.read_parquet(pop / "cdr.parquet").head(50)
    old["timestamp"] = pd.Timestamp("1811-03-01", tz="UTC")
    old.to_parquet(tmp / "old.parquet")
    future = pd.read_parquet(pop / "cdr.parquet").head(50)
    future["timestamp"] = pd.Timestamp("4029-03-01", tz="UTC")
    future.to_parquet(tmp / "future.parquet")
    (tmp / "ids.csv").write_text("pid\n" + "\n".join("ab" * 32 for _ in range(3)) + "\n")
    (tmp / "select.toml").write_text("select = 5\n")
    (tmp / "budget.toml").write_text('[rules.RC301]\nbudget = "x"\n')
    (tmp / "qi.toml").write_text("[tables.t]\nqi = 3\n")
    (tmp / "ab.csv").write_text("a,b\n1,2\n1,3\n")
    return [
        ("header-only unicity", ["attack", "unicity", tmp / "header_only.csv"], "no data rows"),
        ("header-only kanon", ["attack", "kanon", tmp / "header_only.csv", "--qi", "cell_id"], "no data rows"),
        ("header-only audit", ["audit", tmp / "header_only.csv"], "no data rows"),
        ("config directory", ["audit", pop, "--config", tmp / "cfgdir"], "is a directory"),
        ("utc offset nan", ["attack", "unicity", pop, "--utc-offset", "nan"], "`--utc-offset`"),
        ("utc offset 1000", ["attack", "unicity", pop, "--utc-offset", "1000"], "`--utc-offset`"),
        ("audit utc offset", ["audit", pop, "--utc-offset", "-99"], "`--utc-offset`"),
        ("huge serials", ["attack", "hash-reversal", tmp / "ids.csv", "--column", "pid", "--serials", "0-99999999999"],
         "`--serials`"),
        ("workers 0", ["attack", "hash-reversal", tmp / "ids.csv", "--column", "pid", "--workers", "0"], "`workers`"),
        ("generate workers 0", ["generate", "-n", "10", "-d", "1", "--workers", "0", "--out", tmp / "g"], "`workers`"),
        ("timestamps in 1811", ["attack", "unicity", tmp / "old.parquet"], "before 1990"),
        ("timestamps in 4029", ["attack", "topn", tmp / "future.parquet"], "a year from now"),
        ("sites 10^9", ["generate", "-n", "1", "-d", "1", "--sites", "1000000000", "--out", tmp / "g"], "`sites`"),
        ("workers 10^5", ["generate", "-n", "1", "-d", "1", "--workers", "100000", "--out", tmp / "g"], "`workers`"),
        ("hash workers 10^5", ["attack", "hash-reversal", tmp / "ids.csv", "--column", "pid", "--workers", "100000"],
         "`workers`"),
        ("reversed serials", ["attack", "hash-reversal", tmp / "ids.csv", "--column", "pid", "--serials", "5-3"],
         "`--serials`"),
        ("policy select = 5", ["audit", pop, "--config", tmp / "select.toml"], "`select` must be a list"),
        ("policy budget text", ["audit", pop, "--config", tmp / "budget.toml"], "budget must be an integer"),
        ("policy qi = 3", ["audit", pop, "--config", tmp / "qi.toml"], "qi must be a list of strings"),
        ("newline in a column name", ["attack", "tclose", tmp / "ab.csv", "--qi", "a\nX", "--sensitive", "b"],
         "'a\\nX' not found"),
    ]


def test_every_bad_case_is_one_line_and_exit_2(pop, tmp_path, capsys):
    for name, args, needle in _bad_cases(tmp_path, pop):
        before = files_under(tmp_path)
        rc, out, err = run(args, capsys)
        assert rc == 2, (name, err)
        one_error_line(err, needle)
        assert files_under(tmp_path) == before, name


def test_duplicated_subscribers_are_refused(pop, tmp_path, capsys):
    import shutil

    for col in ("subscriber_id", "msisdn"):
        d = tmp_path / col
        shutil.copytree(pop, d)
        subs = pd.read_parquet(d / "subscribers.parquet")
        subs.loc[5, col] = subs.loc[2, col]
        subs.to_parquet(d / "subscribers.parquet")
        rc, _, err = run(["anonymize", d, "--strategy", "hash", "--out", tmp_path / f"rel-{col}"], capsys)
        assert rc == 2
        one_error_line(err, f"column '{col}'", "repeated", "row 6")
        assert not (tmp_path / f"rel-{col}").exists()


# --- Ctrl-C -------------------------------------------------------------------------------------
def _interrupt(args, cwd: Path, after_s: float) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, "-m", "reidcheck.cli", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(after_s)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("args, after_s", [
    (["generate", "-n", "150000", "-d", "14", "--out", "big", "--workers", "2"], 4.0),
    (["audit", "{pop}", "--json", "a.json", "--html", "a.html"], 3.0),
    (["attack", "hash-reversal", "ids.csv", "--column", "pid", "--json", "r.json"], 3.0),
])
def test_ctrl_c_exits_130_with_one_line_and_leaves_nothing(pop, tmp_path, args, after_s):
    (tmp_path / "ids.csv").write_text("pid\n" + "ab" * 32 + "\n")
    before = files_under(tmp_path)
    r = _interrupt([a.format(pop=pop) for a in args], tmp_path, after_s)
    assert r.returncode == 130, (r.returncode, r.stderr[-500:])
    assert r.stderr == "reidcheck: interrupted; nothing was written\n", r.stderr[-800:]
    assert files_under(tmp_path) == before


def test_gzip_is_detected_by_content_and_names_nothing_else(tmp_path, capsys):
    path = tmp_path / "gz.csv"
    with gzip.open(path, "wt") as fh:
        fh.write("pid,age,gender\n" + "".join(f"p{i},{20 + i % 3},F\n" for i in range(30)))
    rc, out, err = run(["attack", "kanon", path, "--qi", "age,gender", "--json", "-"], capsys)
    assert rc == 0, err
    assert '"k": 10' in out


def test_tiny_tables_give_population_risk_without_warnings(tmp_path, capsys):
    """Pitman's solver on a degenerate histogram: NaN (Dankar falls back to Zayatz), no RuntimeWarning
    on stderr (filterwarnings = error would raise it here)."""
    path = tmp_path / "small.csv"
    path.write_text("age\n30\n30\n31\n40\n40\n40\n51\n52\n")
    rc, out, err = run(["attack", "risk", path, "--qi", "age", "--sampling-fraction", "0.1", "--json", "-"], capsys)
    assert rc == 0 and err == ""


def test_unhelpful_reader_messages_are_now_clear(tmp_path, capsys):
    """A ragged row, latin-1 bytes on `attack`, an empty CSV: one line that says what is wrong."""
    (tmp_path / "ragged.csv").write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
    (tmp_path / "latin.csv").write_bytes("user,time,place\n1,2025-01-06 10:00:00,3\n2,2025-01-06 11:00:00,Caf\xe9\n"
                                         .encode("latin-1"))
    (tmp_path / "empty.csv").write_text("")
    for args, needles in (
            (["attack", "unicity", tmp_path / "ragged.csv", "--mapping", "user=a,time=b,place=c"],
             ("record 3 has 2 field(s)", "first line has 3")),
            (["attack", "kanon", tmp_path / "ragged.csv", "--qi", "a"], ("record 3 has 2 field(s)",)),
            (["attack", "unicity", tmp_path / "latin.csv", "--mapping", "user=user,time=time,place=place"],
             ("not UTF-8", "iconv")),
            (["attack", "unicity", tmp_path / "empty.csv"], ("empty",)),
            (["audit", tmp_path / "empty.csv"], ("empty",))):
        rc, out, err = run(args, capsys)
        assert rc == 2, (args, err)
        one_error_line(err, *needles)
        assert "sniffing" not in err and "column0" not in err and "CSV Error" not in err


def test_gzip_named_csv_trajectories_are_read(tmp_path, pop, capsys):
    cdr = pd.read_parquet(pop / "cdr.parquet").head(2000)
    plain, packed = tmp_path / "cdr.csv", tmp_path / "cdr-gz.csv"
    cdr.to_csv(plain, index=False)
    with gzip.open(packed, "wt") as fh:
        fh.write(plain.read_text())
    docs = []
    for path in (plain, packed):
        rc, out, err = run(["attack", "unicity", path, "--targets", "50", "--seed", "1", "--json", "-"], capsys)
        assert rc == 0, err
        docs.append({k: v for k, v in __import__("json").loads(out).items() if k != "elapsed_s"})
    assert docs[0] == docs[1]


def test_anonymize_outputs_are_checked_before_any_work(pop, tmp_path, capsys):
    """`--out` naming a file (a traceback before), `--truth` in a folder that does not exist yet (created),
    `--truth` under a file (refused): one line, nothing written."""
    (tmp_path / "afile").write_text("x")
    rc, _, err = run(["anonymize", pop, "--strategy", "token", "--out", tmp_path / "afile"], capsys)
    assert rc == 2
    one_error_line(err, "afile", "not a directory")
    assert (tmp_path / "afile").read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    rc, _, err = run(["anonymize", pop, "--strategy", "token", "--out", tmp_path / "rel",
                      "--truth", tmp_path / "afile" / "truth.parquet"], capsys)
    assert rc == 2
    one_error_line(err, "not a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    rc, _, err = run(["anonymize", pop, "--strategy", "token", "--out", tmp_path / "rel", "-q",
                      "--truth", tmp_path / "new" / "dir" / "truth.parquet"], capsys)
    assert rc == 0, err
    truth = tmp_path / "new" / "dir" / "truth.parquet"
    assert truth.is_file() and (truth.stat().st_mode & 0o777) == 0o600
