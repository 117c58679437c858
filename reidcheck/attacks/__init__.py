"""Attacks: each returns an ``AttackResult`` (``reidcheck.result``)."""

from .trajectory import RULES, HomeWork, TopN, Unicity, known_points_attack, travel_linkage, unicity_curve

__all__ = ["RULES", "HomeWork", "TopN", "Unicity", "known_points_attack", "travel_linkage", "unicity_curve"]
