"""Profile linkage (reidcheck.attacks.profile): the scoring against a plain numpy oracle, the
one-to-one decision, the knowledge sources, and the properties an honest attack must have."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from reidcheck.anonymize.release import Release
from reidcheck.anonymize.strategies import apply_strategies
from reidcheck.attacks import ProfileLinkage
from reidcheck.attacks import profile_model as model
from reidcheck.engine import get_engine
from reidcheck.privacy import release_profile
from reidcheck.secrets import key_from_seed

from synthetic import generate


# -- the model against an oracle -------------------------------------------------------------------
def _oracle_scores(R: np.ndarray, K: np.ndarray, S: int, alpha=model.ALPHA, beta=model.BETA) -> np.ndarray:
    """score(T, C) = Σ_f n_T(f) log(p̂_C(f) / b(f)) written out with loops over dense arrays."""
    T, F = R.shape
    C = K.shape[0]
    P = F // S
    tot = K.sum(axis=0).reshape(P, S)
    per_place = tot.sum(axis=1)
    pi_p = (per_place + 0.5) / (per_place.sum() + 0.5 * P)
    pi_s = (tot.sum(axis=0) + 1.0) / (tot.sum() + S)
    pi_sp = (tot + 4.0 * pi_s[None, :]) / (per_place[:, None] + 4.0)
    out = np.zeros((T, C))
    for c in range(C):
        N = K[c].sum()
        cp = K[c].reshape(P, S).sum(axis=1)
        for p in range(P):
            php = (cp[p] + beta * pi_p[p]) / (N + beta)
            for s in range(S):
                phat = (K[c, p * S + s] + alpha * php * pi_sp[p, s]) / (N + alpha)
                out[:, c] += R[:, p * S + s] * np.log(phat / (pi_p[p] * pi_sp[p, s]))
    return out


@pytest.mark.parametrize("dense", [False, True])
def test_scores_match_the_numpy_oracle(dense):
    rng = np.random.default_rng(3)
    S, P, T, C = 3, 7, 12, 9
    K = rng.poisson(0.6, (C, P * S)).astype(float)
    K[:, : S] += 1                                     # every candidate has records
    R = rng.poisson(0.5, (T, P * S)).astype(float)
    R[:, -1] += 1
    Ks = model.Side(ids=np.arange(C), ps=sp.csr_matrix(K), n_slots=S)
    Rs = model.Side(ids=np.arange(T), ps=sp.csr_matrix(R), n_slots=S)
    W = model.weights(Ks, dense=dense)
    cands, scores = model.top(Rs, Ks, W, k=C)
    want = _oracle_scores(R, K, S)
    for t in range(T):
        listed = cands[t] >= 0
        got = dict(zip(cands[t][listed], scores[t][listed]))
        # every candidate sharing a place is listed, with the oracle's score; the order is the oracle's
        for c, v in got.items():
            assert v == pytest.approx(want[t, c], rel=1e-4, abs=1e-3)
        best = max(got, key=got.get)
        assert want[t, best] == pytest.approx(want[t].max(), rel=1e-4, abs=1e-3)


def test_kinds_add_their_log_likelihood_ratio():
    rng = np.random.default_rng(5)
    S, P, T, C, Kd = 2, 4, 6, 5, 3
    K = rng.poisson(1.0, (C, P * S)).astype(float) + 1
    R = rng.poisson(1.0, (T, P * S)).astype(float) + 1
    kk = rng.poisson(3.0, (C, Kd)).astype(float)
    rk = rng.poisson(3.0, (T, Kd)).astype(float)
    base = model.top(model.Side(np.arange(T), sp.csr_matrix(R), S), model.Side(np.arange(C), sp.csr_matrix(K), S),
                     model.weights(model.Side(np.arange(C), sp.csr_matrix(K), S)), k=C)
    Ks = model.Side(np.arange(C), sp.csr_matrix(K), S, kinds=sp.csr_matrix(kk))
    Rs = model.Side(np.arange(T), sp.csr_matrix(R), S, kinds=sp.csr_matrix(rk))
    cands, scores = model.top(Rs, Ks, model.weights(Ks), k=C)
    pk = (kk.sum(axis=0) + 1) / (kk.sum() + Kd)
    llr = np.log((kk + model.DELTA * pk) / (kk.sum(axis=1, keepdims=True) + model.DELTA) / pk)
    for t in range(T):
        b = dict(zip(base[0][t], base[1][t]))
        for c, v in zip(cands[t], scores[t]):
            assert v == pytest.approx(b[c] + rk[t] @ llr[c], rel=1e-6)


def _best_total(cands, scores, n):
    """The exact optimum of ``assign``'s problem, dense: targets × (candidates + a private
    'unmatched' column each, worth 1 below the target's worst listed score)."""
    T = len(cands)
    M = np.full((T, n + T), -1e9)
    for t in range(T):
        ok = (cands[t] >= 0) & np.isfinite(scores[t])
        M[t, cands[t][ok]] = scores[t][ok]
        M[t, n + t] = scores[t][ok].min() - 1.0 if ok.any() else 0.0
    r, c = linear_sum_assignment(-M)
    return M[r, c].sum(), M


