"""Xu et al. 2017: trajectory recovery from aggregate counts per (cell, time slot), against the shuffled
baseline, over the number of people and the slot length (``attacks.recovery.TrajectoryRecovery``).

One synthetic population (pings: the densest records, closest to Xu's app-level data); nested seeded
samples of its people are aggregated at cell level (``aggregate:bin=...,min_count=1``: raw counts, no
noise) and attacked. A third panel shows the same attack on protected releases (small-count
suppression, DP ε = 1). ``accuracy`` is the share of the people's true (person, slot) points recovered
after the optimal one-to-one matching; ``baseline`` the same for units shuffled within each slot.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import pct, rate_text, savefig

NAME = "xu2017"
TITLE = "Trajectory recovery from aggregate counts: accuracy vs a shuffled baseline over people and slot length"
PAPER = ("Xu, Tu, Li, Zhang, Fu & Jin 2017, Trajectory Recovery From Ash, WWW; D'Silva et al. 2024, "
         "Demystifying Trajectory Recovery From Ash, SIN (arXiv:2409.14645)")
PUBLISHED = (0.73, 0.91)   # Xu et al.'s recovery accuracy over their two data sets (secondary)


def _one(orig, chain, seed):
    from ..anonymize.strategies import apply_strategies
    from ..attacks.recovery import TrajectoryRecovery
    from ..secrets import key_from_seed

    rel = apply_strategies(orig, chain, seed=seed, key=key_from_seed(seed))
    r = TrajectoryRecovery(seed=seed).run(None, rel, knowledge=orig)
    e = r.extra
    return {"strategies": list(chain), "accuracy": e["accuracy"], "baseline_accuracy": e["baseline_accuracy"],
            "correct_rate": r.correct_rate, "unique_top3": e["unique_top3"], "n_people": e["n_people"],
            "n_units": e["n_units"], "n_trajectories": e["n_trajectories"], "n_bins": e["n_bins"],
            "elapsed_s": r.elapsed_s, "recovery_s": e["recovery_s"]}


def _moves(orig, bin_s: int) -> float:
    """Share of a person's consecutive slots (both with a record) whose cell differs."""
    ev = orig.events
    off = int(round(orig.utc_offset_h * 3600))
    b = (ev["timestamp"].to_numpy(np.int64) + off) // bin_s
    u, p = ev["subscriber_id"].to_numpy(np.int64), ev["place"].to_numpy(np.int64)
    o = np.lexsort((b, u))
    u, b, p = u[o], b[o], p[o]
    keep = np.ones(len(u), bool)
    keep[1:] = (u[1:] != u[:-1]) | (b[1:] != b[:-1])   # first record of each (person, slot)
    u, b, p = u[keep], b[keep], p[keep]
    step = (u[1:] == u[:-1]) & (b[1:] == b[:-1] + 1)
    return float((p[1:] != p[:-1])[step].mean()) if step.any() else float("nan")


