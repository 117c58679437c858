"""Travel linkage: uniqueness of people in a release of trips, given a few of their trips.

A *point* is a (country, month) pair: the month is a time bin of 31 days on a month index (year·12 +
month − 1), the country a place code; the adversary knows ``known_trips`` of a traveller's distinct
pairs (e.g. from public posts). Draws, matching, skipped targets and rates are those of
``trajectory.Unicity`` (``unique_rate`` = travellers whose known trips only they made / scored
travellers; ``baseline_rate`` = 1 / travellers of the release).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..result import AttackResult
from ..rules import rule_id
from .trajectory import Unicity

MONTH_S = 31 * 86_400


def _events(engine, df: pd.DataFrame, relation: str):
    """Trips → a registered ``events`` relation (uid, t = month index · 31 days, place = country code),
    and the release's pseudonym labels (uid i is label i) for ``relation == "release"``."""
    from ..io import load_trajectories

    missing = [c for c in ("pid", "country", "month") if c not in df.columns]
    if missing:
        raise UsageError(f"The trips table needs a '{missing[0]}' column.")
    month = pd.to_datetime(df["month"].astype(str), format="mixed")
    index = (month.dt.year * 12 + month.dt.month - 1).to_numpy(np.int64)
    country = df["country"].astype(str).to_numpy()
    code = np.array([int.from_bytes(c.upper().encode()[:3].ljust(3, b"\0"), "big") for c in country], np.int64)
    ids = pd.factorize(df["pid"].astype(str), sort=True) if relation == "release" else None
    uid = ids[0] if ids is not None else df["pid"].astype(np.int64).to_numpy()
    frame = pd.DataFrame({"subscriber_id": uid.astype(np.int64), "timestamp": index * MONTH_S, "cell_id": code})
    return (load_trajectories(engine, frame, utc_offset_h=0, relation=relation), (ids[1] if ids else None))


@dataclass(frozen=True, kw_only=True)
class TravelLinkage:
    """``known_trips`` (1–10) trips known per target; ``targets`` travellers drawn by seeded hash (or
    ``"all"``); ``seed`` of the draws.

    ``run(engine, trips, *, knowledge=None, truth=None)``: ``trips`` is the release, a DataFrame with
    columns ``pid``, ``country`` and ``month`` (``YYYY-MM`` or a date). With ``knowledge`` (the same
    columns, keyed by true id in ``pid``) and ``truth`` (``pid``, ``uid``), correct
    re-identifications are scored.
    """

    known_trips: int = 1
    targets: int | str | None = "all"
    seed: int = 0

    def _unicity(self) -> Unicity:
        return Unicity(points=self.known_trips, time_bin=f"{MONTH_S}s", space="cell", targets=self.targets,
                       seed=self.seed)

    def validate(self) -> None:
        try:
            self._unicity().validate()
        except UsageError as exc:   # name our parameter, not Unicity's
            raise UsageError(str(exc).replace("`points`", "`known_trips`")) from None

    def params(self) -> dict:
        return dict(self._unicity().params(), known_trips=self.known_trips, time_bin="month", space="country")

    def run(self, engine, release: pd.DataFrame, *, knowledge: pd.DataFrame | None = None,
            truth: pd.DataFrame | None = None) -> AttackResult:
        self.validate()
        if (knowledge is None) != (truth is None):
            raise UsageError("Scoring correct re-identifications needs both `knowledge` and `truth`.")
        rel, labels = _events(engine, release, "release")
        attack = self._unicity()
        if knowledge is not None:
            kin, _ = _events(engine, knowledge, "knowledge")
            pid_code = {str(v): i for i, v in enumerate(labels)}
            t = pd.DataFrame({"pid": truth["pid"].astype(str).map(pid_code), "uid": truth["uid"]}).dropna()
            res = attack.run(engine, rel, knowledge=kin, truth=t.astype(np.int64))
        else:
            res = attack.run(engine, rel)
        return replace(res, attack="travel", rule_id=rule_id("travel"), params=self.params())


def travel_linkage(engine, trips: pd.DataFrame, *, known_trips: int = 1, targets="all", seed: int = 0,
                   truth: pd.DataFrame | None = None, knowledge: pd.DataFrame | None = None) -> AttackResult:
    """``TravelLinkage(...).run(engine, trips, knowledge=..., truth=...)`` (kept for callers)."""
    return TravelLinkage(known_trips=known_trips, targets=targets, seed=seed).run(
        engine, trips, knowledge=knowledge, truth=truth)
