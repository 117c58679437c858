"""The consistency (count) likelihood of the profile-linkage attack: how well a candidate's known
records explain a target's released records, key by key, counts and absences included.

Nothing here touches an engine: ``attacks.profile`` builds the count matrices with group-bys and
hands them over, so the model can be checked against a plain numpy oracle (``tests/attacks``).

**Keys.** A *key* is a cell of the release's own resolution, for instance (province, week, record
kind) or (district, 4-hour block of the week, record kind). Two key spaces are used:

* *periodic* keys (place × slot of the week × kind): valid across periods — a profile learnt last
  month predicts this month's counts;
* *exact* keys (place × time bin × kind) over the bins both sides cover: when the adversary's
  knowledge overlaps the release in time (a sample of the same period), the very same cells.

**Model.** Each person has a rate ``λ_j`` of records at key ``j`` per unit of the knowledge's
exposure; the population's rates at ``j`` follow a gamma law (shape ``a_j``, rate ``b_j``, fitted by
moments to the candidates' counts, so a key most people show is weak evidence and a rare one
strong, with no cut-off). A candidate known with ``c`` records at ``j`` has the posterior
Gamma(a_j + c, b_j + 1); the target, seen over ``ρ`` times that exposure (``ρ`` = released records
/ known records: window lengths, sampling, suppression, all estimated from the two sides, never from
the truth), shows ``n`` records with the negative-binomial predictive

    P(n | c) = Γ(n + a + c) / (Γ(a + c) n!) · (1 − p)^(a + c) · p^n,   p = ρ / (b + 1 + ρ).

The score of (target T, candidate C) is the log-likelihood ratio against an unknown person
(``c = 0``) summed over *all* keys, which splits into a term per candidate and one per shared key:

    score(T, C) = Σ_j c_Cj · log(1 − p_j)                                   (absence: every known key)
                + Σ_{j: n_Tj > 0, c_Cj > 0} [ lnΓ(n + a_j + c) − lnΓ(a_j + c) − lnΓ(n + a_j) + lnΓ(a_j) ]

so a key the candidate is known at but the target lacks costs ``c · log(1 − p)`` — the probability
that such records are not seen — and adding a known key the target lacks never raises a score.
Scores are divided by a dispersion ``φ ≥ 1`` (quasi-likelihood): the excess of the variance of a
person's counts between the two halves of the knowledge window over Poisson's, so bursty records
are not taken for independent evidence (``φ = 1`` for exact keys under record sampling, which thins
the very records). The result is a calibrated log-probability up to a per-target constant: the
one-to-one assignment adds it across targets as it is.

**Search.** Every (target, candidate) pair is scored first by the bilinear bound
``n · log((a + c + ½) / (a + ½))`` (one sparse or dense product), the best ``rerank`` candidates
of each target are then rescored exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import gammaln

#: The gamma prior's rate per key is kept in this range (a key with no spread between people, or an
#: enormous one, still gives a finite, proper prior).
B_RANGE = (1e-3, 1e3)


def shared_keys(R: sp.csr_matrix, K: sp.csr_matrix, t: np.ndarray, c: np.ndarray):
    """The keys that target row ``t[i]`` and candidate row ``c[i]`` both hold, for every pair i:
    (pair index, key, the target's count n, the candidate's count c), one entry per shared key."""
    Rt, Kc = R[t], K[c]
    Rt.sort_indices()
    Kc.sort_indices()
    nn = Rt.multiply(Kc > 0).tocsr()       # n on the shared keys
    cc = Kc.multiply(Rt > 0).tocsr()       # c on the same keys (same pattern, same order)
    nn.sort_indices()
    cc.sort_indices()
    return np.repeat(np.arange(len(t)), np.diff(nn.indptr)), nn.indices, nn.data, cc.data


@dataclass
class CountSpace:
    """One key space. ``R``: targets × keys record counts; ``K``: candidates × keys record counts;
    ``a``/``b``: the gamma prior per key; ``rho``: the target's exposure over the candidate's;
    ``phi``: dispersion (scores are divided by it); ``name``: "periodic" or "exact"."""

    name: str
    R: sp.csr_matrix
    K: sp.csr_matrix
    a: np.ndarray
    b: np.ndarray
    rho: float
    phi: float = 1.0

    @property
    def log_q(self) -> np.ndarray:
        """log(1 − p_j) per key: the log-probability of one known record's key staying unseen."""
        return np.log((self.b + 1.0) / (self.b + 1.0 + self.rho))

    def absence(self) -> np.ndarray:
        """Per candidate: Σ_j c_j · log(1 − p_j) (≤ 0), divided by φ."""
        return np.asarray(self.K @ self.log_q).ravel() / self.phi

    def linear(self) -> sp.csr_matrix:
        """Candidates × keys weights of the bilinear bound: log((a + c + ½) / (a + ½)) where c > 0."""
        K = self.K.tocsr()
        a = self.a[K.indices]
        w = np.log((a + K.data + 0.5) / (a + 0.5)) / self.phi
        return sp.csr_matrix((w, K.indices.copy(), K.indptr.copy()), shape=K.shape)

    def exact(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        """The exact score of each pair (target row ``t[i]``, candidate row ``c[i]``)."""
        return self.pair(t, c) + self.absence()[c]

    # -- the term interface of ``top`` -------------------------------------------------------------
    def cand(self) -> np.ndarray:
        return self.absence()

    def bound(self):
        return self.R, self.linear().T.tocsr()

    def pair(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        """The shared-key part of the exact score (the score less the candidate's absence term)."""
        if not len(t):
            return np.zeros(0)
        rows, x, n, k = shared_keys(self.R, self.K, t, c)
        a = self.a[x]
        g = gammaln(n + a + k) - gammaln(a + k) - gammaln(n + a) + gammaln(a)
        return np.bincount(rows, weights=g, minlength=len(t)) / self.phi


def space(name: str, R: sp.csr_matrix, K: sp.csr_matrix, *, halves: tuple | None = None) -> CountSpace:
    """A key space with its prior fitted to the candidates' counts and its exposure ratio from the
    two sides' totals. ``halves``: (K_first, K_second), the candidates' counts in each half of the
    knowledge window (same keys), for the dispersion φ; None: φ = 1."""
    K = K.tocsr()
    R = R.tocsr()
    C = max(K.shape[0], 1)
    mu = np.asarray(K.sum(axis=0)).ravel() / C
    ex2 = np.asarray(K.multiply(K).sum(axis=0)).ravel() / C
    var = ex2 - mu * mu
    # gamma-Poisson by moments: var = μ + μ / b  →  b = μ / (var − μ)
    b = np.clip(mu / np.maximum(var - mu, 1e-12), *B_RANGE)
    a = np.maximum(b * mu, 1e-6)
    tot_k, tot_r = float(K.sum()), float(R.sum())
    rho = tot_r / tot_k if tot_k > 0 and tot_r > 0 else 1.0
    phi = dispersion(*halves) if halves is not None else 1.0
    return CountSpace(name=name, R=R, K=K, a=a, b=b, rho=rho, phi=phi)


def dispersion(first: sp.csr_matrix, second: sp.csr_matrix) -> float:
    """φ = Σ (x − y)² / Σ (x + y) over every (candidate, key) with records in either half of the
    knowledge window: 1 for Poisson counts at a constant rate, more for bursty or drifting ones
    (never below 1)."""
    d = (first - second).tocsr()
    s = (first + second).tocsr()
    den = float(s.sum())
    if den <= 0:
        return 1.0
    return max(1.0, float(d.multiply(d).sum()) / den)


# -- the profile terms ----------------------------------------------------------------------------
#: Hyper-parameters of the profile terms (the outside reference attacker's, tuned on one synthetic
#: population and checked on another; benchmarks/outside_profile.py): smoothing of a person's place
#: towards the population (``alpha``) and of a person's place × slot towards the person's place
#: (``beta``), the tempering of the place multinomial (``kappa`` records), the discount of a known
#: volume (``eta``), the smoothing of a person's kind mix (``delta``), the gamma shape of a key's
#: count around the profile's prediction (``phi``) and the log-probability that a record the
#: adversary knows is missing from the person's released records (``log_eps``; 0 in an exact
#: release, kept finite for robustness).
PARAMS = {"alpha": 2.0, "beta": 4.0, "kappa": 10.0, "eta": 1.0, "delta": 4.0, "phi": 2.0, "log_eps": -12.0}


def place_slot_profile(Kps: np.ndarray, P: int, S: int, alpha: float = PARAMS["alpha"],
                       beta: float = PARAMS["beta"]) -> np.ndarray:
    """Candidates × (place × slot) shares ``q_i(p, s)``, smoothed hierarchically: a person's place
    towards the population's, a person's place × slot towards the person's place times the
    population's slot mix at that place (``Kps``: known records, candidates × P·S, slot fastest)."""
    Kps = np.asarray(Kps, dtype=np.float64)
    C = Kps.shape[0]
    tot = Kps.sum(axis=1, keepdims=True)
    pop = Kps.sum(axis=0) + 1e-9
    pi_ps = (pop / pop.sum()).reshape(P, S)
    pi_p = pi_ps.sum(axis=1)
    pi_s_p = (pi_ps / pi_p[:, None]).ravel()
    q_p = (Kps.reshape(C, P, S).sum(axis=2) + alpha * pi_p) / (tot + alpha)
    return (Kps + beta * np.repeat(q_p, S, axis=1) * pi_s_p[None, :]) / (tot + beta)


@dataclass
class PlaceSlot:
    """The target's records over (place, slot) as a multinomial draw from the candidate's smoothed
    profile ``q`` (candidates × keys), tempered per target by ``w_t = 1 / (1 + N_t / κ)``: bursty
    records carry about κ records' worth of place evidence (a Dirichlet-multinomial of concentration
    κ). ``R``: targets × keys record counts. Bilinear: its bound is exact."""

    name: str
    R: sp.csr_matrix
    logq: np.ndarray
    w: np.ndarray

    def cand(self) -> np.ndarray:
        return np.zeros(self.logq.shape[0])

    def bound(self):
        return sp.diags(self.w) @ self.R, np.ascontiguousarray(self.logq.T)

    def pair(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        if not len(t):
            return np.zeros(0)
        Rt = self.R[t].tocsr()
        rows = np.repeat(np.arange(len(t)), np.diff(Rt.indptr))
        v = Rt.data * self.logq[c[rows], Rt.indices]
        return np.bincount(rows, v, minlength=len(t)) * self.w[t]


def place_slot(R: sp.csr_matrix, Kps: np.ndarray, P: int, S: int, kappa: float = PARAMS["kappa"]) -> PlaceSlot:
    R = sp.csr_matrix(R)
    n_t = np.asarray(R.sum(axis=1)).ravel()
    w = 1.0 / (1.0 + n_t / kappa) if kappa > 0 else np.ones_like(n_t)
    return PlaceSlot("place-slot", R, np.log(place_slot_profile(Kps, P, S)), w)


def _nb_moments(c: np.ndarray) -> tuple[float, float]:
    """Gamma (shape, rate) of a rate whose Poisson counts are ``c``, by moments."""
    m, v = float(c.mean()), float(c.var())
    b = m / max(v - m, 1e-6 * m + 1e-9)
    return max(m * b, 1e-3), max(b, 1e-9)


def _low_rank(M: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """(U·s, V) of the best rank-``rank`` approximation of M (rows × cols): M ≈ (U·s) @ V."""
    U, sv, Vt = np.linalg.svd(M, full_matrices=False)
    r = min(rank, len(sv))
    return U[:, :r] * sv[:r], Vt[:r]


@dataclass
class KindVolume:
    """Volume and mix of record kinds: a person's rate of kind-k records ~ Gamma(a_k, b_k) (moments of
    the candidates' counts), posterior Gamma(a_k + η c, b_k + η) after ``c`` known records; the target
    window holds ρ_k = released / known kind-k records times the knowledge's exposure, so its count
    n ~ NB(a_k + η c, p_k), p_k = (b_k + η) / (b_k + η + ρ_k). ``n``: targets × kinds, ``c``:
    candidates × kinds."""

    name: str
    n: np.ndarray
    c: np.ndarray
    a: np.ndarray
    b: np.ndarray
    rho: np.ndarray
    eta: float = PARAMS["eta"]
    rank: int = 6

    def __post_init__(self):
        self.r = self.a[None, :] + self.eta * self.c
        self.lp = np.log((self.b + self.eta) / (self.b + self.eta + self.rho))
        self.l1p = np.log(self.rho / (self.b + self.eta + self.rho))

    def cand(self) -> np.ndarray:
        return self.r @ self.lp

    def pair(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        n, r = self.n[t], self.r[c]
        return (gammaln(n + r) - gammaln(r) + n * self.l1p[None, :]).sum(axis=1)

    def bound(self):
        """lnΓ(n + r) − lnΓ(r) + n·log(1 − p) per kind, approximated by its best rank-6 factorization
        over the distinct target counts × distinct candidate rates (a preselection only: the
        candidates kept are rescored by ``pair``)."""
        fr, fc = [], []
        for k in range(self.n.shape[1]):
            nu, ni = np.unique(self.n[:, k], return_inverse=True)
            ru, ri = np.unique(self.r[:, k], return_inverse=True)
            if len(ru) > 1500:                      # levels: nearest of 1,500 quantiles of the rates
                lv = np.unique(np.quantile(ru, np.linspace(0, 1, 1500)))
                ri = np.clip(np.searchsorted(lv, self.r[:, k]), 0, len(lv) - 1)
                ru = lv
            if len(nu) > 1500:
                lv = np.unique(np.quantile(nu, np.linspace(0, 1, 1500)))
                ni = np.clip(np.searchsorted(lv, self.n[:, k]), 0, len(lv) - 1)
                nu = lv
            M = gammaln(nu[:, None] + ru[None, :]) - gammaln(ru)[None, :]
            us, v = _low_rank(M, self.rank)
            fr.append(us[ni])
            fc.append(v[:, ri])
        lin = self.n @ self.l1p
        fr.append(lin[:, None])
        fc.append(np.ones((1, self.c.shape[0])))
        return sp.csr_matrix(np.hstack(fr)), np.ascontiguousarray(np.vstack(fc))


def kind_volume(n: np.ndarray, c: np.ndarray) -> KindVolume | None:
    """The kind-volume term over the kinds both sides hold (None: no such kind)."""
    n, c = np.asarray(n, dtype=np.float64), np.asarray(c, dtype=np.float64)
    keep = (c.sum(axis=0) > 0) & (n.sum(axis=0) > 0)
    if not keep.any():
        return None
    n, c = n[:, keep], c[:, keep]
    ab = [_nb_moments(c[:, k]) for k in range(c.shape[1])]
    a = np.array([x[0] for x in ab])
    b = np.array([x[1] for x in ab])
    rho = n.sum(axis=0) / c.sum(axis=0)
    return KindVolume("kind-volume", n, c, a, b, rho)


@dataclass
class Thinning:
    """Exact keys (place × time bin × kind) when the adversary's knowledge is a sample of the very
    records released (the same period). A person's true count at key x is Poisson(λ), λ ~ Gamma(φ,
    φ / λ0) around her profile's prediction ``λ0 = U[i, (p, s(b), k)] · e_b`` (records known,
    smoothed place × slot and kind shares, the share of the slot's records in bin b, divided by the
    sampling rate f); the known count c is a Binomial(f) thinning of it, so the unknown part is
    NB(φ + c, P), 1 − P = (1 − f) λ0 / (φ + λ0). ``contain``: the target holds the known records too
    (knowledge drawn from the released records: n = c + unknown, and a known record the target lacks
    costs ``log_eps``); otherwise the target is the unknown part (a self-sample). Scores are
    log-likelihood ratios against a person known at no key, up to terms of the target alone."""

    name: str
    R: sp.csr_matrix            # targets × nx
    K: sp.csr_matrix            # candidates × nx
    U: np.ndarray               # candidates × (P·S·nk)
    e: np.ndarray               # nb
    slot_of_bin: np.ndarray     # nb
    S: int
    nb: int
    nk: int
    f: float
    contain: bool
    phi: float = PARAMS["phi"]
    log_eps: float = PARAMS["log_eps"]
    #: per kind: whether its records are matched at these keys one by one (containment, log_eps and the
    #: binomial count); False for kinds whose records are matched with their durations (``FineKeys``)
    counted: np.ndarray | None = None

    def _cnt(self, x: np.ndarray) -> np.ndarray:
        """1.0 where key x's kind is matched record by record here (contain), else 0.0."""
        if not self.contain:
            return np.zeros(len(x))
        if self.counted is None:
            return np.ones(len(x))
        return self.counted[x % self.nk].astype(float)

    def _psk(self, x: np.ndarray) -> np.ndarray:
        k = x % self.nk
        pb = x // self.nk
        b, p = pb % self.nb, pb // self.nb
        return (p * self.S + self.slot_of_bin[b]) * self.nk + k

    def _lam(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.maximum(self.U[rows, self._psk(x)] * self.e[(x // self.nk) % self.nb], 1e-12)

    def _logP(self, lam):
        return np.log((self.phi + self.f * lam) / (self.phi + lam))

    def _log1mP(self, lam):
        return np.log((1.0 - self.f) * lam / (self.phi + lam))

    def cand(self) -> np.ndarray:
        C, nx = self.K.shape
        out = np.zeros(C)
        x = np.arange(nx)
        psk, eb = self._psk(x), self.e[(x // self.nk) % self.nb]
        step = max(1, 20_000_000 // max(nx, 1))
        for c0 in range(0, C, step):
            lam = np.maximum(self.U[c0:c0 + step][:, psk] * eb[None, :], 1e-12)
            out[c0:c0 + step] = self.phi * self._logP(lam).sum(axis=1)
        K = self.K.tocsr()
        rows = np.repeat(np.arange(C), np.diff(K.indptr))
        v = K.data * (self._logP(self._lam(rows, K.indices)) + self.log_eps * self._cnt(K.indices))
        return out + np.bincount(rows, v, minlength=C)

    def pair(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        if not len(t):
            return np.zeros(0)
        Rt = self.R[t].tocsr()
        rows = np.repeat(np.arange(len(t)), np.diff(Rt.indptr))
        out = np.bincount(rows, Rt.data * self._log1mP(self._lam(c[rows], Rt.indices)), minlength=len(t))
        rows, x, n, k = shared_keys(self.R, self.K, t, c)
        ph = self.phi
        if self.contain:
            u = np.minimum(n, k)
            g = (gammaln(np.maximum(n, k) + ph) - gammaln(k + ph) - gammaln(n + ph) + gammaln(ph)
                 - u * self._log1mP(self._lam(c[rows], x))
                 + self._cnt(x) * (gammaln(n + 1) - gammaln(n - u + 1) - u * self.log_eps))
        else:
            g = gammaln(n + ph + k) - gammaln(n + ph) - gammaln(ph + k) + gammaln(ph)
        return out + np.bincount(rows, g, minlength=len(t))

    @property
    def has_joint(self) -> bool:
        return self.contain

    def joint_cand(self) -> np.ndarray:
        """The one-to-one value of a candidate (contain): log P(her known records | a target lacking
        them all) less terms of the target alone — each known record costs ``log_eps``."""
        K = self.K.tocsr()
        rows = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
        return np.bincount(rows, K.data * self._cnt(K.indices), minlength=K.shape[0]) * self.log_eps

    def joint_pair(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        """log Binomial(c | n, f) on the shared keys, less terms of the target alone or the candidate
        alone: the exact likelihood that the candidate's known records are a sample of the target's."""
        if not len(t):
            return np.zeros(0)
        rows, x, n, k = shared_keys(self.R, self.K, t, c)
        u = np.minimum(n, k)
        g = (gammaln(n + 1) - gammaln(n - u + 1) - u * self.log_eps) * self._cnt(x)
        return np.bincount(rows, g, minlength=len(t))

    def bound(self):
        """The profile part with each bin's share replaced by its slot's mean share (one product over
        place × slot × kind), plus the known keys the target shows (each record at them given back
        its ``log_eps``, or the count-consistency's linear bound for a disjoint target)."""
        nx = self.K.shape[1]
        x = np.arange(nx)
        psk = self._psk(x)
        A = sp.csr_matrix((np.ones(nx), (x, psk)), shape=(nx, self.U.shape[1]))
        Rpsk = (self.R @ A).tocsr()
        m = np.bincount(self.slot_of_bin, self.e, minlength=self.S) / np.maximum(
            np.bincount(self.slot_of_bin, minlength=self.S), 1)
        s_of = (np.arange(self.U.shape[1]) // self.nk) % self.S
        lam = np.maximum(self.U * m[s_of][None, :], 1e-12)
        G = self._log1mP(lam)
        # shared keys: c·log(n + 1) bounds lnΓ(n + 1) − lnΓ(n − c + 1) (contain; c·log(n + φ) bounds the
        # disjoint lnΓ(n + φ + c) − lnΓ(n + φ)); the rest of a shared key's term is the candidate's
        K = self.K.tocsr()
        rows = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
        c = K.data
        ph = self.phi
        if self.contain:
            cnt = self._cnt(K.indices)
            w2 = (gammaln(ph) - gammaln(c + ph) - c * (self._log1mP(self._lam(rows, K.indices)) + self.log_eps * cnt))
            r1 = np.log(self.R.data + 1.0)
            c = c * cnt
        else:
            w2 = gammaln(ph) - gammaln(c + ph)
            r1 = np.log(self.R.data + ph)
        R = self.R.tocsr()
        R1 = sp.csr_matrix((r1, R.indices, R.indptr), shape=R.shape)
        R2 = sp.csr_matrix((np.ones(len(R.data)), R.indices, R.indptr), shape=R.shape)
        W2 = sp.csr_matrix((w2, K.indices, K.indptr), shape=K.shape)
        W1 = sp.csr_matrix((c, K.indices, K.indptr), shape=K.shape)
        return sp.hstack([Rpsk, R1, R2], format="csr"), (np.ascontiguousarray(G.T), W1.T.tocsr(), W2.T.tocsr())


@dataclass
class Durations:
    """Durations of calls and data sessions, per duration type e (an event type whose durations
    vary), on x = log(seconds): a person's mean μ ~ N(m0, τ²) and her records ~ N(μ, σ²) (σ² the
    pooled within-person variance, τ² the variance of person means less their sampling variance,
    both by moments on the knowledge); after the known records μ ~ N(m_i, v_i). The target's records
    depend on the candidate only through their mean x̄: log N(x̄; m_i, v_i + σ² / n_t). ``xbar``,
    ``nt``: targets × types; ``m``, ``v``: candidates × types; ``s2``: per type."""

    name: str
    xbar: np.ndarray
    nt: np.ndarray
    m: np.ndarray
    v: np.ndarray
    s2: np.ndarray

    def cand(self) -> np.ndarray:
        return np.zeros(self.m.shape[0])

    def pair(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        n = self.nt[t]
        var = self.v[c] + self.s2[None, :] / np.maximum(n, 1)
        ll = -0.5 * (np.log(2 * np.pi * var) + (self.xbar[t] - self.m[c]) ** 2 / var)
        return np.where(n > 0, ll, 0.0).sum(axis=1)

    def bound(self):
        """The same with each candidate's posterior variance replaced by the median one (bilinear in
        (x̄ / var, −½ / var) × (m_i, m_i²))."""
        has = self.nt > 0
        var = np.median(self.v, axis=0)[None, :] + self.s2[None, :] / np.maximum(self.nt, 1)
        f1 = np.where(has, self.xbar / var, 0.0)
        f2 = np.where(has, -0.5 / var, 0.0)
        f0 = np.where(has, -0.5 * (np.log(2 * np.pi * var) + self.xbar ** 2 / var), 0.0).sum(axis=1, keepdims=True)
        C = self.m.shape[0]
        return (sp.csr_matrix(np.hstack([f1, f2, f0])),
                np.ascontiguousarray(np.vstack([self.m.T, (self.m ** 2).T, np.ones((1, C))])))

    def log_density(self, rows: np.ndarray, e: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """log of candidate ``rows``' predictive density of one record of type ``e`` lasting
        ``seconds`` (a density in seconds: log-normal)."""
        x = np.log(np.maximum(seconds, 1.0))
        var = self.v[rows, e] + self.s2[e]
        return -0.5 * (np.log(2 * np.pi * var) + (x - self.m[rows, e]) ** 2 / var) - x


def durations(kn: np.ndarray, ks1: np.ndarray, ks2: np.ndarray, rn: np.ndarray, rs1: np.ndarray,
              types: list) -> tuple[Durations | None, list]:
    """The duration term from per-(person, type) counts ``n`` of records with a positive duration and
    sums ``s1`` of log-durations (``s2``: of their squares; knowledge ``k*``, targets ``r*``). Types
    with a constant duration (SMS) or fewer than ten candidates with two such records are left out.
    Returns (term or None, the types kept)."""
    keep, ms, vs, s2s = [], [], [], []
    for e in range(kn.shape[1]):
        n, s1, s2 = kn[:, e], ks1[:, e], ks2[:, e]
        ok = n >= 2
        if ok.sum() < 10:
            continue
        mean = s1[ok] / n[ok]
        within = float((s2[ok] - n[ok] * mean ** 2).sum() / max((n[ok] - 1).sum(), 1.0))
        if within <= 1e-9:
            continue
        m0 = float(s1.sum() / n.sum())
        tau2 = max(float(np.var(mean) - np.mean(within / n[ok])), 1e-4)
        v = 1.0 / (1.0 / tau2 + n / within)
        keep.append(e)
        ms.append(v * (m0 / tau2 + s1 / within))
        vs.append(v)
        s2s.append(within)
    if not keep:
        return None, []
    k = np.array(keep)
    xbar = np.where(rn[:, k] > 0, rs1[:, k] / np.maximum(rn[:, k], 1), 0.0)
    return Durations("durations", xbar, rn[:, k].astype(float), np.column_stack(ms), np.column_stack(vs),
                     np.array(s2s)), [types[i] for i in keep]


@dataclass
class FineKeys:
    """Records matched one by one with their durations, when the adversary's knowledge is a sample
    of the released records: keys (place, time bin, kind, duration in seconds) of the duration
    kinds. Each known record must be among the target's at its key (a missing one costs
    ``log_eps``); the ``u = min(n, c)`` matched ones count the ways of choosing them (the binomial
    thinning, ``lnΓ(n + 1) − lnΓ(n − u + 1)``) and their durations' probability under the
    candidate's duration profile is taken back (``−u · log π_i(d)``: the target's durations are
    already explained by the candidate's own records). ``R``/``K``: counts at the candidate side's
    keys; ``key_type``, ``key_s``: each key's duration type (a column of ``dur``) and seconds."""

    name: str
    R: sp.csr_matrix
    K: sp.csr_matrix
    key_type: np.ndarray
    key_s: np.ndarray
    dur: Durations
    log_eps: float = PARAMS["log_eps"]
    has_joint = True

    def cand(self) -> np.ndarray:
        return np.asarray(self.K.sum(axis=1)).ravel() * self.log_eps

    joint_cand = cand

    def joint_pair(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        if not len(t):
            return np.zeros(0)
        rows, _, n, k = shared_keys(self.R, self.K, t, c)
        u = np.minimum(n, k)
        return np.bincount(rows, gammaln(n + 1) - gammaln(n - u + 1) - u * self.log_eps, minlength=len(t))

    def pair(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        if not len(t):
            return np.zeros(0)
        rows, y, n, k = shared_keys(self.R, self.K, t, c)
        u = np.minimum(n, k)
        lp = self.dur.log_density(c[rows], self.key_type[y], self.key_s[y])
        g = gammaln(n + 1) - gammaln(n - u + 1) - u * (self.log_eps + lp)
        return np.bincount(rows, g, minlength=len(t))

    def bound(self):
        K = self.K.tocsr()
        rows = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
        lp = self.dur.log_density(rows, self.key_type[K.indices], self.key_s[K.indices])
        W = sp.csr_matrix((-K.data * (self.log_eps + lp), K.indices, K.indptr), shape=K.shape)
        R = self.R.tocsr()
        Rb = sp.csr_matrix((np.ones(len(R.data)), R.indices, R.indptr), shape=R.shape)
        return Rb, W.T.tocsr()


@dataclass
class JointOnly:
    """A term that informs the one-to-one decision only (its ranking part is 0): ``term``'s score is
    the decision's value of a pair."""

    name: str
    term: object
    has_joint = True

    def cand(self) -> np.ndarray:
        return np.zeros(self.term.K.shape[0])

    def bound(self):
        return sp.csr_matrix((self.term.R.shape[0], 0)), np.zeros((0, self.term.K.shape[0]))

    def pair(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.zeros(len(t))

    def joint_cand(self) -> np.ndarray:
        return self.term.cand()

    def joint_pair(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        return self.term.pair(t, c)


def thinning(R: sp.csr_matrix, K: sp.csr_matrix, Kps: np.ndarray, Kk: np.ndarray, *, P: int, S: int,
             slot_of_bin: np.ndarray, nk: int, contain: bool, delta: float = PARAMS["delta"]) -> Thinning:
    """The thinning term with its profile fitted to the candidates: ``Kps`` known records per
    place × slot, ``Kk`` per kind; keys x = (place · nb + bin) · nk + kind."""
    R, K = sp.csr_matrix(R), sp.csr_matrix(K)
    nb = len(slot_of_bin)
    tot_k, tot_r = float(K.sum()), float(R.sum())
    f = (tot_k / tot_r if contain else tot_k / (tot_k + tot_r)) if tot_r > 0 else 0.5
    f = float(np.clip(f, 1e-3, 0.999))
    q_ps = place_slot_profile(Kps, P, S)                                  # C × P·S
    Kk = np.asarray(Kk, dtype=np.float64)
    tot = Kk.sum(axis=1)
    pi_k = Kk.sum(axis=0) / max(Kk.sum(), 1e-12)
    q_k = (Kk + delta * pi_k[None, :]) / (tot[:, None] + delta)
    U = ((tot / f)[:, None, None] * q_ps[:, :, None] * q_k[:, None, :]).reshape(K.shape[0], P * S * nk)
    per_bin = np.bincount((K.indices // nk) % nb, K.data, minlength=nb)
    per_slot = np.bincount(slot_of_bin, per_bin, minlength=S)
    e = per_bin / np.maximum(per_slot[slot_of_bin], 1e-12)
    return Thinning("exact", R, K, U, e, np.asarray(slot_of_bin, dtype=np.int64), S, nb, nk, f, contain)


def top(terms: list, n_targets: int, n_candidates: int, *, keep: int, rerank: int,
        dense_cells: int = 40_000_000, pairs: int = 100_000, joint: bool = False):
    """Each target's ``keep`` best candidates under the summed scores of ``terms`` (``CountSpace``,
    ``PlaceSlot``, ``KindVolume``, ``Thinning``: each a candidate part ``cand()``, a bilinear bound
    ``bound()`` = (targets × F features, F × candidates weights) and an exact pair part ``pair(t,
    c)``): (candidate rows, exact scores), best first (−1 / −inf padded). The bound ranks every pair;
    the best ``rerank`` (≥ keep) of each target are rescored exactly, ``pairs`` at a time. With
    ``joint``: also the one-to-one values of the listed pairs (the terms' ``joint_pair`` +
    ``joint_cand`` where a term defines them, else None)."""
    rerank = max(keep, min(rerank, n_candidates))
    keep = min(keep, n_candidates)
    out_c = np.full((n_targets, keep), -1, dtype=np.int64)
    out_v = np.full((n_targets, keep), -np.inf)
    jterms = [t for t in terms if getattr(t, "has_joint", False)] if joint else []
    out_j = np.full((n_targets, keep), -np.inf) if jterms else None
    if n_targets == 0 or n_candidates == 0:
        return (out_c, out_v, out_j) if joint else (out_c, out_v)
    cand = sum(t.cand() for t in terms)
    jcand = sum(t.joint_cand() for t in jterms) if jterms else None
    parts = []                              # (targets × F csr, F × C weights: dense ndarray or csr)
    for t in terms:
        Rf, W = t.bound()
        Ws = W if isinstance(W, tuple) else (W,)
        Rf = sp.csr_matrix(Rf)
        off = 0
        for w in Ws:
            F = w.shape[0]
            r = Rf[:, off:off + F].tocsr()
            off += F
            if F == 0:
                continue
            if sp.issparse(w) and F * n_candidates <= dense_cells:
                w = np.asarray(w.todense(), dtype=np.float64)
            parts.append((r, w))
    block = max(1, min(pairs // rerank, 20_000_000 // n_candidates))     # pairs rescored, scores held
    for a0 in range(0, n_targets, block):
        z = min(n_targets, a0 + block)
        s = np.repeat(cand[None, :], z - a0, axis=0)
        for r, w in parts:
            prod = r[a0:z] @ w
            s += prod.toarray() if sp.issparse(prod) else np.asarray(prod)
        if rerank < n_candidates:
            idx = np.argpartition(-s, rerank - 1, axis=1)[:, :rerank]
        else:
            idx = np.tile(np.arange(n_candidates), (z - a0, 1))
        t = np.repeat(np.arange(a0, z), idx.shape[1])
        c = idx.ravel()
        v = (sum(term.pair(t, c) for term in terms) + cand[c]).reshape(idx.shape)
        o = np.argsort(-v, axis=1, kind="stable")[:, :keep]
        out_c[a0:z] = np.take_along_axis(idx, o, axis=1)
        out_v[a0:z] = np.take_along_axis(v, o, axis=1)
        if jterms:
            jv = (sum(term.joint_pair(t, c) for term in jterms) + jcand[c]).reshape(idx.shape)
            out_j[a0:z] = np.take_along_axis(jv, o, axis=1)
    return (out_c, out_v, out_j) if joint else (out_c, out_v)
