"""A release in the making: the working tables every strategy transforms, and their publication.

A ``Release`` holds, while strategies are applied, the *true* subscriber id of every row (column
``subscriber_id``) and the original row number (``_row``) so that utility can be measured against the
original and attacks scored; ``publish`` replaces the id by a pseudonym ``pid`` and drops every direct
identifier, giving the tables that leave the company plus the secret truth map (``pid`` →
``subscriber_id``), which ``write`` puts in a separate, clearly named file.

Pseudonyms and noise come from the release's key and seed (``reidcheck.secrets``), carried from
``apply_strategies`` to ``publish``. ``release.json`` carries neither: only the steps and their public
parameters, row counts and where the key came from (``"key": "secret (not in the release)"``, or
``"derived from the seed; not a real release"``). Secret sidecars beside the release (mode 0600, never
inside it): the truth map ``<out>.TRUTH-MAP-SECRET.parquet`` and, when the key was freshly generated,
the key ``<out>.KEY-SECRET`` (hex text; pass it to ``--key-file`` to reproduce the release).

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
from ..secrets import ReleaseKey, as_release_key, commit_secret, read_key_file, refuse_symlink, stage_secret
from .pseudonymize import pseudonym_codes

CDR_KEEP = ("event_type", "direction", "duration_s")
TRUTH_SUFFIX = ".TRUTH-MAP-SECRET.parquet"
KEY_SUFFIX = ".KEY-SECRET"


def truth_sidecar(out) -> Path:
    """Default truth-map path of release directory ``out``: ``<out>.TRUTH-MAP-SECRET.parquet`` beside it."""
    out = Path(out)
    return out.parent / (out.name + TRUTH_SUFFIX)


def key_sidecar(out) -> Path:
    """Key path of release directory ``out``: ``<out>.KEY-SECRET`` beside it."""
    out = Path(out)
    return out.parent / (out.name + KEY_SUFFIX)


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
    key: ReleaseKey | None = None                  # set by apply_strategies; never published
    seed: int = 0                                  # mixed with the key; never published
    #: the counterpart of each original event row (indexed by ``events["_row"]``) as the digits of its
    #: E.164 number, −1 where there is none (data sessions); never published as such
    counterparts: np.ndarray | None = None

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
                   utc_offset_h=float(params.get("utc_offset_h", 5.0)),
                   counterparts=_number_digits(ev["counterpart_msisdn"]) if "counterpart_msisdn" in ev.columns
                   else None)

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
    def publish(self, *, key: ReleaseKey | bytes | None = None, seed: int | None = None) -> "Published":
        """Pseudonymize every table with the chosen method; return the release tables and truth map.

        ``key`` and ``seed`` default to those ``apply_strategies`` used (a release made from one
        key and seed must be published with them; a different one is refused); a release that never
        went through ``apply_strategies`` gets a fresh key unless one is given. ``pid`` columns are
        categorical (dictionary-encoded in Parquet) with the pseudonyms in sorted order, so the
        dictionary says nothing about subscriber ids. With ``rotate`` the event table gets a token
        per subscriber and period; the QI and travel tables, which have no time of their own, get
        independent per-subscriber tokens."""
        if key is not None and self.key is not None and as_release_key(key).material != self.key.material:
            raise UsageError("publish: this release was made with another key (give the same key, or none).")
        if seed is not None and self.key is not None and int(seed) != self.seed:
            raise UsageError(f"publish: this release was made with seed {self.seed}, not {seed}.")
        key = self.key if self.key is not None else as_release_key(key)
        seed = self.seed if self.key is not None or seed is None else int(seed)
        p = dict(self.pseudonym)
        method = p.pop("method")
        counterparts = p.pop("counterparts", "drop")
        tables: dict[str, pd.DataFrame] = {}
        if self.presence is not None:  # an aggregate: no person-level table, no pseudonym, no truth map
            tables = {"presence": self.presence, "cells": self.places.rename(columns={"place": "cell_id"})}
            return Published(tables=tables, truth=pd.DataFrame({"pid": [], "subscriber_id": []}),
                             manifest=self._manifest(key, "none", tables), key=key)
        all_ids = np.sort(self.subscribers["subscriber_id"].to_numpy(np.int64))
        base_codes, base_names, base_truth = pseudonym_codes(
            all_ids, None, self.subscribers, method="token" if method == "rotate" else method, key=key, seed=seed,
            **({} if method == "rotate" else p))
        base_rank, base_sorted = _sorted_categories(base_names)
        truth = [base_truth.assign(table="subscribers,travel" if method == "rotate" else "all")]
        used = np.zeros(len(base_names), bool)
        pid_codes = pid_names = None
        if self.events is not None:
            ev = self.events.drop(columns=["_row", "subscriber_id"])
            uid = self.events["subscriber_id"].to_numpy(np.int64)
            times = self.events["timestamp"].to_numpy()
            cp_uid = cp_off = None
            if counterparts == "pseudonymize" and self.counterparts is not None:
                cp_uid, cp_off = self._counterpart_ids()
            n_ev = len(uid)
            if method == "rotate":
                # one rotation over the records' own (subscriber, period) and their in-network counterparts'
                # (a counterpart gets the token its subscriber has in that period), so the truth map holds both
                both = uid if cp_uid is None else np.concatenate([uid, cp_uid[cp_uid >= 0]])
                t_both = times if cp_uid is None else np.concatenate([times, times[cp_uid >= 0]])
                codes, names, rt = pseudonym_codes(both, t_both, method="rotate", key=key, seed=seed, **p)
                rank, pid_names = _sorted_categories(names)
                pid_codes = rank[codes[:n_ev]]
                cp_names = pid_names[rank[codes[n_ev:]]] if cp_uid is not None else None
                truth.append(rt.assign(table="cdr"))
            else:
                codes = np.searchsorted(all_ids, uid)
                used[codes] = True
                pid_codes, pid_names = base_rank[codes], base_sorted
                cp_names = None
                if cp_uid is not None:
                    known = cp_uid >= 0
                    cp_codes = np.searchsorted(all_ids, cp_uid[known])
                    used[cp_codes] = True
                    cp_names = base_names[cp_codes]
            ev.insert(0, "pid", pd.Categorical.from_codes(pid_codes, categories=pid_names))
            if cp_uid is not None:
                ev.insert(1, "counterpart_pid", self._counterpart_column(cp_uid, cp_off, cp_names, key, seed))
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
                out.insert(0, "pid", pd.Categorical.from_codes(base_rank[codes], categories=base_sorted))
                tables["subscribers" if name == "qi" else name] = out
        truth[0] = truth[0][used]
        truth = pd.concat(truth, ignore_index=True)
        return Published(tables=tables, truth=truth, manifest=self._manifest(key, method, tables),
                         pid_codes=pid_codes, pid_names=pid_names, key=key)

    def _counterpart_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Per event row: the counterpart's subscriber id (−1 when off-network or none) and the
        off-network number's digits (−1 when in-network or none)."""
        digits = self.counterparts[self.events["_row"].to_numpy(np.int64)]
        subs = self.subscribers
        own = pd.Series(subs["subscriber_id"].to_numpy(np.int64), index=_number_digits(subs["msisdn"]))
        own = own[~own.index.duplicated()]
        sid = own.reindex(digits).to_numpy()
        inside = ~np.isnan(sid)
        cp_uid = np.where(inside, np.nan_to_num(sid, nan=-1), -1).astype(np.int64)
        cp_off = np.where(~inside & (digits >= 0), digits, -1)
        return cp_uid, cp_off

    @staticmethod
    def _counterpart_column(cp_uid, cp_off, in_names, key: ReleaseKey, seed: int) -> pd.Categorical:
        """``counterpart_pid``: the in-network counterpart's own pseudonym (``in_names``, in row order of
        the in-network rows), a keyed token for an off-network number, missing for none. Categories
        sorted, so the dictionary says nothing of the numbers."""
        out = np.full(len(cp_uid), None, dtype=object)
        out[cp_uid >= 0] = in_names
        off = cp_off >= 0
        if off.any():
            numbers, inv = np.unique(cp_off[off], return_inverse=True)
            out[off] = key.tokens("counterpart", seed, numbers)[inv]
        cats = np.unique(out[out != None].astype(str)) if (out != None).any() else np.array([], dtype=object)  # noqa: E711
        return pd.Categorical(out, categories=cats)

    def _manifest(self, key: ReleaseKey, method: str, tables: dict) -> dict:
        """``release.json``: how the release was made — the steps and their public parameters. No seed,
        no key, nothing from which a pseudonym or a noise draw could be recomputed; ``key`` says
        where the key came from."""
        return {"kind": "reidcheck-release", "version": 2, "key": key.manifest_entry, "steps": list(self.steps),
                "pseudonym": method, "counterparts": self.pseudonym.get("counterparts", "drop")
                if self.events is not None else None, "space": self.space, "time_bin_s": self.time_bin_s,
                "jitter_s": self.jitter_s, "noise_epsilon_per_km": self.noise_epsilon,
                "sample_rate": self.sample_rate, "params": {"utc_offset_h": self.utc_offset_h},
                "rows": {k: int(len(v)) for k, v in tables.items()}}


