"""International travel: who leaves the country during the window, where to, and for how long.

Trips start as a Poisson process of ``rate_per_year`` departures per subscriber; one trip at most per
subscriber in the window. Destinations follow Pakistan's emigration and pilgrimage flows
(REFERENCES.md: Saudi Arabia about half, UAE about a quarter, then Oman, Qatar, Malaysia, Bahrain).
A share of departures are emigrant workers who stay abroad for months to years; the rest are visits
(pilgrimage, family, business) of days to weeks. While abroad a subscriber has no domestic events;
the ``travel`` table holds the roaming record of each trip (country, departure and return date).
"""

from __future__ import annotations

import numpy as np

DESTINATIONS = np.array(["SA", "AE", "OM", "QA", "MY", "BH", "GB", "CN", "TR"], dtype=object)
DESTINATION_WEIGHTS = np.array([0.50, 0.25, 0.08, 0.07, 0.04, 0.03, 0.015, 0.01, 0.005])
#: Default departures per subscriber per year. Registered emigrant workers alone are 0.8–0.95M a year
#: over ~191M subscriptions (~0.5%, REFERENCES.md); with pilgrims and visitors the share is larger.
DEFAULT_RATE_PER_YEAR = 0.03
EMIGRANT_SHARE = 0.2
LOOKBACK_DAYS = 60


def draw_trips(rng: np.random.Generator, n: int, days: int,
               rate_per_year: float) -> dict[str, np.ndarray]:
    """One optional trip per agent, in days from local midnight of day 0 (float, may be < 0 or > days).

    Returns arrays over agents: ``travels`` (bool), ``depart`` and ``ret`` (days), ``country`` (index).
    """
    span = days + LOOKBACK_DAYS
    p = 1.0 - np.exp(-rate_per_year * span / 365.0)
    travels = rng.random(n) < p
    depart = -LOOKBACK_DAYS + rng.random(n) * span
    emigrant = rng.random(n) < EMIGRANT_SHARE
    duration = np.where(emigrant, rng.uniform(180, 730, n),
                        np.clip(rng.lognormal(np.log(14.0), 0.5, n), 3, 60))
    ret = depart + duration
    travels &= (ret > 0) & (depart < days)
    country = rng.choice(len(DESTINATIONS), size=n, p=DESTINATION_WEIGHTS / DESTINATION_WEIGHTS.sum())
    return {"travels": travels, "depart": depart, "ret": ret, "country": country}
