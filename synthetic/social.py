"""Social graph: each subscriber's contacts, with distance decay and repeated contacts.

A subscriber has ``k`` contacts (lognormal, median ``CONTACTS_MEDIAN``, at most ``MAX_CONTACTS``):
* local on-network contacts drawn among the ``LOCAL_POOL`` subscribers living nearest to them,
* long-range on-network contacts: a district chosen ∝ population / distance², then a subscriber
  living there,
* off-network numbers (other networks or people outside the generated population), drawn from a pool
  of numbers that does not overlap the subscribers' own.
Contacts are ranked; a call or SMS goes to the contact of rank r with probability ∝ ~1/r
(``draw_contact``), so a few contacts receive most of the traffic.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .geography import haversine_km

CONTACTS_MEDIAN = 9.0
CONTACTS_SIGMA = 0.7
MAX_CONTACTS = 60
LOCAL_POOL = 64
SHARE_LOCAL, SHARE_LONG = 0.55, 0.15  # rest off-network


def draw_contacts(rng: np.random.Generator, ids: np.ndarray, home_xyz: np.ndarray, home_tree: cKDTree,
                  home_district: np.ndarray, district_members: list[np.ndarray],
                  district_gravity_cum: np.ndarray, n_total: int) -> np.ndarray:
    """Contacts of subscribers ``ids`` as an int64 matrix [len(ids), MAX_CONTACTS], padded with −1.

    Values below ``n_total`` are subscriber ids; values ≥ ``n_total`` index the off-network pool
    (``n_total + j``, j < n_total).
    """
    n = len(ids)
    k = np.clip(np.round(rng.lognormal(np.log(CONTACTS_MEDIAN), CONTACTS_SIGMA, n)), 1, MAX_CONTACTS).astype(int)
    kind = rng.choice(3, size=(n, MAX_CONTACTS), p=[SHARE_LOCAL, SHARE_LONG, 1 - SHARE_LOCAL - SHARE_LONG])
    out = np.full((n, MAX_CONTACTS), -1, dtype=np.int64)
    # Local: a random ordering of the nearest neighbours (excluding oneself).
    pool = min(LOCAL_POOL, n_total)
    _, nn = home_tree.query(home_xyz[ids], k=pool)
    nn = np.asarray(nn).reshape(n, pool)
    order = np.argsort(rng.random((n, pool)), axis=1)
    local = np.take_along_axis(nn, order, axis=1)
    local = np.where(local == ids[:, None], -1, local)
    # Long range: district by gravity from the home district, then a uniform member.
    d = (district_gravity_cum[home_district[ids]][:, None, :] < rng.random((n, MAX_CONTACTS, 1))).sum(-1)
    d = np.minimum(d, district_gravity_cum.shape[1] - 1)
    long_range = np.full((n, MAX_CONTACTS), -1, dtype=np.int64)
    u = rng.random((n, MAX_CONTACTS))
    for dd in np.unique(d):
        members = district_members[dd]
        if len(members) == 0:
            continue
        sel = d == dd
        long_range[sel] = members[(u[sel] * len(members)).astype(np.int64)]
    off = n_total + rng.integers(0, max(n_total, 1), size=(n, MAX_CONTACTS))
    # Fill slot j of each row with the j-th local neighbour, a long-range draw, or an off-net number.
    local_cols = np.minimum(np.arange(MAX_CONTACTS), pool - 1)
    cand = np.where(kind == 0, local[:, local_cols], np.where(kind == 1, long_range, off))
    cand = np.where(cand == ids[:, None], -1, cand)
    for i in range(MAX_CONTACTS):
        # Drop duplicates of earlier slots (rare) by marking them −1.
        dup = (cand[:, :i] == cand[:, i:i + 1]).any(axis=1) if i else np.zeros(n, bool)
        out[:, i] = np.where(dup, -1, cand[:, i])
    # Keep the first k valid entries of each row, left-aligned.
    valid = out >= 0
    rank = np.cumsum(valid, axis=1)
    keep = valid & (rank <= k[:, None])
    res = np.full((n, MAX_CONTACTS), -1, dtype=np.int64)
    pos = np.where(keep, rank - 1, MAX_CONTACTS)
    r_idx, c_idx = np.nonzero(keep)
    res[r_idx, pos[r_idx, c_idx]] = out[r_idx, c_idx]
    return res


def district_gravity(districts) -> np.ndarray:
    """Cumulative probabilities [D, D] of a long-range contact's district: ∝ population / distance²."""
    lat, lon = districts["lat"].to_numpy(), districts["lon"].to_numpy()
    r = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    pop = districts["population_m"].to_numpy()
    w = pop[None, :] / np.maximum(r, 10.0) ** 2
    cum = np.cumsum(w, axis=1)
    cum /= cum[:, -1:]
    return cum


def draw_contact(rng: np.random.Generator, contacts: np.ndarray, agent: np.ndarray) -> np.ndarray:
    """Counterpart of each event of ``agent`` (row index into ``contacts``): rank r with P ∝ ~1/r.

    Rank = floor((k+1)^U) for U uniform, which gives P(r) = log((r+1)/r) / log(k+1) ≈ 1/r.
    """
    k = (contacts >= 0).sum(axis=1)[agent]
    r = np.floor((k + 1.0) ** rng.random(len(agent))).astype(np.int64) - 1
    r = np.clip(r, 0, np.maximum(k - 1, 0))
    return contacts[agent, r]
