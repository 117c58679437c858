"""Utility of a release: how much of the original's usefulness survives, measured against the original.

All figures compare a ``Release`` with the unmodified one it came from (``Release.from_population``):

* ``records_retained`` / ``users_retained``: released records (users) ÷ original records (users).
* ``spatial_error_km``: per released record, the great-circle distance between its released position
  (cell, area centre or noisy point) and its true cell; ``mean`` and ``p95``.
* ``temporal_error_min``: per released record, |true time − centre of its released interval| (the
  interval is the time bin when times are generalized, else the instant), in minutes; mean and p95.
* ``count_error``: relative L1 error Σ|released − true| ÷ Σ true of *presence counts* (distinct
  users per place and time bin) at the release's own resolution (its places, bins of max(1 h, its
  bin)); subsampled releases are scaled by 1 ÷ rate, noisy positions snap to the nearest cell. It
  measures what suppression, noise and subsampling do to the counts an analyst would publish.
* ``od_error``: relative L1 error of the district origin–destination matrix, a trip being two
  consecutive records of one pseudonym in different districts. Releases coarser than districts are
  spread uniformly over the district pairs of their areas; None for an aggregate (no sequences).
* ``rg_w1_km``: 1-Wasserstein distance between the distributions of the radius of gyration (km) per
  user of the original and per pseudonym of the release.
* ``discernibility`` and ``gil`` (generalized information loss, 0–1) of the quasi-identifier table
  (``reidcheck.anonymize.tabular``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.stats import wasserstein_distance

from synthetic.geography import EARTH_RADIUS_KM as EARTH_KM
from synthetic.geography import haversine_km  # noqa: F401  (re-exported: utility's distance)
from synthetic.geography import to_unit_xyz as _xyz

from .anonymize.generalize import bin_start
from .anonymize.release import Published, Release

def _summary(x: np.ndarray, digits: int = 3) -> dict | None:
    if len(x) == 0:
        return None
    return {"mean": round(float(np.mean(x)), digits), "p95": round(float(np.quantile(x, 0.95)), digits)}


def _rel_l1(true: pd.Series, est: pd.Series) -> float | None:
    both = pd.concat([true.rename("t"), est.rename("e")], axis=1).fillna(0.0)
    total = float(both["t"].sum())
    return None if total == 0 else round(float((both["e"] - both["t"]).abs().sum() / total), 4)


def _snap_cells(cells: pd.DataFrame, lat, lon) -> np.ndarray:
    """Index (row of ``cells``) of the nearest cell to each position."""
    tree = cKDTree(_xyz(cells["lat"], cells["lon"]))
    return tree.query(_xyz(lat, lon))[1]


def rg_km(uid: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Radius of gyration (km) per user: RMS distance of the records from their centre of mass."""
    codes, uniq = pd.factorize(np.asarray(uid))
    xyz = _xyz(lat, lon)
    n = np.bincount(codes, minlength=len(uniq)).astype(float)
    c = np.column_stack([np.bincount(codes, xyz[:, i], len(uniq)) for i in range(3)]) / n[:, None]
    c /= np.where((norm := np.linalg.norm(c, axis=1, keepdims=True)) == 0, 1, norm)
    chord = np.linalg.norm(xyz - c[codes], axis=1)
    d = 2 * EARTH_KM * np.arcsin(np.clip(chord / 2, 0, 1))
    return np.sqrt(np.bincount(codes, d ** 2, len(uniq)) / n)


def _districts(rel: Release, orig: Release, ev: pd.DataFrame) -> pd.Series:
    """District (or, when coarser, province) label of each released record."""
    if rel.places is None:
        cells = orig.cells.reset_index(drop=True)
        return cells["district"].astype(str).to_numpy()[_snap_cells(cells, ev["lat"], ev["lon"])]
    col = "district" if "district" in rel.places.columns else "province"
    return rel.places.set_index("place")[col].astype(str).reindex(ev["place"].to_numpy(np.int64)).to_numpy()


