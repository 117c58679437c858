"""Attacks: each returns an ``AttackResult`` (``reidcheck.result``)."""

from .trajectory import RULES, HomeWork, TopN, Unicity, unicity_curve

__all__ = ["RULES", "HomeWork", "TopN", "Unicity", "unicity_curve"]
