"""Defining properties of the mobility and activity model on small populations."""

import numpy as np
import pandas as pd
from scipy import stats

from synthetic import mobility


def test_waiting_times_follow_truncated_power_law():
    rng = np.random.default_rng(1)
    slots = mobility.waiting_slots(rng, 200_000)
    hours = slots * mobility.SLOT_S / 3600
    # P(Δt > t) for the truncated Pareto(β=0.8) above 0.5 h: compare at 2 h against the exact tail.
    t = np.linspace(mobility.WAIT_MIN_H, 200, 400_001)
    dens = t ** (-1 - mobility.WAIT_BETA) * np.exp(-(t - mobility.WAIT_MIN_H) / mobility.WAIT_TAU_H)
    cdf = np.cumsum(dens) / dens.sum()
    # Slots round up to 30 min, so Δt > 2 h exactly when the drawn slot count exceeds 4.
    expected = 1 - np.interp(2.0, t, cdf)
    assert abs((hours > 2.0).mean() - expected) < 0.01


def test_no_domestic_events_while_abroad(small_population):
    tr = small_population.travel
    assert len(tr) > 0 or small_population.params["travel_rate"] == 0
    start = pd.Timestamp(small_population.params["start"]).tz_localize("Asia/Karachi")
    for table in ("cdr", "pings"):
        ev = small_population.__getattribute__(table)
        merged = ev.merge(tr, on="subscriber_id")
        local_day = pd.to_datetime(merged["timestamp"], unit="s", utc=True).dt.tz_convert("Asia/Karachi")
        day = (local_day.dt.normalize() - start).dt.days
        dep = (pd.to_datetime(merged["depart_date"]) - start.tz_localize(None)).dt.days
        ret = (pd.to_datetime(merged["return_date"]) - start.tz_localize(None)).dt.days
        strictly_inside = (day > dep) & (day < ret)
        assert not strictly_inside.any(), table


def test_nights_are_spent_at_home(small_population):
    cdr = small_population.cdr.merge(small_population.subscribers[["subscriber_id", "home_cell_id"]])
    hour = ((cdr["timestamp"] + 5 * 3600) // 3600) % 24
    at_home = cdr["cell_id"] == cdr["home_cell_id"]
    assert at_home[(hour >= 1) & (hour < 5)].mean() > 0.9
    assert at_home[(hour >= 10) & (hour < 17)].mean() < 0.7


def test_workers_are_at_work_on_weekday_mornings(small_population):
    cdr = small_population.cdr.merge(small_population.subscribers[["subscriber_id", "work_cell_id"]])
    local = pd.to_datetime(cdr["timestamp"] + 5 * 3600, unit="s")
    weekday_mid = (local.dt.day_of_week < 5) & (local.dt.hour >= 10) & (local.dt.hour < 15)
    sel = weekday_mid & cdr["work_cell_id"].notna()
    assert (cdr.loc[sel, "cell_id"] == cdr.loc[sel, "work_cell_id"]).mean() > 0.6


def test_every_event_refers_to_a_known_cell_and_subscriber(small_population):
    cells = set(small_population.cells["cell_id"])
    subs = set(small_population.subscribers["subscriber_id"])
    for t in ("cdr", "pings"):
        ev = getattr(small_population, t)
        assert ev["cell_id"].isin(cells).all()
        assert ev["subscriber_id"].isin(subs).all()
        # Sorted by subscriber, then time.
        assert (ev[["subscriber_id", "timestamp"]].diff().dropna().pipe(
            lambda d: (d["subscriber_id"] > 0) | ((d["subscriber_id"] == 0) & (d["timestamp"] >= 0)))).all()
    assert set(small_population.cdr["event_type"]) == {"voice", "sms", "data"}


def test_voice_durations_are_log_logistic(small_population):
    d = small_population.cdr.query("event_type == 'voice'")["duration_s"].to_numpy(float)
    c, loc, scale = stats.fisk.fit(d, floc=0)
    # A log-logistic fits far better than an exponential with the same mean.
    ll_fisk = stats.fisk.logpdf(d, c, 0, scale).sum()
    ll_exp = stats.expon.logpdf(d, 0, d.mean()).sum()
    assert ll_fisk > ll_exp
