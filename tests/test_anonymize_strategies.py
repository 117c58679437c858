"""Trajectory strategies and releases: each strategy's defining property."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from reidcheck.anonymize.aggregate import dp_noise
from reidcheck.anonymize.generalize import bin_start
from reidcheck.anonymize.perturb import planar_laplace_cdf, planar_laplace_radius
from reidcheck.anonymize.release import TRUTH_SUFFIX, Release
from reidcheck.anonymize.strategies import apply_strategies, parse_strategy
from reidcheck.errors import UsageError
from reidcheck.secrets import ReleaseKey
from reidcheck.utility import haversine_km, trajectory_utility


@pytest.fixture(scope="module")
def base(small_population) -> Release:
    return Release.from_population(small_population)


def test_planar_laplace_inverse_cdf_matches_the_closed_form():
    eps = 0.7
    r = planar_laplace_radius(np.random.default_rng(1).random(50_000), eps)
    assert stats.kstest(r, lambda x: planar_laplace_cdf(x, eps)).pvalue > 0.01
    assert abs(r.mean() - 2 / eps) < 0.03 * (2 / eps)


@pytest.mark.parametrize("eps", [0.5, 2.0])
def test_geo_noise_displacements_follow_planar_laplace(base, eps):
    rel = apply_strategies(base, [f"geo-noise:epsilon={eps}"], seed=4)
    ev, o = rel.events, base.events
    d = haversine_km(o["lat"].to_numpy()[ev["_row"]], o["lon"].to_numpy()[ev["_row"]], ev["lat"], ev["lon"])
    sample = d[:20_000]
    assert stats.kstest(sample, lambda x: planar_laplace_cdf(x, eps)).pvalue > 0.001
    # directions are uniform: bearing of the displacement
    dy = (ev["lat"].to_numpy() - o["lat"].to_numpy()[ev["_row"]])[:20_000]
    dx = (ev["lon"].to_numpy() - o["lon"].to_numpy()[ev["_row"]])[:20_000] * np.cos(np.radians(ev["lat"][:20_000]))
    theta = np.mod(np.arctan2(dy, dx), 2 * np.pi)
    assert stats.kstest(theta, "uniform", args=(0, 2 * np.pi)).pvalue > 0.001
    assert rel.places is None and rel.events["place"].isna().all()


def test_geo_noise_per_place_reuses_one_displacement(base):
    rel = apply_strategies(base, ["geo-noise:epsilon=1,per=place"], seed=4)
    key = base.events.loc[rel.events["_row"], ["subscriber_id", "place"]].to_numpy()
    df = pd.DataFrame({"u": key[:, 0], "p": key[:, 1], "lat": rel.events["lat"].to_numpy()})
    assert (df.groupby(["u", "p"])["lat"].nunique() == 1).all()


def test_generalize_space_and_time(base):
    rel = apply_strategies(base, ["generalize-space:level=district", "generalize-time:bin=1d"], seed=0)
    cells = base.cells.set_index("cell_id")
    true_district = cells["district"].reindex(base.events["place"].to_numpy()).to_numpy()
    released = rel.places.set_index("place")["district"].reindex(rel.events["place"].to_numpy()).to_numpy()
    assert (released == true_district[rel.events["_row"]]).all()
    centre = cells.groupby("district")[["lat", "lon"]].mean()
    assert np.allclose(rel.events["lat"], centre["lat"].reindex(released).to_numpy())
    local = rel.events["timestamp"].to_numpy() + 5 * 3600
    assert (local % 86_400 == 0).all()
    delta = base.events["timestamp"].to_numpy()[rel.events["_row"]] - rel.events["timestamp"].to_numpy()
    assert delta.min() >= 0 and delta.max() < 86_400
    # the knowledge map sends each cell to its district's code
    assert (rel.cell_to_place.reindex(base.events["place"].to_numpy()).to_numpy() ==
            rel.events["place"].to_numpy(np.int64)).all()
    with pytest.raises(UsageError, match="finer"):
        apply_strategies(rel, ["generalize-space:level=site"], seed=0)


def test_grid_generalization_puts_records_in_their_square(base):
    rel = apply_strategies(base, ["generalize-space:level=grid:5km"], seed=0)
    d = haversine_km(base.events["lat"], base.events["lon"], rel.events["lat"], rel.events["lon"])
    assert d.max() < 5 * np.sqrt(2) / 2 + 0.05     # within half the square's diagonal of its centre


def test_suppress_meets_every_threshold_at_once(base):
    rel = apply_strategies(base, ["suppress:places=15,points=3,events=30"], seed=0)
    ev = rel.events
    assert 0 < len(ev) < len(base.events)
    assert ev.groupby("place")["subscriber_id"].nunique().min() >= 15
    b = bin_start(ev["timestamp"].to_numpy(), 3600, 5.0)
    assert ev.assign(b=b).groupby(["place", "b"])["subscriber_id"].nunique().min() >= 3
    assert ev.groupby("subscriber_id").size().min() >= 30
    # only removes: every released row is an original row, unchanged
    o = base.events.iloc[ev["_row"]]
    assert (o["timestamp"].to_numpy() == ev["timestamp"].to_numpy()).all()


def test_topn_keeps_each_users_most_frequent_places(base):
    rel = apply_strategies(base, ["topn:n=2"], seed=0)
    assert rel.events.groupby("subscriber_id")["place"].nunique().max() <= 2
    counts = base.events.groupby(["subscriber_id", "place"]).size()
    kept = rel.events.groupby(["subscriber_id", "place"]).size()
    assert (kept == counts.reindex(kept.index)).all()           # all records at a kept place
    for uid in rel.events["subscriber_id"].unique()[:200]:
        c = counts.loc[uid].sort_values(ascending=False)
        threshold = c.iloc[min(1, len(c) - 1)]
        assert (counts.loc[uid].reindex(kept.loc[uid].index) >= threshold).all()


def test_jitter_and_subsampling(base):
    rel = apply_strategies(base, ["jitter:minutes=30"], seed=2)
    dt = rel.events["timestamp"].to_numpy() - base.events["timestamp"].to_numpy()
    assert np.abs(dt).max() <= 1800 and abs(dt.mean()) < 10 and dt.std() > 900
    sub = apply_strategies(base, ["subsample:users=0.3"], seed=2)
    n = base.n_users
    kept = sub.n_users
    assert abs(kept / n - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)
    full = base.events.groupby("subscriber_id").size()
    assert (sub.events.groupby("subscriber_id").size() == full.reindex(sub.events["subscriber_id"].unique())).all()
    assert set(sub.qi["subscriber_id"]) >= set(sub.events["subscriber_id"])


def test_aggregate_counts_suppression_and_noise(base):
    plain = apply_strategies(base, ["generalize-space:level=district", "aggregate:bin=1h,min_count=5"], seed=0)
    assert plain.events is None and plain.qi is None and "pid" not in plain.presence.columns
    assert plain.presence["users"].min() >= 5
    o = base.events
    true = pd.DataFrame({"u": o["subscriber_id"], "p": plain.cell_to_place.reindex(o["place"].to_numpy()).to_numpy(),
                         "b": bin_start(o["timestamp"].to_numpy(), 3600, 5.0)}).drop_duplicates()
    true = true.groupby(["p", "b"]).size()
    got = plain.presence.set_index(["place", "timestamp"])["users"]
    assert (got == true.reindex(got.index)).all()
    assert (true >= 5).sum() == len(got)
    noisy = apply_strategies(base, ["generalize-space:level=district",
                                    "aggregate:bin=1h,min_count=0,epsilon=2,max_cells=4"], seed=0)
    # with min_count=0 every cell of the public domain is released (zeros too, noise on all of them)
    n_places = len(plain.places)
    assert noisy.presence["users"].min() >= 1 and len(noisy.presence) <= n_places * 24 * 8
    pub = noisy.publish(seed=0)
    assert set(pub.tables) == {"presence", "cells"} and len(pub.truth) == 0


def test_dp_noise_has_the_stated_scale():
    rng = np.random.default_rng(3)
    lap = dp_noise(40_000, epsilon=0.5, max_cells=4, mechanism="laplace", rng=rng)
    assert stats.kstest(lap, "laplace", args=(0, 4 / 0.5)).pvalue > 0.001
    gau = dp_noise(40_000, epsilon=0.5, max_cells=4, mechanism="gaussian", delta=1e-5, rng=rng)
    sigma = 2 * np.sqrt(2 * np.log(1.25 / 1e-5)) / 0.5
    assert stats.kstest(gau, "norm", args=(0, sigma)).pvalue > 0.001


def test_contribution_bound_limits_each_user(base):
    """With max_cells=1 and negligible noise every user is counted in at most one cell."""
    rel = apply_strategies(base, ["generalize-space:level=district",
                                  "aggregate:bin=1d,min_count=0,epsilon=1e9,max_cells=1"], seed=5)
    assert rel.presence["users"].sum() == base.n_users
    with pytest.raises(UsageError):
        apply_strategies(base, ["aggregate:epsilon=-1"], seed=0)


def test_same_key_and_seed_same_release_bytes(base, tmp_path):
    chain = ["generalize-time:bin=1h", "geo-noise:epsilon=1", "jitter:minutes=5", "subsample:records=0.8", "rotate"]
    digests = []
    key = ReleaseKey(b"same key, same seed, same bytes")
    for i, seed in enumerate((9, 9, 10)):
        pub = apply_strategies(base, chain, seed=seed, key=key).publish(seed=seed)
        out = tmp_path / f"r{i}"
        pub.write(out)
        digests.append(hashlib.sha256((out / "cdr.parquet").read_bytes()).hexdigest())
    assert digests[0] == digests[1] != digests[2]


def test_release_files_hold_no_direct_identifier(small_population, base, tmp_path):
    subs = small_population.subscribers
    secrets = set(subs["msisdn"]) | set(subs["cnic"]) | set(subs["name"])
    secrets |= set(small_population.cdr["counterpart_msisdn"].dropna())
    pub = apply_strategies(base, ["hash", "generalize-qi:age=10"], seed=1).publish(seed=1)
    out = tmp_path / "rel"
    truth = pub.write(out)
    assert truth.name == "rel" + TRUTH_SUFFIX and truth.parent == tmp_path and not (out / truth.name).exists()
    for f in out.glob("*.parquet"):
        table = pq.read_table(f).to_pandas()
        assert "subscriber_id" not in table.columns
        for col in table.columns:
            if table[col].dtype == object or str(table[col].dtype).startswith("str"):
                assert not secrets & set(table[col].dropna().astype(str)), (f.name, col)
    with pytest.raises(UsageError, match="inside"):
        pub.write(tmp_path / "rel2", truth_path=tmp_path / "rel2" / "truth.parquet")
    with pytest.raises(UsageError, match="not empty"):
        pub.write(out)


def test_strategy_specs_are_checked():
    assert parse_strategy("generalize-space:level=grid:5km").params == {"level": "grid:5km"}
    assert parse_strategy("geo-noise:epsilon=0.5").params == {"epsilon": 0.5}
    for bad, msg in (("nope", "Unknown strategy"), ("topn:m=2", "no parameter"), ("topn:n", "key=value"),
                     ("topn:n=1,n=2", "twice")):
        with pytest.raises(UsageError, match=msg):
            parse_strategy(bad)


def test_strategies_that_cannot_follow_others(base):
    with pytest.raises(UsageError, match="before 'geo-noise'"):
        apply_strategies(base, ["geo-noise:epsilon=1", "topn:n=2"], seed=0)
    with pytest.raises(UsageError, match="aggregate"):
        apply_strategies(base, ["aggregate", "jitter:minutes=1"], seed=0)
    with pytest.raises(UsageError, match="no pid"):
        apply_strategies(base, ["hash", "aggregate"], seed=0)


def test_utility_of_the_unchanged_release_is_perfect(base):
    u = trajectory_utility(base, base)
    assert u["records_retained"] == 1.0 and u["count_error"] == 0.0 and u["od_error"] == 0.0
    assert u["spatial_error_km"]["p95"] == 0.0 and u["rg_w1_km"] == 0.0
    coarse = trajectory_utility(base, apply_strategies(base, ["generalize-space:level=province"], seed=0))
    assert coarse["spatial_error_km"]["mean"] > 10 and coarse["rg_w1_km"] > 0