@pytest.mark.parametrize("seed", range(6))
def test_assignment_is_one_to_one_and_within_n_eps_of_the_optimum(seed):
    rng = np.random.default_rng(seed)
    T, n, k = int(rng.integers(5, 60)), int(rng.integers(3, 60)), int(rng.integers(1, 6))
    full = rng.normal(size=(T, n)) * rng.choice([0.01, 1.0, 50.0])
    if seed % 2:
        full = np.round(full)                                    # ties
    cands = np.argsort(-full, axis=1)[:, :k]
    scores = np.take_along_axis(full, cands, axis=1)
    short = rng.random((T, k)) < 0.2                             # lists shorter than k
    short[:, 0] = False
    cands[short], scores[short] = -1, -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")
    cands, scores = np.take_along_axis(cands, order, axis=1), np.take_along_axis(scores, order, axis=1)
    got = model.assign(cands, scores, n)
    assert len(set(got[got >= 0])) == (got >= 0).sum()          # one-to-one
    listed = [(g < 0) or (g in cands[t]) for t, g in enumerate(got)]
    assert all(listed)                                           # only listed candidates
    best, M = _best_total(cands, scores, n)
    total = sum(M[t, g] if g >= 0 else M[t, n + t] for t, g in enumerate(got))
    assert best - T * model.AUCTION_EPS - 1e-6 <= total <= best + 1e-6


def test_assignment_full_lists_match_everyone_and_groups_never_compete():
    rng = np.random.default_rng(8)
    n = 30
    M = rng.normal(size=(n, n))
    cands = np.argsort(-M, axis=1)
    scores = np.take_along_axis(M, cands, axis=1)
    got = model.assign(cands, scores, n)
    assert (got >= 0).all()                                       # a full list: everyone is matched
    r, c = linear_sum_assignment(-M)
    assert M[np.arange(n), got].sum() == pytest.approx(M[r, c].sum(), abs=n * model.AUCTION_EPS)
    # groups never compete: the same candidate may be matched once per group
    g = model.assign(np.zeros((4, 1), dtype=np.int64), np.ones((4, 1)), 1, groups=np.array([0, 0, 1, 1]))
    assert sorted(g.tolist()) == [-1, -1, 0, 0]
    assert model.assign(np.zeros((0, 3), dtype=np.int64), np.zeros((0, 3)), 5).shape == (0,)


# -- the attack on synthetic populations ------------------------------------------------------------
@pytest.fixture(scope="module")
def pop():
    return generate(subscribers=600, days=14, seed=21)


@pytest.fixture(scope="module")
def orig(pop):
    return Release.from_population(pop)


