"""Call-detail records and location pings, drawn on top of the mobility trace.

* **Voice and SMS** come in sessions: per subscriber a personal rate (lognormal, median
  ``SESSIONS_MEDIAN`` per day), modulated by a daily profile with a night trough (``HOURLY_PROFILE``,
  local time) and fewer sessions on Sundays. A session holds 1 + Geometric events separated by
  exponential gaps of a few minutes: inter-event times are bursty and heavy-tailed (Candia et al. 2008).
  Voice durations are log-logistic (Vaz de Melo et al. 2010) with a personal scale; median ~1–2 min.
* **Data sessions** for smartphone users: a flatter daily profile, lognormal durations.
* The serving cell of every event is the cell of the mobility trace at that time; nothing is
  recorded while abroad.
* **Pings** are location updates: one on each change of cell and periodic ones every 1–4 hours.
"""

from __future__ import annotations

import numpy as np

from .mobility import SLOT_S, SLOTS_PER_DAY
from .social import draw_contact

HOURLY_PROFILE = np.array([0.30, 0.16, 0.08, 0.05, 0.04, 0.06, 0.18, 0.42, 0.68, 0.85, 0.95, 1.00,
                           1.00, 0.95, 0.90, 0.90, 0.95, 1.00, 1.05, 1.10, 1.15, 1.10, 0.90, 0.60])
DATA_PROFILE = np.array([0.45, 0.30, 0.18, 0.12, 0.10, 0.12, 0.30, 0.60, 0.80, 0.90, 0.95, 1.00,
                         1.00, 0.95, 0.95, 0.95, 1.00, 1.00, 1.05, 1.10, 1.15, 1.15, 1.00, 0.75])
SESSIONS_MEDIAN, SESSIONS_SIGMA = 1.5, 1.4
BURST_CONTINUE = 0.35          # P(another event in the same session)
BURST_GAP_MEAN_S = 240.0
SMARTPHONE_SHARE = 0.55
DATA_MEDIAN, DATA_SIGMA = 1.7, 1.4
VOICE_SCALE_MEDIAN_S, VOICE_SCALE_SIGMA, VOICE_SHAPE = 75.0, 0.35, 1.6
VOICE_MAX_S = 3 * 3600
DATA_DURATION_MEDIAN_S, DATA_DURATION_SIGMA = 300.0, 1.0
SUNDAY_FACTOR = 0.85
PING_PERIOD_H = (1.0, 4.0)

EVENT_TYPES = np.array(["voice", "sms", "data"], dtype=object)
DIRECTIONS = np.array(["out", "in"], dtype=object)


def _hourly_counts(rng, rate_per_day: np.ndarray, profile: np.ndarray, days: int, first_weekday: int,
                   present: np.ndarray) -> np.ndarray:
    """Poisson counts [agents, hours] with the given daily profile (local hours)."""
    prof = np.tile(profile / profile.sum(), days)
    weekday = (first_weekday + np.arange(days)) % 7
    prof = prof * np.repeat(np.where(weekday == 6, SUNDAY_FACTOR, 1.0), 24)
    lam = rate_per_day[:, None] * prof[None, :] * present
    return rng.poisson(lam)


