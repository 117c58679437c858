"""The embedded default engine: DuckDB, in memory, all cores, within a memory limit."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import weakref
from pathlib import Path

import duckdb
import pandas as pd

from ..errors import UsageError
from . import quote_double, sql_string

#: Environment variable overriding the default memory limit (e.g. ``8GB``, ``2GiB``, ``512MB``).
MEMORY_ENV = "REIDCHECK_DUCKDB_MEMORY"
#: The default limit is the smaller of this and ``DEFAULT_MEMORY_SHARE`` of the machine's memory.
DEFAULT_MEMORY_CAP = 4 * 2**30
DEFAULT_MEMORY_SHARE = 0.6
#: Below this DuckDB cannot run the attacks' joins at all.
MIN_MEMORY = 64 * 2**20

_UNITS = {"": None, "b": 1, "byte": 1, "bytes": 1,
          "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*", re.IGNORECASE)


def parse_memory(text, what: str = f"Environment variable {MEMORY_ENV}") -> int:
    """Bytes of a memory size written as DuckDB does: a number and its unit, KB/MB/GB/TB (powers of
    1000) or KiB/MiB/GiB/TiB (powers of 1024); at least 64 MiB. A bad value is one UsageError naming
    ``what``."""
    m = _SIZE.fullmatch(str(text))
    unit = _UNITS.get(m.group(2).lower()) if m else None
    size = int(float(m.group(1)) * unit) if unit else 0
    if size < MIN_MEMORY:
        raise UsageError(f"{what} must be a memory size of at least 64MiB with its unit, e.g. 4GB, 2GiB or "
                         f"512MB. Got {str(text)!r} instead.")
    return size


def machine_memory() -> int | None:
    """Bytes of memory this process may use: physical memory, or a smaller cgroup limit."""
    sizes = []
    try:
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < 2**60:      # "max" or a huge number: no limit
            sizes.append(int(text))
    return min(sizes) if sizes else None


def default_memory_limit() -> int:
    """min(4 GiB, 60% of the machine's memory) in bytes."""
    total = machine_memory()
    return DEFAULT_MEMORY_CAP if total is None else max(MIN_MEMORY, min(DEFAULT_MEMORY_CAP,
                                                                        int(total * DEFAULT_MEMORY_SHARE)))


def _remove(con, path: str) -> None:
    try:
        con.close()
    finally:
        shutil.rmtree(path, ignore_errors=True)


class DuckDBEngine:
    """DuckDB in memory (all cores unless ``threads``).

    Memory: DuckDB's buffers stay within ``memory_limit``, bytes or a size such as ``"8GB"``
    (default: ``$REIDCHECK_DUCKDB_MEMORY`` if set, else min(4 GiB, 60% of the machine's memory, or
    of its cgroup limit)); beyond it, joins, aggregations, sorts and temporary tables spill to disk
    instead of growing. A bad value of either is one ``UsageError``. Spilled data goes to a private
    directory made for this engine (mode 0700, under ``$TMPDIR`` or the system temp directory),
    removed by ``close()``, or when the engine is garbage-collected or the process exits.
    """

    name = "duckdb"
    quote = staticmethod(quote_double)
    #: Paths like ``hdfs://`` or ``s3a://`` are not read (Spark's job).
    reads_uris = False
    #: ``ROW_NUMBER() OVER ()`` over a file's relation numbers rows in file order (for "first at row N").
    ordered_rows = True

    def __init__(self, threads: int | None = None, memory_limit: str | int | None = None):
        if memory_limit is not None:
            limit = parse_memory(f"{memory_limit}B" if isinstance(memory_limit, int) else memory_limit,
                                 "Parameter `memory_limit`")
        elif os.environ.get(MEMORY_ENV, "").strip():
            limit = parse_memory(os.environ[MEMORY_ENV])
        else:
            limit = default_memory_limit()
        self.memory_limit = limit
        try:
            self.temp_directory = tempfile.mkdtemp(prefix="reidcheck-duckdb-")  # mode 0700
        except OSError as exc:
            raise UsageError(f"Cannot make DuckDB's spill directory under '{tempfile.gettempdir()}': "
                             f"{exc.strerror or exc} (set TMPDIR to a writable folder).") from None
        try:
            self.con = duckdb.connect(":memory:")
        except BaseException:
            shutil.rmtree(self.temp_directory, ignore_errors=True)
            raise
        self._finalizer = weakref.finalize(self, _remove, self.con, self.temp_directory)
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute(f"SET memory_limit = '{int(limit)}B'")
        self.con.execute(f"SET temp_directory = {sql_string(self.temp_directory)}")
        self.con.execute("SET preserve_insertion_order = false")
        # Timestamps without a zone are UTC, whatever the machine's local zone (README, io.py).
        self.con.execute("SET TimeZone = 'UTC'")

    def close(self) -> None:
        """Close the connection and remove the spill directory (again: nothing)."""
        self._finalizer()

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
