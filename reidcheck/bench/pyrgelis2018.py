"""Pyrgelis, Troncoso & De Cristofaro 2018: membership inference on aggregate location data.

The distinguishing game of the paper on a synthetic population (``attacks.MembershipInference``):
a target and a group of N people, the target in the group or replaced by another person with a
fair coin, the group aggregated by ``anonymize.aggregate`` (distinct people per cell × 1 h), a
likelihood-ratio adversary who knows the target's trace, the mechanism and population statistics.
Two figures, each point with its runtime:

* **A** — AUC against the group size N on raw counts, with the population prior and with the
  zero-auxiliary-knowledge prior read off the aggregate itself (ZK-MIA, Guépin et al. 2024);
* **B** — AUC against the DP budget ε (raw, 10, 1, 0.1; Laplace, ``max_cells`` = 24) at N = 50
  (and N = 1,000 in full mode).

The paper's figure: the attack is serious on raw aggregates of small groups, weakens as groups
grow, and DP brings it to chance at a utility cost.
"""

from __future__ import annotations

from . import savefig

NAME = "pyrgelis2018"
TITLE = "Membership inference on aggregate location counts: AUC by group size and by DP budget"
PAPER = ("Pyrgelis, Troncoso & De Cristofaro 2018, Knock Knock, Who's There? Membership Inference on Aggregate "
         "Location Data, NDSS; Guépin, Meeus, Creţu & de Montjoye 2024, ZK-MIA, PETS")
EPSILONS = (None, 10.0, 1.0, 0.1)


def _point(attack, rel, **where) -> dict:
    r = attack.run(None, rel)
    return {**where, "auc": r.extra["auc"], "advantage": r.extra["advantage"], "correct_rate": r.correct_rate,
            "n_trials": r.n_targets, "elapsed_s": r.elapsed_s}


def _eps_label(eps) -> str:
    return "raw" if eps is None else f"ε={eps:g}"


