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
  and SNB models and Dankar's rule (``reidcheck.uniqueness``), given the sampling fraction.

The class computations are portable SQL; the per-class distribution arithmetic of l and t is done
in SQL too (window functions), returning one row per class at most.

Every check is a keyword-only frozen dataclass of parameters with ``validate()``, ``params()`` and
``run(engine, release, *, knowledge=None, truth=None)``; ``release`` is an ``inputs.TableInput``
(the registered relation and where it was read from). Targets are the table's records
(``n_targets`` = records). **Baseline**: for ``KAnonymity`` and ``PopulationRisk`` the candidates are
the records (``n_candidates``), and ``baseline_rate = 1 / records`` is the chance of picking a given
person's record blindly — the prosecutor risk of a table whose QIs tell nothing. ``LDiversity`` and
``TCloseness`` measure attribute disclosure, for which no such guess applies (None).
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..uniqueness import Histogram, population_uniqueness
from ..result import AttackResult
from ..rules import rule_id
from ..stats import anonymity_summary, rate
from .inputs import TableInput
from .validation import _bad, _check_columns, _int_between, _qi_list



def _table(attack: str, release, knowledge, truth) -> TableInput:
    if not isinstance(release, TableInput):
        _bad("release", release, "a TableInput (the registered relation and its source)")
    if knowledge is not None or truth is not None:
        raise UsageError(f"The {attack} check reads the table alone: `knowledge` and `truth` must be None.")
    return release


def class_sizes_sql(engine, relation: str, qi: list[str]) -> str:
    keys = ", ".join(engine.quote(c) for c in qi)
    return f"SELECT {keys}, COUNT(*) AS sz FROM {relation} GROUP BY {keys}"


def _result(attack, params, engine, t0, n, n_unique, sizes_hist: pd.DataFrame, extra,
            baseline: bool = False) -> AttackResult:
    return AttackResult(
        attack=attack, rule_id=rule_id(attack), engine=engine.name, seed=None, params=params,
        n_targets=n, n_skipped=0, n_unique=n_unique, n_correct=None, unique_rate=rate(n_unique, n),
        correct_rate=None,
        anonymity_set=anonymity_summary(sizes_hist["sz"].to_numpy(), sizes_hist["records"].to_numpy())
        if n else None,
        elapsed_s=round(time.perf_counter() - t0, 3), n_candidates=n if baseline else None,
        baseline_rate=AttackResult.baseline(n) if baseline else None, extra=extra)


def _size_histogram(engine, relation: str, qi: list[str]) -> pd.DataFrame:
    """(sz, classes, records) over the equivalence classes of ``relation``."""
    return engine.query(f"""
        SELECT sz, COUNT(*) AS classes, SUM(sz) AS records
        FROM ({class_sizes_sql(engine, relation, qi)}) c GROUP BY sz ORDER BY sz""")


@dataclass(frozen=True, kw_only=True)
class KAnonymity:
    """``qi``: the quasi-identifier columns (names, or one comma-separated string); ``k``: classes
    smaller than this count as violations (``records_below_k``: records in them / records)."""

    qi: tuple[str, ...] | str = field(default=())
    k: int = 5

    def validate(self) -> list[str]:
        """The QI columns, checked; raises ``UsageError``."""
        _int_between("k", self.k, 1, allowed="a positive integer")
        return _qi_list(self.qi)

    def params(self) -> dict:
        return {"qi": self.validate(), "k": self.k}

    def run(self, engine, release: TableInput, *, knowledge=None, truth=None) -> AttackResult:
        qi = self.validate()
        relation, source = _table("kanon", release, knowledge, truth).relation, release.source
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
        return _result("kanon", self.params(), engine, t0, n, n_unique, h, extra, baseline=True)


