"""Tabular quasi-identifiers (QIs): generalization, Mondrian k-anonymity and utility metrics.

* ``read_hierarchy``: a value generalization hierarchy in ARX's CSV layout (``;``-separated, no
  header; column 0 = the raw value, column i = its generalization at level i, e.g. ``39;35-39;30-39;*``).
* ``generalize_qi``: global recoding of chosen columns, numeric columns to fixed-width bands or any
  column to a level of its hierarchy.
* ``mondrian``: strict multidimensional Mondrian (LeFevre, DeWitt & Ramakrishnan 2006), released with
  ranges, value sets or lowest common hierarchy ancestors, small released classes suppressed within
  a budget.
* ``discernibility`` / ``normalized_discernibility`` (Bayardo & Agrawal 2005) and
  ``generalized_information_loss`` (Iyengar 2002; ARX's "loss"), 0 = original data, 1 = nothing left.

Values are compared as text: a number is written as an integer when it is integer-valued (``39``,
not ``39.0``), so ``39`` matches the hierarchy row ``39;…``. A missing QI value is a value of its own
(as SQL ``GROUP BY`` treats NULL) and stays missing where it is released unchanged. Rows named in
errors are 1-based data rows (positions in the table, not index labels); messages never carry values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, UsageError

__all__ = ["KAnonymized", "discernibility", "generalize_qi", "generalized_information_loss", "mondrian",
           "normalized_discernibility", "read_hierarchy"]

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_POINT = re.compile(rf"^\s*({_NUM})\s*$")
_RANGE = re.compile(rf"^\s*({_NUM})\s*-\s*({_NUM})\s*$")


# ----------------------------------------------------------------------------------------------
# helpers
def _fmt(x: float) -> str:
    """A number as text: ``39`` for integer values, else up to 12 significant digits."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else format(x, ".12g")


