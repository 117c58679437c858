"""Pseudonymization: replace the subscriber id with a pseudonym ``pid``.

Every pseudonym is derived from a release key (``reidcheck.secrets.ReleaseKey``) — never from the
seed alone — so nobody without the key can recompute one:

* ``hash``: unsalted hash of the subscriber's MSISDN (``algorithm``, written ``form``) — the bad
  practice, kept to demonstrate that it is reversible (``reidcheck.attacks.pseudonyms``); it uses no key;
* ``hmac``: keyed hash (HMAC) of the MSISDN, 32/40/64 hex digits. The HMAC key is ``hmac_key`` when
  given, else derived from the release key (``key.derive("hmac")``, without the seed): the same release
  key gives the same pseudonym to a subscriber in every release, which makes releases linkable to each
  other (the point of a stable pseudonym); a fresh key gives pseudonyms nobody can recompute;
* ``token``: 16 hex digits per subscriber, ``HMAC-SHA-256(key.derive("token", seed), id)`` truncated to
  64 bits: a new key or a new seed gives unrelated tokens;
* ``rotate``: a token per subscriber and period (``period`` = ``month``, ``week`` or ``day`` of the
  event's UTC time; label ``rotate/<period>``), so records of different periods cannot be linked
  through the pseudonym.

A token depends on its subscriber (and period) alone, not on the other ids or their order. The truth
map (``pid`` → ``subscriber_id``, plus ``period`` for ``rotate``) is returned separately; the release
never carries the subscriber id, MSISDN, CNIC or name.
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
from ..secrets import ReleaseKey, as_release_key

METHODS = ("hash", "hmac", "token", "rotate")
PERIODS = {"day": 86_400, "week": 7 * 86_400}


@dataclass(frozen=True)
class Pseudonymized:
    release: pd.DataFrame
    truth: pd.DataFrame


def _period(ts: np.ndarray, period: str) -> np.ndarray:
    if period == "month":
        d = pd.to_datetime(ts, unit="s", utc=True)
        return (d.year * 12 + d.month - 1).to_numpy(np.int64)
    return (np.asarray(ts, dtype=np.int64) // PERIODS[period]).astype(np.int64)


def pseudonym_codes(ids: np.ndarray, times: np.ndarray | None = None, subscribers: pd.DataFrame | None = None, *,
                    method: str = "token", key: ReleaseKey | bytes | None = None, seed: int = 0,
                    hmac_key: bytes | None = None, algorithm: str = "sha256", form: str = "e164",
                    period: str = "month") -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Pseudonyms as codes: (code per row, pseudonym of each code, truth map ``pid``, ``subscriber_id``
    [, ``period``]). Codes follow the sorted (subscriber id[, period]) order; the pseudonyms do not
    depend on it. ``key`` (None: a fresh key, so the result cannot be reproduced) and ``seed`` make
    tokens; ``hmac_key`` (bytes) overrides the HMAC key derived from ``key``."""
    if method not in METHODS:
        raise UsageError(f"Parameter `method` must be one of {', '.join(METHODS)}. Got {method!r} instead.")
    if algorithm not in ("md5", "sha1", "sha256"):
        raise UsageError(f"Parameter `algorithm` must be md5, sha1 or sha256. Got {algorithm!r} instead.")
    if form not in FORMS:
        raise UsageError(f"Parameter `form` must be one of {', '.join(FORMS)}. Got {form!r} instead.")
    if method == "rotate" and period not in ("month", *PERIODS):
        raise UsageError(f"Parameter `period` must be month, week or day. Got {period!r} instead.")
    ids = np.asarray(ids)
    release_key = as_release_key(key) if method != "hash" else None
    if method == "rotate":
        if times is None:
            raise UsageError("Method 'rotate' needs the records' times.")
        per = _period(np.asarray(times), period)
        keys = pd.MultiIndex.from_arrays([ids, per])
        codes, uniq = pd.factorize(keys, sort=True)
        u_id, u_per = uniq.get_level_values(0).to_numpy(np.int64), uniq.get_level_values(1).to_numpy(np.int64)
        names = release_key.tokens(f"rotate/{period}", seed, np.column_stack([u_id, u_per]))
        truth = pd.DataFrame({"pid": names, "subscriber_id": u_id, "period": u_per})
        return codes.astype(np.int64), names, truth
    codes, uniq = pd.factorize(ids, sort=True)
    uniq = np.asarray(uniq)
    if method in ("hash", "hmac"):
        if subscribers is None:
            raise UsageError(f"Method '{method}' hashes phone numbers: pass the subscribers table.")
        numbers = subscribers.set_index("subscriber_id")["msisdn"]
        texts = [written(numbers[u], form).encode() for u in uniq]
        if method == "hash":
            names = np.array([getattr(hashlib, algorithm)(t).hexdigest() for t in texts], dtype=object)
        else:
            secret = hmac_key if hmac_key is not None else release_key.derive("hmac")
            names = np.array([hmac.new(secret, t, algorithm).hexdigest() for t in texts], dtype=object)
    else:
        names = release_key.tokens("token", seed, uniq.astype(np.int64))
    return codes.astype(np.int64), names, pd.DataFrame({"pid": names, "subscriber_id": uniq})


def pseudonymize(table: pd.DataFrame, subscribers: pd.DataFrame | None = None, *, method: str = "token",
                 key: ReleaseKey | bytes | None = None, seed: int = 0, hmac_key: bytes | None = None,
                 algorithm: str = "sha256", form: str = "e164", period: str = "month", id_col: str = "subscriber_id",
                 time_col: str = "timestamp") -> Pseudonymized:
    """Replace ``id_col`` of ``table`` by ``pid``; ``subscribers`` (id → msisdn) is needed for hash/hmac.
    ``key``: the release key (``ReleaseKey`` or bytes; None: a fresh one); ``seed``: mixed with it for
    tokens; ``hmac_key``: an explicit HMAC key (bytes) instead of the one derived from ``key``."""
    if id_col not in table.columns:
        raise UsageError(f"The table has no '{id_col}' column to pseudonymize.")
    if method == "rotate" and time_col not in table.columns:
        raise UsageError(f"Method 'rotate' needs the '{time_col}' column.")
    codes, names, truth = pseudonym_codes(
        table[id_col].to_numpy(), table[time_col].to_numpy() if method == "rotate" else None, subscribers,
        method=method, key=key, seed=seed, hmac_key=hmac_key, algorithm=algorithm, form=form, period=period)
    release = table.drop(columns=[c for c in (id_col, *DIRECT_IDENTIFIERS, "cnic") if c in table.columns])
    release.insert(0, "pid", names[codes])
    return Pseudonymized(release=release.reset_index(drop=True), truth=truth.reset_index(drop=True))
