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
  numbering plan (prefix 300, the first serials, every written form), score the reversals with the
  truth map, and extrapolate the time to enumerate the whole national plan at the measured rate.
* ``release_kanon``: k-anonymity and prosecutor risk of the quasi-identifier table.
* ``aggregate_exposure``: for an aggregate, each target's anonymity set given ``points`` known cells
  is the smallest released count among them (a suppressed cell tells nothing); unique when it is 1.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .anonymize.generalize import bin_start
from .anonymize.perturb import planar_laplace_radius
from .anonymize.release import Published, Release
from .attacks.trajectory import Unicity
from .io import TrajectoryInput
from .result import AttackResult
from .stats import anonymity_summary, rate

#: The national mobile numbering plan: prefixes of every operator × 10⁷ serials.
PLAN_PREFIXES = tuple(range(300, 350)) + (355, 370, 371)


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
    """None unless the release's pseudonyms are unsalted hashes."""
    from .attacks.pseudonyms import HashReversal

    if rel.pseudonym.get("method") != "hash" or "cdr" not in pub.tables:
        return None
    from .numbering import FORMS

    serial_hi = max(1, budget // len(FORMS))
    attack = HashReversal(prefixes=(PLAN_PREFIXES[0],), serial_lo=0, serial_hi=serial_hi)
    numbers = rel.subscribers.set_index("subscriber_id")["msisdn"]
    truth = pub.truth.assign(msisdn=numbers.reindex(pub.truth["subscriber_id"].to_numpy()).to_numpy())
    digits = truth["msisdn"].str[3:]
    in_slice = (digits.str[:3].astype(int) == PLAN_PREFIXES[0]) & (digits.str[3:].astype(int) < serial_hi)
    pids = truth.loc[in_slice, "pid"].tolist()
    all_pids = pub.pid_names[np.unique(pub.pid_codes)]
    res = attack.run(all_pids, truth=dict(zip(truth["pid"], truth["msisdn"])))
    rate_per_s = res.extra.get("hashes_per_s") or 0
    plan_numbers = len(PLAN_PREFIXES) * 10_000_000
    forms = max(1, len(res.extra.get("forms_found") or FORMS))
    extra = dict(res.extra)
    extra.update({
        "slice": {"prefix": PLAN_PREFIXES[0], "serials": [0, serial_hi],
                  "pseudonyms_in_slice": len(pids), "pseudonyms_total": int(len(all_pids))},
        "reversed_in_slice": rate(res.n_correct or 0, len(pids)) if pids else None,
        "plan_numbers": plan_numbers,
        "full_plan_hours_estimate": round(plan_numbers * forms / rate_per_s / 3600, 3) if rate_per_s else None,
    })
    from dataclasses import replace

    return replace(res, extra=extra)


def release_kanon(engine, rel: Release, k: int = 5) -> AttackResult | None:
    from .attacks.tabular import KAnonymity

    if rel.qi is None or not len(rel.qi):
        return None
    engine.register("__qi", rel.qi.drop(columns=["subscriber_id"]).astype(str))
    try:
        return KAnonymity(qi="gender,age,home_district", k=k).run(engine, "__qi", source="release subscribers")
    finally:
        engine.drop("__qi")


def aggregate_exposure(orig: Release, rel: Release, *, points: int = 4, targets: int | str = 5000,
                       seed: int = 0) -> AttackResult:
    """Singling out from an aggregate: see the module docstring. Targets are drawn with a seeded
    generator among the original users; their known cells uniformly among their distinct cells."""
    import time

    t0 = time.perf_counter()
    o = orig.events
    cells = pd.DataFrame({"u": o["subscriber_id"].to_numpy(),
                          "place": rel.cell_to_place.reindex(o["place"].to_numpy(np.int64)).to_numpy(np.int64),
                          "timestamp": bin_start(o["timestamp"].to_numpy(), rel.time_bin_s, rel.utc_offset_h)})
    cells = cells.drop_duplicates().sort_values(["u", "place", "timestamp"]).reset_index(drop=True)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(301,)))
    users = np.unique(cells["u"].to_numpy())
    n = len(users) if targets in (None, "all") else min(int(targets), len(users))
    chosen = np.sort(rng.choice(users, size=n, replace=False))
    sel = cells[cells["u"].isin(chosen)].assign(_r=lambda d: rng.random(len(d)))
    sel = sel.sort_values(["u", "_r"])
    sel["k"] = sel.groupby("u").cumcount()
    n_pts = sel.groupby("u").size()
    eligible = n_pts.index[n_pts >= points]
    known = sel[(sel["k"] < points) & sel["u"].isin(eligible)]
    counts = rel.presence.set_index(["place", "timestamp"])["users"]
    c = counts.reindex(pd.MultiIndex.from_arrays([known["place"], known["timestamp"]])).to_numpy(float)
    size = pd.Series(np.where(np.isnan(c), np.inf, c)).groupby(known["u"].to_numpy()).min()
    finite = size[np.isfinite(size)].astype(np.int64)
    vals, cnt = np.unique(finite.to_numpy(), return_counts=True)
    n_unique = int((finite == 1).sum())
    return AttackResult(
        attack="aggregate-exposure", rule_id="RC204", engine="python", seed=seed,
        params={"points": points, "targets": targets, "time_bin_s": rel.time_bin_s, "space": rel.space},
        n_targets=int(len(size)), n_skipped=int(n - len(size)), n_unique=n_unique, n_correct=n_unique,
        unique_rate=rate(n_unique, int(len(size))), correct_rate=rate(n_unique, int(len(size))),
        anonymity_set=anonymity_summary(vals, cnt) if len(vals) else None,
        elapsed_s=round(time.perf_counter() - t0, 3),
        extra={"n_no_match": int((~np.isfinite(size)).sum()), "person_level_rows": 0})
