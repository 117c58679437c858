"""Membership inference on aggregates (reidcheck.attacks.membership): the likelihood against
simulation, the AUC helpers against brute force, the game's figures on a synthetic population
(raw counts of small groups are exposed; DP pushes the AUC to chance), the given-release mode, and
parameter checks."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from reidcheck.anonymize.aggregate import aggregate
from reidcheck.anonymize.release import Release
from reidcheck.attacks.membership import (MembershipInference, _loglik, _Mechanism, best_threshold, roc_auc)
from reidcheck.errors import UsageError
from reidcheck.rules import rule_id

TRIALS = 200


@pytest.fixture(scope="module")
def population(small_population) -> Release:
    return Release.from_population(small_population)


@pytest.fixture(scope="module")
def by_epsilon(population) -> dict:
    """The same 200 trials (seed 0: same targets, groups and standardized noise) at four budgets."""
    return {eps: MembershipInference(group_size=50, epsilon=eps, trials=TRIALS, seed=0).run(None, population)
            for eps in (None, 10.0, 1.0, 0.1)}


def _auc(res) -> float:
    return res.extra["auc"]["value"]


# -- the likelihood and the figures against plain computations ----------------------------------
@pytest.mark.parametrize("mech", [
    _Mechanism(epsilon=None, mechanism="laplace", delta=1e-6, max_cells=4, min_count=2),
    _Mechanism(epsilon=2.0, mechanism="laplace", delta=1e-6, max_cells=4, min_count=3),
    _Mechanism(epsilon=2.0, mechanism="gaussian", delta=1e-3, max_cells=4, min_count=0),
])
def test_likelihood_matches_simulation(mech):
    """P(O | in) and P(O | out) against 400,000 simulated counts (binomial + rounded noise)."""
    rng = np.random.default_rng(7)
    n, p, q, draws = 20, 0.08, 0.6, 400_000
    x_out = rng.binomial(n, p, draws)
    x_in = rng.binomial(n - 1, p, draws) + (rng.random(draws) < q)
    obs = {}
    for name, x in (("in", x_in), ("out", x_out)):
        z = 0.0 if mech.epsilon is None else (rng.laplace(0, mech.scale, draws) if mech.mechanism == "laplace"
                                              else rng.normal(0, mech.scale, draws))
        o = np.rint(x + z).astype(np.int64)
        obs[name] = np.where(o >= mech.threshold, o, -1)
    ys = np.arange(-1, 15)
    ys = ys[(ys == -1) | (ys >= mech.threshold)]
    log_in, log_out = _loglik(ys, np.full(len(ys), p), np.full(len(ys), q), n, mech)
    for name, model in (("in", np.exp(log_in)), ("out", np.exp(log_out))):
        freq = np.array([(obs[name] == y).mean() for y in ys])
        assert np.abs(freq - model).max() < 0.004, name


def test_auc_and_threshold_helpers_match_brute_force():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 6, 80).astype(float)  # many ties
    y = rng.integers(0, 2, 80)
    pos, neg = s[y == 1], s[y == 0]
    brute = np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg])
    r = roc_auc(s, y)
    assert r["value"] == pytest.approx(brute, abs=1e-6)
    assert 0 <= r["ci"][0] <= r["value"] <= r["ci"][1] <= 1
    best_j, best_c = -1.0, 0
    for t in np.concatenate([np.unique(s), [np.inf]]):
        guess = s >= t
        tpr, fpr = guess[y == 1].mean(), guess[y == 0].mean()
        best_j, best_c = max(best_j, tpr - fpr), max(best_c, int((guess == y.astype(bool)).sum()))
    j, c = best_threshold(s, y)
    assert j == pytest.approx(best_j) and c == best_c
    assert roc_auc(np.zeros(10), np.arange(10) % 2) == {"value": 0.5, "ci": [0.5, 0.5]}


# -- the game ---------------------------------------------------------------------------------
def test_raw_counts_of_small_groups_expose_members(by_epsilon):
    res = by_epsilon[None]
    assert res.attack == "membership" and res.rule_id == rule_id("membership")
    assert res.n_targets == TRIALS and res.extra["n_trials"] == TRIALS
    assert res.extra["n_members"] + res.extra["n_non_members"] == TRIALS
    auc = res.extra["auc"]
    assert auc["value"] >= 0.95 and auc["ci"][0] >= 0.9          # measured 0.9998
    assert res.extra["advantage"] >= 0.8
    assert res.correct_rate["value"] >= 0.9 and res.baseline_rate == 0.5 and res.extra["baseline_auc"] == 0.5
    assert res.correct_rate["ci"][0] <= res.correct_rate["value"] <= res.correct_rate["ci"][1]
    doc = json.loads(res.to_json())
    assert doc["group_size"] == 50 and doc["params"]["epsilon"] is None and doc["mechanism"]["noise_scale"] == 0


def test_dp_pushes_the_auc_to_chance_monotonically(by_epsilon):
    raw, e10, e1, e01 = (_auc(by_epsilon[e]) for e in (None, 10.0, 1.0, 0.1))
    # measured (seed 0): 0.9998 > 0.85 > 0.60 > 0.56
    assert raw > e10 + 0.1
    assert e10 > e1 + 0.1
    assert e1 > e01                    # the same trials and standardized noise: a paired comparison
    lo, hi = by_epsilon[0.1].extra["auc"]["ci"]
    assert e01 < 0.6 and lo <= 0.5 <= hi
    assert by_epsilon[0.1].extra["mechanism"]["noise_scale"] == pytest.approx(240.0)
    assert by_epsilon[1.0].params["epsilon"] == 1.0


def test_larger_groups_hide_members_better(population, by_epsilon):
    small = by_epsilon[None]
    big = MembershipInference(group_size=1000, trials=TRIALS, seed=0).run(None, population)
    # measured (seed 0): AUC 0.958 [0.935, 0.981] against 0.9998 [0.9993, 1]; accuracy 0.86 against 0.995
    assert _auc(big) >= 0.7
    assert big.extra["auc"]["ci"][1] < small.extra["auc"]["ci"][0]
    assert big.correct_rate["value"] < small.correct_rate["value"] - 0.05


def test_coarser_resolution_and_other_options_run(population, by_epsilon):
    coarse = MembershipInference(group_size=50, space="district", time_bin="1d", trials=100, seed=0).run(None, population)
    assert coarse.params["space"] == "district" and coarse.params["time_bin_s"] == 86_400
    assert _auc(coarse) < _auc(by_epsilon[None]) - 0.1
    zk = MembershipInference(group_size=50, prior="aggregate", trials=100, seed=0).run(None, population)
    assert _auc(zk) >= 0.9                                       # no population statistics needed on raw counts
    gauss = MembershipInference(group_size=50, epsilon=1.0, mechanism="gaussian", trials=60, seed=0).run(None, population)
    assert gauss.extra["mechanism"]["mechanism"] == "gaussian" and _auc(gauss) < 0.75
    supp = MembershipInference(group_size=50, min_count=3, trials=100, seed=0).run(None, population)
    assert 0.55 < _auc(supp) < _auc(by_epsilon[None])


def test_same_seed_same_result(population):
    a, b, c = (MembershipInference(group_size=20, epsilon=2.0, trials=30, seed=s).run(None, population) for s in (5, 5, 6))
    strip = lambda r: {k: v for k, v in r.to_dict().items() if k != "elapsed_s"}  # noqa: E731
    assert strip(a) == strip(b)
    assert strip(a) != strip(c)


# -- a given release ----------------------------------------------------------------------------
def _group(population, n=50, seed=5):
    users = np.sort(population.events["subscriber_id"].unique())
    rng = np.random.default_rng(seed)
    group = rng.choice(users, n, replace=False)
    others = rng.choice(np.setdiff1d(users, group), n, replace=False)
    return group, others


def test_given_release_scores_listed_targets(population):
    group, others = _group(population)
    ev = population.events
    truth = pd.DataFrame({"subscriber_id": np.concatenate([group, others]), "member": [1] * 50 + [0] * 50})
    raw = aggregate(replace(population, events=ev[ev["subscriber_id"].isin(group)]), bin="1h", min_count=0,
                    rng=np.random.default_rng(1))
    res = MembershipInference(group_size=50).run(None, raw, knowledge=population, truth=truth)
    assert res.params["mode"] == "release" and res.n_targets == 100 and _auc(res) >= 0.95
    dp = aggregate(replace(population, events=ev[ev["subscriber_id"].isin(group)]), bin="1h", min_count=0,
                   epsilon=0.1, rng=np.random.default_rng(1))
    res = MembershipInference(group_size=50).run(None, dp, knowledge=population,
                                                 truth=truth.assign(member=truth["member"].astype(bool)))
    assert res.params["epsilon"] == 0.1                          # the published mechanism, read from the release
    assert res.extra["mechanism"]["noise_scale"] == pytest.approx(240.0)
    lo, hi = res.extra["auc"]["ci"]
    assert lo <= 0.5 <= hi


def test_targets_absent_from_the_window_give_chance(population, small_population):
    """Aggregate of the group's first three days; the adversary knows the targets' last three days
    only, and some targets have no events at all: nothing links them, AUC = 0.5 exactly."""
    ev = population.events
    mid = int(ev["timestamp"].min()) + 3 * 86_400
    group, others = _group(population)
    early = ev[ev["subscriber_id"].isin(group) & (ev["timestamp"] < mid)]
    agg = aggregate(replace(population, events=early), bin="1h", min_count=0, rng=np.random.default_rng(2))
    late = replace(population, events=ev[ev["timestamp"] >= mid + 86_400].reset_index(drop=True))
    silent = np.setdiff1d(small_population.subscribers["subscriber_id"].to_numpy(), ev["subscriber_id"].unique())
    assert len(silent) >= 10
    truth = pd.DataFrame({"subscriber_id": np.concatenate([group, others, silent[:10]]),
                          "member": [1] * 50 + [0] * 50 + [1, 0] * 5})
    res = MembershipInference(group_size=50).run(None, agg, knowledge=late, truth=truth)
    auc = res.extra["auc"]
    assert auc["value"] == 0.5 and auc["ci"][0] <= 0.5 <= auc["ci"][1]
    assert res.extra["n_no_cells"] == res.n_targets == 110
    assert res.extra["advantage"] == 0


# -- parameters ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, name", [
    ({"group_size": 1}, "group_size"), ({"group_size": 0}, "group_size"), ({"group_size": 2.5}, "group_size"),
    ({"group_size": True}, "group_size"), ({"trials": 0}, "trials"), ({"trials": "10"}, "trials"),
    ({"time_bin": "how"}, "time_bin"), ({"time_bin": "soon"}, "time_bin"), ({"space": "galaxy"}, "space"),
    ({"epsilon": 0}, "epsilon"), ({"epsilon": -1.0}, "epsilon"), ({"epsilon": float("inf")}, "epsilon"),
    ({"epsilon": True}, "epsilon"), ({"mechanism": "cauchy"}, "mechanism"), ({"delta": 1.0}, "delta"),
    ({"max_cells": 0}, "max_cells"), ({"min_count": -1}, "min_count"), ({"prior": "oracle"}, "prior"),
    ({"seed": -1}, "seed"),
])
def test_bad_parameters_raise_usage_error(kw, name, population):
    attack = MembershipInference(**kw)
    with pytest.raises(UsageError, match=f"`{name}`"):
        attack.validate()
    with pytest.raises(UsageError):
        attack.run(None, population)


def test_bad_inputs_raise_usage_error(population):
    with pytest.raises(UsageError, match="group_size"):
        MembershipInference(group_size=5000, trials=1).run(None, population)
    with pytest.raises(UsageError, match="knowledge"):
        MembershipInference(trials=1).run(None, population, knowledge=population)
    group, others = _group(population, n=10)
    ev = population.events
    agg = aggregate(replace(population, events=ev[ev["subscriber_id"].isin(group)]), bin="1h", min_count=0,
                    rng=np.random.default_rng(1))
    both = pd.DataFrame({"subscriber_id": np.concatenate([group, others]), "member": [1] * 10 + [0] * 10})
    with pytest.raises(UsageError, match="knowledge"):
        MembershipInference().run(None, agg, truth=both)
    with pytest.raises(UsageError, match="member and one non-member"):
        MembershipInference().run(None, agg, knowledge=population, truth=both.assign(member=1))
    with pytest.raises(UsageError, match="0 or 1"):
        MembershipInference().run(None, agg, knowledge=population, truth=both.assign(member=2))
    with pytest.raises(UsageError, match="truth"):
        MembershipInference().run(None, agg, knowledge=population, truth=both[["subscriber_id"]])
    with pytest.raises(UsageError, match="twice") as err:
        MembershipInference().run(None, agg, knowledge=population, truth=pd.concat([both, both]))
    assert not any(str(i) in str(err.value) for i in both["subscriber_id"] if i > 9)  # no id in the message
