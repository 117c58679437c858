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
        if not len(t):
            return np.zeros(0)
        Rt = self.R[t]
        Kc = self.K[c]
        Rt.sort_indices()
        Kc.sort_indices()
        nn = Rt.multiply(Kc > 0).tocsr()       # n on the shared keys
        cc = Kc.multiply(Rt > 0).tocsr()       # c on the same keys (same pattern, same order)
        nn.sort_indices()
        cc.sort_indices()
        a = self.a[nn.indices]
        n, k = nn.data, cc.data
        g = gammaln(n + a + k) - gammaln(a + k) - gammaln(n + a) + gammaln(a)
        shared = np.bincount(np.repeat(np.arange(len(t)), np.diff(nn.indptr)), weights=g, minlength=len(t))
        return shared / self.phi + self.absence()[c]


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


def top(spaces: list[CountSpace], n_targets: int, n_candidates: int, *, keep: int, rerank: int,
        dense_cells: int = 40_000_000, pairs: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """Each target's ``keep`` best candidates under the summed count scores of ``spaces``:
    (candidate rows, exact scores), best first (−1 / −inf padded). The bilinear bound ranks every
    pair; the best ``rerank`` (≥ keep) of each target are rescored exactly, ``pairs`` at a time."""
    rerank = max(keep, min(rerank, n_candidates))
    keep = min(keep, n_candidates)
    out_c = np.full((n_targets, keep), -1, dtype=np.int64)
    out_v = np.full((n_targets, keep), -np.inf)
    if n_targets == 0 or n_candidates == 0:
        return out_c, out_v
    absence = sum(s.absence() for s in spaces)
    Wt = sp.hstack([s.linear() for s in spaces], format="csr").T.tocsr()       # keys × candidates
    Rall = sp.hstack([s.R for s in spaces], format="csr")
    dense = Wt.shape[0] * n_candidates <= dense_cells
    Wd = np.asarray(Wt.todense(), dtype=np.float64) if dense else None
    block = max(1, min(pairs // rerank, 20_000_000 // n_candidates))     # pairs rescored, scores held
    for a0 in range(0, n_targets, block):
        z = min(n_targets, a0 + block)
        if dense:
            s = np.asarray(Rall[a0:z] @ Wd) + absence[None, :]
        else:
            s = (Rall[a0:z] @ Wt).toarray() + absence[None, :]
        if rerank < n_candidates:
            idx = np.argpartition(-s, rerank - 1, axis=1)[:, :rerank]
        else:
            idx = np.tile(np.arange(n_candidates), (z - a0, 1))
        t = np.repeat(np.arange(a0, z), idx.shape[1])
        c = idx.ravel()
        v = sum(sp_.exact(t, c) for sp_ in spaces).reshape(idx.shape)
        o = np.argsort(-v, axis=1, kind="stable")[:, :keep]
        out_c[a0:z] = np.take_along_axis(idx, o, axis=1)
        out_v[a0:z] = np.take_along_axis(v, o, axis=1)
    return out_c, out_v
