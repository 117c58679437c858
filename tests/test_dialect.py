"""CSV dialect detection (reidcheck.dialect) and its use by load_table on DuckDB; no Spark needed."""

from __future__ import annotations

import gzip
import logging
import sys
import types
import warnings

import pytest

from reidcheck.cli import main
from reidcheck.dialect import SAMPLE_BYTES, CsvDialect, detect_csv, normalize_delimiter
from reidcheck.engine import get_engine
from reidcheck.errors import InputError, UsageError
from reidcheck.io import load_table

SECRET = "+923001234567"      # a value that must never appear in a message


def _write(tmp_path, name, data):
    path = tmp_path / name
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return path


@pytest.mark.parametrize("text, delimiter", [
    ("sex;age;race\nMale;39;White\nFemale;50;Black\n", ";"),
    ("sex,age\nMale,39\nFemale,50\n", ","),
    ("sex\tage\nMale\t39\n", "\t"),
    ("sex|age\nMale|39\n", "|"),
    ('a,b\n"x;y;z",1\n"p;q",2\n', ","),                     # ; only inside quoted fields
    ("name;note\nSmith, John;x\nDoe, Jane;y\n", ";"),         # , in values, but not on every line
    ("sex;age;race\n", ";"),                                  # a header only
    ("pid\nabc\ndef\n", ","),                                 # one column: the default
])
def test_delimiter(tmp_path, text, delimiter):
    d = detect_csv(_write(tmp_path, "t.csv", text))
    assert d.delimiter == delimiter and d.header and d.compression is None and d.encoding == "utf-8"


def test_tsv_default_and_given_delimiter(tmp_path):
    assert detect_csv(_write(tmp_path, "one.tsv", "pid\nabc\n")).delimiter == "\t"
    path = _write(tmp_path, "t.csv", "a;b\n1;2\n")
    assert detect_csv(path, delimiter=",").delimiter == ","          # given: taken as it is
    assert detect_csv(path, delimiter="\\t").delimiter == "\t"
    assert normalize_delimiter("tab") == "\t" and normalize_delimiter(None) is None
    with pytest.raises(UsageError, match="must be one character"):
        detect_csv(path, delimiter=";;")


def test_header_detection(tmp_path):
    assert detect_csv(_write(tmp_path, "h.csv", "age,sex\n39,M\n40,F\n")).header
    assert not detect_csv(_write(tmp_path, "n.csv", "39,M\n40,F\n41,M\n")).header
    assert detect_csv(_write(tmp_path, "s.csv", "sex,town\nM,a\nF,b\n")).header      # all text: a header
    assert detect_csv(_write(tmp_path, "o.csv", "age\n")).header


def test_quotes_and_multiline(tmp_path):
    d = detect_csv(_write(tmp_path, "q.csv", 'a,b\n"line1\nline2",1\nz,2\n'))
    assert (d.quote, d.escape, d.multiline) == ('"', '"', True)
    assert detect_csv(_write(tmp_path, "s.csv", "a,b\n'x,y',1\n'z',2\n")).quote == "'"


def test_gzip_is_recognised_by_its_bytes_not_its_name(tmp_path):
    text = "sex;age\n" + "".join(f"{'MF'[i % 2]};{20 + i % 50}\n" for i in range(30000))   # > 64 KiB
    named_csv = _write(tmp_path, "packed.csv", gzip.compress(text.encode()))
    named_gz = _write(tmp_path, "packed.csv.gz", gzip.compress(text.encode()))
    plain_gz = _write(tmp_path, "plain.csv.gz", text)
    for path in (named_csv, named_gz):
        assert detect_csv(path) == CsvDialect(delimiter=";", compression="gzip")
    assert detect_csv(plain_gz).compression is None
    infos = [load_table(get_engine(), p) for p in (named_csv, named_gz, plain_gz)]
    assert {(i["rows"], tuple(i["columns"])) for i in infos} == {(30000, ("sex", "age"))}


def test_broken_gzip(tmp_path):
    path = _write(tmp_path, "cut.csv", gzip.compress(b"a,b\n" * 1000)[:30])
    with pytest.raises(InputError, match=r"cut\.csv': starts like a gzip file but is not a valid one"):
        detect_csv(path)