def _expand_hours(rng, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Agent index and local second offset (from slot 0) of each counted event."""
    agent, hour = np.nonzero(counts)
    reps = counts[agent, hour]
    agent = np.repeat(agent, reps)
    hour = np.repeat(hour, reps)
    t = hour.astype(np.int64) * 3600 + rng.integers(0, 3600, len(hour))
    return agent, t


def draw_cdr(rng: np.random.Generator, loc: np.ndarray, contacts: np.ndarray, days: int,
             first_weekday: int) -> dict[str, np.ndarray]:
    """CDR rows of one block (agents = rows of ``loc``); times are seconds from local midnight of day 0.

    Returns column arrays: agent, t, event_type (0 voice, 1 sms, 2 data), direction (0 out, 1 in),
    counterpart (contact id or −1), duration_s, cell (cell index). Sorted by (agent, t).
    """
    n, T = loc.shape
    horizon = days * 86_400
    # Presence per hour (not abroad for the whole hour's first slot): events only where present.
    present = (loc[:, :: 3600 // SLOT_S] >= 0).astype(float)
    rate = rng.lognormal(np.log(SESSIONS_MEDIAN), SESSIONS_SIGMA, n)
    voice_share = rng.beta(4.0, 3.0, n)
    out_share = rng.beta(5.0, 5.0, n)
    scale = VOICE_SCALE_MEDIAN_S * rng.lognormal(0.0, VOICE_SCALE_SIGMA, n)
    smart = rng.random(n) < SMARTPHONE_SHARE
    data_rate = np.where(smart, rng.lognormal(np.log(DATA_MEDIAN), DATA_SIGMA, n), 0.0)

    # Voice/SMS sessions and their bursts.
    a, t = _expand_hours(rng, _hourly_counts(rng, rate, HOURLY_PROFILE, days, first_weekday, present))
    extra = rng.geometric(1.0 - BURST_CONTINUE, len(a)) - 1
    sess = np.repeat(np.arange(len(a)), extra + 1)
    first = np.r_[0, np.cumsum(extra + 1)[:-1]]
    pos = np.arange(len(sess)) - np.repeat(first, extra + 1)
    gaps = rng.exponential(BURST_GAP_MEAN_S, len(sess)) * (pos > 0)
    offs = np.zeros(len(sess))
    # cumulative gap within each session
    cg = np.cumsum(gaps)
    offs = cg - np.repeat(cg[first], extra + 1)
    va = a[sess]
    vt = t[sess] + np.round(offs).astype(np.int64)
    vtype = np.where(rng.random(len(va)) < voice_share[va], 0, 1)
    vdir = np.where(rng.random(len(va)) < out_share[va], 0, 1)
    u = np.clip(rng.random(len(va)), 1e-12, 1 - 1e-12)
    vdur = np.where(vtype == 0,
                    np.minimum(np.round(scale[va] * (u / (1 - u)) ** (1.0 / VOICE_SHAPE)), VOICE_MAX_S) + 1,
                    0).astype(np.int64)
    vcp = draw_contact(rng, contacts, va)

    # Data sessions.
    da, dt = _expand_hours(rng, _hourly_counts(rng, data_rate, DATA_PROFILE, days, first_weekday, present))
    ddur = np.round(rng.lognormal(np.log(DATA_DURATION_MEDIAN_S), DATA_DURATION_SIGMA, len(da))).astype(np.int64) + 1

    agent = np.concatenate([va, da])
    t = np.concatenate([vt, dt])
    etype = np.concatenate([vtype, np.full(len(da), 2)])
    direction = np.concatenate([vdir, np.zeros(len(da), dtype=np.int64)])
    counterpart = np.concatenate([vcp, np.full(len(da), -1, dtype=np.int64)])
    duration = np.concatenate([vdur, ddur])
    keep = t < horizon
    agent, t, etype, direction, counterpart, duration = (x[keep] for x in
                                                          (agent, t, etype, direction, counterpart, duration))
    cell = loc[agent, t // SLOT_S]
    keep = cell >= 0
    order = np.lexsort((t[keep], agent[keep]))
    cols = dict(agent=agent, t=t, event_type=etype, direction=direction, counterpart=counterpart,
                duration_s=duration, cell=cell)
    return {k: v[keep][order] for k, v in cols.items()}


def draw_pings(rng: np.random.Generator, loc: np.ndarray) -> dict[str, np.ndarray]:
    """Location updates of one block: on each change of cell, and periodically. Sorted by (agent, t)."""
    n, T = loc.shape
    # On change of cell (a new domestic cell), at a uniform time within the slot.
    change = np.zeros_like(loc, dtype=bool)
    change[:, 0] = loc[:, 0] >= 0
    change[:, 1:] = (loc[:, 1:] != loc[:, :-1]) & (loc[:, 1:] >= 0)
    ca, cs = np.nonzero(change)
    ct = cs.astype(np.int64) * SLOT_S + rng.integers(0, SLOT_S, len(cs))
    # Periodic: period P_i uniform in PING_PERIOD_H, random phase.
    period = (rng.uniform(*PING_PERIOD_H, n) * 3600).astype(np.int64)
    phase = (rng.random(n) * period).astype(np.int64)
    horizon = T * SLOT_S
    counts = (horizon - phase + period - 1) // period
    pa = np.repeat(np.arange(n), counts)
    k = np.arange(len(pa)) - np.repeat(np.r_[0, np.cumsum(counts)[:-1]], counts)
    pt = phase[pa] + k * period[pa]
    agent = np.concatenate([ca, pa])
    t = np.concatenate([ct, pt])
    cell = loc[agent, t // SLOT_S]
    keep = cell >= 0
    agent, t, cell = agent[keep], t[keep], cell[keep]
    order = np.lexsort((t, agent))
    return {"agent": agent[order], "t": t[order], "cell": cell[order]}


__all__ = ["draw_cdr", "draw_pings", "EVENT_TYPES", "DIRECTIONS", "SLOTS_PER_DAY"]
