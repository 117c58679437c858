"""Attacks: each is a keyword-only frozen dataclass of parameters with ``validate()``, ``params()`` and
``run(engine, release, *, knowledge=None, truth=None)``, returning an ``AttackResult``
(``reidcheck.result``); ``UnicityCurve`` returns one per point of its curves.

What ``release`` is: an ``io.TrajectoryInput`` (trajectory attacks), an ``inputs.TableInput``
(tabular checks), an ``inputs.PseudonymInput`` (hash reversal), a DataFrame (linkage: the released
table; travel: the trips), an ``attacks.callgraph.CallTable`` (call graph) or an ``anonymize.release.Release`` (aggregate exposure).
"""

import importlib

#: Where each public name lives; imported on first use (PEP 562), so that a command running one
#: attack does not import every attack's dependencies (scipy.stats alone takes about a second).
_WHERE = {
    "AggregateExposure": "aggregate", "CallGraphLinkage": "callgraph", "CallTable": "callgraph",
    "PseudonymInput": "inputs", "TableInput": "inputs", "Linkage": "linkage",
    "MembershipInference": "membership", "ProfileLinkage": "profile", "HashReversal": "pseudonyms",
    "reverse_plan_slice": "pseudonyms", "TrajectoryRecovery": "recovery", "KAnonymity": "tabular",
    "LDiversity": "tabular", "PopulationRisk": "tabular", "TCloseness": "tabular", "HomeWork": "trajectory",
    "KnownPoints": "trajectory", "TopN": "trajectory", "Unicity": "trajectory", "UnicityCurve": "trajectory",
    "known_points_attack": "trajectory", "unicity_curve": "trajectory", "TravelLinkage": "travel",
    "travel_linkage": "travel",
}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))


__all__ = sorted(_WHERE)
