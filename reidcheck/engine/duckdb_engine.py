"""The embedded default engine: DuckDB, in memory, all cores."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from . import quote_double, sql_string


class DuckDBEngine:
    name = "duckdb"
    quote = staticmethod(quote_double)

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
            path = str(source)
            reader = "read_parquet" if path.lower().endswith(".parquet") else "read_csv_auto"
            self.drop(name)
            self.con.execute(f"CREATE VIEW {self.quote(name)} AS SELECT * FROM {reader}({sql_string(path)})")
        elif materialize:
            self.drop(name)
            self.con.execute(f"CREATE TEMP TABLE {self.quote(name)} AS {source}")
        else:
            self.drop(name)
            self.con.execute(f"CREATE VIEW {self.quote(name)} AS {source}")

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
