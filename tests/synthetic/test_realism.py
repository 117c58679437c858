"""Realism of the synthetic traces, against targets from the literature (REFERENCES.md).

Each check names its target and its source. The population is 20,000 subscribers × 28 days
(fixture ``realism_population``); figures are computed from the CDR as an analyst would see it,
with event positions at the serving sites. Tolerances come from the published estimates, never
from this generator's output.
"""

import numpy as np
import pandas as pd
import pytest

from synthetic import realism

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def pop(realism_population):
    return realism_population


def test_jump_length_exponent(pop):
    """González et al. 2008 (Nature): P(Δr) ∝ (Δr + 1.5 km)^(−β) e^(−Δr/κ), β = 1.75 ± 0.15, κ = 400 km.
    Tolerance ±2 × 0.15. Fitted above 10 km: at 20k subscribers sites are several km apart, so
    shorter jumps are not resolved by the network (as in any CDR data set)."""
    jumps = realism.jump_lengths_km(pop.cdr, pop.cells)
    beta = realism.fit_truncated_power_law(jumps, x0=1.5, kappa=400.0, xmin=10.0, xmax=500.0)
    assert 1.45 <= beta <= 2.05, beta


def test_radius_of_gyration(pop):
    """REFERENCES.md: r_g heavy-tailed, median of a few km to ~15 km (González 2008, κ ≈ 350 km)."""
    rg = realism.radius_of_gyration_km(pop.cdr, pop.cells)
    median = rg.median()
    assert 2.0 <= median <= 15.0, median
    # Heavy tail: the upper percentiles reach far beyond the median (tens to hundreds of km).
    assert rg.quantile(0.95) > 4 * median
    assert rg.quantile(0.99) > 50.0


def test_visitation_frequency_zipf(pop):
    """Song et al. 2010 / REFERENCES.md: f_k ~ k^(−ζ), ζ ≈ 1.2 ± 0.1."""
    zeta = realism.visitation_exponent(pop.cdr, min_places=10, ranks=10)
    assert 1.1 <= zeta <= 1.3, zeta


def test_distinct_places_growth(pop):
    """REFERENCES.md (secondary): S(t) ~ t^μ, μ ≈ 0.6; band ±0.15 since the figure is secondary."""
    start = int(pd.Timestamp(pop.params["start"]).timestamp()) - 5 * 3600
    mu = realism.distinct_places_exponent(pop.cdr, start, pop.params["days"])
    assert 0.45 <= mu <= 0.75, mu


def test_night_trough(pop):
    """Daily profile with a night trough (Candia et al. 2008; Jo et al. 2012): far fewer events
    between 00:00 and 06:00 local than the uniform 25%; 2–12% in published daily profiles."""
    share = realism.night_share(pop.cdr, 0, 6)
    assert 0.02 <= share <= 0.12, share


def test_call_duration_median(pop):
    """REFERENCES.md (secondary): median call a minute or two."""
    median = pop.cdr.loc[pop.cdr["event_type"] == "voice", "duration_s"].median()
    assert 60 <= median <= 120, median


def test_bursty_inter_event_times(pop):
    """Candia et al. 2008: inter-event times heavy-tailed and bursty, coefficient of variation
    well above 1 (a Poisson process has exactly 1)."""
    iet = realism.inter_event_times_s(pop.cdr).astype(float)
    cv = iet.std() / iet.mean()
    assert cv > 1.5, cv
    assert np.quantile(iet, 0.1) < 600 < 86_400 < np.quantile(iet, 0.99)


def test_contacts_per_subscriber(pop):
    """Ego networks in CDR studies: a handful to a few tens of distinct contacts a month (Onnela et al.
    2007, PNAS: mean degree 3.3 in the reciprocal network; Miritello et al. 2013: ~5–20 monthly),
    with traffic concentrated on the strongest ties. Not in REFERENCES.md: source named here."""
    contacts = realism.contacts_per_subscriber(pop.cdr)
    assert 3 <= contacts.median() <= 30, contacts.median()
    calls = pop.cdr[pop.cdr["event_type"] != "data"]
    top_share = (calls.groupby(["subscriber_id", "counterpart_msisdn"]).size()
                 .groupby(level=0).agg(lambda s: s.max() / s.sum()))
    assert top_share.median() > 0.2
    # Counterparts are other subscribers where on-network.
    on_net = calls["counterpart_msisdn"].isin(set(pop.subscribers["msisdn"])).mean()
    assert 0.4 < on_net < 0.9


def test_travellers(pop):
    """REFERENCES.md: ~0.8–0.95M registered emigrant workers a year over ~191M subscriptions is a floor
    on the share abroad; destinations Saudi Arabia about half, UAE about a quarter."""
    n, days = pop.params["subscribers"], pop.params["days"]
    share = pop.travel["subscriber_id"].nunique() / n
    assert share >= 0.8e6 / 191e6 * days / 365
    assert share < 0.05
    dest = pop.travel["country"].value_counts(normalize=True)
    k = len(pop.travel)
    assert abs(dest.get("SA", 0) - 0.5) < 3 * np.sqrt(0.25 / k)
    assert abs(dest.get("AE", 0) - 0.25) < 3 * np.sqrt(0.1875 / k)


@pytest.mark.parametrize("points, low, high", [(2, 0.40, 0.60), (4, 0.90, 0.98)])
def test_unicity_at_cell_hour(pop, points, low, high):
    """REFERENCES.md realism target (de Montjoye et al. 2013): at antenna × 1 h, p = 4 → 0.90–0.98
    unique, p = 2 → 0.4–0.6. Brute force on 2,000 targets: the estimate must lie in the band (its 95%
    Wilson interval, ±0.02 here, only describes the sampling of targets)."""
    from tests.oracles import unicity_bruteforce

    cdr = pop.cdr
    scored, unique, _ = unicity_bruteforce(cdr["subscriber_id"].to_numpy(), cdr["timestamp"].to_numpy() // 3600,
                                           cdr["cell_id"].to_numpy(), points, targets=2000, seed=1)
    p, z = unique / scored, 1.96
    centre = (unique + z * z / 2) / (scored + z * z)
    half = z * np.sqrt(unique * (scored - unique) / scored + z * z / 4) / (scored + z * z)
    assert low <= p <= high, (p, centre - half, centre + half)