def test_sample_cut_inside_a_character(tmp_path):
    """Only the first 64 KiB are read: a character cut in two at the end is not a UTF-8 error."""
    line = "é" * (SAMPLE_BYTES // 2 + 10)
    path = _write(tmp_path, "long.csv", f"a,b\n{line},1\n")
    assert detect_csv(path).delimiter == ","
    path = _write(tmp_path, "one.csv", "x" * (SAMPLE_BYTES - 1) + "é,1\n")
    assert detect_csv(path).delimiter == ","


@pytest.mark.parametrize("data, needle", [
    (b"", "empty (no header, no rows)"),
    (b"\n\r\n  \n", "empty (no header, no rows)"),
    (b"\xef\xbb\xbf", "empty (no header, no rows)"),
    (b"a,b\n" + SECRET.encode() + b",\xe9t\xe9\n", "not UTF-8 text (line 2); convert it first (e.g. iconv -f latin1 -t utf-8)"),
    (b"a,b\x00\x01\x02" + SECRET.encode(), "binary data, not CSV text"),
    (b"PAR1\x15\x04" + SECRET.encode(), "a Parquet file, not CSV text; name it .parquet"),
    (b"PK\x03\x04" + SECRET.encode(), "a zip archive; unzip it first"),
    ("a,b\n1,2\n".encode("utf-16"), "UTF-16 text"),
])
def test_errors_are_one_line_naming_the_file_without_values(tmp_path, data, needle):
    path = _write(tmp_path, "bad.csv", data)
    with pytest.raises(InputError) as info:
        detect_csv(path)
    msg = str(info.value)
    assert msg.startswith(f"File '{path}': ") and needle in msg
    assert "\n" not in msg and SECRET not in msg and "été" not in msg


def test_load_table_uses_the_dialect_on_duckdb(tmp_path):
    engine = get_engine()
    path = _write(tmp_path, "adult.csv", "sex;age;marital-status\r\nMale;39;Never-married\r\nFemale;39;Divorced\r\n")
    info = load_table(engine, path)
    assert info["columns"] == ["sex", "age", "marital-status"] and info["rows"] == 2
    assert engine.query('SELECT "age" FROM tbl')["age"].tolist() == ["39", "39"]      # text, as written
    header_only = load_table(engine, _write(tmp_path, "h.csv", "sex;age\n"), allow_empty=True)
    assert header_only["rows"] == 0 and header_only["columns"] == ["sex", "age"]
    with pytest.raises(InputError, match="no data rows"):
        load_table(engine, tmp_path / "h.csv")
    with pytest.raises(InputError, match="the first row looks like data, not a header"):
        load_table(engine, _write(tmp_path, "n.csv", "39,M\n40,F\n"))
    with pytest.raises(InputError, match=r"empty\.csv': empty \(no header, no rows\)"):
        load_table(engine, _write(tmp_path, "empty.csv", ""))


def test_cli_kanon_on_semicolons(tmp_path, capsys):
    import json

    path = _write(tmp_path, "t.csv", "sex;age\nM;39\nM;39\nF;40\n")
    assert main(["attack", "kanon", str(path), "--qi", "sex,age", "--k", "2", "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["k"], out["classes"], out["n_targets"]) == (1, 2, 3)
    assert main(["attack", "kanon", str(_write(tmp_path, "e.csv", "")), "--qi", "a"]) == 2
    assert capsys.readouterr().err == f"reidcheck: error: File '{tmp_path / 'e.csv'}': empty (no header, no rows).\n"


# --- the spark engine without pyspark, and its warnings, need no Spark either ---------------------------

@pytest.mark.parametrize("args", [
    ["attack", "unicity", "{pop}"], ["attack", "kanon", "{csv}", "--qi", "a"], ["compare", "{pop}"],
    ["attack", "travel", "{pop}"], ["attack", "linkage", "{csv}", "--auxiliary", "{csv}", "--qi", "a"],
])
def test_spark_without_pyspark_is_one_line(tmp_path, capsys, monkeypatch, args):
    from synthetic import write_population

    pop = tmp_path / "pop"
    if "{pop}" in args:
        write_population(pop, 50, 1, seed=1)
    csv_path = _write(tmp_path, "t.csv", "a,b\nx,1\n")
    for name in ("pyspark", "pyspark.sql"):
        monkeypatch.setitem(sys.modules, name, None)        # `import pyspark` fails as if not installed
    code = main([a.format(pop=pop, csv=csv_path) for a in args] + ["--engine", "spark"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("reidcheck: error: Engine 'spark' needs the spark extra") and "pip install -e '.[spark]'" in err


def test_pyspark_warnings_go_to_the_log(tmp_path, monkeypatch):
    """Warnings raised from pyspark's files are logged; everyone else's still reach the caller."""
    from reidcheck.engine import spark_engine

    fake = tmp_path / "site" / "pyspark"
    fake.mkdir(parents=True)
    monkeypatch.setitem(sys.modules, "pyspark", types.SimpleNamespace(__file__=str(fake / "__init__.py")))
    monkeypatch.setenv("REIDCHECK_SPARK_LOG", str(tmp_path / "spark.log"))
    monkeypatch.delenv("REIDCHECK_VERBOSE", raising=False)
    loggers = [logging.getLogger(n) for n in spark_engine._QUIET_LOGGERS]
    saved = [(lg, list(lg.handlers), lg.propagate, lg.level) for lg in loggers]
    try:
        spark_engine._route_python_logs(spark_engine.log_path())
        _check_routing(spark_engine, fake, tmp_path, monkeypatch)
    finally:
        for lg, handlers, propagate, level in saved:
            for h in lg.handlers:
                if h not in handlers:
                    h.close()
            lg.handlers[:], lg.propagate, lg.level = handlers, propagate, level


def _check_routing(spark_engine, fake, tmp_path, monkeypatch):
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with spark_engine._pyspark_warnings():
            warnings.warn_explicit("PySpark does not yet fully support pandas", FutureWarning,
                                   str(fake / "testing" / "utils.py"), 127)
            warnings.warn("ours", UserWarning)
    assert [str(w.message) for w in shown] == ["ours"]
    for h in spark_engine._LOG.handlers:
        h.flush()
    assert "PySpark does not yet fully support pandas" in (tmp_path / "spark.log").read_text()
    monkeypatch.setenv("REIDCHECK_VERBOSE", "1")
    with pytest.warns(FutureWarning):
        with spark_engine._pyspark_warnings():
            warnings.warn_explicit("shown when verbose", FutureWarning, str(fake / "x.py"), 1)
