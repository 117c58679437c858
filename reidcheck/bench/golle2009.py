"""Golle & Partridge 2009: anonymity of the (home, work) pair at coarsening resolutions."""

from __future__ import annotations

from . import pct, savefig
from ._places import population_size, sweep

NAME = "golle2009"
TITLE = "Anonymity set of the (home, work) pair at cell, 5 km grid, district"
PAPER = "Golle & Partridge 2009, On the anonymity of home/work location pairs, Pervasive"
SPACES = ("cell", "grid:5km", "district")


def run(ctx) -> dict:
    from ..attacks import HomeWork

    n_subs, days = population_size(ctx)
    pop = ctx.population(n_subs, days)
    rows_ = sweep(ctx, lambda sp: HomeWork(space=sp), SPACES, pop)

    _plot(ctx, rows_, n_subs, days)

    by = {r["space"]: r for r in rows_}
    rows = [
        {"quantity": "median anonymity set: cell / 5 km grid / district",
         "ours": " / ".join(str(by[s]["median_set"]) for s in SPACES),
         "published": "1 / 21 / 34,980 (census block / tract / county)",
         "agreement": "same ordering" if by["cell"]["median_set"] <= by["grid:5km"]["median_set"]
         <= by["district"]["median_set"] else "ordering differs",
         "note": "cells (~0.1 km² urban) are coarser than census blocks and districts hold millions; "
                 "home/work are inferred from CDR (night / workday-hours modes), ~76% home detection"},
        {"quantity": "share unique at the middle resolution", "ours": pct(by["grid:5km"]["unique_rate"]["value"]),
         "published": "~5% unique at tract (secondary)",
         "agreement": "within 5 points" if abs(by["grid:5km"]["unique_rate"]["value"] - 0.05) <= 0.05
         else "differs",
         "note": "a 5 km square is larger than most urban tracts and smaller than rural ones"},
        {"quantity": "share unique at cell", "ours": pct(by["cell"]["unique_rate"]["value"]),
         "published": "majority unique at block (median set 1)",
         "agreement": "agrees" if (by["cell"]["median_set"] or 99) <= 2 else "lower than published",
         "note": f"{by['cell']['n_targets']:,} users with both a home and a work place scored"},
    ]
    return {"params": {"subscribers": n_subs, "days": days, "spaces": list(SPACES)}, "figures": {"homework": rows_},
            "rows": rows}


def _plot(ctx, rows_: list[dict], n_subs: int, days: int) -> None:
    """Median anonymity set per resolution (log scale), each bar labelled with its share unique; the
    labels stay inside the axes (room above the tallest bar, else inside the bar)."""
    from matplotlib.figure import Figure

    from ..report.plots import ABOVE, place_labels

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    med = [r["median_set"] or 0 for r in rows_]
    ax.bar(range(len(SPACES)), med, color="#4c72b0")
    ax.set_xticks(range(len(SPACES)), SPACES)
    ax.set_yscale("log")
    ax.set_ylim(top=max([10, *med]) * 4)               # headroom for the label of the tallest bar
    ax.set_ylabel("median anonymity-set size of (home, work)")
    ax.set_title(f"(home, work), {n_subs:,} synthetic subscribers × {days} days (seed {ctx.seed})", fontsize=9)
    fig.tight_layout()
    floor = ax.get_ylim()[0]
    place_labels(ax, [(f"{pct(r['unique_rate']['value'])} unique", (i, max(med[i], floor)))
                      for i, r in enumerate(rows_)], spots=ABOVE, fontsize=8)
    savefig(fig, ctx.out / f"{NAME}.png")
