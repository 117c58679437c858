"""Brute-force reference computations (numpy, small data) that product code is checked against."""

from __future__ import annotations

import numpy as np


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
