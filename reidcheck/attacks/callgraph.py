"""Call-graph linkage (Creţu et al. 2022, Nat. Commun.): re-identify the pseudonyms of a CDR release
by the shape of their contacts, with the interaction graph of another period as knowledge.

**What a graph is.** A node is a party: a subscriber (their own records) or a counterpart (the other
party of a call or SMS: ``counterpart_pid`` in a release made with ``counterparts=pseudonymize``,
``counterpart_msisdn`` in a population). An edge joins the two parties of at least one call or SMS
in the window; its weight is the number of such records. Data sessions have no counterpart and
count only as a node's own activity.

**Who is linked.** Targets: the release's pseudonyms with at least one call or SMS of their own in
the release window. Candidates: the knowledge's subscribers with at least one in the knowledge
window. Counterparts seen in both windows (off-network numbers too) are matched as well, among
themselves, because a matched contact is evidence for its neighbours; they are never scored.

**How it scores.** Each party gets a profile that does not depend on any label:

* 1 hop — log degree, log strength (records with counterparts), log own records, the five largest
  edge weights, the share of calls (vs SMS) and of outgoing records;
* 2 hops — the mean and spread of the contacts' log degrees, their weighted mean, the log count of
  distinct 2-hop parties, and the histogram of the contacts' log₂ degrees (8 bins).

Features are standardized over both sides together; the profile score of a (target, candidate)
pair is ``−½ · ‖x_t − x_c‖²``. (Weighting each feature by its drift between the two halves of
the knowledge window did worse on generated populations: 0.84 against 0.93 top-1 over a two-week
gap.) Then **propagation** (Narayanan & Shmatikov 2009): with the current one-to-one
matching ``M``, the pairs' count of matched common contacts is ``P = A_R · M · A_Kᵀ``, and the score
becomes profile + ``PROPAGATION`` · log(1 + P). Candidates per target are the ``top_k`` best by
profile (dense blocks) and every candidate ``P`` reaches; ``ROUNDS`` rounds of
score → one-to-one auction (``profile_model.assign``) → ``P``.

**Rates.** ``top1_rate``: the best-scored candidate is the true person; ``top5_rate``; and
``assignment_rate``: the one-to-one matching names the person; denominators: the targets (95%
Wilson intervals). ``baseline_rate`` = 1 / candidates. Targets with no true counterpart among the
candidates (the person has no call in the knowledge window) count as failures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import UsageError
from ..io import truth_frame
from ..result import AttackResult
from ..rules import rule_id
from ..stats import rate
from . import profile_model as model
from .validation import _bad, _int_between

#: Weight of the matched-common-contacts term (nats per log(1 + count)).
PROPAGATION = 6.0
#: Rounds of score → matching → propagation.
ROUNDS = 6
#: Targets per dense block of the profile scores.
BLOCK = 2048


@dataclass(frozen=True)
class CallTable:
    """Interaction records of one side: ``party`` (str: who the record belongs to), ``other`` (str
    or None: the counterpart), ``t`` (UTC epoch seconds), ``call`` (bool: voice, else SMS/data),
    ``out`` (bool: outgoing); ``utc_offset_h`` sets local days."""

    records: pd.DataFrame
    utc_offset_h: float = 0.0


@dataclass(frozen=True, kw_only=True)
class CallGraphLinkage:
    """See the module docstring. ``knowledge_days``/``release_days``: local day windows ``A..B`` from
    the data's first day; ``self_split``: no outside knowledge — the release's first ``self_split``
    days are the labelled graph and the rest is linked (the pseudonym is the truth)."""

    knowledge_days: str | None = None
    release_days: str | None = None
    self_split: int | None = None
    top_k: int = 10
    seed: int = 0

    def validate(self) -> None:
        from .profile import parse_days

        _int_between("seed", self.seed, 0, allowed="a non-negative integer")
        _int_between("top_k", self.top_k, 5, 100, allowed="an integer between 5 and 100")
        parse_days(self.knowledge_days, "knowledge_days")
        parse_days(self.release_days, "release_days")
        if self.self_split is not None:
            _int_between("self_split", self.self_split, 1, 3660, allowed="a number of days ≥ 1")
            if self.knowledge_days or self.release_days:
                _bad("self_split", self.self_split, "used alone (it cannot be combined with day windows)")

    def params(self) -> dict:
        return {"knowledge_days": self.knowledge_days, "release_days": self.release_days,
                "self_split": self.self_split, "top_k": self.top_k, "seed": self.seed,
                "model": {"propagation": PROPAGATION, "rounds": ROUNDS}}

    def run(self, engine, release: CallTable, *, knowledge: CallTable | None = None,
            truth: pd.DataFrame | None = None) -> AttackResult:
        """See ``rank``; the result alone."""
        return self.rank(engine, release, knowledge=knowledge, truth=truth)[0]

    def rank(self, engine, release: CallTable, *, knowledge: CallTable | None = None,
             truth: pd.DataFrame | None = None) -> tuple[AttackResult, model.Ranking]:
        """``release``/``knowledge``: ``CallTable``s; ``truth``: ``pid`` → ``subscriber_id`` (or
        ``uid``) [``period`` is not supported: rotated pseudonyms are refused]. ``engine`` is not
        used (the graphs are small next to the records: pandas and scipy)."""
        from .profile import parse_days

        self.validate()
        t0 = time.perf_counter()
        rec = _check(release.records, "release")
        if not rec["other"].notna().any():
            raise UsageError("The release has no counterparts (no counterpart_pid column, or all empty): a call "
                             "graph needs them (anonymize with a pseudonym strategy's counterparts=pseudonymize).")
        day_r = _local_day(rec["t"], release.utc_offset_h)
        if self.self_split is not None:
            if knowledge is not None or truth is not None:
                raise UsageError("self_split uses the release alone: give no knowledge and no truth.")
            K = rec[day_r < self.self_split]
            R = rec[day_r >= self.self_split]
            truth_map = None
            adversary = (f"knows the release's own first {self.self_split} days, labelled by its pseudonyms "
                         "(behavioural linkability of the call graph across time)")
        else:
            if knowledge is None or truth is None:
                raise UsageError("Give the adversary's labelled call records (knowledge) and the truth map, or "
                                 "self_split.")
            if "period" in truth.columns and truth["period"].notna().any():
                raise UsageError("The truth map has periods (rotated pseudonyms): link one period at a time.")
            t = truth_frame(truth)
            truth_map = pd.Series(t["uid"].astype(str).to_numpy(), index=t["pid"].astype(str).to_numpy())
            truth_map = truth_map[~truth_map.index.duplicated()]
            K = _check(knowledge.records, "knowledge")
            day_k = _local_day(K["t"], knowledge.utc_offset_h)
            kw, rw = parse_days(self.knowledge_days, "knowledge_days"), parse_days(self.release_days, "release_days")
            if kw:
                K = K[(day_k >= kw[0]) & (day_k < kw[1])]
            R = rec if not rw else rec[(day_r >= rw[0]) & (day_r < rw[1])]
            adversary = ("knows the labelled call graph of "
                         + (f"days {self.knowledge_days}" if kw else "her own window")
                         + (f" and links the release's days {self.release_days}" if rw else ""))
        gR, gK = _Graph(R), _Graph(K)
        targets = gR.people
        cands_all = gK.people
        if not len(targets) or not len(cands_all):
            raise UsageError("Nothing can be linked: one side has no call or SMS with a counterpart in its window.")
        truth_label = (pd.Series(gR.labels[targets]).map(truth_map).to_numpy() if truth_map is not None
                       else gR.labels[targets].astype(object))
        pos_k = pd.Series(np.arange(len(gK.labels)), index=gK.labels)
        true_node = pos_k.reindex(truth_label).to_numpy()
        cand, score = _link(gR, gK, self.top_k)
        t_cands = cand[targets]
        has_true = ~np.isnan(true_node)
        tn = np.where(has_true, true_node, -2).astype(np.int64)
        ranking = model.Ranking(targets=gR.labels[targets].astype(str), candidates=gK.labels.astype(str),
                                cands=t_cands, scores=score[targets], truth=np.maximum(tn, -1))
        matched = _assign_all(gR, gK, cand, score)[targets]
        hit1 = t_cands[:, 0] == tn
        hit5 = (t_cands[:, :5] == tn[:, None]).any(axis=1)
        hita = matched == tn
        n = len(targets)
        top1, top5, asg = rate(int(hit1.sum()), n), rate(int(hit5.sum()), n), rate(int(hita.sum()), n)
        decided = "assignment" if hita.sum() > hit1.sum() else "top1"
        best = asg if decided == "assignment" else top1
        n_cand = int(len(cands_all))
        extra = {"top1_rate": top1, "top5_rate": top5, "assignment_rate": asg, "decided_by": decided,
                 "n_without_knowledge": int((~has_true).sum()), "adversary": adversary,
                 "features": "1- and 2-hop contact profile + matched common contacts",
                 "n_edges": {"release": int(gR.A.nnz // 2), "knowledge": int(gK.A.nnz // 2)}}
        return AttackResult(
            attack="callgraph", rule_id=rule_id("callgraph"), engine="python", seed=self.seed,
            params=self.params(), n_targets=n, n_skipped=0, n_unique=int(hit1.sum()),
            n_correct=int(max(hit1.sum(), hita.sum())), unique_rate=None, correct_rate=best, anonymity_set=None,
            elapsed_s=round(time.perf_counter() - t0, 3), n_candidates=n_cand,
            baseline_rate=AttackResult.baseline(n_cand), extra=extra), ranking


# -- the graphs -------------------------------------------------------------------------------------
def _check(df: pd.DataFrame, side: str) -> pd.DataFrame:
    need = {"party", "other", "t", "call", "out"}
    if need - set(df.columns):
        raise UsageError(f"The {side} records lack columns: {', '.join(sorted(need - set(df.columns)))}.")
    return df


def _local_day(t: pd.Series, utc_offset_h: float) -> np.ndarray:
    local = np.asarray(t, dtype=np.int64) + int(round(utc_offset_h * 3600))
    day = local // 86_400
    return day - (day.min() if len(day) else 0)


class _Graph:
    """One side's undirected interaction graph and the profile of each node (see the module docstring)."""

    def __init__(self, rec: pd.DataFrame):
        own = rec["party"].astype(str).to_numpy()
        other = rec["other"]
        has = other.notna().to_numpy()
        oth = other.astype(object).to_numpy()[has].astype(str)
        self.labels, inv = np.unique(np.concatenate([own, oth]), return_inverse=True)
        a, b = inv[:len(own)], inv[len(own):]
        n = len(self.labels)
        self.n = n
        self.own = np.bincount(a, minlength=n).astype(float)
        ah = a[has]
        pair = ah != b
        w = sp.coo_matrix((np.ones(int(pair.sum())), (ah[pair], b[pair])), shape=(n, n)).tocsr()
        self.A = (w + w.T).tocsr()
        self.A.sum_duplicates()
        people = np.zeros(n, bool)
        people[np.unique(ah)] = True                        # parties with calls/SMS of their own
        self.is_person = people
        self.people = np.flatnonzero(people)
        call = rec["call"].to_numpy(bool)[has]
        out = rec["out"].to_numpy(bool)[has]
        n_own_cp = np.bincount(ah, minlength=n).astype(float)
        self.call_share = np.bincount(ah, weights=call, minlength=n) / np.maximum(n_own_cp, 1)
        self.out_share = np.bincount(ah, weights=out, minlength=n) / np.maximum(n_own_cp, 1)

    def features(self) -> np.ndarray:
        A = self.A
        B = A.copy()
        B.data[:] = 1.0
        deg = np.asarray(B.sum(axis=1)).ravel()
        strength = np.asarray(A.sum(axis=1)).ravel()
        ld = np.log1p(deg)
        top = np.zeros((self.n, 5))
        indptr, data = A.indptr, A.data
        order = np.lexsort((-data, np.repeat(np.arange(self.n), np.diff(indptr))))
        rank = np.arange(len(data)) - np.repeat(indptr[:-1], np.diff(indptr))
        keep = rank < 5
        rows = np.repeat(np.arange(self.n), np.diff(indptr))[keep]
        top[rows, rank[keep]] = np.log1p(data[order][keep])
        nb_mean = (B @ ld) / np.maximum(deg, 1)
        nb_sq = (B @ ld ** 2) / np.maximum(deg, 1)
        nb_sd = np.sqrt(np.maximum(nb_sq - nb_mean ** 2, 0))
        nb_w = (A @ ld) / np.maximum(strength, 1)
        two = B @ B
        two.data[:] = 1.0
        n2 = np.asarray(two.sum(axis=1)).ravel() - (deg > 0)
        bins = np.minimum(np.floor(np.log2(np.maximum(deg, 1))).astype(np.int64), 7)
        H = sp.csr_matrix((np.ones(self.n), (np.arange(self.n), bins)), shape=(self.n, 8))
        hist = np.asarray((B @ H).todense()) / np.maximum(deg, 1)[:, None]
        return np.column_stack([ld, np.log1p(strength), np.log1p(self.own), top, self.call_share, self.out_share,
                                nb_mean, nb_sd, nb_w, np.log1p(np.maximum(n2, 0)), hist])


