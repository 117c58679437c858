"""Pseudonymization: replace the subscriber id with a pseudonym ``pid``.

* ``hash``: unsalted hash of the subscriber's MSISDN (``algorithm``, written ``form``) — the bad
  practice, kept to demonstrate that it is reversible (``reidcheck.attacks.pseudonyms``);
* ``hmac``: keyed hash (HMAC) of the MSISDN. Without ``key`` the key is derived from the seed, which
  makes runs reproducible but is *not* a secret: a real release must pass a secret key;
* ``token``: a random 16-hex-digit token per subscriber;
* ``rotate``: a random token per subscriber and period (``period`` = ``month``, ``week`` or ``day`` of
  the event's UTC time), so records of different periods cannot be linked through the pseudonym.

The truth map (``pid`` → ``subscriber_id``, plus ``period`` for ``rotate``) is returned separately; the
release never carries the subscriber id, MSISDN, CNIC or name.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..numbering import FORMS, written
from ..schema import DIRECT_IDENTIFIERS

METHODS = ("hash", "hmac", "token", "rotate")
PERIODS = {"day": 86_400, "week": 7 * 86_400}


@dataclass(frozen=True)
class Pseudonymized:
    release: pd.DataFrame
    truth: pd.DataFrame


def _tokens(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 16-hex-digit tokens."""
    out: set[int] = set()
    values = []
    while len(values) < n:
        for v in rng.integers(0, 2**63, size=n - len(values), dtype=np.int64).tolist():
            if v not in out:
                out.add(v)
                values.append(v)
    return np.array([f"{v:016x}" for v in values], dtype=object)


def _period(ts: np.ndarray, period: str) -> np.ndarray:
    if period == "month":
        d = pd.to_datetime(ts, unit="s", utc=True)
        return (d.year * 12 + d.month - 1).to_numpy(np.int64)
    return (np.asarray(ts, dtype=np.int64) // PERIODS[period]).astype(np.int64)


def pseudonym_codes(ids: np.ndarray, times: np.ndarray | None = None, subscribers: pd.DataFrame | None = None, *,
                    method: str = "token", seed: int = 0, key: bytes | None = None, algorithm: str = "sha256",
                    form: str = "e164", period: str = "month") -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Pseudonyms as codes: (code per row, pseudonym of each code, truth map ``pid``, ``subscriber_id``
    [, ``period``]). Codes follow the sorted (subscriber id[, period]) order."""
    if method not in METHODS:
        raise UsageError(f"Parameter `method` must be one of {', '.join(METHODS)}. Got {method!r} instead.")
    if algorithm not in ("md5", "sha1", "sha256"):
        raise UsageError(f"Parameter `algorithm` must be md5, sha1 or sha256. Got {algorithm!r} instead.")
    if form not in FORMS:
        raise UsageError(f"Parameter `form` must be one of {', '.join(FORMS)}. Got {form!r} instead.")
    if method == "rotate" and period not in ("month", *PERIODS):
        raise UsageError(f"Parameter `period` must be month, week or day. Got {period!r} instead.")
    ids = np.asarray(ids)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(101,)))
    if method == "rotate":
        if times is None:
            raise UsageError("Method 'rotate' needs the records' times.")
        per = _period(np.asarray(times), period)
        keys = pd.MultiIndex.from_arrays([ids, per])
        codes, uniq = pd.factorize(keys, sort=True)
        names = _tokens(rng, len(uniq))
        truth = pd.DataFrame({"pid": names, "subscriber_id": uniq.get_level_values(0),
                              "period": uniq.get_level_values(1)})
        return codes.astype(np.int64), names, truth
    codes, uniq = pd.factorize(ids, sort=True)
    uniq = np.asarray(uniq)
    if method in ("hash", "hmac"):
        if subscribers is None:
            raise UsageError(f"Method '{method}' hashes phone numbers: pass the subscribers table.")
        numbers = subscribers.set_index("subscriber_id")["msisdn"]
        secret = key if key is not None else np.random.SeedSequence(seed, spawn_key=(102,)).generate_state(
            8, dtype=np.uint32).tobytes()
        texts = [written(numbers[u], form).encode() for u in uniq]
        names = np.array([getattr(hashlib, algorithm)(t).hexdigest() for t in texts] if method == "hash"
                         else [hmac.new(secret, t, algorithm).hexdigest() for t in texts], dtype=object)
    else:
        names = _tokens(rng, len(uniq))
    return codes.astype(np.int64), names, pd.DataFrame({"pid": names, "subscriber_id": uniq})


def pseudonymize(table: pd.DataFrame, subscribers: pd.DataFrame | None = None, *, method: str = "token",
                 seed: int = 0, key: bytes | None = None, algorithm: str = "sha256", form: str = "e164",
                 period: str = "month", id_col: str = "subscriber_id", time_col: str = "timestamp") -> Pseudonymized:
    """Replace ``id_col`` of ``table`` by ``pid``; ``subscribers`` (id → msisdn) is needed for hash/hmac."""
    if id_col not in table.columns:
        raise UsageError(f"The table has no '{id_col}' column to pseudonymize.")
    if method == "rotate" and time_col not in table.columns:
        raise UsageError(f"Method 'rotate' needs the '{time_col}' column.")
    codes, names, truth = pseudonym_codes(
        table[id_col].to_numpy(), table[time_col].to_numpy() if method == "rotate" else None, subscribers,
        method=method, seed=seed, key=key, algorithm=algorithm, form=form, period=period)
    release = table.drop(columns=[c for c in (id_col, *DIRECT_IDENTIFIERS, "cnic") if c in table.columns])
    release.insert(0, "pid", names[codes])
    return Pseudonymized(release=release.reset_index(drop=True), truth=truth.reset_index(drop=True))
