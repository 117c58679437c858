"""Shared by the top-N and home/work reproductions: one attack at several spatial resolutions."""

from __future__ import annotations


def sweep(ctx, attack_for, spaces, pop_dir) -> list[dict]:
    """Run ``attack_for(space)`` on ``pop_dir``'s cdr for each space; one row of figures per space."""
    from ..engine import get_engine
    from ..io import load_trajectories

    engine = get_engine("duckdb")
    inp = load_trajectories(engine, pop_dir)
    out = []
    for space in spaces:
        ctx.log(f"{attack_for(space)!r}")
        res = attack_for(space).run(engine, inp)
        a = res.anonymity_set or {}
        out.append({"space": space, "n_targets": res.n_targets, "n_skipped": res.n_skipped,
                    "unique_rate": res.unique_rate, "median_set": a.get("p50"), "p90_set": a.get("p90"),
                    "max_set": a.get("max"), "histogram": a.get("histogram"), "elapsed_s": res.elapsed_s})
    return out


def population_size(ctx) -> tuple[int, int]:
    """(subscribers, days) of the population the place benchmarks use."""
    return (2_000, 7) if ctx.quick else (100_000, 28)
