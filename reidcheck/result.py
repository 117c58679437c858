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
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        d.update(extra)
        return d

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)
