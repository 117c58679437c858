"""The embedded default engine: DuckDB, in memory, all cores."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from . import quote_double, sql_string


class DuckDBEngine:
    name = "duckdb"
    quote = staticmethod(quote_double)
    #: Paths like ``hdfs://`` or ``s3a://`` are not read (Spark's job).
    reads_uris = False
    #: ``ROW_NUMBER() OVER ()`` over a file's relation numbers rows in file order (for "first at row N").
    ordered_rows = True

    def __init__(self, threads: int | None = None, memory_limit: str | None = None):
        self.con = duckdb.connect(":memory:")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {sql_string(memory_limit)}")
        self.con.execute("SET preserve_insertion_order = false")
        # Timestamps without a zone are UTC, whatever the machine's local zone (README, io.py).
        self.con.execute("SET TimeZone = 'UTC'")

    def register(self, name: str, source, materialize: bool = True) -> None:
        """Register ``source`` (DataFrame, Arrow table, .parquet/.csv path, or SQL text) as ``name``.

        SQL text is materialized as a temporary table unless ``materialize`` is false (then a view)."""
        if isinstance(source, (pd.DataFrame,)) or hasattr(source, "schema"):
            self.con.register(f"__src_{name}", source)
            self.drop(name)
            self.con.execute(f"CREATE TEMP TABLE {self.quote(name)} AS SELECT * FROM {self.quote('__src_' + name)}")
            self.con.unregister(f"__src_{name}")
        elif isinstance(source, Path) or (isinstance(source, str) and Path(source).suffix.lower()
                                           in (".parquet", ".csv", ".tsv", ".gz")):
            from ..dialect import detect_csv

            path = str(source)
            dialect = None if path.lower().endswith((".parquet", ".pq")) else detect_csv(path)
            self.register_file(name, path, dialect=dialect)
        elif materialize:
            self.drop(name)
            self.con.execute(f"CREATE TEMP TABLE {self.quote(name)} AS {source}")
        else:
            self.drop(name)
            self.con.execute(f"CREATE VIEW {self.quote(name)} AS {source}")

    def register_file(self, name: str, path, *, dialect=None, text: bool = False, names=None,
                      materialize: bool = False) -> None:
        """Register a Parquet file (``dialect`` None) or a CSV file read with ``dialect`` (a
        ``reidcheck.dialect.CsvDialect``): every value as text with ``text``, else with inferred types;
        ``names`` for a file without a header. A view unless ``materialize`` (then read once, now)."""
        p = sql_string(path)
        if dialect is None:
            src = f"read_parquet({p})"
        else:
            opts = dialect.duckdb_options()
            if names:
                cols = ", ".join(f"{sql_string(c)}: 'VARCHAR'" for c in names)
                opts += f", columns={{{cols}}}"
            src = f"read_csv({p}, {opts}, {'all_varchar=true' if text else 'auto_detect=true'})"
        self.register(name, f"SELECT * FROM {src}", materialize=materialize)

    def epoch_seconds_sql(self, col: str, col_type: str) -> str:
        """Epoch seconds (BIGINT) of a timestamp, date or text column ``col`` (SQL); zone-less times
        are UTC (the session's zone); unparseable text gives NULL."""
        ty = col_type.upper()
        cast = "CAST" if ty.startswith("TIMESTAMP") or ty == "DATE" else "TRY_CAST"
        return f"CAST(FLOOR(epoch({cast}({col} AS TIMESTAMPTZ))) AS BIGINT)"

    def drop(self, name: str) -> None:
        kinds = self.con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()
        for (kind,) in kinds:
            self.con.execute(f'DROP {"VIEW" if kind == "VIEW" else "TABLE"} IF EXISTS {self.quote(name)}')

    def query(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def columns(self, name: str) -> dict[str, str]:
        rows = self.con.execute(f"DESCRIBE {self.quote(name)}").fetchall()
        return {r[0]: r[1] for r in rows}
