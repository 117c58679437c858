"""Anonymization strategies: keyed transforms of canonical tables into a release and its truth map.

One module per family: ``pseudonymize`` (unsalted hash, HMAC, tokens, rotated tokens), ``generalize``
(space, time), ``tabular`` (QI generalization, Mondrian k-anonymity, tabular utility), ``suppress``
(rare places, small classes, users with few events, top-N places), ``perturb`` (planar-Laplace
geo-noise, jitter, subsampling), ``aggregate`` (presence counts with suppression and DP noise).
``release`` holds the working tables and their publication; ``strategies`` parses the CLI's
``NAME[:k=v,...]`` and applies a chain. Pseudonyms and random draws come from a release key and the
seed (``reidcheck.secrets``), never from the seed alone.
"""

from .pseudonymize import METHODS, Pseudonymized, pseudonymize
from .release import Published, Release
from .strategies import NAMES, apply_strategies, parse_strategy

__all__ = ["METHODS", "NAMES", "Published", "Pseudonymized", "Release", "apply_strategies", "parse_strategy",
           "pseudonymize"]
