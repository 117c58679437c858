"""What a message may show: file names, row numbers, column counts and header names the user wrote;
never a field value, and never a "header" that is really a data row.

* ``looks_like_value(text)`` names the kind of personal value a text looks like (phone number, ID
  number, IMSI/IMEI, e-mail address, a person's name from the shipped names tables), or None.
* ``column_list(columns)`` is the one way a message lists column names: any name that looks like a
  value is replaced by ``<value>``.
* ``check_header(file, columns)`` refuses a table whose header row looks like data (a headerless
  export): its "column names" would be a person's phone number, ID number and name.
* ``scrub(text)`` reduces an engine's error text to one line without quoted parts, long digit runs or
  e-mail addresses (engines quote the offending row or value in their messages).
"""

from __future__ import annotations

import re
from functools import lru_cache

from .errors import InputError

_PHONE = re.compile(r"^(\+|00)?\d[\d\s().-]{6,}\d$")
_CNIC = re.compile(r"^\d{5}-?\d{7}-?\d$")
_DIGITS = re.compile(r"^\d{9,}$")                 # IMSI (15), IMEI (14-16), account numbers
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
#: Words that are column names even though a names table holds them too.
_COLUMN_WORDS = {"name", "names", "id", "user", "date", "time", "age", "gender", "sex", "city", "district",
                 "province", "country", "month", "day", "place", "cell", "site", "count", "type", "direction"}


@lru_cache(maxsize=1)
def _names() -> frozenset[str]:
    """Lower-cased first names and surnames of the shipped identity tables (synthetic/data)."""
    import csv
    from importlib import resources

    words: set[str] = set()
    for table in ("first_names_male.csv", "first_names_female.csv", "surnames.csv"):
        try:
            with resources.files("synthetic.data").joinpath(table).open("r", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    words.update(w.lower() for w in row["name"].split())
        except (FileNotFoundError, ModuleNotFoundError, KeyError):   # pragma: no cover - package data missing
            continue
    return frozenset(words - _COLUMN_WORDS)


def looks_like_value(text) -> str | None:
    """The kind of personal value ``text`` looks like, or None when it may be a column name."""
    t = str(text).strip()
    if not t:
        return None
    if _CNIC.match(t):
        return "an ID number"
    compact = re.sub(r"[\s().-]", "", t)
    if _DIGITS.match(compact.lstrip("+")):
        return "a phone or subscriber number" if len(compact.lstrip("+")) <= 13 else "an IMSI or IMEI"
    if _PHONE.match(t) and sum(c.isdigit() for c in t) >= 9:
        return "a phone number"
    if _EMAIL.match(t):
        return "an e-mail address"
    words = t.lower().split()
    if words and len(words) <= 4 and all(w in _names() for w in words):
        return "a name"
    return None


def column_list(columns, limit: int = 12) -> str:
    """Column names for a message, at most ``limit``, any that looks like a value replaced."""
    cols = [str(c) for c in columns]
    shown = ["<value>" if looks_like_value(c) else _one_line(c, 60) for c in cols[:limit]]
    return ", ".join(shown) + (f" … ({len(cols)} in all)" if len(cols) > limit else "")


def one_line(text: str) -> str:
    """A message as one line: line breaks, tabs and other control characters (which a column name
    may hold) are shown as escapes, so an error is always exactly one line."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
                   for ch in str(text))


def _one_line(text: str, width: int) -> str:
    t = " ".join(str(text).split())
    return t if len(t) <= width else t[: width - 1] + "…"


def headerless(file, detail: str = "") -> InputError:
    """The one error for a file whose first row is data, not a header (never showing that row)."""
    return InputError(f"File '{file}': the first row looks like data, not a header{detail}; add a header row "
                      "that names the columns, then pass a mapping (--mapping user=COL,time=COL,place=COL, "
                      "or mapping/qi under [tables.NAME] in reidcheck.toml).")


def check_header(file, columns) -> None:
    """Refuse a header row that looks like data (InputError naming the file, never the values)."""
    kinds = [k for k in (looks_like_value(c) for c in columns) if k]
    if kinds:
        what = ", ".join(dict.fromkeys(kinds))
        raise headerless(file, f" ({len(kinds)} of {len(list(columns))} fields look like {what})")


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_VALUEISH = re.compile(r"\S*@\S+|[+]?\d[\d\s().-]{3,}\d|\b\d{4,}\b")


def scrub(text) -> str:
    """One line of an engine's message with quoted parts, digit runs and e-mail addresses removed."""
    first = next((ln for ln in str(text).splitlines() if ln.strip()), "")
    first = first.split("Original Line", 1)[0]
    first = _QUOTED.sub("'…'", first)
    first = _VALUEISH.sub("…", first)
    return _one_line(first.rstrip(" :"), 160)
