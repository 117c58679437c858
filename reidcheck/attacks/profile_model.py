"""The scoring model of the profile-linkage attack (``attacks.profile``): numbers in, rankings out.

Nothing here touches an engine or a file: the attack builds the count tables with group-bys on the
engine and hands them over as ``Side`` objects (sparse matrices), so the model can be checked
against a plain numpy oracle on small data (``tests/test_profile.py``).

**What is scored.** Each *target* (a release pseudonym, one row of the release ``Side``) is
compared with each *candidate* (a person the adversary knows, one row of the knowledge ``Side``).
The score is the log-likelihood ratio of the target's released records under the candidate's
profile against the population's:

    score(T, C) = Σ_f n_T(f) · log( p̂_C(f) / b(f) )  +  Σ_k m_T(k) · log( q̂_C(k) / π(k) )
                  + co-occurrence(T, C)

* ``f`` = (place, slot): a place at the release's resolution and a *slot* of the week (4-hour
  block × weekday/weekend; coarser when the release's times are coarser). ``n_T(f)`` counts the
  target's records there (fractional for noisy positions: a record is spread over the places it
  may come from, ``soft_places``).
* ``p̂_C`` is the candidate's histogram with hierarchical smoothing (Dirichlet priors):
  ``p̂_C(p) = (c_C(p) + β π(p)) / (N_C + β)`` and
  ``p̂_C(p, s) = (c_C(p, s) + α p̂_C(p) π(s | p)) / (N_C + α)``, with ``π`` the population's
  distributions; ``b(p, s) = π(p) π(s | p)`` is the background. A place the candidate never visited
  costs ``log(αβ / ((N_C + α)(N_C + β)))`` per record instead of −∞, so sampling, suppression and
  noise lower a score gracefully instead of zeroing it.
* ``k`` = the record's kind (event type × direction) when both sides have it: ``q̂_C`` is the
  candidate's kind mix smoothed towards the population's ``π(k)`` with ``δ`` pseudo-records.
* co-occurrence: a released record whose exact (place, time key) also appears among the
  candidate's known records adds ``log(1 + N_C·/df)`` — ``df`` being how many candidates have that
  key — which matters when the adversary's knowledge overlaps the release in time (a sample of the
  very records released). Keys shared by more than ``max_df`` candidates are ignored: they say
  nothing.

**Decisions.** ``top`` ranks every candidate sharing a place or a key with the target (and, when
none does, the best a-priori candidate) and keeps the best ``k``; top-1 and top-5 rates come from
that. ``assign`` is the one-to-one decision: a maximum-score bipartite matching over each target's top
candidates (never a dense n × n matrix), solved by a sparse auction to within ``AUCTION_EPS``
nats per target of the optimum; a target may also stay unmatched at a score worse than any of its
listed candidates, so a full matching always exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Dirichlet pseudo-records of the smoothing (place-slot → place → population; kinds → population).
ALPHA, BETA, DELTA = 64.0, 16.0, 4.0
#: A (place, time) key shared by more known people than this is not used for co-occurrence.
MAX_DF = 8
#: Dense scoring blocks hold at most this many scores (float32) at a time; sparse blocks this many targets.
BLOCK_CELLS = 40_000_000
SPARSE_BLOCK = 5_000
#: Candidates scoring more than this many nats below a target's best are not kept (posterior < e^-150).
PRUNE_MARGIN = 150.0


@dataclass
class Side:
    """Profiles of one side. Row ``i`` is one person (knowledge) or one pseudonym (release).

    ``ids``: the row's user id (int64). ``ps``: rows × (n_places · n_slots) record counts, column
    ``place · n_slots + slot`` (float: soft counts for noisy positions). ``kinds``: rows × n_kinds
    record counts, or None. ``n``: records per row (the row sums of ``ps``)."""

    ids: np.ndarray
    ps: sp.csr_matrix
    n_slots: int
    kinds: sp.csr_matrix | None = None
    days: float | None = None        # length of the side's window in days (for the volume term)
    halves: tuple | None = None      # (records in the first half, in the second half) per row

    @property
    def n(self) -> np.ndarray:
        return np.asarray(self.ps.sum(axis=1)).ravel()

    @property
    def n_places(self) -> int:
        return self.ps.shape[1] // self.n_slots


@dataclass
class Weights:
    """The candidates' log-likelihood ratios, split so that only visited places are stored:
    ``score = R_ps · V + R_p · U + n_T · b`` (``V``: candidates × place-slots, non-zero where the
    candidate has records; ``U``: candidates × places, where the candidate visited; ``b``: per
    candidate, the cost of a record at an unvisited place). ``kind_llr``: candidates × kinds."""

    V: sp.csr_matrix
    U: sp.csr_matrix
    b: np.ndarray
    kind_llr: np.ndarray | None
    dense: np.ndarray | None = None       # candidates × place-slots, the full LLR (small feature spaces)


def population(K: Side, gamma: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """(π(p), π(s | p)) from the candidates' counts: place shares with half a record added to every
    place (so a place only the release has is rare, not impossible), and each place's slot mix
    smoothed towards the population's slot mix with ``gamma`` pseudo-records."""
    P, S = K.n_places, K.n_slots
    tot = np.asarray(K.ps.sum(axis=0)).ravel().reshape(P, S)
    per_place = tot.sum(axis=1)
    pi_p = (per_place + 0.5) / (per_place.sum() + 0.5 * P)
    pi_s = (tot.sum(axis=0) + 1.0) / (tot.sum() + S)
    pi_sp = (tot + gamma * pi_s[None, :]) / (per_place[:, None] + gamma)
    return pi_p, pi_sp


