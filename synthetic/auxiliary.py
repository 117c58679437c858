"""Auxiliary tables an outsider could hold about the synthetic subscribers (e.g. a leaked list).

``auxiliary_table`` draws a share of the people and keeps name, age, gender and home district, with
some fields missing and some ages off by a year — as in real leaked or scraped lists. The
``subscriber_id`` column is the ground truth for scoring, not something the adversary would have.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def ages_at(birth_date: pd.Series, day) -> np.ndarray:
    """Age in whole years on ``day``."""
    b = pd.to_datetime(birth_date)
    d = pd.Timestamp(day)
    before = (b.dt.month > d.month) | ((b.dt.month == d.month) & (b.dt.day > d.day))
    return (d.year - b.dt.year - before.astype(int)).to_numpy()


def auxiliary_table(subscribers: pd.DataFrame, *, fraction: float = 0.1, missing: float = 0.1,
                    age_noise: float = 0.05, day="2025-01-06", seed: int = 0) -> pd.DataFrame:
    """A seeded auxiliary table: ``fraction`` of the subscribers; each of age, gender and home district
    (``home_district``, named as in the generator's and a release's subscribers table) is missing with probability ``missing``; an age is off by ±1 year with probability ``age_noise``."""
    if not 0 < fraction <= 1 or not 0 <= missing < 1 or not 0 <= age_noise <= 1:
        raise ValueError("fraction must be in (0, 1], missing in [0, 1), age_noise in [0, 1]")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))
    pick = np.sort(rng.choice(len(subscribers), size=max(1, int(round(fraction * len(subscribers)))), replace=False))
    s = subscribers.iloc[pick]
    age = ages_at(s["birth_date"], day) + np.where(rng.random(len(s)) < age_noise, rng.choice([-1, 1], len(s)), 0)
    out = pd.DataFrame({
        "subscriber_id": s["subscriber_id"].to_numpy(),
        "name": s["name"].to_numpy(),
        "age": pd.array(age, dtype="Int64"),
        "gender": s["gender"].astype("string").to_numpy(),
        "home_district": s["home_district"].astype("string").to_numpy(),
    })
    for col in ("age", "gender", "home_district"):
        out.loc[rng.random(len(out)) < missing, col] = pd.NA
    return out.reset_index(drop=True)
