"""Privacy of a release: the attacks run against it, scored with its truth map.

* ``release_unicity``: de Montjoye unicity with an adversary who knows ``points`` true points of the
  target (cell × exact time, drawn from the *original* trace, ``Unicity`` semantics) and expresses them
  at the release's resolution: places through the release's generalization map, times in bins of
  max(1 h, the release's bin). Against perturbed releases the adversary is tolerant: positions
  within the radius holding 90% of the planar-Laplace noise (on a grid of half that side), times
  within the jitter. ``unique_rate`` is the share of targets singled out, ``correct_rate`` the share
  singled out *and* correct (truth map); targets are the same users for every release (seeded hash
  over the original users), and targets missing from the release count as not found.
* ``release_hash_reversal``: when pseudonyms are unsalted hashes, enumerate a budgeted slice of the
  numbering plan and extrapolate to the whole national plan (``attacks.pseudonyms.reverse_plan_slice``,
  the same estimate as the audit's and the pytest gate's), scoring the reversals with the truth map.
* ``release_kanon``: k-anonymity and prosecutor risk of the quasi-identifier table.

Aggregates are attacked by ``attacks.aggregate.AggregateExposure`` (release = the aggregate,
knowledge = the original).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .anonymize.perturb import planar_laplace_radius
from .anonymize.release import Published, Release
from .attacks.trajectory import Unicity
from .io import TrajectoryInput
from .result import AttackResult
from .stats import rate


def _bin_label(seconds: int) -> str:
    for unit, s in (("w", 604_800), ("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds % s == 0:
            return f"{seconds // s}{unit}"
    return f"{seconds}s"


def _register(engine, name: str, uid, t, place, lat, lon) -> None:
    """An ``events`` relation (io.load_trajectories' columns) from arrays; ``place`` None: all NULL."""
    import pyarrow as pa

    n = len(uid)
    place_arr = (pa.nulls(n, pa.int64()) if place is None else pa.array(np.asarray(place, dtype=np.int64)))
    engine.register(name, pa.table({
        "uid": pa.array(np.asarray(uid, dtype=np.int64)), "t": pa.array(np.asarray(t, dtype=np.int64)),
        "place": place_arr, "lat": pa.array(np.asarray(lat, float)), "lon": pa.array(np.asarray(lon, float))}))


def release_unicity(engine, orig: Release, rel: Release, pub: Published, *, points: int = 4,
                    targets: int | str = 5000, seed: int = 0) -> AttackResult:
    o, ev = orig.events, rel.events
    codes = pub.pid_codes
    noisy = rel.places is None
    seconds = max(3600, rel.time_bin_s or 0)
    tol_t = math.ceil(rel.jitter_s / seconds) if rel.jitter_s else 0
    if noisy:
        r90 = float(planar_laplace_radius(np.array([0.9]), rel.noise_epsilon)[0])
        space, tol_km = f"grid:{max(r90 / 2, 0.05):.3f}km", round(r90, 3)
        k_place = r_place = None
    else:
        space, tol_km = "cell", 0.0
        k_place = rel.cell_to_place.reindex(o["place"].to_numpy(np.int64)).to_numpy(np.int64)
        r_place = ev["place"].to_numpy(np.int64)
    _register(engine, "__rel_events", codes, ev["timestamp"], r_place, ev["lat"], ev["lon"])
    _register(engine, "__know_events", o["subscriber_id"], o["timestamp"], k_place, o["lat"], o["lon"])
    release_in = TrajectoryInput(source="release", has_place=not noisy, has_coords=True,
                                 utc_offset_h=rel.utc_offset_h, relation="__rel_events")
    know_in = TrajectoryInput(source="original", has_place=not noisy, has_coords=True,
                              utc_offset_h=rel.utc_offset_h, relation="__know_events")
    t = pd.DataFrame({"pid": codes, "uid": ev["subscriber_id"].to_numpy(np.int64)}).drop_duplicates()
    attack = Unicity(points=points, time_bin=_bin_label(seconds), space=space, targets=targets, seed=seed,
                     time_tolerance=tol_t, space_tolerance_km=tol_km)
    try:
        return attack.run(engine, release_in, knowledge=know_in, truth=t.astype(np.int64))
    finally:
        engine.drop("__rel_events")
        engine.drop("__know_events")


def release_hash_reversal(rel: Release, pub: Published, budget: int = 2_000_000) -> AttackResult | None:
    """None unless the release's pseudonyms are unsalted hashes. ``reverse_plan_slice`` over the
    release's distinct pseudonyms, scored with the truth map; ``extra["slice"]`` adds the pseudonyms
    whose true number lies in the slice (``reversed_in_slice``: correct reversals / those)."""
    from dataclasses import replace

    from .attacks.pseudonyms import reverse_plan_slice
    from .numbering import PLAN_PREFIXES

    if rel.pseudonym.get("method") != "hash" or "cdr" not in pub.tables:
        return None
    numbers = rel.subscribers.set_index("subscriber_id")["msisdn"]
    truth = pub.truth.assign(msisdn=numbers.reindex(pub.truth["subscriber_id"].to_numpy()).to_numpy())
    all_pids = pub.pid_names[np.unique(pub.pid_codes)]
    rev = reverse_plan_slice(all_pids, budget=budget, truth=dict(zip(truth["pid"], truth["msisdn"])))
    digits = truth["msisdn"].str[3:]
    in_slice = (digits.str[:3].astype(int) == PLAN_PREFIXES[0]) & (digits.str[3:].astype(int) < rev.serial_hi)
    pids = truth.loc[in_slice, "pid"].tolist()
    res = rev.result
    extra = dict(res.extra)
    extra["slice"] = dict(extra["slice"], pseudonyms_in_slice=len(pids), pseudonyms_total=int(len(all_pids)))
    extra["reversed_in_slice"] = rate(res.n_correct or 0, len(pids)) if pids else None
    return replace(res, extra=extra)


def release_kanon(engine, rel: Release, k: int = 5) -> AttackResult | None:
    from .attacks.inputs import TableInput
    from .attacks.tabular import KAnonymity

    if rel.qi is None or not len(rel.qi):
        return None
    engine.register("__qi", rel.qi.drop(columns=["subscriber_id"]).astype(str))
    try:
        return KAnonymity(qi="gender,age,home_district", k=k).run(
            engine, TableInput("__qi", source="release subscribers"))
    finally:
        engine.drop("__qi")


#: The profile-linkage scenarios every person-level release of a comparison is attacked in.
PROFILE_SCENARIOS = {
    "profile_next_period": "knows the true records of the first half of the window; matches the release's second half",
    "profile_sample": "knows a random 30% of each person's true records; matches the whole release",
}


def _text(values):
    """An Arrow string array of ``str(v)`` for each value, as ``numpy.astype(str)`` writes it; each
    distinct value is converted once (a release has millions of rows and few distinct kinds)."""
    import pyarrow as pa

    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    return pa.array(np.asarray(uniques, dtype=object).astype(str)).take(pa.array(codes))


def _events_table(uid, ukey, t, place, lat, lon, kind, dur=None):
    """The events relation ``io.load_trajectories`` would register (uid, t, place, lat, lon, ukey,
    kind, dur), built from in-memory columns (epoch seconds; ``kind`` = ``event_type/direction`` or
    None; ``dur`` = the duration in seconds or None)."""
    import pyarrow as pa

    n = len(uid)
    return pa.table({
        "uid": pa.array(np.asarray(uid, dtype=np.int64)), "t": pa.array(np.asarray(t, dtype=np.int64)),
        "place": pa.nulls(n, pa.int64()) if place is None else pa.array(np.asarray(place, dtype=np.int64)),
        "lat": pa.array(np.asarray(lat, float)), "lon": pa.array(np.asarray(lon, float)),
        "ukey": _text(ukey), "kind": pa.nulls(n, pa.string()) if kind is None else _text(kind),
        "dur": pa.nulls(n, pa.float64()) if dur is None else pa.array(np.asarray(dur, dtype=np.float64))})


def _durations(ev: pd.DataFrame):
    """Each event's ``duration_s`` as float seconds (None without that column)."""
    return ev["duration_s"].to_numpy(np.float64) if "duration_s" in ev.columns else None


def _kinds(ev: pd.DataFrame):
    """``event_type/direction`` of each event (None without those columns): the label is written
    once per distinct pair, from the pair's first row."""
    if not {"event_type", "direction"} <= set(ev.columns):
        return None
    codes = ev.groupby([ev["event_type"], ev["direction"]], sort=False, dropna=False, observed=True).ngroup()
    codes = codes.to_numpy(np.int64)
    first = np.unique(codes, return_index=True)[1]
    pairs = ev.iloc[first]
    labels = (pairs["event_type"].astype(str) + "/" + pairs["direction"].astype(str)).to_numpy(dtype=object)
    return labels[codes]


def release_profile(engine, orig: Release, rel: Release, pub: Published, *, scenario: str,
                    seed: int = 0, with_ranking: bool = False):
    """``attacks.ProfileLinkage`` against a release in one of ``PROFILE_SCENARIOS``: the knowledge is
    the original population (true ids, cells), the truth map scores it, and the adversary knows the
    release's mechanism from its manifest. ``with_ranking``: (result, its ``Ranking``)."""
    from dataclasses import replace as _replace

    from .attacks.profile import ProfileLinkage

    o, ev = orig.events, rel.events
    noisy = rel.places is None
    engine.register("__pk_events", _events_table(o["subscriber_id"], o["subscriber_id"], o["timestamp"], o["place"],
                                                 o["lat"], o["lon"], _kinds(o), _durations(o)))
    engine.register("__pr_events", _events_table(pub.pid_codes, pub.pid_names[pub.pid_codes], ev["timestamp"],
                                                 None if noisy else ev["place"], ev["lat"], ev["lon"], _kinds(ev),
                                                 _durations(ev)))
    know = TrajectoryInput(source="original population", has_place=True, has_coords=True, places=orig.places,
                           utc_offset_h=orig.utc_offset_h, relation="__pk_events")
    release = TrajectoryInput(source="release", has_place=not noisy, has_coords=True, places=rel.places,
                              utc_offset_h=rel.utc_offset_h, relation="__pr_events", meta={"manifest": pub.manifest})
    off = int(round(orig.utc_offset_h * 3600))
    days = o["timestamp"].to_numpy(np.int64) + off
    span = int(days.max() // 86400 - days.min() // 86400 + 1) if len(days) else 2
    if scenario == "profile_next_period":
        half = max(1, span // 2)
        attack = ProfileLinkage(knowledge_days=f"0..{half}", release_days=f"{half}..{max(span, half + 1)}", seed=seed)
    elif scenario == "profile_sample":
        attack = ProfileLinkage(knowledge_sample=0.3, seed=seed)
    else:
        raise ValueError(f"unknown profile scenario {scenario!r}")
    try:
        res, ranking = attack.rank(engine, release, knowledge=know, truth=pub.truth)
        res = _replace(res, extra=dict(res.extra, scenario=scenario))
        return (res, ranking) if with_ranking else res
    finally:
        engine.drop("__pk_events")
        engine.drop("__pr_events")


#: People of the sample an aggregate's trajectory recovery is scored on (a dense one-to-one match).
RECOVERY_PEOPLE = 2000
#: Largest group of the membership game played on an aggregate's mechanism (a smaller one only helps).
MEMBERSHIP_GROUP = 1000


def release_recovery(engine, orig: Release, chain, *, seed: int = 0) -> AttackResult | None:
    """``attacks.TrajectoryRecovery`` against the aggregate ``chain`` makes, made again from the
    ``RECOVERY_PEOPLE`` lowest subscriber ids (the recovery's scoring is a dense recovered × people
    match); None when the recovery refuses the input (e.g. noise makes a bin too large)."""
    from .anonymize.strategies import apply_strategies
    from .attacks import TrajectoryRecovery
    from .errors import UsageError
    from .secrets import key_from_seed

    small = orig.head_users(RECOVERY_PEOPLE)
    agg = apply_strategies(small, chain, seed=seed, key=key_from_seed(seed))
    try:
        return TrajectoryRecovery(max_people=RECOVERY_PEOPLE, seed=seed).run(engine, agg, knowledge=small)
    except UsageError:
        return None


def release_membership(engine, orig: Release, rel: Release, *, seed: int = 0, trials: int = 200) -> AttackResult:
    """``attacks.MembershipInference``: the membership game on the original population, with the
    aggregate's own mechanism (bin, spatial level, ε, contribution bound, suppression; its steps) and
    groups of min(people − 1, ``MEMBERSHIP_GROUP``)."""
    from .attacks import MembershipInference
    from .attacks.membership import mechanism_of
    from .resolution import bin_text

    n = orig.n_users
    return MembershipInference(group_size=max(2, min(n - 1, MEMBERSHIP_GROUP)),
                               time_bin=bin_text(int(rel.time_bin_s)),
                               space=rel.space, **mechanism_of(rel.steps), trials=trials, seed=seed).run(engine, orig)


def release_callgraph(engine, orig: Release, rel: Release, pub: Published, *, seed: int = 0,
                      with_ranking: bool = False):
    """``attacks.CallGraphLinkage`` against a release that publishes ``counterpart_pid``: the adversary
    knows the true call graph of the first half of the window (the original counterparts) and links
    the release's second half; None when the release has no counterparts. ``with_ranking``:
    (result, its ``Ranking``)."""
    from .attacks import CallGraphLinkage, CallTable

    cdr = pub.tables.get("cdr")
    if cdr is None or "counterpart_pid" not in cdr.columns or orig.counterparts is None:
        return None
    ev = rel.events

    def kinds(df):
        return (df["event_type"].astype(str).str.lower() == "voice").to_numpy(), \
            (df["direction"].astype(str).str.lower() == "out").to_numpy()

    call, out = kinds(ev)
    other = cdr["counterpart_pid"].astype(object).to_numpy()
    released = CallTable(pd.DataFrame({"party": pub.pid_names[pub.pid_codes].astype(str), "other": other,
                                       "t": ev["timestamp"].to_numpy(np.int64), "call": call, "out": out}),
                         utc_offset_h=rel.utc_offset_h)
    cp_uid, cp_off = orig._counterpart_ids()
    o = orig.events
    label = np.full(len(o), None, dtype=object)
    label[cp_uid >= 0] = cp_uid[cp_uid >= 0].astype(str)
    label[cp_off >= 0] = np.char.add("n:", cp_off[cp_off >= 0].astype(str)).astype(object)
    call_k, out_k = kinds(o)
    known = CallTable(pd.DataFrame({"party": o["subscriber_id"].to_numpy(np.int64).astype(str), "other": label,
                                    "t": o["timestamp"].to_numpy(np.int64), "call": call_k, "out": out_k}),
                      utc_offset_h=orig.utc_offset_h)
    off = int(round(orig.utc_offset_h * 3600))
    days = o["timestamp"].to_numpy(np.int64) + off
    span = int(days.max() // 86400 - days.min() // 86400 + 1) if len(days) else 2
    half = max(1, span // 2)
    attack = CallGraphLinkage(knowledge_days=f"0..{half}", release_days=f"{half}..{max(span, half + 1)}", seed=seed)
    res, ranking = attack.rank(engine, released, knowledge=known, truth=pub.truth)
    return (res, ranking) if with_ranking else res


def combined_linkage(profile, callgraph) -> dict:
    """Profile and call-graph evidence added (``profile_model.combine``) over the profile's targets
    (the release's pseudonyms of the second half): top-1, top-5 and one-to-one rates, the stronger
    of the two as ``correct_rate``, against 1 / candidates. ``profile``/``callgraph``: (result,
    ranking) pairs of the same next-period scenario."""
    from .attacks import profile_model as model
    from .stats import rate

    (pres, prk), (_, crk) = profile, callgraph
    both = model.combine(prk, crk, k=prk.cands.shape[1])
    known = both.truth >= 0
    hit1 = (both.cands[:, 0] == both.truth) & known
    hit5 = (both.cands[:, :5] == both.truth[:, None]).any(axis=1) & known
    hita = (model.assign(both.cands, both.scores, len(both.candidates)) == both.truth) & known
    n = len(both.targets)
    top1, top5, asg = rate(int(hit1.sum()), n), rate(int(hit5.sum()), n), rate(int(hita.sum()), n)
    decided = "assignment" if hita.sum() > hit1.sum() else "top1"
    return {"attack": "profile+callgraph", "n_targets": n, "n_candidates": pres.n_candidates,
            "baseline_rate": pres.baseline_rate, "top1_rate": top1, "top5_rate": top5, "assignment_rate": asg,
            "decided_by": decided, "correct_rate": asg if decided == "assignment" else top1,
            "adversary": "knows the true records and call graph of the first half of the window: the profile and "
                         "call-graph log-likelihood ratios are added per candidate"}
