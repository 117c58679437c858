"""Trajectory rules: singling out from (time, place) points, top places, home and work."""

from __future__ import annotations

from . import rule, validates


@rule(id="RC201", name="trajectory-unicity", title="Share of users singled out by a few (time, place) points",
      kinds=("trajectory",), attack="unicity", metric="unique_rate", threshold=0.1,
      params={"points": 4, "time_bin": "1h", "space": "cell", "targets": 5000},
      adversary="knows `points` true (time bin, place) points of the target, e.g. from seeing them (de Montjoye 2013)")
def trajectory_unicity(ctx, table, rule):
    """de Montjoye et al. 2013: for each target, `points` of its distinct (time bin, place) points are
    drawn; the target is singled out when no other user's trace holds all of them. The rate is over
    the targets with at least `points` points; the report also carries ε_p for p = 1..5 at this and
    coarser resolutions."""
    from ..attacks import Unicity, UnicityCurve

    inp, p, seed = ctx.events(table), ctx.params(rule), ctx.seed
    ctx.step(f"{table.name}: unicity")
    res = Unicity(points=p["points"], time_bin=p["time_bin"], space=p["space"], targets=p["targets"],
                  seed=seed).run(ctx.engine, inp)
    ctx.rate(rule, table, res, f"{res.unique_rate['value']:.1%} of {res.n_targets:,} targets are singled out by "
             f"{p['points']} points at {res.params['time_bin']} × {res.params['space']}"
             if ctx.scored(res) else "no target could be scored")
    if res.anonymity_set:
        ctx.anonymity_sets.append({"table": table.name, "rule_id": rule.id,
                                   "histogram": res.anonymity_set.get("histogram", {})})
    ctx.step(f"{table.name}: unicity curves")
    resolutions = [(p["time_bin"], p["space"])]
    coarse = ("1d", "district") if inp.places is not None and "district" in inp.places.columns else ("1d", "grid:10km")
    if inp.has_coords or coarse[1] == "district":
        resolutions.append(("4h", p["space"]))
        resolutions.append(coarse)
    targets = min(int(p["targets"]), 2000) if str(p["targets"]).isdigit() else 2000
    groups: dict = {}
    for x in UnicityCurve(max_points=5, resolutions=tuple(resolutions), targets=targets, seed=seed).run(ctx.engine, inp):
        groups.setdefault((x.params["time_bin"], x.params["space"]), []).append(x)
    for (tb, sp), pts in groups.items():
        ctx.curves.append({"table": table.name, "time_bin": tb, "space": sp, "points": [x.params["points"] for x in pts],
                           "unique_rate": [x.unique_rate for x in pts]})


@rule(id="RC202", name="top-places", title="Share of users singled out by their top-N places",
      kinds=("trajectory",), attack="topn", metric="unique_rate", threshold=0.2, params={"n": 2, "space": "cell"},
      adversary="knows the target's N most frequent places, e.g. home and work (Zang & Bolot 2011)")
def top_places(ctx, table, rule):
    """Zang & Bolot 2011: each user's N most frequent places (as a set); singled out when no other
    user has the same set. The rate is over users with at least N places."""
    from ..attacks import TopN

    p = ctx.params(rule)
    ctx.step(f"{table.name}: top places")
    res = TopN(n=p["n"], space=p["space"]).run(ctx.engine, ctx.events(table))
    ctx.rate(rule, table, res, f"{res.unique_rate['value']:.1%} of {res.n_targets:,} users are singled out by their "
             f"top-{p['n']} places ({res.params['space']})" if ctx.scored(res) else "no user")


@rule(id="RC203", name="home-work", title="Share of users singled out by their (home, work) pair",
      kinds=("trajectory",), attack="homework", metric="unique_rate", threshold=0.2, params={"space": "cell"},
      adversary="knows where the target sleeps and works (Golle & Partridge 2009)")
def home_work(ctx, table, rule):
    """Golle & Partridge 2009: home = most frequent place 22:00–06:00 local, work = most frequent place
    09:00–17:00 on workdays; singled out when no other user has the same pair. The rate is over users
    with both."""
    from ..attacks import HomeWork

    p = ctx.params(rule)
    ctx.step(f"{table.name}: home and work")
    res = HomeWork(space=p["space"]).run(ctx.engine, ctx.events(table))
    ctx.rate(rule, table, res, f"{res.unique_rate['value']:.1%} of {res.n_targets:,} users with a home and a work "
             f"place are singled out by the pair ({res.params['space']})"
             if ctx.scored(res) else "no user has both a night and a workday place")


@validates(trajectory_unicity)
def _unicity_settings(p: dict) -> None:
    from ..attacks import Unicity

    Unicity(points=p["points"], time_bin=p["time_bin"], space=p["space"], targets=p["targets"]).validate()


@validates(top_places)
def _topn_settings(p: dict) -> None:
    from ..attacks import TopN

    TopN(n=p["n"], space=p["space"]).validate()


