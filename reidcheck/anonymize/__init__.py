"""Anonymization strategies: seeded transforms of canonical tables into a release and its truth map.

One module per family. So far: ``pseudonymize`` (unsalted hash, keyed hash, random tokens, tokens
rotated per period).
"""

from .pseudonymize import METHODS, Pseudonymized, pseudonymize

__all__ = ["METHODS", "Pseudonymized", "pseudonymize"]
