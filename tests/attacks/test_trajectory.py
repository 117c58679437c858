"""Trajectory attacks against brute-force oracles, properties, inputs and the generator loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reidcheck.attacks import HomeWork, KnownPoints, TopN, Unicity, UnicityCurve, known_points_attack, unicity_curve
from reidcheck.engine import get_engine
from reidcheck.errors import UsageError
from reidcheck.io import load_trajectories
from tests.oracles import topn_oracle, unicity_oracle

HYP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


traces_strategy = st.lists(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4)), min_size=0, max_size=10),
    min_size=1, max_size=8,
).map(lambda users: pd.DataFrame(
    [(u, tb * 3600 + 7 * k, loc) for u, evs in enumerate(users) for k, (tb, loc) in enumerate(evs)],
    columns=["subscriber_id", "timestamp", "cell_id"]).astype("int64"))


@HYP
@given(df=traces_strategy, points=st.integers(1, 3), seed=st.integers(0, 2**31 - 2),
       targets=st.one_of(st.none(), st.integers(1, 8)))
def test_unicity_equals_oracle(df, points, seed, targets):
    if df.empty:
        return
    engine = get_engine()
    inp = load_trajectories(engine, df)
    res = Unicity(points=points, targets=targets if targets else "all", seed=seed).run(engine, inp)
    sizes, skipped = unicity_oracle(df["subscriber_id"], df["timestamp"] // 3600, df["cell_id"], points,
                                    targets, seed)
    assert res.n_skipped == skipped
    assert res.n_targets == len(sizes)
    assert res.n_unique == sum(1 for v in sizes.values() if v == 1)
    if sizes:
        vals = np.array(sorted(sizes.values()))
        assert res.anonymity_set["min"] == vals.min() and res.anonymity_set["max"] == vals.max()
        for q, key in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
            assert res.anonymity_set[key] == np.quantile(vals, q, method="inverted_cdf"), key
        assert sum(res.anonymity_set["histogram"].values()) == len(sizes)
    # Every rate lies in [0, 1] and its interval contains it.
    if res.n_targets:
        u = res.unique_rate
        assert 0 <= u["ci"][0] <= u["value"] <= u["ci"][1] <= 1


@HYP
@given(df=traces_strategy, seed=st.integers(0, 1000))
def test_duplicated_users_are_never_unique(df, seed):
    if df.empty:
        return
    twin = df.assign(subscriber_id=df["subscriber_id"] + 1000)
    engine = get_engine()
    inp = load_trajectories(engine, pd.concat([df, twin], ignore_index=True))
    for p in (1, 2, 3):
        res = Unicity(points=p, targets="all", seed=seed).run(engine, inp)
        assert res.n_unique == 0
        if res.n_targets:
            assert res.anonymity_set["min"] >= 2


@HYP
@given(df=traces_strategy, seed=st.integers(0, 1000), points=st.integers(1, 4))
def test_coarsening_never_increases_uniqueness_for_the_same_draw(df, seed, points):
    """The same raw known points, matched at 1 h then 2 h, and at cell then site (cell // 3)."""
    if df.empty:
        return
    rng = np.random.default_rng(seed)
    known = df.sample(frac=1.0, random_state=rng).groupby("subscriber_id").head(points)
    known = known.rename(columns={"subscriber_id": "target"})
    cells = pd.DataFrame({"cell_id": np.arange(5), "lat": 30.0 + np.arange(5) * 0.01, "lon": 70.0,
                          "site_id": np.arange(5) // 3, "district": "A", "province": "B"})
    engine = get_engine()
    inp = load_trajectories(engine, df, cells=cells)
    results = {(tb, sp): KnownPoints(time_bin=tb, space=sp).run(engine, inp, knowledge=known)
               for tb in ("1h", "2h") for sp in ("cell", "site", "district")}
    wrapped = known_points_attack(engine, inp, known, time_bin="1h", space="cell")   # the thin wrapper
    assert wrapped.n_unique == results[("1h", "cell")].n_unique
    fine = results[("1h", "cell")]
    for key, res in results.items():
        assert res.n_targets == fine.n_targets
        assert res.n_unique <= fine.n_unique, key
        assert res.anonymity_set["p50"] >= fine.anonymity_set["p50"]
    assert results[("2h", "site")].n_unique <= results[("1h", "site")].n_unique
    assert results[("2h", "district")].n_unique <= results[("2h", "site")].n_unique


def test_tolerance_only_grows_anonymity_sets(small_population):
    engine = get_engine()
    inp = load_trajectories(engine, small_population.cdr, cells=small_population.cells, utc_offset_h=5)
    exact = Unicity(points=3, targets=400, seed=3).run(engine, inp)
    loose = Unicity(points=3, targets=400, seed=3, time_tolerance=1, space_tolerance_km=5).run(engine, inp)
    assert loose.n_targets == exact.n_targets
    assert loose.n_unique <= exact.n_unique
    assert loose.anonymity_set["p90"] >= exact.anonymity_set["p90"]


def test_topn_equals_oracle(small_population):
    engine = get_engine()
    cdr = small_population.cdr
    inp = load_trajectories(engine, cdr)
    for n in (1, 2, 3):
        res = TopN(n=n).run(engine, inp)
        sizes, skipped = topn_oracle(cdr["subscriber_id"], cdr["cell_id"], n)
        assert res.n_skipped == skipped
        assert res.n_targets == len(sizes)
        assert res.n_unique == sum(v == 1 for v in sizes.values())
        assert res.anonymity_set["max"] == max(sizes.values())


def test_homework_equals_pandas(small_population):
    engine = get_engine()
    cdr = small_population.cdr
    inp = load_trajectories(engine, cdr, utc_offset_h=5)
    res = HomeWork().run(engine, inp)
    local = pd.to_datetime(cdr["timestamp"] + 5 * 3600, unit="s")
    h, dow = local.dt.hour, local.dt.day_of_week

    def top(mask):
        c = cdr[mask].groupby(["subscriber_id", "cell_id"]).size().rename("c").reset_index()
        c = c.sort_values(["subscriber_id", "c", "cell_id"], ascending=[True, False, True])
        return c.groupby("subscriber_id").head(1).set_index("subscriber_id")["cell_id"]

    pair = pd.concat([top((h >= 22) | (h < 6)).rename("home"),
                      top((h >= 9) & (h < 17) & (dow < 5)).rename("work")], axis=1, join="inner")
    size = pair.groupby(["home", "work"])["home"].transform("size")
    assert res.n_targets == len(pair)
    assert res.n_unique == int((size == 1).sum())
    assert res.n_skipped == cdr["subscriber_id"].nunique() - len(pair)
    # The generator's anchors: the inferred home is the true home for most people (not all: evening
    # outings fall inside 22:00-06:00 and light users have few night events).
    truth = small_population.subscribers.set_index("subscriber_id")["home_cell_id"]
    assert (pair["home"] == truth.reindex(pair.index)).mean() > 0.7


def test_correct_reidentification_with_truth_map(small_population):
    """A release whose only protection is a pseudonym: every unique target is correctly re-identified;
    with a wrong truth map, correct re-identifications collapse."""
    cdr = small_population.cdr
    rng = np.random.default_rng(0)
    ids = cdr["subscriber_id"].unique()
    pid = dict(zip(ids, rng.permutation(len(ids)) + 10_000_000))
    release_df = cdr.assign(subscriber_id=cdr["subscriber_id"].map(pid))
    truth = pd.DataFrame({"pid": list(pid.values()), "uid": list(pid.keys())})
    engine = get_engine()
    release = load_trajectories(engine, release_df, relation="release")
    knowledge = load_trajectories(engine, cdr, relation="knowledge")
    res = Unicity(points=3, targets=500, seed=1).run(engine, release, knowledge=knowledge, truth=truth)
    assert res.n_correct == res.n_unique > 0
    assert res.correct_rate["value"] == res.unique_rate["value"]
    wrong = truth.assign(uid=rng.permutation(truth["uid"].to_numpy()))
    bad = Unicity(points=3, targets=500, seed=1).run(engine, release, knowledge=knowledge, truth=wrong)
    assert bad.n_unique == res.n_unique and bad.n_correct < res.n_unique * 0.05
    # Without a truth map there is no correctness figure.
    plain = Unicity(points=3, targets=500, seed=1).run(engine, release)
    assert plain.n_correct is None and plain.correct_rate is None


def test_curve_reuses_targets_and_falls_with_resolution(small_population):
    engine = get_engine()
    inp = load_trajectories(engine, small_population.cdr, cells=small_population.cells, utc_offset_h=5)
    curve = UnicityCurve(max_points=4, resolutions=(("1h", "cell"), ("1d", "district")), targets=500,
                         seed=2).run(engine, inp)
    assert len(curve) == 8
    wrapped = unicity_curve(engine, inp, max_points=4, resolutions=[("1h", "cell"), ("1d", "district")],
                            targets=500, seed=2)
    assert [r.n_unique for r in wrapped] == [r.n_unique for r in curve]
    fine = [r.unique_rate["value"] for r in curve[:4]]
    coarse = [r.unique_rate["value"] for r in curve[4:]]
    assert fine == sorted(fine)               # more points, more unique (same targets, nested draws)
    assert all(c <= f for c, f in zip(coarse, fine))
    single = Unicity(points=3, targets=500, seed=2).run(engine, inp)
    assert single.n_unique == curve[2].n_unique and single.n_skipped == curve[2].n_skipped


def test_same_seed_same_result_other_seed_other_targets(small_population):
    engine = get_engine()
    inp = load_trajectories(engine, small_population.cdr)
    a = Unicity(points=2, targets=300, seed=5).run(engine, inp).to_dict()
    b = Unicity(points=2, targets=300, seed=5).run(engine, inp).to_dict()
    c = Unicity(points=2, targets=300, seed=6).run(engine, inp).to_dict()
    for d in (a, b, c):
        d.pop("elapsed_s")
    assert a == b and a != c


@pytest.mark.parametrize("kwargs, needle", [
    ({"points": 0}, "`points`"), ({"points": 11}, "`points`"), ({"targets": 0}, "`targets`"),
    ({"targets": "some"}, "`targets`"), ({"time_bin": "1x"}, "`time_bin`"), ({"space": "grid:0km"}, "`space`"),
    ({"space": "county"}, "`space`"), ({"seed": -1}, "`seed`"), ({"time_tolerance": -1}, "`time_tolerance`"),
])
def test_bad_parameters(kwargs, needle):
    with pytest.raises(UsageError, match=needle):
        Unicity(**kwargs).validate()


def test_closing_the_loop_with_the_generator(realism_population):
    """Issue target: at cell × 1 h on 20k × 28 days, ε_4 in 0.85–0.99 and ε_2 in 0.35–0.75, and ε_4
    falls as space or time is coarsened."""
    pop = realism_population
    engine = get_engine()
    inp = load_trajectories(engine, pop.cdr, cells=pop.cells, utc_offset_h=5)
    eps = {p: Unicity(points=p, seed=1).run(engine, inp) for p in (2, 4)}
    assert eps[4].n_targets + eps[4].n_skipped == 10_000
    assert 0.35 <= eps[2].unique_rate["value"] <= 0.75, eps[2].unique_rate
    assert 0.85 <= eps[4].unique_rate["value"] <= 0.99, eps[4].unique_rate
    e4 = eps[4].unique_rate["value"]
    for tb, sp in (("4h", "cell"), ("1h", "site"), ("1h", "grid:5km"), ("1h", "district")):
        coarse = Unicity(points=4, seed=1, time_bin=tb, space=sp).run(engine, inp)
        assert coarse.unique_rate["value"] < e4, (tb, sp, coarse.unique_rate)


def test_interface_parameters_and_baseline(small_population):
    """Every attack: keyword-only, frozen, parameters only; the baseline is 1 / users of the release."""
    import dataclasses

    from reidcheck.errors import UsageError

    engine = get_engine()
    inp = load_trajectories(engine, small_population.cdr, cells=small_population.cells, utc_offset_h=5)
    users = int(small_population.cdr["subscriber_id"].nunique())
    for attack in (Unicity(points=2, targets=200, seed=1), TopN(n=2), HomeWork(space="site")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            attack.seed = 3
        with pytest.raises(TypeError):
            type(attack)(2)                        # keyword-only
        res = attack.run(engine, inp)
        assert res.n_candidates == users and res.baseline_rate == pytest.approx(1 / users)
        assert res.params == attack.params()
        assert res.to_dict()["baseline_rate"] == res.baseline_rate
    with pytest.raises(UsageError, match=r"Parameter `points` must be an integer between 1 and 10\. Got 0"):
        Unicity(points=0).validate()
    with pytest.raises(UsageError, match="`max_points`"):
        UnicityCurve(max_points=11).validate()
    with pytest.raises(UsageError, match="`space_tolerance_km`"):
        Unicity(space_tolerance_km=-1).validate()
    with pytest.raises(UsageError, match="`knowledge`"):
        TopN().run(engine, inp, knowledge=inp)