@dataclass(frozen=True, kw_only=True)
class LDiversity:
    """``qi``; ``sensitive``: the sensitive attribute's column; ``l``: classes below it count as
    violations (``records_below_l``: records in them / records); ``variant``: distinct, entropy or
    recursive (with ``c``). ``n_unique`` = records in homogeneous classes (one sensitive value)."""

    qi: tuple[str, ...] | str = field(default=())
    sensitive: str = ""
    l: float = 2            # noqa: E741  (the name of the parameter in the literature)
    variant: str = "distinct"   # distinct | entropy | recursive
    c: float = 2.0

    def validate(self) -> list[str]:
        if self.variant not in ("distinct", "entropy", "recursive"):
            _bad("variant", self.variant, "distinct, entropy or recursive")
        if not self.sensitive or not isinstance(self.sensitive, str):
            _bad("sensitive", self.sensitive, "the name of the sensitive attribute's column")
        if isinstance(self.l, bool) or not isinstance(self.l, numbers.Real) or not self.l >= 1:
            _bad("l", self.l, "a number of at least 1")
        if isinstance(self.c, bool) or not isinstance(self.c, numbers.Real) or not self.c > 0:
            _bad("c", self.c, "a positive number")
        return _qi_list(self.qi)

    def params(self) -> dict:
        params = {"qi": self.validate(), "sensitive": self.sensitive, "l": self.l, "variant": self.variant}
        if self.variant == "recursive":
            params["c"] = self.c
        return params

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

    def run(self, engine, release: TableInput, *, knowledge=None, truth=None) -> AttackResult:
        qi = self.validate()
        relation, source = _table("ldiv", release, knowledge, truth).relation, release.source
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
        return _result("ldiv", self.params(), engine, t0, n, n_unique, hist, extra)


@dataclass(frozen=True, kw_only=True)
class TCloseness:
    """``qi``; ``sensitive``; ``t``: classes farther than it from the table's distribution count as
    violations (``records_above_t``: records in them / records); ``ordered``: ordered EMD (True),
    equal distance (False) or ordered when every value is a number (None; ``params()`` reports the
    choice made on the data after a run)."""

    qi: tuple[str, ...] | str = field(default=())
    sensitive: str = ""
    t: float = 0.2
    ordered: bool | None = None    # None: ordered when every sensitive value is a number

    def validate(self) -> list[str]:
        if not self.sensitive or not isinstance(self.sensitive, str):
            _bad("sensitive", self.sensitive, "the name of the sensitive attribute's column")
        if isinstance(self.t, bool) or not isinstance(self.t, numbers.Real) or not 0 <= self.t <= 1:
            _bad("t", self.t, "between 0 and 1")
        if self.ordered not in (None, True, False):
            _bad("ordered", self.ordered, "True, False or None (ordered when every value is a number)")
        return _qi_list(self.qi)

    def params(self) -> dict:
        return {"qi": self.validate(), "sensitive": self.sensitive, "t": self.t, "ordered": self.ordered}

    def run(self, engine, release: TableInput, *, knowledge=None, truth=None) -> AttackResult:
        qi = self.validate()
        relation, source = _table("tclose", release, knowledge, truth).relation, release.source
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
        return _result("tclose", dict(self.params(), ordered=ordered), engine, t0, n, int(hist.loc[hist["sz"] == 1, "records"].sum()), hist, extra)


@dataclass(frozen=True, kw_only=True)
class PopulationRisk:
    """``qi``; ``sampling_fraction``: the table's records / the population's (in (0, 1]). The
    population-uniqueness estimates are shares of the population's records."""

    qi: tuple[str, ...] | str = field(default=())
    sampling_fraction: float = 1.0

    def validate(self) -> list[str]:
        f = self.sampling_fraction
        if isinstance(f, bool) or not isinstance(f, numbers.Real) or not 0 < f <= 1:
            _bad("sampling_fraction", f, "in (0, 1]")
        return _qi_list(self.qi)

    def params(self) -> dict:
        return {"qi": self.validate(), "sampling_fraction": self.sampling_fraction}

    def run(self, engine, release: TableInput, *, knowledge=None, truth=None) -> AttackResult:
        qi = self.validate()
        relation, source = _table("risk", release, knowledge, truth).relation, release.source
        _check_columns(engine, relation, qi, source)
        t0 = time.perf_counter()
        h = _size_histogram(engine, relation, qi)
        hist = Histogram(h["sz"].to_numpy(np.int64), h["classes"].to_numpy(np.int64))
        est = population_uniqueness(hist, self.sampling_fraction)
        n = hist.n
        n_unique = int(h.loc[h["sz"] == 1, "records"].sum())
        extra = {"population_uniqueness": est, "prosecutor_risk": {"highest": 1.0 / int(h["sz"].min()),
                                                                   "average": hist.u / n}}
        return _result("risk", self.params(), engine, t0, n, n_unique, h, extra, baseline=True)