# -- the linkage ------------------------------------------------------------------------------------
def _link(gR: _Graph, gK: _Graph, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidates (rows of gK) and scores, best first, for every node of gR: ``ROUNDS`` rounds of
    profile + propagation. Persons are linked to persons, counterparts-only to counterparts-only."""
    XR, XK = gR.features(), gK.features()
    both = np.vstack([XR, XK])
    mu, sd = both.mean(axis=0), both.std(axis=0) + 1e-9
    XR, XK = (XR - mu) / sd, (XK - mu) / sd
    prof_c, prof_s = _profile_top(XR, XK, gR.is_person, gK.is_person, k)
    cand, score = prof_c, prof_s
    M = None
    for _ in range(ROUNDS):
        matched = _assign_all(gR, gK, cand, score)
        ok = matched >= 0
        M = sp.csr_matrix((np.ones(int(ok.sum())), (np.flatnonzero(ok), matched[ok])), shape=(gR.n, gK.n))
        BR, BK = gR.A.copy(), gK.A.copy()
        BR.data[:] = 1.0
        BK.data[:] = 1.0
        P = (BR @ M @ BK.T).tocsr()
        cand, score = _rescore(XR, XK, P, prof_c, gR.is_person, gK.is_person, k)
    return cand, score


def _profile_top(XR, XK, pr, pk, k):
    """Best ``k`` candidates by profile score −½‖x_t − x_c‖², by dense blocks of targets; persons
    against persons, counterparts-only against counterparts-only."""
    n = len(XR)
    cand = np.full((n, k), -1, dtype=np.int64)
    score = np.full((n, k), -np.inf)
    for cls in (True, False):
        rows = np.flatnonzero(pr == cls)
        cols = np.flatnonzero(pk == cls)
        if not len(rows) or not len(cols):
            continue
        Y = XK[cols]
        y2 = (Y ** 2).sum(axis=1)
        kk = min(k, len(cols))
        for a in range(0, len(rows), BLOCK):
            r = rows[a:a + BLOCK]
            X = XR[r]
            S = X @ Y.T - 0.5 * y2[None, :] - 0.5 * (X ** 2).sum(axis=1)[:, None]
            part = np.argpartition(-S, kk - 1, axis=1)[:, :kk]
            ps = np.take_along_axis(S, part, axis=1)
            o = np.argsort(-ps, axis=1, kind="stable")
            cand[r, :kk] = cols[np.take_along_axis(part, o, axis=1)]
            score[r, :kk] = np.take_along_axis(ps, o, axis=1)
    return cand, score


def _rescore(XR, XK, P, prof_c, pr, pk, k):
    """Score = profile + PROPAGATION · log(1 + matched common contacts), over each row's profile
    candidates and every candidate the propagation reaches; keep the best ``k``."""
    n = len(XR)
    rows_p = np.repeat(np.arange(n), np.diff(P.indptr))
    cols_p = P.indices
    val_p = P.data
    same = pr[rows_p] == pk[cols_p]
    rows_p, cols_p, val_p = rows_p[same], cols_p[same], val_p[same]
    rc = np.repeat(np.arange(n), prof_c.shape[1])
    cc = prof_c.ravel()
    okc = cc >= 0
    rows = np.concatenate([rows_p, rc[okc]])
    cols = np.concatenate([cols_p, cc[okc]])
    prop = np.concatenate([val_p, np.zeros(int(okc.sum()))])
    key = rows.astype(np.int64) * (len(XK) + 1) + cols
    uk, inv = np.unique(key, return_inverse=True)
    pmax = np.zeros(len(uk))
    np.maximum.at(pmax, inv, prop)
    rows, cols = (uk // (len(XK) + 1)).astype(np.int64), (uk % (len(XK) + 1)).astype(np.int64)
    d = XR[rows] - XK[cols]
    s = -0.5 * (d ** 2).sum(axis=1) + PROPAGATION * np.log1p(pmax)
    # best k per row
    order = np.lexsort((-s, rows))
    rows, cols, s = rows[order], cols[order], s[order]
    start = np.searchsorted(rows, np.arange(n))
    rank = np.arange(len(rows)) - start[rows]
    keep = rank < k
    cand = np.full((n, k), -1, dtype=np.int64)
    score = np.full((n, k), -np.inf)
    cand[rows[keep], rank[keep]] = cols[keep]
    score[rows[keep], rank[keep]] = s[keep]
    return cand, score


def _assign_all(gR: _Graph, gK: _Graph, cand, score) -> np.ndarray:
    """One-to-one matching of gR's nodes to gK's (persons and counterparts-only never compete, as
    their candidate lists never mix)."""
    return model.assign(cand, score, gK.n)