def _is_num(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _as_str(s: pd.Series) -> np.ndarray:
    """Object array of the values as text (see module doc); ``None`` where missing."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if _is_num(s):
        labels = [str(u) if isinstance(u, (int, np.integer)) else _fmt(u) for u in np.asarray(uniques)]
    else:
        labels = [str(u) for u in np.asarray(uniques, dtype=object)]
    return np.array(labels + [None], dtype=object)[codes]        # code -1 (missing) -> None


def _str_series(values: np.ndarray, index) -> pd.Series:
    return pd.Series(values, index=index, dtype="str")


def _check_columns(table: pd.DataFrame, cols, what: str) -> None:
    for c in cols:
        if c not in table.columns:
            raise UsageError(f"{what}: column '{c}' is not in the table; columns are "
                             f"{', '.join(map(str, table.columns))}.")


def _columns(qi) -> list[str]:
    """The QI columns to generalize as a list: one name (a string is a single column, never split
    on commas) or a sequence of names; at least one, none twice."""
    cols = [qi] if isinstance(qi, str) else list(qi or [])
    if not cols:
        raise UsageError("Parameter `qi` must name at least one quasi-identifier column.")
    if len(set(cols)) != len(cols):
        raise UsageError("Parameter `qi` names a column twice.")
    return cols


def _parse_range(text) -> tuple[float, float] | None:
    """``"30-39"`` -> (30, 39), ``"45"`` -> (45, 45); None when the text is neither."""
    if text is None:
        return None
    m = _POINT.match(text)
    if m:
        return float(m.group(1)), float(m.group(1))
    m = _RANGE.match(text)
    return (float(m.group(1)), float(m.group(2))) if m else None


# ----------------------------------------------------------------------------------------------
# hierarchies and global recoding
def read_hierarchy(path_or_df) -> pd.DataFrame:
    """A hierarchy as a frame of strings with columns ``0..depth`` (column 0 = raw values, unique).

    Accepts a path to an ARX-style CSV file (``;``, no header) or a frame in that layout. Unreadable
    files, empty cells (ragged rows) and duplicate raw values raise ``InputError``.
    """
    if isinstance(path_or_df, pd.DataFrame):
        name = "Hierarchy"
        if path_or_df.isna().to_numpy().any():
            bad = int(np.flatnonzero(path_or_df.isna().to_numpy().any(axis=1))[0])
            raise InputError(f"{name}: row {bad + 1:,} has an empty level.")
        df = path_or_df.astype(str).copy()
    elif isinstance(path_or_df, (str, Path)):
        name = f"Hierarchy file '{path_or_df}'"
        try:
            df = pd.read_csv(path_or_df, sep=";", header=None, dtype=str, keep_default_na=False, na_filter=False)
        except FileNotFoundError:
            raise InputError(f"{name} does not exist.") from None
        except pd.errors.EmptyDataError:
            raise InputError(f"{name} is empty.") from None
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
            raise InputError(f"{name} cannot be read as ';'-separated text ({type(e).__name__}).") from None
    else:
        raise UsageError(f"A hierarchy must be a file path or a DataFrame. Got {type(path_or_df).__name__} instead.")
    df.columns = range(df.shape[1])
    df = df.reset_index(drop=True)
    if df.empty:
        raise InputError(f"{name} has no rows.")
    empty = (df == "").to_numpy().any(axis=1)
    if empty.any():
        raise InputError(f"{name}: row {int(np.flatnonzero(empty)[0]) + 1:,} has an empty level.")
    dup = df[0].duplicated().to_numpy()
    if dup.any():
        raise InputError(f"{name}: the raw value of row {int(np.flatnonzero(dup)[0]) + 1:,} appears twice.")
    return df


def _leaf_positions(values: np.ndarray, hier: pd.DataFrame, col: str) -> np.ndarray:
    """Row of each value in the hierarchy (−1 where missing); unknown values raise InputError."""
    pos = pd.Index(hier[0]).get_indexer(values)
    bad = (pos < 0) & np.array([v is not None for v in values], dtype=bool)
    if bad.any():
        raise InputError(f"Column '{col}': {int(bad.sum()):,} value(s) not in the hierarchy "
                         f"(first at row {int(np.flatnonzero(bad)[0]) + 1:,}).")
    return pos


def _band(s: pd.Series, width, col: str) -> np.ndarray:
    if isinstance(width, bool) or not isinstance(width, (int, float, np.integer, np.floating)) or not width > 0:
        raise UsageError(f"Band width of column '{col}' must be a positive number. Got {width!r} instead.")
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan) if not _is_num(s) \
        else s.to_numpy(dtype=float, na_value=np.nan)
    miss = np.isnan(v)
    bad = miss & s.notna().to_numpy()
    if bad.any():
        raise InputError(f"Column '{col}': {int(bad.sum()):,} value(s) are not numbers and cannot be banded "
                         f"(first at row {int(np.flatnonzero(bad)[0]) + 1:,}).")
    w = float(width)
    lo = np.floor(v / w) * w
    integer = w.is_integer() and bool(np.all(np.mod(v[~miss], 1) == 0))
    top = w - 1 if integer else w           # integer data: closed [lo, lo+w−1]; else half-open [lo, lo+w)
    codes, uniq = pd.factorize(lo, use_na_sentinel=True)
    labels = [f"{_fmt(a)}-{_fmt(a + top)}" for a in uniq]
    return np.array(labels + [None], dtype=object)[codes]


def generalize_qi(table: pd.DataFrame, *, bands: dict[str, int] | None = None,
                  hierarchies: dict[str, pd.DataFrame | str | Path] | None = None,
                  levels: dict[str, int] | None = None) -> pd.DataFrame:
    """Global recoding: a new frame with the named columns generalized (as strings); input untouched.

    ``bands={"age": 10}``: a number v becomes the band ``"lo-hi"`` with lo = floor(v/w)·w; for integer
    data and width, hi = lo + w − 1 (``"30-39"``), otherwise hi = lo + w (half-open ``[lo, hi)``).
    ``hierarchies={"education": file_or_frame}`` with ``levels={"education": 2}``: each value becomes
    its hierarchy column 2; level 0 leaves the column unchanged. Missing values stay missing.
    Unknown columns, a level beyond the hierarchy's depth, or a hierarchy without a level (or the
    reverse) raise ``UsageError``; values absent from the hierarchy raise ``InputError``.
    """
    bands, hierarchies, levels = dict(bands or {}), dict(hierarchies or {}), dict(levels or {})
    _check_columns(table, [*bands, *hierarchies, *levels], "generalize_qi")
    if set(bands) & set(hierarchies):
        raise UsageError(f"Column '{sorted(set(bands) & set(hierarchies))[0]}' is given both a band and a hierarchy.")
    if set(levels) != set(hierarchies):
        col = sorted(set(levels) ^ set(hierarchies))[0]
        raise UsageError(f"Column '{col}' needs both a hierarchy and a level (parameters `hierarchies`, `levels`).")
    out = table.copy()
    for col, width in bands.items():
        out[col] = _str_series(_band(table[col], width, col), table.index)
    for col, src in hierarchies.items():
        lvl = levels[col]
        if isinstance(lvl, bool) or not isinstance(lvl, (int, np.integer)) or lvl < 0:
            raise UsageError(f"Level of column '{col}' must be an integer ≥ 0. Got {lvl!r} instead.")
        hier = read_hierarchy(src)
        depth = hier.shape[1] - 1
        if lvl > depth:
            raise UsageError(f"Level {lvl} of column '{col}' is beyond the hierarchy's depth ({depth}).")
        if lvl == 0:
            continue
        pos = _leaf_positions(_as_str(table[col]), hier, col)
        released = np.array(list(hier[lvl]) + [None], dtype=object)[pos]
        out[col] = _str_series(released, table.index)
    return out


# ----------------------------------------------------------------------------------------------
# Mondrian
@dataclass(frozen=True)
class KAnonymized:
    """A k-anonymous release: ``table`` = input rows kept (same columns, order and index labels) with
    QIs generalized as strings; ``kept`` = boolean mask over the input rows; ``suppressed`` = rows
    removed; ``partitions`` = Mondrian partitions (released classes may merge several)."""

    table: pd.DataFrame
    suppressed: int
    kept: np.ndarray
    partitions: int
    k: int


@dataclass
class _Coded:
    """One QI as integer codes (ordered; the missing value, if any, is the last code)."""

    kind: str                        # numeric | categorical | hierarchy
    codes: np.ndarray
    n_codes: int                     # including the missing code
    missing: int                     # the missing code, −1 when nothing is missing
    distinct: int                    # distinct non-missing values in the table
    values: np.ndarray | None = None     # numeric: sorted distinct values
    span: float = 0.0                    # numeric: global max − min
    labels: list | None = None           # categorical/hierarchy: text of each code
    anc: list | None = None              # hierarchy: per level ≥ 1, (ancestor code per leaf, ancestor labels)


def _encode(s: pd.Series, col: str, kind: str, hier: pd.DataFrame | None) -> _Coded:
    n = len(s)
    if kind == "numeric":
        v = s.to_numpy(dtype=float, na_value=np.nan) if _is_num(s) else \
            pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        miss = np.isnan(v)
        bad = miss & s.notna().to_numpy()
        if bad.any():
            raise InputError(f"Column '{col}': {int(bad.sum()):,} value(s) are not numbers "
                             f"(first at row {int(np.flatnonzero(bad)[0]) + 1:,}).")
        uv = np.unique(v[~miss])
        codes = np.searchsorted(uv, v).astype(np.int64)
        codes[miss] = len(uv)
        return _Coded("numeric", codes, len(uv) + 1, len(uv) if miss.any() else -1, len(uv), values=uv,
                      span=float(uv[-1] - uv[0]) if len(uv) else 0.0)
    text = _as_str(s)
    miss = np.array([t is None for t in text], dtype=bool) if n else np.zeros(0, bool)
    if hier is not None:
        pos = _leaf_positions(text, hier, col).astype(np.int64)
        leaves = len(hier)
        pos[miss] = leaves
        anc = []
        for lvl in range(1, hier.shape[1]):
            a_codes, a_labels = pd.factorize(hier[lvl])
            anc.append((np.asarray(a_codes), [str(x) for x in a_labels]))
        return _Coded("hierarchy", pos, leaves + 1, leaves if miss.any() else -1,
                      len(np.unique(pos[~miss])), labels=[str(x) for x in hier[0]], anc=anc)
    present = s[~miss]
    if _is_num(s):                   # a number column treated as categories: numeric order
        order = pd.unique(np.sort(present.to_numpy(dtype=float)))
        labels = [_fmt(x) for x in order]
    else:
        labels = sorted(set(text[~miss]))
    codes = pd.Index(labels, dtype=object).get_indexer(text).astype(np.int64) if n else np.zeros(0, np.int64)
    codes[miss] = len(labels)
    return _Coded("categorical", codes, len(labels) + 1, len(labels) if miss.any() else -1, len(labels),
                  labels=labels)


def _width(q: _Coded, c: np.ndarray) -> float:
    """Normalized width of a partition on one QI (−1 when it holds a single value)."""
    lo, hi = int(c.min()), int(c.max())
    if lo == hi:
        return -1.0
    if q.kind == "numeric":
        if hi == q.missing:          # values and missing values together: as wide as it gets
            return 1.0
        return float(q.values[hi] - q.values[lo]) / q.span
    if q.n_codes <= 4 * len(c):
        d = int(np.count_nonzero(np.bincount(c, minlength=q.n_codes)))
    else:
        d = len(np.unique(c))
    return d / max(q.distinct, 1)


def _cut(coded: list[_Coded], idx: np.ndarray, k: int) -> np.ndarray | None:
    """Mask of the lower side of the first allowable median cut (widest QI first), or None."""
    m = len(idx)
    cs = [q.codes[idx] for q in coded]
    widths = [_width(q, c) for q, c in zip(coded, cs)]
    for j in sorted(range(len(coded)), key=lambda j: -widths[j]):
        if widths[j] < 0:                     # this and the rest hold a single value
            return None
        med = np.partition(cs[j], (m - 1) // 2)[(m - 1) // 2]
        left = cs[j] <= med
        nl = int(left.sum())
        if nl >= k and m - nl >= k:
            return left
    return None


def _release(q: _Coded, c: np.ndarray, cache: dict):
    """Released text of one QI for one partition (None = missing)."""
    if q.kind == "numeric":
        lo, hi = int(c.min()), int(c.max())
        key = (lo, hi)
        if key not in cache:
            if lo == q.missing:
                cache[key] = None
            elif hi == q.missing:
                cache[key] = "*"
            else:
                a, b = q.values[lo], q.values[hi]
                cache[key] = _fmt(a) if a == b else f"{_fmt(a)}-{_fmt(b)}"
        return cache[key]
    u = np.unique(c)
    key = u.tobytes()
    if key in cache:
        return cache[key]
    if u[0] == q.missing:
        out = None
    elif u[-1] == q.missing and q.missing >= 0:
        out = "*"
    elif len(u) == 1:
        out = q.labels[u[0]]
    elif q.kind == "categorical":
        out = "*" if len(u) == q.distinct else "|".join(q.labels[i] for i in u)
    else:
        out = "*"
        for a_codes, a_labels in q.anc:
            a = a_codes[u]
            if (a == a[0]).all():
                out = a_labels[a[0]]
                break
    cache[key] = out
    return out


def mondrian(table: pd.DataFrame, qi: list[str], k: int, *, hierarchies: dict | None = None,
             max_suppression: float = 0.0, numeric: list[str] | None = None) -> KAnonymized:
    """Strict multidimensional Mondrian k-anonymity (LeFevre et al. 2006).

    Partitions are split recursively on the QI of widest normalized range (numeric: range / global
    range; categorical: distinct values / global distinct values; ties in ``qi`` order) at the
    record median: values ≤ median vs > median in the QI's order (numbers ascending; categories in
    their hierarchy's row order, else sorted as text, numbers numerically; missing last). A cut is
    allowed when both sides keep ≥ k records; otherwise the next QI is tried.

    Released QIs (strings): numeric ``"lo-hi"`` (min and max of the partition; the plain value when
    equal); with a hierarchy, the lowest level on which the partition's values share one ancestor
    (``*`` when none does); otherwise the single value, the ``|``-joined sorted values, or ``*`` when
    all the column's values are present. A partition mixing missing and present values releases
    ``*``; an all-missing one stays missing. ``numeric`` defaults to the number-typed QIs without a
    hierarchy. Hierarchies of non-QI columns are ignored.

    Released classes (equal released QI tuples, partitions merged) smaller than ``k`` are suppressed
    (rows removed) if their share of the rows is ≤ ``max_suppression``, else ``UsageError``. With
    fewer than k rows everything must be suppressed (needs ``max_suppression`` = 1).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise UsageError(f"Parameter `k` must be a positive integer. Got {k!r} instead.")
    k = int(k)
    if isinstance(max_suppression, bool) or not isinstance(max_suppression, (int, float)) \
            or not 0 <= max_suppression <= 1:
        raise UsageError(f"Parameter `max_suppression` must be a share in [0, 1]. Got {max_suppression!r} instead.")
    qi = _columns(qi)
    _check_columns(table, qi, "mondrian")
    hierarchies = dict(hierarchies or {})
    _check_columns(table, hierarchies, "mondrian hierarchies")
    hier = {c: read_hierarchy(h) for c, h in hierarchies.items() if c in qi}
    if numeric is None:
        numeric = [c for c in qi if _is_num(table[c]) and c not in hier]
    numeric = list(numeric)
    for c in numeric:
        if c not in qi:
            raise UsageError(f"Column '{c}' in `numeric` is not a quasi-identifier.")
        if c in hier:
            raise UsageError(f"Column '{c}' is given both as numeric and with a hierarchy; give one.")

    n = len(table)
    if n < k:
        if n and max_suppression < 1:
            raise UsageError(f"The table has {n:,} row(s), fewer than k = {k}: releasing it needs suppressing "
                             f"every row (max_suppression = 1); got {max_suppression}.")
        return KAnonymized(table.iloc[:0].copy(), n, np.zeros(n, dtype=bool), 0, k)

    coded = [_encode(table[c], c, "numeric" if c in numeric else "categorical", hier.get(c)) for c in qi]

    # iterative partitioning over row-index arrays (explicit stack, no recursion)
    final: list[np.ndarray] = []
    stack = [np.arange(n)]
    while stack:
        idx = stack.pop()
        cut = _cut(coded, idx, k) if len(idx) >= 2 * k else None
        if cut is None:
            final.append(idx)
        else:
            stack.extend((idx[~cut], idx[cut]))

    # release each partition's QI values
    out_cols = [np.empty(n, dtype=object) for _ in qi]
    caches: list[dict] = [{} for _ in qi]
    for idx in final:
        for j, q in enumerate(coded):
            out_cols[j][idx] = _release(q, q.codes[idx], caches[j])

    released = pd.DataFrame({f"q{j}": _str_series(v, None) for j, v in enumerate(out_cols)})
    sizes = _class_sizes(released, list(released.columns))
    small = sizes < k
    n_small = int(small.sum())
    if n_small and n_small / n > max_suppression + 1e-12:
        raise UsageError(f"Mondrian leaves {n_small:,} row(s) ({n_small / n:.1%}) in released classes smaller than "
                         f"k = {k}; the suppression budget max_suppression = {max_suppression} is too small.")
    kept = ~small
    rows = np.flatnonzero(kept)
    out = table.iloc[rows].copy()
    for j, c in enumerate(qi):
        out[c] = _str_series(out_cols[j][rows], out.index)
    return KAnonymized(out, n_small, kept, len(final), k)


