"""CSV dialects, detected once and passed to either engine.

``detect_csv`` reads only the first 64 KiB of a file (decompressed, when it is gzip: recognised by its
magic bytes, whatever its name) and settles the delimiter, whether the first line is a header, the
quote character and the compression. DuckDB and Spark are then told these options explicitly, so the
two engines read the same file the same way (their own sniffers differ). Problems are one
``InputError`` naming the file and, where it helps, the line; a message never quotes a field value.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, UsageError

#: Bytes read to detect the dialect (the rest of the file is left to the engine).
SAMPLE_BYTES = 64 * 1024
#: Delimiters considered, in order of preference when the evidence ties.
DELIMITERS = (",", ";", "\t", "|")

_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
_MAGIC = {b"PAR1": "a Parquet file, not CSV text; name it .parquet",
          b"PK\x03\x04": "a zip archive; unzip it first",
          b"BZh": "bzip2-compressed; only gzip is read (decompress it, or recompress with gzip)",
          b"\xfd7zXZ\x00": "xz-compressed; only gzip is read (decompress it, or recompress with gzip)",
          b"\x28\xb5\x2f\xfd": "zstd-compressed; only gzip is read (decompress it, or recompress with gzip)"}


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written. ``escape`` is the character that escapes a quote inside a quoted
    field (the quote itself: ``""`` as in RFC 4180); ``multiline``: a quoted field spans lines."""

    delimiter: str = ","
    header: bool = True
    encoding: str = "utf-8"
    compression: str | None = None     # "gzip" or None
    quote: str = '"'
    escape: str = '"'
    multiline: bool = False

    def spark_options(self) -> dict:
        """The options of Spark's CSV reader that say the same."""
        return {"sep": self.delimiter, "header": self.header, "encoding": self.encoding, "quote": self.quote,
                "escape": self.escape, "multiLine": self.multiline}

    def duckdb_options(self) -> str:
        """The named arguments of DuckDB's ``read_csv`` that say the same (SQL text)."""
        from .engine import sql_string as lit

        return (f"delim={lit(self.delimiter)}, header={'true' if self.header else 'false'}, "
                f"quote={lit(self.quote)}, escape={lit(self.escape)}, "
                f"compression={lit(self.compression or 'none')}, skip=0")


def normalize_delimiter(delimiter: str | None) -> str | None:
    """A delimiter given by the user: one character; ``\\t`` (backslash, t) and ``tab`` mean a tab."""
    if delimiter is None:
        return None
    if delimiter in ("\\t", "tab", "TAB"):
        return "\t"
    if len(delimiter) != 1 or len(delimiter.encode()) != 1 or delimiter in ('"', "\n", "\r"):
        raise UsageError(f"Option `--delimiter` must be one character. Got {delimiter!r} instead.")
    return delimiter


def detect_csv(path, delimiter: str | None = None) -> CsvDialect:
    """The dialect of the CSV file ``path`` (``delimiter``, when given, is taken as it is)."""
    path = Path(path)
    delimiter = normalize_delimiter(delimiter)
    raw, compression, truncated = _sample(path)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"File '{path}': UTF-16 text; convert it to UTF-8 first (e.g. iconv -f utf-16 -t utf-8).")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise InputError(f"File '{path}': empty (no header, no rows).")
    if b"\x00" in raw:
        raise InputError(f"File '{path}': binary data, not CSV text.")
    if truncated:      # drop the last, possibly partial, line (and any character cut in two)
        cut = raw.rfind(b"\n")
        raw = raw[:cut + 1] if cut > 0 else raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(raw) - 3 and exc.reason == "unexpected end of data":
            text = raw[:exc.start].decode("utf-8")
        else:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise InputError(f"File '{path}': not UTF-8 text (line {line:,}); convert it first "
                             "(e.g. iconv -f latin1 -t utf-8).") from None
    quote = _quote(text)
    if delimiter is None:
        delimiter = _delimiter(text, quote, path)
    rows = _rows(text, delimiter, quote)
    ragged = next((i for i, r in enumerate(rows[1:], start=2) if len(r) != len(rows[0])), None)
    if ragged is not None:
        raise InputError(f"File '{path}': record {ragged:,} has {len(rows[ragged - 1])} field(s) where the first "
                         f"line has {len(rows[0])} (delimiter {delimiter!r}); every record needs the same fields.")
    multiline = any("\n" in f or "\r" in f for r in rows for f in r)
    return CsvDialect(delimiter=delimiter, header=_has_header(rows), compression=compression, quote=quote,
                      escape=quote, multiline=multiline)


def _sample(path: Path) -> tuple[bytes, str | None, bool]:
    """(first bytes of the content, compression, whether the content goes on beyond them)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SAMPLE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"Input '{path}' does not exist.") from None
    except IsADirectoryError:
        raise InputError(f"Input '{path}' is a directory; give the table's file.") from None
    except OSError as exc:
        raise InputError(f"File '{path}': cannot be read ({exc.strerror or type(exc).__name__}).") from None
    if head.startswith(b"\x1f\x8b"):
        try:
            with gzip.open(path, "rb") as fh:
                data = fh.read(SAMPLE_BYTES + 1)
        except (OSError, EOFError, zlib.error):
            raise InputError(f"File '{path}': starts like a gzip file but is not a valid one "
                             "(truncated or corrupt).") from None
        return data[:SAMPLE_BYTES], "gzip", len(data) > SAMPLE_BYTES
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise InputError(f"File '{path}': {what}.")
    return head[:SAMPLE_BYTES], None, len(head) > SAMPLE_BYTES


def _quote(text: str) -> str:
    """``"`` unless the file quotes with ``'`` only (Python's sniffer says so and no ``"`` occurs)."""
    if '"' in text or "'" not in text:
        return '"'
    try:
        sniffed = csv.Sniffer().sniff(text[:16384], delimiters="".join(DELIMITERS))
    except csv.Error:
        return '"'
    return "'" if sniffed.quotechar == "'" else '"'


def _rows(text: str, delimiter: str, quote: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote, doublequote=True,
                        strict=False)
    try:
        return [r for r in reader if r and any(f.strip() for f in r)]
    except csv.Error:     # e.g. a field longer than the csv module allows: judge the lines one by one
        return [line.split(delimiter) for line in text.splitlines() if line.strip()]


def _delimiter(text: str, quote: str, path: Path) -> str:
    """The candidate that splits every record into the same number (> 1) of fields; among several,
    the one Python's sniffer names, else the most fields. Without one, the most consistent split."""
    try:
        sniffed = csv.Sniffer().sniff(text[:16384], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    scores = []
    for i, d in enumerate(DELIMITERS):
        counts = [len(r) for r in _rows(text, d, quote)]
        if not counts:
            continue
        mode = max(set(counts), key=lambda c: (counts.count(c), c))
        if mode < 2:
            continue
        share = counts.count(mode) / len(counts)
        scores.append((share == 1.0, share, d == sniffed, mode, -i, d))
    if scores:
        return max(scores)[-1]
    return "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else ","


def _has_header(rows: list[list[str]]) -> bool:
    """False only on evidence that the first line is data: a column numeric on the first line and on
    every line after it, and no column whose first line is text over numbers (the mark of a header)."""
    if len(rows) < 2:
        return True
    first, body = rows[0], rows[1:]
    data_like = False
    for i, name in enumerate(first):
        values = [r[i] for r in body if len(r) > i and r[i].strip()]
        if not values or not all(_NUMBER.match(v) for v in values):
            continue
        if not _NUMBER.match(name):
            if name.strip():
                return True     # text above a numeric column: a header
        else:
            data_like = True
    return not data_like