def weights(K: Side, *, alpha: float = ALPHA, beta: float = BETA, delta: float = DELTA,
            kinds_pop: np.ndarray | None = None, dense: bool = False) -> Weights:
    """The candidates' smoothed log-likelihood ratios (see the module docstring)."""
    P, S = K.n_places, K.n_slots
    N = K.n
    pi_p, pi_sp = population(K)
    ps = K.ps.tocsr()
    ps.sum_duplicates()
    # place-level counts of each candidate
    place_of_col = np.repeat(np.arange(P), S)
    cp = sp.csr_matrix((ps.data, (np.repeat(np.arange(ps.shape[0]), np.diff(ps.indptr)), place_of_col[ps.indices])),
                       shape=(ps.shape[0], P))
    cp.sum_duplicates()
    b = np.log(alpha * beta / ((N + alpha) * (N + beta)))
    rows_p = np.repeat(np.arange(cp.shape[0]), np.diff(cp.indptr))
    phat_p = (cp.data + beta * pi_p[cp.indices]) / (N[rows_p] + beta)
    # u_C(p): a visited place at a slot the candidate has no record in
    u = np.log(alpha * phat_p / ((N[rows_p] + alpha) * pi_p[cp.indices]))
    U = sp.csr_matrix((u - b[rows_p], cp.indices, cp.indptr), shape=cp.shape)
    rows_ps = np.repeat(np.arange(ps.shape[0]), np.diff(ps.indptr))
    place = place_of_col[ps.indices]
    slot = ps.indices % S
    # phat_p of (row, place): look it up in cp by a merged key
    key_cp = rows_p.astype(np.int64) * P + cp.indices
    key_ps = rows_ps.astype(np.int64) * P + place
    pos = np.searchsorted(key_cp, key_ps)
    php = phat_p[pos]
    bg = pi_p[place] * pi_sp[place, slot]
    llr = np.log((ps.data + alpha * php * pi_sp[place, slot]) / ((N[rows_ps] + alpha) * bg))
    V = sp.csr_matrix((llr - u[pos], ps.indices, ps.indptr), shape=ps.shape)
    kind_llr = None
    if K.kinds is not None:
        kc = np.asarray(K.kinds.todense(), dtype=float)
        pk = kinds_pop if kinds_pop is not None else (kc.sum(axis=0) + 1.0) / (kc.sum() + kc.shape[1])
        kind_llr = np.log((kc + delta * pk[None, :]) / (kc.sum(axis=1, keepdims=True) + delta) / pk[None, :])
    full = None
    if dense:
        full = (np.asarray((V + U[:, place_of_col]).todense()) + b[:, None]).astype(np.float32)
    return Weights(V=V, U=U, b=b, kind_llr=kind_llr, dense=full)


