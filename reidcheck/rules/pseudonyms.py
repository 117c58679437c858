"""Pseudonym rules: unsalted hashes of phone numbers and IMSIs are reversed by enumerating their space."""

from __future__ import annotations

from . import finishes, rule, validates


@rule(id="RC301", name="reversible-pseudonyms",
      title="Share of pseudonyms reversed by enumerating the numbering plan and the IMSI space",
      kinds=("trajectory", "travel", "tabular"), attack="hash-reversal", metric="reversed_share", threshold=0.0,
      params={"budget": 30_000_000, "plmns": "41001", "heads": None, "tacs": None, "salt_prefix": None,
              "salt_suffix": None},
      adversary="knows the numbering plan and the networks' IMSI ranges and hashes every identifier of a slice "
                "of them, with MD5, SHA-1 or SHA-256, full or truncated (Demir et al. 2018)")
def reversible_pseudonyms(ctx, table, rule):
    """The user column's distinct values are kept; once every table is read, the hash-shaped ones
    (hex digits: 32 MD5, 40 SHA-1, 64 SHA-256, or at least 16 for a truncated digest of any longer
    algorithm) are looked up among the hashes of `budget` candidates of each kind — mobile numbers of
    the plan in every written form, IMSIs of the `plmns` networks (MCC + MNC, comma-separated), and
    CNICs of `heads` and IMEIs of `tacs` when the policy names them — with the known constant
    `salt_prefix`/`salt_suffix` when given, in one enumeration for all tables. The share is exact over
    the table's distinct pseudonyms, so it is judged as is."""
    col = table.roles.get("user")
    if not col:
        return
    values = ctx.engine.query(f"SELECT DISTINCT CAST({ctx.engine.quote(col)} AS STRING) AS p FROM tbl")["p"].dropna()
    ctx.pseudonyms[table.name] = (table, values.astype(str).str.strip().str.lower())


def _hex_length(values) -> int | None:
    """The pseudonyms' length when all are hex of one length of 16 digits or more (a digest, maybe
    truncated), else None."""
    from ..schema import HEX

    if not len(values) or not values.str.match(HEX).all():
        return None
    lengths = set(values.str.len().tolist())
    return lengths.pop() if len(lengths) == 1 and min(lengths) >= 16 else None


@finishes(reversible_pseudonyms)
def reverse_all(ctx, rule):
    """One enumeration per pseudonym length over every table's values (``audit_reversal``: each kind
    within the budget, each algorithm the length allows), then a finding per table with the time the
    whole space of each kind takes at the measured rate."""
    from ..attacks.pseudonyms import AUDIT_KINDS, PK_PLMNS, audit_reversal
    from ..attacks.validation import items
    from ..numbering import PLAN_PREFIXES
    from ..stats import rate
    from ..summary import _duration

    lengths = {name: _hex_length(values) for name, (_, values) in ctx.pseudonyms.items()}
    by_length: dict = {}
    for name, (_, values) in ctx.pseudonyms.items():
        if lengths[name] is not None:
            by_length.setdefault(lengths[name], set()).update(values.tolist())
    settings = ctx.params(rule)
    budget = int(settings["budget"])
    spaces = {k: items(settings.get(k)) for k in ("plmns", "heads", "tacs")}
    salts = {k: settings.get(k) or "" for k in ("salt_prefix", "salt_suffix")}
    slices = {}
    for length, values in by_length.items():
        ctx.step(f"reversing {length}-hex-digit pseudonyms")
        slices[length] = audit_reversal(sorted(values), budget=budget, **spaces, **salts)
    kinds = {"msisdn": "mobile numbers", "imsi": "IMSIs", "cnic": "CNICs", "imei": "IMEIs"}
    scopes = {"msisdn": f"prefix {PLAN_PREFIXES[0]}", "imsi": f"network {', '.join(spaces['plmns'])}",
              "cnic": f"head {', '.join(spaces['heads'])}", "imei": f"TAC {', '.join(spaces['tacs'])}"}
    whole = {"msisdn": f"the national mobile plan ({len(PLAN_PREFIXES)} prefixes)",
             "imsi": f"the IMSIs of Pakistan's {len(set(PK_PLMNS) | set(spaces['plmns']))} networks",
             "cnic": f"the CNICs of {len(spaces['heads'])} head(s)", "imei": f"the IMEIs of {len(spaces['tacs'])} TAC(s)"}
    tried = [k for k in AUDIT_KINDS if k == "msisdn" or spaces[{"imsi": "plmns", "cnic": "heads", "imei": "tacs"}[k]]]
    tried_text = ", ".join(f"{kinds[x]} ({scopes[x]})" for x in tried)
    salted = bool(salts["salt_prefix"] or salts["salt_suffix"])
    for name, (table, values) in ctx.pseudonyms.items():
        col = table.roles["user"]
        length = lengths[name]
        found = slices.get(length) or []
        if length is None or not found:
            ctx.add(rule, table, metric="reversed_share", value=0.0, interval=None, params={"column": col},
                    message=f"Column '{col}' does not hold hash-shaped pseudonyms (hex digests of 16 or more hex "
                            "digits); nothing to reverse by enumeration")
            continue
        n = len(values)
        hits = {}
        for s in found:
            k = int(values.isin(s.reversed).sum())
            if k:
                hits[(s.kind, s.algorithm, s.truncated)] = k
        k = int(values.isin(frozenset().union(*(s.reversed for s in found))).sum())
        per_s = max((s.hashes_per_s or 0) for s in found)
        times = {}
        for s in found:                      # the fastest rate measured for each kind
            if s.whole_space_s is not None:
                times[s.kind] = min(times.get(s.kind, float("inf")), s.whole_space_s)
        eta = "; ".join(f"{whole[kind]} ≈ {_duration(times[kind])}" for kind in AUDIT_KINDS if kind in times)
        algos = sorted({s.algorithm + (" (truncated)" if s.truncated else "") for s in found})
        what = ", ".join(f"{v:,} {kinds[kind]} ({algo}{', truncated' if trunc else ''})"
                         for (kind, algo, trunc), v in hits.items())
        ctx.add(rule, table, metric="reversed_share", value=rate(k, n)["value"], interval=None,
                params={"column": col, "budget": budget, "kinds": tried, "algorithms": algos, "salted": salted},
                message=(f"Column '{col}' holds {length}-hex-digit pseudonyms: {k:,} of {n:,} reversed ({what}) "
                         f"within {budget:,} hashes per kind ({per_s:,.0f} hashes/s); at this rate {eta}"
                         if k else
                         f"Column '{col}' holds {length}-hex-digit pseudonyms; none reversed within {budget:,} "
                         f"hashes per kind ({tried_text}; {', '.join(algos)}) — keyed "
                         f"hashes, salts or tokens look the same; at this rate {eta}; raise [rules.{rule.id}] "
                         "budget for a stronger check"))


@validates(reversible_pseudonyms)
def _reversal_settings(p: dict) -> None:
    """The budget, networks, heads, TACs and salts of RC301, checked before any data is read."""
    from ..attacks.pseudonyms import HashReversal
    from ..attacks.validation import _int_between, items

    _int_between("budget", p["budget"], 3, 10 ** 12)
    salts = {k: p.get(k) or "" for k in ("salt_prefix", "salt_suffix")}
    HashReversal(prefixes=(300,), **salts).validate()
    for kind, key, field in (("imsi", "plmns", "plmns"), ("cnic", "heads", "heads"), ("imei", "tacs", "tacs")):
        if items(p.get(key)):
            HashReversal(kind=kind, **{field: items(p.get(key))}, **salts).validate()
