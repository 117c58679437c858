"""Perturbation: noisy positions and times, and subsampling.

* ``geo_noise(release, epsilon, rng)``: geo-indistinguishability (Andrés et al. 2013). Each record's
  position moves by planar Laplace noise: direction θ ~ U[0, 2π), radius r = −(1/ε)(W₋₁((u−1)/e) + 1)
  with u ~ U[0, 1) (W₋₁: the −1 branch of Lambert W), so P(R ≤ r) = 1 − (1 + εr)e^(−εr) and the mean
  radius is 2/ε. ``epsilon`` is per km. Noise is drawn per record (``per="record"``) or once per
  (user, place) (``per="place"``, so repeated visits do not average out). The place code is dropped:
  the release has coordinates only.
* ``jitter(release, minutes, rng)``: each timestamp moves by an integer number of seconds uniform on
  [−60·minutes, +60·minutes].
* ``subsample(release, records=q | users=q, rng)``: keep each record (or each user, with all their
  rows in every table) independently with probability ``q``.

``rng`` is the step's generator, derived from the release key and seed (``apply_strategies``): without
the key the noise cannot be regenerated from the seed and subtracted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import lambertw

from ..errors import UsageError
from ..resolution import KM_PER_DEG_LAT, KM_PER_DEG_LON_EQ
from .release import Release


def planar_laplace_radius(u: np.ndarray, epsilon: float) -> np.ndarray:
    """Inverse CDF of the planar Laplace radius (km) at ``u`` ∈ [0, 1), ε per km."""
    return -(lambertw((np.asarray(u, float) - 1.0) / np.e, k=-1).real + 1.0) / epsilon


def planar_laplace_cdf(r: np.ndarray, epsilon: float) -> np.ndarray:
    er = epsilon * np.asarray(r, float)
    return 1.0 - (1.0 + er) * np.exp(-er)


def _positive(name: str, v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        x = float("nan")
    if not x > 0 or not np.isfinite(x):
        raise UsageError(f"Parameter `{name}` must be a positive number. Got {v!r} instead.")
    return x


def geo_noise(release: Release, epsilon: float = 0.5, *, per: str = "record",
              rng: np.random.Generator) -> Release:
    ev = release.require_events("geo-noise")
    eps = _positive("epsilon", epsilon)
    if per not in ("record", "place"):
        raise UsageError(f"Parameter `per` must be record or place. Got {per!r} instead.")
    if release.noise_epsilon is not None:
        raise UsageError("Strategy 'geo-noise' is already applied to this release.")
    if per == "record":
        n = len(ev)
        theta, u = rng.uniform(0, 2 * np.pi, n), rng.random(n)
        key = None
    else:
        key = pd.MultiIndex.from_arrays([ev["subscriber_id"].to_numpy(), ev["place"].to_numpy()])
        codes, uniq = pd.factorize(key, sort=True)
        theta, u = rng.uniform(0, 2 * np.pi, len(uniq))[codes], rng.random(len(uniq))[codes]
    r = planar_laplace_radius(u, eps)
    lat = ev["lat"].to_numpy(float)
    dlat = r * np.sin(theta) / KM_PER_DEG_LAT
    dlon = r * np.cos(theta) / (KM_PER_DEG_LON_EQ * np.cos(np.radians(lat)))
    events = ev.assign(lat=lat + dlat, lon=ev["lon"].to_numpy(float) + dlon, place=pd.NA)
    events["place"] = events["place"].astype("Int64")
    return release.evolve(f"geo-noise:epsilon={eps:g},per={per}", events=events, places=None, space="noisy",
                          noise_epsilon=eps)


def jitter(release: Release, minutes: float = 30, *, rng: np.random.Generator) -> Release:
    ev = release.require_events("jitter")
    m = _positive("minutes", minutes)
    s = int(round(m * 60))
    events = ev.assign(timestamp=ev["timestamp"].to_numpy(np.int64) + rng.integers(-s, s + 1, len(ev)))
    return release.evolve(f"jitter:minutes={m:g}", events=events, jitter_s=release.jitter_s + s)


def subsample(release: Release, records: float | None = None, users: float | None = None, *,
              rng: np.random.Generator) -> Release:
    ev = release.require_events("subsample")
    if (records is None) == (users is None):
        raise UsageError("Strategy 'subsample' needs exactly one of records=Q or users=Q (0 < Q ≤ 1).")
    q = _positive("records" if users is None else "users", records if users is None else users)
    if q > 1:
        raise UsageError(f"Subsampling rate must be in (0, 1]. Got {q!r} instead.")
    if users is None:
        keep = rng.random(len(ev)) < q
        return release.evolve(f"subsample:records={q:g}", events=ev[keep].reset_index(drop=True),
                              sample_rate=release.sample_rate * q)
    ids = np.sort(release.qi["subscriber_id"].unique()) if release.qi is not None else np.unique(ev["subscriber_id"])
    kept = ids[rng.random(len(ids)) < q]

    def keep(df):
        return None if df is None else df[df["subscriber_id"].isin(kept)].reset_index(drop=True)

    return release.evolve(f"subsample:users={q:g}", events=keep(ev), qi=keep(release.qi), travel=keep(release.travel),
                          sample_rate=release.sample_rate * q)
