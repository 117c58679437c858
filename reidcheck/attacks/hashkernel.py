"""Compiled brute-force kernel for hash reversal: MD5, SHA-1 and SHA-256 of short templated messages.

The pure-Python reversal (``pseudonyms._scan``) builds a string, calls ``hashlib`` and probes a set
for every candidate; this module does the same enumeration in numba-compiled code, many candidates at
a time, on every core. Nothing here is heuristic: the caller re-checks every hit with ``hashlib``.

**Candidates.** A *template* is the message with holes, as bytes of at most 55 (one 64-byte block
with its padding): each ``#`` takes one decimal digit of a counter, most significant first and
zero-padded to the number of ``#``; an optional ``L`` as the *last* byte takes the Luhn check digit
of the digit characters before it (literal digits and ``#`` digits alike: ``b"49015420######L"`` is
an IMEI whose 15th digit is the check digit of the first 14). Every other byte is literal: a salt
prefix or suffix, a lead such as ``b"+92300"``, the dashes of a CNIC ``b"35202-#######-#"``. A
literal ``#`` or ``L`` cannot be written (``L`` anywhere but last is rejected). The counter runs
over ``[lo, hi)`` with ``0 <= lo <= hi <= 10**(number of #)``; ``candidate(template, counter)`` is
the message for one counter.

**Targets.** A target is the first 64 bits of a digest, the first 8 digest bytes read big-endian
(``prefix_u64`` makes them from hex digests, full or truncated to at least 16 hex digits). The kernel
reports every counter whose digest starts with one of them. With 64 bits the expected number of
chance hits is candidates × targets / 2**64 (≈10⁻⁷ for 10⁸ candidates and 20,000 targets), so a hit
is almost always real; still, the caller re-checks hits against the full digests with ``hashlib``
(``reverse`` does), and a truncated target can only ever be checked on the hex digits it has.

**How it is fast** (each step exact, from RFC 1321 and FIPS 180-4):

- 16 candidates (``LANES``) are hashed together: each message word, state word and schedule word is
  a row of 16 ``uint32`` in one flat scratch buffer, and every compression step is a loop over the
  16 lanes that LLVM turns into SIMD code (on this machine: 256-bit vectors with AVX-512VL's
  ``vprold`` rotations and ``vpternlogd``; LLVM prefers 256-bit vectors on these Xeons). The rounds
  run in blocks of 4 (8 for the schedule), which LLVM unrolls fully, so the round constants, the
  rotations and the MD5 message order are immediates and the working variables stay in registers
  within a block.
- Only the message words that hold a ``#`` or the ``L`` are rebuilt per candidate; the others, the
  padding and the length word are written once per call. Lanes take consecutive counters, so within
  a decade only the last digit and the Luhn digit change: a lane's words are the decade's base words
  plus those two digits shifted into place (the Luhn digit from a 100-entry table). Between decades
  the higher digits are incremented in place, their bytes, words and Luhn sum together: no division
  and no byte packing per candidate.
- Rounds that only use constant words (a salt or lead of 16 bytes or more: 4 words per skipped
  block of rounds) are computed once per call (the mid-state), not per candidate.
- Matching: a bitmap indexed by the top bits of the 64-bit prefix (≥64 bits per target up to 2**28
  bits, so at most ~1.6 % of the candidates reach the binary search below 4 M targets) rejects
  almost every candidate with one load; survivors are binary-searched in the sorted targets.
- ``search`` splits ``[lo, hi)`` into chunks run by a thread pool; the kernels release the GIL
  (``nogil``), so the threads run in parallel (one per core by default).

Compilation: the kernels are compiled on first use (≈4–20 s per algorithm, ~20–45 s for all three
on this 2-core machine; MD5 is the slowest) and cached on disk
(``cache=True``, in ``__pycache__`` beside this file or numba's user cache when that is read-only),
so later processes load them in well under a second. ``warmup()`` compiles ahead and says how long
it took. Without numba the module still imports: ``available()`` is False, ``search`` raises
``RuntimeError`` and the caller falls back to ``hashlib`` (``search_hashlib`` is that fallback, with
the same contract).
"""

from __future__ import annotations

import hashlib
import math
import operator
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

try:  # numba is optional: without it the kernel is unavailable and callers use hashlib.
    import numba
    from numba import njit
except ImportError:  # pragma: no cover - exercised only on installs without numba
    numba = None

    def njit(*args, **kwargs):
        """Stand-in for ``numba.njit`` when numba is missing: leaves the function as plain Python."""
        if args and callable(args[0]) and len(args) == 1 and not kwargs:
            return args[0]
        return lambda f: f

__all__ = ["ALGORITHMS", "LANES", "MAX_DIGITS", "MAX_MESSAGE", "TargetSet", "available", "candidate",
           "default_threads", "luhn_digit", "numba_version", "prefix_u64", "reverse", "search",
           "search_hashlib", "warmup"]

ALGORITHMS = ("md5", "sha1", "sha256")
MAX_MESSAGE = 55       # bytes: the longest message that fits one 64-byte block with its padding
MAX_DIGITS = 18        # '#' positions at most: the counter is an int64 (10**18 < 2**63)
LANES = 16             # candidates hashed together (one row of 16 uint32 per word)
_ALIASES = {"md5": "md5", "sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256"}
_HASH = ord("#")
_ZERO = ord("0")
_NINE = ord("9")

# ---------------------------------------------------------------------------------------------------
# Templates (pure Python: used to validate, to re-check and when numba is missing)
# ---------------------------------------------------------------------------------------------------

# Luhn contribution of one digit: as is, or doubled with its digits summed (2·d - 9 when 2·d > 9).
_LUHN_TABLE = np.array([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]], dtype=np.int64)


