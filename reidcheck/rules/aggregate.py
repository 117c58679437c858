"""Aggregate rules: what a table of counts (users per place and time bin) gives away."""

from __future__ import annotations

import pandas as pd

from . import rule


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
