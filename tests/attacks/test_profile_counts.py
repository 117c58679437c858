"""The count (consistency) likelihood of the profile attack (reidcheck.attacks.profile_counts): the
score against a plain-python negative-binomial oracle, its properties, an attack that must not invent
linkage where behaviour carries no identity, and the audit's verdicts on a coarse trace release and
on a DP aggregate."""

from __future__ import annotations

import json
import math
import os
import secrets
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reidcheck.anonymize.release import Release
from reidcheck.anonymize.strategies import apply_strategies
from reidcheck.attacks import ProfileLinkage
from reidcheck.attacks import profile_counts as pc
from reidcheck.attacks.profile import NoBetterThanChance
from reidcheck.cli import main
from reidcheck.engine import get_engine
from reidcheck.io import TrajectoryInput
from reidcheck.privacy import _events_table, _kinds
from reidcheck.secrets import key_from_seed

from synthetic import generate
from tests.oracles import nb_logpmf as _nb_logpmf

COARSE = ("generalize-space:level=province", "generalize-time:bin=1w", "drop:tables=subscribers|travel")

# -- the score against an oracle -------------------------------------------------------------------
#: 4 candidates × 5 keys: key 0, 2, 3 over-dispersed (b from the moments), key 1 under-dispersed
#: (b clipped to the top of B_RANGE), key 4 known at nobody (b clipped to the bottom, a = 1e-6).
K_HAND = np.array([[3, 0, 1, 0, 0],
                   [0, 2, 0, 5, 0],
                   [1, 1, 4, 0, 0],
                   [6, 0, 0, 1, 0]], dtype=float)
#: The candidates' counts in the first half of the knowledge window (the second: K_HAND − this).
K_FIRST = np.array([[3, 0, 0, 0, 0],
                    [0, 2, 0, 1, 0],
                    [0, 1, 4, 0, 0],
                    [6, 0, 0, 0, 0]], dtype=float)
#: 3 targets × 5 keys; target 1 has a record at key 4, which no candidate is known at.
R_HAND = np.array([[5, 0, 2, 0, 0],
                   [0, 3, 0, 9, 1],
                   [2, 2, 7, 1, 0]], dtype=float)


def _oracle(R: np.ndarray, K: np.ndarray, first: np.ndarray | None = None):
    """(scores targets × candidates, a, b, rho, phi) written out from the module docstring with loops."""
    T, J = R.shape
    C = K.shape[0]
    lo, hi = pc.B_RANGE
    a, b = np.zeros(J), np.zeros(J)
    for j in range(J):
        mu = sum(K[c, j] for c in range(C)) / C
        var = sum((K[c, j] - mu) ** 2 for c in range(C)) / C           # moments: population variance
        b[j] = min(max(mu / max(var - mu, 1e-12), lo), hi)
        a[j] = max(b[j] * mu, 1e-6)
    rho = R.sum() / K.sum()
    phi = 1.0
    if first is not None:
        second = K - first
        phi = max(1.0, float(((first - second) ** 2).sum() / (first + second).sum()))
    out = np.zeros((T, C))
    for t in range(T):
        for c in range(C):
            s = 0.0
            for j in range(J):                                          # every key, zeros included
                p = rho / (b[j] + 1.0 + rho)
                s += _nb_logpmf(R[t, j], a[j] + K[c, j], p) - _nb_logpmf(R[t, j], a[j], p)
            out[t, c] = s / phi
    return out, a, b, rho, phi


def _space(R, K, first=None, name="periodic"):
    halves = None if first is None else (sp.csr_matrix(first), sp.csr_matrix(K - first))
    return pc.space(name, sp.csr_matrix(R), sp.csr_matrix(K), halves=halves)


def _all_pairs(s: pc.CountSpace) -> np.ndarray:
    T, C = s.R.shape[0], s.K.shape[0]
    return s.exact(np.repeat(np.arange(T), C), np.tile(np.arange(C), T)).reshape(T, C)


