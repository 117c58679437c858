"""Tabular disclosure checks on a table with declared quasi-identifiers (QIs) and a sensitive attribute.

An **equivalence class** is a set of records with equal values on every QI. A missing QI value is a
value of its own (SQL ``GROUP BY`` puts all NULLs of a column in one group): no record is dropped.
Every count is over records unless named otherwise; rates use 95% Wilson intervals.

* ``KAnonymity``: k = smallest class size; the share of records in classes smaller than ``k``;
  prosecutor risk (highest 1/min size, average #classes/n), journalist risk (equal to prosecutor risk
  when the table is the population, the only case handled here) and marketer risk (#classes/n);
  ``n_unique`` = records alone in their class. Anonymity sets are the class sizes of the records.
* ``LDiversity``: per class, distinct l = number of distinct sensitive values; entropy l = exp(H) of
  the class's sensitive distribution; recursive (c, l): r₁ < c·(r_l + … + r_m) with r sorted
  descending. Reports the table's l (minimum over classes) and records in classes below ``l``.
* ``TCloseness``: per class, the distance between its sensitive distribution and the table's: equal
  distance ½Σ|p−q| for categorical values, ordered EMD (1/(m−1))·Σ_i|Σ_{j≤i}(p_j−q_j)| over the
  sorted values (numeric order when every value is a number) for ordinal ones; t = the maximum.
* ``PopulationRisk``: population uniqueness from the class-size histogram with the Zayatz, Pitman
  and SNB models and Dankar's rule (``reidcheck.population``), given the sampling fraction.

The class computations are portable SQL; the per-class distribution arithmetic of l and t is done
in SQL too (window functions), returning one row per class at most.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError, UsageError
from ..uniqueness import Histogram, population_uniqueness
from ..redact import column_list
from ..result import AttackResult
from ..stats import anonymity_summary, rate

TABULAR_RULES = {"kanon": "RC101", "ldiv": "RC102", "tclose": "RC103", "risk": "RC104"}


def _check_columns(engine, relation: str, cols, source: str) -> None:
    have = engine.columns(relation) if hasattr(engine, "columns") else {}
    for c in cols:
        if have and c not in have:
            raise InputError(f"File '{source}': column '{c}' not found; columns are {column_list(have)}.")


def _qi_list(qi) -> list[str]:
    cols = [c.strip() for c in (qi.split(",") if isinstance(qi, str) else qi) if c and c.strip()]
    if not cols:
        raise UsageError("Parameter `qi` must name at least one quasi-identifier column.")
    if len(set(cols)) != len(cols):
        raise UsageError("Parameter `qi` names a column twice.")
    return cols


def class_sizes_sql(engine, relation: str, qi: list[str]) -> str:
    keys = ", ".join(engine.quote(c) for c in qi)
    return f"SELECT {keys}, COUNT(*) AS sz FROM {relation} GROUP BY {keys}"


def _result(attack, params, engine, t0, n, n_unique, sizes_hist: pd.DataFrame, extra) -> AttackResult:
    return AttackResult(
        attack=attack, rule_id=TABULAR_RULES[attack], engine=engine.name, seed=None, params=params,
        n_targets=n, n_skipped=0, n_unique=n_unique, n_correct=None, unique_rate=rate(n_unique, n),
        correct_rate=None,
        anonymity_set=anonymity_summary(sizes_hist["sz"].to_numpy(), sizes_hist["records"].to_numpy())
        if n else None,
        elapsed_s=round(time.perf_counter() - t0, 3), extra=extra)


def _size_histogram(engine, relation: str, qi: list[str]) -> pd.DataFrame:
    """(sz, classes, records) over the equivalence classes of ``relation``."""
    return engine.query(f"""
        SELECT sz, COUNT(*) AS classes, SUM(sz) AS records
        FROM ({class_sizes_sql(engine, relation, qi)}) c GROUP BY sz ORDER BY sz""")


@dataclass(frozen=True)
class KAnonymity:
    qi: tuple[str, ...] | str = field(default=())
    k: int = 5

    def validate(self) -> list[str]:
        if not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise UsageError(f"Parameter `k` must be a positive integer. Got {self.k!r} instead.")
        return _qi_list(self.qi)

    def run(self, engine, relation: str = "tbl", source: str = "") -> AttackResult:
        qi = self.validate()
        _check_columns(engine, relation, qi, source)
        t0 = time.perf_counter()
        h = _size_histogram(engine, relation, qi)
        n = int(h["records"].sum())
        classes = int(h["classes"].sum())
        k_min = int(h["sz"].min()) if n else 0
        below = int(h.loc[h["sz"] < self.k, "records"].sum())
        n_unique = int(h.loc[h["sz"] == 1, "records"].sum())
        prosecutor = {"highest": (1.0 / k_min) if n else 0.0, "average": classes / n if n else 0.0}
        extra = {"k": k_min, "classes": classes, "records_below_k": rate(below, n) | {"records": below},
                 "prosecutor_risk": prosecutor, "journalist_risk": dict(prosecutor),
                 "marketer_risk": classes / n if n else 0.0,
                 "class_sizes": {"min": k_min, "max": int(h["sz"].max()) if n else 0,
                                 "mean": n / classes if classes else 0.0}}
        return _result("kanon", {"qi": qi, "k": self.k}, engine, t0, n, n_unique, h, extra)


@dataclass(frozen=True)
class LDiversity:
    qi: tuple[str, ...] | str = field(default=())
    sensitive: str = ""
    l: float = 2            # noqa: E741  (the name of the parameter in the literature)
    variant: str = "distinct"   # distinct | entropy | recursive
    c: float = 2.0

    def validate(self) -> list[str]:
        if self.variant not in ("distinct", "entropy", "recursive"):
            raise UsageError(f"Parameter `variant` must be distinct, entropy or recursive. Got {self.variant!r} instead.")
        if not self.sensitive:
            raise UsageError("Parameter `sensitive` must name the sensitive attribute.")
        if not self.l >= 1 or not self.c > 0:
            raise UsageError("Parameters `l` (≥ 1) and `c` (> 0) are out of range.")
        return _qi_list(self.qi)

    def per_class(self, engine, relation: str, qi: list[str]) -> pd.DataFrame:
        """Per class: size, distinct l, entropy l, and the largest l for which recursive (c, l) holds."""
        keys = ", ".join(engine.quote(col) for col in qi)
        s = engine.quote(self.sensitive)
        # Frequencies of each sensitive value within each class, ranked by frequency; the class size
        # is a window sum (PARTITION BY groups missing values together, as GROUP BY does).
        engine.register("__lv", f"""
            SELECT {keys}, {s} AS sv, COUNT(*) AS f FROM {relation} GROUP BY {keys}, {s}""")
        engine.register("__lc", f"""
            SELECT __lv.*, SUM(f) OVER (PARTITION BY {keys}) AS sz,
                   ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY f DESC, sv) AS r
            FROM __lv""")
        # Recursive (c, l): the largest l with r1 < c * (r_l + ... + r_m), r sorted descending; the
        # tail sum falls as l grows, so the l that satisfy it form a prefix 1..l_max.
        df = engine.query(f"""
            SELECT {keys}, MAX(sz) AS sz, COUNT(*) AS distinct_l,
                   EXP(-SUM((f * 1.0 / sz) * LN(f * 1.0 / sz))) AS entropy_l,
                   MAX(CASE WHEN r = 1 OR f1 < {float(self.c)!r} * tail THEN r ELSE 0 END) AS recursive_l
            FROM (SELECT __lc.*,
                         SUM(f) OVER (PARTITION BY {keys} ORDER BY r DESC
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS tail,
                         MAX(f) OVER (PARTITION BY {keys}) AS f1
                  FROM __lc) w
            GROUP BY {keys}""")
        engine.drop("__lc")
        engine.drop("__lv")
        return df

    def run(self, engine, relation: str = "tbl", source: str = "") -> AttackResult:
        qi = self.validate()
        _check_columns(engine, relation, qi + [self.sensitive], source)
        t0 = time.perf_counter()
        df = self.per_class(engine, relation, qi)
        col = {"distinct": "distinct_l", "entropy": "entropy_l", "recursive": "recursive_l"}[self.variant]
        n = int(df["sz"].sum())
        l_min = float(df[col].min()) if n else 0.0
        below = int(df.loc[df[col] < self.l - 1e-12, "sz"].sum())
        hist = df.groupby("sz").agg(records=("sz", "sum")).reset_index()
        n_unique = int(df.loc[df["distinct_l"] == 1, "sz"].sum())   # sensitive value disclosed
        extra = {"l": round(l_min, 6) if self.variant == "entropy" else int(l_min),
                 "records_below_l": rate(below, n) | {"records": below},
                 "classes": int(len(df)), "n_homogeneous": n_unique}
        params = {"qi": qi, "sensitive": self.sensitive, "l": self.l, "variant": self.variant}
        if self.variant == "recursive":
            params["c"] = self.c
        return _result("ldiv", params, engine, t0, n, n_unique, hist, extra)


@dataclass(frozen=True)
class TCloseness:
    qi: tuple[str, ...] | str = field(default=())
    sensitive: str = ""
    t: float = 0.2
    ordered: bool | None = None    # None: ordered when every sensitive value is a number

    def validate(self) -> list[str]:
        if not self.sensitive:
            raise UsageError("Parameter `sensitive` must name the sensitive attribute.")
        if not 0 <= self.t <= 1:
            raise UsageError(f"Parameter `t` must be between 0 and 1. Got {self.t!r} instead.")
        return _qi_list(self.qi)

    def run(self, engine, relation: str = "tbl", source: str = "") -> AttackResult:
        qi = self.validate()
        _check_columns(engine, relation, qi + [self.sensitive], source)
        t0 = time.perf_counter()
        keys = ", ".join(engine.quote(c) for c in qi)
        s = engine.quote(self.sensitive)
        sv = f"COALESCE(CAST({s} AS STRING), '<missing>')"   # a missing sensitive value is a value too
        glob = engine.query(f"SELECT {sv} AS sv, COUNT(*) AS f FROM {relation} GROUP BY {sv}")
        numeric = pd.to_numeric(glob["sv"], errors="coerce")
        ordered = self.ordered if self.ordered is not None else bool(numeric.notna().all() and len(glob) > 1)
        order = np.argsort(numeric.to_numpy() if ordered and numeric.notna().all() else glob["sv"].astype(str).to_numpy(),
                           kind="stable")
        glob = glob.iloc[order].reset_index(drop=True)
        glob["rank"] = np.arange(len(glob))
        m = len(glob)
        n = int(glob["f"].sum())
        engine.register("__tg", pd.DataFrame({"sv": glob["sv"], "rk": glob["rank"].astype(np.int64),
                                              "q": glob["f"] / n}))
        # Per class and global value: p (class share, 0 when absent) − q (table share); the equal
        # distance sums |p − q| / 2, the ordered EMD sums |cumulative (p − q)| / (m − 1).
        # Class ids by DENSE_RANK over the QIs (NULLs rank together), class sizes by window sums.
        engine.register("__tcnt", f"""
            SELECT DENSE_RANK() OVER (ORDER BY {keys}) AS cid, sv, f, SUM(f) OVER (PARTITION BY {keys}) AS sz
            FROM (SELECT {keys}, {sv} AS sv, COUNT(*) AS f FROM {relation} GROUP BY {keys}, {sv}) x""")
        engine.register("__tcls", "SELECT DISTINCT cid, sz FROM __tcnt")
        if ordered and m > 1:
            dist_sql = f"SUM(ABS(cum)) / {m - 1}"
            inner = """SELECT cid, SUM(d) OVER (PARTITION BY cid ORDER BY rk
                                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum FROM diff"""
        else:
            dist_sql = "SUM(ABS(cum)) / 2"
            inner = "SELECT cid, d AS cum FROM diff"
        per = engine.query(f"""
            WITH diff AS (
              SELECT c.cid AS cid, g.rk AS rk, COALESCE(k.f, 0) * 1.0 / c.sz - g.q AS d
              FROM __tcls c CROSS JOIN __tg g
              LEFT JOIN __tcnt k ON k.cid = c.cid AND k.sv = g.sv)
            SELECT t.cid AS cid, MAX(c.sz) AS sz, {dist_sql} AS dist
            FROM ({inner}) t JOIN __tcls c ON c.cid = t.cid GROUP BY t.cid""")
        for name in ("__tcnt", "__tcls", "__tg"):
            engine.drop(name)
        size, dist = per["sz"].to_numpy(np.int64), per["dist"].to_numpy(float)
        n_cls = len(per)
        t_max = float(dist.max()) if n_cls else 0.0
        above = int(size[dist > self.t + 1e-12].sum())
        hist = pd.DataFrame({"sz": size}).groupby("sz").size().rename("classes").reset_index()
        hist["records"] = hist["sz"] * hist["classes"]
        extra = {"t": round(t_max, 6), "distance": "ordered EMD" if ordered else "equal distance",
                 "records_above_t": rate(above, n) | {"records": above}, "classes": n_cls}
        return _result("tclose", {"qi": qi, "sensitive": self.sensitive, "t": self.t, "ordered": ordered},
                       engine, t0, n, int(hist.loc[hist["sz"] == 1, "records"].sum()), hist, extra)


@dataclass(frozen=True)
class PopulationRisk:
    qi: tuple[str, ...] | str = field(default=())
    sampling_fraction: float = 1.0

    def validate(self) -> list[str]:
        if not 0 < self.sampling_fraction <= 1:
            raise UsageError("Parameter `sampling_fraction` must be in (0, 1]. "
                             f"Got {self.sampling_fraction!r} instead.")
        return _qi_list(self.qi)

    def run(self, engine, relation: str = "tbl", source: str = "") -> AttackResult:
        qi = self.validate()
        _check_columns(engine, relation, qi, source)
        t0 = time.perf_counter()
        h = _size_histogram(engine, relation, qi)
        hist = Histogram(h["sz"].to_numpy(np.int64), h["classes"].to_numpy(np.int64))
        est = population_uniqueness(hist, self.sampling_fraction)
        n = hist.n
        n_unique = int(h.loc[h["sz"] == 1, "records"].sum())
        extra = {"population_uniqueness": est, "prosecutor_risk": {"highest": 1.0 / int(h["sz"].min()),
                                                                   "average": hist.u / n}}
        return _result("risk", {"qi": qi, "sampling_fraction": self.sampling_fraction}, engine, t0, n,
                       n_unique, h, extra)
