"""Strategy names of the CLI (``NAME[:k=v,...]``), parsed and applied in order to a ``Release``.

Every random draw of step ``i`` comes from the release key and the seed, ``key.rng("strategy/<i>",
seed)`` (``reidcheck.secrets``): the same key, seed and chain give the same release byte for byte;
without the key the seed reveals nothing of the noise or the pseudonyms. Pseudonymization strategies
(``hash``, ``hmac``, ``token``, ``rotate``) choose how ``pid`` is made when the release is published;
without one, keyed tokens are used (a release never carries the subscriber id). Their parameter
``counterparts`` says what happens to the other party of each call or SMS: ``drop`` (the default)
releases none; ``pseudonymize`` adds ``counterpart_pid`` — an in-network counterpart gets the very
pseudonym of that subscriber's own records (in the same period, for ``rotate``), an off-network number
a keyed token (``HMAC(key.derive("counterpart", seed), number)``). No number is ever released.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..secrets import ReleaseKey, as_release_key
from .aggregate import aggregate
from .generalize import generalize_space, generalize_time
from .perturb import geo_noise, jitter, subsample
from .release import Release
from .suppress import suppress, topn

PSEUDONYMS = ("hash", "hmac", "token", "rotate")
NAMES = PSEUDONYMS + ("generalize-space", "generalize-time", "generalize-qi", "suppress", "topn", "geo-noise",
                      "jitter", "subsample", "kanon", "aggregate", "drop")
#: Parameters each strategy accepts (and their meaning, for the CLI's help and errors).
_COUNTERPARTS = "drop (default) | pseudonymize: the other party of calls and SMS"
PARAMS = {
    "hash": {"algorithm": "md5|sha1|sha256", "form": "e164|intl|national", "counterparts": _COUNTERPARTS},
    "hmac": {"algorithm": "md5|sha1|sha256", "form": "e164|intl|national",
             "key": "secret text (default: derived from the release key)", "counterparts": _COUNTERPARTS},
    "token": {"counterparts": _COUNTERPARTS},
    "rotate": {"period": "month|week|day", "counterparts": _COUNTERPARTS},
    "generalize-space": {"level": "site|district|province|grid:<size>"},
    "generalize-time": {"bin": "15min|1h|4h|1d|1w"},
    "generalize-qi": {"age": "band width in years, or *", "home_district": "province or *", "gender": "*"},
    "suppress": {"places": "min users per place", "points": "min users per (place, bin)",
                 "events": "min records per user"},
    "topn": {"n": "places kept per user"},
    "geo-noise": {"epsilon": "per km", "per": "record|place"},
    "jitter": {"minutes": "± minutes, uniform"},
    "subsample": {"records": "keep rate", "users": "keep rate"},
    "kanon": {"k": "minimum class size", "suppression": "max share of records suppressed"},
    "drop": {"tables": "subscribers and/or travel, separated by |"},
    "aggregate": {"bin": "time bin", "min_count": "suppress smaller counts", "epsilon": "DP budget",
                  "delta": "Gaussian δ", "mechanism": "laplace|gaussian", "max_cells": "cells per user bound"},
}


@dataclass(frozen=True)
class Strategy:
    name: str
    params: dict

    @property
    def label(self) -> str:
        shown = {k: ("***" if k == "key" else v) for k, v in self.params.items()}
        return self.name + (":" + ",".join(f"{k}={v}" for k, v in shown.items()) if shown else "")


def _value(text: str):
    t = text.strip()
    if re.fullmatch(r"-?\d+", t):
        return int(t)
    if re.fullmatch(r"-?(\d+\.\d*|\.\d+|\d+)(e-?\d+)?", t, flags=re.I):
        return float(t)
    return t


def parse_strategy(spec: str) -> Strategy:
    """``generalize-space:level=district`` → Strategy("generalize-space", {"level": "district"})."""
    name, _, rest = str(spec).strip().partition(":")
    name = name.strip().lower()
    if name not in NAMES:
        raise UsageError(f"Unknown strategy {name!r}; strategies are {', '.join(NAMES)}.")
    params = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        k, eq, v = item.partition("=")
        k = k.strip()
        if not eq or not k:
            raise UsageError(f"Strategy '{name}': parameter {item!r} must be key=value.")
        if k not in PARAMS[name]:
            allowed = ", ".join(PARAMS[name]) or "none"
            raise UsageError(f"Strategy '{name}' has no parameter {k!r} (parameters: {allowed}).")
        if k in params:
            raise UsageError(f"Strategy '{name}': parameter {k!r} is given twice.")
        params[k] = _value(v) if k != "key" else v
    return Strategy(name, params)


def district_hierarchy(cells: pd.DataFrame) -> pd.DataFrame:
    """district → province → * (levels 0, 1, 2): the districts of the cells table, and the shipped
    district table's (home districts need not have a cell of the network)."""
    from synthetic.geography import load_districts

    h = pd.concat([cells[["district", "province"]], load_districts()[["district", "province"]]])
    h = h.astype(str).drop_duplicates(subset=["district"]).sort_values("district")
    return pd.DataFrame({0: h["district"].to_numpy(), 1: h["province"].to_numpy(), 2: "*"})


