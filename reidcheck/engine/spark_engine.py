"""Apache Spark engine (``pip install -e '.[spark]'``): the same SQL text as DuckDB, run by Spark SQL.

Settings that make the portable SQL mean the same on both engines: session time zone UTC, ANSI mode
with double-quoted identifiers (``"marital-status"``), and Arrow for the small pandas transfers. Only
results come back to the driver (``query`` is for small result tables); relations stay in Spark.

Spark's own output goes to a log file, not to the terminal: ``$REIDCHECK_SPARK_LOG``, else
``<tempdir>/reidcheck-spark-<pid>.log`` (mode 0600: Spark's messages may quote values). The JVM is
started with its stdout and stderr on that file (log4j, ``NativeCodeLoader``, JVM warnings), Python
warnings raised inside pyspark or py4j (e.g. its pandas-version ``FutureWarning``) are written there
instead of shown, and so are the ``py4j``/``pyspark`` loggers. ``REIDCHECK_VERBOSE=1`` (the CLI's
``--verbose``) leaves all of it on the terminal. A session that already exists (``spark-submit``,
``master="submit"``, or ``spark=``) keeps its own logging.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from ..errors import InputError, ReidcheckError, UsageError
from . import quote_backtick

_TYPES = {"int": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT", "tinyint": "TINYINT", "string": "VARCHAR",
          "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP WITH TIME ZONE",
          "timestamp_ntz": "TIMESTAMP"}

_LOG = logging.getLogger("reidcheck.spark")
_QUIET_LOGGERS = ("py4j", "pyspark", "reidcheck.spark")


def verbose() -> bool:
    """Whether Spark may talk on the terminal (``REIDCHECK_VERBOSE`` set to anything but 0/false/no)."""
    return os.environ.get("REIDCHECK_VERBOSE", "").strip().lower() not in ("", "0", "false", "no")


def log_path() -> Path:
    """Where Spark's output goes unless verbose."""
    return Path(os.environ.get("REIDCHECK_SPARK_LOG")
                or Path(tempfile.gettempdir()) / f"reidcheck-spark-{os.getpid()}.log")


def _open_log(path: Path) -> int:
    """The log file opened for appending (created 0600, its folder made); a file descriptor."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as exc:
        raise UsageError(f"Cannot write the Spark log '{path}': {exc.strerror or exc} "
                         "(set REIDCHECK_SPARK_LOG to another file).") from None


def _route_python_logs(path: Path) -> None:
    """The ``py4j``, ``pyspark`` and our own Spark loggers write to ``path`` only (once per path)."""
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if any(getattr(h, "_reidcheck_log", None) == str(path) for h in logger.handlers):
            continue
        for h in [h for h in logger.handlers if getattr(h, "_reidcheck_log", None)]:
            logger.removeHandler(h)
            h.close()
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._reidcheck_log = str(path)
        logger.addHandler(handler)
        logger.propagate = False
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)


@contextlib.contextmanager
def _fds_to(fd: int):
    """Point this process's fd 1 and 2 at ``fd`` for the block (children started in it keep them)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = (os.dup(1), os.dup(2))
    except OSError:          # no stdout/stderr to save: leave them alone
        yield
        return
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _package_dirs() -> tuple[str, ...]:
    dirs = []
    for mod in ("pyspark", "py4j"):
        m = sys.modules.get(mod)
        if m is not None and getattr(m, "__file__", None):
            dirs.append(os.path.dirname(os.path.abspath(m.__file__)) + os.sep)
    return tuple(dirs)