def run(ctx) -> dict:
    from ..anonymize.release import Release
    from ..attacks.membership import MembershipInference
    from ..io import read_population

    n_subs, days = (2_000, 7) if ctx.quick else (10_000, 14)
    trials = 100 if ctx.quick else 400
    groups = (5, 10, 50, 100, 1000) if ctx.quick else (5, 10, 50, 100, 1000, 5000)
    eps_groups = (50,) if ctx.quick else (50, 1000)
    rel = Release.from_population(read_population(ctx.population(n_subs, days)))
    ev = rel.events
    hours = ev.assign(h=ev["timestamp"] // 3600)[["subscriber_id", "place", "h"]].drop_duplicates()
    cells_per_person = len(hours) / max(ev["subscriber_id"].nunique(), 1)
    base = {"time_bin": "1h", "space": "cell", "trials": trials, "seed": ctx.seed, "max_cells": 24}
    by_group = []
    for prior in ("population", "aggregate"):
        for n in groups:
            p = _point(MembershipInference(group_size=n, prior=prior, **base), rel, group_size=n, prior=prior)
            ctx.log(f"raw, N={n}, prior={prior}: AUC {p['auc']['value']:.3f} ({p['elapsed_s']:.1f} s)")
            by_group.append(p)
    by_eps = []
    for n in eps_groups:
        for eps in EPSILONS:
            p = _point(MembershipInference(group_size=n, epsilon=eps, **base), rel, group_size=n, epsilon=eps)
            ctx.log(f"{_eps_label(eps)}, N={n}: AUC {p['auc']['value']:.3f} ({p['elapsed_s']:.1f} s)")
            by_eps.append(p)
    _plot(ctx, by_group, by_eps, n_subs, days, trials)
    return {"params": {"subscribers": n_subs, "days": days, "trials": trials, "group_sizes": list(groups),
                       "epsilons": list(EPSILONS), "epsilon_group_sizes": list(eps_groups), **base},
            "figures": {"group_size": by_group, "epsilon": by_eps, "cell_hours_per_person": round(cells_per_person, 1)},
            "rows": _rows(ctx, by_group, by_eps, cells_per_person, days)}


def _auc_text(p: dict) -> str:
    lo, hi = p["auc"]["ci"]
    return f"{p['auc']['value']:.3f} [{lo:.3f}, {hi:.3f}]"


def _rows(ctx, by_group, by_eps, cells_per_person: float, days: int) -> list[dict]:
    pop = [p for p in by_group if p["prior"] == "population"]
    zk = [p for p in by_group if p["prior"] == "aggregate"]
    small = next(p for p in pop if p["group_size"] == 50)
    aucs = [p["auc"]["value"] for p in pop]
    decays = all(b <= a + 0.02 for a, b in zip(aucs, aucs[1:])) and aucs[-1] < aucs[0]
    e50 = {p["epsilon"]: p for p in by_eps if p["group_size"] == 50}
    chance = e50[0.1]["auc"]["ci"][0] <= 0.5 <= e50[0.1]["auc"]["ci"][1]
    falls = e50[None]["auc"]["value"] > e50[10.0]["auc"]["value"] > e50[1.0]["auc"]["value"]
    zk50 = next(p for p in zk if p["group_size"] == 50)
    runtime = "; ".join(f"N={p['group_size']}: {p['elapsed_s']:.1f} s" for p in pop)
    quick = " (quick mode: small population, few trials)" if ctx.quick else ""
    return [
        {"quantity": "AUC, raw counts, N = 50 (cell × 1 h)", "ours": _auc_text(small),
         "published": "serious threat on raw aggregates of small groups",
         "agreement": "agrees" if small["auc"]["value"] >= 0.8 else "weaker than published",
         "note": f"accuracy of the Bayes rule (score > 0): {small['correct_rate']['value']:.2f}; "
                 f"advantage (max TPR−FPR) {small['advantage']:.2f}{quick}"},
        {"quantity": "AUC against group size N (raw)",
         "ours": " → ".join(f"{p['auc']['value']:.2f} (N={p['group_size']})" for p in pop),
         "published": "decreases as groups grow",
         "agreement": "same shape" if decays else "shape differs",
         "note": f"runtime {runtime}. A synthetic person has {cells_per_person:.0f} distinct cell-hours in "
                 f"{days} days, so even large groups leave a target's cells thinly populated"},
        {"quantity": "AUC against ε (Laplace, max_cells 24, N = 50)",
         "ours": " → ".join(f"{p['auc']['value']:.2f} ({_eps_label(p['epsilon'])})" for p in e50.values()),
         "published": "DP reduces it (to chance at small ε) at a utility cost",
         "agreement": "agrees" if chance and falls else "shape differs",
         "note": f"ε = 0.1 interval {e50[0.1]['auc']['ci']}; user-level DP over the whole window: noise "
                 "scale max_cells/ε = 240 people per cell at ε = 0.1"},
        {"quantity": "AUC with the aggregate-only prior (ZK-MIA style), N = 50 raw", "ours": _auc_text(zk50),
         "published": "ZK-MIA: no auxiliary traces needed",
         "agreement": "agrees" if zk50["auc"]["value"] >= small["auc"]["value"] - 0.1 else "weaker",
         "note": "p(cell) from the same place at the same hour on the other days of the aggregate"},
    ]


def _plot(ctx, by_group, by_eps, n_subs: int, days: int, trials: int) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    from ..report.plots import DOWN, UP, place_labels, point_box, polyline_boxes, renderer_of, segment_box

    fig = Figure(figsize=(11, 4.2))
    a1, a2 = fig.subplots(1, 2)
    series = {a1: [], a2: []}           # per panel: (points, colour, spots); runtimes are placed on the final layout

    def bars(ax, x, pts, **kw):
        v = np.array([p["auc"]["value"] for p in pts])
        lo, hi = np.array([p["auc"]["ci"][0] for p in pts]), np.array([p["auc"]["ci"][1] for p in pts])
        line = ax.errorbar(x, v, yerr=[v - lo, hi - v], fmt="o-", capsize=3, **kw).lines[0]
        series[ax].append(([(f"{p['elapsed_s']:.1f}s", float(xi), float(vi), float(a), float(b))
                            for xi, vi, a, b, p in zip(x, v, lo, hi, pts)], line.get_color(),
                           UP if not series[ax] else DOWN))

    for prior, label in (("population", "population prior"), ("aggregate", "aggregate-only prior (ZK)")):
        pts = [p for p in by_group if p["prior"] == prior]
        bars(a1, [p["group_size"] for p in pts], pts, label=label)
    a1.set_xscale("log")
    a1.set_xlabel("group size N")
    a1.set_title("A: raw counts, cell × 1 h", fontsize=9)
    for n in sorted({p["group_size"] for p in by_eps}):
        pts = [p for p in by_eps if p["group_size"] == n]
        bars(a2, np.arange(len(pts)), pts, label=f"N = {n}")
    a2.set_xticks(np.arange(len(EPSILONS)), [_eps_label(e) for e in EPSILONS])
    a2.set_xlabel("DP budget (Laplace, max_cells = 24)")
    a2.set_title("B: AUC against ε", fontsize=9)
    for ax in (a1, a2):
        ax.axhline(0.5, color="grey", ls="--", lw=0.8)
        ax.set_ylim(0.35, 1.06)
        ax.set_ylabel("membership AUC (95% DeLong interval)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
        ax.margins(x=0.08)
    fig.suptitle(f"Membership inference, {n_subs:,} synthetic subscribers × {days} days, {trials} trials per point "
                 f"(seed {ctx.seed}); labels: runtime, in the colour of their series", fontsize=9)
    fig.tight_layout()
    renderer = renderer_of(fig)
    for ax, lines in series.items():    # runtimes dodge each other, the markers, whiskers, lines and the legend
        obstacles = [ax.get_legend().get_window_extent(renderer)]
        for pts, _, _ in lines:
            obstacles += [point_box(ax, x, y) for _, x, y, _, _ in pts]
            obstacles += [segment_box(ax, x, lo, hi) for _, x, _, lo, hi in pts]
            obstacles += polyline_boxes(ax, [x for _, x, _, _, _ in pts], [y for _, _, y, _, _ in pts])
        place_labels(ax, [(text, (x, y), {"color": colour, "spots": spots})
                          for pts, colour, spots in lines for text, x, y, _, _ in pts],
                     obstacles=obstacles, fontsize=6, renderer=renderer)
    savefig(fig, ctx.out / f"{NAME}.png")