def _profile(orig, chain, scenario="profile_next_period"):
    rel = apply_strategies(orig, chain, seed=0, key=key_from_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return release_profile(get_engine("duckdb"), orig, rel, rel.publish(), scenario=scenario, seed=0)


@pytest.fixture(scope="module")
def raw(orig):
    return _profile(orig, ())


def test_rates_baseline_and_envelope(raw):
    d = raw.to_dict()
    assert d["attack"] == "profile" and d["rule_id"] == "RC205"
    for k in ("top1_rate", "top5_rate", "assignment_rate"):
        lo, hi = d[k]["ci"]
        assert lo <= d[k]["value"] <= hi
    assert d["top1_rate"]["value"] <= d["top5_rate"]["value"]
    assert d["baseline_rate"] == pytest.approx(1 / d["n_candidates"])
    assert d["n_candidates"] >= 500 and d["n_targets"] >= 500
    # a profile learnt over one week names many people the next week: far above chance
    assert d["top1_rate"]["ci"][0] > 20 * d["baseline_rate"]
    assert d["correct_rate"]["value"] == max(d["top1_rate"]["value"], d["assignment_rate"]["value"])
    assert "targets" not in d                              # per-target rows only on request


@pytest.mark.parametrize("chain", [("generalize-space:level=district", "generalize-time:bin=1d"),
                                   ("geo-noise:epsilon=0.5",), ("subsample:records=0.5",), ("topn:n=3",),
                                   ("jitter:minutes=60",),
                                   ("generalize-space:level=province", "generalize-time:bin=1w")])
def test_coarsening_or_noise_never_beats_the_raw_release(orig, raw, chain):
    res = _profile(orig, chain)
    assert res.extra["top1_rate"]["value"] <= raw.extra["top1_rate"]["ci"][1]
    # ... and degrades gracefully: still better than a random guess
    assert res.extra["top1_rate"]["value"] > 5 * res.baseline_rate


def test_sample_knowledge_names_nearly_everyone(orig):
    res = _profile(orig, (), "profile_sample")
    assert res.extra["top1_rate"]["value"] > 0.9


def test_rotated_pseudonyms_are_each_a_target(orig):
    res = _profile(orig, ("rotate:period=day",))
    assert res.extra["features"]["rotation_period"] == "day"
    assert res.n_targets > 5 * res.n_candidates
    assert res.extra["record_weighted"]["top1"] is not None
    assert res.extra["top1_rate"]["value"] > 20 * res.baseline_rate


def test_parameters_are_checked():
    from reidcheck.errors import UsageError

    for bad in ({"knowledge_days": "5..2"}, {"knowledge_sample": 0}, {"self_split": 0},
                {"self_split": 7, "knowledge_days": "0..7"}, {"top_k": 2}):
        with pytest.raises(UsageError):
            ProfileLinkage(**bad).validate()


# -- the command line, with each knowledge source ----------------------------------------------------
@pytest.fixture(scope="module")
def release_dir(tmp_path_factory):
    from synthetic.writer import write_population

    root = tmp_path_factory.mktemp("profile")
    write_population(root / "pop", 400, 14, 3)
    from typer.testing import CliRunner

    from reidcheck.cli import app

    r = CliRunner().invoke(app, ["anonymize", str(root / "pop"), "-s", "generalize-space:level=district",
                                 "-s", "generalize-time:bin=1d", "-s", "drop:tables=subscribers|travel",
                                 "--out", str(root / "rel")])
    assert r.exit_code == 0, r.output
    return root


@pytest.mark.parametrize("args", [
    ["--knowledge", "{pop}", "--truth", "{truth}"],
    ["--knowledge", "{pop}", "--truth", "{truth}", "--knowledge-days", "0..7", "--release-days", "7..14"],
    ["--knowledge", "{pop}", "--truth", "{truth}", "--knowledge-sample", "0.3", "--seed", "4"],
    ["--self-split", "7"],
])
def test_cli_each_knowledge_source(release_dir, args):
    from typer.testing import CliRunner

    from reidcheck.cli import app

    root = release_dir
    fill = {"pop": str(root / "pop"), "truth": str(root / "rel.TRUTH-MAP-SECRET.parquet")}
    out = root / "r.json"
    r = CliRunner().invoke(app, ["attack", "profile", str(root / "rel"), *[a.format(**fill) for a in args],
                                 "--json", str(out), "-q"])
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["n_targets"] > 300 and d["top1_rate"]["value"] > 10 * d["baseline_rate"]
    assert d["release"]["mechanism"]["space"] == "district"
    assert d["features"]["places"] < 60            # knowledge expressed in the release's districts


def test_cli_refuses_knowledge_without_truth(release_dir, capsys):
    from reidcheck.cli import main

    rc = main(["attack", "profile", str(release_dir / "rel"), "--knowledge", str(release_dir / "pop")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "--truth" in err and "Traceback" not in err


def test_audit_fails_the_coarse_release(release_dir):
    """The district × day release with subscribers and travel dropped passed the audit before RC205."""
    from reidcheck.audit import run_audit
    from reidcheck.policy import Policy

    report = run_audit(get_engine("duckdb"), release_dir / "rel", Policy())
    rc205 = [f for f in report["findings"] if f["rule_id"] == "RC205"]
    assert report["verdict"] == "fail"
    assert rc205 and rc205[0]["status"] == "fail" and rc205[0]["interval"][1] > 0.05


@pytest.mark.parametrize("args, needle", [
    (["--self-split", "x"], "self_split"),
    (["--self-split", "0"], "self_split"),
    (["--self-split", "99"], "nothing is left"),
    (["--knowledge", "{pop}", "--truth", "{truth}", "--knowledge-days", "9..2"], "knowledge_days"),
    (["--knowledge", "{pop}", "--truth", "{truth}", "--knowledge-sample", "1.5"], "knowledge_sample"),
    (["--knowledge", "{pop}", "--truth", "{pop}/cells.parquet"], "truth map"),
    (["--knowledge", "{pop}", "--truth", "{truth}", "--self-split", "3"], "--self-split"),
    (["--knowledge", "{pop}", "--truth", "{truth}", "--release-days", "40..50"], "no record"),
    (["--self-sample", "1.5"], "self_sample"),
    (["--self-sample", "0"], "self_sample"),
    (["--self-sample", "0.3", "--self-split", "3"], "self_sample"),
    (["--knowledge", "{pop}", "--truth", "{truth}", "--self-sample", "0.3"], "--self-sample"),
])
def test_cli_bad_input_is_one_line_and_no_output(release_dir, capsys, tmp_path, args, needle):
    from reidcheck.cli import main

    fill = {"pop": str(release_dir / "pop"), "truth": str(release_dir / "rel.TRUTH-MAP-SECRET.parquet")}
    out = tmp_path / "r.json"
    rc = main(["attack", "profile", str(release_dir / "rel"), *[a.format(**fill) for a in args], "--json", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
    assert not out.exists()


def test_detail_only_on_request_and_no_values_in_the_terminal(release_dir, capsys, tmp_path):
    from reidcheck.cli import main

    truth = pd.read_parquet(release_dir / "rel.TRUTH-MAP-SECRET.parquet")
    out = tmp_path / "r.json"
    assert main(["attack", "profile", str(release_dir / "rel"), "--self-split", "7", "--json", str(out)]) == 0
    shown = capsys.readouterr().out
    assert not any(p in shown for p in truth["pid"].astype(str).head(50))        # no pseudonym printed
    assert "targets" not in json.loads(out.read_text())
    assert main(["attack", "profile", str(release_dir / "rel"), "--self-split", "7", "--detail",
                 "--json", str(out), "-q"]) == 0
    rows = json.loads(out.read_text())["targets"]
    assert len(rows) > 300 and {"pseudonym", "best_candidate", "truth_rank"} <= set(rows[0])


def test_knowledge_with_coordinates_only_is_snapped_to_the_release_places(release_dir):
    """Check-in-like knowledge (user, time, lat, lon; no place id) against a cell-level release."""
    from reidcheck.io import load_trajectories

    root = release_dir
    from typer.testing import CliRunner

    from reidcheck.cli import app

    assert CliRunner().invoke(app, ["anonymize", str(root / "pop"), "-s", "token", "--out", str(root / "cellrel")]
                              ).exit_code == 0
    cdr = pd.read_parquet(root / "pop" / "cdr.parquet")
    cells = pd.read_parquet(root / "pop" / "cells.parquet").set_index("cell_id")
    rng = np.random.default_rng(2)
    known = pd.DataFrame({"who": cdr["subscriber_id"].to_numpy(),
                          "when": (cdr["timestamp"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1),
                          "y": cells["lat"].reindex(cdr["cell_id"]).to_numpy() + rng.normal(0, 0.001, len(cdr)),
                          "x": cells["lon"].reindex(cdr["cell_id"]).to_numpy() + rng.normal(0, 0.001, len(cdr))})
    e = get_engine("duckdb")
    rel = load_trajectories(e, root / "cellrel", relation="cr")
    kn = load_trajectories(e, known, "user=who,time=when,lat=y,lon=x", relation="ck", utc_offset_h=5)
    truth = pd.read_parquet(root / "cellrel.TRUTH-MAP-SECRET.parquet")
    res = ProfileLinkage(knowledge_days="0..7", release_days="7..14").run(e, rel, knowledge=kn, truth=truth)
    # positions cannot tell the three sectors of a site apart: the attack works per site, far above chance
    assert res.extra["features"]["places"] == cells["site_id"].nunique()
    assert res.extra["top1_rate"]["ci"][0] > 20 * res.baseline_rate
    assert not res.extra["features"]["kinds"]            # the check-ins have no event type


def test_the_dp_aggregate_release_still_passes(release_dir):
    """RC205 judges person-level traces only: an aggregate has no pseudonym to link."""
    from typer.testing import CliRunner

    from reidcheck.audit import run_audit
    from reidcheck.cli import app
    from reidcheck.policy import Policy

    out = release_dir / "agg"
    r = CliRunner().invoke(app, ["anonymize", str(release_dir / "pop"), "-s", "generalize-space:level=district",
                                 "-s", "aggregate:bin=1h,min_count=10,epsilon=1,max_cells=24", "--out", str(out)])
    assert r.exit_code == 0, r.output
    report = run_audit(get_engine("duckdb"), out, Policy())
    assert report["verdict"] == "pass"
    assert not [f for f in report["findings"] if f["rule_id"] == "RC205"]


def test_no_better_than_chance_is_said():
    """Pseudonyms drawn afresh for every record carry no behaviour: the attack must say it learnt nothing."""
    rng = np.random.default_rng(4)
    n = 4000
    df = pd.DataFrame({"pid": rng.integers(0, 300, n), "timestamp": np.sort(rng.integers(0, 14 * 86400, n)) + 10**9,
                       "cell_id": rng.integers(0, 5, n)})
    from reidcheck.io import load_trajectories

    e = get_engine("duckdb")
    rel = load_trajectories(e, df, "user=pid,time=timestamp,place=cell_id", relation="noise")
    with pytest.warns(UserWarning, match="no better than a random guess"):
        res = ProfileLinkage(self_split=7).run(e, rel)
    assert res.extra["warning"].startswith("no better")


def test_nothing_to_profile_is_not_applicable_in_the_audit(tmp_path):
    """One record per pseudonym (each looks rotated, and halves leave nothing on the knowledge side):
    the attack says so in one line; the audit records the rule as not applicable."""
    from reidcheck.audit import run_audit
    from reidcheck.errors import UsageError
    from reidcheck.io import load_trajectories
    from reidcheck.policy import Policy

    df = pd.DataFrame({"pid": ["a", "b", "c", "d"], "timestamp": 1_736_100_000 + 3600 * np.arange(4),
                       "cell_id": [0, 1, 2, 0]})
    e = get_engine("duckdb")
    with pytest.raises(UsageError, match="nothing can be linked"):
        ProfileLinkage(self_split="halves").run(e, load_trajectories(e, df, relation="x"))
    f = tmp_path / "export.csv"
    df.to_csv(f, index=False)
    report = run_audit(get_engine("duckdb"), f, Policy())
    rc = [x for x in report["findings"] if x["rule_id"] == "RC205"]
    assert rc and rc[0]["status"] == "not_applicable"