def _generalize_qi(rel: Release, params: dict) -> Release:
    from .tabular import generalize_qi

    if rel.qi is None:
        raise UsageError("Strategy 'generalize-qi' needs the subscribers' quasi-identifiers; none are left.")
    qi = rel.qi.copy()
    bands, hier, levels = {}, {}, {}
    age = params.get("age", 10)
    if age == "*":
        qi["age"] = "*"
    elif age:
        if not isinstance(age, int) or age < 1:
            raise UsageError(f"Parameter `age` must be a band width in years (≥ 1) or *. Got {age!r} instead.")
        bands["age"] = age
    hd = params.get("home_district")
    if hd is not None:
        if hd not in ("province", "*"):
            raise UsageError(f"Parameter `home_district` must be province or *. Got {hd!r} instead.")
        hier["home_district"] = district_hierarchy(rel.cells)
        levels["home_district"] = 1 if hd == "province" else 2
    g = params.get("gender")
    if g is not None:
        if g != "*":
            raise UsageError(f"Parameter `gender` can only be *. Got {g!r} instead.")
        qi["gender"] = "*"
    out = generalize_qi(qi, bands=bands or None, hierarchies=hier or None, levels=levels or None)
    return rel.evolve(Strategy("generalize-qi", params).label, qi=out)


def _kanon(rel: Release, params: dict) -> Release:
    from .tabular import mondrian

    if rel.qi is None:
        raise UsageError("Strategy 'kanon' needs the subscribers' quasi-identifiers; none are left.")
    k = params.get("k", 10)
    if not isinstance(k, int) or k < 1:
        raise UsageError(f"Parameter `k` must be a positive integer. Got {k!r} instead.")
    budget = float(params.get("suppression", 0.05))
    if not 0 <= budget <= 1:
        raise UsageError(f"Parameter `suppression` must be a share in [0, 1]. Got {budget!r} instead.")
    qi = rel.qi
    numeric = ["age"] if pd.api.types.is_numeric_dtype(qi["age"]) else []
    res = mondrian(qi, ["gender", "age", "home_district"], k,
                   hierarchies={"home_district": district_hierarchy(rel.cells)}, max_suppression=budget,
                   numeric=numeric)
    return rel.evolve(Strategy("kanon", {"k": k, "suppression": budget}).label, qi=res.table.reset_index(drop=True))


def apply_strategies(release: Release, strategies, *, seed: int = 0,
                     key: ReleaseKey | bytes | None = None) -> Release:
    """Apply ``strategies`` (specs or ``Strategy``) in order; returns the transformed ``Release``, which
    carries ``key`` and ``seed`` to ``Release.publish``.

    ``key``: a ``reidcheck.secrets.ReleaseKey`` (or bytes) from which every pseudonym and random draw is
    derived, mixed with ``seed`` (a non-negative integer, public). None: a fresh 256-bit key from the
    OS, so the release cannot be reproduced unless that key is kept (``Published.write`` stores it in
    ``<out>.KEY-SECRET``). For outputs that are not real releases use
    ``reidcheck.secrets.key_from_seed(seed)``."""
    key = as_release_key(key)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UsageError(f"The seed must be a non-negative integer. Got {seed!r} instead.")
    rel = replace(release, key=key, seed=int(seed))
    chosen = [s if isinstance(s, Strategy) else parse_strategy(s) for s in strategies]
    pseud = [s for s in chosen if s.name in PSEUDONYMS]
    if len(pseud) > 1:
        raise UsageError("Give at most one pseudonymization strategy (hash, hmac, token or rotate).")
    if pseud and any(s.name == "aggregate" for s in chosen):
        raise UsageError(f"Strategy '{pseud[0].name}' makes no sense with 'aggregate': an aggregate has no pid.")
    for i, s in enumerate(chosen):
        rng = key.rng(f"strategy/{i}", seed)
        p = dict(s.params)
        if s.name in PSEUDONYMS:
            if p.get("counterparts", "drop") not in ("drop", "pseudonymize"):
                raise UsageError(f"Parameter `counterparts` must be drop or pseudonymize. Got {p['counterparts']!r} "
                                 "instead.")
            if "key" in p:
                p["hmac_key"] = str(p.pop("key")).encode()
            rel = rel.evolve(s.label if s.name != "hmac" else Strategy("hmac", {k: v for k, v in s.params.items()
                                                                                 if k != "key"}).label,
                             pseudonym={"method": s.name, **p})
        elif s.name == "generalize-space":
            rel = generalize_space(rel, **p)
        elif s.name == "generalize-time":
            rel = generalize_time(rel, **p)
        elif s.name == "generalize-qi":
            rel = _generalize_qi(rel, p)
        elif s.name == "suppress":
            rel = suppress(rel, **p)
        elif s.name == "topn":
            rel = topn(rel, **p)
        elif s.name == "geo-noise":
            rel = geo_noise(rel, **p, rng=rng)
        elif s.name == "jitter":
            rel = jitter(rel, **p, rng=rng)
        elif s.name == "subsample":
            rel = subsample(rel, **p, rng=rng)
        elif s.name == "kanon":
            rel = _kanon(rel, p)
        elif s.name == "aggregate":
            rel = aggregate(rel, **p, rng=rng)
        elif s.name == "drop":
            names = [t.strip() for t in str(p.get("tables", "")).split("|") if t.strip()]
            if not names or set(names) - {"subscribers", "travel"}:
                raise UsageError(f"Strategy 'drop' takes tables=subscribers|travel. Got {p.get('tables')!r} instead.")
            rel = rel.evolve(s.label, **{("qi" if n == "subscribers" else n): None for n in names})
    return rel
