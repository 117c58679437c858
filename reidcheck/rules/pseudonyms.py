"""Pseudonym rules: unsalted hashes of phone numbers are reversed by enumerating the numbering plan."""

from __future__ import annotations

from . import finishes, rule


@rule(id="RC301", name="reversible-pseudonyms",
      title="Share of pseudonyms reversed by enumerating the numbering plan",
      kinds=("trajectory", "travel", "tabular"), attack="hash-reversal", metric="reversed_share", threshold=0.0,
      params={"budget": 3_000_000},
      adversary="knows the numbering plan and hashes every number of a slice of it (Demir et al. 2018)")
def reversible_pseudonyms(ctx, table, rule):
    """The user column's distinct values are kept; once every table is read, the hash-shaped ones
    (32, 40 or 64 hex digits: MD5, SHA-1, SHA-256) are looked up among the hashes of `budget`
    candidate numbers of the plan, in every written form, in one enumeration for all tables. The
    share is exact over the table's distinct pseudonyms, so it is judged as is."""
    col = table.roles.get("user")
    if not col:
        return
    values = ctx.engine.query(f"SELECT DISTINCT CAST({ctx.engine.quote(col)} AS STRING) AS p FROM tbl")["p"].dropna()
    ctx.pseudonyms[table.name] = (table, values.astype(str).str.strip().str.lower())


@finishes(reversible_pseudonyms)
def reverse_all(ctx, rule):
    """One enumeration of the budgeted plan slice over every table's hash-shaped pseudonyms, then a
    finding per table."""
    from ..attacks.pseudonyms import detect_algorithm, reverse_plan_slice
    from ..numbering import PLAN_PREFIXES
    from ..schema import HEX
    from ..stats import rate

    def algorithm(values):
        return detect_algorithm(values.tolist()) if len(values) and values.str.match(HEX).all() else None

    shaped: dict = {}
    for _, values in ctx.pseudonyms.values():
        algo = algorithm(values)
        if algo is not None:
            shaped.setdefault(algo, set()).update(values.tolist())
    budget = int(ctx.params(rule)["budget"])
    reversed_ = {}
    for algo, values in shaped.items():
        ctx.step(f"reversing {algo} pseudonyms")
        rev = reverse_plan_slice(sorted(values), budget=budget)
        reversed_[algo] = (rev.reversed, rev.result.extra["candidates_hashed"], rev.full_plan_minutes,
                           rev.serial_hi, rev.result.extra["plan_hashes_per_s"])
    for table, values in ctx.pseudonyms.values():
        col = table.roles["user"]
        algo = algorithm(values)
        if algo is None:
            ctx.add(rule, table, metric="reversed_share", value=0.0, interval=None, params={"column": col},
                    message=f"Column '{col}' does not hold hash-shaped pseudonyms (32, 40 or 64 hex digits); "
                            "nothing to reverse by enumeration")
            continue
        found, hashed, minutes, serial_hi, per_s = reversed_[algo]
        n, k = len(values), int(values.isin(found).sum())
        ctx.add(rule, table, metric="reversed_share", value=rate(k, n)["value"], interval=None,
                params={"column": col, "budget": budget, "prefix": PLAN_PREFIXES[0], "serials": [0, serial_hi]},
                message=(f"Column '{col}' holds {algo.upper()}-shaped pseudonyms: {k:,} of {n:,} reversed to phone "
                         f"numbers within {hashed:,} hashes (prefix {PLAN_PREFIXES[0]}, first {serial_hi:,} serials, "
                         f"{per_s or 0:,} hashes/s); the whole national plan takes ≈ {minutes:.0f} min"
                         if k else
                         f"Column '{col}' holds {algo.upper()}-shaped pseudonyms; none reversed within {hashed:,} "
                         f"hashes (keyed hashes or tokens look the same; raise [rules.{rule.id}] budget for a "
                         "stronger check)"))