@contextlib.contextmanager
def _pyspark_warnings():
    """Warnings raised inside pyspark/py4j during the block go to the Spark log; others are re-raised
    as they came (so the caller's filters still apply to them). Verbose: nothing is diverted."""
    if verbose():
        yield
        return
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        dirs = _package_dirs()
        for w in caught:
            if dirs and os.path.abspath(w.filename).startswith(dirs):
                _LOG.warning("%s:%s: %s: %s", w.filename, w.lineno, w.category.__name__, w.message)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def _condition(exc: Exception) -> str:
    """A Spark error's class (``CAST_INVALID_INPUT``), else its type's name: never its message."""
    for attr in ("getCondition", "getErrorClass"):
        with contextlib.suppress(Exception):
            cond = getattr(exc, attr)()
            if cond:
                return str(cond)
    return type(exc).__name__


def _failure(exc: Exception, what: str) -> InputError:
    """A Spark error as one line: its error class and where the details are (never its message,
    which may quote a value); the whole error goes to the log."""
    _LOG.error("Spark could not %s", what, exc_info=exc)
    where = "" if verbose() else f"; details in {log_path()}"
    return InputError(f"Spark could not {what} ({_condition(exc)}){where}.")


def _is_spark_error(exc: Exception) -> bool:
    return type(exc).__module__.split(".")[0] in ("pyspark", "py4j")


@contextlib.contextmanager
def _spark_call(what: str):
    """One engine operation: pyspark's warnings to the log, and a Spark error as one InputError saying
    what could not be done (``_failure``); our own errors pass as they are."""
    with _pyspark_warnings():
        try:
            yield
        except ReidcheckError:
            raise
        except Exception as exc:
            if _is_spark_error(exc):
                raise _failure(exc, what) from None
            raise


