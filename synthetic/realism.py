"""Statistics that compare a population's traces with the mobility and calling literature.

All of them take the canonical tables (as a real analyst would: event positions are the positions
of the serving cells' sites) and return plain numbers. The targets live with the tests and in
REFERENCES.md, not here.

Units: distances km, times seconds (timestamps are epoch seconds UTC; local time is UTC+5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .geography import haversine_km

LOCAL_UTC_OFFSET_S = 5 * 3600


def _event_positions(events: pd.DataFrame, cells: pd.DataFrame):
    c = cells.set_index("cell_id")
    lat = c["lat"].reindex(events["cell_id"]).to_numpy()
    lon = c["lon"].reindex(events["cell_id"]).to_numpy()
    return lat, lon


def jump_lengths_km(events: pd.DataFrame, cells: pd.DataFrame) -> np.ndarray:
    """Distances between consecutive events of the same user at different sites (km, > 0).

    ``events`` must be sorted by (subscriber_id, timestamp).
    """
    lat, lon = _event_positions(events, cells)
    uid = events["subscriber_id"].to_numpy()
    same = uid[1:] == uid[:-1]
    d = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    return d[same & (d > 0)]


def fit_truncated_power_law(x: np.ndarray, x0: float, kappa: float, xmin: float, xmax: float) -> float:
    """MLE of β for P(x) ∝ (x + x0)^(−β) · e^(−x/κ) on [xmin, xmax] (grid search, resolution 0.01).

    This is the form González et al. (2008) fitted to jump lengths (x0 = 1.5 km, κ a cut-off).
    """
    x = x[(x >= xmin) & (x <= xmax)]
    grid = np.linspace(xmin, xmax, 20001)
    best, best_ll = np.nan, -np.inf
    for beta in np.arange(0.5, 3.5, 0.01):
        dens = (grid + x0) ** (-beta) * np.exp(-grid / kappa)
        norm = np.trapezoid(dens, grid)
        ll = (-beta * np.log(x + x0) - x / kappa).sum() - len(x) * np.log(norm)
        if ll > best_ll:
            best, best_ll = beta, ll
    return float(round(best, 2))


def radius_of_gyration_km(events: pd.DataFrame, cells: pd.DataFrame) -> pd.Series:
    """Radius of gyration of each user's events (km), every event weighted equally (González 2008)."""
    lat, lon = _event_positions(events, cells)
    df = pd.DataFrame({"u": events["subscriber_id"].to_numpy(), "lat": lat, "lon": lon})
    centre = df.groupby("u")[["lat", "lon"]].transform("mean")
    d = haversine_km(lat, lon, centre["lat"].to_numpy(), centre["lon"].to_numpy())
    return pd.Series(d**2, index=df["u"]).groupby(level=0).mean() ** 0.5


def visitation_exponent(events: pd.DataFrame, min_places: int = 10, ranks: int = 10) -> float:
    """ζ of f_k ~ k^(−ζ): slope of log mean visitation frequency against log rank k = 1..ranks,
    over users with at least ``min_places`` distinct cells (Song et al. 2010, Fig. 2)."""
    counts = events.groupby(["subscriber_id", "cell_id"]).size().rename("n").reset_index()
    counts = counts.sort_values(["subscriber_id", "n"], ascending=[True, False])
    counts["rank"] = counts.groupby("subscriber_id").cumcount() + 1
    counts["f"] = counts["n"] / counts.groupby("subscriber_id")["n"].transform("sum")
    places = counts.groupby("subscriber_id")["rank"].transform("max")
    sel = counts[(places >= min_places) & (counts["rank"] <= ranks)]
    mean_f = sel.groupby("rank")["f"].mean()
    slope = np.polyfit(np.log(mean_f.index.to_numpy(float)), np.log(mean_f.to_numpy()), 1)[0]
    return float(-slope)


def distinct_places_exponent(events: pd.DataFrame, start_ts: int, days: int) -> float:
    """μ of S(t) ~ t^μ: slope of log mean distinct cells seen by day t against log t, t = 1..days."""
    day = ((events["timestamp"].to_numpy() - start_ts) // 86_400).astype(np.int64)
    df = pd.DataFrame({"u": events["subscriber_id"].to_numpy(), "c": events["cell_id"].to_numpy(), "d": day})
    first = df.groupby(["u", "c"])["d"].min().reset_index()
    new_per_day = first.groupby(["u", "d"]).size().unstack(fill_value=0)
    new_per_day = new_per_day.reindex(columns=range(days), fill_value=0)
    s = new_per_day.cumsum(axis=1).mean(axis=0).to_numpy()
    t = np.arange(1, days + 1, dtype=float)
    return float(np.polyfit(np.log(t), np.log(s), 1)[0])


def night_share(events: pd.DataFrame, start_hour: int = 0, end_hour: int = 6) -> float:
    """Share of events whose local (UTC+5) hour is in [start_hour, end_hour)."""
    hour = ((events["timestamp"].to_numpy() + LOCAL_UTC_OFFSET_S) // 3600) % 24
    return float(((hour >= start_hour) & (hour < end_hour)).mean())


def contacts_per_subscriber(cdr: pd.DataFrame) -> pd.Series:
    """Distinct voice/SMS counterparts per subscriber who made or received at least one call or SMS."""
    calls = cdr[cdr["event_type"] != "data"]
    return calls.groupby("subscriber_id")["counterpart_msisdn"].nunique()


def inter_event_times_s(events: pd.DataFrame) -> np.ndarray:
    """Seconds between consecutive events of the same user (events sorted by user, time)."""
    t = events["timestamp"].to_numpy()
    u = events["subscriber_id"].to_numpy()
    return (t[1:] - t[:-1])[u[1:] == u[:-1]]
