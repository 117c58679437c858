"""Suppression: records are removed, never altered.

* ``suppress(release, places=M, points=K, events=N)`` removes records at *rare places* (places
  visited by fewer than ``M`` distinct users over the whole release), records in *small classes* of
  (place, time bin) — cells holding fewer than ``K`` distinct users, the bin being the release's time
  bin or 1 h when times are exact — and the records of *users with few events* (fewer than ``N``).
  Removing records can push other places, cells or users below their threshold, so the three filters
  repeat until none removes anything: the output meets all three. A criterion is off when its
  parameter is 0.
* ``topn(release, n)`` keeps only each user's ``n`` most frequent places (ties broken by the lower
  place code), removing the records at all other places.
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from .generalize import bin_start
from .release import Release


def _nonneg_int(name: str, v) -> int:
    if not isinstance(v, (int, np.integer)) or v < 0:
        raise UsageError(f"Parameter `{name}` must be a non-negative integer. Got {v!r} instead.")
    return int(v)


def suppress(release: Release, places: int = 0, points: int = 0, events: int = 0) -> Release:
    ev = release.require_events("suppress")
    places, points, events = (_nonneg_int(n, v) for n, v in (("places", places), ("points", points),
                                                              ("events", events)))
    if not (places or points or events):
        raise UsageError("Strategy 'suppress' needs at least one of places=M, points=K, events=N.")
    if (places or points) and release.places is None:
        raise UsageError("Strategy 'suppress' by places or points must come before 'geo-noise'.")
    while True:
        before = len(ev)
        if places:
            users = ev.groupby("place")["subscriber_id"].nunique()
            ev = ev[ev["place"].isin(users.index[users >= places])]
        if points:
            b = bin_start(ev["timestamp"].to_numpy(), release.time_bin_s or 3600, release.utc_offset_h)
            n = ev.assign(_b=b).groupby(["place", "_b"])["subscriber_id"].transform("nunique")
            ev = ev[n.to_numpy() >= points]
        if events:
            n = ev.groupby("subscriber_id")["subscriber_id"].transform("size")
            ev = ev[n.to_numpy() >= events]
        if len(ev) == before:
            break
    label = ",".join(f"{k}={v}" for k, v in (("places", places), ("points", points), ("events", events)) if v)
    return release.evolve(f"suppress:{label}", events=ev.reset_index(drop=True))


def topn(release: Release, n: int = 3) -> Release:
    ev = release.require_events("topn")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise UsageError(f"Parameter `n` must be a positive integer. Got {n!r} instead.")
    if release.places is None:
        raise UsageError("Strategy 'topn' must come before 'geo-noise'.")
    counts = ev.groupby(["subscriber_id", "place"]).size().rename("c").reset_index()
    counts = counts.sort_values(["subscriber_id", "c", "place"], ascending=[True, False, True])
    counts["rank"] = counts.groupby("subscriber_id").cumcount()
    keep = counts.loc[counts["rank"] < n, ["subscriber_id", "place"]]
    ev = ev.merge(keep, on=["subscriber_id", "place"], how="inner").sort_values("_row")
    return release.evolve(f"topn:n={int(n)}", events=ev.reset_index(drop=True))
