"""Profile linkage against the releases of ``reidcheck anonymize``: the headline tables of issues 14 and 25.

A population (5,000 subscribers × 28 days in full mode), ten releases, and the profile attack
(``attacks.ProfileLinkage``) in two knowledge scenarios scored with the truth maps:

* **A** — the true records of days 0–14 against release days 14–28 (no time overlap);
* **B** — a seeded 30% sample of each person's true records against the whole release;

plus the audit's view: the behavioural-linkability rule's two truth-free scenarios on the release
alone — *next period* (its own first half of the days; ``halves`` for rotated tokens) and *sample*
(a seeded 30% of each pseudonym's records known, the other records re-identified).

References: the independent profile-matching attackers of issues 14 and 25, measured on the same
kind of data (place × 4-hour-block × day-type histograms with hierarchical smoothing, planar-Laplace
mixture for geo-noise, event mix and volume; top-1 or one-to-one). On the four coarse releases
(province/district × week/day, subscribers and travel dropped), full mode from a source checkout
also runs ``benchmarks/outside_profile.py`` — an outside attacker written for issue 25 with numpy
and pandas only, importing nothing of reidcheck — on the same population and releases written to
disk, with and without the released call durations (which ``attack profile`` does not read).
Ours should be at least as strong as the references.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

from . import savefig

NAME = "profile-linkage"
TITLE = "Profile linkage across time and samples against ten anonymized releases"
PAPER = ("Naini et al. 2016, IEEE TIFS 11:358; Tournier & de Montjoye 2022, Sci. Adv. 8:eabl6464; reference "
         "figures: independent profile attackers on synthetic subscribers × 28 days (issues 14 and 25) and "
         "benchmarks/outside_profile.py run on the same data")

COARSE_DROP = "drop:tables=subscribers|travel"
#: name, strategies, reference (A top-1, A one-to-one, B top-1, B one-to-one; None: not reported) of the
#: independent attackers (issue 14: 5,000 × 28 d; issue 25: 4,000 × 28 d), and whether the outside
#: attacker of benchmarks/outside_profile.py runs on it.
RELEASES = (
    ("random ids only", ("token",), (0.50, None, 0.93, 0.97), False),
    ("geo-noise ε = 0.5/km", ("geo-noise:epsilon=0.5",), (0.32, None, 0.63, 0.97), False),
    ("geo-noise ε = 0.1/km", ("geo-noise:epsilon=0.1",), (0.27, None, 0.44, 0.96), False),
    ("50% of records", ("subsample:records=0.5",), (0.45, None, 0.90, 0.95), False),
    ("top-3 places", ("topn:n=3",), (0.46, None, 0.76, 0.96), False),
    ("tokens rotated weekly", ("rotate:period=week",), (0.37, None, 0.64, 0.80), False),
    ("district × day, subscribers and travel dropped",
     ("generalize-space:level=district", "generalize-time:bin=1d", COARSE_DROP), (0.20, None, 0.25, 0.71), True),
    ("district × week, subscribers and travel dropped",
     ("generalize-space:level=district", "generalize-time:bin=1w", COARSE_DROP), (0.100, 0.231, 0.164, 0.590), True),
    ("province × day, subscribers and travel dropped",
     ("generalize-space:level=province", "generalize-time:bin=1d", COARSE_DROP), (0.084, 0.156, 0.113, 0.381), True),
    ("province × week, subscribers and travel dropped",
     ("generalize-space:level=province", "generalize-time:bin=1w", COARSE_DROP), (0.050, 0.101, 0.077, 0.266), True),
)
REF_KEYS = ("A_top1", "A_assign", "B_top1", "B_assign")
OUTSIDE = Path(__file__).resolve().parents[2] / "benchmarks" / "outside_profile.py"


def _own(engine, rel, pub, **attack):
    """The audit's figure (behavioural-linkability): the release alone, in one of its scenarios."""
    from ..attacks import ProfileLinkage
    from ..io import TrajectoryInput
    from ..privacy import _durations, _events_table, _kinds

    ev = rel.events
    noisy = rel.places is None
    engine.register("__bench_rel", _events_table(pub.pid_codes, pub.pid_names[pub.pid_codes], ev["timestamp"],
                                                 None if noisy else ev["place"], ev["lat"], ev["lon"], _kinds(ev),
                                                 _durations(ev)))
    inp = TrajectoryInput(source="release", has_place=not noisy, has_coords=True, places=rel.places,
                          utc_offset_h=rel.utc_offset_h, relation="__bench_rel", meta={"manifest": pub.manifest})
    try:
        return ProfileLinkage(**attack).run(engine, inp)
    finally:
        engine.drop("__bench_rel")


def _outside(ctx, pop_dir: Path, pub, name: str) -> dict | None:
    """benchmarks/outside_profile.py on the release written to the cache: {"duration": {A, B},
    "no_duration": {A, B}} (each top1, top5, one_to_one), or None outside a source checkout or in
    quick mode."""
    if ctx.quick or not OUTSIDE.is_file():
        return None
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.split(",")[0]).strip("-")
    out = ctx.cache / f"{pop_dir.name}_{slug}"
    pub.write(out, overwrite=True)
    res = {}
    for label, extra in (("duration", []), ("no_duration", ["--no-duration"])):
        js = out.parent / f"{out.name}.outside-{label}.json"
        ctx.log(f"outside attacker ({label.replace('_', ' ')}): {name}")
        subprocess.run([sys.executable, str(OUTSIDE), "--population", str(pop_dir), "--release", str(out),
                        "--seed", str(ctx.seed), "--json", str(js), *extra], check=True, capture_output=True)
        res[label] = {sc: {k: v[k] for k in ("top1", "top5", "one_to_one")}
                      for sc, v in json.loads(js.read_text())["scenarios"].items()}
    return res


