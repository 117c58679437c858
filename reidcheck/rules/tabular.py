"""Tabular rules: equivalence classes of the quasi-identifiers (k, l, t) and prosecutor risk."""

from __future__ import annotations

from ..errors import InputError
from . import rule


def quasi_identifiers(ctx, table) -> list[str]:
    """The table's QIs: ``qi`` under [tables.NAME], else the policy's, else the columns with QI names."""
    from ..schema import QI_COLS

    qi = table.settings.get("qi") or ctx.policy.rule(_K_ID).get("qi") or [c for c in table.columns
                                                                          if c.lower() in QI_COLS]
    missing = [c for c in qi if c not in table.columns]
    if missing:
        raise InputError(f"File '{table.file}': quasi-identifier column '{missing[0]}' not found.")
    return qi


def _input(table):
    """The table being judged, registered as ``tbl``, as the tabular attacks' input."""
    from ..attacks.inputs import TableInput

    return TableInput("tbl", str(table.file))


def _kanon(ctx, table):
    """One k-anonymity run per table, shared by RC101 and RC104."""
    def compute():
        from ..attacks.tabular import KAnonymity

        qi = quasi_identifiers(ctx, table)
        ctx.step(f"{table.name}: k-anonymity")
        res = KAnonymity(qi=tuple(qi), k=int(ctx.policy.rule(_K_ID)["min"])).run(ctx.engine, _input(table))
        if res.anonymity_set:
            ctx.anonymity_sets.append({"table": table.name, "rule_id": _K_ID,
                                       "histogram": res.anonymity_set.get("histogram", {})})
        return qi, res
    return ctx.memo((table.name, "kanon"), compute)


@rule(id="RC101", name="k-anonymity", title="Equivalence classes of the quasi-identifiers are at least k records",
      kinds=("tabular",), attack="kanon", metric="k", direction="min", threshold=5, params={"qi": None},
      adversary="knows a person's quasi-identifiers (age, gender, district, …) and that they are in the table")
def k_anonymity(ctx, table, rule):
    """Sweeney 2002: the smallest equivalence class (records sharing every QI value; a missing value is
    a value of its own) must hold at least k records."""
    qi, res = _kanon(ctx, table)
    x, k = res.extra, ctx.params(rule)["min"]
    ctx.add(rule, table, metric="k", value=x["k"], interval=None, params={"qi": qi, "k": k},
            message=f"The smallest class of ({', '.join(qi)}) has {x['k']:,} record(s); "
                    f"{x['records_below_k']['value']:.1%} of records are in classes below {k}", result=res)


_K_ID = k_anonymity.rule_id


@rule(id="RC102", name="l-diversity", title="Each class holds at least l distinct sensitive values",
      kinds=("tabular",), attack="ldiv", metric="l", direction="min", threshold=2,
      params={"variant": "distinct", "sensitive": None},
      adversary="knows a person's class and learns the sensitive value when the class is homogeneous")
def l_diversity(ctx, table, rule):
    """Machanavajjhala et al. 2007: every class holds at least l distinct (or entropy, recursive)
    values of the sensitive column (`sensitive` under [tables.NAME] or [rules.RC102])."""
    from ..attacks.tabular import LDiversity

    sensitive = _sensitive(ctx, table, rule)
    if sensitive is None:
        return
    qi, p = quasi_identifiers(ctx, table), ctx.params(rule)
    res = LDiversity(qi=tuple(qi), sensitive=sensitive, l=float(p["min"]), variant=p["variant"]).run(
        ctx.engine, _input(table))
    ctx.add(rule, table, metric="l", value=res.extra["l"], interval=None,
            params={"qi": qi, "sensitive": sensitive, "variant": p["variant"]},
            message=f"The least diverse class holds {res.extra['l']:g} distinct value(s) of '{sensitive}'", result=res)


@rule(id="RC103", name="t-closeness", title="Each class's sensitive distribution is within t of the table's",
      kinds=("tabular",), attack="tclose", metric="t", threshold=0.2, params={"sensitive": None},
      adversary="knows a person's class and learns from how its sensitive values differ from the table's")
def t_closeness(ctx, table, rule):
    """Li et al. 2007: the distance (ordered EMD for numbers, equal distance otherwise) between each
    class's distribution of the sensitive column and the whole table's is at most t."""
    from ..attacks.tabular import TCloseness

    sensitive = _sensitive(ctx, table, rule)
    if sensitive is None:
        return
    qi = quasi_identifiers(ctx, table)
    res = TCloseness(qi=tuple(qi), sensitive=sensitive, t=float(ctx.params(rule)["max"])).run(
        ctx.engine, _input(table))
    ctx.add(rule, table, metric="t", value=res.extra["t"], interval=None, params={"qi": qi, "sensitive": sensitive},
            message=f"The farthest class's distribution of '{sensitive}' is {res.extra['t']:.3f} from the table's",
            result=res)


def _sensitive(ctx, table, rule) -> str | None:
    """The sensitive column, or None after a not-applicable finding when none is configured."""
    sensitive = table.settings.get("sensitive") or ctx.policy.rule(l_diversity.rule_id).get("sensitive")
    if not sensitive:
        ctx.add(rule, table, metric=None, value=None, interval=None, params={}, status="not_applicable",
                message=f"No sensitive column is configured (set `sensitive` under [tables.{table.name}] to check it).")
        return None
    if sensitive not in table.columns:
        raise InputError(f"File '{table.file}': sensitive column '{sensitive}' not found.")
    return sensitive


@rule(id="RC104", name="prosecutor-risk", title="Highest re-identification probability of a record (1 / class size)",
      kinds=("tabular",), attack="kanon", metric="prosecutor_risk", threshold=0.2, also=("risk",),
      adversary="the prosecutor: knows the target is in the table and their quasi-identifiers (El Emam)")
def prosecutor_risk(ctx, table, rule):
    """The prosecutor model: a record's risk is 1 / the size of its class; the highest over the table
    is judged (the average, #classes / records, is reported)."""
    qi, res = _kanon(ctx, table)
    x = res.extra
    high = x["prosecutor_risk"]["highest"]
    ctx.add(rule, table, metric="prosecutor_risk", value=high, interval=None, params={"qi": qi},
            message=f"The highest probability of re-identifying a record from ({', '.join(qi)}) is {high:.2f} "
                    f"(average {x['prosecutor_risk']['average']:.3f})", result=res)
