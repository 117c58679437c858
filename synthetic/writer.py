"""Stream a generated population to a directory of Parquet (default) or CSV files.

The directory is built under a temporary name beside the target and renamed into place only when
every table is complete: a failed or interrupted run never leaves a partial output. Row groups have
a fixed size, so files are byte-identical whatever the chunk size or number of workers.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reidcheck.errors import UsageError
from reidcheck.schema import SCHEMAS, to_arrow

from .population import TABLES, Simulator, default_workers, validate_params
from .travel import DEFAULT_RATE_PER_YEAR

FORMATS = ("parquet", "csv")
ROW_GROUP_ROWS = 1 << 20


class _TableSink:
    """Appends Arrow tables to one file; Parquet row groups are cut at fixed row counts."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str):
        self.fmt, self.schema = fmt, schema
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.rows = 0
        if fmt == "parquet":
            self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        else:
            self.writer = pacsv.CSVWriter(path, schema)

    def write(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self.fmt == "csv":
            if table.num_rows:
                self.writer.write_table(table)
            return
        self.buffer.append(table)
        self.buffered += table.num_rows
        while self.buffered >= ROW_GROUP_ROWS:
            self._flush(ROW_GROUP_ROWS)

    def _flush(self, n: int) -> None:
        whole = pa.concat_tables(self.buffer).combine_chunks()
        self.writer.write_table(whole.slice(0, n), row_group_size=n)
        rest = whole.slice(n)
        self.buffer, self.buffered = [rest], rest.num_rows

    def close(self) -> None:
        if self.fmt == "parquet" and self.buffered:
            self._flush(self.buffered)
        self.writer.close()


def _prepare_out(out: Path, overwrite: bool) -> Path:
    """Check the target and create a temporary sibling directory to build into."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"Output path '{out}' exists and is not a directory.")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UsageError(f"Output directory '{out}' is not empty; choose another or pass --overwrite.")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    except OSError as exc:
        raise UsageError(f"Cannot write to output directory '{out}': {exc.strerror or exc}.") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary directory
    return tmp


def write_population(out, subscribers: int, days: int, seed: int, start=None, *, fmt: str = "parquet",
                     sites: int | None = None, travel_rate: float = DEFAULT_RATE_PER_YEAR,
                     chunk_size: int | None = None, workers: int | None = None, overwrite: bool = False,
                     progress=None) -> dict:
    """Generate a population and write its tables to ``out``/<table>.<fmt> plus ``population.json``.

    Returns the manifest (parameters and row counts). ``progress``, if given, is called with the
    after each finished block of subscribers.
    """
    if fmt not in FORMATS:
        raise UsageError(f"Parameter `format` must be one of {', '.join(FORMATS)}. Got {fmt!r} instead.")
    validate_params(subscribers, days, seed, sites, travel_rate, chunk_size, workers)
    out = Path(out)
    tmp = _prepare_out(out, overwrite)
    try:
        sim = Simulator(subscribers, days, seed, **({"start": start} if start is not None else {}),
                        sites=sites, travel_rate=travel_rate)
        ext = "parquet" if fmt == "parquet" else "csv"
        sinks = {name: _TableSink(tmp / f"{name}.{ext}", SCHEMAS[name], fmt) for name in TABLES}
        sinks["cells"].write(to_arrow("cells", sim.geo.cells))
        sinks["subscribers"].write(to_arrow("subscribers", sim.subscribers))
        for part in sim.iter_blocks(workers=workers or default_workers(), chunk_size=chunk_size):
            for name in ("cdr", "pings", "travel"):
                sinks[name].write(to_arrow(name, part[name]))
            if progress is not None:
                progress()
        for sink in sinks.values():
            sink.close()
        manifest = {"format": fmt, "params": sim.params,
                    "tables": {name: {"file": f"{name}.{ext}", "rows": sinks[name].rows} for name in TABLES}}
        (tmp / "population.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