def run(ctx) -> dict:
    from ..anonymize.release import Release
    from ..anonymize.strategies import apply_strategies
    from ..engine import get_engine
    from ..io import read_population
    from ..privacy import release_profile
    from ..secrets import key_from_seed

    n_subs, days = (800, 14) if ctx.quick else (5_000, 28)
    releases = RELEASES[:1] + RELEASES[-1:] if ctx.quick else RELEASES
    pop_dir = ctx.population(n_subs, days)
    pop = read_population(pop_dir)
    orig = Release.from_population(pop)
    engine = get_engine("duckdb")
    figures = []
    for name, chain, ref, outside in releases:
        ctx.log(f"profile linkage: {name}")
        rel = apply_strategies(orig, chain, seed=ctx.seed, key=key_from_seed(ctx.seed))
        pub = rel.publish()
        split = "halves" if pub.manifest.get("pseudonym") == "rotate" else days // 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = release_profile(engine, orig, rel, pub, scenario="profile_next_period", seed=ctx.seed)
            b = release_profile(engine, orig, rel, pub, scenario="profile_sample", seed=ctx.seed)
            nxt = _own(engine, rel, pub, self_split=split, seed=ctx.seed)
            smp = _own(engine, rel, pub, self_sample=0.3, seed=ctx.seed)
        figures.append({"release": name, "strategies": list(chain), "reference": dict(zip(REF_KEYS, ref)),
                        "A": {k: a.extra[k] for k in ("top1_rate", "top5_rate", "assignment_rate")},
                        "B": {k: b.extra[k] for k in ("top1_rate", "top5_rate", "assignment_rate")},
                        "model": a.extra["features"]["model"],
                        "audit": {"next_period": nxt.correct_rate, "sample": smp.correct_rate,
                                  "next_period_s": nxt.elapsed_s, "sample_s": smp.elapsed_s},
                        "outside": _outside(ctx, pop_dir, pub, name) if outside else None,
                        "n_targets_A": a.n_targets, "n_candidates_A": a.n_candidates,
                        "elapsed_s": round(a.elapsed_s + b.elapsed_s + nxt.elapsed_s + smp.elapsed_s, 1)})
    rows = [_row(ctx, f) for f in figures]
    _plot(ctx, figures, n_subs, days)
    return {"params": {"subscribers": n_subs, "days": days, "scenarios": {"A": f"days 0..{days // 2} vs "
                                                                             f"{days // 2}..{days}",
                                                                       "B": "30% sample vs whole release",
                                                                       "audit": "next period (self-split), "
                                                                                "sample (self-sample 0.3)"}},
            "figures": {"releases": figures}, "rows": rows}


def _ours(f) -> dict:
    return {"A_top1": f["A"]["top1_rate"]["value"], "A_assign": f["A"]["assignment_rate"]["value"],
            "B_top1": f["B"]["top1_rate"]["value"], "B_assign": f["B"]["assignment_rate"]["value"]}


def _fmt(d: dict) -> str:
    x = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    return f"{x(d['A_top1'])} / {x(d['A_assign'])}, {x(d['B_top1'])} / {x(d['B_assign'])}"


def _row(ctx, f) -> dict:
    ours, ref = _ours(f), f["reference"]
    labels = {"A_top1": "A top-1", "A_assign": "A one-to-one", "B_top1": "B top-1", "B_assign": "B one-to-one"}
    weaker = [labels[k] for k in REF_KEYS if ref[k] is not None and ours[k] < ref[k]]
    agreement = "at least as strong on every reported figure" if not weaker else "weaker on " + ", ".join(weaker)
    o = f.get("outside")
    notes = []
    if o:
        worst = -1.0
        for label, what in (("no_duration", "without durations"), ("duration", "with durations")):
            d = {"A_top1": o[label]["A"]["top1"], "A_assign": o[label]["A"]["one_to_one"],
                 "B_top1": o[label]["B"]["top1"], "B_assign": o[label]["B"]["one_to_one"]}
            gap = max(d[k] - ours[k] for k in REF_KEYS)
            worst = max(worst, gap)
            notes.append(f"outside_profile.py {what}: {_fmt(d)} (its largest lead over ours {gap:+.3f})")
        agreement += (f"; within 0.03 of outside_profile.py (its largest lead {worst:+.3f})" if worst <= 0.03
                      else f"; behind outside_profile.py by {worst:.3f} (more than 0.03)")
    if ctx.quick:
        agreement = "quick mode: smaller population, not comparable"
    au = f["audit"]
    notes.append(f"audit behavioural-linkability: next period {au['next_period']['value']:.2f} "
                 f"({au['next_period_s']:.0f} s), sample {au['sample']['value']:.2f} ({au['sample_s']:.0f} s)")
    notes.append(f"{f['model']} model; {f['n_targets_A']:,} targets, {f['n_candidates_A']:,} candidates in A")
    return {"quantity": f"{f['release']}: A top-1 / one-to-one, B top-1 / one-to-one", "ours": _fmt(ours),
            "published": _fmt(ref), "agreement": agreement, "note": "; ".join(notes)}


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
