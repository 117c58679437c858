"""Parameter checks shared by every attack: each raises ``UsageError`` with a message naming the
parameter, the value received and what is allowed (never a record value)."""

from __future__ import annotations

import numbers

from ..errors import InputError, UsageError
from ..redact import column_list


def _bad(name: str, value, allowed: str):
    """Raise: "Parameter `name` must be <allowed>. Got <value> instead."."""
    raise UsageError(f"Parameter `{name}` must be {allowed}. Got {value!r} instead.")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _int_between(name: str, value, lo: int, hi: int | None = None, allowed: str | None = None) -> int:
    """An integer in [lo, hi] (no upper bound when ``hi`` is None)."""
    if not _is_int(value) or value < lo or (hi is not None and value > hi):
        _bad(name, value, allowed or (f"an integer between {lo} and {hi}" if hi is not None
                                      else f"an integer of at least {lo}"))
    return int(value)


def _non_negative(name: str, value, what: str) -> float:
    """A number ≥ 0 (``what`` names it, e.g. "a non-negative distance in km")."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        _bad(name, value, what)
    return value


def _targets(value) -> int | None:
    """``targets``: a positive integer, or None / ``"all"`` for every user (returned as None)."""
    if value is None or (isinstance(value, str) and value.lower() == "all"):
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        _bad("targets", value, "a positive integer or 'all'")
    if n < 1:
        _bad("targets", value, "a positive integer or 'all'")
    return n


def items(value) -> tuple[str, ...]:
    """A list given as ``"a,b"`` or as a sequence (a CLI option, a policy value): its non-empty items,
    surrounding spaces dropped; None or empty gives ()."""
    if not value:
        return ()
    parts = value.split(",") if isinstance(value, str) else value
    return tuple(str(x).strip() for x in parts if str(x).strip())


def _qi_list(qi, name: str = "qi") -> list[str]:
    """Quasi-identifier columns from a comma-separated string or a sequence of names: at least one,
    none twice (surrounding spaces dropped)."""
    cols = [c.strip() for c in (qi.split(",") if isinstance(qi, str) else qi or ()) if c and c.strip()]
    if not cols:
        raise UsageError(f"Parameter `{name}` must name at least one quasi-identifier column. Got {qi!r} instead.")
    if len(set(cols)) != len(cols):
        raise UsageError(f"Parameter `{name}` names a column twice.")
    return cols


def _check_columns(engine, relation: str, cols, source: str) -> None:
    """InputError naming the first of ``cols`` missing from ``relation`` (read from ``source``)."""
    have = engine.columns(relation) if hasattr(engine, "columns") else {}
    for c in cols:
        if have and c not in have:
            raise InputError(f"File '{source}': column '{c}' not found; columns are {column_list(have)}.")


def parse_ranges(text: str, name: str, limit: int) -> list[tuple[int, int]]:
    """``300-309,320`` → [(300, 309), (320, 320)]: numbers or inclusive ranges, each within [0,
    ``limit``], checked before anything is enumerated (UsageError naming the option ``--name``)."""
    out = []
    try:
        for part in str(text).split(","):
            a, _, b = part.strip().partition("-")
            lo, hi = int(a), int(b or a)
            if not 0 <= lo <= hi <= limit:
                raise ValueError
            out.append((lo, hi))
    except ValueError:
        raise UsageError(f"Option `--{name}` must be numbers or ranges LO-HI with 0 <= LO <= HI <= {limit:,} "
                         f"(e.g. 300-309,320). Got {str(text)[:40]!r} instead.") from None
    return out
