"""The generator: a seeded synthetic population of subscribers with CDR, pings and travel.

Randomness: every draw comes from ``np.random.SeedSequence(seed, spawn_key=(stage, block))``, where a
block is ``BLOCK`` consecutive subscriber ids. The output therefore depends on the seed and the
parameters only — not on ``chunk_size`` (how many subscribers one work unit simulates) nor on the
number of worker processes.

Time: ``start`` is a local (PKT, UTC+5) calendar date; the window runs from local midnight of that
date for ``days`` days. Timestamps are int64 epoch seconds UTC.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
from collections import deque
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from reidcheck.errors import UsageError

from . import activity, identities, mobility, social, travel
from .geography import Geography, build_geography, sample_positions, to_unit_xyz

BLOCK = 2048
LOCAL_UTC_OFFSET_S = 5 * 3600
#: Default subscribers per cell site (3 sectors): ~33 subscribers per sector at every size (see README).
DEFAULT_SUBSCRIBERS_PER_SITE = 100
MAX_SUBSCRIBERS = identities.SERIAL_SPACE // 2
DEFAULT_START = "2025-01-06"
#: Longest window: a block's trace is 2,048 × days × 48 int32 slots (~140 MB at a year).
MAX_DAYS = 366

# Random stream stages.
_GEO, _PEOPLE, _WORK, _OFFNET, _LIFE = range(5)

TABLES = ("cells", "subscribers", "cdr", "pings", "travel")


@dataclass
class Population:
    """The canonical tables of DESIGN.md as pandas DataFrames (timestamps int64 epoch seconds UTC)."""

    cells: pd.DataFrame
    subscribers: pd.DataFrame
    cdr: pd.DataFrame
    pings: pd.DataFrame
    travel: pd.DataFrame
    params: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


#: Bounds of the options that size the work: a network larger than any country's, a pool larger than
#: any machine's, are typing errors, not requests.
MAX_SITES = 1_000_000
MAX_WORKERS = 256


def default_sites(subscribers: int) -> int:
    return max(12, int(round(subscribers / DEFAULT_SUBSCRIBERS_PER_SITE)))


def _parse_start(start) -> dt.date:
    if isinstance(start, dt.datetime):
        return start.date()
    if isinstance(start, dt.date):
        return start
    try:
        return dt.date.fromisoformat(str(start))
    except ValueError:
        raise UsageError(f"Parameter `start` must be a date like 2025-01-06. Got {start!r} instead.") from None


def validate_params(subscribers, days, seed, sites=None, travel_rate=travel.DEFAULT_RATE_PER_YEAR,
                    chunk_size=None, workers=None) -> None:
    def bad(name, value, allowed):
        raise UsageError(f"Parameter `{name}` must be {allowed}. Got {value!r} instead.")

    if not isinstance(subscribers, (int, np.integer)) or not 1 <= subscribers <= MAX_SUBSCRIBERS:
        bad("subscribers", subscribers, f"an integer between 1 and {MAX_SUBSCRIBERS:,}")
    if not isinstance(days, (int, np.integer)) or not 1 <= days <= MAX_DAYS:
        bad("days", days, f"an integer between 1 and {MAX_DAYS}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        bad("seed", seed, "a non-negative integer")
    if sites is not None and (not isinstance(sites, (int, np.integer)) or not 1 <= sites <= MAX_SITES):
        bad("sites", sites, f"an integer between 1 and {MAX_SITES:,} (a real national network has ~55,000)")
    if not 0.0 <= float(travel_rate) <= 12.0:
        bad("travel_rate", travel_rate, "between 0 and 12 departures per subscriber per year")
    if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1):
        bad("chunk_size", chunk_size, "a positive integer")
    if workers is not None and (not isinstance(workers, (int, np.integer)) or not 1 <= workers <= MAX_WORKERS):
        bad("workers", workers, f"an integer between 1 and {MAX_WORKERS}")


def _ignore_interrupts() -> None:
    """Worker processes leave Ctrl-C to the parent (which removes its temporary output and exits 130)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Simulator:
    """Holds the population-wide state (geography, homes, anchors, contacts pool) and simulates
    the life of one block of subscribers at a time (``block``)."""

    def __init__(self, subscribers: int, days: int, seed: int, start=DEFAULT_START, *,
                 sites: int | None = None, travel_rate: float = travel.DEFAULT_RATE_PER_YEAR):
        validate_params(subscribers, days, seed, sites, travel_rate)
        self.n, self.days, self.seed = int(subscribers), int(days), int(seed)
        self.start = _parse_start(start)
        self.sites = int(sites) if sites is not None else default_sites(self.n)
        self.travel_rate = float(travel_rate)
        self.t0 = int(dt.datetime(self.start.year, self.start.month, self.start.day,
                                  tzinfo=dt.timezone.utc).timestamp()) - LOCAL_UTC_OFFSET_S
        self.first_weekday = self.start.weekday()
        self.n_blocks = (self.n + BLOCK - 1) // BLOCK

        self.geo: Geography = build_geography(self.sites, self._ss(_GEO, 0))
        districts = self.geo.districts
        people, lat, lon, dist = [], [], [], []
        start_day = np.datetime64(self.start, "D")
        for b in range(self.n_blocks):
            ids = self._ids(b)
            rng = np.random.default_rng(self._ss(_PEOPLE, b))
            la, lo, d = sample_positions(rng, districts, len(ids))
            serial_seeds = (self._ss(_PEOPLE, 10**9), self._ss(_PEOPLE, 10**9 + 1))
            people.append(identities.draw_identities(rng, ids, d, districts, start_day, serial_seeds))
            lat.append(la), lon.append(lo), dist.append(d)
        subs = pd.concat(people, ignore_index=True)
        home_lat, home_lon = np.concatenate(lat), np.concatenate(lon)
        home_district = np.concatenate(dist)
        home_cell = self.geo.locate(home_lat, home_lon)
        weight = np.bincount(home_cell, minlength=len(self.geo.cells)).astype(float) + 1.0
        self.kernel = mobility.GravityKernel.build(self.geo, weight)

        # Work anchors: most working-age adults (work or study), gravity-distributed from home.
        age, female = subs["_age"].to_numpy(), (subs["gender"] == "F").to_numpy()
        p_work = np.where(age < 25, np.where(female, 0.45, 0.75),
                          np.where(age < 60, np.where(female, 0.30, 0.90), np.where(female, 0.05, 0.35)))
        work_cell = np.full(self.n, -1, dtype=np.int64)
        for b in range(self.n_blocks):
            sl = slice(b * BLOCK, min(self.n, (b + 1) * BLOCK))
            rng = np.random.default_rng(self._ss(_WORK, b))
            has = rng.random(sl.stop - sl.start) < p_work[sl]
            dest = self.kernel.sample(rng, home_cell[sl])
            work_cell[sl] = np.where(has, dest, -1)
        self.home_cell, self.work_cell, self.home_district = home_cell, work_cell, home_district
        # Exploration is drawn to where people live and work (d-EPR relevance n_j = residents + workers).
        weight += np.bincount(work_cell[work_cell >= 0], minlength=len(self.geo.cells))
        self.kernel = mobility.GravityKernel.build(self.geo, weight)

        # Contacts: homes indexed for distance decay; a pool of off-network numbers.
        self.home_xyz = to_unit_xyz(home_lat, home_lon)
        self.home_tree = cKDTree(self.home_xyz)
        order = np.argsort(home_district, kind="stable")
        bounds = np.searchsorted(home_district[order], np.arange(len(districts) + 1))
        self.district_members = [order[bounds[d]:bounds[d + 1]] for d in range(len(districts))]
        self.district_gravity = social.district_gravity(districts)
        rng = np.random.default_rng(self._ss(_OFFNET, 0))
        off_ids = np.arange(self.n, 2 * self.n, dtype=np.int64)
        off_prefix = identities.draw_prefixes(rng, identities.draw_operators(rng, self.n))
        msisdn_all = np.concatenate([subs["_msisdn_num"].to_numpy(),
                                     identities.msisdn_numbers(off_ids, off_prefix,
                                                               self._ss(_PEOPLE, 10**9 + 1))])
        self.msisdn_all = msisdn_all

        subs["home_district"] = districts["district"].to_numpy()[home_district]
        subs["home_cell_id"] = self.geo.cells["cell_id"].to_numpy()[home_cell]
        subs["work_cell_id"] = pd.array(np.where(work_cell >= 0, self.geo.cells["cell_id"].to_numpy()[
            np.maximum(work_cell, 0)], 0), dtype="Int64")
        subs.loc[work_cell < 0, "work_cell_id"] = pd.NA
        self.subscribers = subs[["subscriber_id", "msisdn", "cnic", "name", "gender", "birth_date",
                                 "home_district", "home_cell_id", "work_cell_id", "operator"]]

    # -- helpers -----------------------------------------------------------------------------
    def _ss(self, stage: int, block: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(stage, block))

    def _ids(self, b: int) -> np.ndarray:
        return np.arange(b * BLOCK, min(self.n, (b + 1) * BLOCK), dtype=np.int64)

    @property
    def params(self) -> dict:
        return {"subscribers": self.n, "days": self.days, "seed": self.seed, "start": self.start.isoformat(),
                "sites": self.sites, "cells": len(self.geo.cells), "travel_rate": self.travel_rate,
                "generator": "synthetic " + _version()}

    # -- one block ---------------------------------------------------------------------------
    def block(self, b: int) -> dict[str, pd.DataFrame]:
        """cdr, pings and travel rows of block ``b`` (subscriber ids b*BLOCK ...)."""
        ids = self._ids(b)
        n = len(ids)
        rng = np.random.default_rng(self._ss(_LIFE, b))
        trips = travel.draw_trips(rng, n, self.days, self.travel_rate)
        spd = mobility.SLOTS_PER_DAY
        T = self.days * spd
        a_from = np.where(trips["travels"], np.clip(np.floor(trips["depart"] * spd), 0, T), 0).astype(np.int64)
        a_to = np.where(trips["travels"], np.clip(np.ceil(trips["ret"] * spd), 0, T), 0).astype(np.int64)
        rhythm = mobility.draw_rhythm(rng, n, self.days, self.first_weekday, self.work_cell[ids] >= 0)
        loc = mobility.simulate(rng, self.kernel, self.home_cell[ids], self.work_cell[ids], rhythm,
                                self.days, a_from, a_to)
        contacts = social.draw_contacts(rng, ids, self.home_xyz, self.home_tree, self.home_district,
                                        self.district_members, self.district_gravity, self.n)
        cdr = activity.draw_cdr(rng, loc, contacts, self.days, self.first_weekday)
        pings = activity.draw_pings(rng, loc)
        cell_ids = self.geo.cells["cell_id"].to_numpy()
        cp = cdr["counterpart"]
        cp_str = np.full(len(cp), None, dtype=object)
        has = cp >= 0
        cp_str[has] = identities.format_msisdn(self.msisdn_all[cp[has]])
        cdr_df = pd.DataFrame({
            "subscriber_id": ids[cdr["agent"]],
            "timestamp": self.t0 + cdr["t"],
            "event_type": activity.EVENT_TYPES[cdr["event_type"]],
            "direction": activity.DIRECTIONS[cdr["direction"]],
            "counterpart_msisdn": cp_str,
            "duration_s": cdr["duration_s"].astype(np.int64),
            "cell_id": cell_ids[cdr["cell"]],
        })
        pings_df = pd.DataFrame({
            "subscriber_id": ids[pings["agent"]],
            "timestamp": self.t0 + pings["t"],
            "cell_id": cell_ids[pings["cell"]],
        })
        tr = np.flatnonzero(trips["travels"])
        start_day = np.datetime64(self.start, "D")
        travel_df = pd.DataFrame({
            "subscriber_id": ids[tr],
            "country": travel.DESTINATIONS[trips["country"][tr]],
            "depart_date": start_day + np.floor(trips["depart"][tr]).astype("timedelta64[D]"),
            "return_date": start_day + np.floor(trips["ret"][tr]).astype("timedelta64[D]"),
        })
        return {"cdr": cdr_df, "pings": pings_df, "travel": travel_df}

    def iter_blocks(self, workers: int = 1, chunk_size: int | None = None) -> Iterator[dict[str, pd.DataFrame]]:
        """Blocks in id order. ``chunk_size`` subscribers (rounded up to whole blocks) form one work
        unit; with ``workers`` > 1, units are simulated in forked processes and yielded in order."""
        per_unit = max(1, -(-(chunk_size or 4 * BLOCK) // BLOCK))
        units = [list(range(u, min(u + per_unit, self.n_blocks))) for u in range(0, self.n_blocks, per_unit)]
        if workers <= 1 or len(units) <= 1 or "fork" not in mp.get_all_start_methods():
            for unit in units:
                yield from _run_unit(self, unit)
            return
        global _WORKER_SIM
        _WORKER_SIM = self
        try:
            # At most 2 units per worker in flight, so finished results never pile up in memory
            # while the consumer (the writer) is slower than the workers.
            with mp.get_context("fork").Pool(workers, initializer=_ignore_interrupts) as pool:
                pending: deque = deque()
                todo = iter(units)
                for unit in todo:
                    pending.append(pool.apply_async(_run_unit_in_worker, (unit,)))
                    if len(pending) >= 2 * workers:
                        break
                while pending:
                    result = pending.popleft().get()
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending.append(pool.apply_async(_run_unit_in_worker, (nxt,)))
                    yield from result
        finally:
            _WORKER_SIM = None


_WORKER_SIM: Simulator | None = None


def _run_unit(sim: Simulator, unit: list[int]) -> list[dict[str, pd.DataFrame]]:
    return [sim.block(b) for b in unit]


def _run_unit_in_worker(unit: list[int]) -> list[dict[str, pd.DataFrame]]:
    assert _WORKER_SIM is not None
    return _run_unit(_WORKER_SIM, unit)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("reidcheck")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        return "0+unknown"


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def generate(subscribers: int = 2000, days: int = 7, seed: int = 0, start=DEFAULT_START, *,
             sites: int | None = None, travel_rate: float = travel.DEFAULT_RATE_PER_YEAR,
             chunk_size: int | None = None, workers: int = 1) -> Population:
    """Generate a population in memory and return its canonical tables.

    For large populations prefer :func:`synthetic.write_population`, which streams to disk.
    """
    validate_params(subscribers, days, seed, sites, travel_rate, chunk_size, workers)
    sim = Simulator(subscribers, days, seed, start, sites=sites, travel_rate=travel_rate)
    parts = list(sim.iter_blocks(workers=workers, chunk_size=chunk_size))
    cat = lambda name: pd.concat([p[name] for p in parts], ignore_index=True)  # noqa: E731
    return Population(cells=sim.geo.cells.copy(), subscribers=sim.subscribers.copy(), cdr=cat("cdr"),
                      pings=cat("pings"), travel=cat("travel"), params=sim.params)