def _number_digits(numbers: pd.Series) -> np.ndarray:
    """Phone numbers as the int64 of their digits (E.164 has at most 15), −1 where missing."""
    d = pd.Series(numbers).astype("string").str.replace(r"\D", "", regex=True)
    d = d.where(d.str.len().between(1, 18))
    return pd.to_numeric(d, errors="coerce").fillna(-1).to_numpy(np.int64)


def _sorted_categories(names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(new code of each old code, names sorted): categories in pseudonym order, not id order."""
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names), dtype=np.int64)
    return rank, names[order]


@dataclass(frozen=True)
class Published:
    """What leaves the company (``tables``, ``manifest``) and what must not (``truth``, ``key``). For the
    event table, ``pid_codes`` (int per row) index ``pid_names``: the pseudonyms without strings."""

    tables: dict
    truth: pd.DataFrame
    manifest: dict
    pid_codes: np.ndarray | None = None
    pid_names: np.ndarray | None = None
    key: ReleaseKey | None = None

    @property
    def writes_key(self) -> bool:
        """True when ``write`` stores the key beside the release (a fresh key: nobody else has it)."""
        return self.key is not None and self.key.provenance == "fresh"

    def write(self, out: Path, truth_path: Path | None = None, overwrite: bool = False) -> Path | None:
        """Write the tables (Parquet) and ``release.json`` to ``out``, and the secret sidecars beside it
        (never inside): the truth map at ``truth_path`` (default ``<out>.TRUTH-MAP-SECRET.parquet``) and,
        for a fresh key, the key as hex text at ``<out>.KEY-SECRET``. Sidecars are created with mode 0600
        and a symbolic link at their path is refused; an existing one is replaced only with
        ``overwrite``. All or nothing: everything is written under temporary names, then renamed
        (sidecars first); on any failure nothing new is left. Returns the truth map path, or None for
        an aggregate (no pseudonyms, nothing to map)."""
        out = Path(out)
        truth_path = Path(truth_path) if truth_path else truth_sidecar(out)
        key_path = key_sidecar(out)
        has_truth = "presence" not in self.tables
        secrets = ([(truth_path, "truth map")] if has_truth else []) + ([(key_path, "key")] if self.writes_key else [])
        for path, what in secrets:
            if path.resolve().is_relative_to(out.resolve()):
                raise UsageError(f"The {what} '{path}' must not be written inside the release '{out}'.")
            refuse_symlink(path)
        if out.exists() and any(out.iterdir()) and not overwrite:
            raise UsageError(f"Output directory '{out}' is not empty (use --overwrite to replace it).")
        for path, what in secrets:
            if path.exists() and not overwrite:
                raise UsageError(f"The {what} '{path}' already exists (use --overwrite to replace it).")
        stale = []  # with overwrite: sidecars of the replaced release that do not belong to this one
        if overwrite:
            if not has_truth and truth_path.is_file():
                stale.append(truth_path)
            if not self.writes_key and key_path.is_file() and not self._holds_key(key_path):
                stale.append(key_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        staged, placed = [], []
        try:
            for name, df in self.tables.items():
                pq.write_table(_arrow(df), tmp / f"{name}.parquet", compression="zstd")
            (tmp / "release.json").write_text(json.dumps(self.manifest, indent=2) + "\n")
            if has_truth:
                truth = pa.Table.from_pandas(self.truth, preserve_index=False)
                staged.append((stage_secret(truth_path, lambda f: pq.write_table(truth, f)), truth_path))
            if self.writes_key:
                staged.append((stage_secret(key_path, (self.key.hex() + "\n").encode()), key_path))
            for t, path in staged:
                commit_secret(t, path)
                placed.append(path)
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            for t, _ in staged:
                Path(t).unlink(missing_ok=True)
            for path in placed:
                path.unlink(missing_ok=True)
            raise
        for path in stale:
            path.unlink(missing_ok=True)
        return truth_path if has_truth else None

    def _holds_key(self, path: Path) -> bool:
        try:
            return self.key is not None and read_key_file(path) == self.key.material
        except UsageError:
            return False


def _arrow(df: pd.DataFrame) -> pa.Table:
    """Timestamps (int64 epoch seconds) become ``timestamp[s, UTC]``; the rest as pandas gives it."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if "timestamp" in df.columns:
        i = table.schema.get_field_index("timestamp")
        table = table.set_column(i, "timestamp",
                                 pa.array(df["timestamp"].to_numpy(np.int64), pa.int64()).cast(TIMESTAMP))
    return table