@validates(home_work)
def _homework_settings(p: dict) -> None:
    from ..attacks import HomeWork

    HomeWork(space=p["space"]).validate()


@rule(id="RC205", name="behavioural-linkability",
      title="Share of pseudonyms re-identified from their own behaviour (profile linkage: next period and sample)",
      kinds=("trajectory",), attack="profile", metric="correct_rate", threshold=0.05,
      params={"split_days": "auto", "sample": 0.3},
      adversary="knows each person's labelled records of an earlier period (the export's own first days), or a "
                "random share of them from the same period (an app SDK, a partner operator, a broker buying "
                "twice), and links the other records by behaviour: places, times, record kinds and counts "
                "(Naini et al. 2016; Tournier & de Montjoye 2022)")
def behavioural_linkability(ctx, table, rule):
    """Profile linkage in two scenarios that need no truth map, judged on the worse:

    * *next period*: the export's records of its first `split_days` days (auto: half of its days)
      are the adversary's labelled knowledge, the later records are anonymous (``reidcheck attack
      profile --self-split``). Rotated pseudonyms (the manifest says so, or pseudonyms live less than
      half the export's span) are each cut at the middle of their own span;
    * *sample*: a seeded share `sample` of each pseudonym's records is the labelled knowledge, the
      other records (disjoint) are anonymous (``--self-sample``); 0 turns it off.

    Each later (or unsampled) pseudonym is ranked against every known one by its behaviour: on fine
    exports the smoothed place × time-of-week histogram, record kinds and volume; on coarse ones
    (bins of a day or more, districts, provinces) the consistency of its counts per (place, time,
    kind) key, absences included. The rate is the share of pseudonyms whose person is named —
    best-ranked or one-to-one assigned, whichever names more — over all of them; one in twenty is
    already high for a public release (ISO/IEC 27559)."""
    import warnings
    from dataclasses import replace

    from ..attacks import ProfileLinkage
    from ..attacks.profile import NoBetterThanChance
    from ..errors import UsageError

    p = ctx.params(rule)
    inp = ctx.events(table)
    if ctx.manifest and not inp.meta.get("manifest"):
        inp = replace(inp, meta=dict(inp.meta, manifest=ctx.manifest))
    span = ctx.engine.query(f"SELECT MIN(t) AS a, MAX(t) AS b FROM {inp.relation}").iloc[0]
    lo_t, hi_t = int(span["a"]), int(span["b"])
    short = ctx.engine.query(f"""SELECT AVG(CASE WHEN s < {(hi_t - lo_t) / 2} THEN 1.0 ELSE 0.0 END) AS f
                                 FROM (SELECT MAX(t) - MIN(t) AS s FROM {inp.relation} GROUP BY uid) x""")["f"][0]
    days = (hi_t - lo_t) // 86400 + 1
    rotated = (inp.meta.get("manifest") or {}).get("pseudonym") == "rotate" or float(short or 0) > 0.5
    split = p["split_days"]
    if rotated:
        split = "halves"
    elif split == "auto":
        split = max(1, days // 2)
    when = ("the first half of each pseudonym's span" if split == "halves" else f"the first {split} day(s)")
    scenarios = []          # (name, what the adversary knows, attack)
    if split == "halves" or days > int(split):
        scenarios.append(("next period", when, ProfileLinkage(self_split=split, seed=ctx.seed)))
    if p["sample"]:
        scenarios.append(("sample", f"a random {p['sample']:.0%} of each pseudonym's records",
                          ProfileLinkage(self_sample=float(p["sample"]), seed=ctx.seed)))
    results, reasons = [], []
    for name, knows, attack in scenarios:
        ctx.step(f"{table.name}: behavioural linkability ({name})")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NoBetterThanChance)     # the finding states the baseline
                res = attack.run(ctx.engine, inp)
        except UsageError as exc:       # e.g. every pseudonym has a single record: no behaviour to learn
            reasons.append(f"{name}: {exc}")
            continue
        cr = res.correct_rate
        if not cr or cr.get("value") is None:
            reasons.append(f"{name}: no pseudonym could be scored.")
            continue
        if (res.n_candidates or 0) < 2:
            reasons.append(f"{name}: a single pseudonym is known, so naming it says nothing.")
            continue
        results.append((name, knows, res))
    if not results:
        why = " ".join(reasons) or f"The export spans {days} day(s); a split after {split} leaves nothing to re-identify."
        ctx.add(rule, table, metric=None, value=None, interval=None, params={"split_days": split, "sample": p["sample"]},
                message=why, status="not_applicable")
        return
    upper = ctx.policy.judge == "upper"
    name, knows, res = max(results, key=lambda r: r[2].correct_rate["ci"][1] if upper else r[2].correct_rate["value"])
    cr = res.correct_rate
    lo, hi = cr["ci"]
    how = "one-to-one assignment" if res.extra["decided_by"] == "assignment" else "best-ranked candidate"
    others = "; ".join(f"{n}: {r.correct_rate['value']:.1%} (95% CI {r.correct_rate['ci'][0]:.1%}–"
                       f"{r.correct_rate['ci'][1]:.1%})" for n, _, r in results if r is not res)
    params = dict(res.params, scenario=name, scenarios={n: {"correct_rate": r.correct_rate, "n_targets": r.n_targets,
                                                             "decided_by": r.extra["decided_by"]}
                                                         for n, _, r in results})
    ctx.add(rule, table, metric="correct_rate", value=cr["value"], interval=(lo, hi), params=params,
            message=f"{cr['value']:.1%} of {res.n_targets:,} pseudonyms are re-identified from {knows} ({name} "
                    f"scenario, the worse) by {how}, against {res.baseline_rate:.2%} for a random guess (95% CI "
                    f"{lo:.1%}–{hi:.1%})" + (f"; the other scenario, {others}" if others else ""),
            result=res)


