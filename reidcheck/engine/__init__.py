"""Engines run the attacks' relational cores.

An engine does two things: ``register(name, source)`` makes a relation available under ``name``
(``source`` is a Parquet/CSV path, a pandas DataFrame, or a SQL query over registered relations,
materialized unless ``materialize=False``), and ``query(sql)`` runs SQL and returns a small pandas DataFrame.
Attack SQL is written once in a portable subset that DuckDB and Spark SQL both run unchanged.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd

from ..errors import UsageError


@runtime_checkable
class Engine(Protocol):
    name: str

    def register(self, name: str, source, materialize: bool = True) -> None: ...

    def query(self, sql: str) -> pd.DataFrame: ...


ENGINES = ("duckdb", "spark")


def get_engine(name: str = "duckdb", **options) -> Engine:
    if name == "duckdb":
        from .duckdb_engine import DuckDBEngine

        return DuckDBEngine(**options)
    if name == "spark":
        try:
            from .spark_engine import SparkEngine
        except ImportError:
            raise UsageError("Engine 'spark' needs the spark extra: pip install 'reidcheck[spark]'.") from None
        return SparkEngine(**options)
    raise UsageError(f"Parameter `engine` must be one of {', '.join(ENGINES)}. Got {name!r} instead.")
