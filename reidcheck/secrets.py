"""Release keys: where every pseudonym and every noise draw of a release comes from, and secret files.

A release is made from a *key* (secret bytes) and a *seed* (a public integer). Everything random in it
is a function of both, through HMAC-SHA-256 keyed with the key:

* a purpose ``label`` (``"token"``, ``"rotate/day"``, ``"strategy/2"``, …) and the seed give a 256-bit
  sub-key ``HMAC-SHA-256(key, b"reidcheck/v1/" + label + b"/" + decimal seed)``
  (``ReleaseKey.derive``); without a seed (``seed=None``) the ``b"/" + seed`` part is left out;
* a noise or sampling step draws from ``numpy.random.default_rng(SeedSequence(int(sub-key)))``
  (``ReleaseKey.rng``);
* a token is the first 64 bits of ``HMAC-SHA-256(sub-key, subscriber id [, period])`` as 16 hex digits
  (``ReleaseKey.tokens``): it depends on that subscriber alone (not on who else is in the release or on
  the id order) and cannot be recomputed without the key.

So the same key and seed reproduce a release byte for byte, and without the key nothing of it can be
derived from the seed (a seed is small enough to be guessed; a 256-bit key is not). Two releases made
with different keys share no token and no noise draw, whatever their seeds.

Keys come from ``new_key`` (32 bytes from the OS CSPRNG), a key file (``read_key_file``: raw bytes, at
least 16, or hex text), or, where nothing published is a real release (the comparison, the demo,
benchmarks, tests), ``key_from_seed`` — which is *not* a secret and is labelled so in ``release.json``.

``write_secret`` (and ``stage_secret``, its first half) creates files that only their owner can read
(mode 0600), under a temporary name then renamed, and refuses a symbolic link at the destination. Key
files are read whatever their mode: keep them 0600 yourself (``chmod 600 FILE``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets as _stdlib_secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np
import pandas as pd

from .errors import UsageError

KEY_BYTES = 32                 #: a fresh key: 256 bits
MIN_KEY_BYTES = 16             #: a key file must hold at least 128 bits
PROVENANCES = ("fresh", "file", "given", "seed")
_NOT_SECRET = b"reidcheck-not-secret"
_DOMAIN = b"reidcheck/v1/"


def new_key() -> bytes:
    """32 bytes from the operating system's CSPRNG."""
    return _stdlib_secrets.token_bytes(KEY_BYTES)


