"""Attacks: each is a keyword-only frozen dataclass of parameters with ``validate()``, ``params()`` and
``run(engine, release, *, knowledge=None, truth=None)``, returning an ``AttackResult``
(``reidcheck.result``); ``UnicityCurve`` returns one per point of its curves.

What ``release`` is: an ``io.TrajectoryInput`` (trajectory attacks), an ``inputs.TableInput``
(tabular checks), an ``inputs.PseudonymInput`` (hash reversal), a DataFrame (linkage: the released
table; travel: the trips), an ``attacks.callgraph.CallTable`` (call graph) or an ``anonymize.release.Release`` (aggregate exposure).
"""

from .aggregate import AggregateExposure
from .callgraph import CallGraphLinkage, CallTable
from .inputs import PseudonymInput, TableInput
from .linkage import Linkage
from .membership import MembershipInference
from .profile import ProfileLinkage
from .pseudonyms import HashReversal, reverse_plan_slice
from .recovery import TrajectoryRecovery
from .tabular import KAnonymity, LDiversity, PopulationRisk, TCloseness
from .trajectory import (HomeWork, KnownPoints, TopN, Unicity, UnicityCurve, known_points_attack,
                         unicity_curve)
from .travel import TravelLinkage, travel_linkage

__all__ = ["AggregateExposure", "CallGraphLinkage", "CallTable", "HashReversal", "HomeWork", "KAnonymity", "KnownPoints", "LDiversity",
           "Linkage", "MembershipInference", "PopulationRisk", "ProfileLinkage", "PseudonymInput", "TCloseness", "TableInput", "TopN", "TrajectoryRecovery", "TravelLinkage",
           "Unicity", "UnicityCurve", "known_points_attack", "reverse_plan_slice", "travel_linkage",
           "unicity_curve"]