def test_the_oracle_is_the_negative_binomial():
    from scipy.stats import nbinom

    for n, shape, p in ((0, 1e-6, 0.3), (4, 2.5, 0.7), (9, 750.0, 0.002)):
        assert _nb_logpmf(n, shape, p) == pytest.approx(nbinom.logpmf(n, shape, 1 - p), rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("halves", [False, True])
def test_exact_scores_match_the_oracle(halves):
    first = K_FIRST if halves else None
    want, a, b, rho, phi = _oracle(R_HAND, K_HAND, first)
    s = _space(R_HAND, K_HAND, first)
    np.testing.assert_allclose(s.a, a, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s.b, b, rtol=1e-12)
    assert s.rho == pytest.approx(rho, rel=1e-12) and s.phi == pytest.approx(phi, rel=1e-12)
    assert (phi > 1) == halves                                         # the example exercises φ
    assert b[1] == pc.B_RANGE[1] and b[4] == pc.B_RANGE[0] and a[4] == 1e-6
    np.testing.assert_allclose(_all_pairs(s), want, rtol=0, atol=1e-9)


@pytest.mark.parametrize("dense_cells, pairs", [(40_000_000, 100_000), (0, 1)])     # dense / sparse, blocks
@pytest.mark.parametrize("halves", [False, True])
def test_top_with_a_full_rerank_is_the_oracle_ranking(halves, dense_cells, pairs):
    first = K_FIRST if halves else None
    want, *_ = _oracle(R_HAND, K_HAND, first)
    T, C = want.shape
    assert all(len(set(np.round(w, 9))) == C for w in want)           # no tie: the ranking is defined
    s = _space(R_HAND, K_HAND, first)
    for keep in (1, 2, C):
        c, v = pc.top([s], T, C, keep=keep, rerank=C, dense_cells=dense_cells, pairs=pairs)
        order = np.argsort(-want, axis=1)[:, :keep]
        np.testing.assert_array_equal(c, order)
        np.testing.assert_allclose(v, np.take_along_axis(want, order, axis=1), rtol=0, atol=1e-9)
    # a partial rerank still reports exact scores of the candidates it returns
    c, v = pc.top([s], T, C, keep=1, rerank=2, dense_cells=dense_cells, pairs=pairs)
    np.testing.assert_allclose(v[:, 0], want[np.arange(T), c[:, 0]], rtol=0, atol=1e-9)


def test_top_sums_its_key_spaces():
    """Two key spaces (periodic with φ, exact without) score a pair by the sum of their oracles."""
    rng = np.random.default_rng(7)
    R2 = rng.poisson(1.5, (3, 6)).astype(float)
    K2 = rng.poisson(0.8, (4, 6)).astype(float)
    want = _oracle(R_HAND, K_HAND, K_FIRST)[0] + _oracle(R2, K2)[0]
    spaces = [_space(R_HAND, K_HAND, K_FIRST), _space(R2, K2, name="exact")]
    c, v = pc.top(spaces, 3, 4, keep=4, rerank=4)
    np.testing.assert_array_equal(c, np.argsort(-want, axis=1))
    np.testing.assert_allclose(v, -np.sort(-want, axis=1), rtol=0, atol=1e-9)


# -- properties ------------------------------------------------------------------------------------
def _counts(draw, rows: int, cols: int):
    return draw(arrays(np.float64, (rows, cols), elements=st.integers(0, 6).map(float)))


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_a_known_record_the_target_lacks_never_raises_the_score(data):
    """With a, b, ρ, φ held fixed, one more known record at a key the target has none at costs that
    pair exactly log(1 − p_j) / φ < 0 and leaves every other candidate's score unchanged."""
    T, C, J = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5)), data.draw(st.integers(1, 6)))
    R, K = _counts(data.draw, T, J), _counts(data.draw, C, J)
    t, c, j = data.draw(st.integers(0, T - 1)), data.draw(st.integers(0, C - 1)), data.draw(st.integers(0, J - 1))
    R[t, j] = 0.0
    a = np.array(data.draw(st.lists(st.floats(1e-6, 50.0), min_size=J, max_size=J)))
    b = np.array(data.draw(st.lists(st.floats(*pc.B_RANGE), min_size=J, max_size=J)))
    rho, phi = data.draw(st.floats(0.01, 10.0)), data.draw(st.floats(1.0, 5.0))
    extra = data.draw(st.integers(1, 5))

    def scores(Km):
        return _all_pairs(pc.CountSpace("periodic", sp.csr_matrix(R), sp.csr_matrix(Km), a, b, rho, phi))

    before = scores(K)
    K2 = K.copy()
    K2[c, j] += extra
    after = scores(K2)
    assert after[t, c] <= before[t, c]
    log_q = math.log((b[j] + 1) / (b[j] + 1 + rho))
    assert after[t, c] == pytest.approx(before[t, c] + extra * log_q / phi, rel=1e-9, abs=1e-9)
    others = np.arange(C) != c
    np.testing.assert_allclose(after[:, others], before[:, others], rtol=0, atol=1e-12)
    lacking = R[:, j] == 0                                              # so for every target that lacks j
    assert (after[lacking, c] <= before[lacking, c] + 1e-12).all()


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_scores_are_invariant_to_renaming_targets_and_candidates(data):
    T, C, J = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5)), data.draw(st.integers(1, 6)))
    R, K = _counts(data.draw, T, J), _counts(data.draw, C, J)
    pt = np.array(data.draw(st.permutations(range(T))))
    pk = np.array(data.draw(st.permutations(range(C))))
    s, s2 = _space(R, K), _space(R[pt], K[pk])
    np.testing.assert_allclose(s2.a, s.a, rtol=1e-12)
    np.testing.assert_allclose(s2.b, s.b, rtol=1e-12)
    assert s2.rho == pytest.approx(s.rho, rel=1e-12)
    np.testing.assert_allclose(_all_pairs(s2), _all_pairs(s)[np.ix_(pt, pk)], rtol=1e-10, atol=1e-10)
    c, v = pc.top([s], T, C, keep=C, rerank=C)
    c2, v2 = pc.top([s2], T, C, keep=C, rerank=C)
    np.testing.assert_allclose(v2, v[pt], rtol=1e-10, atol=1e-10)     # the same sorted scores per target


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_a_candidate_without_records_scores_zero(data):
    T, C, J = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5)), data.draw(st.integers(1, 6)))
    R, K = _counts(data.draw, T, J), _counts(data.draw, C, J)
    z = data.draw(st.integers(0, C))
    K = np.insert(K, z, 0.0, axis=0)
    first = np.floor(K / 2) if data.draw(st.booleans()) else None
    s = _space(R, K, first)
    np.testing.assert_array_equal(_all_pairs(s)[:, z], 0.0)
    assert s.absence()[z] == 0.0 and s.linear()[z].nnz == 0


