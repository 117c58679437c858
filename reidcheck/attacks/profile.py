"""Profile linkage: re-identify released pseudonyms from behaviour learnt elsewhere (Naini et al. 2016,
Wang et al. 2018, Tournier & de Montjoye 2022).

**Adversary.** She holds labelled traces of the true people — her *knowledge* — and the release.
For every released pseudonym (a *target*; a rotated pseudonym is a target of its own) she ranks
the people she knows (the *candidates*) by how well their profile explains the pseudonym's records
(``attacks.profile_model``: smoothed place × time-of-week histograms, the record kinds, the record
volume, and records seen on both sides; on coarse releases ``attacks.profile_counts``: counts per
place × time key, absences, volume per kind and durations). She knows how the release was made (Kerckhoffs: the
manifest's time bin, jitter, noise ε, rotation period and spatial level) and uses every released
column. Knowledge sources:

* ``knowledge`` + ``truth``: the true people's traces (a population, check-ins, any mapped table)
  and the truth map ``pid → subscriber_id[, period]``, used only to *score* her guesses;
* ``knowledge_days`` / ``release_days`` (``"A..B"``: local days counted from the first day of the
  data, half open): the knowledge and the release are cut to these windows — non-overlapping
  periods, a profile learnt last month used this month;
* ``knowledge_sample`` (0 < F ≤ 1): she knows a seeded Bernoulli sample of each person's true
  records (the seeded SQL hash of ``points.hash_sql``, scrambled by ``points.mix_sql``: the same on every engine);
* ``self_split``: no outside knowledge, no truth map. The release's own records of the first
  ``self_split`` days (an int) are her labelled knowledge and the later records are anonymous; the
  pseudonym is the truth. With ``"halves"`` each pseudonym is cut at the middle of its own time span
  (for rotated pseudonyms, which live one period). This measures behavioural linkability across
  time on any export.

**Rates** (95% Wilson intervals), over ``n_targets`` = released pseudonyms with at least one record
in the release window: ``top1_rate`` — the best-ranked candidate is the true person;
``top5_rate`` — the true person is among the five best; ``assignment_rate`` — the one-to-one
decision (each candidate names at most one pseudonym; per rotation period for rotated ones) names
the true person. ``correct_rate`` is the stronger of top-1 and assignment (``decided_by`` says
which). ``record_weighted`` gives the same shares weighted by the pseudonyms' records. A target
whose person is not among the candidates counts as a miss (``n_without_knowledge``).
``baseline_rate`` = 1 / ``n_candidates``: a random guess. ``n_unique`` is 0 and ``unique_rate``
None: this attack ranks, it does not single out.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import UsageError
from ..io import TrajectoryInput, truth_frame
from ..result import AttackResult
from ..rules import rule_id
from ..stats import rate
from . import profile_model as model
from .points import hash_sql, mix_sql
from .validation import _bad, _int_between

_DAYS = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")
KM_PER_DEG = 111.195
#: A self-split of a noisy release puts the known (noisy) positions on squares of this many times 1/ε
#: km (half the mean noise displacement; 1/ε = 1 km without a declared ε), then matches softly.
SELF_SPLIT_GRID = 2.0


#: Releases with at most this many places are coarse (scored by the count model).
COARSE_PLACES = 16
#: Candidates per target in the one-to-one assignment (at most), pairs listed in all, and candidates
#: rescored exactly by the count model per target.
ASSIGN_K, ASSIGN_PAIRS, RERANK = 200, 20_000_000, 200


class NoBetterThanChance(UserWarning):
    """The attack's correct rate is not above a random guess (1 / candidates)."""


def parse_days(text, name: str) -> tuple[int, int] | None:
    """``"A..B"`` → (A, B): local days A (inclusive) to B (exclusive) from the data's first day."""
    if text is None:
        return None
    m = _DAYS.match(str(text))
    if not m or int(m.group(1)) >= int(m.group(2)):
        _bad(name, text, "a day window A..B with 0 ≤ A < B (local days from the data's first day, B excluded)")
    return int(m.group(1)), int(m.group(2))


def _period_s(manifest: dict) -> str | None:
    """The rotation period of the release's pseudonyms ('day', 'week', 'month'), from its manifest."""
    if manifest.get("pseudonym") != "rotate":
        return None
    for step in manifest.get("steps", []):
        m = re.match(r"rotate(?::period=(\w+))?", str(step))
        if m:
            return m.group(1) or "month"
    return "month"


@dataclass(frozen=True, kw_only=True)
class ProfileLinkage:
    """See the module docstring. ``top_k``: candidates kept per target (≥ 5; the assignment chooses
    among them); ``detail``: add per-target rows (pseudonym, best candidate, rank of the truth) to
    the result — record values, so only on request."""

    knowledge_days: str | None = None
    release_days: str | None = None
    knowledge_sample: float | None = None
    self_split: int | str | None = None
    self_sample: float | None = None
    seed: int = 0
    top_k: int = 10
    detail: bool = False

    def validate(self) -> None:
        _int_between("seed", self.seed, 0, allowed="a non-negative integer")
        _int_between("top_k", self.top_k, 5, 100, allowed="an integer between 5 and 100")
        parse_days(self.knowledge_days, "knowledge_days")
        parse_days(self.release_days, "release_days")
        if self.knowledge_sample is not None:
            f = self.knowledge_sample
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
                _bad("knowledge_sample", f, "a share in (0, 1]")
        if self.self_split is not None:
            if self.self_split != "halves":
                _int_between("self_split", self.self_split, 1, 3660, allowed="a number of days ≥ 1, or \"halves\"")
            if self.knowledge_days or self.release_days or self.knowledge_sample:
                raise UsageError("Parameter `self_split` takes its knowledge from the release itself: it cannot be "
                                 "combined with knowledge_days, release_days or knowledge_sample.")
        if self.self_sample is not None:
            f = self.self_sample
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f < 1:
                _bad("self_sample", f, "a share in (0, 1): the part of each pseudonym's records that is known")
            if self.self_split is not None or self.knowledge_days or self.release_days or self.knowledge_sample:
                raise UsageError("Parameter `self_sample` takes its knowledge from the release itself: it cannot be "
                                 "combined with self_split, knowledge_days, release_days or knowledge_sample.")
        if not isinstance(self.detail, bool):
            _bad("detail", self.detail, "True or False")

    def params(self) -> dict:
        return {"knowledge_days": self.knowledge_days, "release_days": self.release_days,
                "knowledge_sample": self.knowledge_sample, "self_split": self.self_split,
                "self_sample": self.self_sample, "seed": self.seed, "top_k": self.top_k,
                "model": {"alpha": model.ALPHA, "beta": model.BETA, "delta": model.DELTA, "max_df": model.MAX_DF}}

    # ------------------------------------------------------------------------------------------
    def run(self, engine, release: TrajectoryInput, *, knowledge: TrajectoryInput | None = None,
            truth: pd.DataFrame | None = None) -> AttackResult:
        """``release``: the released traces (``ukey`` = the pseudonym). ``knowledge``: the true
        people's traces, and ``truth``: a DataFrame with ``pid`` and ``subscriber_id`` (or ``uid``)
        [and ``period``], both None with ``self_split``."""
        self.validate()
        t0 = time.perf_counter()
        if self.self_split is not None or self.self_sample is not None:
            if knowledge is not None or truth is not None:
                raise UsageError("With `self_split` or `self_sample` the release is its own knowledge: `knowledge` "
                                 "and `truth` must be None.")
        elif knowledge is None or truth is None:
            raise UsageError("The profile attack needs the adversary's knowledge and a truth map to score it "
                             "(knowledge=..., truth=...), or self_split=DAYS / self_sample=F to use the release alone.")
        return self.rank(engine, release, knowledge=knowledge, truth=truth, t0=t0)[0]

    def rank(self, engine, release: TrajectoryInput, *, knowledge=None, truth=None,
             t0: float | None = None) -> tuple[AttackResult, "model.Ranking"]:
        """``run``, and the ranking behind its decisions (``profile_model.Ranking``: each target's
        best candidates and scores), to combine with another attack's evidence."""
        if t0 is None:
            self.validate()
            t0 = time.perf_counter()
        run = _Run(engine, self, release, knowledge, truth)
        try:
            return run.result(t0), run.ranking
        finally:
            run.cleanup()