def luhn_digit(digits: str) -> int:
    """The Luhn check digit (0–9) to append to ``digits`` (a non-empty string of decimal digits): the
    rightmost digit of ``digits`` and every second one leftwards are doubled. ``luhn_digit("49015420323751")``
    is 8 (IMEI 490154203237518)."""
    if not isinstance(digits, str) or not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"luhn_digit needs a non-empty string of decimal digits. Got {digits!r} instead.")
    total = sum(int(_LUHN_TABLE[(i + 1) % 2][int(ch)]) for i, ch in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


class _Plan:
    """A parsed template: where the counter's digits and the Luhn digit go, and the Luhn weights.

    ``literal=(p, s)``: the first ``p`` and last ``s`` bytes are literal text (a known salt before and
    after the identifier): they may hold ``#``, ``L`` or digits, which are then neither counter
    positions nor part of the Luhn body, and the ``L`` is the last byte before them."""

    __slots__ = ("template", "dpos", "lpos", "kpos", "weights", "lconst", "lut", "ndigits", "wlo", "whi", "pre")

    def __init__(self, template, literal: tuple[int, int] = (0, 0)):
        if not isinstance(template, (bytes, bytearray, memoryview)):
            raise TypeError(f"template must be bytes (e.g. b'+92300#######'). Got {type(template).__name__} instead.")
        t = bytes(template)
        if len(t) > MAX_MESSAGE:
            raise ValueError(f"template is {len(t)} bytes: at most {MAX_MESSAGE} fit one hash block "
                             "(longer messages are not supported by the kernel).")
        pre, suf = (int(x) for x in literal)
        if pre < 0 or suf < 0 or pre + suf > len(t):
            raise ValueError(f"literal spans {literal!r} do not fit the {len(t)}-byte template.")
        end = len(t) - suf                       # the identifier's template is t[pre:end]
        dpos = [i for i in range(pre, end) if t[i] == _HASH]
        if not dpos:
            raise ValueError(f"template {t!r} has no '#' position for the counter's digits.")
        if len(dpos) > MAX_DIGITS:
            raise ValueError(f"template has {len(dpos)} '#' positions: at most {MAX_DIGITS} are supported.")
        ls = [i for i in range(pre, end) if t[i] == ord("L")]
        lpos = ls[0] if ls else -1
        if ls and (len(ls) > 1 or lpos != end - 1):
            raise ValueError(f"template {t!r}: 'L' (the Luhn check digit) must be the last byte, "
                             "and only once (a literal 'L' cannot be written).")
        # Luhn weights: digit characters of the body, doubled from the rightmost one leftwards.
        weights = np.zeros(len(dpos), dtype=np.int64)
        lconst = 0
        if lpos != -1:
            body = [i for i in range(pre, lpos) if t[i] == _HASH or 48 <= t[i] <= 57]
            rank = {pos: len(body) - 1 - k for k, pos in enumerate(body)}   # 0 = rightmost digit
            for k, pos in enumerate(dpos):
                weights[k] = 1 if rank[pos] % 2 == 0 else 0
            lconst = sum(int(_LUHN_TABLE[1 if rank[pos] % 2 == 0 else 0][t[pos] - _ZERO])
                         for pos in body if t[pos] != _HASH)
        varying = dpos + ([lpos] if lpos != -1 else [])
        self.template = t
        self.pre = pre
        self.dpos = np.array(dpos, dtype=np.int64)
        self.lpos = lpos
        self.kpos = lpos if lpos != -1 else 64   # where the kernels write the Luhn digit (64: spare byte)
        # lut[10 * r + v]: the Luhn digit when the other digits' Luhn sum is r (mod 10) and the last
        # '#' is v; zeros without an 'L' (the kernels then add nothing).
        lut = np.zeros(100, dtype=np.int64)
        if lpos != -1:
            for r in range(10):
                for v in range(10):
                    lut[10 * r + v] = (10 - (r + int(_LUHN_TABLE[weights[-1]][v])) % 10) % 10
        self.lut = lut
        self.weights = weights
        self.lconst = lconst
        self.ndigits = len(dpos)
        self.wlo = min(varying) // 4     # first and last 32-bit message word that change with the counter
        self.whi = max(varying) // 4

    def message(self, counter: int) -> bytes:
        if not 0 <= counter < 10 ** self.ndigits:
            raise ValueError(f"counter {counter} is out of range for {self.ndigits} '#' positions "
                             f"(0 <= counter < 10**{self.ndigits}).")
        msg = bytearray(self.template)
        for pos, ch in zip(self.dpos.tolist(), f"{counter:0{self.ndigits}d}".encode(), strict=True):
            msg[pos] = ch
        if self.lpos != -1:
            body = bytes(c for c in msg[self.pre:self.lpos] if 48 <= c <= 57).decode()
            msg[self.lpos] = _ZERO + luhn_digit(body)
        return bytes(msg)


def candidate(template: bytes, counter: int) -> bytes:
    """The message that ``template`` gives for ``counter`` (``0 <= counter < 10**(number of #)``):
    the counter's decimal digits in the ``#`` positions, zero-padded, and the Luhn digit in a final
    ``L``. ``candidate(b"+92300#######", 42) == b"+923000000042"``. The kernel builds the same bytes."""
    return _Plan(template).message(_counter(counter, "counter"))


def _counter(value, name: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer. Got {value!r} instead.")
    try:
        return int(value.__index__())
    except (AttributeError, TypeError):
        raise ValueError(f"{name} must be an integer. Got {value!r} instead.") from None


def _algorithm(algorithm) -> str:
    name = _ALIASES.get(str(algorithm).lower()) if isinstance(algorithm, str) else None
    if name is None:
        raise ValueError(f"Unknown algorithm {algorithm!r}: the kernel supports {', '.join(ALGORITHMS)}.")
    return name


def _range(plan: _Plan, lo, hi) -> tuple[int, int]:
    lo, hi = _counter(lo, "lo"), _counter(hi, "hi")
    top = 10 ** plan.ndigits
    if not 0 <= lo <= hi <= top:
        raise ValueError(f"Counter range [{lo}, {hi}) must satisfy 0 <= lo <= hi <= 10**{plan.ndigits} "
                         f"(= {top}, the template has {plan.ndigits} '#' positions).")
    return lo, hi


# ---------------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------------

def prefix_u64(hexdigests: Iterable[str]) -> np.ndarray:
    """Sorted unique ``uint64`` of the first 16 hex digits (64 bits, big-endian) of each hex digest;
    a digest may be truncated but must keep at least 16 hex digits (case is ignored)."""
    if isinstance(hexdigests, (str, bytes)):
        raise ValueError("prefix_u64 takes an iterable of hex digests, not a single string.")
    out = []
    for h in hexdigests:
        if not isinstance(h, str):
            raise ValueError(f"Hex digests must be strings. Got {h!r} instead.")
        s = h.strip()
        if len(s) < 16 or not all(c in "0123456789abcdefABCDEF" for c in s):
            raise ValueError(f"{h!r} is not a hex digest of at least 16 hex digits (64 bits).")
        out.append(int(s[:16], 16))
    return np.unique(np.array(out, dtype=np.uint64))


def _as_u64(values) -> np.ndarray:
    """``values`` (a uint64 array, another integer array, or an iterable of ints) as a 1-D uint64 array."""
    if not isinstance(values, np.ndarray):
        try:
            ints = [operator.index(v) for v in values]
        except TypeError:
            raise ValueError("targets must be uint64 digest prefixes (see prefix_u64): integers in [0, 2**64).") from None
        if any(not 0 <= v < 2 ** 64 for v in ints):
            raise ValueError("targets must be non-negative 64-bit integers (uint64 digest prefixes).")
        return np.array(ints, dtype=np.uint64)
    arr = values
    if arr.ndim != 1:
        raise ValueError(f"targets must be a 1-D array of uint64 digest prefixes. Got shape {arr.shape} instead.")
    if arr.dtype == np.uint64:
        return np.ascontiguousarray(arr)
    if arr.size == 0:
        return np.zeros(0, dtype=np.uint64)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"targets must be uint64 digest prefixes (see prefix_u64). Got dtype {arr.dtype} instead.")
    if arr.dtype.kind == "i" and (arr < 0).any():
        raise ValueError("targets must be non-negative 64-bit integers (uint64 digest prefixes).")
    return arr.astype(np.uint64)


class TargetSet:
    """The targets prepared for the kernel, built once and reusable across ``search`` calls (and
    threads: it is read-only). ``values`` is the caller's ``uint64`` array (digest prefixes, any order,
    duplicates allowed); a hit names the *first* index of its value in it.

    Memory: the sorted keys and their indices (16 bytes per target) and the bitmap, 2**k bits with
    2**k ≈ 64 × targets, between 8 KiB and 32 MiB (≈256 KiB for 20,000 targets)."""

    __slots__ = ("values", "keys", "index", "bitmap", "shift")

    def __init__(self, values):
        self.values = _as_u64(values)
        order = np.argsort(self.values, kind="stable")
        keys = self.values[order]
        first = np.ones(keys.size, dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        self.keys = np.ascontiguousarray(keys[first])
        self.index = np.ascontiguousarray(order[first].astype(np.int64))
        bits = int(min(28, max(16, math.ceil(math.log2(max(1, self.keys.size) * 64)))))
        self.shift = np.uint64(64 - bits)
        bitmap = np.zeros(1 << (bits - 6), dtype=np.uint64)
        top = self.keys >> self.shift
        np.bitwise_or.at(bitmap, (top >> np.uint64(6)).astype(np.int64), np.uint64(1) << (top & np.uint64(63)))
        self.bitmap = bitmap

    def __len__(self) -> int:
        return int(self.keys.size)


# ---------------------------------------------------------------------------------------------------
# Kernels (numba). One flat uint32 scratch buffer per call: row r, lane j is B[r * LANES + j].
# ---------------------------------------------------------------------------------------------------

_L = LANES
_W = 0            # rows 0..79: message schedule W[t] (MD5 uses rows 0..15, SHA-256 0..63)
_S = 80           # rows 80..87: working state (a, b, c, ...)
_M = 88           # rows 88..95: mid-state after the rounds that use constant words only
_ROWS = 96
_CAP = 1024       # hits recorded per kernel call before it returns to the caller to empty the buffer

_u32 = np.uint32
_U32 = np.uint32(32)
_SH32 = np.uint64(32)

_MD5_IV = np.array([0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476], dtype=np.uint32)
_SHA1_IV = np.array([0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0], dtype=np.uint32)
_SHA256_IV = np.array([0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                       0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19], dtype=np.uint32)
_SHA256_K = np.array([
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2],
    dtype=np.uint32)
_SHA1_K = np.array([0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xCA62C1D6], dtype=np.uint32)
# MD5 (RFC 1321 §3.4): T[i] = floor(2**32 · |sin(i + 1)|); the rotations and the word order of each
# step are written out in _md5_rounds as in the RFC's table.
_MD5_T = np.array([int(abs(math.sin(i + 1)) * 2 ** 32) & 0xFFFFFFFF for i in range(64)], dtype=np.uint32)
_ALL = np.uint32(0xFFFFFFFF)
_BYTE0 = np.uint32(0xFF)
_BYTE1 = np.uint32(0xFF00)
_U8 = np.uint32(8)
_U24 = np.uint32(24)


@njit(nogil=True, cache=True)
def _word(blk, k, big):
    """Message word ``k`` of the 64-byte block: big-endian (SHA) or little-endian (MD5)."""
    p = 4 * k
    if big:
        return _u32((np.uint32(blk[p]) << 24) | (np.uint32(blk[p + 1]) << 16)
                    | (np.uint32(blk[p + 2]) << 8) | np.uint32(blk[p + 3]))
    return _u32((np.uint32(blk[p + 3]) << 24) | (np.uint32(blk[p + 2]) << 16)
                | (np.uint32(blk[p + 1]) << 8) | np.uint32(blk[p]))


# Candidate generation. Lanes take consecutive counters; within a decade (last digit 0-9) only the
# byte of the last '#' and the Luhn byte change, so each varying message word of a lane is a base word
# (those two bytes '0') plus the last digit and the Luhn digit shifted into place. Between decades the
# higher digits are incremented in place (ASCII bytes, base words and Luhn sum together, only the
# digits that change): no division and no word packing per candidate. The Luhn digit of a lane is
# ``lut[10 * (Luhn sum of the other digits mod 10) + last digit]`` (a table per template, zeros
# without an 'L').
# Generator state g (int64): the last digit of the next counter and the Luhn sum of the other digits,
# then fixed values set by _setup.
_G_V, _G_SUM, _G_KLAST, _G_SHL, _G_KL, _G_SHLL, _G_WLO, _G_WHI = range(8)


@njit(nogil=True, cache=True, inline='always')
def _carry(blk, bw, g, dpos, dword, dshift, weights):
    """Add one to the higher digits (every '#' but the last): their ASCII bytes, base words and the
    Luhn sum. After all nines they wrap to zeros (past the end of the range: never hashed).

    (No ``break`` or early ``return`` in the kernels' loops: with them numba keeps reference-count
    updates of the argument arrays in the loop, atomic operations that cost far more than the
    increment and, on arrays shared by the threads, bounce a cache line between the cores.)"""
    i = dpos.shape[0] - 2
    s = g[_G_SUM]
    carry = True
    while carry and i >= 0:
        p = dpos[i]
        d = blk[p] - _ZERO
        w = weights[i]
        if d != 9:
            blk[p] = _ZERO + d + 1
            bw[dword[i]] += _u32(1 << dshift[i])
            s += _LUHN_TABLE[w, d + 1] - _LUHN_TABLE[w, d]
            carry = False
        else:
            blk[p] = _ZERO
            bw[dword[i]] -= _u32(9 << dshift[i])
            s += _LUHN_TABLE[w, 0] - _LUHN_TABLE[w, 9]
            i -= 1
    g[_G_SUM] = s


@njit(nogil=True, cache=True)
def _block(template, nbytes, big):
    """The padded 64-byte block of a ``nbytes``-byte message (FIPS 180-4 §5.1.1, RFC 1321 §3.1-3.2),
    and 4 spare bytes; byte 64 takes the Luhn digit of templates without an 'L' (never hashed)."""
    blk = np.zeros(68, dtype=np.uint8)
    for i in range(nbytes):
        blk[i] = template[i]
    blk[nbytes] = 0x80
    bits = nbytes * 8
    for i in range(8):
        if big:
            blk[63 - i] = (bits >> (8 * i)) & 0xFF
        else:
            blk[56 + i] = (bits >> (8 * i)) & 0xFF
    return blk


@njit(nogil=True, cache=True)
def _setup(template, nbytes, big, dpos, kpos, weights, lconst, wlo, whi, lo):
    """Scratch buffer with every message word of counter ``lo`` in all lanes, and the generator
    positioned at ``lo``: (B, block, base words, word and shift of each digit, state)."""
    blk = _block(template, nbytes, big)
    nd = dpos.shape[0]
    dword = np.empty(nd, dtype=np.int64)
    dshift = np.empty(nd, dtype=np.int64)
    for i in range(nd):
        dword[i] = dpos[i] // 4
        dshift[i] = 8 * (3 - dpos[i] % 4) if big else 8 * (dpos[i] % 4)
    g = np.zeros(8, dtype=np.int64)
    higher = lo // 10
    s = lconst
    for i in range(nd - 2, -1, -1):
        d = higher % 10
        blk[dpos[i]] = _ZERO + d
        s += _LUHN_TABLE[weights[i], d]
        higher //= 10
    blk[dpos[nd - 1]] = _ZERO
    blk[kpos] = _ZERO                # kpos is the spare byte 64 without an 'L'
    g[_G_V] = lo % 10
    g[_G_SUM] = s
    g[_G_KLAST] = dword[nd - 1]
    g[_G_SHL] = dshift[nd - 1]
    g[_G_KL] = kpos // 4 if kpos < 64 else dword[nd - 1]
    g[_G_SHLL] = (8 * (3 - kpos % 4) if big else 8 * (kpos % 4)) if kpos < 64 else 0
    g[_G_WLO] = wlo
    g[_G_WHI] = whi
    bw = np.zeros(16, dtype=np.uint32)
    B = np.zeros(_ROWS * _L, dtype=np.uint32)
    for k in range(16):
        w = _word(blk, k, big)
        bw[k] = w
        for j in range(_L):
            B[(_W + k) * _L + j] = w
    return B, blk, bw, dword, dshift, g


@njit(nogil=True, cache=True)
def _fill(B, blk, bw, dword, dshift, g, dpos, weights, lut, n):
    """Lanes 0..n-1 get the varying message words of the next n counters; the generator advances n.
    Per run of lanes within one decade: the base words are broadcast, then the last digit and the
    Luhn digit are added into their words."""
    v = g[_G_V]
    klast = g[_G_KLAST]
    shl = g[_G_SHL]
    kl = g[_G_KL]
    shll = g[_G_SHLL]
    wlo = g[_G_WLO]
    whi = g[_G_WHI]
    off = 10 * (g[_G_SUM] % 10)
    j0 = 0
    while j0 < n:
        m = min(n - j0, 10 - v)            # lanes left in this decade
        for k in range(wlo, whi + 1):
            w = bw[k]
            row = (_W + k) * _L + j0
            for j in range(m):
                B[row + j] = w
        rlast = (_W + klast) * _L + j0
        rluhn = (_W + kl) * _L + j0
        for j in range(m):
            B[rlast + j] += _u32((v + j) << shl)
            B[rluhn + j] += _u32(lut[off + v + j] << shll)
        v += m
        j0 += m
        if v == 10:
            v = 0
            _carry(blk, bw, g, dpos, dword, dshift, weights)
            off = 10 * (g[_G_SUM] % 10)
    g[_G_V] = v


@njit(nogil=True, cache=True)
def _match(keys, n, c, ts_bitmap, ts_shift, ts_keys, ts_index, out_c, out_i, nh):
    """Record the lanes 0..n-1 (counters c..c+n-1) whose key is a target. Returns (hits so far, the
    lane to resume from when the hit buffer is full, else n)."""
    cap = out_c.shape[0]
    j = 0
    while j < n and nh < cap:
        key = keys[j]
        top = key >> ts_shift
        if (ts_bitmap[top >> np.uint64(6)] >> (top & np.uint64(63))) & np.uint64(1):
            lo = 0
            hi = ts_keys.shape[0]
            while lo < hi:   # first position with ts_keys[pos] >= key
                mid = (lo + hi) >> 1
                if ts_keys[mid] < key:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < ts_keys.shape[0] and ts_keys[lo] == key:
                out_c[nh] = c + j
                out_i[nh] = ts_index[lo]
                nh += 1
        j += 1
    return nh, j


# --- SHA-256 (FIPS 180-4 §6.2) -----------------------------------------------------------------------

@njit(nogil=True, cache=True)
def _sha256_schedule(B):
    """W[16..63] for all lanes (σ0, σ1 of §4.1.2), 8 words per unrolled block."""
    for t0 in range(16, 64, 8):
        for j in range(_L):
            for t in range(t0, t0 + 8):
                x = B[(_W + t - 2) * _L + j]
                y = B[(_W + t - 15) * _L + j]
                s1 = ((x >> 17) | (x << 15)) ^ ((x >> 19) | (x << 13)) ^ (x >> 10)
                s0 = ((y >> 7) | (y << 25)) ^ ((y >> 18) | (y << 14)) ^ (y >> 3)
                B[(_W + t) * _L + j] = _u32(s1 + B[(_W + t - 7) * _L + j] + s0 + B[(_W + t - 16) * _L + j])


@njit(nogil=True, cache=True)
def _sha256_rounds(B, t_from, t_to):
    """Rounds [t_from, t_to) (multiples of 4) on the state rows, 4 unrolled rounds per lane loop.
    (The block loop has constant bounds so that LLVM can prove the W rows read never overlap the state
    rows written, and vectorize: with ``range(t_from, t_to, 4)`` it falls back to scalar code.)"""
    for t0 in range(0, 64, 4):
        if t0 < t_from or t0 >= t_to:
            continue
        for j in range(_L):
            a = B[(_S + 0) * _L + j]
            b = B[(_S + 1) * _L + j]
            c = B[(_S + 2) * _L + j]
            d = B[(_S + 3) * _L + j]
            e = B[(_S + 4) * _L + j]
            f = B[(_S + 5) * _L + j]
            g = B[(_S + 6) * _L + j]
            h = B[(_S + 7) * _L + j]
            for t in range(t0, t0 + 4):
                t1 = _u32(h + (((e >> 6) | (e << 26)) ^ ((e >> 11) | (e << 21)) ^ ((e >> 25) | (e << 7)))
                          + (g ^ (e & (f ^ g))) + _SHA256_K[t] + B[(_W + t) * _L + j])
                t2 = _u32((((a >> 2) | (a << 30)) ^ ((a >> 13) | (a << 19)) ^ ((a >> 22) | (a << 10)))
                          + ((a & b) | (c & (a | b))))
                a, b, c, d, e, f, g, h = _u32(t1 + t2), a, b, c, _u32(d + t1), e, f, g
            B[(_S + 0) * _L + j] = a
            B[(_S + 1) * _L + j] = b
            B[(_S + 2) * _L + j] = c
            B[(_S + 3) * _L + j] = d
            B[(_S + 4) * _L + j] = e
            B[(_S + 5) * _L + j] = f
            B[(_S + 6) * _L + j] = g
            B[(_S + 7) * _L + j] = h


@njit(nogil=True, cache=True)
def _scan_sha256(template, nbytes, dpos, kpos, weights, lconst, lut, wlo, whi, lo, hi,
                 ts_bitmap, ts_shift, ts_keys, ts_index, out_c, out_i):
    B, blk, bw, dword, dshift, g = _setup(template, nbytes, True, dpos, kpos, weights, lconst, wlo, whi, lo)
    start = 4 * (wlo // 4)            # rounds [0, start) only see constant words: done once
    for j in range(_L):
        for k in range(8):
            B[(_S + k) * _L + j] = _SHA256_IV[k]
    _sha256_rounds(B, 0, start)
    for i in range(8 * _L):
        B[_M * _L + i] = B[_S * _L + i]
    keys = np.empty(_L, dtype=np.uint64)
    nh = 0
    c = lo
    while c < hi and nh < out_c.shape[0]:
        n = min(_L, hi - c)
        _fill(B, blk, bw, dword, dshift, g, dpos, weights, lut, n)
        _sha256_schedule(B)
        for i in range(8 * _L):
            B[_S * _L + i] = B[_M * _L + i]
        _sha256_rounds(B, start, 64)
        for j in range(_L):
            keys[j] = ((np.uint64(_u32(B[_S * _L + j] + _SHA256_IV[0])) << _SH32)
                       | np.uint64(_u32(B[(_S + 1) * _L + j] + _SHA256_IV[1])))
        nh, done = _match(keys, n, c, ts_bitmap, ts_shift, ts_keys, ts_index, out_c, out_i, nh)
        c += done                     # done < n only when the hit buffer is full: the loop ends
    return nh, c


# --- SHA-1 (FIPS 180-4 §6.1) -------------------------------------------------------------------------

@njit(nogil=True, cache=True)
def _sha1_schedule(B):
    """W[16..79] = ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]), 8 words per unrolled block."""
    for t0 in range(16, 80, 8):
        for j in range(_L):
            for t in range(t0, t0 + 8):
                x = (B[(_W + t - 3) * _L + j] ^ B[(_W + t - 8) * _L + j]
                     ^ B[(_W + t - 14) * _L + j] ^ B[(_W + t - 16) * _L + j])
                B[(_W + t) * _L + j] = _u32((x << 1) | (x >> 31))


@njit(nogil=True, cache=True)
def _sha1_rounds(B, t_from, t_to):
    """Rounds [t_from, t_to) (multiples of 4), 4 unrolled rounds per lane loop; f and K per stage of 20."""
    for t0 in range(0, 80, 4):       # constant bounds: see _sha256_rounds
        if t0 < t_from or t0 >= t_to:
            continue
        stage = t0 // 20
        k = _SHA1_K[stage]
        for j in range(_L):
            a = B[(_S + 0) * _L + j]
            b = B[(_S + 1) * _L + j]
            c = B[(_S + 2) * _L + j]
            d = B[(_S + 3) * _L + j]
            e = B[(_S + 4) * _L + j]
            for t in range(t0, t0 + 4):
                if stage == 0:
                    f = d ^ (b & (c ^ d))                    # Ch
                elif stage == 2:
                    f = (b & c) | (d & (b | c))              # Maj
                else:
                    f = b ^ c ^ d                            # Parity
                tmp = _u32(((a << 5) | (a >> 27)) + f + e + k + B[(_W + t) * _L + j])
                a, b, c, d, e = tmp, a, _u32((b << 30) | (b >> 2)), c, d
            B[(_S + 0) * _L + j] = a
            B[(_S + 1) * _L + j] = b
            B[(_S + 2) * _L + j] = c
            B[(_S + 3) * _L + j] = d
            B[(_S + 4) * _L + j] = e


@njit(nogil=True, cache=True)
def _scan_sha1(template, nbytes, dpos, kpos, weights, lconst, lut, wlo, whi, lo, hi,
               ts_bitmap, ts_shift, ts_keys, ts_index, out_c, out_i):
    B, blk, bw, dword, dshift, g = _setup(template, nbytes, True, dpos, kpos, weights, lconst, wlo, whi, lo)
    start = 4 * (wlo // 4)
    for j in range(_L):
        for k in range(5):
            B[(_S + k) * _L + j] = _SHA1_IV[k]
    _sha1_rounds(B, 0, start)
    for i in range(5 * _L):
        B[_M * _L + i] = B[_S * _L + i]
    keys = np.empty(_L, dtype=np.uint64)
    nh = 0
    c = lo
    while c < hi and nh < out_c.shape[0]:
        n = min(_L, hi - c)
        _fill(B, blk, bw, dword, dshift, g, dpos, weights, lut, n)
        _sha1_schedule(B)
        for i in range(5 * _L):
            B[_S * _L + i] = B[_M * _L + i]
        _sha1_rounds(B, start, 80)
        for j in range(_L):
            keys[j] = ((np.uint64(_u32(B[_S * _L + j] + _SHA1_IV[0])) << _SH32)
                       | np.uint64(_u32(B[(_S + 1) * _L + j] + _SHA1_IV[1])))
        nh, done = _match(keys, n, c, ts_bitmap, ts_shift, ts_keys, ts_index, out_c, out_i, nh)
        c += done                     # done < n only when the hit buffer is full: the loop ends
    return nh, c


# --- MD5 (RFC 1321 §3.4) -----------------------------------------------------------------------------

@njit(nogil=True, cache=True)
def _md5_rounds(B, t_from, t_to):
    """Steps [t_from, t_to) on the state rows: t_from and t_to multiples of 4, and t_to <= 16 or 64.

    Stage 1 (steps 0-15, F, words in order) runs in blocks of 4 so that the mid-state can skip blocks
    of constant words; stages 2-4 permute the words, so their 48 steps are written out in one lane loop
    with the words in registers (an indexed word table defeats LLVM's vectorizer)."""
    for k in range(4):               # constant bounds: see _sha256_rounds
        if 4 * k < t_from or 4 * k >= t_to:
            continue
        for j in range(_L):
            a = B[(_S + 0) * _L + j]
            b = B[(_S + 1) * _L + j]
            c = B[(_S + 2) * _L + j]
            d = B[(_S + 3) * _L + j]
            # stage 1: F = (b & c) | (~b & d), rotations 7, 12, 17, 22
            x = _u32(a + (d ^ (b & (c ^ d))) + _MD5_T[4 * k] + B[(_W + 4 * k) * _L + j])
            a = _u32(b + ((x << 7) | (x >> 25)))
            x = _u32(d + (c ^ (a & (b ^ c))) + _MD5_T[4 * k + 1] + B[(_W + 4 * k + 1) * _L + j])
            d = _u32(a + ((x << 12) | (x >> 20)))
            x = _u32(c + (b ^ (d & (a ^ b))) + _MD5_T[4 * k + 2] + B[(_W + 4 * k + 2) * _L + j])
            c = _u32(d + ((x << 17) | (x >> 15)))
            x = _u32(b + (a ^ (c & (d ^ a))) + _MD5_T[4 * k + 3] + B[(_W + 4 * k + 3) * _L + j])
            b = _u32(c + ((x << 22) | (x >> 10)))
            B[(_S + 0) * _L + j] = a
            B[(_S + 1) * _L + j] = b
            B[(_S + 2) * _L + j] = c
            B[(_S + 3) * _L + j] = d
    if t_to < 64:
        return
    for j in range(_L):
        a = B[(_S + 0) * _L + j]
        b = B[(_S + 1) * _L + j]
        c = B[(_S + 2) * _L + j]
        d = B[(_S + 3) * _L + j]
        x00 = B[(_W + 0) * _L + j]
        x01 = B[(_W + 1) * _L + j]
        x02 = B[(_W + 2) * _L + j]
        x03 = B[(_W + 3) * _L + j]
        x04 = B[(_W + 4) * _L + j]
        x05 = B[(_W + 5) * _L + j]
        x06 = B[(_W + 6) * _L + j]
        x07 = B[(_W + 7) * _L + j]
        x08 = B[(_W + 8) * _L + j]
        x09 = B[(_W + 9) * _L + j]
        x10 = B[(_W + 10) * _L + j]
        x11 = B[(_W + 11) * _L + j]
        x12 = B[(_W + 12) * _L + j]
        x13 = B[(_W + 13) * _L + j]
        x14 = B[(_W + 14) * _L + j]
        x15 = B[(_W + 15) * _L + j]
        # stage 2: G = (b & d) | (c & ~d)
        x = _u32(a + (c ^ (d & (b ^ c))) + _MD5_T[16] + x01)
        a = _u32(b + ((x << 5) | (x >> 27)))
        x = _u32(d + (b ^ (c & (a ^ b))) + _MD5_T[17] + x06)
        d = _u32(a + ((x << 9) | (x >> 23)))
        x = _u32(c + (a ^ (b & (d ^ a))) + _MD5_T[18] + x11)
        c = _u32(d + ((x << 14) | (x >> 18)))
        x = _u32(b + (d ^ (a & (c ^ d))) + _MD5_T[19] + x00)
        b = _u32(c + ((x << 20) | (x >> 12)))
        x = _u32(a + (c ^ (d & (b ^ c))) + _MD5_T[20] + x05)
        a = _u32(b + ((x << 5) | (x >> 27)))
        x = _u32(d + (b ^ (c & (a ^ b))) + _MD5_T[21] + x10)
        d = _u32(a + ((x << 9) | (x >> 23)))
        x = _u32(c + (a ^ (b & (d ^ a))) + _MD5_T[22] + x15)
        c = _u32(d + ((x << 14) | (x >> 18)))
        x = _u32(b + (d ^ (a & (c ^ d))) + _MD5_T[23] + x04)
        b = _u32(c + ((x << 20) | (x >> 12)))
        x = _u32(a + (c ^ (d & (b ^ c))) + _MD5_T[24] + x09)
        a = _u32(b + ((x << 5) | (x >> 27)))
        x = _u32(d + (b ^ (c & (a ^ b))) + _MD5_T[25] + x14)
        d = _u32(a + ((x << 9) | (x >> 23)))
        x = _u32(c + (a ^ (b & (d ^ a))) + _MD5_T[26] + x03)
        c = _u32(d + ((x << 14) | (x >> 18)))
        x = _u32(b + (d ^ (a & (c ^ d))) + _MD5_T[27] + x08)
        b = _u32(c + ((x << 20) | (x >> 12)))
        x = _u32(a + (c ^ (d & (b ^ c))) + _MD5_T[28] + x13)
        a = _u32(b + ((x << 5) | (x >> 27)))
        x = _u32(d + (b ^ (c & (a ^ b))) + _MD5_T[29] + x02)
        d = _u32(a + ((x << 9) | (x >> 23)))
        x = _u32(c + (a ^ (b & (d ^ a))) + _MD5_T[30] + x07)
        c = _u32(d + ((x << 14) | (x >> 18)))
        x = _u32(b + (d ^ (a & (c ^ d))) + _MD5_T[31] + x12)
        b = _u32(c + ((x << 20) | (x >> 12)))
        # stage 3: H = b ^ c ^ d
        x = _u32(a + (b ^ c ^ d) + _MD5_T[32] + x05)
        a = _u32(b + ((x << 4) | (x >> 28)))
        x = _u32(d + (a ^ b ^ c) + _MD5_T[33] + x08)
        d = _u32(a + ((x << 11) | (x >> 21)))
        x = _u32(c + (d ^ a ^ b) + _MD5_T[34] + x11)
        c = _u32(d + ((x << 16) | (x >> 16)))
        x = _u32(b + (c ^ d ^ a) + _MD5_T[35] + x14)
        b = _u32(c + ((x << 23) | (x >> 9)))
        x = _u32(a + (b ^ c ^ d) + _MD5_T[36] + x01)
        a = _u32(b + ((x << 4) | (x >> 28)))
        x = _u32(d + (a ^ b ^ c) + _MD5_T[37] + x04)
        d = _u32(a + ((x << 11) | (x >> 21)))
        x = _u32(c + (d ^ a ^ b) + _MD5_T[38] + x07)
        c = _u32(d + ((x << 16) | (x >> 16)))
        x = _u32(b + (c ^ d ^ a) + _MD5_T[39] + x10)
        b = _u32(c + ((x << 23) | (x >> 9)))
        x = _u32(a + (b ^ c ^ d) + _MD5_T[40] + x13)
        a = _u32(b + ((x << 4) | (x >> 28)))
        x = _u32(d + (a ^ b ^ c) + _MD5_T[41] + x00)
        d = _u32(a + ((x << 11) | (x >> 21)))
        x = _u32(c + (d ^ a ^ b) + _MD5_T[42] + x03)
        c = _u32(d + ((x << 16) | (x >> 16)))
        x = _u32(b + (c ^ d ^ a) + _MD5_T[43] + x06)
        b = _u32(c + ((x << 23) | (x >> 9)))
        x = _u32(a + (b ^ c ^ d) + _MD5_T[44] + x09)
        a = _u32(b + ((x << 4) | (x >> 28)))
        x = _u32(d + (a ^ b ^ c) + _MD5_T[45] + x12)
        d = _u32(a + ((x << 11) | (x >> 21)))
        x = _u32(c + (d ^ a ^ b) + _MD5_T[46] + x15)
        c = _u32(d + ((x << 16) | (x >> 16)))
        x = _u32(b + (c ^ d ^ a) + _MD5_T[47] + x02)
        b = _u32(c + ((x << 23) | (x >> 9)))
        # stage 4: I = c ^ (b | ~d)
        x = _u32(a + (c ^ (b | (d ^ _ALL))) + _MD5_T[48] + x00)
        a = _u32(b + ((x << 6) | (x >> 26)))
        x = _u32(d + (b ^ (a | (c ^ _ALL))) + _MD5_T[49] + x07)
        d = _u32(a + ((x << 10) | (x >> 22)))
        x = _u32(c + (a ^ (d | (b ^ _ALL))) + _MD5_T[50] + x14)
        c = _u32(d + ((x << 15) | (x >> 17)))
        x = _u32(b + (d ^ (c | (a ^ _ALL))) + _MD5_T[51] + x05)
        b = _u32(c + ((x << 21) | (x >> 11)))
        x = _u32(a + (c ^ (b | (d ^ _ALL))) + _MD5_T[52] + x12)
        a = _u32(b + ((x << 6) | (x >> 26)))
        x = _u32(d + (b ^ (a | (c ^ _ALL))) + _MD5_T[53] + x03)
        d = _u32(a + ((x << 10) | (x >> 22)))
        x = _u32(c + (a ^ (d | (b ^ _ALL))) + _MD5_T[54] + x10)
        c = _u32(d + ((x << 15) | (x >> 17)))
        x = _u32(b + (d ^ (c | (a ^ _ALL))) + _MD5_T[55] + x01)
        b = _u32(c + ((x << 21) | (x >> 11)))
        x = _u32(a + (c ^ (b | (d ^ _ALL))) + _MD5_T[56] + x08)
        a = _u32(b + ((x << 6) | (x >> 26)))
        x = _u32(d + (b ^ (a | (c ^ _ALL))) + _MD5_T[57] + x15)
        d = _u32(a + ((x << 10) | (x >> 22)))
        x = _u32(c + (a ^ (d | (b ^ _ALL))) + _MD5_T[58] + x06)
        c = _u32(d + ((x << 15) | (x >> 17)))
        x = _u32(b + (d ^ (c | (a ^ _ALL))) + _MD5_T[59] + x13)
        b = _u32(c + ((x << 21) | (x >> 11)))
        x = _u32(a + (c ^ (b | (d ^ _ALL))) + _MD5_T[60] + x04)
        a = _u32(b + ((x << 6) | (x >> 26)))
        x = _u32(d + (b ^ (a | (c ^ _ALL))) + _MD5_T[61] + x11)
        d = _u32(a + ((x << 10) | (x >> 22)))
        x = _u32(c + (a ^ (d | (b ^ _ALL))) + _MD5_T[62] + x02)
        c = _u32(d + ((x << 15) | (x >> 17)))
        x = _u32(b + (d ^ (c | (a ^ _ALL))) + _MD5_T[63] + x09)
        b = _u32(c + ((x << 21) | (x >> 11)))
        B[(_S + 0) * _L + j] = a
        B[(_S + 1) * _L + j] = b
        B[(_S + 2) * _L + j] = c
        B[(_S + 3) * _L + j] = d


@njit(nogil=True, cache=True)
def _bswap(x):
    """Byte-reverse a 32-bit word."""
    return _u32(((x & _BYTE0) << _U24) | ((x & _BYTE1) << _U8) | ((x >> _U8) & _BYTE1) | (x >> _U24))


@njit(nogil=True, cache=True)
def _scan_md5(template, nbytes, dpos, kpos, weights, lconst, lut, wlo, whi, lo, hi,
              ts_bitmap, ts_shift, ts_keys, ts_index, out_c, out_i):
    B, blk, bw, dword, dshift, g = _setup(template, nbytes, False, dpos, kpos, weights, lconst, wlo, whi, lo)
    start = 4 * (wlo // 4)            # steps 0..15 read words 0..15 in order
    for j in range(_L):
        for k in range(4):
            B[(_S + k) * _L + j] = _MD5_IV[k]
    _md5_rounds(B, 0, start)
    for i in range(4 * _L):
        B[_M * _L + i] = B[_S * _L + i]
    keys = np.empty(_L, dtype=np.uint64)
    nh = 0
    c = lo
    while c < hi and nh < out_c.shape[0]:
        n = min(_L, hi - c)
        _fill(B, blk, bw, dword, dshift, g, dpos, weights, lut, n)
        for i in range(4 * _L):
            B[_S * _L + i] = B[_M * _L + i]
        _md5_rounds(B, start, 64)
        for j in range(_L):     # digest bytes are A, B little-endian: the key reads them big-endian
            h0 = _u32(B[_S * _L + j] + _MD5_IV[0])
            h1 = _u32(B[(_S + 1) * _L + j] + _MD5_IV[1])
            keys[j] = (np.uint64(_bswap(h0)) << _SH32) | np.uint64(_bswap(h1))
        nh, done = _match(keys, n, c, ts_bitmap, ts_shift, ts_keys, ts_index, out_c, out_i, nh)
        c += done                     # done < n only when the hit buffer is full: the loop ends
    return nh, c


@njit(nogil=True, cache=True)
def _messages(template, nbytes, dpos, kpos, weights, lconst, lut, wlo, whi, lo, n):
    """The messages of counters lo..lo+n-1 read back from the (big-endian) message words that the
    scan kernels hash: rows of ``nbytes`` bytes. For the tests."""
    B, blk, bw, dword, dshift, g = _setup(template, nbytes, True, dpos, kpos, weights, lconst, wlo, whi, lo)
    out = np.empty((n, nbytes), dtype=np.uint8)
    done = 0
    while done < n:
        m = min(_L, n - done)
        _fill(B, blk, bw, dword, dshift, g, dpos, weights, lut, m)
        for j in range(m):
            for i in range(nbytes):
                out[done + j, i] = (B[(_W + i // 4) * _L + j] >> (8 * (3 - i % 4))) & 0xFF
        done += m
    return out


_SCANS = {"md5": _scan_md5, "sha1": _scan_sha1, "sha256": _scan_sha256}


# ---------------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------------

def available() -> bool:
    """True when numba is importable, so ``search`` can run; otherwise use ``search_hashlib``."""
    return numba is not None


def numba_version() -> str | None:
    """numba's version, or None when it is not installed."""
    return None if numba is None else numba.__version__


def default_threads() -> int:
    """One thread per core this process may run on (``os.sched_getaffinity``, else ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _threads(threads) -> int:
    if threads is None:
        return default_threads()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= 1024:
        raise ValueError(f"threads must be an integer between 1 and 1024. Got {threads!r} instead.")
    return int(threads)


def _targets(targets) -> TargetSet:
    return targets if isinstance(targets, TargetSet) else TargetSet(targets)


def _run(scan, plan: _Plan, lo: int, hi: int, ts: TargetSet) -> list[tuple[int, int]]:
    """One thread's share: call the kernel until [lo, hi) is done (it returns early on a full buffer)."""
    out_c = np.empty(_CAP, dtype=np.int64)
    out_i = np.empty(_CAP, dtype=np.int64)
    tmpl = np.frombuffer(plan.template, dtype=np.uint8)
    hits = []
    while lo < hi:
        nh, lo = scan(tmpl, len(plan.template), plan.dpos, plan.kpos, plan.weights, plan.lconst, plan.lut,
                      plan.wlo, plan.whi, lo, hi, ts.bitmap, ts.shift, ts.keys, ts.index, out_c, out_i)
        hits.extend(zip(out_c[:nh].tolist(), out_i[:nh].tolist(), strict=True))
    return hits


def search(algorithm: str, template: bytes, lo: int, hi: int, targets_u64, *, threads: int | None = None,
           chunk: int | None = None, progress: Callable[[int, int], None] | None = None) -> list[tuple[int, int]]:
    """Hash ``candidate(template, c)`` for every counter ``c`` in ``[lo, hi)`` with ``algorithm``
    (``"md5"``, ``"sha1"`` or ``"sha256"``) and return the ``(counter, index)`` pairs, sorted by counter,
    whose digest's first 64 bits (big-endian) equal ``targets_u64[index]``.

    ``targets_u64``: ``uint64`` digest prefixes (``prefix_u64``), or a ``TargetSet`` built once for many
    calls. With duplicate values the first index is reported. A hit matches 64 bits only: re-check it
    with ``hashlib`` (``reverse`` does). ``threads``: worker threads (default: one per core).
    ``chunk``: counters per task handed to a thread (default: about 1/8 of a thread's share, within
    65,536..4,194,304). ``progress(done, total)`` is called from the calling thread, in counters, as
    tasks finish.

    Rate: ≈15–25 M SHA-256 candidates/s per core on this machine, 4–5× OpenSSL's rate for single
    16-byte messages (``benchmarks/hash_kernel.py``). Raises ``ValueError`` for a bad algorithm,
    template, range, targets, threads or chunk, and ``RuntimeError`` when numba is not installed."""
    algo = _algorithm(algorithm)
    plan = template if isinstance(template, _Plan) else _Plan(template)
    lo, hi = _range(plan, lo, hi)
    nthreads = _threads(threads)
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1):
        raise ValueError(f"chunk must be a positive integer. Got {chunk!r} instead.")
    ts = _targets(targets_u64)
    if not available():
        raise RuntimeError("The hash kernel needs numba (pip install numba); use search_hashlib instead.")
    total = hi - lo
    if total == 0 or len(ts) == 0:
        if progress is not None:
            progress(total, total)
        return []
    scan = _SCANS[algo]
    if chunk is None:
        chunk = min(1 << 22, max(1 << 16, -(-total // (8 * nthreads))))
    tasks = [(a, min(a + int(chunk), hi)) for a in range(lo, hi, int(chunk))]
    hits: list[tuple[int, int]] = []
    if nthreads == 1 or len(tasks) == 1:
        for a, b in tasks:
            hits.extend(_run(scan, plan, a, b, ts))
            if progress is not None:
                progress(b - lo, total)
    else:
        if not _compiled(scan):          # compile once here rather than in every worker at once
            _run(scan, plan, lo, lo + 1, ts)
        pool = ThreadPoolExecutor(max_workers=min(nthreads, len(tasks)), thread_name_prefix="hashkernel")
        try:
            futures = [pool.submit(_run, scan, plan, a, b, ts) for a, b in tasks]
            done = 0
            for (a, b), fut in zip(tasks, futures, strict=True):
                hits.extend(fut.result())
                done += b - a
                if progress is not None:
                    progress(done, total)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    hits.sort()
    return hits


def _compiled(scan) -> bool:
    return bool(getattr(scan, "signatures", ()))


def search_hashlib(algorithm: str, template: bytes, lo: int, hi: int, targets_u64, *,
                   threads: int | None = None, **_ignored) -> list[tuple[int, int]]:
    """``search`` in plain Python with ``hashlib`` (one thread; ``threads`` is accepted and ignored):
    the same arguments, validation and result, a few hundred thousand candidates per second. The fallback when
    numba is missing, and the reference the kernel is tested against."""
    algo = _algorithm(algorithm)
    plan = template if isinstance(template, _Plan) else _Plan(template)
    lo, hi = _range(plan, lo, hi)
    _threads(threads)
    ts = _targets(targets_u64)
    if len(ts) == 0:
        return []
    where = dict(zip(ts.keys.tolist(), ts.index.tolist(), strict=True))
    new = getattr(hashlib, algo)
    hits = []
    for c in range(lo, hi):
        key = int.from_bytes(new(plan.message(c)).digest()[:8], "big")
        if key in where:
            hits.append((c, where[key]))
    return hits


def reverse(algorithm: str, template: bytes, lo: int, hi: int, hexdigests: Iterable[str], *,
            threads: int | None = None, salt_prefix: bytes = b"", salt_suffix: bytes = b"") -> dict[str, bytes]:
    """Reverse hex digests (full, or truncated to ≥ 16 hex digits) over ``template``'s counters
    ``[lo, hi)``: ``{hexdigest (lower case, as given): message}`` for each digest that a candidate's
    ``hashlib`` digest really starts with (every kernel hit re-checked in full). ``salt_prefix`` and
    ``salt_suffix``: known constant bytes hashed before and after each candidate (taken literally, even
    ``#``, ``L`` or digits; the returned message includes them). Uses the kernel when numba is
    available, else ``search_hashlib``."""
    algo = _algorithm(algorithm)
    if isinstance(hexdigests, (str, bytes)):
        raise ValueError("reverse takes an iterable of hex digests, not a single string.")
    given = list(hexdigests)
    prefix_u64(given)                                 # validates
    wanted = sorted({h.strip().lower() for h in given})
    prefixes = prefix_u64(wanted)
    by_prefix: dict[int, list[str]] = {}
    for h in wanted:
        by_prefix.setdefault(int(h[:16], 16), []).append(h)
    finder = search if available() else search_hashlib
    new = getattr(hashlib, algo)
    # a known constant salt before and after the identifier: literal bytes of the message
    plan = _Plan(bytes(salt_prefix) + bytes(template) + bytes(salt_suffix), literal=(len(salt_prefix), len(salt_suffix)))
    found: dict[str, bytes] = {}
    for counter, idx in finder(algo, plan, lo, hi, prefixes, threads=threads):
        msg = plan.message(counter)
        full = new(msg).hexdigest()
        for h in by_prefix[int(prefixes[idx])]:
            if full.startswith(h):
                found.setdefault(h, msg)
    return found


def warmup(algorithms: Iterable[str] = ALGORITHMS) -> dict[str, float]:
    """Compile (or load from the on-disk cache) the kernels of ``algorithms`` now; return the seconds
    each took (compile time: several seconds the first time, well under one when cached)."""
    if not available():
        raise RuntimeError("The hash kernel needs numba (pip install numba).")
    algos = [_algorithm(a) for a in algorithms]
    plan = _Plan(b"#")
    ts = TargetSet(np.array([0], dtype=np.uint64))
    took = {}
    for algo in algos:
        t0 = time.perf_counter()
        _run(_SCANS[algo], plan, 0, 1, ts)
        took[algo] = time.perf_counter() - t0
    return took


def _kernel_messages(template: bytes, lo: int, n: int) -> list[bytes]:
    """The messages of counters lo..lo+n-1 built by the kernels' own digit code (for tests)."""
    plan = _Plan(template)
    lo, _ = _range(plan, lo, lo + n)
    rows = _messages(np.frombuffer(plan.template, dtype=np.uint8), len(plan.template), plan.dpos,
                     plan.kpos, plan.weights, plan.lconst, plan.lut, plan.wlo, plan.whi, lo, n)
    return [bytes(r) for r in rows]
