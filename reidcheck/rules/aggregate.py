"""Aggregate rules: what a table of counts (users per place and time bin) gives away."""

from __future__ import annotations

import pandas as pd

from . import declare, rule


@rule(id="RC204", name="aggregate-small-counts", title="Smallest released count of an aggregate",
      kinds=("aggregate",), attack="aggregate-exposure", metric="min_count", direction="min", threshold=10,
      adversary="knows a few places and times where the target was; a count of 1 there singles them out")
def small_counts(ctx, table, rule):
    """The smallest released count of the aggregate (users per place × time bin) must be at least the
    threshold: a count of 1 at a (place, time) the adversary knows the target visited singles them out."""
    col = table.roles["count"]
    v = ctx.engine.query(f"SELECT MIN(TRY_CAST({ctx.engine.quote(col)} AS DOUBLE)) AS m, COUNT(*) AS n "
                         "FROM tbl").iloc[0]
    smallest = None if pd.isna(v["m"]) else float(v["m"])
    if smallest is None:
        ctx.add(rule, table, metric=None, value=None, interval=None, params={"column": col},
                status="not_applicable", message="The aggregate has no counts.")
        return
    ctx.add(rule, table, metric="min_count", value=smallest, interval=None, params={"column": col},
            message=f"The smallest of {int(v['n']):,} released counts ('{col}') is {smallest:g}")


@rule(id="RC207", name="aggregate-membership", title="Membership inference on an aggregate (ROC AUC; chance 0.5)",
      kinds=("aggregate",), attack="membership", metric="auc", threshold=0.65,
      params={"trials": 400, "max_group": 1000},
      adversary="knows a target's trace, how the aggregate was made and where people are (from the counts alone) "
                "and asks whether the target is among the people counted (Pyrgelis et al. 2018; ZK-MIA 2024)")
