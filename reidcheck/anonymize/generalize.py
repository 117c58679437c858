"""Generalization of trajectories: places to coarser areas, times to coarser bins.

* ``generalize_space(release, level)``: ``site``, ``district``, ``province`` or ``grid:<size>`` (e.g.
  ``grid:5km``). Each record's place becomes the area's code and its coordinates the area's centre
  (mean of its cells' coordinates; the square's centre for a grid). Areas only grow: generalizing a
  district release to sites is refused.
* ``generalize_time(release, bin)``: each timestamp becomes the start of its bin (bins of local time,
  ``reidcheck.resolution.TimeBin``: ``1h`` bins start on the local hour, ``1d`` at local midnight).

Tabular quasi-identifiers are generalized in ``reidcheck.anonymize.tabular``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..resolution import parse_space, parse_time_bin
from .release import Release

_ORDER = {"cell": 0, "site": 1, "grid": 1, "district": 2, "province": 3}


def _mode(s: pd.Series):
    return s.mode().iloc[0] if s.notna().any() else None


def generalize_space(release: Release, level: str = "district") -> Release:
    ev = release.require_events("generalize-space")
    if release.places is None:
        raise UsageError("Strategy 'generalize-space' must come before 'geo-noise' (coordinates are perturbed).")
    sp = parse_space(level)
    if sp.kind == "cell":
        return release.evolve(f"generalize-space:level={sp.label}")
    cur = release.space.split(":")[0]
    if _ORDER[sp.kind] < _ORDER[cur] or (sp.kind == "site" and cur != "cell"):
        raise UsageError(f"Cannot generalize space from '{release.space}' to the finer '{sp.label}'.")
    pl = release.places
    if sp.kind == "grid":
        lat0 = round(float(release.cells["lat"].mean()), 2)
        code = sp.grid_codes(pl["lat"].to_numpy(), pl["lon"].to_numpy(), lat0)
        centre = np.array([sp.grid_centre(c, lat0) for c in np.unique(code)]).reshape(-1, 2)
        centres = pd.DataFrame({"place": np.unique(code), "lat": centre[:, 0], "lon": centre[:, 1]})
    else:
        col = {"site": "site_id", "district": "district", "province": "province"}[sp.kind]
        if col not in pl.columns:
            raise UsageError(f"The release's places have no '{col}' to generalize to.")
        keys = pl[col].astype(str) if col != "site_id" else pl[col]
        if col == "site_id":
            code = keys.to_numpy(np.int64)
        else:
            code = pd.factorize(keys, sort=True)[0].astype(np.int64)
        centres = None
    pl2 = pl.assign(_new=code)
    agg = {"lat": "mean", "lon": "mean"} if centres is None else {}
    for c in ("district", "province"):
        if c in pl2.columns and not (sp.kind == "province" and c == "district"):
            agg[c] = _mode
    new_places = pl2.groupby("_new", sort=True).agg(agg).reset_index().rename(columns={"_new": "place"})
    if centres is not None:
        new_places = new_places.merge(centres, on="place", how="left")
    new_places = new_places[[c for c in ("place", "lat", "lon", "district", "province") if c in new_places.columns]]
    old_to_new = pd.Series(code, index=pl["place"].to_numpy())
    new_place = old_to_new.reindex(ev["place"].to_numpy()).to_numpy(np.int64)
    pos = pd.Series(np.arange(len(new_places)), index=new_places["place"].to_numpy())
    i = pos.reindex(new_place).to_numpy(np.int64)
    events = ev.assign(place=pd.array(new_place, dtype="Int64"), lat=new_places["lat"].to_numpy()[i],
                       lon=new_places["lon"].to_numpy()[i])
    c2p = pd.Series(old_to_new.reindex(release.cell_to_place.to_numpy()).to_numpy(np.int64),
                    index=release.cell_to_place.index)
    return release.evolve(f"generalize-space:level={sp.label}", events=events, places=new_places,
                          cell_to_place=c2p, space=sp.label)


def bin_start(t: np.ndarray, seconds: int, utc_offset_h: float) -> np.ndarray:
    """Start (epoch seconds UTC) of the local-time bin of ``seconds`` holding each time ``t``."""
    off = int(round(utc_offset_h * 3600))
    t = np.asarray(t, dtype=np.int64)
    return np.floor_divide(t + off, seconds) * seconds - off


def generalize_time(release: Release, bin: str = "1d") -> Release:
    ev = release.require_events("generalize-time")
    tb = parse_time_bin(bin)
    if tb.seconds is None:
        raise UsageError("Strategy 'generalize-time' needs a bin length (15min, 1h, 4h, 1d, 1w), not 'how'.")
    if release.time_bin_s and tb.seconds % release.time_bin_s:
        raise UsageError(f"Bin '{tb.label}' is not a multiple of the release's current bin ({release.time_bin_s} s).")
    events = ev.assign(timestamp=bin_start(ev["timestamp"].to_numpy(), tb.seconds, release.utc_offset_h))
    return release.evolve(f"generalize-time:bin={tb.label}", events=events, time_bin_s=tb.seconds)
