"""From registered ``events`` to generalized points (uid, tb, loc), and the seeded SQL hash.

``loc`` is a BIGINT place code at the chosen ``Space``; ``tb`` a BIGINT time-bin index at the chosen
``TimeBin``. Place codes come from SQL (cell ids, exact coordinates, grid cells) or from a small
``__placemap`` relation (place → site / district / province / grid code) built from the cells table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..io import TrajectoryInput
from ..resolution import Space, TimeBin

#: Modulus of the seeded hash (DESIGN.md): a Mersenne prime below 2^31, so no product overflows.
P = 2147483647


def hash_sql(seed: int, *cols: str) -> str:
    """Seeded integer hash of up to three BIGINT columns, identical on DuckDB and Spark (DESIGN.md):
    h = ((((u·48271 + a) mod P)·69621 + b) mod P · 16807 + seed) mod P, each input first cast to
    BIGINT (an INT such as Spark's ROW_NUMBER would overflow) and reduced to [0, P)."""
    u, a, b = (list(cols) + ["0", "0"])[:3]
    m = lambda e: f"(((CAST({e} AS BIGINT)) % {P}) + {P}) % {P}"  # noqa: E731  (INT inputs: Spark's ROW_NUMBER)
    return (f"((((({m(u)} * 48271 + {m(a)}) % {P}) * 69621 + {m(b)}) % {P}) * 16807 + {int(seed) % P}) % {P}")


def mix_sql(h: str) -> str:
    """A non-linear scramble of a ``hash_sql`` value in [0, P): two squarings mod P with a
    multiplication between, in BIGINT arithmetic (< 2⁶², identical on DuckDB and Spark). ``hash_sql``
    is linear in each input, so consecutive inputs (a record's rank within a group) give evenly
    spaced values and a threshold on them draws far more evenly than a Bernoulli sample; after the
    scramble the draws of a group are as dispersed as independent ones (tests/attacks)."""
    x = f"(((({h}) * ({h})) + 12345) % {P})"
    x = f"(({x} * 48271) % {P})"
    return f"((({x} * {x}) + 54321) % {P})"


def coord_code_sql(lat: str, lon: str) -> str:
    """Exact coordinates (to 1e-6 degree) as one non-negative BIGINT."""
    return (f"(CAST(ROUND(({lat} + 90) * 1000000) AS BIGINT) * 400000000 "
            f"+ CAST(ROUND(({lon} + 180) * 1000000) AS BIGINT))")


def decode_coord_code(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.divmod(np.asarray(code, dtype=np.int64), 400_000_000)
    return a / 1e6 - 90, b / 1e6 - 180


def reference_latitude(engine, inp: TrajectoryInput) -> float:
    """Latitude of the grid's equirectangular projection: the data's mean, rounded to 0.01°."""
    if inp.places is not None:
        return round(float(inp.places["lat"].mean()), 2)
    v = engine.query(f"SELECT AVG(lat) AS m FROM {inp.relation}")["m"][0]
    return round(float(v), 2)


def prepare_space(engine, inp: TrajectoryInput, space: Space, lat0: float) -> tuple[str, str]:
    """(loc expression over alias ``e``, extra join clause) for ``space``; registers ``__placemap``."""
    if space.kind == "cell":
        if inp.has_place:
            return "e.place", ""
        return coord_code_sql("e.lat", "e.lon"), ""
    if space.kind == "grid" and not inp.has_place:
        return space.grid_sql("e.lat", "e.lon", lat0), ""
    if inp.places is None:
        if space.kind == "grid":
            return space.grid_sql("e.lat", "e.lon", lat0), ""
        raise UsageError(f"Space '{space.label}' needs a cells table with the locations of the places: "
                         "pass a population directory or --cells FILE.")
    pm = inp.places
    if space.kind == "grid":
        engine.register("__pm_src", pm[["place", "lat", "lon"]])
        engine.register(f"__placemap_{inp.relation}", f"SELECT place, {space.grid_sql('lat', 'lon', lat0)} AS loc FROM __pm_src")
        engine.drop("__pm_src")
    else:
        col = {"site": "site_id", "district": "district", "province": "province"}[space.kind]
        if col not in pm.columns:
            raise UsageError(f"Space '{space.label}' needs a '{col}' column in the cells table.")
        codes = pd.factorize(pm[col].astype(str), sort=True)[0] if col != "site_id" else pm[col].to_numpy()
        engine.register(f"__placemap_{inp.relation}", pd.DataFrame({"place": pm["place"].to_numpy(np.int64),
                                                    "loc": np.asarray(codes, dtype=np.int64)}))
    return "m.loc", f"JOIN __placemap_{inp.relation} m ON m.place = e.place"


def points_sql(engine, inp: TrajectoryInput, time_bin: TimeBin, space: Space, lat0: float,
               extra_cols: str = "") -> str:
    """SELECT of generalized points uid, tb, loc (one row per event, not distinct)."""
    loc, join = prepare_space(engine, inp, space, lat0)
    tb = time_bin.sql("e.t", int(round(inp.utc_offset_h * 3600)))
    return f"SELECT e.uid AS uid, {tb} AS tb, {loc} AS loc{extra_cols} FROM {inp.relation} e {join}"


def loc_coordinates(engine, inp: TrajectoryInput, space: Space, lat0: float, locs: np.ndarray) -> pd.DataFrame:
    """Approximate centre (lat, lon) of each place code, for distance tolerance."""
    locs = np.asarray(locs, dtype=np.int64)
    if space.kind == "grid":
        lat, lon = zip(*(space.grid_centre(c, lat0) for c in locs)) if len(locs) else ((), ())
        return pd.DataFrame({"loc": locs, "lat": lat, "lon": lon})
    if space.kind == "cell" and not inp.has_place:
        lat, lon = decode_coord_code(locs)
        return pd.DataFrame({"loc": locs, "lat": lat, "lon": lon})
    if inp.places is not None:
        pm = inp.places
        if space.kind == "cell":
            key = pm["place"].to_numpy(np.int64)
        else:
            col = {"site": "site_id", "district": "district", "province": "province"}[space.kind]
            key = (pd.factorize(pm[col].astype(str), sort=True)[0] if col != "site_id"
                   else pm[col].to_numpy()).astype(np.int64)
        c = pd.DataFrame({"loc": key, "lat": pm["lat"], "lon": pm["lon"]}).groupby("loc").mean()
        return c.reindex(locs).reset_index()
    if inp.has_coords:  # place ids with coordinates in the events (e.g. venues)
        df = engine.query(f"SELECT place AS loc, AVG(lat) AS lat, AVG(lon) AS lon FROM {inp.relation} GROUP BY place")
        return df.set_index("loc").reindex(locs).reset_index()
    raise UsageError("A distance tolerance needs the coordinates of the places (cells table or lat/lon).")