def aggregate_membership(ctx, table, rule):
    """The membership game of Pyrgelis et al. played on the export's own counts, with no outside
    trace (as ZK-MIA): synthetic people are drawn from the counts (in each time bin, present with
    the bin's share of the group, at a place drawn in proportion to its count), groups as large as
    the export's (its busiest bin's total, at most `max_group`: a smaller group only makes the
    game easier) are aggregated with the export's own mechanism (the manifest's bin, ε, contribution
    bound and suppression; raw counts without a manifest), and a likelihood-ratio adversary who
    knows the target's trace decides whether the target is in (``reidcheck attack membership``).
    The figure is the ROC AUC over `trials` games (0.5: no better than a coin), judged on its upper
    95% end: raw counts of small cells give a target away (AUC near 1); DP noise hides them. The
    default 0.65 admits ε ≤ 1 user-level DP (which bounds the likelihood ratio by e, so an AUC up to
    about 0.73 in theory; about 0.55 measured) and fails raw aggregates of small groups."""
    import numpy as np
    import pandas as pd

    from ..anonymize.release import Release
    from ..attacks import MembershipInference

    p = ctx.params(rule)
    r = table.roles
    na = dict(metric=None, value=None, interval=None, params=p, status="not_applicable")
    if not r.get("place"):
        ctx.add(rule, table, message="The aggregate has no place column (coordinates only): no cell to test.", **na)
        return
    q = ctx.engine.quote
    t_sql = ctx.engine.epoch_seconds_sql(q(r["time"]), ctx.engine.columns("tbl")[r["time"]])
    agg = ctx.engine.query(f"SELECT CAST({q(r['place'])} AS STRING) AS place, {t_sql} AS t, "
                           f"TRY_CAST({q(r['count'])} AS DOUBLE) AS c FROM tbl")
    agg = agg[agg["c"].notna() & agg["t"].notna() & (agg["c"] > 0)]
    if agg.empty:
        ctx.add(rule, table, message="The aggregate has no positive count.", **na)
        return
    from ..attacks.membership import aggregate_step, mechanism_of
    from ..resolution import bin_text

    steps = (ctx.manifest or {}).get("steps", [])
    kv = aggregate_step(steps)
    bin_s = int(float(kv["bin"].rstrip("s"))) if "bin" in kv else int((ctx.manifest or {}).get("time_bin_s") or 0)
    if not bin_s:
        ts = np.unique(agg["t"].to_numpy(np.int64))
        bin_s = int(np.min(np.diff(ts))) if len(ts) > 1 else 3600
    codes, place_idx = np.unique(agg["place"].to_numpy(), return_inverse=True)
    t = agg["t"].to_numpy(np.int64)
    c = np.rint(agg["c"].to_numpy()).astype(np.int64)
    totals = pd.Series(c).groupby(t).sum()
    group = int(min(int(totals.max()), int(p["max_group"])))
    if group < 2:
        ctx.add(rule, table, message="Fewer than two people are counted: no group to hide in.", **na)
        return
    # synthetic people drawn from the counts (seeded: the policy's seed)
    rng = np.random.default_rng(np.random.SeedSequence(ctx.seed, spawn_key=(431,)))
    n_people = 2 * group + 1
    share = np.minimum(totals.to_numpy() / totals.max(), 1.0)
    uid, pl, tt = [], [], []
    order = np.argsort(t, kind="stable")
    t_sorted = t[order]
    bins, starts = np.unique(t_sorted, return_index=True)
    ends = np.append(starts[1:], len(t_sorted))
    for b, a, z, s in zip(bins, starts, ends, share):
        rows = order[a:z]
        here = np.flatnonzero(rng.random(n_people) < s)
        if not len(here):
            continue
        w = c[rows] / c[rows].sum()
        pick = rows[np.minimum(np.searchsorted(np.cumsum(w), rng.random(len(here))), len(rows) - 1)]
        uid.append(here)
        pl.append(place_idx[pick])
        tt.append(np.full(len(here), b, dtype=np.int64))
    events = pd.DataFrame({"subscriber_id": np.concatenate(uid).astype(np.int64),
                           "place": np.concatenate(pl).astype(np.int64), "timestamp": np.concatenate(tt)})
    places = pd.DataFrame({"place": np.arange(len(codes), dtype=np.int64), "lat": 0.0, "lon": 0.0})
    empty = pd.DataFrame({"subscriber_id": pd.Series([], dtype=np.int64), "msisdn": pd.Series([], dtype=object)})
    synth = Release(events=events, places=places, cell_to_place=None, qi=None, travel=None, subscribers=empty,
                    cells=places, utc_offset_h=ctx.utc_offset, space="cell")
    mech = mechanism_of(steps)
    eps = mech["epsilon"]
    attack = MembershipInference(group_size=group, time_bin=bin_text(bin_s), space="cell", **mech,
                                 trials=int(p["trials"]), prior="aggregate", seed=ctx.seed)
    ctx.step(f"{table.name}: membership inference")
    res = attack.run(ctx.engine, synth)
    auc = res.extra["auc"]
    lo, hi = auc["ci"]
    how = f"ε = {eps:g}" if eps is not None else "raw counts"
    ctx.add(rule, table, metric="auc", value=auc["value"], interval=(lo, hi), params={**p, "group_size": group},
            message=f"Membership AUC {auc['value']:.3f} (95% CI {lo:.3f}–{hi:.3f}; 0.5 is a coin) over "
                    f"{res.extra['n_trials']:,} games with groups of {group:,} drawn from the counts ({how})",
            result=res)


AGGREGATE_RECOVERY = declare(
    id="RC208", name="aggregate-recovery", title="Share of people re-identified from trajectories recovered from counts",
    attack="recovery", metric="correct_rate", threshold=0.05,
    adversary="has only the released counts per place and time bin, rebuilds individual trajectories by "
              "assignment (Xu et al. 2017) and singles them out by their top places",
    help="`reidcheck attack recovery AGG --knowledge POP` and `compare`: trajectories are recovered from the counts "
         "alone (night: proximity; day: velocity; across days: regularity) and matched one-to-one to the true "
         "people; a person is re-identified when the matched trajectory holds most of their points and is unique "
         "by its top-3 places. It needs the true population to score, so the audit does not run it.")
