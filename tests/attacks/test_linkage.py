"""Linkage: brute force on small tables, generalization-aware matching, the synthetic auxiliary table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from reidcheck.attacks.linkage import Linkage
from reidcheck.engine import get_engine
from synthetic.auxiliary import ages_at, auxiliary_table


def _compatible(rel_v, aux_v) -> bool:
    if pd.isna(aux_v) or rel_v == "*" or rel_v == aux_v:
        return True
    if "-" in str(rel_v):
        lo, hi = map(float, rel_v.split("-"))
        return lo <= float(aux_v) <= hi
    return False


release_rows = st.lists(st.tuples(st.sampled_from(["20-29", "30-39", "*", "25"]), st.sampled_from(["F", "M", "*"])),
                        min_size=1, max_size=15)
aux_rows = st.lists(st.tuples(st.sampled_from(["22", "25", "31", "45", None]), st.sampled_from(["F", "M", None])),
                    min_size=1, max_size=10)


@settings(max_examples=50, deadline=None)
@given(rel=release_rows, aux=aux_rows)
def test_linkage_equals_brute_force(rel, aux):
    release = pd.DataFrame(rel, columns=["age", "gender"]).assign(pid=[f"p{i}" for i in range(len(rel))])
    auxiliary = pd.DataFrame(aux, columns=["age", "gender"]).assign(subscriber_id=[f"u{i}" for i in range(len(aux))])
    res = Linkage(qi="age,gender").run(get_engine(), release, knowledge=auxiliary)
    sizes = [sum(all(_compatible(r[c], a[c]) for c in ("age", "gender")) for _, r in release.iterrows())
             for _, a in auxiliary.iterrows()]
    assert res.n_targets == len(aux)
    assert res.n_unique == sum(s == 1 for s in sizes)
    assert res.extra["n_no_match"] == sum(s == 0 for s in sizes)
    if any(sizes):
        assert res.anonymity_set["max"] == max(sizes)


def test_linkage_on_the_synthetic_population(small_population):
    s = small_population.subscribers
    rng = np.random.default_rng(4)
    pid = rng.permutation(len(s)) + 1_000_000
    age = ages_at(s["birth_date"], "2025-01-06")
    truth = pd.DataFrame({"pid": pid, "uid": s["subscriber_id"]})
    aux = auxiliary_table(s, fraction=0.25, missing=0.0, age_noise=0.0, seed=1)
    results = {}
    for band in (1, 10):
        lo = (age // band) * band
        release = pd.DataFrame({"pid": pid, "age": [str(a) if band == 1 else f"{a}-{a + band - 1}" for a in lo],
                                "gender": s["gender"], "home_district": s["home_district"]})
        results[band] = Linkage(qi="age,gender,home_district").run(get_engine(), release, knowledge=aux, truth=truth)
    exact, banded = results[1], results[10]
    # Clean auxiliary data: every target finds itself; unique means correct.
    assert exact.extra["n_no_match"] == 0 and exact.n_correct == exact.n_unique > 0
    assert banded.n_unique < exact.n_unique           # coarser release, fewer re-identifications
    noisy = auxiliary_table(s, fraction=0.25, missing=0.2, age_noise=0.3, seed=1)
    release = pd.DataFrame({"pid": pid, "age": age.astype(str), "gender": s["gender"], "home_district": s["home_district"]})
    res = Linkage(qi="age,gender,home_district").run(get_engine(), release, knowledge=noisy, truth=truth)
    assert res.extra["n_no_match"] > 0                 # a wrong age finds nobody (or someone else)
    assert res.n_correct <= res.n_unique


def test_auxiliary_table_is_seeded_and_partial(small_population):
    a = auxiliary_table(small_population.subscribers, fraction=0.1, missing=0.2, seed=5)
    b = auxiliary_table(small_population.subscribers, fraction=0.1, missing=0.2, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 200
    assert 0.1 < a["home_district"].isna().mean() < 0.3


def _trips(n=800, seed=0):
    rng = np.random.default_rng(seed)
    rows = [(f"x{u}", rng.choice(["SA", "AE", "OM", "QA"], p=[.5, .3, .1, .1]), f"2024-{rng.integers(1, 13):02d}")
            for u in range(n) for _ in range(rng.integers(1, 5))]
    return pd.DataFrame(rows, columns=["pid", "country", "month"])


def test_travel_linkage_grows_with_known_trips_and_scores_truth():
    from reidcheck.attacks import TravelLinkage, travel_linkage

    trips = _trips()
    rates = [TravelLinkage(known_trips=k, seed=2).run(get_engine(), trips).unique_rate["value"] for k in (1, 2, 3)]
    assert rates[0] <= rates[1] <= rates[2] and rates[2] > 0.2
    # A pseudonymized release of the same trips: every unique traveller is correctly re-identified.
    ids = trips["pid"].str[1:].astype(int)
    release = trips.assign(pid="r" + (ids * 7 + 3).astype(str))
    knowledge = trips.assign(pid=ids)
    truth = pd.DataFrame({"pid": "r" + (ids * 7 + 3).astype(str), "uid": ids}).drop_duplicates()
    res = TravelLinkage(known_trips=2, seed=2).run(get_engine(), release, knowledge=knowledge, truth=truth)
    assert res.rule_id == "RC501" and res.n_correct == res.n_unique > 0
    assert res.n_candidates == release["pid"].nunique() and res.baseline_rate == 1 / res.n_candidates
    # the module-level function is a thin wrapper: the same result
    old = travel_linkage(get_engine(), release, known_trips=2, seed=2, knowledge=knowledge, truth=truth)
    assert {k: v for k, v in old.to_dict().items() if k != "elapsed_s"} == \
        {k: v for k, v in res.to_dict().items() if k != "elapsed_s"}


def test_travel_from_a_population_directory(tmp_path, capsys):
    import json

    from reidcheck.cli import main
    from synthetic import write_population

    write_population(tmp_path / "p", 3000, 7, seed=3, travel_rate=2.0)
    assert main(["attack", "travel", str(tmp_path / "p"), "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["attack"] == "travel" and doc["n_targets"] > 0
