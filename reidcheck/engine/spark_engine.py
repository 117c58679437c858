"""Apache Spark engine (``pip install 'reidcheck[spark]'``): the same SQL text as DuckDB, run by Spark SQL.

Settings that make the portable SQL mean the same on both engines: session time zone UTC, ANSI mode
with double-quoted identifiers (``"marital-status"``), and Arrow for the small pandas transfers. Only
results come back to the driver (``query`` is for small result tables); relations stay in Spark.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import quote_backtick

_TYPES = {"int": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT", "tinyint": "TINYINT", "string": "VARCHAR",
          "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP WITH TIME ZONE",
          "timestamp_ntz": "TIMESTAMP"}


class SparkEngine:
    name = "spark"
    quote = staticmethod(quote_backtick)

    def __init__(self, master: str | None = None, config: dict | None = None, spark=None):
        """``master``: a Spark master URL (default: $REIDCHECK_SPARK_MASTER, else ``local[*]``), or
        ``submit`` to take the one ``spark-submit`` was given; ``config``: extra Spark settings."""
        if spark is None:
            import os

            from pyspark.sql import SparkSession

            master = master or os.environ.get("REIDCHECK_SPARK_MASTER") or "local[*]"
            b = SparkSession.builder.appName("reidcheck")
            if master != "submit":
                b = b.master(master)
            conf = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "true",
                    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
                    "spark.sql.execution.arrow.pyspark.enabled": "true", "spark.sql.shuffle.partitions": "8",
                    "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false", **(config or {})}
            for k, v in conf.items():
                b = b.config(k, v)
            spark = b.getOrCreate()
            spark.sparkContext.setLogLevel("ERROR")
        self.spark = spark
        self._cached: set[str] = set()

    def register(self, name: str, source, materialize: bool = True) -> None:
        spark = self.spark
        self.drop(name)
        if isinstance(source, pd.DataFrame):
            df = spark.createDataFrame(source) if len(source) else spark.createDataFrame(source.astype(object))
        elif hasattr(source, "schema") and hasattr(source, "to_pandas"):      # a pyarrow Table
            df = spark.createDataFrame(source.to_pandas())
        elif isinstance(source, Path) or (isinstance(source, str) and ("://" in source or Path(source).suffix.lower()
                                                                        in (".parquet", ".csv", ".tsv", ".gz"))):
            p = str(source)
            df = (spark.read.parquet(p) if p.lower().endswith(".parquet")
                  else spark.read.option("header", True).option("inferSchema", True).csv(p))
        else:
            df = spark.sql(source)
            if materialize:
                df = df.cache()
                self._cached.add(name)
        df.createOrReplaceTempView(name)

    def register_table_file(self, name: str, path: str, delimiter: str | None = None) -> None:
        """A table file for the tabular checks: Parquet as typed, CSV with every value as text (as on DuckDB)."""
        self.drop(name)
        if path.lower().endswith((".parquet", ".pq")) or "." not in path.rsplit("/", 1)[-1]:
            df = self.spark.read.parquet(path)
        else:
            sep = delimiter or ("\t" if path.lower().endswith((".tsv", ".tsv.gz")) else ",")
            df = self.spark.read.option("header", True).option("inferSchema", False).option("sep", sep).csv(path)
        df.createOrReplaceTempView(name)

    def drop(self, name: str) -> None:
        if name in self._cached:
            self.spark.catalog.uncacheTable(name) if self.spark.catalog.tableExists(name) else None
            self._cached.discard(name)
        self.spark.catalog.dropTempView(name)

    def query(self, sql: str) -> pd.DataFrame:
        return self.spark.sql(sql).toPandas()

    def columns(self, name: str) -> dict[str, str]:
        return {f.name: _TYPES.get(f.dataType.simpleString(), f.dataType.simpleString().upper())
                for f in self.spark.table(name).schema.fields}
