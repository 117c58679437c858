"""A release in the making: the working tables every strategy transforms, and their publication.

A ``Release`` holds, while strategies are applied, the *true* subscriber id of every row (column
``subscriber_id``) and the original row number (``_row``) so that utility can be measured against the
original and attacks scored; ``publish`` replaces the id by a pseudonym ``pid`` and drops every direct
identifier, giving the tables that leave the company plus the secret truth map (``pid`` →
``subscriber_id``), which ``write`` puts in a separate, clearly named file.

Working tables:

* ``events`` — one row per released record: ``subscriber_id``, ``_row``, ``timestamp`` (int64 epoch
  seconds UTC; the *start* of the released interval when time is generalized), ``place`` (Int64 place
  code of the release, NA once coordinates are perturbed), ``lat``/``lon`` (released coordinates:
  the cell, the area's centre, or a noisy position), and the non-identifying CDR columns.
* ``places`` — what each place code stands for: ``place``, ``lat``, ``lon``, ``district``,
  ``province`` (``site_id`` while at cell level). None once coordinates are perturbed.
* ``cell_to_place`` — the deterministic map original cell → released place code (the generalization
  chain), used to express an adversary's knowledge at the release's resolution.
* ``qi`` — the subscribers' quasi-identifiers: ``subscriber_id``, ``gender``, ``age`` (whole years at
  the window's first day), ``home_district``; generalized values are strings.
* ``travel`` — ``subscriber_id``, ``country``, ``month`` (``YYYY-MM`` of departure).
* ``presence`` — set by ``aggregate``: counts per (place, time bin), no person-level rows at all.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import UsageError
from ..schema import TIMESTAMP
from .pseudonymize import pseudonym_codes

CDR_KEEP = ("event_type", "direction", "duration_s")
TRUTH_SUFFIX = ".TRUTH-MAP-SECRET.parquet"


def _age_years(birth: pd.Series, day: pd.Timestamp) -> np.ndarray:
    b = pd.to_datetime(birth)
    before = (b.dt.month > day.month) | ((b.dt.month == day.month) & (b.dt.day > day.day))
    return (day.year - b.dt.year - before.astype(int)).to_numpy(np.int64)


@dataclass(frozen=True)
class Release:
    events: pd.DataFrame | None
    places: pd.DataFrame | None
    cell_to_place: pd.Series | None
    qi: pd.DataFrame | None
    travel: pd.DataFrame | None
    subscribers: pd.DataFrame                      # the originals: needed by hash / hmac pseudonyms
    cells: pd.DataFrame                            # the original cells (for utility and knowledge)
    utc_offset_h: float = 5.0
    space: str = "cell"
    time_bin_s: int | None = None                  # None: exact times
    jitter_s: int = 0                              # ± seconds of temporal noise applied
    noise_epsilon: float | None = None             # per km, when coordinates are perturbed
    sample_rate: float = 1.0                       # share of records (or users) kept by subsampling
    presence: pd.DataFrame | None = None
    pseudonym: dict = field(default_factory=lambda: {"method": "token"})
    steps: tuple = ()

    # ------------------------------------------------------------------------------------------
    @classmethod
    def from_population(cls, pop, table: str = "cdr") -> "Release":
        """Start from a population's canonical tables (``pop`` has ``cells``, ``subscribers``, ``cdr``
        or ``pings``, ``travel``, ``params``)."""
        ev = getattr(pop, table)
        cells = pop.cells.reset_index(drop=True)
        cols = ["subscriber_id", "timestamp", "cell_id"] + [c for c in CDR_KEEP if c in ev.columns]
        events = ev[cols].rename(columns={"cell_id": "place"}).reset_index(drop=True)
        events.insert(1, "_row", np.arange(len(events), dtype=np.int64))
        events["timestamp"] = events["timestamp"].to_numpy(np.int64)
        for c in ("event_type", "direction"):
            if c in events.columns:
                events[c] = events[c].astype("category")
        pos = pd.Series(np.arange(len(cells)), index=cells["cell_id"].to_numpy())
        idx = pos.reindex(events["place"].to_numpy()).to_numpy()
        if np.isnan(idx).any():
            raise UsageError(f"The {table} table has cell ids that are not in the cells table.")
        idx = idx.astype(np.int64)
        events["place"] = events["place"].astype("Int64")
        events["lat"] = cells["lat"].to_numpy()[idx]
        events["lon"] = cells["lon"].to_numpy()[idx]
        places = cells[["cell_id", "site_id", "lat", "lon", "district", "province"]].rename(columns={"cell_id": "place"})
        params = getattr(pop, "params", {}) or {}
        start = pd.Timestamp(params.get("start", "2025-01-06"))
        subs = pop.subscribers
        qi = pd.DataFrame({"subscriber_id": subs["subscriber_id"].to_numpy(np.int64),
                           "gender": subs["gender"].astype(str).to_numpy(),
                           "age": _age_years(subs["birth_date"], start),
                           "home_district": subs["home_district"].astype(str).to_numpy()})
        tr = pop.travel
        travel = pd.DataFrame({"subscriber_id": tr["subscriber_id"].to_numpy(np.int64),
                               "country": tr["country"].astype(str).to_numpy(),
                               "month": pd.to_datetime(tr["depart_date"]).dt.strftime("%Y-%m").to_numpy()})
        return cls(events=events, places=places.reset_index(drop=True),
                   cell_to_place=pd.Series(cells["cell_id"].to_numpy(np.int64), index=cells["cell_id"].to_numpy()),
                   qi=qi, travel=travel, subscribers=subs[["subscriber_id", "msisdn"]], cells=cells,
                   utc_offset_h=float(params.get("utc_offset_h", 5.0)))

    def head_users(self, n: int) -> "Release":
        """The same release restricted to the ``n`` lowest subscriber ids (for dry runs of a plan)."""
        ids = np.sort(self.qi["subscriber_id"].to_numpy())[:n] if self.qi is not None else None

        def keep(df):
            return None if df is None or ids is None else df[df["subscriber_id"].isin(ids)].reset_index(drop=True)

        return replace(self, events=keep(self.events), qi=keep(self.qi), travel=keep(self.travel))

    def evolve(self, step: str, **changes) -> "Release":
        return replace(self, steps=self.steps + (step,), **changes)

    def require_events(self, strategy: str) -> pd.DataFrame:
        if self.events is None:
            raise UsageError(f"Strategy '{strategy}' needs person-level records; it cannot follow 'aggregate'.")
        return self.events

    @property
    def n_users(self) -> int:
        return 0 if self.events is None else int(self.events["subscriber_id"].nunique())

    # ------------------------------------------------------------------------------------------
    def publish(self, seed: int) -> "Published":
        """Pseudonymize every table with the chosen method; return the release tables and truth map.

        ``pid`` columns are categorical (dictionary-encoded in Parquet). With ``rotate`` the event
        table gets a token per subscriber and period; the QI and travel tables, which have no time of
        their own, get independent per-subscriber tokens."""
        p = dict(self.pseudonym)
        method = p.pop("method")
        tables: dict[str, pd.DataFrame] = {}
        if self.presence is not None:  # an aggregate: no person-level table, no pseudonym, no truth map
            tables = {"presence": self.presence, "cells": self.places.rename(columns={"place": "cell_id"})}
            return Published(tables=tables, truth=pd.DataFrame({"pid": [], "subscriber_id": []}),
                             manifest=self._manifest(seed, "none", tables))
        all_ids = np.sort(self.subscribers["subscriber_id"].to_numpy(np.int64))
        base_codes, base_names, base_truth = pseudonym_codes(
            all_ids, None, self.subscribers, method="token" if method == "rotate" else method, seed=seed,
            **({} if method == "rotate" else p))
        truth = [base_truth.assign(table="subscribers,travel" if method == "rotate" else "all")]
        used = np.zeros(len(base_names), bool)
        pid_codes = pid_names = None
        if self.events is not None:
            ev = self.events.drop(columns=["_row", "subscriber_id"])
            uid = self.events["subscriber_id"].to_numpy(np.int64)
            if method == "rotate":
                pid_codes, pid_names, rt = pseudonym_codes(uid, self.events["timestamp"].to_numpy(), method="rotate",
                                                           seed=seed + 1, **p)
                truth.append(rt.assign(table="cdr"))
            else:
                pid_codes, pid_names = np.searchsorted(all_ids, uid), base_names
                used[pid_codes] = True
            ev.insert(0, "pid", pd.Categorical.from_codes(pid_codes, categories=pid_names))
            if self.places is None:
                ev = ev.drop(columns=["place"])
            else:
                ev = ev.rename(columns={"place": "cell_id"})
            tables["cdr"] = ev
        if self.places is not None:
            tables["cells"] = self.places.rename(columns={"place": "cell_id"})
        for name in ("qi", "travel"):
            df = getattr(self, name)
            if df is not None:
                codes = np.searchsorted(all_ids, df["subscriber_id"].to_numpy(np.int64))
                used[codes] = True
                out = df.drop(columns=["subscriber_id"])
                out.insert(0, "pid", pd.Categorical.from_codes(codes, categories=base_names))
                tables["subscribers" if name == "qi" else name] = out
        truth[0] = truth[0][used]
        truth = pd.concat(truth, ignore_index=True)
        return Published(tables=tables, truth=truth, manifest=self._manifest(seed, method, tables),
                         pid_codes=pid_codes, pid_names=pid_names)

    def _manifest(self, seed: int, method: str, tables: dict) -> dict:
        """``release.json``: how the release was made (no secret: an HMAC key is never written)."""
        return {"kind": "reidcheck-release", "version": 1, "seed": seed, "steps": list(self.steps),
                "pseudonym": method, "space": self.space, "time_bin_s": self.time_bin_s,
                "jitter_s": self.jitter_s, "noise_epsilon_per_km": self.noise_epsilon,
                "sample_rate": self.sample_rate, "params": {"utc_offset_h": self.utc_offset_h},
                "rows": {k: int(len(v)) for k, v in tables.items()}}


@dataclass(frozen=True)
class Published:
    """What leaves the company (``tables``, ``manifest``) and what must not (``truth``). For the
    event table, ``pid_codes`` (int per row) index ``pid_names``: the pseudonyms without strings."""

    tables: dict
    truth: pd.DataFrame
    manifest: dict
    pid_codes: np.ndarray | None = None
    pid_names: np.ndarray | None = None

    def write(self, out: Path, truth_path: Path | None = None, overwrite: bool = False) -> Path:
        """Write the tables (Parquet) and ``release.json`` to ``out`` (built in a temporary sibling,
        renamed when complete) and the truth map to ``truth_path`` (default: ``<out>`` +
        ``.TRUTH-MAP-SECRET.parquet`` beside, never inside, the release). Returns the truth map path,
        or None for an aggregate (no pseudonyms, nothing to map)."""
        out = Path(out)
        truth_path = Path(truth_path) if truth_path else out.parent / (out.name + TRUTH_SUFFIX)
        if truth_path.resolve().is_relative_to(out.resolve()):
            raise UsageError(f"The truth map '{truth_path}' must not be written inside the release '{out}'.")
        if out.exists() and any(out.iterdir()) and not overwrite:
            raise UsageError(f"Output directory '{out}' is not empty (use --overwrite to replace it).")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            for name, df in self.tables.items():
                pq.write_table(_arrow(df), tmp / f"{name}.parquet", compression="zstd")
            (tmp / "release.json").write_text(json.dumps(self.manifest, indent=2) + "\n")
            has_truth = "presence" not in self.tables
            t_tmp = truth_path.parent / f".{truth_path.name}.tmp"
            if has_truth:
                pq.write_table(pa.Table.from_pandas(self.truth, preserve_index=False), t_tmp)
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
            if has_truth:
                os.replace(t_tmp, truth_path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return truth_path if has_truth else None


def _arrow(df: pd.DataFrame) -> pa.Table:
    """Timestamps (int64 epoch seconds) become ``timestamp[s, UTC]``; the rest as pandas gives it."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if "timestamp" in df.columns:
        i = table.schema.get_field_index("timestamp")
        table = table.set_column(i, "timestamp",
                                 pa.array(df["timestamp"].to_numpy(np.int64), pa.int64()).cast(TIMESTAMP))
    return table
