"""Trajectory recovery from an aggregate release (Xu et al. 2017, *Trajectory Recovery From Ash*, WWW),
with the evaluation of D'Silva et al. 2024 (an open re-implementation that finds the published accuracy
optimistic): rebuild individual trajectories from nothing but the released counts per (place, time bin)
and the public coordinates of the places.

**Units.** A released count c at (place, bin) is c anonymous *units*: c people were there. Noisy counts
are rounded and clipped at 0 (a negative count is no one); suppressed cells are absent, i.e. 0. A person
seen at two places in one bin is two units of that bin. The recovery reads the counts, the places'
coordinates (projected equirectangularly to km), the bin length and the UTC offset; nothing else.

**Recovery** (Xu's three phases, generalized to totals that change between bins):

1. *Within a local day*, the units of each bin are linked to the trajectories of the day by a
   one-to-one assignment minimizing the total cost. At night (source bin's local hour in
   ``night_hours``, default 00–06) the cost is the distance from the trajectory's last place
   (*proximity*); by day it is the distance from the place extrapolated from its last two
   (``2·q_t − q_{t−1}``, *velocity*; the last place when the trajectory has no point in the bin
   before). Tie-breaks, far below any real distance: 1 m for changing place code (sector cells of one
   site share coordinates) and 1 mm for resuming a trajectory absent from the previous bin.
2. *Appearing and disappearing units* (totals that differ between bins: people without a record,
   suppression, noise) are handled, not refused: when a bin has fewer units than the day has
   trajectories, the unmatched trajectories skip the bin (they stay *dormant* at their last place
   and may resume later); when it has more, the extra units start new trajectories. The assignment
   links as many units as possible (min of the two totals), then minimizes the cost, exactly as
   a rectangular assignment of units does. It is solved per place, not per unit: units that stay at
   their trajectory's place are kept there first (exact for a metric cost: any optimal plan can be
   uncrossed into one that keeps them), and only the rest goes to ``linear_sum_assignment``.
3. *Across days*, the daily trajectories are chained by *regularity*: a one-to-one assignment
   between the chains so far and the next day's trajectories minimizing the Jensen–Shannon
   divergence of their place distributions (Xu's information gain ``H(a ∪ b) − (H(a) + H(b))/2``,
   which it equals when both days have every bin; a chain's distribution accumulates all its days).
   Chains absent from a day may be continued on a later one; surplus trajectories start new chains.

A **recovered trajectory** is one chain: at most one place per bin. ``n_trajectories`` is about the
largest number of units in one bin, so it can be below ``n_people``.

**Scoring** (the only use of the truth: ``knowledge``, the original release's events). A person's
**true trajectory** is their set of (bin, place) *points* at the aggregate's resolution (places through
``cell_to_place``, times in its bins); a person at several places in one bin has one point per
(person, bin) and any of those places matches. Recovered trajectories are matched one-to-one to people
maximizing the number of shared points (``linear_sum_assignment`` on the recovered × people overlap; a
matching that knows the truth, as in Xu and D'Silva, so ``accuracy`` is an upper bound of what an
adversary can attribute). Denominators:

* ``accuracy`` = shared points of the matched pairs / the people's true (person, bin) points (points
  in suppressed cells included: they count as missed);
* ``baseline_accuracy``: the same for trajectories drawn from the same counts without continuity
  (each bin's units given to random trajectory slots, independently per bin);
* ``unique_top2`` / ``unique_top3`` = recovered trajectories whose set of top-N places (by number
  of bins, ties by place code) no other recovered trajectory has / recovered trajectories;
* ``unique_rate`` = people whose matched trajectory is unique by top-3 / people; ``correct_rate`` =
  people whose matched trajectory holds a strict majority of their points *and* is unique by
  top-3 / people (re-identified: the adversary can single the trajectory out, and it is theirs);
  ``reidentified_top2`` the same with top-2; people left unmatched (more people than trajectories)
  count as neither. ``baseline_rate`` = 1 / people; ``anonymity_set``: the size of the top-3 class
  of each matched person's trajectory.

People = the distinct subscribers with at least one event in ``knowledge``. The one-to-one scoring
builds a dense recovered × people matrix, so it is limited to ``max_people`` people (default 3,000)
and ``max_units`` units in one bin (default 4,000); larger inputs are refused (aggregate a sample of
people, or coarser places or bins). Every random draw (tie-break order, the baseline's shuffles)
comes from ``np.random.SeedSequence(seed, spawn_key=(411,))``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ..errors import UsageError
from ..result import AttackResult
from ..rules import rule_id
from ..stats import anonymity_summary, rate
from .validation import _bad, _int_between, _is_int

SPAWN_KEY = 411
EARTH_KM = 6371.0088
CHANGE_KM = 1e-3    # tie-break: another place code at the same coordinates (sector cells of one site)
DORMANT_KM = 1e-6   # tie-break: resuming a trajectory that has no unit in the previous bin
DAY_S = 86_400


@dataclass(frozen=True)
class Recovery:
    """Recovered trajectories as points: ``traj[i]`` was at place code ``place[i]`` in local bin
    ``bin[i]`` (absolute bin number: ``(timestamp + utc offset) // time_bin_s``)."""

    traj: np.ndarray
    bin: np.ndarray
    place: np.ndarray
    n_trajectories: int
    n_units: int
    n_bins: int
    n_days: int
    link_cost_km: float
    max_units_per_bin: int


def _xy(places: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(sorted place codes, their coordinates in km on an equirectangular plane)."""
    p = places.sort_values("place")
    lat, lon = np.radians(p["lat"].to_numpy(float)), np.radians(p["lon"].to_numpy(float))
    lat0 = float(np.mean(lat)) if len(lat) else 0.0
    return p["place"].to_numpy(np.int64), np.column_stack([EARTH_KM * lon * np.cos(lat0), EARTH_KM * lat])


def link_cost(src_xy: np.ndarray, src_place: np.ndarray, src_dormant: np.ndarray, dst_place: np.ndarray,
              place_xy: np.ndarray) -> np.ndarray:
    """Cost (km) of giving each unit (column, at place index ``dst_place``) to each trajectory (row,
    predicted at ``src_xy``, last at place index ``src_place``, ``src_dormant`` when absent from the
    previous bin)."""
    dst = place_xy[dst_place]
    d = np.hypot(src_xy[:, None, 0] - dst[None, :, 0], src_xy[:, None, 1] - dst[None, :, 1])
    return d + CHANGE_KM * (src_place[:, None] != dst_place[None, :]) + DORMANT_KM * src_dormant[:, None]


def link_units(src_xy: np.ndarray, src_place: np.ndarray, src_dormant: np.ndarray, src_located: np.ndarray,
               dst_place: np.ndarray, place_xy: np.ndarray, rng: np.random.Generator | None = None
               ) -> tuple[np.ndarray, float]:
    """One linking step: a one-to-one assignment of the units of a bin (``dst_place``, one entry per
    unit) to trajectories (rows of ``src_*``) that links min(#rows, #units) of them at the least total
    ``link_cost``. ``src_located`` marks the rows predicted exactly at their last place (night,
    dormant, or zero velocity): their units at that same place are kept first, the rest is solved by
    ``linear_sum_assignment``. Returns (trajectory row of each unit, −1 for a new trajectory; cost)."""
    K, C = len(src_place), len(dst_place)
    match = np.full(C, -1, dtype=np.int64)
    if K == 0 or C == 0:
        return match, 0.0
    tie = rng.random(K) if rng is not None else np.arange(K, dtype=float)
    # 1. keep units at the place of located trajectories (active before dormant, then seeded order)
    loc = np.flatnonzero(src_located)
    loc = loc[np.lexsort((tie[loc], src_dormant[loc], src_place[loc]))]
    lp = src_place[loc]
    first = np.searchsorted(lp, lp, side="left")
    rank_src = np.arange(len(loc)) - first
    order_dst = np.argsort(dst_place, kind="stable")
    dp = dst_place[order_dst]
    rank_dst = np.arange(C) - np.searchsorted(dp, dp, side="left")
    # pair the r-th located trajectory at place p with the r-th unit at p
    kd = dp * (C + K + 1) + rank_dst
    ks = lp * (C + K + 1) + rank_src
    pos = np.searchsorted(kd, ks)
    ok = pos < C
    ok[ok] = kd[pos[ok]] == ks[ok]
    match[order_dst[pos[ok]]] = loc[ok]
    cost = float(DORMANT_KM * src_dormant[loc[ok]].sum())
    # 2. the rest: rectangular assignment of the remaining trajectories and units
    used = np.zeros(K, bool)
    used[loc[ok]] = True
    rows, cols = np.flatnonzero(~used), np.flatnonzero(match < 0)
    if len(rows) and len(cols):
        m = link_cost(src_xy[rows], src_place[rows], src_dormant[rows], dst_place[cols], place_xy)
        r, c = linear_sum_assignment(m)
        match[cols[c]] = rows[r]
        cost += float(m[r, c].sum())
    return match, cost


def _is_night(hour: float, night_hours: tuple[int, int]) -> bool:
    """Local ``hour`` within [start, end) of ``night_hours`` (wrapping past midnight when start > end)."""
    a, b = night_hours
    return a <= hour < b if a <= b else (hour >= a or hour < b)


def _recover_day(bins: np.ndarray, unit_place: list[np.ndarray], place_xy: np.ndarray, bins_per_day: int,
                 bin_s: int, night_hours, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, float]:
    """Phases 1–2 for one day: ``bins`` (increasing absolute bin numbers) with the place indices of
    their units. Returns (trajectory, bin, place index) of every point, #trajectories, link cost."""
    cap = max((len(u) for u in unit_place), default=0)
    last_p = np.full(cap, -1, np.int64)
    last_b = np.full(cap, -1, np.int64)
    prev_p = np.full(cap, -1, np.int64)
    prev_b = np.full(cap, -1, np.int64)
    K, cost = 0, 0.0
    out_t, out_b, out_p = [], [], []
    for b, units in zip(bins, unit_place):
        if K:
            lp, lb, pp, pb = last_p[:K], last_b[:K], prev_p[:K], prev_b[:K]
            active = lb == b - 1
            vel = active & (pb == b - 2) & (not _is_night(((b - 1) % bins_per_day) * bin_s / 3600, night_hours))
            pred = place_xy[lp].copy()
            pred[vel] += place_xy[lp[vel]] - place_xy[pp[vel]]
            located = ~vel | (place_xy[lp] == place_xy[np.where(pp < 0, lp, pp)]).all(axis=1)
            match, c = link_units(pred, lp, ~active, located, units, place_xy, rng)
            cost += c
        else:
            match = np.full(len(units), -1, np.int64)
        new = np.flatnonzero(match < 0)
        ids = match.copy()
        ids[new] = K + np.arange(len(new))
        old = match[match >= 0]
        prev_p[old], prev_b[old] = last_p[old], last_b[old]
        K += len(new)
        last_p[ids], last_b[ids] = units, b
        out_t.append(ids)
        out_b.append(np.full(len(units), b, np.int64))
        out_p.append(units)
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    return cat(out_t), cat(out_b), cat(out_p), K, cost


def jsd_bits(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence (bits, in [0, 1]) between every row of ``P`` and every row of ``Q``
    (place distributions): 1 − Σ over shared places of m·log m − (p/2)·log(p/2) − (q/2)·log(q/2)."""
    out = np.ones((len(P), len(Q)))
    shared = np.flatnonzero((P > 0).any(axis=0) & (Q > 0).any(axis=0))
    for k in shared:
        i, j = np.flatnonzero(P[:, k]), np.flatnonzero(Q[:, k])
        p, q = P[i, k][:, None] / 2, Q[j, k][None, :] / 2
        m = p + q
        out[np.ix_(i, j)] -= m * np.log2(m) - p * np.log2(p) - q * np.log2(q)
    return np.clip(out, 0.0, 1.0)


def _chain_days(day_hists: list[np.ndarray]) -> list[np.ndarray]:
    """Phase 3: the chain of every daily trajectory (one array per day)."""
    chains = None
    out = []
    for H in day_hists:
        if chains is None or not len(chains):
            ids = np.arange(len(H), dtype=np.int64) + (0 if chains is None else len(chains))
            chains = H.astype(float) if chains is None else np.vstack([chains, H])
            out.append(ids)
            continue
        ids = np.full(len(H), -1, np.int64)
        if len(H):
            P = chains / chains.sum(axis=1, keepdims=True)
            Q = H / H.sum(axis=1, keepdims=True)
            r, c = linear_sum_assignment(jsd_bits(P, Q))
            ids[c] = r
            chains[r] += H[c]
            new = np.flatnonzero(ids < 0)
            ids[new] = len(chains) + np.arange(len(new))
            chains = np.vstack([chains, H[new]])
        out.append(ids)
    return out


def unit_counts(presence: pd.DataFrame) -> np.ndarray:
    """The released counts as whole units: rounded, clipped at 0."""
    return np.clip(np.rint(presence["users"].to_numpy(float)), 0, None).astype(np.int64)


def recover(presence: pd.DataFrame, places: pd.DataFrame, *, time_bin_s: int, utc_offset_h: float,
            night_hours: tuple[int, int] = (0, 6), seed: int = 0, max_units: int | None = None) -> Recovery:
    """Xu et al.'s recovery from ``presence`` (place, timestamp = bin start UTC, users) and ``places``
    (place, lat, lon) alone. See the module docstring."""
    codes, xy = _xy(places)
    pres = presence[["place", "timestamp"]].assign(c=unit_counts(presence))
    pres = pres[pres["c"] > 0]
    pidx = np.searchsorted(codes, pres["place"].to_numpy(np.int64))
    if len(pidx) and (pidx.max() >= len(codes) or (codes[np.minimum(pidx, len(codes) - 1)]
                                                   != pres["place"].to_numpy(np.int64)).any()):
        raise UsageError("The aggregate has counts at places missing from its places table.")
    off = int(round(utc_offset_h * 3600))
    absb = (pres["timestamp"].to_numpy(np.int64) + off) // time_bin_s
    cnt = pres["c"].to_numpy(np.int64)
    ss = np.random.SeedSequence(seed, spawn_key=(SPAWN_KEY,))
    rng = np.random.default_rng(ss.spawn(1)[0])
    # units: place index repeated by count, ordered by bin
    order = np.lexsort((pidx, absb))
    ub, up = np.repeat(absb[order], cnt[order]), np.repeat(pidx[order], cnt[order])
    bpd = DAY_S // time_bin_s
    per_bin_b, starts = np.unique(ub, return_index=True)
    per_bin_n = np.diff(np.append(starts, len(ub)))
    biggest = int(per_bin_n.max()) if len(per_bin_n) else 0
    if max_units is not None and biggest > max_units:
        raise UsageError(f"Parameter `max_units` is {max_units}: the aggregate has a bin with {biggest} units "
                         "(its assignments need a dense matrix of that size). Use coarser places or bins, or "
                         "raise `max_units`.")
    groups = np.split(up, starts[1:]) if len(ub) else []
    days = per_bin_b // bpd
    T, B, Pl, hists, link = [], [], [], [], 0.0
    day_ids = np.unique(days)
    for d in day_ids:
        sel = np.flatnonzero(days == d)
        t, b, p, k, c = _recover_day(per_bin_b[sel], [groups[i] for i in sel], xy, bpd, time_bin_s,
                                     night_hours, rng)
        link += c
        H = np.zeros((k, len(codes)))
        np.add.at(H, (t, p), 1.0)
        T.append(t)
        B.append(b)
        Pl.append(p)
        hists.append(H)
    chain = _chain_days(hists)
    traj = np.concatenate([ch[t] for ch, t in zip(chain, T)]) if T else np.zeros(0, np.int64)
    n_traj = int(max((ch.max() + 1 for ch in chain if len(ch)), default=0))
    n_bins = int(per_bin_b.max() - per_bin_b.min() + 1) if len(per_bin_b) else 0
    return Recovery(traj=traj, bin=np.concatenate(B) if B else np.zeros(0, np.int64),
                    place=codes[np.concatenate(Pl)] if Pl else np.zeros(0, np.int64), n_trajectories=n_traj,
                    n_units=int(cnt.sum()), n_bins=n_bins, n_days=int(len(day_ids)), link_cost_km=link,
                    max_units_per_bin=biggest)


def shuffled(presence: pd.DataFrame, *, time_bin_s: int, utc_offset_h: float, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The baseline: the same units without continuity — each bin's units given to distinct random
    slots among max-units-per-bin slots, independently per bin. Returns (slot, bin, place code, #slots)."""
    cnt = unit_counts(presence)
    off = int(round(utc_offset_h * 3600))
    absb = (presence["timestamp"].to_numpy(np.int64) + off) // time_bin_s
    ub = np.repeat(absb, cnt)
    up = np.repeat(presence["place"].to_numpy(np.int64), cnt)
    order = np.argsort(ub, kind="stable")
    ub, up = ub[order], up[order]
    bins, starts, n = np.unique(ub, return_index=True, return_counts=True)
    slots = int(n.max()) if len(n) else 0
    slot = np.empty(len(ub), np.int64)
    for s, k in zip(starts, n):
        slot[s:s + k] = rng.permutation(slots)[:k]
    return slot, ub, up, slots


def _true_points(knowledge, release) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(person index, absolute bin, place code or −1) of every distinct true (person, bin, place)."""
    o = knowledge.events
    off = int(round(release.utc_offset_h * 3600))
    cell = o["place"].to_numpy(dtype="float64", na_value=np.nan)
    place = np.full(len(o), -1, np.int64)
    ok = ~np.isnan(cell)
    mapped = release.cell_to_place.reindex(cell[ok].astype(np.int64)).to_numpy(float)
    place[np.flatnonzero(ok)[~np.isnan(mapped)]] = mapped[~np.isnan(mapped)].astype(np.int64)
    df = pd.DataFrame({"u": o["subscriber_id"].to_numpy(np.int64),
                       "b": (o["timestamp"].to_numpy(np.int64) + off) // int(release.time_bin_s),
                       "p": place}).drop_duplicates()
    users, uidx = np.unique(df["u"].to_numpy(), return_inverse=True)
    return uidx.astype(np.int64), df["b"].to_numpy(np.int64), df["p"].to_numpy(np.int64), int(len(users))


def overlap_matrix(rec_traj, rec_bin, rec_place, n_rec, true_u, true_bin, true_place, n_people) -> np.ndarray:
    """Shared (bin, place) points of every recovered trajectory (rows) with every person (columns)."""
    if n_rec == 0 or n_people == 0 or not len(rec_bin) or not len(true_bin):
        return np.zeros((n_rec, n_people), np.int64)
    b0 = min(int(rec_bin.min()), int(true_bin.min()))
    width = int(max(rec_place.max(), true_place.max())) + 2
    t_key = (true_bin - b0) * width + (true_place + 1)
    r_key = (rec_bin - b0) * width + (rec_place + 1)
    o = np.argsort(t_key, kind="stable")
    t_key, t_u = t_key[o], true_u[o]
    lo, hi = np.searchsorted(t_key, r_key, "left"), np.searchsorted(t_key, r_key, "right")
    n = hi - lo
    idx = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
    flat = np.repeat(rec_traj, n) * n_people + t_u[idx]
    return np.bincount(flat, minlength=n_rec * n_people).reshape(n_rec, n_people)


def top_classes(traj: np.ndarray, place: np.ndarray, n_traj: int, n: int) -> np.ndarray:
    """Size of each trajectory's class: the trajectories with the same set of top-``n`` places
    (by number of points, ties by place code)."""
    pairs, cnt = np.unique(np.stack([traj, place], axis=1), axis=0, return_counts=True)
    o = np.lexsort((pairs[:, 1], -cnt, pairs[:, 0]))
    pairs = pairs[o]
    rank = np.arange(len(pairs)) - np.searchsorted(pairs[:, 0], pairs[:, 0], "left")
    keep = pairs[rank < n]
    keep = keep[np.lexsort((keep[:, 1], keep[:, 0]))]
    col = np.arange(len(keep)) - np.searchsorted(keep[:, 0], keep[:, 0], "left")
    sig = np.full((n_traj, n), -1, np.int64)
    sig[keep[:, 0], col] = keep[:, 1]
    _, inv, size = np.unique(sig, axis=0, return_inverse=True, return_counts=True)
    return size[inv.ravel()]


def _match(overlap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(recovered row, person column) pairs of the one-to-one matching with the most shared points."""
    if overlap.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    r, c = linear_sum_assignment(overlap, maximize=True)
    return r, c


@dataclass(frozen=True, kw_only=True)
class TrajectoryRecovery:
    night_hours: tuple[int, int] = (0, 6)
    max_people: int = 3000
    max_units: int = 4000
    seed: int = 0

    def validate(self) -> None:
        nh = self.night_hours
        if (not isinstance(nh, (tuple, list)) or len(nh) != 2 or not all(_is_int(h) and 0 <= h <= 24 for h in nh)):
            _bad("night_hours", nh, "two whole hours (start, end) between 0 and 24, e.g. (0, 6)")
        _int_between("max_people", self.max_people, 1)
        _int_between("max_units", self.max_units, 1)
        _int_between("seed", self.seed, 0, allowed="a non-negative integer")

    def params(self) -> dict:
        return {"night_hours": list(self.night_hours), "max_people": self.max_people, "max_units": self.max_units,
                "seed": self.seed}

    def run(self, engine, release, *, knowledge=None, truth=None) -> AttackResult:
        """``release``: the aggregate ``Release`` (``presence``, ``places``, ``cell_to_place``,
        ``time_bin_s``, ``utc_offset_h``); ``knowledge``: the original ``Release`` (true events), read
        only to score. ``engine`` and ``truth`` are not used (numpy)."""
        self.validate()
        if getattr(release, "presence", None) is None:
            raise UsageError("Trajectory recovery needs an aggregate release (presence counts per place and "
                             "time bin); this release has none.")
        if knowledge is None or getattr(knowledge, "events", None) is None:
            raise UsageError("Parameter `knowledge` must be the original release (the people's true events), "
                             "used only to score the recovery. Got None instead.")
        if release.places is None or not {"place", "lat", "lon"} <= set(release.places.columns):
            raise UsageError("Trajectory recovery needs the places' coordinates (place, lat, lon).")
        bin_s = release.time_bin_s
        if not _is_int(bin_s) or bin_s <= 0 or DAY_S % int(bin_s):
            raise UsageError(f"Trajectory recovery needs time bins that divide a day (15min … 1d). "
                             f"Got {bin_s!r} s instead.")
        bin_s = int(bin_s)
        t0 = time.perf_counter()
        true_u, true_b, true_p, n_people = _true_points(knowledge, release)
        if n_people > self.max_people:
            raise UsageError(f"Parameter `max_people` is {self.max_people}: the original release has "
                             f"{n_people} people, and the one-to-one scoring needs a dense recovered × people "
                             "matrix. Aggregate a sample of people, or raise `max_people`.")
        rec = recover(release.presence, release.places, time_bin_s=bin_s, utc_offset_h=release.utc_offset_h,
                      night_hours=tuple(self.night_hours), seed=self.seed, max_units=self.max_units)
        t_rec = time.perf_counter() - t0
        # the people's true points: one per (person, bin)
        ub = np.unique(np.stack([true_u, true_b], axis=1), axis=0)
        n_points = int(len(ub))
        pts_per = np.bincount(ub[:, 0], minlength=n_people)
        ov = overlap_matrix(rec.traj, rec.bin, rec.place, rec.n_trajectories, true_u, true_b, true_p, n_people)
        r, c = _match(ov)
        hits = ov[r, c]
        base_rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(SPAWN_KEY,)).spawn(2)[1])
        bs, bb, bp, nb = shuffled(release.presence, time_bin_s=bin_s, utc_offset_h=release.utc_offset_h,
                                  rng=base_rng)
        bov = overlap_matrix(bs, bb, bp, nb, true_u, true_b, true_p, n_people)
        br, bc = _match(bov)
        bhits = bov[br, bc]
        # uniqueness of the recovered trajectories and the people re-identified
        size2 = top_classes(rec.traj, rec.place, rec.n_trajectories, 2) if rec.n_trajectories else np.zeros(0, int)
        size3 = top_classes(rec.traj, rec.place, rec.n_trajectories, 3) if rec.n_trajectories else np.zeros(0, int)
        majority = 2 * hits > pts_per[c]
        n_unique = int((size3[r] == 1).sum())
        n_correct = int((majority & (size3[r] == 1)).sum())
        n_correct2 = int((majority & (size2[r] == 1)).sum())
        bsize3 = top_classes(bs, bp, nb, 3) if nb else np.zeros(0, int)
        b_correct = int(((2 * bhits > pts_per[bc]) & (bsize3[br] == 1)).sum())
        vals, cnt = np.unique(size3[r], return_counts=True)
        elapsed = round(time.perf_counter() - t0, 3)
        return AttackResult(
            attack="recovery", rule_id=rule_id("recovery"), engine="python", seed=self.seed,
            params={**self.params(), "time_bin_s": bin_s, "space": release.space},
            n_targets=n_people, n_skipped=0, n_unique=n_unique, n_correct=n_correct,
            unique_rate=rate(n_unique, n_people), correct_rate=rate(n_correct, n_people),
            anonymity_set=anonymity_summary(vals, cnt) if len(vals) else None, elapsed_s=elapsed,
            n_candidates=n_people, baseline_rate=AttackResult.baseline(n_people),
            extra={"accuracy": rate(int(hits.sum()), n_points), "baseline_accuracy": rate(int(bhits.sum()), n_points),
                   "unique_top2": rate(int((size2 == 1).sum()), rec.n_trajectories),
                   "unique_top3": rate(int((size3 == 1).sum()), rec.n_trajectories),
                   "reidentified_top2": rate(n_correct2, n_people),
                   "baseline_reidentified": rate(b_correct, n_people),
                   "n_units": rec.n_units, "n_people": n_people, "n_points": n_points, "n_bins": rec.n_bins,
                   "n_days": rec.n_days, "n_trajectories": rec.n_trajectories,
                   "max_units_per_bin": rec.max_units_per_bin, "n_people_unmatched": int(n_people - len(c)),
                   "link_cost_km": round(rec.link_cost_km, 3), "recovery_s": round(t_rec, 3),
                   "elapsed_s": elapsed, "person_level_rows": 0})