# -- no invented linkage on a real-sized input -----------------------------------------------------
@pytest.fixture(scope="module")
def coarse_release():
    orig = Release.from_population(generate(subscribers=400, days=14, seed=5))
    rel = apply_strategies(orig, COARSE, seed=0, key=key_from_seed(0))
    return rel, rel.publish()


def _self_sample(rel, pub, codes, **kw):
    """``ProfileLinkage(self_sample=0.3)`` on the release with pseudonym codes ``codes`` per record."""
    ev = rel.events
    e = get_engine("duckdb")
    e.register("__pc_rel", _events_table(codes, pub.pid_names[codes], ev["timestamp"], ev["place"], ev["lat"],
                                         ev["lon"], _kinds(ev)))
    inp = TrajectoryInput(source="release", has_place=True, has_coords=True, places=rel.places,
                          utc_offset_h=rel.utc_offset_h, relation="__pc_rel", meta={"manifest": pub.manifest})
    try:
        return ProfileLinkage(self_sample=0.3, **kw).run(e, inp)
    finally:
        e.drop("__pc_rel")


@pytest.fixture(scope="module")
def shuffled(coarse_release):
    """Every record of the release given a random pseudonym among the release's own: behaviour
    carries no identity, so no attack may do better than a guess."""
    rel, pub = coarse_release
    u = np.unique(pub.pid_codes)
    codes = u[np.random.default_rng(1).integers(0, len(u), len(pub.pid_codes))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoBetterThanChance)
        return _self_sample(rel, pub, codes, detail=True), pub.pid_names, codes