def run(ctx) -> dict:
    from ..anonymize.release import Release
    from ..io import read_population

    n_max, days = (300, 3) if ctx.quick else (2_000, 7)
    sizes = (100, 300) if ctx.quick else (200, 500, 1_000, 2_000)
    slots = ("30min", "1h", "2h")
    pop = read_population(ctx.population(n_max, days), "pings")
    full = Release.from_population(pop, "pings")
    ids = np.sort(full.events["subscriber_id"].unique())
    order = np.random.default_rng(np.random.SeedSequence(ctx.seed, spawn_key=(411, 7))).permutation(ids)

    def sample(n):
        ev = full.events[full.events["subscriber_id"].isin(order[:n])].reset_index(drop=True)
        return replace(full, events=ev)

    people = []
    for n in sizes:
        ctx.log(f"recovery: {n:,} people, 1 h slots")
        people.append({"people": n, **_one(sample(n), ["aggregate:bin=1h,min_count=1"], ctx.seed)})
    big = sample(sizes[-1])
    by_slot = []
    for s in slots:
        ctx.log(f"recovery: {sizes[-1]:,} people, {s} slots")
        by_slot.append({"slot": s, **_one(big, [f"aggregate:bin={s},min_count=1"], ctx.seed)})
    protected = []
    for label, chain in (("raw counts", ["aggregate:bin=1h,min_count=1"]),
                         ("counts < 10 suppressed", ["aggregate:bin=1h,min_count=10"]),
                         ("DP ε = 1 (Laplace, 24 cells per person)", ["aggregate:bin=1h,min_count=0,epsilon=1"])):
        ctx.log(f"recovery: {sizes[-1]:,} people, {label}")
        protected.append({"release": label, **_one(big, chain, ctx.seed)})
    moves = _moves(big, 3600)
    _plot(ctx, people, by_slot, protected, days)

    top = people[-1]
    acc, base = top["accuracy"]["value"], top["baseline_accuracy"]["value"]
    lo, hi = PUBLISHED
    agreement = ("within range" if lo <= acc <= hi else
                 f"lower by {100 * (lo - acc):.0f} points than the low end" if acc < lo else
                 f"higher by {100 * (acc - hi):.0f} points than the high end")
    quick = " (quick mode: a small population, not comparable)" if ctx.quick else ""
    rows = [
        {"quantity": f"recovery accuracy, {top['people']:,} people, cell × 1 h", "ours": rate_text(top["accuracy"]),
         "published": "73–91% (secondary)", "agreement": agreement + quick,
         "note": f"synthetic pings, {days} days; {pct(moves)} of a person's consecutive hours change cell "
                 "(Xu's linking by distance and velocity assumes people mostly stay or move smoothly between slots)"},
        {"quantity": "accuracy over the shuffled baseline (same counts, no continuity)",
         "ours": f"{pct(acc)} vs {pct(base)} ({acc / base:.1f}×)" if base else "n/a",
         "published": "D'Silva et al. 2024: the published accuracy is optimistic",
         "agreement": "consistent (well below the published range)" if acc < lo else "not lower",
         "note": "accuracy matches recovered to true trajectories with the truth (optimal one-to-one), so "
                 "part of it is free: the baseline shows how much the counts alone give"},
        {"quantity": "accuracy vs people (" + " / ".join(f"{p['people']:,}" for p in people) + ")",
         "ours": " / ".join(pct(p["accuracy"]["value"]) for p in people),
         "published": "", "agreement": "",
         "note": "baseline " + " / ".join(pct(p["baseline_accuracy"]["value"]) for p in people) +
                 "; nested samples of one population (same cells, denser with more people); runtime " + " / ".join(f"{p['elapsed_s']:.1f} s" for p in people) + " (recovery + scoring)"},
        {"quantity": "accuracy vs slot length (" + " / ".join(slots) + ")",
         "ours": " / ".join(pct(s["accuracy"]["value"]) for s in by_slot),
         "published": "", "agreement": "",
         "note": "baseline " + " / ".join(pct(s["baseline_accuracy"]["value"]) for s in by_slot) +
                 "; runtime " + " / ".join(f"{s['elapsed_s']:.1f} s" for s in by_slot) +
                 "; a point is one (person, slot), so longer slots have fewer, easier points"},
        {"quantity": "people re-identified (majority of points and unique top-3 places)",
         "ours": rate_text(top["correct_rate"]), "published": "", "agreement": "",
         "note": f"recovered trajectories unique by top-3 places: {pct(top['unique_top3']['value'])}"},
        {"quantity": "accuracy: raw / counts < 10 suppressed / DP ε = 1",
         "ours": " / ".join(pct(p["accuracy"]["value"]) for p in protected), "published": "", "agreement": "",
         "note": "baseline " + " / ".join(pct(p["baseline_accuracy"]["value"]) for p in protected)},
    ]
    return {"params": {"subscribers": n_max, "days": days, "table": "pings", "space": "cell", "sizes": list(sizes),
                       "slots": list(slots), "min_count": 1},
            "figures": {"people": people, "slots": by_slot, "protected": protected, "cell_change_share": moves},
            "rows": rows}


def _plot(ctx, people, by_slot, protected, days) -> None:
    from matplotlib.figure import Figure

    from ..report.plots import ABOVE, place_labels

    fig = Figure(figsize=(13, 4.4), layout="constrained")
    a1, a2, a3 = fig.subplots(1, 3)
    runtimes = {}                       # per panel, placed once the layout is final

    def band(ax):
        ax.axhspan(*PUBLISHED, color="#cccccc", alpha=0.5, label="Xu et al. 2017: 73–91%")

    def bars(ax, labels, rows):
        x = np.arange(len(rows))
        ax.bar(x - 0.2, [r["accuracy"]["value"] for r in rows], 0.4, label="recovery", color="#4c72b0")
        ax.bar(x + 0.2, [r["baseline_accuracy"]["value"] for r in rows], 0.4, label="shuffled baseline",
               color="#dd8452")
        runtimes[ax] = [(f"{r['elapsed_s']:.1f} s", (i - 0.2, r["accuracy"]["value"])) for i, r in enumerate(rows)]
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_ylim(0, 1.06)
        band(ax)

    bars(a1, [f"{p['people']:,}" for p in people], people)
    a1.set_xlabel("people (cell × 1 h)")
    a1.set_ylabel("share of true (person, slot) points recovered")
    a1.set_title("A: accuracy vs people (runtime on bars)", fontsize=9)
    bars(a2, [s["slot"] for s in by_slot], by_slot)
    a2.set_xlabel(f"slot length ({people[-1]['people']:,} people)")
    a2.set_title("B: accuracy vs slot length", fontsize=9)
    bars(a3, ["raw", "min_count 10", "DP ε=1"], protected)
    a3.set_title("C: protected releases (1 h)", fontsize=9)
    fig.legend(*a1.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=7, frameon=False)
    fig.suptitle(f"Trajectory recovery from cell counts: synthetic pings × {days} days (seed {ctx.seed})",
                 fontsize=10)
    fig.draw_without_rendering()
    for ax, labels in runtimes.items():
        place_labels(ax, labels, spots=ABOVE, fontsize=7)
    savefig(fig, ctx.out / f"{NAME}.png")