# ----------------------------------------------------------------------------------------------
class _Run:
    """One execution: relations ``__pf_rel`` / ``__pf_know`` (uid, t, loc, kind, day) on the engine,
    the profiles pulled from group-bys, the model, and the scoring."""

    def __init__(self, engine, attack: ProfileLinkage, release: TrajectoryInput, knowledge, truth):
        self.e, self.a, self.rel, self.know, self.truth = engine, attack, release, knowledge, truth
        self.manifest = dict(release.meta.get("manifest") or {})
        self.off = int(round(release.utc_offset_h * 3600))
        self.bin_s = int(self.manifest.get("time_bin_s") or 0)
        self.jitter_s = int(self.manifest.get("jitter_s") or 0)
        self.eps = self.manifest.get("noise_epsilon_per_km")
        self.period = _period_s(self.manifest)
        self.own = attack.self_split is not None or attack.self_sample is not None   # the release is its own knowledge
        self.names: list[str] = []

    def cleanup(self) -> None:
        for n in self.names:
            self.e.drop(n)

    def reg(self, name: str, source, materialize: bool = False) -> None:
        """Register ``source``: SQL as a view (unless ``materialize``), so the records are never
        copied — every profile is one group-by scan of the input."""
        if isinstance(source, str):
            self.e.register(name, source, materialize=materialize)
        else:
            self.e.register(name, source)
        self.names.append(name)

    def q(self, sql: str) -> pd.DataFrame:
        return self.e.query(sql)

    # -- windows, places -----------------------------------------------------------------------
    def _cols(self, inp: TrajectoryInput) -> set:
        return set(self.e.columns(inp.relation))

    def _day(self, col: str = "t") -> str:
        return f"CAST(FLOOR(({col} + {self.off}) / 86400) AS BIGINT)"

    def prepare(self) -> None:
        a = self.a
        rel_src, know_src = self.rel.relation, (self.know.relation if self.know is not None else None)
        rc = self._cols(self.rel)
        if "ukey" not in rc:
            raise UsageError("The release relation has no `ukey` column (the pseudonym as text); load it with "
                             "io.load_trajectories.")
        kc = self._cols(self.know) if self.know is not None else rc
        # kinds (event type / direction) count when both sides have them (io.load_trajectories lists them)
        self.use_kinds = ("kind" in rc and "kind" in kc and self.rel.meta.get("kinds", True) != []
                          and (self.know is None or self.know.meta.get("kinds", True) != []))
        kind = "kind" if self.use_kinds else "CAST(NULL AS STRING)"
        # durations (calls, data sessions) count when both sides have them, like kinds
        self.use_durs = self.use_kinds and "dur" in rc and "dur" in kc
        self.noisy_release = not self.rel.has_place
        if not self.bin_s and not self.noisy_release:
            self.bin_s = self._infer_bin(rel_src)
        # day 0 is the data's first local day: the knowledge's, when there is one (a released time is its
        # bin's start, and a week bin starts up to six days before the records it holds: the release's
        # first day counts as its first bin's last day)
        first = lambda s: int(self.q(f"SELECT MIN({self._day()}) AS d FROM {s}")["d"][0])  # noqa: E731
        day0 = first(rel_src)
        if know_src:
            day0 = min(first(know_src), day0 + max(0, self.bin_s // 86400 - 1))
        # noisy positions are matched softly: each released record spread over the places it may come from
        # (the knowledge's places; for a self-split, the knowledge's own noisy positions on a fine grid)
        self.soft = self.noisy_release and (self.know is None or self.know.has_place or self.know.has_coords)
        loc_r, loc_k = self.place_maps(rc, kc)
        def base(src: str, loc: str) -> str:
            join = ""
            if src == rel_src and getattr(self, "_rmap", False):     # released places at one spot: one place
                join, loc = "LEFT JOIN __pf_rmap rm ON rm.place = e.place", "rm.loc"
            return (f"SELECT e.uid AS uid, e.ukey AS ukey, e.t AS t, {loc} AS loc, e.lat AS lat, e.lon AS lon, "
                    f"{kind.replace('kind', 'e.kind') if self.use_kinds else kind} AS kind, "
                    f"{'e.dur' if self.use_durs else 'CAST(NULL AS DOUBLE)'} AS dur, "
                    f"{self._day('e.t')} - {day0} AS day FROM {src} e {join}")
        if a.self_split is not None:
            self.reg("__pf_all", base(rel_src, loc_r))
            if a.self_split == "halves":
                self.reg("__pf_span", "SELECT uid, (MIN(t) + MAX(t)) / 2.0 AS mid FROM __pf_all GROUP BY uid",
                         materialize=True)
                cut = "x.t < s.mid"
                self.reg("__pf_know", f"SELECT x.* FROM __pf_all x JOIN __pf_span s ON s.uid = x.uid WHERE {cut}")
                self.reg("__pf_rel", f"SELECT x.* FROM __pf_all x JOIN __pf_span s ON s.uid = x.uid WHERE NOT ({cut})")
                span = self.q("SELECT MIN(day) AS a, MAX(day) AS b FROM __pf_all").iloc[0]
                self.kdays = self.rdays = max(1.0, (float(span["b"]) - float(span["a"]) + 1) / 2)
            else:
                d = int(a.self_split)
                self.reg("__pf_know", f"SELECT * FROM __pf_all WHERE day < {d}")
                self.reg("__pf_rel", f"SELECT * FROM __pf_all WHERE day >= {d}")
                last = int(self.q("SELECT MAX(day) AS b FROM __pf_all")["b"][0])
                if last < d:
                    raise UsageError(f"Parameter `self_split` is {d} days but the data spans only {last + 1}; "
                                     "nothing is left to re-identify.")
                self.kdays, self.rdays = float(d), float(last + 1 - d)
            self.window = (0, self.kdays)
        elif a.self_sample is not None:
            # a seeded share of each pseudonym's records is known, the disjoint rest is anonymous; records
            # alike in (pseudonym, time, place) are told apart by their rank within that group (by every
            # column read: records tied on all of them are interchangeable, so the split is the same on
            # every engine), so a coarse release (many records per week and province) is still split
            # record by record
            self.reg("__pf_all", base(rel_src, loc_r))
            h = mix_sql(hash_sql(a.seed, hash_sql(a.seed, "uid", "t", "COALESCE(loc, 0)"), "seq"))
            self.reg("__pf_draw", f"SELECT x.*, ({h}) % 1000000 < {int(a.self_sample * 1_000_000)} AS known FROM ("
                                  "SELECT a.*, ROW_NUMBER() OVER (PARTITION BY uid, t, loc ORDER BY kind NULLS FIRST, dur NULLS FIRST, "
                                  "lat NULLS FIRST, lon NULLS FIRST) AS seq "
                                  "FROM __pf_all a) x")
            cols = "uid, ukey, t, loc, lat, lon, kind, dur, day"
            self.reg("__pf_know", f"SELECT {cols} FROM __pf_draw WHERE known")
            self.reg("__pf_rel", f"SELECT {cols} FROM __pf_draw WHERE NOT known")
            span = self.q("SELECT MIN(day) AS a, MAX(day) AS b FROM __pf_all").iloc[0]
            self.kdays = self.rdays = float(span["b"]) - float(span["a"]) + 1
            self.window = (float(span["a"]), float(span["a"]) + self.kdays)
        else:
            kw = parse_days(a.knowledge_days, "knowledge_days")
            rw = parse_days(a.release_days, "release_days")
            kwhere = f"WHERE day >= {kw[0]} AND day < {kw[1]}" if kw else ""
            rwhere = f"WHERE day >= {rw[0]} AND day < {rw[1]}" if rw else ""
            sample = ""
            if a.knowledge_sample is not None and a.knowledge_sample < 1:
                thr = int(a.knowledge_sample * 1_000_000)
                h = mix_sql(hash_sql(a.seed, "uid", "t", "COALESCE(loc, 0)"))
                sample = f"{'AND' if kwhere else 'WHERE'} ({h}) % 1000000 < {thr}"
            self.reg("__pf_know", f"SELECT * FROM ({base(know_src, loc_k)}) k {kwhere} {sample}")
            self.reg("__pf_rel", f"SELECT * FROM ({base(rel_src, loc_r)}) r {rwhere}")
            ks = self.q("SELECT MIN(day) AS a, MAX(day) AS b, COUNT(*) AS n FROM __pf_know").iloc[0]
            rs = self.q("SELECT MIN(day) AS a, MAX(day) AS b, COUNT(*) AS n FROM __pf_rel").iloc[0]
            if int(ks["n"]) == 0:
                raise UsageError("The adversary's knowledge is empty in its window (check --knowledge-days and "
                                 "--knowledge-sample).")
            if int(rs["n"]) == 0:
                raise UsageError("The release has no record in its window (check --release-days).")
            self.kdays = float(kw[1] - kw[0]) if kw else float(ks["b"] - ks["a"] + 1)
            self.rdays = float(rw[1] - rw[0]) if rw else float(rs["b"] - rs["a"] + 1)
            self.window = (kw[0], kw[0] + self.kdays) if kw else (float(ks["a"]), float(ks["a"]) + self.kdays)

    def _infer_bin(self, rel: str) -> int:
        """The release's time bin when no manifest says it: the longest of a week, a day, 4 hours and an
        hour that every local time is a multiple of (0: finer or irregular)."""
        for b in (7 * 86400, 86400, 14400, 3600):
            n = self.q(f"SELECT COUNT(*) AS n FROM {rel} WHERE t IS NOT NULL AND ((t + {self.off}) % {b}) <> 0")
            if int(n["n"][0]) == 0:
                return b
        return 0

    def coarse(self) -> bool:
        """Coarse releases — bins of a day or more, or areas (district, province, or at most
        ``COARSE_PLACES`` places) — are scored by the count model (``profile_counts``): there nearly every
        key is shared by many pseudonyms and the evidence is in the counts and the absences."""
        if self.soft or self.noisy_release:
            return False
        space = str(self.manifest.get("space", "")).split(":")[0]
        return self.bin_s >= 86400 or space in ("district", "province") or len(self.place_codes) <= COARSE_PLACES

    def count_spaces(self, K: model.Side, R: model.Side) -> list:
        """The count model's key spaces (``profile_counts``): periodic (place × slot of the week × kind)
        with the knowledge's halves for the dispersion, and exact (place × time bin × kind) over the
        bins both sides hold, when the knowledge overlaps the release in time."""
        from . import profile_counts as pc

        slot, S, d = self.slots()
        kind = "COALESCE(kind, '-')" if self.use_kinds else "'-'"
        mid = (self.window[0] + self.window[1]) / 2
        bin_s = max(self.bin_s, 3600)

        def counts(rel: str, key: str, key_sql: str) -> pd.DataFrame:
            return self.q(f"""
                SELECT uid, loc, {key}, kind, SUM(h) AS a, COUNT(*) AS n FROM (
                  SELECT uid, loc, {key_sql} AS {key}, kind, h FROM (
                    SELECT uid, loc, {kind} AS kind, CASE WHEN day < {mid} THEN 1 ELSE 0 END AS h,
                           CAST(FLOOR((t + {self.off}) / {d}) AS BIGINT) * {d} AS hb,
                           CAST(FLOOR((t + {self.off}) / {bin_s}) AS BIGINT) AS tb
                    FROM {rel} WHERE loc IS NOT NULL) x) y
                GROUP BY uid, loc, {key}, kind""")

        kp, rp = counts(self.know_rel, "slot", slot), counts("__pf_rel", "slot", slot)
        kx, rx = counts(self.know_rel, "tb", "tb"), counts("__pf_rel", "tb", "tb")
        kinds = np.union1d(kp["kind"].astype(str).to_numpy(), rp["kind"].astype(str).to_numpy())
        places = self.place_codes

        def matrix(cnt: pd.DataFrame, ids: np.ndarray, key: np.ndarray, n_keys: int, col: str = "n") -> sp.csr_matrix:
            rows = np.searchsorted(ids, cnt["uid"].to_numpy(np.int64))
            col_ = (np.searchsorted(places, cnt["loc"].to_numpy(np.int64)) * (n_keys // len(places)) + key) * len(kinds) \
                + np.searchsorted(kinds, cnt["kind"].astype(str).to_numpy())
            m = sp.csr_matrix((cnt[col].to_numpy(float), (rows, col_)), shape=(len(ids), n_keys * len(kinds)))
            m.sum_duplicates()
            return m

        P, nk = len(places), len(kinds)
        n_p = P * S
        Kp = matrix(kp, K.ids, kp["slot"].to_numpy(np.int64), n_p)
        Rp = matrix(rp, R.ids, rp["slot"].to_numpy(np.int64), n_p)
        keys = np.arange(n_p * nk)
        to_ps = sp.csr_matrix((np.ones(len(keys)), (keys, keys // nk)), shape=(len(keys), n_p))
        to_k = sp.csr_matrix((np.ones(len(keys)), (keys, keys % nk)), shape=(len(keys), nk))
        Kps, Rps = (Kp @ to_ps).toarray(), (Rp @ to_ps).tocsr()
        Kk, Rk = (Kp @ to_k).toarray(), (Rp @ to_k).toarray()
        common = np.intersect1d(kx["tb"].to_numpy(np.int64), rx["tb"].to_numpy(np.int64))
        in_common = float(rx.loc[rx["tb"].isin(common), "n"].sum()) / max(float(rx["n"].sum()), 1.0)
        # the knowledge is a sample of the very records released (the same period) when it shares the
        # release's bins: then the exact keys, thinned; otherwise (another period) the profile
        if self.a.self_sample is not None:
            self.count_mode = "sample"
        elif len(common) and in_common >= 0.9:
            self.count_mode = "contain"
        else:
            self.count_mode = "next"
        dur, dur_types = self._durations(kind, kinds, K.ids, R.ids)
        if self.count_mode == "next":
            terms = [pc.place_slot(Rps, Kps, P, S)]
            kv = pc.kind_volume(Rk, Kk)
            if kv is not None:
                terms.append(kv)
        else:
            kx, rx = kx[kx["tb"].isin(common)], rx[rx["tb"].isin(common)]
            n_x = P * len(common)
            Rx = matrix(rx, R.ids, np.searchsorted(common, rx["tb"].to_numpy(np.int64)), n_x)
            Kx = matrix(kx, K.ids, np.searchsorted(common, kx["tb"].to_numpy(np.int64)), n_x)
            th = pc.thinning(Rx, Kx, Kps, Kk, P=P, S=S, slot_of_bin=_slot_np(common * bin_s, S), nk=nk,
                             contain=self.count_mode == "contain")
            rate = self.manifest.get("sample_rate")
            if th.contain and rate is not None and 0 < float(rate) < 1:      # a sampled release drops known records
                th.log_eps = max(th.log_eps, float(np.log1p(-float(rate))))
            terms = [th]
            if th.contain and dur is not None:
                fine = self._fine_keys(kinds, dur, dur_types, common, bin_s, K, R, th.log_eps)
                if fine is not None:
                    th.counted = np.array([str(k).split("/")[0] not in dur_types for k in kinds])
                    terms.append(fine)
            if self.count_mode == "sample":
                # the one-to-one decision of a self-sample: the two disjoint parts' counts at each key as
                # two draws of one rate under the population's gamma prior there (a symmetric pair
                # likelihood ratio; ranking by the profile's prediction names more people first, this
                # more people one to one)
                Ka = matrix(kp, K.ids, kp["slot"].to_numpy(np.int64), n_p, "a")
                terms += [pc.JointOnly("pair-periodic", pc.space("periodic", Rp, Kp, halves=(Ka, Kp - Ka))),
                          pc.JointOnly("pair-exact", pc.space("exact", Rx, Kx))]
        if dur is not None:
            terms.append(dur)
        self.count_info = {"mode": self.count_mode, "terms": [t.name for t in terms], "places": int(P),
                           "slots": int(S), "kinds": int(nk), "bins": int(len(common)) if self.count_mode != "next" else 0}
        if self.count_mode != "next":
            self.count_info.update(sampling_rate=round(th.f, 4), log_eps=round(th.log_eps, 4) if th.contain else None)
        return terms

    def _durations(self, kind: str, kinds: np.ndarray, cand_ids: np.ndarray, tgt_ids: np.ndarray):
        """The duration term (``profile_counts.Durations``) over the event types of ``kinds`` whose
        durations vary, from per-(person, type) sums of log-durations on both sides; (None, []) when a
        side has no durations."""
        from . import profile_counts as pc

        if not self.use_durs:
            return None, []
        types = sorted({str(k).split("/")[0] for k in kinds})

        def stats(rel: str, ids: np.ndarray):
            # sums of log-durations in integer micro-units: an integer sum is the same in any order, so on
            # every engine (a float SUM is not)
            d = self.q(f"""SELECT uid, kind, COUNT(*) AS n, SUM(CAST(ROUND(LN(dur) * 1000000) AS BIGINT)) AS s1,
                                  SUM(CAST(ROUND(LN(dur) * LN(dur) * 1000000) AS BIGINT)) AS s2 FROM (
                             SELECT uid, {kind} AS kind, dur FROM {rel} WHERE loc IS NOT NULL AND dur > 0) x
                           GROUP BY uid, kind""")
            d = d.sort_values(["uid", "kind"], kind="stable", ignore_index=True)
            d["s1"], d["s2"] = d["s1"].to_numpy(float) / 1e6, d["s2"].to_numpy(float) / 1e6
            out = [np.zeros((len(ids), len(types))) for _ in range(3)]
            if len(d):
                r = np.searchsorted(ids, d["uid"].to_numpy(np.int64))
                e = np.searchsorted(types, d["kind"].astype(str).str.split("/").str[0].to_numpy())
                ok = (r < len(ids)) & (ids[np.minimum(r, len(ids) - 1)] == d["uid"].to_numpy(np.int64))
                for arr, col in zip(out, ("n", "s1", "s2")):
                    np.add.at(arr, (r[ok], e[ok]), d[col].to_numpy(float)[ok])
            return out

        kn, ks1, ks2 = stats(self.know_rel, cand_ids)
        rn, rs1, _ = stats("__pf_rel", tgt_ids)
        return pc.durations(kn, ks1, ks2, rn, rs1, types)

    def _fine_keys(self, kinds, dur, dur_types, common, bin_s, K, R, log_eps):
        """``profile_counts.FineKeys`` over the records of the duration types in the bins both sides
        hold: keys (place, bin, kind, seconds) of the knowledge, the target's records counted there."""
        from . import profile_counts as pc

        def recs(rel: str) -> pd.DataFrame:
            return self.q(f"""SELECT uid, loc, tb, kind, dur, COUNT(*) AS n FROM (
                                SELECT uid, loc, COALESCE(kind, '-') AS kind, dur,
                                       CAST(FLOOR((t + {self.off}) / {bin_s}) AS BIGINT) AS tb
                                FROM {rel} WHERE loc IS NOT NULL AND dur > 0) x
                              GROUP BY uid, loc, tb, kind, dur""")

        nk, nb, places = len(kinds), len(common), self.place_codes

        def keyed(df: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
            typ = df["kind"].astype(str).str.split("/").str[0]
            keep = typ.isin(dur_types).to_numpy() & df["tb"].isin(common).to_numpy()
            df, typ = df[keep], typ[keep]
            x = ((np.searchsorted(places, df["loc"].to_numpy(np.int64)) * nb
                  + np.searchsorted(common, df["tb"].to_numpy(np.int64))) * nk
                 + np.searchsorted(kinds, df["kind"].astype(str).to_numpy()))
            return pd.DataFrame({"row": np.searchsorted(ids, df["uid"].to_numpy(np.int64)), "x": x,
                                 "s": df["dur"].to_numpy(float), "n": df["n"].to_numpy(float),
                                 "e": np.searchsorted(dur_types, typ.to_numpy())})

        kf, rf = keyed(recs(self.know_rel), K.ids), keyed(recs("__pf_rel"), R.ids)
        if not len(kf):
            return None
        keys = kf[["x", "s", "e"]].drop_duplicates(["x", "s"]).sort_values(["x", "s"], kind="stable", ignore_index=True)
        keys["y"] = np.arange(len(keys))
        kf = kf.merge(keys[["x", "s", "y"]], on=["x", "s"])
        rf = rf.merge(keys[["x", "s", "y"]], on=["x", "s"])
        F = len(keys)
        Kf = sp.csr_matrix((kf["n"].to_numpy(), (kf["row"].to_numpy(), kf["y"].to_numpy())), shape=(len(K.ids), F))
        Rf = sp.csr_matrix((rf["n"].to_numpy(), (rf["row"].to_numpy(), rf["y"].to_numpy())), shape=(len(R.ids), F))
        Kf.sum_duplicates()
        Rf.sum_duplicates()
        return pc.FineKeys("fine", Rf, Kf, keys["e"].to_numpy(np.int64), keys["s"].to_numpy(float), dur, log_eps)

    def _grid_sql(self, lat: str, lon: str, km: float) -> str:
        lat0 = np.radians(self.lat0)
        return (f"(CAST(FLOOR({lat} * {KM_PER_DEG / km}) AS BIGINT) * 1000003 + "
                f"CAST(FLOOR({lon} * {KM_PER_DEG * np.cos(lat0) / km}) AS BIGINT))")

    def place_maps(self, rc, kc) -> tuple[str, str]:
        """SQL expressions (over alias ``e``) of the common place code ``loc`` for the release and the
        knowledge; registers the small mapping relations they use. ``self.P`` places, numbered 0..P-1
        (after ``_recode``)."""
        rel, know = self.rel, self.know
        lat_src = rel.relation
        self.lat0 = float(self.q(f"SELECT AVG(lat) AS m FROM {lat_src}")["m"][0] or 0.0) if rel.has_coords else 0.0
        if self.know is None:                          # self-split: the release's own places
            if rel.has_place:
                return "e.place", "e.place"
            side = SELF_SPLIT_GRID / float(self.eps) if self.eps else SELF_SPLIT_GRID
            g = self._grid_sql("e.lat", "e.lon", side)
            return g, g
        if self.soft:      # noisy release vs exact knowledge: release records are spread in numpy later
            if know.has_place:
                return "CAST(NULL AS BIGINT)", "e.place"
            return "CAST(NULL AS BIGINT)", self._grid_sql("e.lat", "e.lon", 0.25)
        if self.noisy_release:
            raise UsageError("A noisy release (coordinates only) needs knowledge with places or coordinates.")
        # the release has place ids: express the knowledge's places in them
        rp = rel.places
        space = str(self.manifest.get("space", "cell"))
        kp, loc_k = know.places, "e.place"
        if not know.has_place:      # coordinates only (GPS, check-ins): each distinct position is a place
            from .points import coord_code_sql

            loc_k = coord_code_sql("ROUND(e.lat, 4)", "ROUND(e.lon, 4)")
            kp = self.q(f"SELECT {loc_k} AS place, AVG(e.lat) AS lat, AVG(e.lon) AS lon FROM {know.relation} e "
                        f"WHERE e.lat IS NOT NULL AND e.lon IS NOT NULL GROUP BY {loc_k}")
        elif kp is None and know.has_coords:
            kp = self.q(f"SELECT place, AVG(lat) AS lat, AVG(lon) AS lon FROM {know.relation} "
                        "WHERE place IS NOT NULL GROUP BY place")
        if know.has_place and (rp is None or kp is None or (space == "cell" and _same_places(kp, rp))):
            return "e.place", "e.place"                 # the same place ids on both sides
        if kp is None or rp is None:
            raise UsageError("Expressing the knowledge in the release's places needs the coordinates of both "
                             "(cells tables, or lat/lon columns).")
        # released places at the same spot (the sectors of a site) cannot be told apart by position: the
        # knowledge is mapped to, and the release counted at, one place per spot
        spot = rp.groupby([rp["lat"].round(5), rp["lon"].round(5)], dropna=False)["place"].transform("min")
        if (spot.to_numpy() != rp["place"].to_numpy()).any() and space == "cell":
            self.reg("__pf_rmap", pd.DataFrame({"place": rp["place"].to_numpy(np.int64),
                                                "loc": spot.to_numpy(np.int64)}))
            self._rmap = True
            rp = rp[spot.to_numpy() == rp["place"].to_numpy()]
        kmap = self._map_places(kp, rp, space)
        self.reg("__pf_kmap", kmap)
        self._kmap_join = True
        return "e.place", loc_k

    @staticmethod
    def _map_places(kp: pd.DataFrame, rp: pd.DataFrame, space: str) -> pd.DataFrame:
        """Knowledge place → release place: by area name for district / province releases, else the
        nearest released place (its centre: a site, a grid square's centre)."""
        from scipy.spatial import cKDTree

        level = space.split(":")[0]
        vals = np.full(len(kp), np.nan)
        if level in ("district", "province") and level in kp.columns and level in rp.columns:
            first = rp.drop_duplicates(level)
            by_name = pd.Series(first["place"].to_numpy(float), index=first[level].astype(str).to_numpy())
            vals = by_name.reindex(kp[level].astype(str).to_numpy()).to_numpy(float).copy()
        missing = np.isnan(vals)
        if missing.any():
            lat0 = np.radians(float(rp["lat"].mean()))
            xy = lambda d: np.column_stack([d["lat"].to_numpy(float), d["lon"].to_numpy(float) * np.cos(lat0)])  # noqa: E731
            ok = rp["lat"].notna().to_numpy() & rp["lon"].notna().to_numpy()
            tree = cKDTree(xy(rp[ok]))
            sub = kp[missing]
            _, j = tree.query(np.nan_to_num(xy(sub)))
            vals[missing] = rp["place"].to_numpy()[ok][j]
        return pd.DataFrame({"place": kp["place"].to_numpy(np.int64), "loc": vals.astype(np.int64)})

    # -- profiles ------------------------------------------------------------------------------
    def slots(self) -> tuple[str, int, int]:
        """(SQL slot of a dedup bin start ``hb`` in local seconds, number of slots, dedup seconds)."""
        d = max(3600, self.bin_s)
        we = "(CASE WHEN ((CAST(FLOOR(hb / 86400) AS BIGINT) + 3) % 7) >= 5 THEN 1 ELSE 0 END)"
        if d >= 7 * 86400:
            return "0", 1, d
        if d >= 86400:
            return we, 2, d
        blk = "CAST(FLOOR((hb % 86400) / 14400) AS BIGINT)"
        return f"({we} * 6 + {blk})", 12, d

    def profile_counts(self, rel: str) -> pd.DataFrame:
        slot, S, d = self.slots()      # one slot: a constant, not a GROUP BY term (it would be positional)
        return self.q(f"""
            SELECT uid, loc, {slot} AS slot, COUNT(*) AS n FROM (
              SELECT DISTINCT uid, loc, CAST(FLOOR((t + {self.off}) / {d}) AS BIGINT) * {d} AS hb FROM {rel}
              WHERE loc IS NOT NULL
            ) x GROUP BY uid, loc{'' if S == 1 else ', ' + slot}""").sort_values(["uid", "loc", "slot"], kind="stable", ignore_index=True)

    def build(self):
        """Both sides as ``profile_model.Side`` plus the target bookkeeping."""
        _, S, d = self.slots()
        know_rel = "__pf_knowm" if getattr(self, "_kmap_join", False) else "__pf_know"
        if know_rel == "__pf_knowm":
            self.reg("__pf_knowm", "SELECT k.uid, k.ukey, k.t, m.loc AS loc, k.lat, k.lon, k.kind, k.dur, k.day FROM "
                                   "(SELECT uid, ukey, t, loc AS place, lat, lon, kind, dur, day FROM __pf_know) k "
                                   "JOIN __pf_kmap m ON m.place = k.place")
        self.know_rel = know_rel
        kcnt = self.profile_counts(know_rel)
        if self.soft:
            rcnt, rrec = self.soft_release_counts(S, d)
        else:
            rcnt = self.profile_counts("__pf_rel")
            rrec = None
        places = np.union1d(kcnt["loc"].to_numpy(np.int64), rcnt["loc"].to_numpy(np.int64))
        self.place_codes = places
        P = max(len(places), 1)
        channel = getattr(self, "channel", None)
        cand_ids = np.unique(kcnt["uid"].to_numpy(np.int64))
        # one more scan per side: records per (user, kind), the knowledge's halves, the targets' keys
        mid = (self.window[0] + self.window[1]) / 2
        kk = self.q(f"SELECT uid, kind, SUM(CASE WHEN day < {mid} THEN 1 ELSE 0 END) AS a, COUNT(*) AS n "
                    f"FROM {know_rel} GROUP BY uid, kind").sort_values(["uid", "kind"], kind="stable", ignore_index=True)
        rk = self.q("SELECT uid, kind, MIN(ukey) AS ukey, COUNT(*) AS n, MIN(t) AS t0 FROM __pf_rel "
                    "GROUP BY uid, kind").sort_values(["uid", "kind"], kind="stable", ignore_index=True)
        tinfo = rk.groupby("uid", sort=True).agg(ukey=("ukey", "min"), records=("n", "sum"), t0=("t0", "min")).reset_index()
        self.know_records = int(kk["n"].sum())
        tgt_ids = tinfo["uid"].to_numpy(np.int64)

        def matrix(cnt, ids):
            r = np.searchsorted(ids, cnt["uid"].to_numpy(np.int64))
            c = np.searchsorted(places, cnt["loc"].to_numpy(np.int64)) * S + cnt["slot"].to_numpy(np.int64)
            m = sp.csr_matrix((cnt["n"].to_numpy(float), (r, c)), shape=(len(ids), P * S))
            m.sum_duplicates()
            return m

        kps = matrix(kcnt, cand_ids)
        if channel is not None:       # the candidates' records as the noisy release would show them
            ch = sp.csr_matrix((channel["w"].to_numpy(float), (np.searchsorted(places, channel["src"].to_numpy(np.int64)),
                                np.searchsorted(places, channel["dst"].to_numpy(np.int64)))), shape=(P, P))
            kps = (kps @ sp.kron(ch, sp.identity(S, format="csr"), format="csr")).tocsr()
        K = model.Side(ids=cand_ids, ps=kps, n_slots=S, days=self.kdays)
        R = model.Side(ids=tgt_ids, ps=matrix(rcnt, tgt_ids), n_slots=S, days=self.rdays)
        # volume: the knowledge's records in each half of its window
        h = kk.groupby("uid", sort=True)[["a", "n"]].sum().reindex(cand_ids).fillna(0)
        K.halves = (h["a"].to_numpy(float), (h["n"] - h["a"]).to_numpy(float))
        if self.use_kinds:
            kinds, rkn = kk[kk["kind"].notna()], rk[rk["kind"].notna()]
            cats = np.union1d(kinds["kind"].astype(str).to_numpy(), rkn["kind"].astype(str).to_numpy())
            if len(cats) > 1:
                def km(cnt, ids):
                    return sp.csr_matrix((cnt["n"].to_numpy(float), (np.searchsorted(ids, cnt["uid"].to_numpy(np.int64)),
                                          np.searchsorted(cats, cnt["kind"].astype(str).to_numpy()))),
                                         shape=(len(ids), len(cats)))
                K.kinds, R.kinds = km(kinds, cand_ids), km(rkn, tgt_ids)
        return K, R, tinfo, rrec

    def soft_release_counts(self, S: int, d: int):
        """Noisy release vs exact places: each released record is spread over the knowledge places it
        may come from — the posterior under the planar Laplace noise of the manifest's ε (per km) and
        the places' popularity — over the 16 nearest places; then deduplicated like exact records."""
        from scipy.spatial import cKDTree

        kp = self.q(f"SELECT loc, AVG(lat) AS lat, AVG(lon) AS lon, COUNT(*) AS n FROM {self.know_rel} "
                    "WHERE loc IS NOT NULL GROUP BY loc")
        if self.know is not None and self.know.places is not None and self.know.has_place:
            pl = self.know.places
            pos = pl.set_index("place")[["lat", "lon"]]
            kp = kp.drop(columns=["lat", "lon"]).join(pos, on="loc")
        kp = kp.dropna(subset=["lat", "lon"])
        if not len(kp):
            raise UsageError("The knowledge's places have no coordinates; a noisy release cannot be matched.")
        eps = float(self.eps) if self.eps else 1.0 / 0.5      # no ε declared: assume ~1 km of noise
        lat0 = np.radians(self.lat0)

        def xy(lat, lon):
            return np.column_stack([np.asarray(lat, float) * KM_PER_DEG, np.asarray(lon, float) * KM_PER_DEG * np.cos(lat0)])

        tree = cKDTree(xy(kp["lat"], kp["lon"]))
        k = min(16, len(kp))
        prior = np.log(kp["n"].to_numpy(float) + 0.5)
        codes = kp["loc"].to_numpy(np.int64)

        def spread(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """(place codes, posterior weights) of the ``k`` nearest places of each noisy point."""
            dist, j = tree.query(pts, k=k)
            dist, j = dist.reshape(len(pts), k), j.reshape(len(pts), k)
            lw = prior[j] - eps * dist
            lw -= lw.max(axis=1, keepdims=True)
            w = np.exp(lw)
            return codes[j], w / w.sum(axis=1, keepdims=True)

        rec = self.q("SELECT uid, t, lat, lon FROM __pf_rel").dropna(subset=["lat", "lon"])
        loc, w = spread(xy(rec["lat"], rec["lon"]))
        hb = (rec["t"].to_numpy(np.int64) + self.off) // d * d
        slot = _slot_np(hb, S)
        uid = rec["uid"].to_numpy(np.int64)
        # dedup like exact records: each (pseudonym, dedup bin) is one visit, spread over its places
        df = pd.DataFrame({"uid": np.repeat(uid, k), "hb": np.repeat(hb, k), "loc": loc.ravel(), "w": w.ravel(),
                           "slot": np.repeat(slot, k)})
        nrec = df.groupby(["uid", "hb"])["w"].transform("sum").to_numpy()
        df["w"] = df["w"].to_numpy() / nrec
        cnt = df.groupby(["uid", "loc", "slot"], sort=False)["w"].sum().reset_index().rename(columns={"w": "n"})
        # the channel: where the soft assignment puts the records of each true place, on average
        rng = np.random.default_rng(self.a.seed)
        from ..anonymize.perturb import planar_laplace_radius

        m = 64
        centre = np.repeat(xy(kp["lat"], kp["lon"]), m, axis=0)
        r = planar_laplace_radius(rng.random(len(centre)), eps)
        th = rng.uniform(0, 2 * np.pi, len(centre))
        to, tw = spread(centre + np.column_stack([r * np.sin(th), r * np.cos(th)]))
        src = np.repeat(codes, m * k)
        self.channel = pd.DataFrame({"src": src, "dst": to.ravel(), "w": tw.ravel() / m}).groupby(
            ["src", "dst"], sort=False)["w"].sum().reset_index()
        return cnt, rec

    # -- co-occurrence -------------------------------------------------------------------------
    def cooc(self, K: model.Side, R: model.Side) -> sp.csr_matrix | None:
        """Targets × candidates: records released at a (place, time key) the candidate is known at."""
        if self.jitter_s or self.a.self_split is not None:
            return None
        key_s = self.bin_s or 1
        tk = f"CAST(FLOOR((t + {self.off}) / {key_s}) AS BIGINT)"
        loc_r = "0" if self.soft else "loc"
        loc_k = "0" if self.soft else "loc"
        C = len(K.ids)
        df = self.q(f"""
            WITH k AS (SELECT DISTINCT uid, {loc_k} AS loc, {tk} AS tk FROM {self.know_rel}),
                 kd AS (SELECT loc, tk, COUNT(*) AS df FROM k GROUP BY loc, tk HAVING COUNT(*) <= {model.MAX_DF}),
                 r AS (SELECT DISTINCT uid, {loc_r} AS loc, {tk} AS tk FROM __pf_rel)
            SELECT r.uid AS tu, k.uid AS cu, SUM(LN(1.0 + {C} / kd.df)) AS w
            FROM r JOIN kd ON kd.loc = r.loc AND kd.tk = r.tk JOIN k ON k.loc = kd.loc AND k.tk = kd.tk
            GROUP BY r.uid, k.uid""").sort_values(["tu", "cu"], kind="stable", ignore_index=True)
        if not len(df):
            return None
        rows = np.searchsorted(R.ids, df["tu"].to_numpy(np.int64))
        cols = np.searchsorted(K.ids, df["cu"].to_numpy(np.int64))
        return sp.csr_matrix((df["w"].to_numpy(float), (rows, cols)), shape=(len(R.ids), C))

    # -- truth -----------------------------------------------------------------------------------
    def true_rows(self, K: model.Side, tinfo: pd.DataFrame) -> np.ndarray:
        """Per target, the candidate row of its true person (−1: not among the candidates)."""
        if self.own:
            pos = pd.Series(np.arange(len(K.ids)), index=K.ids)
            return pos.reindex(tinfo["uid"].to_numpy()).fillna(-1).to_numpy(np.int64)
        t = truth_frame(self.truth, table="cdr")      # anonymize's map: the event table's pseudonyms
        tm = pd.DataFrame({"pid": t["pid"].astype(str).to_numpy(), "who": t["uid"].astype(str).to_numpy()})
        tm = tm.drop_duplicates("pid")
        kmap = self.q(f"SELECT DISTINCT uid, ukey FROM {self.know_rel}")
        k_of = pd.Series(kmap["uid"].to_numpy(np.int64), index=kmap["ukey"].astype(str).to_numpy())
        k_of = k_of[~k_of.index.duplicated()]
        who_of = pd.Series(tm["who"].to_numpy(), index=tm["pid"].to_numpy())
        person = who_of.reindex(tinfo["ukey"].astype(str).to_numpy())
        self.n_unmapped = int(person.isna().sum())
        uid = k_of.reindex(person.fillna("").to_numpy())
        pos = pd.Series(np.arange(len(K.ids)), index=K.ids)
        return pos.reindex(uid.fillna(-1).to_numpy(np.int64)).fillna(-1).to_numpy(np.int64)

    def groups(self, tinfo: pd.DataFrame) -> np.ndarray | None:
        if self.period is None:
            return None
        t0 = tinfo["t0"].to_numpy(np.int64)
        if self.period == "day":
            return t0 // 86_400
        if self.period == "week":
            return t0 // (7 * 86_400)
        d = pd.to_datetime(t0, unit="s", utc=True)
        return (d.year * 12 + d.month).to_numpy(np.int64)

    # -- result ----------------------------------------------------------------------------------
    def result(self, t0: float) -> AttackResult:
        self.prepare()
        K, R, tinfo, _ = self.build()
        if not len(K.ids) or not len(R.ids):
            side = "knowledge" if not len(K.ids) else "release window"
            raise UsageError(f"The {side} holds no record to profile (for a self-split: no pseudonym has records on "
                             "the knowledge side); nothing can be linked.")
        # the one-to-one assignment chooses among longer lists than are reported (the true person is
        # often far down a list on a coarse release), within ~20M listed pairs
        k = self.a.top_k
        k_assign = int(np.clip(ASSIGN_PAIRS // max(len(R.ids), 1), k, ASSIGN_K))
        self.count_info = None
        long_j = None
        if self.coarse():
            from . import profile_counts as pc

            long_c, long_s, long_j = pc.top(self.count_spaces(K, R), len(R.ids), len(K.ids), keep=k_assign,
                                            rerank=max(RERANK, k_assign), joint=True)
        else:
            W = model.weights(K, dense=K.ps.shape[1] <= 1024 and K.ps.shape[0] * R.ps.shape[0] <= 4e10)
            long_c, long_s = model.top(R, K, W, k=k_assign, cooc=self.cooc(K, R))
        cands, scores = long_c[:, :k], long_s[:, :k]
        truth_row = self.true_rows(K, tinfo)
        self.ranking = model.Ranking(targets=tinfo["ukey"].astype(str).to_numpy(), candidates=K.ids.astype(str),
                                     cands=cands, scores=scores, truth=truth_row)
        groups = self.groups(tinfo)
        # one-to-one on the joint likelihood where the model has one (knowledge sampled from the release)
        matched = model.assign(long_c, long_s if long_j is None else long_j, len(K.ids), groups)
        hit1 = cands[:, 0] == truth_row
        hit5 = (cands[:, :5] == truth_row[:, None]).any(axis=1)
        hita = matched == truth_row
        known = truth_row >= 0
        hit1, hit5, hita = hit1 & known, hit5 & known, hita & known
        n = len(truth_row)
        recs = tinfo["records"].to_numpy(float)
        top1, top5, asg = rate(int(hit1.sum()), n), rate(int(hit5.sum()), n), rate(int(hita.sum()), n)
        decided = "assignment" if hita.sum() > hit1.sum() else "top1"
        correct = asg if decided == "assignment" else top1
        n_correct = int(max(hit1.sum(), hita.sum()))
        n_cand = len(K.ids)
        baseline = AttackResult.baseline(n_cand)
        extra = {"top1_rate": top1, "top5_rate": top5, "assignment_rate": asg, "decided_by": decided,
                 "record_weighted": {"top1": _share(recs, hit1), "top5": _share(recs, hit5),
                                     "assignment": _share(recs, hita)},
                 "n_without_knowledge": int((~known).sum()),
                 "knowledge": {"source": "self-split" if self.a.self_split is not None else
                               "self-sample" if self.a.self_sample is not None else
                               (self.know.source if self.know is not None else ""),
                               "records": self.know_records,
                               "days": self.kdays},
                 "release": {"records": int(recs.sum()), "days": self.rdays,
                             "mechanism": {k: self.manifest.get(k) for k in ("space", "time_bin_s", "jitter_s",
                                                                            "noise_epsilon_per_km", "sample_rate",
                                                                            "pseudonym") if k in self.manifest}},
                 "features": {"places": int(len(self.place_codes)), "slots": int(R.n_slots),
                              "kinds": R.kinds is not None, "soft_places": bool(self.soft),
                              "rotation_period": self.period, "time_bin_s": int(self.bin_s),
                              "model": "counts" if self.count_info else "histogram",
                              **({"count_spaces": self.count_info} if self.count_info else {})},
                 "adversary": self.adversary()}
        if top1["value"] is not None and baseline is not None and correct["ci"][0] <= baseline:
            extra["warning"] = "no better than a random guess among the candidates (the interval reaches 1 / candidates)"
            warnings.warn(f"The profile attack does no better than a random guess (1 in {n_cand:,}).",
                          NoBetterThanChance, stacklevel=3)
        if self.a.detail:
            extra["targets"] = pd.DataFrame({
                "pseudonym": tinfo["ukey"].astype(str), "records": tinfo["records"].astype(int),
                "best_candidate": K.ids[np.maximum(cands[:, 0], 0)],
                "truth_rank": _rank(cands, truth_row), "assigned_correctly": hita}).to_dict("records")
        return AttackResult(
            attack="profile", rule_id=rule_id("profile"), engine=self.e.name, seed=self.a.seed,
            params=self.a.params(), n_targets=n, n_skipped=0, n_unique=0, n_correct=n_correct,
            unique_rate=None, correct_rate=correct, anonymity_set=None,
            elapsed_s=round(time.perf_counter() - t0, 3), n_candidates=n_cand, baseline_rate=baseline, extra=extra)

    def adversary(self) -> str:
        a = self.a
        if a.self_split == "halves":
            return ("knows the first half of each pseudonym's own records, with the pseudonym, and must find the "
                    "pseudonym of the second half")
        if a.self_split is not None:
            return (f"knows every pseudonym's records of the first {a.self_split} day(s), labelled, and must "
                    "re-identify the later records")
        if a.self_sample is not None:
            return (f"knows a random {a.self_sample:.0%} of every pseudonym's records, labelled (a sample of the same "
                    "period: an app SDK, a partner operator), and must re-identify the other records")
        parts = ["knows labelled true traces of the people"]
        if a.knowledge_days:
            parts.append(f"from days {a.knowledge_days}")
        if a.knowledge_sample:
            parts.append(f"(a {a.knowledge_sample:.0%} sample of their records)")
        if a.release_days:
            parts.append(f"and matches them to the release's days {a.release_days}")
        return " ".join(parts) + ", knowing how the release was made"


def _same_places(kp: pd.DataFrame, rp: pd.DataFrame) -> bool:
    """True when the knowledge's place ids are the release's (most ids shared, at the same spot within
    half a kilometre): then no mapping is needed. Otherwise (venues against cells, another operator's
    cells) each knowledge place is mapped to the nearest released one."""
    both = kp.merge(rp, on="place", suffixes=("_k", "_r"))
    if len(both) < 0.9 * len(kp):
        return False
    if not {"lat_k", "lat_r"} <= set(both.columns):
        return True
    d = np.hypot(both["lat_k"] - both["lat_r"], (both["lon_k"] - both["lon_r"]) * np.cos(np.radians(both["lat_r"])))
    return bool(np.nanmedian(d.to_numpy(float)) * KM_PER_DEG < 0.5) if len(d) else True


def _slot_np(hb: np.ndarray, S: int) -> np.ndarray:
    if S == 1:
        return np.zeros(len(hb), dtype=np.int64)
    we = ((hb // 86400 + 3) % 7 >= 5).astype(np.int64)
    if S == 2:
        return we
    return we * 6 + (hb % 86400) // 14400


def _share(weights: np.ndarray, hits: np.ndarray) -> float | None:
    tot = float(weights.sum())
    return round(float(weights[hits].sum()) / tot, 6) if tot else None


def _rank(cands: np.ndarray, truth_row: np.ndarray) -> list:
    eq = cands == truth_row[:, None]
    r = np.where(eq.any(axis=1), eq.argmax(axis=1) + 1, -1)
    return [int(x) if x > 0 else None for x in r]