def test_shuffled_pseudonyms_are_linked_no_better_than_chance_and_real_ones_far_better(coarse_release, shuffled):
    rel, pub = coarse_release
    real = _self_sample(rel, pub, pub.pid_codes)                        # no warning here (they are errors)
    res = shuffled[0]
    for r in (real, res):
        assert r.extra["features"]["model"] == "counts" and r.n_candidates >= 350 and r.n_targets >= 350
        assert r.baseline_rate == pytest.approx(1 / r.n_candidates)
    lo, hi = res.correct_rate["ci"]
    # the interval reaches (about) a random guess; the few hits are chance
    assert lo <= 3 * res.baseline_rate and hi < 0.05
    # the same release with its true pseudonyms: province × week still links people
    assert real.correct_rate["ci"][0] > 50 * real.baseline_rate and real.correct_rate["value"] > 0.2


def test_the_self_sample_split_is_as_dispersed_as_a_random_sample(shuffled):
    """Known records of a pseudonym with N records: K ~ Binomial(N, 0.3) under a seeded random
    sample, so Σ (K − 0.3 N)² / Σ 0.21 N is about 1 (sd ≈ 0.07 over ~400 pseudonyms)."""
    res, names, codes = shuffled
    rows = res.extra["targets"]                          # per target (pseudonym): its unknown records
    assert len(rows) >= 350
    n_of = dict(zip(names[np.unique(codes)].astype(str), np.bincount(codes)[np.unique(codes)]))
    N = np.array([n_of[r["pseudonym"]] for r in rows], dtype=float)
    known = N - np.array([r["records"] for r in rows], dtype=float)
    ratio = float(((known - 0.3 * N) ** 2).sum() / (0.21 * N).sum())
    assert ratio > 0.6, ratio


# -- the audit ---------------------------------------------------------------------------------------
def _key_file(path, material: bytes):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(material)
    return path


def _audit(tmp_path, monkeypatch, release_dir) -> tuple[int, dict]:
    monkeypatch.chdir(tmp_path)                           # the default policy: no reidcheck.toml found
    out = tmp_path / f"{release_dir.name}.json"
    rc = main(["audit", str(release_dir), "--json", str(out), "--quiet"])
    return rc, json.loads(out.read_text())


def test_audit_fails_a_province_by_week_release_on_rc205(tmp_path, monkeypatch):
    pop, rel = tmp_path / "pop", tmp_path / "rel"
    key = _key_file(tmp_path / "release.key", secrets.token_bytes(32))
    assert main(["generate", "--subscribers", "1500", "--days", "14", "--seed", "3", "--out", str(pop), "-q"]) == 0
    assert main(["anonymize", str(pop), "-s", "token", "-s", COARSE[0], "-s", COARSE[1], "-s", COARSE[2],
                 "--seed", "3", "--key-file", str(key), "--out", str(rel), "-q"]) == 0
    rc, report = _audit(tmp_path, monkeypatch, rel)
    assert rc == 1 and report["verdict"] == "fail"
    failed = {f["rule_id"] for f in report["findings"] if f["status"] == "fail"}
    assert failed == {"RC205"}                    # unicity, top places, ... all pass: only behaviour links
    (f,) = [f for f in report["findings"] if f["rule_id"] == "RC205"]
    assert f["status"] == "fail" and f["interval"][0] > f["threshold"]["value"]
    p = f["params"]
    assert set(p["scenarios"]) == {"next period", "sample"} and p["scenario"] in p["scenarios"]
    assert f["value"] == p["scenarios"][p["scenario"]]["correct_rate"]["value"]
    assert p["scenario"] in f["message"]


def test_audit_passes_a_dp_aggregate(tmp_path, monkeypatch):
    """RC205 judges person-level traces: a DP aggregate (fixed key, so fixed noise) has no pseudonym
    to link, and no rule fails."""
    pop, agg = tmp_path / "pop", tmp_path / "agg"
    key = _key_file(tmp_path / "test.key", bytes(range(1, 33)).hex().encode())
    assert main(["generate", "--subscribers", "400", "--days", "4", "--seed", "9", "--out", str(pop), "-q"]) == 0
    assert main(["anonymize", str(pop), "-s", "aggregate:bin=1h,epsilon=1", "--seed", "3", "--key-file", str(key),
                 "--out", str(agg), "-q"]) == 0
    rc, report = _audit(tmp_path, monkeypatch, agg)
    assert rc == 0 and report["verdict"] == "pass"
    assert "aggregate" in {t["kind"] for t in report["tables"]}
    assert not [f for f in report["findings"] if f["status"] == "fail"]
    assert not [f for f in report["findings"] if f["rule_id"] == "RC205"]
