"""``AttackResult``: the immutable outcome of one attack run, and its JSON form (DESIGN.md)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AttackResult:
    """Counts behind every rate are kept, so any figure can be recomputed.

    ``n_targets``: targets scored (the denominator of every rate); ``n_skipped``: targets drawn but
    not scorable (e.g. fewer distinct points than the adversary knows), reported, never dropped
    silently; ``n_unique``: targets whose anonymity set has size 1; ``n_correct``: unique *and* the
    single match is the true person (None without a truth map).

    ``n_candidates``: the people (or records) the adversary chooses among — e.g. the users of the
    release for a trajectory attack, the release's records for a linkage; ``baseline_rate``: the
    chance that a uniformly random guess among them is the target, 1 / ``n_candidates`` — what
    ``correct_rate`` must beat for the attack to have learnt anything. Both are None where no such
    guess is meaningful (attribute disclosure such as l-diversity and t-closeness, enumeration of
    pseudonyms).
    """

    attack: str
    rule_id: str
    engine: str
    seed: int | None
    params: dict
    n_targets: int
    n_skipped: int
    n_unique: int
    n_correct: int | None
    unique_rate: dict | None
    correct_rate: dict | None
    anonymity_set: dict | None
    elapsed_s: float
    n_candidates: int | None = None
    baseline_rate: float | None = None
    extra: dict = field(default_factory=dict)

    @staticmethod
    def baseline(n_candidates: int | None) -> float | None:
        """1 / ``n_candidates`` (None when there is no candidate)."""
        return 1.0 / n_candidates if n_candidates else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        d.update(extra)
        return d

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)
