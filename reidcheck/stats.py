"""Confidence intervals and anonymity-set summaries.

An *anonymity set* is the set of users of a release that match what the adversary knows about one
target; its size is ≥ 1 when the target is in the release (the target always matches itself).
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054
#: Upper edges of the anonymity-set histogram bins: 1, 2, 3–5, 6–10, 11–20, 21–100, 101–1000, > 1000.
HIST_EDGES = (1, 2, 5, 10, 20, 100, 1000)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for the rate k/n (REFERENCES.md). (0, 1) when n = 0."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= k <= n:
        raise ValueError(f"Parameter `k` must be between 0 and n={n}. Got {k} instead.")
    centre = (k + z * z / 2) / (n + z * z)
    half = z * math.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate(k: int | None, n: int) -> dict | None:
    """``{"value": k/n, "ci": [lo, hi]}`` (None when k is None; value None when n = 0)."""
    if k is None:
        return None
    lo, hi = wilson(k, n)
    return {"value": (k / n) if n else None, "ci": [round(lo, 6), round(hi, 6)]}


def weighted_quantile(values: np.ndarray, counts: np.ndarray, q: float) -> int:
    """The q-quantile (lower, 'inverted CDF') of integer ``values`` repeated ``counts`` times."""
    order = np.argsort(values)
    v, c = np.asarray(values)[order], np.asarray(counts)[order]
    cum = np.cumsum(c)
    if cum[-1] == 0:
        raise ValueError("no values")
    idx = int(np.searchsorted(cum, q * cum[-1], side="left"))
    return int(v[min(idx, len(v) - 1)])


def anonymity_summary(sizes: np.ndarray, counts: np.ndarray | None = None) -> dict | None:
    """min, p50, p90, p99, max and a histogram of anonymity-set sizes (given as value/count pairs)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    counts = np.ones(len(sizes), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
    if counts.sum() == 0:
        return None
    out = {"min": int(sizes[counts > 0].min()), "p50": weighted_quantile(sizes, counts, 0.5),
           "p90": weighted_quantile(sizes, counts, 0.9), "p99": weighted_quantile(sizes, counts, 0.99),
           "max": int(sizes[counts > 0].max())}
    hist, lo = {}, 1
    for edge in HIST_EDGES:
        label = str(edge) if lo == edge else f"{lo}-{edge}"
        hist[label] = int(counts[(sizes >= lo) & (sizes <= edge)].sum())
        lo = edge + 1
    hist[f">{HIST_EDGES[-1]}"] = int(counts[sizes > HIST_EDGES[-1]].sum())
    out["histogram"] = hist
    return out
