"""Aggregate exposure: singling people out of a released aggregate (presence counts per place and
time bin) with a few of their true points.

The adversary knows ``points`` of a target's distinct (place, time bin) cells, expressed at the
aggregate's resolution (places through its generalization map, times in its bins). The target's
**anonymity set** is bounded by the smallest released count among those cells (at most that many
people were there at all of them); a suppressed cell tells nothing. A target is **unique** when
that count is 1 — then the count's single person *is* the target, so ``n_correct = n_unique``.

Targets: ``targets`` users (or ``"all"``) drawn with a seeded generator among the original users;
their known cells uniformly among their distinct cells. Targets with fewer than ``points`` distinct
cells are counted in ``n_skipped``; targets all of whose known cells are suppressed in
``n_no_match`` (scored, not unique). ``unique_rate`` = unique targets / scored targets;
``baseline_rate`` = 1 / users of the original population (a blind guess of who it is).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..result import AttackResult
from ..rules import rule_id
from ..stats import anonymity_summary, rate
from .trajectory import MAX_POINTS
from .validation import _int_between, _targets


@dataclass(frozen=True, kw_only=True)
class AggregateExposure:
    points: int = 4
    targets: int | str | None = 5000
    seed: int = 0

    def validate(self) -> None:
        _int_between("points", self.points, 1, MAX_POINTS)
        _int_between("seed", self.seed, 0, allowed="a non-negative integer")
        _targets(self.targets)

    def params(self) -> dict:
        return {"points": self.points, "targets": self.targets, "seed": self.seed}

    def run(self, engine, release, *, knowledge=None, truth=None) -> AttackResult:
        """``release``: the aggregate ``Release`` (``presence`` with place, timestamp, users;
        ``cell_to_place``, ``time_bin_s``, ``space``); ``knowledge``: the original ``Release`` whose
        events the adversary draws from. ``engine`` and ``truth`` are not used (pandas; a unique
        count identifies its person)."""
        from ..anonymize.generalize import bin_start

        self.validate()
        if knowledge is None:
            raise UsageError("Parameter `knowledge` must be the original release (the people's true events). "
                             "Got None instead.")
        orig, rel, points, seed = knowledge, release, self.points, self.seed
        t0 = time.perf_counter()
        o = orig.events
        cells = pd.DataFrame({"u": o["subscriber_id"].to_numpy(),
                              "place": rel.cell_to_place.reindex(o["place"].to_numpy(np.int64)).to_numpy(np.int64),
                              "timestamp": bin_start(o["timestamp"].to_numpy(), rel.time_bin_s, rel.utc_offset_h)})
        cells = cells.drop_duplicates().sort_values(["u", "place", "timestamp"]).reset_index(drop=True)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(301,)))
        users = np.unique(cells["u"].to_numpy())
        n_targets = _targets(self.targets)
        n = len(users) if n_targets is None else min(n_targets, len(users))
        chosen = np.sort(rng.choice(users, size=n, replace=False))
        sel = cells[cells["u"].isin(chosen)].assign(_r=lambda d: rng.random(len(d)))
        sel = sel.sort_values(["u", "_r"])
        sel["k"] = sel.groupby("u").cumcount()
        n_pts = sel.groupby("u").size()
        eligible = n_pts.index[n_pts >= points]
        known = sel[(sel["k"] < points) & sel["u"].isin(eligible)]
        counts = rel.presence.set_index(["place", "timestamp"])["users"]
        c = counts.reindex(pd.MultiIndex.from_arrays([known["place"], known["timestamp"]])).to_numpy(float)
        size = pd.Series(np.where(np.isnan(c), np.inf, c)).groupby(known["u"].to_numpy()).min()
        finite = size[np.isfinite(size)].astype(np.int64)
        vals, cnt = np.unique(finite.to_numpy(), return_counts=True)
        n_unique = int((finite == 1).sum())
        return AttackResult(
            attack="aggregate-exposure", rule_id=rule_id("aggregate-exposure"), engine="python", seed=seed,
            params={"points": points, "targets": self.targets, "time_bin_s": rel.time_bin_s, "space": rel.space},
            n_targets=int(len(size)), n_skipped=int(n - len(size)), n_unique=n_unique, n_correct=n_unique,
            unique_rate=rate(n_unique, int(len(size))), correct_rate=rate(n_unique, int(len(size))),
            anonymity_set=anonymity_summary(vals, cnt) if len(vals) else None,
            elapsed_s=round(time.perf_counter() - t0, 3), n_candidates=int(len(users)),
            baseline_rate=AttackResult.baseline(int(len(users))),
            extra={"n_no_match": int((~np.isfinite(size)).sum()), "person_level_rows": 0})
