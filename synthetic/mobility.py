"""Mobility: home/work anchors, a daily and weekly rhythm, and d-EPR exploration between them.

The model (REFERENCES.md, "EPR mobility model"; TimeGeo-like scheduling):

* Time advances in slots of ``SLOT_S`` seconds (30 min) of *local* time; slot 0 starts at local
  midnight of the first day. The result is ``loc[agent, slot]``: the cell index the agent is in,
  or ``-1`` while abroad.
* Each agent has a daily rhythm: asleep at home between a personal bedtime and wake-up time
  (jittered per day); workers are at their work cell during personal working hours on workdays
  (Monday–Friday; Saturday for about half of them; Sunday off); the rest is free time.
* In free time the agent stays at a place for a waiting time drawn from
  P(Δt) ∝ Δt^(−1−β)·e^(−Δt/τ) (β = 0.8, τ = 17 h, Δt ≥ 30 min), then moves: with probability
  ρ·S^(−γ) (ρ = 0.6, γ = 0.21, S = distinct places so far) it explores a cell chosen by the d-EPR
  gravity kernel n_j / r_ij^α from its current cell; otherwise it returns to a place drawn with
  probability proportional to its past visits (home and work visits included), implemented as
  copying the place of a uniformly random earlier visit (a Pólya urn).
* Everything is vectorized across the agents of a block; the only Python loop runs over slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geography import Geography, haversine_km, to_unit_xyz

SLOT_S = 1800
SLOTS_PER_DAY = 86_400 // SLOT_S

# EPR parameters (Song et al. 2010).
RHO, GAMMA = 0.6, 0.21
WAIT_BETA, WAIT_TAU_H, WAIT_MIN_H = 0.8, 17.0, 0.5
#: Exponent of distance in the gravity kernel n_j / r^alpha (d-EPR uses 2).
GRAVITY_ALPHA = 3.5
#: Distance floor (km) in the kernel, so that sectors of one site are not infinitely attractive.
GRAVITY_R0_KM = 0.5
#: Number of nearest sites whose cells form the exact part of the kernel.
KERNEL_SITES = 24
#: Most free-time visits kept per agent for preferential return.
MAX_URN = 2048


@dataclass(frozen=True)
class GravityKernel:
    """d-EPR destination sampler over cells: exact over the cells of the ``KERNEL_SITES`` nearest
    sites, district-level beyond (a district chosen ∝ weight / distance^α, then a cell in it ∝ n_j)."""

    near_cells: np.ndarray   # [C, K] cell indices
    near_cum: np.ndarray     # [C, K] cumulative probabilities (last = 1)
    p_far: np.ndarray        # [C] probability of a district-level jump
    far_cum: np.ndarray      # [C, D] cumulative probabilities over districts
    district_cells: list     # per district: cell indices
    district_cum: list       # per district: cumulative probabilities over its cells

    @classmethod
    def build(cls, geo: Geography, weight: np.ndarray, alpha: float = GRAVITY_ALPHA) -> "GravityKernel":
        cells = geo.cells
        n_cells = len(cells)
        sectors = n_cells // geo.n_sites
        k_sites = min(KERNEL_SITES, geo.n_sites)
        _, nn = geo.tree.query(to_unit_xyz(geo.site_lat, geo.site_lon), k=k_sites)
        nn = nn.reshape(geo.n_sites, k_sites)
        near_sites = nn[cells["site_id"].to_numpy()]                        # [C, k_sites]
        near_cells = (near_sites[:, :, None] * sectors + np.arange(sectors)).reshape(n_cells, -1)
        site_of = cells["site_id"].to_numpy()
        r = haversine_km(geo.site_lat[site_of][:, None], geo.site_lon[site_of][:, None],
                         geo.site_lat[near_cells // sectors], geo.site_lon[near_cells // sectors])
        # Distance floor: the spacing to the nearest other site (sectors of one site are not closer
        # to each other than the local network spacing), at least GRAVITY_R0_KM.
        spacing = np.where(r > 0, r, np.inf).min(axis=1)
        floor = np.maximum(np.where(np.isfinite(spacing), spacing, GRAVITY_R0_KM), GRAVITY_R0_KM)
        w = weight[near_cells] / np.maximum(r, floor[:, None]) ** alpha
        w[near_cells == np.arange(n_cells)[:, None]] = 0.0  # exploring means leaving the cell
        near_mass = w.sum(axis=1)
        # District level: every district other than the cell's own.
        d_of_cell = geo.site_district[site_of]
        n_d = len(geo.districts)
        d_weight = np.bincount(d_of_cell, weights=weight, minlength=n_d)
        rd = haversine_km(geo.site_lat[site_of][:, None], geo.site_lon[site_of][:, None],
                          geo.districts["lat"].to_numpy()[None, :], geo.districts["lon"].to_numpy()[None, :])
        wd = d_weight[None, :] / np.maximum(rd, floor[:, None]) ** alpha
        wd[np.arange(n_cells), d_of_cell] = 0.0
        far_mass = wd.sum(axis=1)
        total = near_mass + far_mass
        p_far = np.where(total > 0, far_mass / np.where(total > 0, total, 1), 0.0)
        near_cum = np.cumsum(w, axis=1) / np.where(near_mass > 0, near_mass, 1)[:, None]
        near_cum[:, -1] = 1.0
        far_cum = np.cumsum(wd, axis=1) / np.where(far_mass > 0, far_mass, 1)[:, None]
        far_cum[:, -1] = 1.0
        district_cells, district_cum = [], []
        for d in range(n_d):
            idx = np.flatnonzero(d_of_cell == d)
            district_cells.append(idx)
            cw = np.cumsum(weight[idx]) if len(idx) else np.array([])
            district_cum.append(cw / cw[-1] if len(idx) else cw)
        # A district with no cell cannot be a destination.
        empty = np.array([len(x) == 0 for x in district_cells])
        if empty.any():
            wd[:, empty] = 0.0
            far_mass = wd.sum(axis=1)
            p_far = np.where(near_mass + far_mass > 0, far_mass / np.maximum(near_mass + far_mass, 1e-300), 0)
            far_cum = np.cumsum(wd, axis=1) / np.where(far_mass > 0, far_mass, 1)[:, None]
            far_cum[:, -1] = 1.0
        return cls(near_cells.astype(np.int64), near_cum, p_far, far_cum, district_cells, district_cum)

    def sample(self, rng: np.random.Generator, origin: np.ndarray) -> np.ndarray:
        """One gravity destination (cell index) for each origin cell index."""
        n = len(origin)
        out = np.empty(n, dtype=np.int64)
        far = rng.random(n) < self.p_far[origin]
        u = rng.random(n)
        near = ~far
        if near.any():
            o = origin[near]
            j = (self.near_cum[o] < u[near, None]).sum(axis=1)
            out[near] = self.near_cells[o, np.minimum(j, self.near_cells.shape[1] - 1)]
        if far.any():
            o = origin[far]
            d = (self.far_cum[o] < u[far, None]).sum(axis=1)
            d = np.minimum(d, self.far_cum.shape[1] - 1)
            v = rng.random(int(far.sum()))
            res = np.empty(len(o), dtype=np.int64)
            for dd in np.unique(d):
                sel = d == dd
                cum = self.district_cum[dd]
                res[sel] = self.district_cells[dd][np.minimum(np.searchsorted(cum, v[sel]), len(cum) - 1)]
            out[far] = res
        return out


def waiting_slots(rng: np.random.Generator, n: int) -> np.ndarray:
    """Stay durations in slots from P(Δt) ∝ Δt^(−1−β) e^(−Δt/τ), Δt ≥ WAIT_MIN_H (rejection sampling)."""
    out = np.empty(n)
    todo = np.arange(n)
    while len(todo):
        dt = WAIT_MIN_H * rng.random(len(todo)) ** (-1.0 / WAIT_BETA)
        ok = rng.random(len(todo)) < np.exp(-(dt - WAIT_MIN_H) / WAIT_TAU_H)
        out[todo[ok]] = dt[ok]
        todo = todo[~ok]
    return np.maximum(1, np.ceil(out * 3600 / SLOT_S)).astype(np.int64)


@dataclass(frozen=True)
class Rhythm:
    """Per-agent, per-day schedule in local hours (arrays [agents, days])."""

    wake: np.ndarray
    sleep: np.ndarray       # may exceed 24 (after midnight)
    work_start: np.ndarray
    work_end: np.ndarray
    works: np.ndarray       # bool: a working day for this agent


def draw_rhythm(rng: np.random.Generator, n: int, days: int, first_weekday: int,
                has_work: np.ndarray) -> Rhythm:
    """Daily rhythm; ``first_weekday`` 0 = Monday (local date of slot 0)."""
    wake0 = np.clip(rng.normal(6.5, 1.0, n), 4.0, 10.0)
    sleep0 = np.clip(rng.normal(23.3, 1.0, n), 20.5, 26.5)
    ws0 = np.clip(rng.normal(9.0, 1.2, n), 6.0, 13.0)
    wl0 = np.clip(rng.normal(8.5, 1.5, n), 4.0, 12.0)
    sat = rng.random(n) < 0.5
    jit = lambda s: rng.normal(0.0, s, (n, days))  # noqa: E731
    weekday = (first_weekday + np.arange(days)) % 7
    workday = np.where(weekday[None, :] < 5, True, np.where(weekday[None, :] == 5, sat[:, None], False))
    absent = rng.random((n, days)) < 0.05
    wake = wake0[:, None] + jit(0.5) + np.where(weekday[None, :] >= 5, 1.0, 0.0)
    sleep = sleep0[:, None] + jit(0.5) + np.where(weekday[None, :] == 4, 0.5, 0.0)
    work_start = ws0[:, None] + jit(0.4)
    work_start = np.maximum(work_start, wake + 0.5)
    work_end = np.minimum(work_start + wl0[:, None] + jit(0.5), sleep - 1.0)
    return Rhythm(wake, sleep, work_start, work_end, has_work[:, None] & workday & ~absent)


def simulate(rng: np.random.Generator, kernel: GravityKernel, home: np.ndarray, work: np.ndarray,
             rhythm: Rhythm, days: int, abroad_from: np.ndarray, abroad_to: np.ndarray,
             max_visits: int | None = None) -> np.ndarray:
    """Location of each agent in each slot: ``loc[agent, slot]`` (cell index, −1 abroad).

    ``work`` is −1 for agents without a work anchor; ``abroad_from``/``abroad_to`` are slot indices
    (half-open) of the one trip abroad an agent may make in the window (from = to for none).
    """
    n = len(home)
    T = days * SLOTS_PER_DAY
    loc = np.empty((n, T), dtype=np.int32)
    # The urn keeps the first H free-time visits; past that it is left as it is (a long window's urn
    # has long converged), which bounds memory at n × H int32.
    H = max_visits or min(days * 16 + 8, MAX_URN)
    hist = np.full((n, H), -1, dtype=np.int32)
    hist[:, 0] = home
    has_work = work >= 0
    hist[has_work, 1] = work[has_work]
    hcount = np.where(has_work, 2, 1).astype(np.int64)
    distinct = hcount.copy()
    cur = home.astype(np.int64).copy()
    stay_end = np.zeros(n, dtype=np.int64)
    prev_mode = np.zeros(n, dtype=np.int8)  # 0 home-night, 1 work, 2 free, 3 abroad
    for s in range(T):
        day, h = divmod(s, SLOTS_PER_DAY)
        hour = (h + 0.5) * SLOT_S / 3600.0
        # Awake from today's wake-up to today's bedtime, or still up after midnight from yesterday.
        awake = (hour >= rhythm.wake[:, day]) & (hour < rhythm.sleep[:, day])
        if day > 0:
            awake |= hour < rhythm.sleep[:, day - 1] - 24.0
        at_work = rhythm.works[:, day] & (hour >= rhythm.work_start[:, day]) & (hour < rhythm.work_end[:, day])
        abroad = (s >= abroad_from) & (s < abroad_to)
        mode = np.where(abroad, 3, np.where(~awake, 0, np.where(at_work & has_work, 1, 2))).astype(np.int8)
        new = cur.copy()
        new[mode == 0] = home[mode == 0]
        new[mode == 1] = work[mode == 1]
        new[mode == 3] = -1
        free = mode == 2
        # Entering free time: from work (or back from abroad) leave at once; after waking, stay a while.
        entering = free & (prev_mode != 2)
        leave_now = entering & (prev_mode != 0)
        if entering.any():
            stay_end[entering & ~leave_now] = s + waiting_slots(rng, int((entering & ~leave_now).sum()))
            stay_end[leave_now] = s
            new[entering & (prev_mode == 3)] = home[entering & (prev_mode == 3)]
        move = free & (stay_end <= s)
        if move.any():
            idx = np.flatnonzero(move)
            origin = np.where(new[idx] >= 0, new[idx], home[idx])
            explore = rng.random(len(idx)) < RHO * distinct[idx].astype(float) ** (-GAMMA)
            dest = np.empty(len(idx), dtype=np.int64)
            if explore.any():
                dest[explore] = kernel.sample(rng, origin[explore])
            ret = ~explore
            if ret.any():
                pick = (rng.random(int(ret.sum())) * hcount[idx[ret]]).astype(np.int64)
                dest[ret] = hist[idx[ret], pick]
            new[idx] = dest
            stay_end[idx] = s + waiting_slots(rng, len(idx))
            if explore.any():
                e = idx[explore]
                seen = (hist[e] == dest[explore][:, None]).any(axis=1)
                distinct[e[~seen]] += 1
        # Record free-time arrivals as visits (the urn of preferential return); scheduled home and
        # work arrivals are not choices, they enter the urn once, as its seeds.
        arrived = (new != cur) & (new >= 0) & free
        if arrived.any():
            a = np.flatnonzero(arrived & (hcount < H))
            hist[a, hcount[a]] = new[a]
            hcount[a] += 1
        cur = new
        prev_mode = mode
        loc[:, s] = cur
    return loc
