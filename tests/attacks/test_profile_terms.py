"""The profile-linkage scoring terms of reidcheck.attacks.profile_counts (PlaceSlot, KindVolume,
Thinning, Durations, FineKeys) and their search ``top``: each term against a plain-python oracle
written from its docstring, on small hand-made matrices; properties (containment, renaming,
absences) with hypothesis; and the bilinear preselection bound on a random Poisson population."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import binom, lognorm, nbinom, norm

from reidcheck.attacks import profile_counts as pc

from tests.oracles import nb_logpmf as _nb_logpmf

PRM = pc.PARAMS


# -- plain-python oracles ----------------------------------------------------------------------------
def _pairs(T: int, C: int) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(np.arange(T), C), np.tile(np.arange(C), T)


def _exact(terms, T: int, C: int) -> np.ndarray:
    """Σ over terms of pair(t, c) + cand()[c], every pair (targets × candidates)."""
    t, c = _pairs(T, C)
    return sum(term.pair(t, c) + term.cand()[c] for term in terms).reshape(T, C)


def _joint(terms, T: int, C: int) -> np.ndarray:
    t, c = _pairs(T, C)
    return sum(term.joint_pair(t, c) + term.joint_cand()[c] for term in terms).reshape(T, C)


def _decode(x: int, nb: int, nk: int) -> tuple[int, int, int]:
    """(place, bin, kind) of key x = (place · nb + bin) · nk + kind."""
    k = x % nk
    pb = x // nk
    return pb // nb, pb % nb, k


def _ps_oracle(Kps, P: int, S: int, alpha: float = PRM["alpha"], beta: float = PRM["beta"]):
    """q[i][p][s] of ``place_slot_profile``'s docstring, with loops: the population's shares
    π(p, s), π(p), π(s | p); a person's place q_i(p) smoothed towards π(p) (α), her place × slot
    towards q_i(p) · π(s | p) (β)."""
    C = len(Kps)
    cell = lambda i, p, s: float(Kps[i][p * S + s])          # noqa: E731  (slot fastest)
    pop = [[sum(cell(i, p, s) for i in range(C)) for s in range(S)] for p in range(P)]
    total = sum(sum(row) for row in pop)
    pi_ps = [[pop[p][s] / total for s in range(S)] for p in range(P)]
    pi_p = [sum(pi_ps[p]) for p in range(P)]
    q = []
    for i in range(C):
        n_i = sum(cell(i, p, s) for p in range(P) for s in range(S))
        qi = []
        for p in range(P):
            q_p = (sum(cell(i, p, s) for s in range(S)) + alpha * pi_p[p]) / (n_i + alpha)
            qi.append([(cell(i, p, s) + beta * q_p * pi_ps[p][s] / pi_p[p]) / (n_i + beta) for s in range(S)])
        q.append(qi)
    return q


def _place_slot_oracle(R, Kps, P: int, S: int, kappa: float = PRM["kappa"]) -> np.ndarray:
    """w_t · Σ_{p,s} n_t(p, s) log q_i(p, s), w_t = 1 / (1 + N_t / κ)."""
    q = _ps_oracle(Kps, P, S)
    out = np.zeros((len(R), len(Kps)))
    for t in range(len(R)):
        w = 1.0 / (1.0 + sum(R[t]) / kappa)
        for i in range(len(Kps)):
            out[t, i] = w * sum(R[t][p * S + s] * math.log(q[i][p][s]) for p in range(P) for s in range(S))
    return out


def _kind_oracle(n, c, eta: float = PRM["eta"]):
    """(scores, kinds kept, a, b, rho) of ``KindVolume``'s docstring: per kind both sides hold, the
    gamma (a, b) by moments of the candidates' counts, ρ = released / known, and
    lnΓ(n + r) − lnΓ(r) + r log p + n log(1 − p), r = a + η c, p = (b + η) / (b + η + ρ)."""
    T, J = n.shape
    C = c.shape[0]
    kept, A, B, RHO = [], [], [], []
    for k in range(J):
        sc, sn = sum(c[i][k] for i in range(C)), sum(n[t][k] for t in range(T))
        if sc <= 0 or sn <= 0:
            continue
        m = sc / C
        v = sum((c[i][k] - m) ** 2 for i in range(C)) / C
        b = m / max(v - m, 1e-6 * m + 1e-9)
        kept.append(k)
        A.append(max(m * b, 1e-3))
        B.append(max(b, 1e-9))
        RHO.append(sn / sc)
    out = np.zeros((T, C))
    for t in range(T):
        for i in range(C):
            s = 0.0
            for j, k in enumerate(kept):
                r = A[j] + eta * c[i][k]
                p = (B[j] + eta) / (B[j] + eta + RHO[j])
                s += math.lgamma(n[t][k] + r) - math.lgamma(r) + r * math.log(p) + n[t][k] * math.log1p(-p)
            out[t, i] = s
    return out, kept, np.array(A), np.array(B), np.array(RHO)


def _thin_fit_oracle(R, K, Kps, Kk, P, S, slot_of_bin, nk, contain, delta=PRM["delta"]):
    """(λ0 candidates × keys, U as a dict, e per bin, f) of ``thinning``'s docstring, with loops:
    λ0 = U[i, (p, s(b), k)] · e_b, U = tot_i / f · q_i(p, s) · q_i(k) (kind shares smoothed towards
    the population's with δ), e_b = the share of its slot's known records in bin b, f the sampling
    rate (known / released when the knowledge is drawn from the released records, known / (known +
    released) when the target is the unknown part)."""
    C, nx = K.shape
    nb = len(slot_of_bin)
    tot_k, tot_r = float(K.sum()), float(R.sum())
    f = tot_k / tot_r if contain else tot_k / (tot_k + tot_r)
    f = min(max(f, 1e-3), 0.999)
    q = _ps_oracle(Kps, P, S)
    nk_tot = sum(Kk[i][k] for i in range(C) for k in range(nk))
    pi_k = [sum(Kk[i][k] for i in range(C)) / nk_tot for k in range(nk)]
    per_bin = [0.0] * nb
    for i in range(C):
        for x in range(nx):
            per_bin[_decode(x, nb, nk)[1]] += K[i, x]
    per_slot = [sum(per_bin[b] for b in range(nb) if slot_of_bin[b] == s) for s in range(S)]
    e = [per_bin[b] / per_slot[slot_of_bin[b]] for b in range(nb)]
    U, lam = {}, np.zeros((C, nx))
    for i in range(C):
        tot = sum(Kk[i][k] for k in range(nk))
        for p in range(P):
            for s in range(S):
                for k in range(nk):
                    q_k = (Kk[i][k] + delta * pi_k[k]) / (tot + delta)
                    U[i, (p * S + s) * nk + k] = tot / f * q[i][p][s] * q_k
        for x in range(nx):
            p, b, k = _decode(x, nb, nk)
            lam[i, x] = U[i, (p * S + slot_of_bin[b]) * nk + k] * e[b]
    return lam, U, np.array(e), f


def _thin_logp(n, c, lam, f, phi, log_eps, contain) -> float:
    """log P(target's count n | the candidate's known count c) at one key, the model of ``Thinning``:
    true count ~ Poisson(λ), λ ~ Gamma(φ, φ / λ0); known c ~ Binomial(f) of it, so the unknown part
    ~ NB(φ + c, P), 1 − P = (1 − f) λ0 / (φ + λ0). ``contain``: n = u matched known records + the
    unknown part, u = min(n, c), each of the c − u known records the target lacks costs log_eps."""
    p_unseen = (1 - f) * lam / (phi + lam)                    # 1 − P: each unknown record's "success"
    if contain:
        u = min(n, c)
        return (c - u) * log_eps + _nb_logpmf(n - u, phi + c, p_unseen)
    return _nb_logpmf(n, phi + c, p_unseen)


def _thin_oracle(R, K, lam, f, phi=PRM["phi"], log_eps=PRM["log_eps"], contain=True):
    """(Σ_keys log P(n | c) targets × candidates, the per-target constant the score drops,
    Σ_keys of the joint value (c − u) log_eps + ln n! − ln (n − u)!)."""
    T, nx = R.shape
    C = K.shape[0]
    full, joint = np.zeros((T, C)), np.zeros((T, C))
    const = np.zeros(T)
    for t in range(T):
        # terms of the target alone: the c = 0 key's lnΓ(n + φ) − lnΓ(φ) − ln n!
        const[t] = sum(math.lgamma(R[t, x] + phi) - math.lgamma(phi) - math.lgamma(R[t, x] + 1) for x in range(nx))
        for i in range(C):
            for x in range(nx):
                n, c = R[t, x], K[i, x]
                full[t, i] += _thin_logp(n, c, lam[i, x], f, phi, log_eps, contain)
                if c > 0:
                    u = min(n, c)
                    joint[t, i] += (c - u) * log_eps + math.lgamma(n + 1) - math.lgamma(n - u + 1)
    return full, const, joint


def _agg(K: np.ndarray, P: int, S: int, slot_of_bin, nk: int) -> tuple[np.ndarray, np.ndarray]:
    """(Kps candidates × P·S, Kk candidates × nk) of exact-key counts."""
    nb = len(slot_of_bin)
    Kps, Kk = np.zeros((K.shape[0], P * S)), np.zeros((K.shape[0], nk))
    for x in range(K.shape[1]):
        p, b, k = _decode(x, nb, nk)
        Kps[:, p * S + slot_of_bin[b]] += K[:, x]
        Kk[:, k] += K[:, x]
    return Kps, Kk


# -- hand-made inputs --------------------------------------------------------------------------------
#: place × slot: 2 places × 3 slots (slot fastest); 4 candidates, 3 targets.
PS_P, PS_S = 2, 3
KPS_HAND = np.array([[4, 0, 1, 2, 0, 0],
                     [0, 3, 0, 0, 5, 1],
                     [1, 1, 1, 1, 1, 1],
                     [0, 0, 6, 0, 0, 2]], dtype=float)
RPS_HAND = np.array([[3, 0, 0, 2, 0, 0],
                     [0, 1, 0, 0, 9, 0],
                     [0, 0, 4, 0, 1, 1]], dtype=float)
#: kinds: kind 1 under-dispersed (clipped rate), kind 3 known at nobody, kind 4 released for nobody:
#: both dropped.
KK_HAND = np.array([[5, 2, 1, 0, 3],
                    [0, 2, 7, 0, 1],
                    [2, 3, 0, 0, 0],
                    [9, 2, 2, 0, 4]], dtype=float)
RK_HAND = np.array([[8, 3, 1, 2, 0],
                    [1, 4, 11, 0, 0],
                    [3, 2, 0, 1, 0]], dtype=float)

#: exact keys: 2 places × 3 bins (bins 0 and 2 in slot 0, bin 1 in slot 1) × 2 kinds = 12 keys.
TH_P, TH_S, TH_NK = 2, 2, 2
TH_SLOT = np.array([0, 1, 0])
TH_NX = TH_P * len(TH_SLOT) * TH_NK
#: 4 candidates; candidate 1 is known at keys target 0 lacks, candidate 3 is a subset of target 2.
TH_K = np.array([[2, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0],
                 [0, 1, 0, 0, 3, 0, 0, 0, 0, 2, 0, 0],
                 [1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1],
                 [0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 1, 0]], dtype=float)
#: 3 targets: 0 holds candidate 0's records and more, 1 candidate 1's with one key short of them,
#: 2 candidate 3's plus others.
TH_R = np.array([[4, 0, 2, 0, 0, 1, 1, 0, 0, 0, 0, 0],
                 [0, 2, 0, 0, 1, 0, 0, 0, 0, 3, 0, 1],
                 [0, 1, 3, 0, 0, 0, 0, 4, 2, 0, 1, 0]], dtype=float)


def _thin_hand(contain: bool) -> pc.Thinning:
    Kps, Kk = _agg(TH_K, TH_P, TH_S, TH_SLOT, TH_NK)
    return pc.thinning(sp.csr_matrix(TH_R), sp.csr_matrix(TH_K), Kps, Kk, P=TH_P, S=TH_S,
                       slot_of_bin=TH_SLOT, nk=TH_NK, contain=contain)


# -- 1. each term against its oracle ------------------------------------------------------------------
def test_place_slot_matches_its_oracle_and_its_bound_is_exact():
    term = pc.place_slot(sp.csr_matrix(RPS_HAND), KPS_HAND, PS_P, PS_S)
    q = np.array(_ps_oracle(KPS_HAND, PS_P, PS_S)).reshape(len(KPS_HAND), -1)
    # the population's shares carry a 1e-9 guard against empty cells: agreement to ~1e-10, not 1e-15
    np.testing.assert_allclose(np.exp(term.logq), q, rtol=1e-9)
    np.testing.assert_allclose(np.exp(term.logq).sum(axis=1), 1.0, rtol=1e-12)
    want = _place_slot_oracle(RPS_HAND, KPS_HAND, PS_P, PS_S)
    T, C = want.shape
    got = _exact([term], T, C)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(term.cand(), 0.0)
    Rf, W = term.bound()                                  # "Bilinear: its bound is exact"
    np.testing.assert_allclose(np.asarray(Rf @ W), got, rtol=0, atol=1e-12)


def test_kind_volume_matches_its_oracle_and_the_negative_binomial():
    term = pc.kind_volume(RK_HAND, KK_HAND)
    want, kept, a, b, rho = _kind_oracle(RK_HAND, KK_HAND)
    assert kept == [0, 1, 2]                              # kinds 3 and 4 dropped
    np.testing.assert_allclose(term.a, a, rtol=1e-12)
    np.testing.assert_allclose(term.b, b, rtol=1e-12)
    np.testing.assert_allclose(term.rho, rho, rtol=1e-12)
    assert b[1] > 1e5                                     # the under-dispersed kind is exercised
    T, C = want.shape
    got = _exact([term], T, C)
    # the clipped kind has r ≈ 2·10⁶: lnΓ(n + r) − lnΓ(r) ≈ 3·10⁷ − 3·10⁷ keeps ~1e-8 absolute precision
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7)
    # = Σ_k log NB(n | r, p) up to −Σ ln n!, a term of the target alone
    nb = np.array([[sum(nbinom.logpmf(RK_HAND[t, k], a[j] + KK_HAND[i, k], (b[j] + 1) / (b[j] + 1 + rho[j]))
                        for j, k in enumerate(kept)) for i in range(C)] for t in range(T)])
    lnf = np.array([sum(math.lgamma(RK_HAND[t, k] + 1) for k in kept) for t in range(T)])
    np.testing.assert_allclose(got - nb, lnf[:, None] + 0 * got, rtol=0, atol=1e-7)
    assert pc.kind_volume(RK_HAND[:, 3:], KK_HAND[:, 3:]) is None


@pytest.mark.parametrize("contain", [True, False])
def test_thinning_fit_and_scores_match_the_oracle_up_to_a_per_target_constant(contain):
    th = _thin_hand(contain)
    Kps, Kk = _agg(TH_K, TH_P, TH_S, TH_SLOT, TH_NK)
    lam, U, e, f = _thin_fit_oracle(TH_R, TH_K, Kps, Kk, TH_P, TH_S, TH_SLOT, TH_NK, contain)
    assert th.f == pytest.approx(f, rel=1e-12) and th.contain is contain
    np.testing.assert_allclose(th.e, e, rtol=1e-12)
    for (i, col), u in U.items():
        assert th.U[i, col] == pytest.approx(u, rel=1e-9)
    x = np.arange(TH_NX)
    np.testing.assert_allclose(np.array([th._lam(np.full(TH_NX, i), x) for i in range(4)]), lam, rtol=1e-9)
    full, const, joint = _thin_oracle(TH_R, TH_K, lam, f, th.phi, th.log_eps, contain)
    got = _exact([th], *full.shape)
    diff = full - got
    # the score is Σ_keys log P(n | c) less terms of the target alone: a constant per target ...
    np.testing.assert_allclose(diff - diff[:, :1], 0.0, rtol=0, atol=1e-9)
    # ... which is the c = 0 keys' lnΓ(n + φ) − lnΓ(φ) − ln n!
    np.testing.assert_allclose(diff[:, 0], const, rtol=0, atol=1e-9)
    assert th.has_joint is contain
    if contain:
        np.testing.assert_allclose(_joint([th], *joint.shape), joint, rtol=0, atol=1e-9)
        assert (TH_K[1] > TH_R[1]).any() and (TH_K[3] <= TH_R[2]).all()       # both cases present


def test_thinning_joint_value_is_the_binomial_thinning_up_to_one_sided_terms():
    """joint_pair + joint_cand = Σ_keys log Binomial(c | n, f) + A(target) + B(candidate) whenever the
    candidate's records are contained in the target's (c ≤ n at every key)."""
    R = np.array([[3, 5, 2, 0, 4, 1], [6, 3, 3, 0, 2, 2], [2, 2, 4, 1, 3, 5]], dtype=float)
    K = np.array([[1, 2, 0, 0, 2, 1], [2, 0, 2, 0, 0, 0], [0, 2, 1, 0, 1, 1], [2, 2, 2, 0, 2, 1]], dtype=float)
    assert all((K[i] <= R[t]).all() for i in range(4) for t in range(3))
    f = 0.37
    th = pc.Thinning("exact", sp.csr_matrix(R), sp.csr_matrix(K), np.ones((4, 2)), np.ones(3), np.array([0, 1, 0]),
                     S=2, nb=3, nk=1, f=f, contain=True)        # 2 places × 3 bins × 1 kind
    got = _joint([th], 3, 4)
    lb = np.array([[binom.logpmf(K[i], R[t], f).sum() for i in range(4)] for t in range(3)])
    A = -(R * math.log1p(-f)).sum(axis=1)
    B = np.array([sum(math.lgamma(c + 1) - c * math.log(f / (1 - f)) for c in K[i]) for i in range(4)])
    np.testing.assert_allclose(got - lb, A[:, None] + B[None, :], rtol=0, atol=1e-9)
    # a candidate whose record the target lacks pays log_eps per missing record on top
    K2 = K.copy()
    K2[0, 3] = 2.0
    th2 = pc.Thinning("exact", sp.csr_matrix(R), sp.csr_matrix(K2), np.ones((4, 2)), np.ones(3), np.array([0, 1, 0]),
                      S=2, nb=3, nk=1, f=f, contain=True)
    d = _joint([th2], 3, 4) - got
    # (targets 0, 1 lack key 3: 2 · log_eps; target 2 holds one record there: 1 way to match it, 1 · log_eps)
    np.testing.assert_allclose(d[:, 0], [2 * th.log_eps, 2 * th.log_eps, th.log_eps], rtol=0, atol=1e-9)
    np.testing.assert_allclose(d[:, 1:], 0.0, atol=0)


def test_thinning_counted_kinds_split_the_score_into_its_joint_part():
    """A kind left to FineKeys (counted False) drops exactly the record-by-record part — the
    joint value — from the contain score, and its joint value is 0."""
    th = _thin_hand(True)
    T, C = TH_R.shape[0], TH_K.shape[0]
    base, jv = _exact([th], T, C), _joint([th], T, C)
    th.counted = np.array([True, True])
    np.testing.assert_allclose(_exact([th], T, C), base, rtol=0, atol=1e-12)
    th.counted = np.array([False, False])
    np.testing.assert_allclose(_exact([th], T, C), base - jv, rtol=0, atol=1e-9)
    np.testing.assert_allclose(_joint([th], T, C), 0.0, atol=0)


def _dur_data():
    """12 candidates × 3 duration types (type 1 constant, type 2 with only 5 candidates having two
    records) as raw log-durations, and 3 targets (target 1 without type-0 records)."""
    rng = np.random.default_rng(11)
    know = [[list(rng.normal(3.0 + 0.4 * i % 1.3, 0.8, size=2 + i % 4)), [math.log(60.0)] * (2 + i % 3),
             list(rng.normal(4.0, 1.0, size=2 if i < 5 else 1))] for i in range(12)]
    rel = [[list(rng.normal(3.2, 0.8, size=3)), [math.log(60.0)], [4.1]],
           [[], [math.log(60.0)] * 2, []],
           [list(rng.normal(2.5, 0.8, size=1)), [], [3.0, 5.0]]]

    def mats(people):
        n = np.array([[len(x) for x in p] for p in people], dtype=float)
        s1 = np.array([[sum(x) for x in p] for p in people])
        s2 = np.array([[sum(v * v for v in x) for x in p] for p in people])
        return n, s1, s2

    return know, rel, mats(know), mats(rel)


def test_durations_fit_and_pair_match_the_normal_normal_oracle():
    know, rel, (kn, ks1, ks2), (rn, rs1, _) = _dur_data()
    dur, kept = pc.durations(kn, ks1, ks2, rn, rs1, ["call", "sms", "data"])
    assert kept == ["call"]                                   # constant SMS, data with < 10 candidates out
    xs = [p[0] for p in know]
    two = [x for x in xs if len(x) >= 2]
    means = [sum(x) / len(x) for x in two]
    within = sum(sum((v - m) ** 2 for v in x) for x, m in zip(two, means)) / sum(len(x) - 1 for x in two)
    m0 = sum(sum(x) for x in xs) / sum(len(x) for x in xs)
    mm = sum(means) / len(means)
    tau2 = max(sum((m - mm) ** 2 for m in means) / len(means) - sum(within / len(x) for x in two) / len(two), 1e-4)
    v = [1.0 / (1.0 / tau2 + len(x) / within) for x in xs]
    m = [vi * (m0 / tau2 + sum(x) / within) for vi, x in zip(v, xs)]
    np.testing.assert_allclose(dur.s2, [within], rtol=1e-12)
    np.testing.assert_allclose(dur.v[:, 0], v, rtol=1e-10)
    np.testing.assert_allclose(dur.m[:, 0], m, rtol=1e-10)
    want = np.zeros((3, 12))
    for t, p in enumerate(rel):
        x = p[0]
        for i in range(12):
            if x:
                want[t, i] = norm.logpdf(sum(x) / len(x), m[i], math.sqrt(v[i] + within / len(x)))
    got = _exact([dur], 3, 12)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got[1], 0.0)
    # the log-normal density in seconds, durations under a second read as one second
    rows, e = np.array([0, 3, 7, 7]), np.zeros(4, dtype=np.int64)
    s = np.array([45.0, 3.0, 600.0, 0.5])
    want_d = [lognorm.logpdf(max(si, 1.0), math.sqrt(v[r] + within), scale=math.exp(m[r])) for r, si in zip(rows, s)]
    np.testing.assert_allclose(dur.log_density(rows, e, s), want_d, rtol=0, atol=1e-10)
    Rf, W = dur.bound()
    assert Rf.shape == (3, 3) and W.shape == (3, 12)


def _fine_hand():
    """4 candidates × 5 fine keys (2 duration types), 3 targets, and a hand-made Durations."""
    K = np.array([[2, 0, 1, 0, 0], [0, 1, 0, 3, 0], [1, 1, 0, 0, 1], [0, 0, 2, 1, 0]], dtype=float)
    R = np.array([[3, 0, 1, 0, 2], [0, 1, 0, 2, 0], [1, 0, 4, 1, 1]], dtype=float)
    key_type = np.array([0, 1, 0, 1, 0])
    key_s = np.array([30.0, 120.0, 300.0, 12.0, 7.0])
    m = np.array([[3.0, 4.5], [2.0, 3.5], [4.0, 4.0], [5.0, 2.5]])
    v = np.array([[0.2, 0.5], [0.1, 0.3], [0.4, 0.2], [0.3, 0.6]])
    dur = pc.Durations("durations", np.zeros((3, 2)), np.zeros((3, 2)), m, v, np.array([0.8, 1.1]))
    fk = pc.FineKeys("fine", sp.csr_matrix(R), sp.csr_matrix(K), key_type, key_s, dur)
    return fk, R, K, key_type, key_s, m, v, np.array([0.8, 1.1])


def test_fine_keys_match_their_oracle():
    fk, R, K, ty, s, m, v, s2 = _fine_hand()
    le = fk.log_eps
    T, C = R.shape[0], K.shape[0]
    want, wjoint = np.zeros((T, C)), np.zeros((T, C))
    for t in range(T):
        for i in range(C):
            cand = le * K[i].sum()
            want[t, i] = wjoint[t, i] = cand
            for y in range(K.shape[1]):
                n, c = R[t, y], K[i, y]
                if n > 0 and c > 0:
                    u = min(n, c)
                    e = ty[y]
                    lpi = lognorm.logpdf(s[y], math.sqrt(v[i, e] + s2[e]), scale=math.exp(m[i, e]))
                    g = math.lgamma(n + 1) - math.lgamma(n - u + 1)
                    want[t, i] += g - u * (le + lpi)
                    wjoint[t, i] += g - u * le
    np.testing.assert_allclose(_exact([fk], T, C), want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(_joint([fk], T, C), wjoint, rtol=0, atol=1e-9)
    assert fk.has_joint


# -- 2. top() with a full rerank is the oracle ranking ------------------------------------------------
def _check_top(terms, want, joint_want=None, offset=None, **kw):
    T, C = want.shape
    assert all(len(set(np.round(w, 7))) == C for w in want)           # no tie: the ranking is defined
    off = np.zeros(T) if offset is None else offset
    for keep in (1, 2, C):
        out = pc.top(terms, T, C, keep=keep, rerank=C, joint=joint_want is not None, **kw)
        c, v = out[0], out[1]
        order = np.argsort(-want, axis=1)[:, :keep]
        np.testing.assert_array_equal(c, order)
        np.testing.assert_allclose(v, np.take_along_axis(want, order, axis=1) - off[:, None], rtol=0, atol=1e-8)
        if joint_want is not None:
            np.testing.assert_allclose(out[2], np.take_along_axis(joint_want, order, axis=1), rtol=0, atol=1e-9)


@pytest.mark.parametrize("dense_cells, pairs", [(40_000_000, 100_000), (0, 1)])
def test_top_ranks_place_slot_plus_kind_volume_as_the_oracle(dense_cells, pairs):
    terms = [pc.place_slot(sp.csr_matrix(RPS_HAND), KPS_HAND, PS_P, PS_S), pc.kind_volume(RK_HAND, KK_HAND)]
    want = _place_slot_oracle(RPS_HAND, KPS_HAND, PS_P, PS_S) + _kind_oracle(RK_HAND, KK_HAND)[0]
    _check_top(terms, want, dense_cells=dense_cells, pairs=pairs)
    c, v = pc.top(terms, 3, 4, keep=2, rerank=4)                         # joint=False: two values
    assert c.shape == v.shape == (3, 2)
    c, v, j = pc.top(terms, 3, 4, keep=2, rerank=4, joint=True)          # no joint term: None
    assert j is None


@pytest.mark.parametrize("dense_cells, pairs", [(40_000_000, 100_000), (0, 1)])
def test_top_ranks_contain_thinning_as_the_oracle_with_its_joint_values(dense_cells, pairs):
    th = _thin_hand(True)
    Kps, Kk = _agg(TH_K, TH_P, TH_S, TH_SLOT, TH_NK)
    lam, _, _, f = _thin_fit_oracle(TH_R, TH_K, Kps, Kk, TH_P, TH_S, TH_SLOT, TH_NK, True)
    full, const, joint = _thin_oracle(TH_R, TH_K, lam, f, th.phi, th.log_eps, True)
    _check_top([th], full, joint, offset=const, dense_cells=dense_cells, pairs=pairs)
    # with the fine keys and durations too: scores and joint values add up
    fk = _fine_hand()[0]
    want = full - const[:, None] + _exact([fk], 3, 4)
    _check_top([th, fk, fk.dur], want, joint + _joint([fk], 3, 4), dense_cells=dense_cells, pairs=pairs)


# -- 3. properties -------------------------------------------------------------------------------------
def _counts(draw, rows: int, cols: int, hi: int = 5):
    return draw(arrays(np.float64, (rows, cols), elements=st.integers(0, hi).map(float)))


def _thin_direct(data, R, K, contain=True) -> pc.Thinning:
    """A Thinning on the 12 hand keys with its profile (U, e, f, φ) drawn, not fitted."""
    C = K.shape[0]
    U = np.array(data.draw(arrays(np.float64, (C, TH_P * TH_S * TH_NK), elements=st.floats(0.01, 20.0))))
    e = np.array(data.draw(arrays(np.float64, (len(TH_SLOT),), elements=st.floats(0.05, 1.0))))
    f, phi = data.draw(st.floats(0.05, 0.95)), data.draw(st.floats(0.5, 5.0))
    return pc.Thinning("exact", sp.csr_matrix(R), sp.csr_matrix(K), U, e, TH_SLOT, TH_S, len(TH_SLOT), TH_NK,
                       f, contain, phi=phi)


def _lam_direct(th: pc.Thinning, C: int) -> np.ndarray:
    """λ0 = U[i, (p · S + s(b)) · nk + k] · e_b per candidate and key, with loops."""
    lam = np.zeros((C, TH_NX))
    for i in range(C):
        for x in range(TH_NX):
            p, b, k = _decode(x, len(TH_SLOT), TH_NK)
            lam[i, x] = th.U[i, (p * TH_S + TH_SLOT[b]) * TH_NK + k] * th.e[b]
    return lam


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_a_known_record_the_target_lacks_never_raises_a_thinning_score(data):
    """U, e, f held fixed: one more known record at a key the target lacks costs that pair exactly
    log P0 (+ log_eps when the target should hold it, contain) < 0 — so for every target lacking the
    key — and leaves every other candidate's score; before and after, the scores are the oracle's up
    to a constant per target."""
    T, C = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5))
    R, K = _counts(data.draw, T, TH_NX), _counts(data.draw, C, TH_NX, hi=3)
    t, c, x = data.draw(st.integers(0, T - 1)), data.draw(st.integers(0, C - 1)), data.draw(st.integers(0, TH_NX - 1))
    R[t, x] = 0.0
    contain = data.draw(st.booleans())
    th = _thin_direct(data, R, K, contain)
    before = _exact([th], T, C)
    K2 = K.copy()
    K2[c, x] += 1.0
    th2 = pc.Thinning(**{**th.__dict__, "K": sp.csr_matrix(K2)})
    after = _exact([th2], T, C)
    assert after[t, c] < before[t, c]
    lam = _lam_direct(th, C)
    log_p0 = math.log((th.phi + th.f * lam[c, x]) / (th.phi + lam[c, x]))
    lacking = R[:, x] == 0
    np.testing.assert_allclose(after[lacking, c], before[lacking, c] + log_p0 + th.log_eps * contain,
                               rtol=1e-10, atol=1e-9)
    others = np.arange(C) != c
    np.testing.assert_allclose(after[:, others], before[:, others], rtol=0, atol=1e-12)
    for Km, got in ((K, before), (K2, after)):
        full, const, _ = _thin_oracle(R, Km, lam, th.f, th.phi, th.log_eps, contain)
        np.testing.assert_allclose(full - got, const[:, None] + 0 * got, rtol=1e-12, atol=1e-8)


def _perm_inputs(data):
    T, C = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 5))
    pt = np.array(data.draw(st.permutations(range(T))))
    pk = np.array(data.draw(st.permutations(range(C))))
    return T, C, pt, pk


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_renaming_targets_and_candidates_permutes_thinning_scores(data):
    T, C, pt, pk = _perm_inputs(data)
    R, K = _counts(data.draw, T, TH_NX), _counts(data.draw, C, TH_NX, hi=3)
    R[0, 0] += 1.0                                    # a record on each side: f is defined
    K[0, 1] += 1.0
    contain = data.draw(st.booleans())
    Kps, Kk = _agg(K, TH_P, TH_S, TH_SLOT, TH_NK)

    def fit(Rm, Km, ps, kk):
        return pc.thinning(sp.csr_matrix(Rm), sp.csr_matrix(Km), ps, kk, P=TH_P, S=TH_S, slot_of_bin=TH_SLOT,
                           nk=TH_NK, contain=contain)

    a, b = fit(R, K, Kps, Kk), fit(R[pt], K[pk], Kps[pk], Kk[pk])
    assert b.f == pytest.approx(a.f, rel=1e-12)
    np.testing.assert_allclose(b.e, a.e, rtol=1e-12)
    np.testing.assert_allclose(b.U, a.U[pk], rtol=1e-10)
    np.testing.assert_allclose(_exact([b], T, C), _exact([a], T, C)[np.ix_(pt, pk)], rtol=1e-10, atol=1e-9)
    if contain:
        np.testing.assert_allclose(_joint([b], T, C), _joint([a], T, C)[np.ix_(pt, pk)], rtol=1e-10, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_renaming_targets_and_candidates_permutes_kind_volume_scores(data):
    T, C, pt, pk = _perm_inputs(data)
    J = data.draw(st.integers(1, 4))
    n, c = _counts(data.draw, T, J, hi=12), _counts(data.draw, C, J, hi=8)
    a, b = pc.kind_volume(n, c), pc.kind_volume(n[pt], c[pk])
    if a is None:
        assert b is None
        return
    np.testing.assert_allclose(b.a, a.a, rtol=1e-9)
    np.testing.assert_allclose(b.rho, a.rho, rtol=1e-12)
    np.testing.assert_allclose(_exact([b], T, C), _exact([a], T, C)[np.ix_(pt, pk)], rtol=1e-9, atol=1e-6)
    want = _kind_oracle(n, c)[0]
    # under-dispersed kinds get r ≈ 10⁶ · mean: lnΓ differences of ~10⁸ keep ~1e-7 absolute
    np.testing.assert_allclose(_exact([a], T, C), want, rtol=1e-9, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_a_contained_candidate_beats_itself_with_a_record_moved_off_the_target(data):
    """c ≤ n at every key: moving one known record to a key the target lacks lowers the joint value,
    by exactly ln(n − c + 1) (one way fewer to choose the records at the key it left) − log_eps."""
    R = _counts(data.draw, 1, TH_NX, hi=6)
    y = data.draw(st.integers(0, TH_NX - 1))
    R[0, y] = 0.0
    frac = np.array(data.draw(arrays(np.float64, (TH_NX,), elements=st.floats(0.0, 1.0))))
    k = np.floor(frac * (R[0] + 1)).clip(max=R[0])        # 0 ≤ c ≤ n
    src = [x for x in range(TH_NX) if R[0, x] > 0]
    if not src:
        return
    x = data.draw(st.sampled_from(src))
    k[x] = max(k[x], 1.0)
    moved = k.copy()
    moved[x] -= 1.0
    moved[y] += 1.0
    th = _thin_direct(data, R, np.vstack([k, moved]))
    v = _joint([th], 1, 2)[0]
    assert v[0] >= v[1]
    assert v[0] - v[1] == pytest.approx(math.log(R[0, x] - k[x] + 1) - th.log_eps, rel=1e-9, abs=1e-9)
    _, _, j = pc.top([th], 1, 2, keep=2, rerank=2, joint=True)         # top reports the same values
    assert sorted(j[0]) == pytest.approx(sorted(v), abs=1e-9)


# -- 4. the bound preselects the true candidate --------------------------------------------------------
def test_the_thinning_bound_keeps_the_true_candidate_in_the_rerank_list():
    """40 people with their own places, slots and kinds (10-30 records each); the release an 80 %
    sample of each person's records and the knowledge a 30 % sample (so a few known records are
    missing from the release: log_eps = log(1 − 0.8), as ``ProfileLinkage`` sets it). The best 10 of
    40 by the bilinear bound hold the true candidate for ≥ 90 % of targets, and for every target
    whose true candidate is among the exact best 10."""
    rng = np.random.default_rng(20261128)
    P, S, nk, N = 6, 4, 2, 40
    slot_of_bin = np.arange(8) % S
    nb = len(slot_of_bin)
    Y = np.zeros((N, P * nb * nk), dtype=np.int64)
    for i in range(N):
        wp, ws, wk = rng.dirichlet(np.full(P, 2.0)), rng.dirichlet(np.full(S, 2.0)), rng.dirichlet(np.full(nk, 2.0))
        lam = np.array([wp[p] * ws[slot_of_bin[b]] * wk[k] / 2 for p in range(P) for b in range(nb) for k in range(nk)])
        Y[i] = rng.poisson(lam * rng.uniform(10, 30))
    K = rng.binomial(Y, 0.3).astype(float)                 # candidate i is person i
    perm = rng.permutation(N)
    R = rng.binomial(Y, 0.8).astype(float)[perm]           # target t is person perm[t]
    assert ((K[perm] > R).sum(axis=1) > 0).mean() > 0.2    # containment is broken for many targets
    Kps, Kk = _agg(K, P, S, slot_of_bin, nk)
    th = pc.thinning(sp.csr_matrix(R), sp.csr_matrix(K), Kps, Kk, P=P, S=S, slot_of_bin=slot_of_bin, nk=nk,
                     contain=True)
    th.log_eps = math.log1p(-0.8)
    c, v, j = pc.top([th], N, N, keep=10, rerank=10, joint=True)
    hit = (c == perm[:, None]).any(axis=1)
    assert hit.mean() >= 0.9, hit.mean()
    # the listed values are the exact ones of the listed candidates
    t = np.repeat(np.arange(N), 10)
    np.testing.assert_allclose(v.ravel(), th.pair(t, c.ravel()) + th.cand()[c.ravel()], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(j.ravel(), th.joint_pair(t, c.ravel()) + th.joint_cand()[c.ravel()], rtol=1e-12,
                               atol=1e-9)
    # against a full rerank: the preselection loses no true candidate the exact scores rank in the
    # best 10, and keeps the exact best candidate first
    c_all, _ = pc.top([th], N, N, keep=N, rerank=N)
    exact_rank = (c_all == perm[:, None]).argmax(axis=1)
    assert hit[exact_rank < 10].all()
    assert (c[:, 0] == c_all[:, 0]).mean() >= 0.9
