"""Brute-force reference computations (numpy, small data) that product code is checked against."""

from __future__ import annotations

import math

import numpy as np


def nb_logpmf(n: float, shape: float, p: float) -> float:
    """log P(n) of the negative binomial Γ(n + shape) / (Γ(shape) n!) (1 − p)^shape p^n (p: the
    probability of each counted event)."""
    return (math.lgamma(n + shape) - math.lgamma(shape) - math.lgamma(n + 1)
            + shape * math.log1p(-p) + n * math.log(p))


def unicity_bruteforce(user: np.ndarray, time_bin: np.ndarray, place: np.ndarray, points: int,
                       targets: int, seed: int) -> tuple[int, int, int]:
    """de Montjoye unicity by brute force.

    For each of ``targets`` users drawn uniformly without replacement (among all users), draw
    ``points`` distinct (time bin, place) pairs uniformly from the user's distinct pairs; the user is
    unique when no other user's trace holds all of them. Users with fewer than ``points`` distinct
    pairs are skipped (counted in the third value). Returns (n_scored, n_unique, n_skipped).
    """
    rng = np.random.default_rng(seed)
    key = time_bin.astype(np.int64) * (int(place.max()) + 1) + place.astype(np.int64)
    pairs = np.unique(np.column_stack([user.astype(np.int64), key]), axis=0)
    users, u_start = np.unique(pairs[:, 0], return_index=True)
    u_end = np.r_[u_start[1:], len(pairs)]
    by_key = pairs[np.lexsort((pairs[:, 0], pairs[:, 1]))]
    keys, k_start = np.unique(by_key[:, 1], return_index=True)
    k_end = np.r_[k_start[1:], len(by_key)]
    scored = unique = skipped = 0
    for i in rng.choice(len(users), size=min(targets, len(users)), replace=False):
        own = pairs[u_start[i]:u_end[i], 1]
        if len(own) < points:
            skipped += 1
            continue
        cand = None
        for k in rng.choice(own, size=points, replace=False):
            j = np.searchsorted(keys, k)
            holders = by_key[k_start[j]:k_end[j], 0]
            cand = holders if cand is None else np.intersect1d(cand, holders, assume_unique=True)
        scored += 1
        unique += int(len(cand) == 1)
    return scored, unique, skipped


P = 2147483647


def seeded_hash(seed: int, u, a=0, b=0) -> np.ndarray:
    """The seeded integer hash of DESIGN.md, re-implemented in numpy (int64, no overflow)."""
    m = lambda x: np.mod(np.asarray(x, dtype=np.int64), P)  # noqa: E731  (Python modulo: non-negative)
    return ((((m(u) * 48271 + m(a)) % P) * 69621 + m(b)) % P * 16807 + seed % P) % P


def unicity_oracle(user, time_bin, place, points: int, targets: int | None, seed: int, tolerance: int = 0):
    """Unicity with the product's draw rule, by brute force over Python sets.

    Targets: users ordered by (hash(seed, uid), uid), the first ``targets`` (all if None). Points: a
    target's distinct (tb, loc) pairs ordered by (hash(seed, uid, tb, loc), tb, loc), the first
    ``points``. A user matches a known point when it holds the place within ± ``tolerance`` time bins.
    Returns ({target: anonymity-set size}, n_skipped).
    """
    user, time_bin, place = (np.asarray(x, dtype=np.int64) for x in (user, time_bin, place))
    traces: dict[int, set] = {}
    holders: dict[tuple, set] = {}
    for u, t, c in zip(user.tolist(), time_bin.tolist(), place.tolist()):
        traces.setdefault(u, set()).add((t, c))
        holders.setdefault((t, c), set()).add(u)
    uids = np.array(sorted(traces), dtype=np.int64)
    h = seeded_hash(seed, uids)
    order = np.lexsort((uids, h))
    chosen = uids[order][: (targets if targets is not None else len(uids))]
    sizes, skipped = {}, 0
    for u in chosen.tolist():
        pairs = sorted(traces[u])
        if len(pairs) < points:
            skipped += 1
            continue
        tb = np.array([p[0] for p in pairs]); lc = np.array([p[1] for p in pairs])
        hp = seeded_hash(seed, np.full(len(pairs), u), tb, lc)
        idx = np.lexsort((lc, tb, hp))[:points]
        cand = None
        for i in idx.tolist():
            t, c = pairs[i]
            held = set().union(*(holders.get((t + o, c), set()) for o in range(-tolerance, tolerance + 1)))
            cand = held if cand is None else cand & held
        sizes[u] = len(cand)
    return sizes, skipped


def topn_oracle(user, place, n: int) -> tuple[dict, int]:
    """Top-N places (by count, ties by place id) as a set; returns ({uid: set size}, n_skipped)."""
    import collections

    counts: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for u, c in zip(np.asarray(user).tolist(), np.asarray(place).tolist()):
        counts[u][c] += 1
    sig = {}
    for u, cnt in counts.items():
        ranked = sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))
        if len(ranked) >= n:
            sig[u] = tuple(sorted(c for c, _ in ranked[:n]))
    groups = collections.Counter(sig.values())
    return {u: groups[s] for u, s in sig.items()}, len(counts) - len(sig)
