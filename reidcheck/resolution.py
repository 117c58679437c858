"""Spatial and temporal resolution: how points are generalized before they are matched.

A *point* is a (time bin, place) pair at the chosen resolution:

* time bins (``TimeBin``): ``15min``, ``1h``, ``4h``, ``1d``, ``1w`` … are consecutive intervals of
  local time since the epoch (local = UTC + ``utc_offset_h``); ``how`` is the hour of the week
  (0 = Monday 00:00–01:00 local, … 167), which folds all weeks onto one.
* places (``Space``): ``cell`` (the place id as given: cell, venue, or exact coordinates),
  ``site`` / ``district`` / ``province`` (from a cells table), ``grid:1km`` / ``grid:500m`` (square
  cells of that side on an equirectangular projection around a reference latitude).

Every expression here is portable SQL (DuckDB and Spark SQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UsageError

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQ = 111.320
GRID_OFFSET = 5_000_000
GRID_BASE = 10_000_000

_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


@dataclass(frozen=True)
class TimeBin:
    label: str
    seconds: int | None  # None for hour-of-week

    def sql(self, t: str, utc_offset_s: int) -> str:
        """Bin index of epoch-seconds column ``t``."""
        local = f"({t} + {int(utc_offset_s)})"
        if self.seconds is None:
            # 1970-01-01 was a Thursday: hour 72 of a Monday-based week.
            return f"(((CAST(FLOOR({local} / 3600) AS BIGINT) + 72) % 168) + 168) % 168"
        return f"CAST(FLOOR({local} / {self.seconds}) AS BIGINT)"


def parse_time_bin(text: str) -> TimeBin:
    t = str(text).strip().lower()
    if t in ("how", "hour-of-week", "hourofweek"):
        return TimeBin("how", None)
    m = re.fullmatch(r"(\d+)\s*(s|sec|min|m|h|d|w)", t)
    if not m or int(m.group(1)) <= 0:
        raise UsageError(f"Parameter `time_bin` must look like 15min, 1h, 4h, 1d, 1w or how. Got {text!r} instead.")
    return TimeBin(f"{int(m.group(1))}{m.group(2)}", int(m.group(1)) * _UNITS[m.group(2)])


def bin_text(seconds: int) -> str:
    """A bin length in ``parse_time_bin``'s words, the largest whole unit (3600 → ``1h``,
    86400 → ``1d``, 900 → ``15min``)."""
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{max(1, seconds // 60)}min"


@dataclass(frozen=True)
class Space:
    kind: str            # cell | site | district | province | grid
    km: float | None = None

    @property
    def label(self) -> str:
        if self.kind != "grid":
            return self.kind
        return f"grid:{self.km:g}km" if self.km >= 1 else f"grid:{self.km * 1000:g}m"

    def grid_sql(self, lat: str, lon: str, lat0: float) -> str:
        """Grid cell code of (lat, lon) columns: a non-negative BIGINT."""
        import math

        kx = KM_PER_DEG_LON_EQ * math.cos(math.radians(lat0))
        gy = f"CAST(FLOOR({lat} * {KM_PER_DEG_LAT} / {self.km!r}) AS BIGINT)"
        gx = f"CAST(FLOOR({lon} * {kx!r} / {self.km!r}) AS BIGINT)"
        return f"(({gy} + {GRID_OFFSET}) * {GRID_BASE} + ({gx} + {GRID_OFFSET}))"

    def grid_codes(self, lat, lon, lat0: float):
        """``grid_sql`` in numpy: grid cell codes (int64 array) of coordinate arrays."""
        import math

        import numpy as np

        kx = KM_PER_DEG_LON_EQ * math.cos(math.radians(lat0))
        gy = np.floor(np.asarray(lat, float) * KM_PER_DEG_LAT / self.km).astype(np.int64)
        gx = np.floor(np.asarray(lon, float) * kx / self.km).astype(np.int64)
        return (gy + GRID_OFFSET) * GRID_BASE + (gx + GRID_OFFSET)

    def grid_centre(self, code: int, lat0: float) -> tuple[float, float]:
        import math

        gy, gx = divmod(int(code), GRID_BASE)
        gy, gx = gy - GRID_OFFSET, gx - GRID_OFFSET
        kx = KM_PER_DEG_LON_EQ * math.cos(math.radians(lat0))
        return ((gy + 0.5) * self.km / KM_PER_DEG_LAT, (gx + 0.5) * self.km / kx)


SPACE_KINDS = ("cell", "site", "district", "province")


def parse_space(text: str) -> Space:
    t = str(text).strip().lower()
    if t in SPACE_KINDS:
        return Space(t)
    m = re.fullmatch(r"grid:(\d+(?:\.\d+)?)\s*(km|m)", t)
    if m:
        km = float(m.group(1)) / (1000.0 if m.group(2) == "m" else 1.0)
        if 0.01 <= km <= 1000:
            return Space("grid", km)
    raise UsageError("Parameter `space` must be cell, site, district, province or grid:<size> "
                     f"(e.g. grid:1km, grid:500m; 10 m to 1000 km). Got {text!r} instead.")
