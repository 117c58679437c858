"""Linkage attack: an outsider's auxiliary table (names with a few public facts) against a release.

Each auxiliary record is a *target*. Its candidates are the release records compatible with every
quasi-identifier (QI) the target has a value for:

* equal values match;
* a release value that is a range ``lo-hi`` (e.g. an age band ``30-39``) matches a number in it
  (generalization-aware: an exact age matches its band);
* a suppressed release value (``*``) matches anything, and so does a target's missing value
  (the adversary does not know it).

A target is **unique** when exactly one release record is compatible; with a truth map (release
``pid`` → true id) and the targets' true ids, it is **correctly** re-identified when that record is
theirs. Targets with no compatible record (noise in the auxiliary data, or people not in the release)
are counted in ``n_no_match``. Rates are over all targets, with 95% Wilson intervals.

**Baseline**: the candidates are the release's records (``n_candidates``); a random guess among
them is the target's record with probability ``baseline_rate = 1 / records``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError, UsageError
from ..result import AttackResult
from ..rules import rule_id
from ..stats import anonymity_summary, rate
from .validation import _bad, _qi_list

_RANGE = re.compile(r"^\s*\[?\s*(-?\d+(?:\.\d+)?)\s*(?:-|,|–)\s*(-?\d+(?:\.\d+)?)\s*[\])]?\s*$")


def _range_bounds(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(len(values), np.nan)
    hi = np.full(len(values), np.nan)
    for i, v in enumerate(values.astype("string").fillna("").tolist()):
        m = _RANGE.match(v)
        if m:
            lo[i], hi[i] = float(m.group(1)), float(m.group(2))
    return lo, hi


@dataclass(frozen=True, kw_only=True)
class Linkage:
    """``qi``: the shared QI columns (same names in both tables); ``release_id``: the release's
    pseudonym column; ``target_id``: the auxiliary table's identity column (e.g. a name or a true id).

    ``run(engine, release, *, knowledge, truth=None)``: ``release`` is the released table and
    ``knowledge`` the adversary's auxiliary table (both DataFrames, one record per row); ``truth``
    (columns ``pid`` and ``uid``) scores correctness, comparing ``target_id`` values with ``uid``.
    """

    qi: tuple[str, ...] | str = field(default=())
    release_id: str = "pid"
    target_id: str = "subscriber_id"

    def validate(self) -> list[str]:
        """The shared QI columns, checked; raises ``UsageError``."""
        for name in ("release_id", "target_id"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                _bad(name, getattr(self, name), "a column name")
        return _qi_list(self.qi)

    def params(self) -> dict:
        return {"qi": self.validate(), "release_id": self.release_id, "target_id": self.target_id}

    def run(self, engine, release: pd.DataFrame, *, knowledge: pd.DataFrame | None = None,
            truth: pd.DataFrame | None = None) -> AttackResult:
        qi = self.validate()
        if knowledge is None:
            raise UsageError("Parameter `knowledge` must be the adversary's auxiliary table. Got None instead.")
        auxiliary = knowledge
        t0 = time.perf_counter()
        for name, df, cols in (("release", release, qi + [self.release_id]),
                               ("auxiliary", auxiliary, qi + [self.target_id])):
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise InputError(f"The {name} table has no column '{missing[0]}'.")
        rel = pd.DataFrame({"rid": np.arange(len(release), dtype=np.int64),
                            "pid": release[self.release_id].astype("string").reset_index(drop=True)})
        aux = pd.DataFrame({"tid": np.arange(len(auxiliary), dtype=np.int64),
                            "who": auxiliary[self.target_id].astype("string").reset_index(drop=True)})
        conds = []
        for i, col in enumerate(qi):
            # Series (not numpy arrays) so that missing values reach the engine as NULL.
            rel[f"t{i}"] = release[col].astype("string").reset_index(drop=True)
            rel[f"lo{i}"], rel[f"hi{i}"] = _range_bounds(release[col])
            aux[f"t{i}"] = auxiliary[col].astype("string").reset_index(drop=True)
            aux[f"n{i}"] = pd.to_numeric(auxiliary[col], errors="coerce").to_numpy(float)
            conds.append(f"(a.t{i} IS NULL OR r.t{i} = '*' OR r.t{i} = a.t{i} "
                         f"OR (r.lo{i} IS NOT NULL AND a.n{i} >= r.lo{i} AND a.n{i} <= r.hi{i}))")
        engine.register("__rel", rel)
        engine.register("__aux", aux)
        with_truth = truth is not None
        if with_truth:
            engine.register("__truth", pd.DataFrame({"pid": truth["pid"].astype("string"),
                                                     "uid": truth["uid"].astype("string")}))
        engine.register("__cand", f"""
            SELECT a.tid AS tid, COUNT(*) AS sz, MIN(r.pid) AS pid
            FROM __aux a JOIN __rel r ON {' AND '.join(conds)}
            GROUP BY a.tid""")
        correct = "CASE WHEN c.sz = 1 AND tr.uid = a.who THEN 1 ELSE 0 END" if with_truth else "0"
        join = "LEFT JOIN __truth tr ON tr.pid = c.pid" if with_truth else ""
        sizes = engine.query(f"""
            SELECT sz AS size, COUNT(*) AS n, SUM(correct) AS correct FROM (
              SELECT a.tid, COALESCE(c.sz, 0) AS sz, {correct} AS correct
              FROM __aux a LEFT JOIN __cand c ON c.tid = a.tid {join}) x
            GROUP BY sz ORDER BY sz""").fillna(0)
        for name in ("__cand", "__rel", "__aux", "__truth"):
            engine.drop(name)
        size, count = sizes["size"].to_numpy(np.int64), sizes["n"].to_numpy(np.int64)
        n = int(count.sum())
        n_unique = int(count[size == 1].sum())
        n_correct = int(sizes["correct"].sum()) if with_truth else None
        found = size > 0
        return AttackResult(
            attack="linkage", rule_id=rule_id("linkage"), engine=engine.name, seed=None,
            params=dict(self.params(), release_rows=len(release), auxiliary_rows=len(auxiliary)),
            n_candidates=len(release), baseline_rate=AttackResult.baseline(len(release)),
            n_targets=n, n_skipped=0, n_unique=n_unique, n_correct=n_correct,
            unique_rate=rate(n_unique, n), correct_rate=rate(n_correct, n) if with_truth else None,
            anonymity_set=anonymity_summary(size[found], count[found]) if found.any() else None,
            elapsed_s=round(time.perf_counter() - t0, 3), extra={"n_no_match": int(count[~found].sum())})
