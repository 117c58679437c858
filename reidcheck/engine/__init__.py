"""Engines run the attacks' relational cores.

The ``Engine`` protocol names every operation the rest of the code uses, and nothing outside this
package asks which engine it holds (capabilities are attributes: ``reads_uris``, ``ordered_rows``):

* ``register(name, source, materialize=True)``: a relation from a pandas DataFrame, an Arrow table or
  SQL text over registered relations (materialized unless ``materialize=False``);
* ``register_file(name, path, *, dialect, text, names, materialize)``: a Parquet or CSV file, the CSV
  read with the dialect detected once by ``reidcheck.dialect``;
* ``query(sql)``: run SQL, return a small pandas DataFrame; ``columns(name)``: name → type;
  ``drop(name)``; ``quote(name)``: the delimited identifier; ``epoch_seconds_sql(col, type)``: the
  one engine-specific expression (epoch seconds of a time column).

Attack SQL is written once in a portable subset that DuckDB and Spark SQL both run unchanged.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd

from ..errors import UsageError


@runtime_checkable
class Engine(Protocol):
    name: str
    reads_uris: bool
    ordered_rows: bool

    def register(self, name: str, source, materialize: bool = True) -> None: ...

    def register_file(self, name: str, path, *, dialect=None, text: bool = False, names=None,
                      materialize: bool = False) -> None: ...

    def query(self, sql: str) -> pd.DataFrame: ...

    def columns(self, name: str) -> dict[str, str]: ...

    def drop(self, name: str) -> None: ...

    def epoch_seconds_sql(self, col: str, col_type: str) -> str: ...

    def quote(self, name: str) -> str:
        """``name`` as a delimited SQL identifier of this engine (embedded delimiters escaped). Every
        name that comes from the user's data or options reaches SQL only through this."""
        ...


ENGINES = ("duckdb", "spark")
#: The one line shown when ``--engine spark`` is asked for without pyspark.
SPARK_MISSING = ("Engine 'spark' needs the spark extra (pyspark, and Java 17+): pip install -e '.[spark]' "
                 "(from the reidcheck checkout).")


def quote_double(name: str) -> str:
    """ANSI delimited identifier (DuckDB): ``"name"`` with ``"`` doubled."""
    return '"' + _identifier_text(name).replace('"', '""') + '"'


def quote_backtick(name: str) -> str:
    """Spark SQL delimited identifier: ```name``` with the backtick doubled (Spark's double-quoted
    identifiers take backslash escapes instead, so backticks are the one safe form there)."""
    return "`" + _identifier_text(name).replace("`", "``") + "`"


def _identifier_text(name) -> str:
    name = str(name)
    if "\x00" in name:
        raise UsageError("A column name holds a NUL character; no SQL engine accepts it.")
    return name


def sql_string(text: str) -> str:
    """A SQL string literal (single quotes doubled); for file paths and option values, never code."""
    text = str(text)
    if "\x00" in text:
        raise UsageError("A path or option value holds a NUL character.")
    return "'" + text.replace("'", "''") + "'"


def get_engine(name: str = "duckdb", **options) -> Engine:
    if name == "duckdb":
        from .duckdb_engine import DuckDBEngine

        return DuckDBEngine(**options)
    if name == "spark":
        from .spark_engine import SparkEngine   # imports pyspark only to start a session (SPARK_MISSING)

        return SparkEngine(**options)
    raise UsageError(f"Parameter `engine` must be one of {', '.join(ENGINES)}. Got {name!r} instead.")