@validates(behavioural_linkability)
def _linkability_settings(p: dict) -> None:
    from ..errors import UsageError

    v = p.get("split_days")
    if not (v in ("auto", "halves") or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)):
        raise UsageError(f"[rules.RC205] split_days must be \"auto\", \"halves\" or a number of days ≥ 1. "
                         f"Got {v!r} instead.")
    f = p.get("sample")
    if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 <= f < 1:
        raise UsageError(f"[rules.RC205] sample must be a share in [0, 1) (0: no sample scenario). Got {f!r} instead.")


@rule(id="RC206", name="callgraph-linkability",
      title="Share of pseudonyms re-identified from their own earlier contacts (call graph)",
      kinds=("trajectory",), attack="callgraph", metric="correct_rate", threshold=0.05,
      params={"split_days": "auto"},
      adversary="knows the labelled call graph of an earlier period (the export's own first days) and links the "
                "later pseudonyms by their 1- and 2-hop contacts (Creţu et al. 2022)")
def callgraph_linkability(ctx, table, rule):
    """Call-graph linkage by self-split, on an export that keeps the counterparts of calls and SMS
    (a ``counterpart_pid`` column): the export's records of its first `split_days` days (auto: half
    of its days) are the adversary's labelled interaction graph, the later ones are anonymous, and
    each later pseudonym is ranked against every earlier one by its 1- and 2-hop contact profile and
    its matched common contacts (``reidcheck attack callgraph --self-split``). The rate is the share
    of later pseudonyms whose person is named — best-ranked or one-to-one, whichever names more —
    over the later pseudonyms with a call or SMS. Not applicable without counterparts, or with
    rotated pseudonyms (a self-split cannot label them: run the attack with outside knowledge)."""
    from ..attacks import CallGraphLinkage
    from ..errors import UsageError
    from ..io import load_calls

    p = ctx.params(rule)
    na = dict(metric=None, value=None, interval=None, params={"split_days": p["split_days"]}, status="not_applicable")
    if "counterpart_pid" not in table.columns:
        ctx.add(rule, table, message="The export has no counterpart_pid column: no call graph is released.", **na)
        return
    if (ctx.manifest or {}).get("pseudonym") == "rotate":
        ctx.add(rule, table, message="Rotated pseudonyms: a self-split cannot label them (run `reidcheck attack "
                                     "callgraph` with the adversary's knowledge and the truth map).", **na)
        return
    ctx.step(f"{table.name}: call-graph linkability")
    calls = load_calls(ctx.engine, table.file, utc_offset_h=ctx.utc_offset)
    t = calls.records["t"]
    days = int((t.max() - t.min()) // 86400 + 1) if len(t) else 0
    split = max(1, days // 2) if p["split_days"] == "auto" else int(p["split_days"])
    if days <= split:
        ctx.add(rule, table, message=f"The export spans {days} day(s); a split after {split} leaves nothing to "
                                     "re-identify.", **na)
        return
    try:
        res = CallGraphLinkage(self_split=split, seed=ctx.seed).run(ctx.engine, calls)
    except UsageError as exc:
        ctx.add(rule, table, message=str(exc), **na)
        return
    cr = res.correct_rate
    lo, hi = cr["ci"]
    how = "one-to-one assignment" if res.extra["decided_by"] == "assignment" else "best-ranked candidate"
    ctx.add(rule, table, metric="correct_rate", value=cr["value"], interval=(lo, hi), params=res.params,
            message=f"{cr['value']:.1%} of {res.n_targets:,} pseudonyms are re-identified from the first {split} "
                    f"day(s) of contacts by {how}, against {res.baseline_rate:.2%} for a random guess "
                    f"(95% CI {lo:.1%}–{hi:.1%})", result=res)


@validates(callgraph_linkability)
def _callgraph_settings(p: dict) -> None:
    from ..errors import UsageError

    v = p.get("split_days")
    if not (v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)):
        raise UsageError(f"[rules.RC206] split_days must be \"auto\" or a number of days ≥ 1. Got {v!r} instead.")