def _od(pid: np.ndarray, t: np.ndarray, area: np.ndarray) -> pd.Series:
    """Trips (origin area, destination area) → count: consecutive records of one pseudonym in
    different areas."""
    a, names = pd.factorize(np.asarray(area, dtype=object))
    p = pd.factorize(np.asarray(pid))[0]
    order = np.lexsort((np.asarray(t), p))
    p, a = p[order], a[order]
    move = (p[1:] == p[:-1]) & (a[1:] != a[:-1]) & (a[1:] >= 0) & (a[:-1] >= 0)
    k = len(names)
    flows = np.bincount(a[:-1][move] * k + a[1:][move], minlength=k * k)
    nz = np.flatnonzero(flows)
    names = np.asarray(names, dtype=object)
    return pd.Series(flows[nz].astype(float), index=pd.MultiIndex.from_arrays([names[nz // k], names[nz % k]]))


def original_figures(orig: Release) -> dict:
    """What every release is compared with: the original OD matrix and radii of gyration (computed
    once per comparison)."""
    o = orig.events
    district = orig.cells.set_index("cell_id")["district"].astype(str)
    return {"od": _od(o["subscriber_id"].to_numpy(), o["timestamp"].to_numpy(),
                      district.reindex(o["place"].to_numpy(np.int64)).to_numpy()),
            "rg": rg_km(o["subscriber_id"].to_numpy(), o["lat"].to_numpy(), o["lon"].to_numpy())}


def trajectory_utility(orig: Release, rel: Release, pub: Published | None = None,
                       original: dict | None = None) -> dict:
    """The trajectory figures above (``pub``: the published release, for per-pseudonym sequences;
    ``original``: ``original_figures(orig)`` when already computed)."""
    o = orig.events
    out: dict = {"records_retained": None, "users_retained": None}
    n_users = o["subscriber_id"].nunique()
    cells = orig.cells.reset_index(drop=True)
    b_o = max(3600, rel.time_bin_s or 0)
    if rel.events is None:  # an aggregate
        pres = rel.presence
        out.update(records_retained=0.0, users_retained=0.0, spatial_error_km=None, temporal_error_min=None,
                   od_error=None, rg_w1_km=None)
        pl = rel.cell_to_place.reindex(o["place"].to_numpy(np.int64)).to_numpy()
        true = pd.DataFrame({"u": o["subscriber_id"].to_numpy(), "p": pl,
                             "b": bin_start(o["timestamp"].to_numpy(), rel.time_bin_s, rel.utc_offset_h)})
        true = true.drop_duplicates().groupby(["p", "b"]).size().astype(float)
        est = pres.set_index(["place", "timestamp"])["users"].astype(float)
        out["count_error"] = _rel_l1(true, est)
        out["cells_released"] = int(len(pres))
        return out
    ev = rel.events
    out["records_retained"] = round(len(ev) / len(o), 4) if len(o) else None
    out["users_retained"] = round(ev["subscriber_id"].nunique() / n_users, 4) if n_users else None
    rows = ev["_row"].to_numpy(np.int64)
    d = haversine_km(o["lat"].to_numpy()[rows], o["lon"].to_numpy()[rows], ev["lat"].to_numpy(float),
                     ev["lon"].to_numpy(float))
    out["spatial_error_km"] = _summary(d)
    centre = ev["timestamp"].to_numpy(np.int64) + (rel.time_bin_s or 0) / 2.0
    out["temporal_error_min"] = _summary(np.abs(centre - o["timestamp"].to_numpy()[rows]) / 60.0, 2)

    # presence counts at the release's resolution
    if rel.places is None:
        snapped = cells["cell_id"].to_numpy(np.int64)[_snap_cells(cells, ev["lat"], ev["lon"])]
        p_rel, p_true = snapped, o["place"].to_numpy(np.int64)
    else:
        p_rel = ev["place"].to_numpy(np.int64)
        p_true = rel.cell_to_place.reindex(o["place"].to_numpy(np.int64)).to_numpy(np.int64)
    true = pd.DataFrame({"u": o["subscriber_id"].to_numpy(), "p": p_true,
                         "b": bin_start(o["timestamp"].to_numpy(), b_o, rel.utc_offset_h)})
    true = true.drop_duplicates().groupby(["p", "b"]).size().astype(float)
    pid = pub.pid_codes if pub is not None and pub.pid_codes is not None else ev["subscriber_id"].to_numpy()
    est = pd.DataFrame({"u": pid, "p": p_rel, "b": bin_start(ev["timestamp"].to_numpy(), b_o, rel.utc_offset_h)})
    est = est.drop_duplicates().groupby(["p", "b"]).size().astype(float) / rel.sample_rate
    out["count_error"] = _rel_l1(true, est)

    # origin-destination matrix between districts
    original = original or original_figures(orig)
    od_true = original["od"]
    area = _districts(rel, orig, ev)
    od_rel = _od(pid, ev["timestamp"].to_numpy(), area) / rel.sample_rate
    if rel.places is not None and "district" not in rel.places.columns:   # province release: spread
        dp = cells[["district", "province"]].drop_duplicates().astype(str)
        per = dp.groupby("province")["district"].apply(list)
        rows_ = []
        for (po, pd_), f in od_rel.items():
            pairs = [(a, b) for a in per.get(po, []) for b in per.get(pd_, []) if a != b]
            rows_.extend((a, b, f / len(pairs)) for a, b in pairs)
        od_rel = (pd.DataFrame(rows_, columns=["o", "d", "f"]).groupby(["o", "d"])["f"].sum()
                  if rows_ else pd.Series(dtype=float))
    out["od_error"] = _rel_l1(od_true, od_rel)

    # radius of gyration distributions
    rg_o = original["rg"]
    rg_r = rg_km(pid, ev["lat"].to_numpy(float), ev["lon"].to_numpy(float)) if len(ev) else np.array([])
    out["rg_w1_km"] = round(float(wasserstein_distance(rg_o, rg_r)), 3) if len(rg_r) else None
    return out


def tabular_utility(orig: Release, rel: Release) -> dict:
    """Discernibility and generalized information loss of the QI table (gender, age, home district)."""
    from .anonymize.strategies import district_hierarchy
    from .anonymize.tabular import discernibility, generalized_information_loss

    if rel.qi is None or orig.qi is None:
        return {"qi_records_retained": 0.0 if orig.qi is not None else None, "discernibility": None, "gil": None}
    qi = ["gender", "age", "home_district"]
    n = len(orig.qi)
    suppressed = n - len(rel.qi)
    base = orig.qi.set_index("subscriber_id").loc[rel.qi["subscriber_id"]].reset_index()
    gil = generalized_information_loss(base, rel.qi, qi,
                                       hierarchies={"home_district": district_hierarchy(orig.cells)})
    # suppressed (or subsampled-away) records count as fully lost
    gil_all = (gil * len(rel.qi) + (n - len(rel.qi))) / n if n else None
    return {"qi_records_retained": round(len(rel.qi) / n, 4) if n else None,
            "discernibility": float(discernibility(rel.qi, qi, n_suppressed=suppressed, n_total=n)),
            "gil": None if gil_all is None else round(float(gil_all), 4)}