class SparkEngine:
    name = "spark"
    quote = staticmethod(quote_backtick)
    #: ``hdfs://``, ``s3a://`` and dataset folders are read where they are.
    reads_uris = True
    #: Row order is not defined on a distributed engine: errors give counts, not "first at row N".
    ordered_rows = False

    def __init__(self, master: str | None = None, config: dict | None = None, spark=None):
        """``master``: a Spark master URL (default: $REIDCHECK_SPARK_MASTER, else ``local[*]``), or
        ``submit`` to take the one ``spark-submit`` was given; ``config``: extra Spark settings."""
        quiet = not verbose()
        if quiet:
            _route_python_logs(log_path())
        if spark is None:
            with _pyspark_warnings():
                try:
                    import pyspark.sql  # noqa: F401
                except ImportError:
                    from . import SPARK_MISSING

                    raise UsageError(SPARK_MISSING) from None
                spark = self._start(master, config, quiet)
        self.spark = spark
        self._cached: set[str] = set()

    @staticmethod
    def _start(master, config, quiet):
        import shutil

        from pyspark import SparkContext
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
        launches = SparkContext._gateway is None and "PYSPARK_GATEWAY_PORT" not in os.environ
        if launches and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
            raise UsageError("Engine 'spark' needs Java 17 or later: no `java` on PATH and JAVA_HOME is not set.")
        fd = _open_log(log_path()) if quiet and launches else None
        try:
            with _fds_to(fd) if fd is not None else contextlib.nullcontext():
                spark = b.getOrCreate()
        except ReidcheckError:
            raise
        except Exception as exc:
            _LOG.error("Spark did not start", exc_info=exc)
            where = f"; its log: {log_path()}" if fd is not None else ""
            raise UsageError(f"Spark did not start ({_condition(exc)}){where}.") from None
        finally:
            if fd is not None:
                os.close(fd)
        # A JVM started here writes to the log file (or, verbose, the terminal): WARN keeps it readable.
        # One we did not start (spark-submit, an earlier session) keeps its output: only errors.
        spark.sparkContext.setLogLevel("WARN" if launches else "ERROR")
        return spark

    def register(self, name: str, source, materialize: bool = True) -> None:
        with _spark_call(f"register '{name}'"):
            self._register(name, source, materialize)

    def _register(self, name: str, source, materialize: bool) -> None:
        spark = self.spark
        self.drop(name)
        if isinstance(source, pd.DataFrame):
            df = spark.createDataFrame(source) if len(source) else spark.createDataFrame(source.astype(object))
        elif hasattr(source, "schema") and hasattr(source, "to_pandas"):      # a pyarrow Table
            df = spark.createDataFrame(source.to_pandas())
        elif isinstance(source, Path) or (isinstance(source, str) and ("://" in source or Path(source).suffix.lower()
                                                                        in (".parquet", ".csv", ".tsv", ".gz"))):
            p = str(source)
            if p.lower().endswith(".parquet"):
                df = spark.read.parquet(p)
            else:
                df = spark.read.options(**self._csv_options(p)).option("inferSchema", True).csv(p)
        else:
            df = spark.sql(source)
            if materialize:
                df = df.cache()
                self._cached.add(name)
        df.createOrReplaceTempView(name)

    @staticmethod
    def _csv_options(path: str, dialect=None, delimiter: str | None = None) -> dict:
        """Spark's CSV options for ``path``: its detected dialect (a local file), else from its name.
        Spark picks the decompression codec from the name, so a file whose name and content disagree
        (gzip without .gz, or .gz without gzip) is refused."""
        from ..dialect import CsvDialect, detect_csv, normalize_delimiter

        low = path.lower()
        if dialect is None:
            if "://" in path:
                dialect = CsvDialect(delimiter=normalize_delimiter(delimiter) or ("\t" if ".tsv" in low else ","),
                                     compression="gzip" if low.endswith(".gz") else None)
            else:
                dialect = detect_csv(path, delimiter)
        if "://" not in path:
            if dialect.compression == "gzip" and not low.endswith(".gz"):
                raise InputError(f"File '{path}': gzip-compressed but not named .gz; the spark engine picks the "
                                 "codec from the name (rename it to end in .gz).")
            if dialect.compression is None and low.endswith(".gz"):
                raise InputError(f"File '{path}': named .gz but not gzip-compressed; the spark engine picks the "
                                 "codec from the name (rename it without .gz).")
        return dialect.spark_options()

    def register_file(self, name: str, path, *, dialect=None, text: bool = False, names=None,
                      materialize: bool = False) -> None:
        """Register a Parquet file or dataset folder (``dialect`` None) or a CSV file read with
        ``dialect`` (a ``reidcheck.dialect.CsvDialect``): every value as text with ``text`` (as on
        DuckDB), else with inferred types; ``names`` for a file without a header. Cached (read once)
        with ``materialize``."""
        path = str(path)
        with _spark_call(f"read '{path}'"):
            self.drop(name)
            if dialect is None:
                df = self.spark.read.parquet(path)
            else:
                df = (self.spark.read.options(**self._csv_options(path, dialect))
                      .option("inferSchema", not text).csv(path))
                if names:
                    df = df.toDF(*names)
            if materialize:
                df = df.cache()
                self._cached.add(name)
            df.createOrReplaceTempView(name)

    def epoch_seconds_sql(self, col: str, col_type: str) -> str:
        """Epoch seconds (BIGINT) of a timestamp, date or text column; the session zone is UTC, so
        zone-less times are UTC as on DuckDB; unparseable text gives NULL."""
        ty = col_type.upper()
        cast = "CAST" if ty.startswith("TIMESTAMP") or ty == "DATE" else "TRY_CAST"
        return f"CAST(unix_timestamp({cast}({col} AS TIMESTAMP)) AS BIGINT)"

    def drop(self, name: str) -> None:
        with _pyspark_warnings():
            if name in self._cached:
                self.spark.catalog.uncacheTable(name) if self.spark.catalog.tableExists(name) else None
                self._cached.discard(name)
            self.spark.catalog.dropTempView(name)

    def query(self, sql: str) -> pd.DataFrame:
        with _spark_call("run a query"):
            return self.spark.sql(sql).toPandas()

    def columns(self, name: str) -> dict[str, str]:
        with _spark_call(f"read the columns of '{name}'"):
            return {f.name: _TYPES.get(f.dataType.simpleString(), f.dataType.simpleString().upper())
                    for f in self.spark.table(name).schema.fields}