def read_key_file(path) -> bytes:
    """The key in ``path``: hex text (64 hex digits as written by ``reidcheck anonymize``; surrounding
    whitespace ignored) or raw bytes, at least 16 bytes either way. A missing, unreadable or short file
    raises ``UsageError`` naming the file (never its content)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"Key file '{path}' cannot be read ({exc.strerror or type(exc).__name__}).") from None
    text = data.strip()
    if text and re.fullmatch(rb"[0-9a-fA-F]+", text) and len(text) % 2 == 0:
        data = bytes.fromhex(text.decode())
    if len(data) < MIN_KEY_BYTES:
        raise UsageError(f"Key file '{path}' is too short: a key needs at least {MIN_KEY_BYTES} bytes "
                         f"(or {2 * MIN_KEY_BYTES} hex digits); `reidcheck anonymize` without --key-file "
                         "writes a fresh one.")
    return data


@dataclass(frozen=True)
class ReleaseKey:
    """The secret a release is derived from. ``provenance``: ``fresh`` (``new_key``: to be stored in the
    release's key sidecar), ``file`` (``--key-file``: the user keeps it), ``given`` (bytes passed to the
    API: the caller keeps it) or ``seed`` (``key_from_seed``: not a secret, not a real release). The
    bytes never appear in ``repr``."""

    material: bytes = field(repr=False)
    provenance: str = "given"

    def __post_init__(self):
        if not isinstance(self.material, (bytes, bytearray)) or len(self.material) < MIN_KEY_BYTES:
            raise UsageError(f"A release key must be at least {MIN_KEY_BYTES} bytes.")
        if self.provenance not in PROVENANCES:
            raise UsageError(f"Key provenance must be one of {', '.join(PROVENANCES)}. "
                             f"Got {self.provenance!r} instead.")
        object.__setattr__(self, "material", bytes(self.material))

    # -- where keys come from ---------------------------------------------------------------------
    @classmethod
    def fresh(cls) -> "ReleaseKey":
        return cls(new_key(), "fresh")

    @classmethod
    def from_file(cls, path) -> "ReleaseKey":
        return cls(read_key_file(path), "file")

    @property
    def derived_from_seed(self) -> bool:
        return self.provenance == "seed"

    @property
    def manifest_entry(self) -> str:
        """What ``release.json`` says about the key (never the key itself)."""
        return ("derived from the seed; not a real release" if self.derived_from_seed
                else "secret (not in the release)")

    def hex(self) -> str:
        """The key as hex text: what the key sidecar holds. Never print it."""
        return self.material.hex()

    # -- what is derived from a key ---------------------------------------------------------------
    def derive(self, label: str, seed: int | None = None) -> bytes:
        """32-byte sub-key for ``label`` (and ``seed``): independent for every (label, seed)."""
        msg = _DOMAIN + label.encode()
        if seed is not None:
            msg += b"/" + str(int(seed)).encode()
        return hmac.new(self.material, msg, hashlib.sha256).digest()

    def rng(self, label: str, seed: int) -> np.random.Generator:
        """A numpy Generator (PCG64) seeded with the 256-bit sub-key of (label, seed)."""
        entropy = int.from_bytes(self.derive(label, seed), "big")
        return np.random.default_rng(np.random.SeedSequence(entropy))

    def tokens(self, label: str, seed: int, fields: np.ndarray) -> np.ndarray:
        """One distinct 16-hex-digit token per row of ``fields`` (int64, shape (n,) or (n, m): the
        subscriber id [and period]): ``HMAC-SHA-256(derive(label, seed), row as big-endian int64s)``
        truncated to 64 bits. The rare 64-bit collision (≈ n²/2⁶⁵) is resolved by re-deriving the later
        rows of a colliding pair with a counter, so tokens stay distinct."""
        if len(fields) == 0:
            return np.array([], dtype=object)
        rows = np.ascontiguousarray(np.asarray(fields, dtype=np.int64).reshape(len(fields), -1), dtype=">i8")
        width = rows.shape[1] * 8
        buf = memoryview(rows.tobytes())
        base = hmac.new(self.derive(label, seed), digestmod=hashlib.sha256)

        def mac(msg) -> bytes:
            h = base.copy()
            h.update(msg)
            return h.digest()[:8]

        raw = [mac(buf[i:i + width]) for i in range(0, len(buf), width)]
        dup = pd.Series(raw, dtype=object).duplicated().to_numpy() if raw else np.zeros(0, bool)
        if dup.any():
            seen = set(raw)
            for i in np.flatnonzero(dup):
                counter = 0
                while raw[i] in seen:
                    counter += 1
                    raw[i] = mac(bytes(buf[i * width:(i + 1) * width]) + b"/" + str(counter).encode())
                seen.add(raw[i])
        text = b"".join(raw).hex()
        return np.array([text[i:i + 16] for i in range(0, len(text), 16)], dtype=object)


def key_from_seed(seed: int) -> ReleaseKey:
    """``HMAC-SHA-256(b"reidcheck-not-secret", decimal seed)``: a key anyone can recompute from the seed,
    for outputs that are not real releases (the comparison, the demo, benchmarks, tests). Its releases
    say so in ``release.json``."""
    return ReleaseKey(hmac.new(_NOT_SECRET, str(int(seed)).encode(), hashlib.sha256).digest(), "seed")


def as_release_key(key) -> ReleaseKey:
    """``None`` → a fresh key; bytes → a key the caller keeps; a ``ReleaseKey`` as it is."""
    if key is None:
        return ReleaseKey.fresh()
    if isinstance(key, ReleaseKey):
        return key
    if isinstance(key, (bytes, bytearray)):
        return ReleaseKey(bytes(key), "given")
    raise UsageError(f"A release key must be a reidcheck.secrets.ReleaseKey or bytes. Got {type(key).__name__}.")


# -- secret files ---------------------------------------------------------------------------------
def refuse_symlink(path: Path) -> None:
    if Path(path).is_symlink():
        raise UsageError(f"Refusing to write the secret file '{path}': it is a symbolic link.")


def stage_secret(path, data: bytes | Callable[[BinaryIO], None]) -> Path:
    """Write ``data`` (bytes, or a function writing to a binary file) to a new temporary sibling of
    ``path`` created with mode 0600 (``O_EXCL``: never an existing file or link); returns its path.
    ``commit_secret`` renames it into place. The parent directory is created if missing."""
    path = Path(path)
    refuse_symlink(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{_stdlib_secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def commit_secret(tmp: Path, path) -> Path:
    """Rename a staged secret into place (refusing a symbolic link there)."""
    path = Path(path)
    refuse_symlink(path)
    os.replace(tmp, path)
    return path


def write_secret(path, data: bytes | Callable[[BinaryIO], None]) -> Path:
    """Create or replace ``path`` with ``data``, mode 0600, atomically (temporary sibling, then rename)."""
    tmp = stage_secret(path, data)
    try:
        return commit_secret(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
