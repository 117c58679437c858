"""Aggregation: presence counts per (place, time bin), with small-count suppression and optional noise.

The count of a cell (place, bin) is the number of distinct users with at least one record there. The
release has no person-level row and no pseudonym: only ``place``, ``timestamp`` (bin start, UTC) and
``users``.

Differential privacy (user level, for the whole release): each user contributes to at most
``max_cells`` cells (users above the bound keep a uniform draw of their cells), so adding or
removing one person changes at most ``max_cells`` counts by 1: L1 sensitivity ``max_cells``, L2
sensitivity √``max_cells``. Noise is added to *every* cell of the public domain (all places of the
release × all bins of the window, zeros included, so the set of released cells leaks nothing):

* ``mechanism="laplace"``: Laplace(0, max_cells/ε) — ε-DP;
* ``mechanism="gaussian"``: N(0, σ²), σ = √max_cells · √(2 ln(1.25/δ)) / ε — (ε, δ)-DP for ε < 1
  (Dwork & Roth 2014, Thm A.1).

Noisy counts are rounded to integers; cells below ``min_count`` are suppressed (post-processing, so
the guarantee holds). Without ``epsilon`` no noise is added and the release is *not* DP: only
small-count suppression protects it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..resolution import parse_time_bin
from .generalize import bin_start
from .release import Release


def dp_noise(size: int, *, epsilon: float, max_cells: int, mechanism: str = "laplace", delta: float = 1e-6,
             rng: np.random.Generator) -> np.ndarray:
    """Noise for ``size`` counts of sensitivity ``max_cells`` (L1) / √``max_cells`` (L2)."""
    if mechanism == "laplace":
        return rng.laplace(0.0, max_cells / epsilon, size)
    sigma = np.sqrt(max_cells) * np.sqrt(2 * np.log(1.25 / delta)) / epsilon
    return rng.normal(0.0, sigma, size)


def aggregate(release: Release, bin: str | None = None, min_count: int = 10, epsilon: float | None = None,
              delta: float = 1e-6, mechanism: str = "laplace", max_cells: int = 24, *,
              rng: np.random.Generator) -> Release:
    ev = release.require_events("aggregate")
    if release.places is None:
        raise UsageError("Strategy 'aggregate' needs place codes; it cannot follow 'geo-noise'.")
    seconds = parse_time_bin(bin).seconds if bin is not None else (release.time_bin_s or 3600)
    if seconds is None:
        raise UsageError("Strategy 'aggregate' needs a bin length (15min … 1w), not 'how'.")
    if not isinstance(min_count, (int, np.integer)) or min_count < 0:
        raise UsageError(f"Parameter `min_count` must be a non-negative integer. Got {min_count!r} instead.")
    if not isinstance(max_cells, (int, np.integer)) or max_cells < 1:
        raise UsageError(f"Parameter `max_cells` must be a positive integer. Got {max_cells!r} instead.")
    if mechanism not in ("laplace", "gaussian"):
        raise UsageError(f"Parameter `mechanism` must be laplace or gaussian. Got {mechanism!r} instead.")
    if epsilon is not None and not float(epsilon) > 0:
        raise UsageError(f"Parameter `epsilon` must be positive. Got {epsilon!r} instead.")
    if mechanism == "gaussian" and epsilon is not None and not 0 < float(delta) < 1:
        raise UsageError(f"Parameter `delta` must be in (0, 1). Got {delta!r} instead.")
    b = bin_start(ev["timestamp"].to_numpy(), seconds, release.utc_offset_h)
    cells = pd.DataFrame({"u": ev["subscriber_id"].to_numpy(), "place": ev["place"].to_numpy(np.int64),
                          "timestamp": b}).drop_duplicates().sort_values(["u", "place", "timestamp"])
    if epsilon is not None:  # contribution bounding: at most max_cells cells per user
        cells = cells.assign(_r=rng.random(len(cells))).sort_values(["u", "_r"])
        cells = cells[cells.groupby("u").cumcount() < max_cells].drop(columns="_r")
    counts = cells.groupby(["place", "timestamp"]).size().rename("users")
    t_lo = bin_start(np.array([ev["timestamp"].min()]), seconds, release.utc_offset_h)[0]
    t_hi = int(ev["timestamp"].max())
    domain = pd.MultiIndex.from_product([np.sort(release.places["place"].to_numpy(np.int64)),
                                         np.arange(t_lo, t_hi + 1, seconds, dtype=np.int64)],
                                        names=["place", "timestamp"])
    users = counts.reindex(domain, fill_value=0).to_numpy(float)
    if epsilon is not None:
        users = users + dp_noise(len(users), epsilon=float(epsilon), max_cells=int(max_cells), mechanism=mechanism,
                                 delta=float(delta), rng=rng)
    users = np.rint(users).astype(np.int64)
    keep = users >= max(int(min_count), 1)
    presence = pd.DataFrame({"place": domain.get_level_values(0)[keep], "timestamp": domain.get_level_values(1)[keep],
                             "users": users[keep]}).reset_index(drop=True)
    label = f"aggregate:bin={seconds}s,min_count={int(min_count)}"
    if epsilon is not None:
        label += f",epsilon={float(epsilon):g},mechanism={mechanism},max_cells={int(max_cells)}"
        if mechanism == "gaussian":
            label += f",delta={float(delta):g}"
    return release.evolve(label, events=None, presence=presence, time_bin_s=seconds, qi=None, travel=None,
                          pseudonym={"method": "none"})
