"""Travel rules: trips abroad (country, month) single out travellers."""

from __future__ import annotations

from . import rule


@rule(id="RC501", name="travel-uniqueness", title="Share of travellers singled out by one known trip (country, month)",
      kinds=("travel",), attack="travel", metric="unique_rate", threshold=0.2, params={"known_trips": 1},
      adversary="knows `known_trips` of the target's trips abroad, e.g. from posts or a visa")
def travel_uniqueness(ctx, table, rule):
    """A point is a (country, month of departure) pair; a traveller is singled out when no other
    traveller made all of the known trips. The rate is over travellers with enough trips."""
    from ..attacks import TravelLinkage

    ctx.step(f"{table.name}: travel")
    r, q, p = table.roles, ctx.engine.quote, ctx.params(rule)
    trips = ctx.engine.query(f"SELECT CAST({q(r['user'])} AS STRING) AS pid, CAST({q(r['country'])} AS STRING) "
                             f"AS country, CAST({q(r['month'])} AS STRING) AS month FROM tbl")
    if trips.empty:
        ctx.add(rule, table, metric=None, value=None, interval=None, params={}, status="not_applicable",
                message="The table has no trips.")
        return
    res = TravelLinkage(known_trips=int(p["known_trips"]), seed=ctx.seed).run(ctx.engine, trips)
    ctx.rate(rule, table, res, f"{res.unique_rate['value']:.1%} of {res.n_targets:,} travellers are singled out by "
             f"{p['known_trips']} known trip(s) (country, month)" if ctx.scored(res) else "no traveller")