def _place_counts(R: Side) -> sp.csr_matrix:
    P, S = R.n_places, R.n_slots
    ps = R.ps.tocoo()
    m = sp.csr_matrix((ps.data, (ps.row, ps.col // S)), shape=(ps.shape[0], P))
    m.sum_duplicates()
    return m


def _topk_rows(M: sp.csr_matrix, k: int, margin: float = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest entries of each CSR row: (columns, values), −inf / −1 padded. Entries more
    than ``margin`` below their row's maximum are dropped first (a candidate that many nats behind
    the best has no chance of being the person), so only a few per row are sorted."""
    margin = PRUNE_MARGIN if margin is None else margin
    n = M.shape[0]
    cols = np.full((n, k), -1, dtype=np.int64)
    vals = np.full((n, k), -np.inf)
    if M.nnz == 0:
        return cols, vals
    counts = np.diff(M.indptr)
    nonempty = counts > 0
    rows_ne = np.flatnonzero(nonempty)
    rowmax = np.full(n, -np.inf)
    rowmax[rows_ne] = np.maximum.reduceat(M.data, M.indptr[:-1][nonempty])
    rows = np.repeat(np.arange(n), counts)
    behind = rowmax[rows] - M.data          # ≥ 0: how far behind its row's best
    keep = behind <= margin
    r, c, v = rows[keep], M.indices[keep], M.data[keep]
    # one float sort: row, then distance behind the best (< margin + 1 apart, so rows never mix)
    order = np.argsort(r * (margin + 2.0) + behind[keep], kind="stable")
    r, c, v = r[order], c[order], v[order]
    start = np.searchsorted(r, np.arange(n))
    rank = np.arange(len(r)) - start[r]
    ok = rank < k
    cols[r[ok], rank[ok]] = c[ok]
    vals[r[ok], rank[ok]] = v[ok]
    return cols, vals


def volume_model(R: Side, K: Side) -> tuple[float, float] | None:
    """(shift, σ) of the log record rate: a target's log rate is its candidate's plus ``shift``
    (the sides' median difference: sampling, suppression), with the spread σ of a person's log
    rate between the two halves of the knowledge window (the adversary's own data), widened for
    the release window's length. None without window lengths."""
    if R.days is None or K.days is None or K.halves is None or not len(R.ids) or not len(K.ids):
        return None
    lr = np.log((R.n + 0.5) / R.days)
    lk = np.log((K.n + 0.5) / K.days)
    shift = float(np.median(lr) - np.median(lk))
    a, b = (np.asarray(h, float) for h in K.halves)
    ok = (a + b) >= 4
    if ok.sum() < 10:
        return None
    d = np.log(a[ok] + 0.5) - np.log(b[ok] + 0.5)
    # var of one half-window's log rate ≈ var(d)/2; a window of length L has ~ var · (K.days/2) / L
    v = float(np.var(d)) / 2
    sigma = float(np.sqrt(v * (K.days / 2) / R.days + v * (K.days / 2) / K.days + 1e-4))
    return shift, sigma


def top(R: Side, K: Side, W: Weights, *, k: int = 10, cooc: sp.csr_matrix | None = None,
        rerank: int = 50, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Each target's ``k`` best candidates: (candidate rows, scores), best first (−1 / −inf padded).

    Candidates are scored by the place-slot model (and ``cooc``: targets × candidates co-occurrence
    scores); the best ``rerank`` are then rescored with the kind mix and the volume, when known.
    Everything is done per block of targets, so only ``k`` candidates per target are ever stored."""
    T, C = R.ps.shape[0], K.ps.shape[0]
    vol = volume_model(R, K)
    has_kinds = W.kind_llr is not None and R.kinds is not None
    keep = max(k, rerank if has_kinds or vol is not None else k)
    keep = min(keep, C)
    out_c = np.full((T, k), -1, dtype=np.int64)
    out_v = np.full((T, k), -np.inf)
    nT = R.n
    Rps = R.ps.tocsr()
    Rp = _place_counts(R)
    lr = np.log((nT + 0.5) / R.days) if vol is not None else None
    lk = np.log((K.n + 0.5) / K.days) if vol is not None else None
    mk = R.kinds.tocsr() if has_kinds else None

    def finish(a: int, z: int, cols: np.ndarray, vals: np.ndarray) -> None:
        if has_kinds or vol is not None:
            ok = cols >= 0
            safe = np.where(ok, cols, 0)
            extra = np.zeros(vals.shape)
            if has_kinds:
                extra += np.einsum("tk,tjk->tj", mk[a:z].toarray(), W.kind_llr[safe])
            if vol is not None:
                shift, sigma = vol
                zz = (lr[a:z, None] - lk[safe] - shift) / sigma
                extra += -0.5 * zz * zz
            vals = np.where(ok, vals + extra, -np.inf)
            o = np.argsort(-vals, axis=1, kind="stable")
            cols, vals = np.take_along_axis(cols, o, axis=1), np.take_along_axis(vals, o, axis=1)
        w = min(k, cols.shape[1])
        out_c[a:z, :w], out_v[a:z, :w] = cols[:, :w], vals[:, :w]
        if progress:
            progress(z - a)

    if W.dense is not None:
        block = max(1, BLOCK_CELLS // max(C, 1))
        for a in range(0, T, block):
            z = min(T, a + block)
            s = np.asarray(Rps[a:z] @ W.dense.T, dtype=np.float64)
            if cooc is not None:
                s += cooc[a:z].toarray()
            idx = np.argpartition(-s, keep - 1, axis=1)[:, :keep] if keep < C else np.tile(np.arange(C), (z - a, 1))
            val = np.take_along_axis(s, idx, axis=1)
            o = np.argsort(-val, axis=1, kind="stable")
            finish(a, z, np.take_along_axis(idx, o, axis=1), np.take_along_axis(val, o, axis=1))
    else:
        # one product: [R_ps | R_p] · [V | U]ᵀ (no sum of two sparse results to sort)
        VUt = sp.vstack([W.V.T.tocsr(), W.U.T.tocsr()], format="csr")
        RR = sp.hstack([Rps, Rp], format="csr")
        best_prior = int(np.argmax(W.b))
        block = max(1, min(T, SPARSE_BLOCK))
        for a in range(0, T, block):
            z = min(T, a + block)
            s = RR[a:z] @ VUt
            if cooc is not None:
                s = s + cooc[a:z]
            s = s.tocsr()
            # + n_T · b_C on every listed pair
            rows = np.repeat(np.arange(z - a), np.diff(s.indptr))
            s.data = s.data + nT[a + rows] * W.b[s.indices]
            cols, vals = _topk_rows(s, keep)
            del s, rows
            empty = cols[:, 0] < 0
            if empty.any():      # no shared place: the best a-priori candidate
                cols[empty, 0] = best_prior
                vals[empty, 0] = nT[a:z][empty] * W.b[best_prior]
            finish(a, z, cols, vals)
    return out_c, out_v


#: Bid increment of the one-to-one auction, in nats: the matching's total score is within
#: ``n_targets × AUCTION_EPS`` of the optimum (Bertsekas 1988), each target within 0.01 nat (a
#: likelihood ratio of 1.01) of its best option at the final prices. The number of bidding rounds
#: grows as the score range over the increment: 1e-3 took 7.5 s on a 4,000-target coarse release
#: whose scores span ~20,000 nats, 1e-2 1.2 s with the same total score.
AUCTION_EPS = 1e-2


def assign(cands: np.ndarray, scores: np.ndarray, n_candidates: int, groups: np.ndarray | None = None,
           eps: float = AUCTION_EPS) -> np.ndarray:
    """One-to-one decision: the candidate row matched to each target (−1: left unmatched), maximizing
    the total score over each target's listed candidates (``cands``/``scores``: targets × k, best
    first, −1 or a non-finite score where a list is shorter). Each target also has a private
    'unmatched' option worth 1 nat less than its worst listed candidate, so it stays unmatched
    only when every candidate it lists is better used by others. ``groups`` (per target): targets
    of different groups never compete (pseudonyms of different rotation periods, each of which
    holds at most one pseudonym per person).

    The matching is a sparse forward auction (Bertsekas 1988, Jacobi form): every unmatched target
    bids for its best candidate at its current price, raising the price by the margin over its
    second-best option plus ``eps``; the highest bid takes the candidate and the previous holder bids
    again. From zero prices the result satisfies ε-complementary slackness, so its total score is
    within ``n_targets × eps`` of the maximum. Work is on the targets × (k + 1) lists only, never a
    dense n × n matrix; at 1M targets × 10 it runs in seconds, where the shortest-augmenting-path
    solver (``scipy.sparse.csgraph.min_weight_full_bipartite_matching``) resets a vector over all
    columns for every augmenting path and took hours."""
    T = cands.shape[0]
    out = np.full(T, -1, dtype=np.int64)
    if T == 0 or cands.shape[1] == 0:
        return out
    groups = np.zeros(T, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        out[idx] = _auction(cands[idx], scores[idx], n_candidates, eps)
    return out


def _auction(cands: np.ndarray, scores: np.ndarray, n_candidates: int, eps: float) -> np.ndarray:
    """The auction of ``assign`` for one group of targets. Column k of the value table is each
    target's private 'unmatched' option (object ``n_candidates``, never priced)."""
    n, k = cands.shape
    ok = (cands >= 0) & np.isfinite(scores)
    low = np.where(ok, scores, np.inf).min(axis=1)
    value = np.empty((n, k + 1))
    value[:, :k] = np.where(ok, scores, -np.inf)
    value[:, k] = np.where(np.isfinite(low), low - 1.0, 0.0)
    obj = np.empty((n, k + 1), dtype=np.int64)
    obj[:, :k] = np.where(ok, cands, n_candidates)
    obj[:, k] = n_candidates
    price = np.zeros(n_candidates + 1)
    choice = _bid(value, obj, price, n_candidates, eps)
    matched = np.full(n, -1, dtype=np.int64)
    held = np.flatnonzero(choice < k)
    matched[held] = obj[held, choice[held]]
    return matched


def _bid(value: np.ndarray, obj: np.ndarray, price: np.ndarray, n_candidates: int, eps: float) -> np.ndarray:
    """The bidding of ``_auction`` from every target unassigned (``price`` updated in place). Returns
    the column each target holds (k: its private option)."""
    n, k1 = value.shape
    k = k1 - 1
    holder = np.full(n_candidates + 1, -1, dtype=np.int64)
    choice = np.full(n, -1, dtype=np.int64)                 # the column of the list each target holds
    bidders = np.arange(n)
    while len(bidders):
        v = value[bidders] - price[obj[bidders]]
        v[:, k] = value[bidders, k]
        rows = np.arange(len(bidders))
        j1 = v.argmax(axis=1)
        b1 = v[rows, j1]
        v[rows, j1] = -np.inf
        b2 = v.max(axis=1)                                   # finite: the private option is always there
        private = j1 == k
        choice[bidders[private]] = k
        who, col = bidders[~private], j1[~private]
        what = obj[who, col]
        bid = price[what] + (b1[~private] - b2[~private]) + eps
        order = np.lexsort((-bid, what))                     # per candidate, the highest bid first
        first = np.ones(len(order), bool)
        first[1:] = what[order][1:] != what[order][:-1]
        win, lose = order[first], order[~first]
        won = what[win]
        evicted = holder[won]
        evicted = evicted[evicted >= 0]
        choice[evicted] = -1
        holder[won] = who[win]
        choice[who[win]] = col[win]
        price[won] = bid[win]
        bidders = np.concatenate([evicted, who[lose]])
    return choice


@dataclass(frozen=True)
class Ranking:
    """One linkage attack's decision input: for each target (``targets``, labels such as pseudonyms)
    its best candidates, as rows of ``candidates`` (labels such as subscriber ids; −1: empty) with
    their scores (nats, higher = more likely the person), best first, and the row of the true
    candidate (``truth``; −1: unknown or not a candidate)."""

    targets: np.ndarray
    candidates: np.ndarray
    cands: np.ndarray
    scores: np.ndarray
    truth: np.ndarray


def combine(a: Ranking, b: Ranking, k: int = 10) -> Ranking:
    """The two attacks' evidence added, per (target, candidate). Each attack's scores are first made
    posterior log-probabilities over its own list (log-softmax per target), so that neither attack's
    scale dominates; independent evidence then adds. A candidate missing from one attack's list gets
    that list's lowest log-probability minus one nat (it was not in its top k). Targets of ``a`` only
    keep ``a``'s list; the truth is ``a``'s."""
    import pandas as pd
    from scipy.special import logsumexp

    def long(r: Ranking, name: str) -> pd.DataFrame:
        t = np.repeat(np.arange(len(r.targets)), r.cands.shape[1])
        c = r.cands.ravel()
        ok = (c >= 0) & np.isfinite(r.scores.ravel())
        s = np.where(np.isfinite(r.scores), r.scores, -np.inf)
        logp = s - logsumexp(s, axis=1, keepdims=True)
        return pd.DataFrame({"target": r.targets[t[ok]], "cand": r.candidates[c[ok]], name: logp.ravel()[ok]})

    la, lb = long(a, "sa"), long(b, "sb")
    floor_a = la.groupby("target")["sa"].min() - 1.0
    floor_b = lb.groupby("target")["sb"].min() - 1.0
    lb = lb[lb["target"].isin(floor_a.index)]
    m = la.merge(lb, on=["target", "cand"], how="outer")
    m["sa"] = m["sa"].fillna(m["target"].map(floor_a))
    m["sb"] = m["sb"].fillna(m["target"].map(floor_b)).fillna(0.0)     # a target b never saw: a alone
    m["s"] = m["sa"] + m["sb"]
    cand_labels = np.unique(np.concatenate([a.candidates.astype(str), m["cand"].astype(str).to_numpy()]))
    m = m.sort_values(["target", "s"], ascending=[True, False], kind="stable")
    m["rank"] = m.groupby("target").cumcount()
    m = m[m["rank"] < k]
    pos_t = pd.Series(np.arange(len(a.targets)), index=a.targets)
    rows = pos_t.reindex(m["target"].to_numpy()).to_numpy().astype(np.int64)
    cols = np.searchsorted(cand_labels, m["cand"].astype(str).to_numpy())
    cands = np.full((len(a.targets), k), -1, dtype=np.int64)
    scores = np.full((len(a.targets), k), -np.inf)
    cands[rows, m["rank"].to_numpy()] = cols
    scores[rows, m["rank"].to_numpy()] = m["s"].to_numpy()
    truth = np.where(a.truth >= 0, np.searchsorted(cand_labels, a.candidates[np.maximum(a.truth, 0)].astype(str)), -1)
    return Ranking(targets=a.targets, candidates=cand_labels, cands=cands, scores=scores, truth=truth)
