"""Profile linkage against the releases of ``reidcheck anonymize``: the headline table of issue 14 in shape.

A population (5,000 subscribers × 28 days in full mode), seven releases, and the profile attack
(``attacks.ProfileLinkage``) in two knowledge scenarios scored with the truth maps:

* **A** — the true records of days 0–14 against release days 14–28 (no time overlap);
* **B** — a seeded 30% sample of each person's true records against the whole release;

plus the audit's view (rule behavioural-linkability: ``--self-split`` half of the days, ``halves`` for rotated tokens). The
reference is an independent profile-matching attacker measured on the same kind of data (issue 14:
place × 4-hour-block × day-type histograms with hierarchical smoothing, planar-Laplace mixture for
geo-noise, event mix and volume; top-1 or one-to-one). Ours should be at least as strong.
"""

from __future__ import annotations

import warnings

from . import savefig

NAME = "profile-linkage"
TITLE = "Profile linkage across time and samples against seven anonymized releases"
PAPER = ("Naini et al. 2016, IEEE TIFS 11:358; Tournier & de Montjoye 2022, Sci. Adv. 8:eabl6464; reference "
         "figures: an independent profile attacker on 5,000 synthetic subscribers × 28 days (issue 14)")

#: name, strategies, reference (A top-1, B top-1, B one-to-one) of the independent attacker.
RELEASES = (
    ("random ids only", ("token",), (0.50, 0.93, 0.97)),
    ("geo-noise ε = 0.5/km", ("geo-noise:epsilon=0.5",), (0.32, 0.63, 0.97)),
    ("geo-noise ε = 0.1/km", ("geo-noise:epsilon=0.1",), (0.27, 0.44, 0.96)),
    ("50% of records", ("subsample:records=0.5",), (0.45, 0.90, 0.95)),
    ("top-3 places", ("topn:n=3",), (0.46, 0.76, 0.96)),
    ("tokens rotated weekly", ("rotate:period=week",), (0.37, 0.64, 0.80)),
    ("district × day, subscribers and travel dropped",
     ("generalize-space:level=district", "generalize-time:bin=1d", "drop:tables=subscribers|travel"),
     (0.20, 0.25, 0.71)),
)


def _self_split(engine, orig, rel, pub, days: int):
    """The audit's figure (behavioural-linkability): the release's own first half (or each rotated token's first half)."""
    from ..attacks import ProfileLinkage
    from ..io import TrajectoryInput
    from ..privacy import _events_table, _kinds

    ev = rel.events
    noisy = rel.places is None
    engine.register("__bench_rel", _events_table(pub.pid_codes, pub.pid_names[pub.pid_codes], ev["timestamp"],
                                                 None if noisy else ev["place"], ev["lat"], ev["lon"], _kinds(ev)))
    inp = TrajectoryInput(source="release", has_place=not noisy, has_coords=True, places=rel.places,
                          utc_offset_h=rel.utc_offset_h, relation="__bench_rel", meta={"manifest": pub.manifest})
    split = "halves" if pub.manifest.get("pseudonym") == "rotate" else days // 2
    try:
        return ProfileLinkage(self_split=split).run(engine, inp)
    finally:
        engine.drop("__bench_rel")


def run(ctx) -> dict:
    from ..anonymize.release import Release
    from ..anonymize.strategies import apply_strategies
    from ..engine import get_engine
    from ..io import read_population
    from ..privacy import release_profile
    from ..secrets import key_from_seed

    n_subs, days = (800, 14) if ctx.quick else (5_000, 28)
    pop = read_population(ctx.population(n_subs, days))
    orig = Release.from_population(pop)
    engine = get_engine("duckdb")
    figures = []
    for name, chain, ref in RELEASES:
        ctx.log(f"profile linkage: {name}")
        rel = apply_strategies(orig, chain, seed=ctx.seed, key=key_from_seed(ctx.seed))
        pub = rel.publish()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = release_profile(engine, orig, rel, pub, scenario="profile_next_period", seed=ctx.seed)
            b = release_profile(engine, orig, rel, pub, scenario="profile_sample", seed=ctx.seed)
            s = _self_split(engine, orig, rel, pub, days)
        figures.append({"release": name, "strategies": list(chain), "reference": dict(zip(("A_top1", "B_top1", "B_assign"), ref)),
                        "A": {k: a.extra[k] for k in ("top1_rate", "top5_rate", "assignment_rate")},
                        "B": {k: b.extra[k] for k in ("top1_rate", "top5_rate", "assignment_rate")},
                        "self_split": s.correct_rate, "n_targets_A": a.n_targets, "n_candidates_A": a.n_candidates,
                        "elapsed_s": round(a.elapsed_s + b.elapsed_s + s.elapsed_s, 1)})
    rows = []
    for f in figures:
        ours = (f["A"]["top1_rate"]["value"], f["B"]["top1_rate"]["value"], f["B"]["assignment_rate"]["value"])
        ref = tuple(f["reference"].values())
        weaker = [lab for lab, o, r in zip(("A top-1", "B top-1", "B one-to-one"), ours, ref) if o < r]
        agreement = ("at least as strong on all three" if not weaker else "weaker on " + ", ".join(weaker))
        if ctx.quick:
            agreement = "quick mode: smaller population, not comparable"
        rows.append({"quantity": f"{f['release']}: top-1 A / top-1 B / one-to-one B",
                     "ours": " / ".join(f"{x:.2f}" for x in ours),
                     "published": " / ".join(f"{x:.2f}" for x in ref), "agreement": agreement,
                     "note": f"audit behavioural-linkability (self-split): {f['self_split']['value']:.2f}; "
                             f"{f['n_targets_A']:,} targets, {f['n_candidates_A']:,} candidates in A"})
    _plot(ctx, figures, n_subs, days)
    return {"params": {"subscribers": n_subs, "days": days, "scenarios": {"A": f"days 0..{days // 2} vs "
                                                                             f"{days // 2}..{days}",
                                                                       "B": "30% sample vs whole release"}},
            "figures": {"releases": figures}, "rows": rows}


def _plot(ctx, figures, n_subs: int, days: int) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(figures))
    w = 0.2
    series = [("A top-1 (ours)", [f["A"]["top1_rate"]["value"] for f in figures], "#4c72b0"),
              ("A top-1 (reference)", [f["reference"]["A_top1"] for f in figures], "#a6bddb"),
              ("B top-1 (ours)", [f["B"]["top1_rate"]["value"] for f in figures], "#dd8452"),
              ("B top-1 (reference)", [f["reference"]["B_top1"] for f in figures], "#fdd0a2")]
    for i, (label, vals, colour) in enumerate(series):
        ax.bar(x + (i - 1.5) * w, vals, w, label=label, color=colour)
    ax.set_xticks(x, [f["release"] for f in figures], rotation=20, ha="right", fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of pseudonyms re-identified (top-1)")
    ax.set_title(f"Profile linkage, {n_subs:,} synthetic subscribers × {days} days (seed {ctx.seed})", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)   # never on a bar
    savefig(fig, ctx.out / f"{NAME}.png")