# ----------------------------------------------------------------------------------------------
# utility metrics
def _class_sizes(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """Size of each row's equivalence class on ``cols`` (missing values are a value)."""
    if not len(frame):
        return np.zeros(0, dtype=np.int64)
    g = frame.groupby(cols, dropna=False, sort=False).ngroup().to_numpy()
    return np.bincount(g)[g]


def discernibility(released: pd.DataFrame, qi: list[str], n_suppressed: int = 0,
                   n_total: int | None = None) -> float:
    """Discernibility metric DM = Σ_E |E|² + n_suppressed · n_total (Bayardo & Agrawal 2005).

    Classes E are the released rows grouped by their QI values; each suppressed record costs the
    table size ``n_total`` (default: released rows + ``n_suppressed``). Lower is better; the
    minimum is n (all unique), the maximum n² (one class, or everything suppressed).
    """
    qi = _columns(qi)
    _check_columns(released, qi, "discernibility")
    n_rel = len(released)
    n_total = n_rel + int(n_suppressed) if n_total is None else int(n_total)
    if n_suppressed < 0 or n_total < n_rel + n_suppressed:
        raise UsageError(f"Parameter `n_total` ({n_total}) must be at least the released rows ({n_rel}) plus "
                         f"`n_suppressed` ({n_suppressed}), which must be ≥ 0.")
    if n_rel:
        g = released.groupby(qi, dropna=False, sort=False).ngroup().to_numpy()
        dm = float(np.sum(np.bincount(g).astype(float) ** 2))
    else:
        dm = 0.0
    return dm + float(n_suppressed) * float(n_total)


def normalized_discernibility(released: pd.DataFrame, qi: list[str], n_suppressed: int = 0,
                              n_total: int | None = None) -> float:
    """DM / n_total², in [1/n, 1]: 1/n when every record is unique, 1 for one class or all suppressed
    (0 for an empty table)."""
    dm = discernibility(released, qi, n_suppressed, n_total)
    n = len(released) + int(n_suppressed) if n_total is None else int(n_total)
    return dm / float(n) ** 2 if n else 0.0


def _cell_loss(orig_text, orig_num: float, rel_text, *, numeric: bool, span: float, distinct: int,
               hier: pd.DataFrame | None, leaf_row: dict | None, leaf_counts: list | None) -> float | None:
    """Loss of one (original, released) pair in [0, 1]; None when the released value does not cover it."""
    if rel_text == orig_text:
        return 0.0
    if rel_text is None or rel_text == "*":                  # blanked out or fully generalized
        return 1.0
    if orig_text is None:
        return None
    if hier is not None:
        row = leaf_row.get(orig_text)
        if row is not None:
            leaves = len(hier)
            for lvl in range(1, hier.shape[1]):
                if hier.iat[row, lvl] == rel_text:
                    return (leaf_counts[lvl - 1][row] - 1) / (leaves - 1) if leaves > 1 else 0.0
        distinct = len(hier)
    if numeric:
        r = _parse_range(rel_text)
        if r is not None:
            lo, hi = r
            if not lo <= orig_num <= hi:
                return None
            if hi == lo:
                return 0.0
            return min(1.0, (hi - lo) / span) if span > 0 else 1.0
    if "|" in rel_text:
        parts = rel_text.split("|")
        if orig_text in parts:
            return (len(set(parts)) - 1) / (distinct - 1) if distinct > 1 else 0.0
    return None


def generalized_information_loss(original: pd.DataFrame, released: pd.DataFrame, qi: list[str], *,
                                 hierarchies: dict | None = None, kept_mask=None) -> float:
    """Generalized information loss (Iyengar 2002; ARX's "loss"), in [0, 1]: mean over rows and QIs.

    Per cell: unchanged = 0; ``*`` = 1; a numeric range ``lo-hi`` = (hi − lo) / (global max − min of
    the original column, capped at 1); a hierarchy value = (leaves under it − 1) / (hierarchy leaves
    − 1); a ``|``-joined set = (size − 1) / (distinct values − 1); a released missing value where the
    original has one = 1. ``released`` lines up with ``original`` row by row, or, with ``kept_mask``
    (boolean over ``original``'s rows), with its kept rows; the other rows (suppressed) cost 1 on
    every QI. A released value that does not cover its original raises ``InputError``.
    """
    qi = _columns(qi)
    _check_columns(original, qi, "generalized_information_loss (original)")
    _check_columns(released, qi, "generalized_information_loss (released)")
    n = len(original)
    if kept_mask is None:
        rows = np.arange(n)
    else:
        mask = np.asarray(kept_mask, dtype=bool)
        if mask.shape != (n,):
            raise UsageError(f"Parameter `kept_mask` must have one entry per original row ({n:,}).")
        rows = np.flatnonzero(mask)
    if len(rows) != len(released):
        raise UsageError(f"The released table has {len(released):,} row(s) but {len(rows):,} original row(s) are "
                         f"kept; they must line up.")
    if not n:
        return 0.0
    hierarchies = dict(hierarchies or {})
    total = float((n - len(rows)) * len(qi))       # suppressed rows: 1 per QI
    for col in qi:
        o = original[col]
        numeric = _is_num(o)
        o_num = o.to_numpy(dtype=float, na_value=np.nan) if numeric else np.full(n, np.nan)
        o_text = _as_str(o)
        present = o_text[np.array([t is not None for t in o_text], dtype=bool)]
        distinct = len(set(present))
        span = float(np.nanmax(o_num) - np.nanmin(o_num)) if numeric and np.isfinite(o_num).any() else 0.0
        hier = read_hierarchy(hierarchies[col]) if col in hierarchies else None
        leaf_row = leaf_counts = None
        if hier is not None:
            leaf_row = {v: i for i, v in enumerate(hier[0])}
            leaf_counts = [hier[lvl].map(hier[lvl].value_counts()).to_numpy() for lvl in range(1, hier.shape[1])]
        ot, on, rt = o_text[rows], o_num[rows], _as_str(released[col])
        pairs = pd.DataFrame({"o": ot, "r": rt})
        g = pairs.groupby(["o", "r"], dropna=False, sort=False).ngroup().to_numpy()
        if not len(g):
            continue
        _, first = np.unique(g, return_index=True)
        loss = np.empty(len(first))
        for gi, i in enumerate(first):
            val = _cell_loss(ot[i], on[i], rt[i], numeric=numeric, span=span, distinct=distinct, hier=hier,
                             leaf_row=leaf_row, leaf_counts=leaf_counts)
            if val is None:
                raise InputError(f"Column '{col}': the released value of row {int(i) + 1:,} does not generalize "
                                 f"the original value.")
            loss[gi] = val
        total += float(loss[g].sum())
    return total / (n * len(qi))
