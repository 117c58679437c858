"""Pseudonym reversal: unsalted hashes of identifiers are undone by enumerating their space.

A mobile number is ``+92 3XY NNNNNNN``: per prefix ``3XY`` there are 10⁷ numbers, so an operator's
whole range (≈20 prefixes) is 2·10⁸ candidates, the national plan (``numbering.PLAN_PREFIXES``, 53
prefixes) 5.3·10⁸ — seconds to minutes of hashing. An IMSI is MCC + MNC + MSIN (10¹⁰ per network), an
IMEI a TAC + 6-digit serial + Luhn digit (10⁶ per device type), a CNIC a 5-digit area head + 8 digits.
The attack:

1. **Detect** the hash from the pseudonyms' form: 32 hex digits → MD5, 40 → SHA-1, 64 → SHA-256
   (anything else, or mixed lengths, is not a plain hash), unless the algorithm is given: then
   pseudonyms of 16 or more hex digits are digests truncated to that prefix.
2. **Enumerate** every candidate of the given groups (prefixes, heads, PLMNs or TACs) and serials in
   each written form, with a known salt around it if given, hash it in the compiled kernel
   (``hashkernel``: numba, 16 candidates per SIMD step, every core) and look it up among the
   pseudonyms; the first group is probed in every form and the search continues with the form(s)
   that hit. A time limit stops it, and the time for the whole space is extrapolated.
3. **Report** the reversed share of distinct pseudonyms with a Wilson interval, hashes per second,
   and, with a truth map, whether each reversal is the right value.

Keyed hashes (HMAC with a secret) and random tokens are not reversed: the attacker cannot compute
them, which the tests show. ``linkability`` tells whether two releases share pseudonyms.
Reversed values are returned only when asked for (``reveal=True``, which issues a
``PrivacyLeakWarning``); reports carry counts only. ``reverse_plan_slice`` is the budgeted reversal of
the audit, ``compare`` and the pytest gate, with their one extrapolation to the whole national plan.
"""

from __future__ import annotations

import hashlib
import re
import time
import warnings
from dataclasses import dataclass, replace

import numpy as np

from ..errors import PrivacyLeakWarning, UsageError
from ..numbering import FORMS, LEADS, PLAN_PREFIXES, PLAN_SERIALS, to_e164, written
from ..result import AttackResult
from ..rules import rule_id
from ..stats import rate
from .inputs import PseudonymInput
from .validation import _bad, _int_between

ALGORITHMS = {32: "md5", 40: "sha1", 64: "sha256"}
SERIALS = PLAN_SERIALS
_HEX = re.compile(r"[0-9a-f]+")


def detect_algorithm(pseudonyms) -> str | None:
    lengths = {len(p) for p in pseudonyms}
    if len(lengths) != 1:
        return None
    (length,) = lengths
    if length not in ALGORITHMS or not all(_HEX.fullmatch(p) for p in pseudonyms):
        return None
    return ALGORITHMS[length]


def _distinct(values) -> list[str]:
    return sorted({str(p).strip().lower() for p in values if p is not None and str(p).strip()})


KINDS = ("msisdn", "cnic", "imsi", "imei")
#: The written forms of each kind of identifier: MSISDN ``+923001234567`` / ``923001234567`` /
#: ``03001234567``; CNIC ``35202-1234567-1`` / ``3520212345671``; IMSI the 15 digits; IMEI the 15
#: digits with the Luhn check digit (``luhn``) or the 14-digit body without it (``body``).
KIND_FORMS = {"msisdn": FORMS, "cnic": ("dashed", "plain"), "imsi": ("digits",), "imei": ("luhn", "body")}
#: Hex digits of each algorithm's full digest; a pseudonym of 16 hex digits or more but fewer is a
#: *truncated* digest, matched by prefix (the algorithm must then be given).
DIGEST_HEX = {"md5": 32, "sha1": 40, "sha256": 64}
#: Serials per group (prefix, head, PLMN or TAC) of each kind, when no serial range is given:
#: 10⁷ numbers per mobile prefix, 10⁷ serials per CNIC head (× its 10 check digits), 10⁶ serials per
#: TAC; an IMSI's MSIN has 15 − len(PLMN) digits (``_serial_space``).
SERIAL_SPACE = {"msisdn": SERIALS, "cnic": SERIALS, "imei": 10 ** 6}
#: Pakistan's mobile networks (MCC 410 + MNC): Jazz (01), Zong (04), Ufone (03), Telenor (06), and
#: Jazz's former Warid range (07): what ``--kind imsi`` enumerates in the audit.
PK_PLMNS = ("41001", "41003", "41004", "41006", "41007")


@dataclass(frozen=True)
class _Search:
    algorithm: str | None
    found: dict          # pseudonym (hex, lower case) → the candidate message, salt stripped
    hashed: int          # candidates hashed
    used_forms: list
    sweep_s: float       # time spent hashing (set-up excluded)
    elapsed_s: float
    space: int = 0       # candidates of the whole space searched (every group, the forms in use)
    complete: bool = True
    kernel: str = ""


@dataclass(frozen=True, kw_only=True)
class HashReversal:
    """Enumerate an identifier space against hash pseudonyms (Demir et al. 2018).

    Kinds (``kind``) and their groups, each × serials [``serial_lo``, ``serial_hi``) × ``forms``:

    - ``msisdn``: mobile ``prefixes`` 3XY × 7-digit serials, written ``+923…``, ``923…``, ``03…``;
    - ``cnic``: 5-digit ``heads`` (what an attacker targeting an area knows) × 7-digit serials × the
      10 check digits, ``XXXXX-XXXXXXX-X`` or 13 plain digits (the whole space, 7·10¹², is out of reach);
    - ``imsi``: ``plmns`` (MCC + MNC, 5 or 6 digits, e.g. ``41001``) × the MSIN (15 − len digits: 10¹⁰
      per 5-digit PLMN): the 15-digit IMSI;
    - ``imei``: 8-digit type allocation codes ``tacs`` × 6-digit serials, with the Luhn check digit
      (``luhn``, 15 digits) or without it (``body``, 14 digits).

    The digest is detected by its length (32 hex digits MD5, 40 SHA-1, 64 SHA-256) unless ``algorithm``
    is given; with it, pseudonyms of 16 or more hex digits but fewer than the digest's are *truncated*
    digests and are matched by prefix. ``salt_prefix``/``salt_suffix``: one known constant salt hashed
    before/after the identifier (``sha256("salt|" + number)``). The first group is probed in every form
    and the search goes on in the forms that hit (all when none did).

    Hashing runs in the compiled kernel (``hashkernel``: numba, every core; ``workers`` threads) or,
    without numba, in ``hashlib``. ``time_limit`` (seconds): stop when it is spent; the result then says
    ``complete: false`` and ``whole_space_s_estimate`` extrapolates the time for the whole space from
    the measured rate.

    ``unique_rate`` = distinct pseudonyms reversed / distinct pseudonyms; ``correct_rate`` (with a
    truth map) = reversed to the right value / distinct pseudonyms. ``reveal`` puts the reversed
    values in the result (personal data: a ``PrivacyLeakWarning`` is issued). No baseline (an
    enumeration, not a guess): ``baseline_rate`` is None."""

    prefixes: tuple[int, ...] = tuple(range(300, 310)) + tuple(range(320, 330))
    forms: tuple[str, ...] | None = None
    serial_lo: int = 0
    serial_hi: int | None = None
    workers: int | None = None
    chunk: int = 1 << 24
    kind: str = "msisdn"
    heads: tuple[str, ...] = ()
    plmns: tuple[str, ...] = ()
    tacs: tuple[str, ...] = ()
    algorithm: str | None = None
    salt_prefix: str = ""
    salt_suffix: str = ""
    time_limit: float | None = None
    reveal: bool = False

    def _forms(self) -> tuple[str, ...]:
        return self.forms or KIND_FORMS.get(self.kind, ())

    def _serial_space(self) -> int:
        """Serials per group: the smallest over the PLMNs for ``imsi``."""
        if self.kind == "imsi":
            return min((10 ** (15 - len(str(p))) for p in self.plmns), default=10 ** 10)
        return SERIAL_SPACE[self.kind]

    def _serials(self) -> tuple[int, int]:
        return self.serial_lo, self._serial_space() if self.serial_hi is None else self.serial_hi

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"Parameter `kind` must be one of {', '.join(KINDS)}. Got {self.kind!r} instead.")
        allowed = KIND_FORMS[self.kind]
        bad = [f for f in self._forms() if f not in allowed]
        if bad or not self._forms():
            raise UsageError(f"Parameter `forms` must be among {', '.join(allowed)}. Got {bad or self.forms!r} instead.")
        if self.kind == "msisdn" and (not self.prefixes or not all(300 <= int(p) <= 399 for p in self.prefixes)):
            raise UsageError("Parameter `prefixes` must list mobile prefixes between 300 and 399 (e.g. 300,301).")
        if self.kind == "cnic" and (not self.heads or not all(re.fullmatch(r"[1-7]\d{4}", h) for h in self.heads)):
            raise UsageError("Parameter `heads` must list 5-digit CNIC heads starting with a province digit 1-7 "
                             "(e.g. 35202).")
        if self.kind == "imsi" and (not self.plmns or not all(re.fullmatch(r"[2-7]\d{4,5}", str(p))
                                                             for p in self.plmns)):
            raise UsageError("Parameter `plmn` must list networks as MCC + MNC, 5 or 6 digits (e.g. 41001,41006).")
        if self.kind == "imei" and (not self.tacs or not all(re.fullmatch(r"\d{8}", str(t)) for t in self.tacs)):
            raise UsageError("Parameter `tac` must list 8-digit type allocation codes (e.g. 35693803).")
        lo, hi = self._serials()
        space = self._serial_space()
        if not isinstance(lo, int) or not isinstance(hi, int) or not 0 <= lo < hi <= space:
            raise UsageError(f"Serial range must satisfy 0 <= lo < hi <= {space:,} for {self.kind}. "
                             f"Got {lo}-{hi} instead.")
        if self.algorithm is not None and self.algorithm not in DIGEST_HEX:
            raise UsageError(f"Parameter `algorithm` must be one of {', '.join(DIGEST_HEX)}. "
                             f"Got {self.algorithm!r} instead.")
        for name in ("salt_prefix", "salt_suffix"):
            salt = getattr(self, name)
            if not isinstance(salt, str) or not salt.isprintable():
                _bad(name, salt, "printable text")
        longest = max(len(t.encode()) for _, t, _, _ in (e for g in self._groups() for e in g))
        if longest + len(self.salt_prefix.encode()) + len(self.salt_suffix.encode()) > 55:
            raise UsageError("The salt is too long: salt and identifier must fit 55 bytes (one hash block).")
        if self.workers is not None:
            _int_between("workers", self.workers, 1, 256)
        _int_between("chunk", self.chunk, 1)
        if self.time_limit is not None and (isinstance(self.time_limit, bool) or
                                            not isinstance(self.time_limit, (int, float)) or not self.time_limit > 0):
            _bad("time_limit", self.time_limit, "a positive number of seconds")
        if not isinstance(self.reveal, bool):
            _bad("reveal", self.reveal, "True or False")

    def _groups(self) -> list[list[tuple[str, str, int, int]]]:
        """Per group (prefix, head, PLMN or TAC): (form, template, counter lo, counter hi) in every form.
        A template's ``#`` take the counter's digits and a final ``L`` the Luhn digit (``hashkernel``)."""
        lo, hi = self._serials()
        if self.kind == "msisdn":
            return [[(f, f"{LEADS[f]}{int(p):03d}#######", lo, hi) for f in self._forms()] for p in self.prefixes]
        if self.kind == "cnic":     # the counter is serial × 10 + check digit
            return [[(f, f"{h}-#######-#" if f == "dashed" else f"{h}########", lo * 10, hi * 10)
                     for f in self._forms()] for h in self.heads]
        if self.kind == "imsi":
            return [[(f, f"{p}{'#' * (15 - len(str(p)))}", lo, hi) for f in self._forms()] for p in self.plmns]
        return [[(f, f"{t}######L" if f == "luhn" else f"{t}######", lo, hi) for f in self._forms()]
                for t in self.tacs]

    def space(self, forms=None) -> int:
        """Candidates of the whole space in ``forms`` (default: every form of the search)."""
        forms = set(self._forms() if forms is None else forms)
        return sum(hi - lo for g in self._groups() for f, _, lo, hi in g if f in forms)

    def params(self) -> dict:
        lo, hi = self._serials()
        params = {"kind": self.kind, "forms": list(self._forms()), "serials": [lo, hi]}
        params.update({"msisdn": {"prefixes": [int(p) for p in self.prefixes]}, "cnic": {"heads": list(self.heads)},
                       "imsi": {"plmns": [str(p) for p in self.plmns]}, "imei": {"tacs": [str(t) for t in self.tacs]}
                       }[self.kind])
        params.update({"algorithm": self.algorithm, "salted": bool(self.salt_prefix or self.salt_suffix),
                       "time_limit_s": self.time_limit, "workers": self.workers, "chunk": self.chunk,
                       "reveal": self.reveal})
        return params

    def targets(self, distinct: list[str]) -> tuple[str | None, list[str]]:
        """The algorithm and the pseudonyms it can reverse: every distinct value when the digest length
        says the algorithm; with ``algorithm`` given, the hex values of 16 hex digits up to the digest's
        (shorter ones are truncated digests, matched by prefix)."""
        if self.algorithm is None:
            return detect_algorithm(distinct), distinct
        top = DIGEST_HEX[self.algorithm]
        return self.algorithm, [p for p in distinct if 16 <= len(p) <= top and _HEX.fullmatch(p)]

    def _search(self, distinct: list[str]) -> _Search:
        """Enumerate the candidates against the distinct (lower-case) pseudonyms."""
        from . import hashkernel

        t0 = time.perf_counter()
        algo, wanted = self.targets(distinct)
        found: dict[str, str] = {}
        hashed, used_forms, sweep_s, complete = 0, [], 0.0, True
        kernel = "numba" if hashkernel.available() else "hashlib"
        groups = self._groups()
        if algo is None or not wanted:
            return _Search(algo, found, 0, [], 0.0, time.perf_counter() - t0, self.space(), True, kernel)
        pre, suf = self.salt_prefix.encode(), self.salt_suffix.encode()
        remaining = set(wanted)
        t_sweep = time.perf_counter()

        def sweep(entries) -> set:
            nonlocal hashed, complete
            hit_forms = set()
            for form, template, lo, hi in entries:
                for a in range(lo, hi, self.chunk):
                    if self.time_limit is not None and time.perf_counter() - t_sweep >= self.time_limit:
                        complete = False
                        return hit_forms
                    b = min(a + self.chunk, hi)
                    if remaining:
                        got = hashkernel.reverse(algo, template.encode(), a, b, remaining, threads=self.workers,
                                                 salt_prefix=pre, salt_suffix=suf)
                        for h, msg in got.items():
                            found[h] = msg[len(pre):len(msg) - len(suf)].decode()
                            remaining.discard(h)
                            hit_forms.add(form)
                    hashed += b - a
            return hit_forms

        hit = sweep(groups[0])
        used_forms = sorted(hit) if hit else list(self._forms())
        if complete:
            sweep([e for g in groups[1:] for e in g if e[0] in used_forms])
        sweep_s = time.perf_counter() - t_sweep
        # the first group was probed in every form, the others in the forms in use
        first = sum(hi - lo for f, _, lo, hi in groups[0] if f not in used_forms)
        space = self.space(used_forms) + first
        return _Search(algo, found, hashed, used_forms, sweep_s, time.perf_counter() - t0, space, complete, kernel)

    def _result(self, distinct: list[str], search: _Search, truth: dict | None) -> AttackResult:
        n, k = len(distinct), len(search.found)
        n_correct = None
        if truth is not None:
            norm = {str(a).strip().lower(): b for a, b in truth.items()}
            n_correct = sum(1 for h, text in search.found.items() if self._canonical(text) == self._canonical(
                str(norm.get(h, ""))))
        elapsed = search.elapsed_s
        per_s = search.hashed / search.sweep_s if search.sweep_s > 0 else None
        algo = search.algorithm
        truncated = sorted({len(p) for p in search.found or distinct if algo and len(p) < DIGEST_HEX.get(algo, 0)})
        extra = {"algorithm": algo or "not a plain hash",
                 "forms_found": search.used_forms if search.found else [],
                 "candidates_hashed": search.hashed,
                 "hashes_per_s": round(per_s) if per_s else None,
                 "kernel": search.kernel,
                 "space_candidates": search.space, "complete": search.complete,
                 "whole_space_s_estimate": round(search.space / per_s, 1) if per_s else None}
        if truncated:
            extra["truncated_hex_digits"] = truncated
        if self.reveal:
            extra["reversed"] = {h: self._canonical(t) for h, t in sorted(search.found.items())}
            if search.found:
                what = {"cnic": "CNIC", "msisdn": "phone", "imsi": "IMSI", "imei": "IMEI"}[self.kind]
                warnings.warn(f"the result holds {k:,} reversed {what} number(s) in clear (reveal=True): personal "
                              "data; keep it as secret as the data itself.", PrivacyLeakWarning, stacklevel=3)
        return AttackResult(
            attack="hash-reversal", rule_id=rule_id("hash-reversal"), engine="python", seed=None, params=self.params(),
            n_targets=n, n_skipped=0, n_unique=k, n_correct=n_correct, unique_rate=rate(k, n),
            correct_rate=rate(n_correct, n) if truth is not None else None, anonymity_set=None,
            elapsed_s=round(elapsed, 3), extra=extra)

    def run(self, engine, release: PseudonymInput, *, knowledge=None,
            truth: dict[str, str] | None = None) -> AttackResult:
        """Enumerate against ``release.values`` (blank and repeated pseudonyms are ignored; case does
        not matter). ``truth``: pseudonym → true value (an E.164 number, a CNIC, an IMSI or an IMEI),
        to score the reversals. ``engine`` is not used (hashing runs in the kernel; the result says
        ``python``).

        With ``reveal=True`` the reversed values are put in ``extra["reversed"]`` and a
        ``PrivacyLeakWarning`` is issued when there is at least one."""
        self.validate()
        if not isinstance(release, PseudonymInput):
            _bad("release", release, "a PseudonymInput (the pseudonyms and their source)")
        if knowledge is not None:
            raise UsageError("The hash-reversal attack needs no `knowledge` (the identifier space is public).")
        distinct = _distinct(release.values)
        return self._result(distinct, self._search(distinct), truth)

    def _canonical(self, text: str) -> str:
        """E.164 for numbers; ``XXXXX-XXXXXXX-X`` for CNICs; the 15 digits of an IMSI or IMEI (an IMEI
        body gets its Luhn digit)."""
        if self.kind == "cnic":
            d = text.replace("-", "")
            return f"{d[:5]}-{d[5:12]}-{d[12]}" if len(d) == 13 else text
        if self.kind == "imei":
            d = "".join(ch for ch in text if ch.isdigit())
            if len(d) == 14:
                from .hashkernel import luhn_digit

                d += str(luhn_digit(d))
            return d
        if self.kind == "imsi":
            return "".join(ch for ch in text if ch.isdigit())
        return to_e164(text) if text else text


#: Candidates of the one-core calibration of ``hash_rate``.
CALIBRATION_HASHES = 20_000


def hash_rate(algorithm: str, n: int = CALIBRATION_HASHES) -> float:
    """Candidates hashed per second by one core (``n`` numbers of prefix 300 in E.164 form)."""
    new = getattr(hashlib, algorithm)
    t0 = time.perf_counter()
    for serial in range(n):
        new(f"+92300{serial:07d}".encode()).digest()
    return n / max(time.perf_counter() - t0, 1e-9)


@dataclass(frozen=True)
class PlanReversal:
    """The budgeted reversal of ``reverse_plan_slice``.

    ``result``: the ``HashReversal`` result over the slice (counts only, no number), with
    ``extra["slice"]`` (prefix, serials), ``plan_numbers``, ``plan_forms``, ``plan_hashes_per_s`` and
    ``full_plan_hours_estimate``; ``reversed``: the pseudonyms (lower case) that were reversed, for
    callers that count them per table (never the numbers, never serialized); ``serial_hi``: the end
    of the serial range tried; ``hashes_per_s`` and ``full_plan_minutes``: the rate and the
    estimate (None when the pseudonyms are not hash-shaped)."""

    result: AttackResult
    reversed: frozenset
    serial_hi: int
    hashes_per_s: float | None
    full_plan_minutes: float | None


def reverse_plan_slice(pseudonyms, *, budget: int, truth: dict[str, str] | None = None,
                       workers: int | None = None) -> PlanReversal:
    """The budgeted numbering-plan reversal (the audit's reversible-pseudonyms rule, ``compare``, the pytest gate) and its
    extrapolation to the whole national plan.

    **Slice**: prefix ``PLAN_PREFIXES[0]`` (300), serials [0, ``budget`` // 3) in each of the 3 written
    forms, so at most ``budget`` candidates are hashed (``budget``: an integer from 3 to 3·10⁷, the
    whole prefix). **Estimate**: the whole plan is ``len(PLAN_PREFIXES)`` prefixes × 10⁷ serials × the
    written forms that matched (all 3 when none did), hashed at ``hashes_per_s`` = the faster of the
    enumeration's own throughput (candidates / time spent hashing, the worker pool's start-up
    excluded) and a one-core calibration (``hash_rate``): an attacker hashes at least that fast, so
    the estimate errs towards less time. ``full_plan_minutes`` = plan candidates / rate / 60.
    """
    _int_between("budget", budget, len(FORMS), len(FORMS) * SERIALS)
    serial_hi = budget // len(FORMS)
    attack = HashReversal(prefixes=(PLAN_PREFIXES[0],), serial_lo=0, serial_hi=serial_hi, workers=workers)
    attack.validate()
    distinct = _distinct(pseudonyms)
    search = attack._search(distinct)
    res = attack._result(distinct, search, truth)
    rate_s = minutes = None
    forms = list(search.used_forms if search.found else FORMS)
    plan_numbers = len(PLAN_PREFIXES) * PLAN_SERIALS
    if search.algorithm is not None:
        own = search.hashed / search.sweep_s if search.sweep_s > 0 else 0.0
        rate_s = max(own, hash_rate(search.algorithm))
        minutes = plan_numbers * len(forms) / rate_s / 60
    extra = dict(res.extra)
    extra.update({"slice": {"prefix": PLAN_PREFIXES[0], "serials": [0, serial_hi]}, "plan_numbers": plan_numbers,
                  "plan_forms": forms, "plan_hashes_per_s": round(rate_s) if rate_s else None,
                  "full_plan_hours_estimate": round(minutes / 60, 3) if minutes is not None else None})
    return PlanReversal(result=replace(res, extra=extra), reversed=frozenset(search.found), serial_hi=serial_hi,
                        hashes_per_s=rate_s, full_plan_minutes=minutes)


#: What the audit's reversal tries on hash-shaped pseudonyms, each kind a slice of ``budget``
#: candidates: MSISDNs (prefix 300, every written form; the space: the national plan) and IMSIs (the
#: first MSINs of the policy's networks, Jazz's 41001 by default; the space: Pakistan's networks). CNICs
#: need the target area's heads and IMEIs the device types' TACs, which an export does not tell: the
#: policy names them (``heads``, ``tacs``), and then they are tried too.
AUDIT_KINDS = ("msisdn", "imsi", "cnic", "imei")


@dataclass(frozen=True)
class KindReversal:
    """One slice of ``audit_reversal``: ``kind``, ``algorithm``, the pseudonyms ``reversed`` (lower
    case), ``hashed`` candidates, the measured ``hashes_per_s``, ``space``: the candidates of the kind's
    whole space (the national mobile plan; every MSIN of Pakistan's networks and the policy's; every
    serial of the given CNIC heads or IMEI TACs; in the forms that matched, else all), and
    ``whole_space_s``: the time it takes at that rate; ``truncated``: the pseudonyms were shorter than
    the digest (matched by prefix)."""

    kind: str
    algorithm: str
    reversed: frozenset
    hashed: int
    hashes_per_s: float | None
    whole_space_s: float | None
    space: int
    truncated: bool


def audit_reversal(pseudonyms, *, budget: int, plmns=(PK_PLMNS[0],), heads=(), tacs=(), salt_prefix: str = "",
                   salt_suffix: str = "", workers: int | None = None) -> list[KindReversal]:
    """Every kind the pseudonyms could be, within ``budget`` candidates per kind and algorithm: the
    algorithm from the digest length (32, 40, 64 hex digits) and, for hex values of 16 hex digits or
    more, every algorithm whose digest is longer (a truncated digest); mobile numbers and IMSIs
    always, CNICs of ``heads`` and IMEIs of ``tacs`` when given; with a known constant salt around
    each identifier when given. Values reversed by one slice are not looked for again."""
    distinct = [p for p in _distinct(pseudonyms) if _HEX.fullmatch(p)]
    lengths = {len(p) for p in distinct}
    if len(lengths) != 1 or min(lengths) < 16:
        return []
    (length,) = lengths
    algorithms = [a for a, n in DIGEST_HEX.items() if n >= length]
    exact = {n: a for a, n in DIGEST_HEX.items()}.get(length)
    if exact:                                  # the exact-length algorithm first
        algorithms.remove(exact)
        algorithms.insert(0, exact)
    salt = {"salt_prefix": salt_prefix, "salt_suffix": salt_suffix, "workers": workers}
    plmns, heads, tacs = tuple(plmns), tuple(heads), tuple(tacs)

    def slices(algo):
        """(kind, attack over at most ``budget`` candidates, the whole space's attack)."""
        yield ("msisdn", HashReversal(prefixes=(PLAN_PREFIXES[0],), serial_hi=max(1, budget // len(FORMS)),
                                      algorithm=algo, **salt),
               HashReversal(prefixes=PLAN_PREFIXES, algorithm=algo, **salt))
        if plmns:
            yield ("imsi", HashReversal(kind="imsi", plmns=plmns, serial_hi=max(1, budget // len(plmns)),
                                        algorithm=algo, **salt),
                   HashReversal(kind="imsi", plmns=tuple(dict.fromkeys(PK_PLMNS + plmns)), algorithm=algo, **salt))
        if heads:
            per = max(1, budget // (10 * len(heads) * len(KIND_FORMS["cnic"])))
            yield ("cnic", HashReversal(kind="cnic", heads=heads, serial_hi=min(per, SERIALS), algorithm=algo,
                                        **salt), HashReversal(kind="cnic", heads=heads, algorithm=algo, **salt))
        if tacs:
            per = max(1, budget // (len(tacs) * len(KIND_FORMS["imei"])))
            yield ("imei", HashReversal(kind="imei", tacs=tacs, serial_hi=min(per, SERIAL_SPACE["imei"]),
                                        algorithm=algo, **salt), HashReversal(kind="imei", tacs=tacs, algorithm=algo,
                                                                              **salt))

    remaining = set(distinct)
    out = []
    for algo in algorithms:
        for kind, attack, whole in slices(algo):
            if not remaining:
                return out
            attack.validate()
            search = attack._search(sorted(remaining))
            rate_s = search.hashed / search.sweep_s if search.sweep_s > 0 else None
            space = whole.space(search.used_forms if search.found else None)
            out.append(KindReversal(kind, algo, frozenset(search.found), search.hashed, rate_s,
                                    space / rate_s if rate_s else None, space, length < DIGEST_HEX[algo]))
            remaining -= set(search.found)
    return out


def linkability(release_a, release_b) -> dict:
    """Share of release A's distinct pseudonyms that appear again in release B (1.0: stable and
    linkable across releases; ~0: rotated)."""
    a = {str(x) for x in release_a if x is not None}
    b = {str(x) for x in release_b if x is not None}
    common = len(a & b)
    return {"pseudonyms_a": len(a), "pseudonyms_b": len(b), "common": common,
            "linkable_share": rate(common, len(a)), "stable": bool(a) and common / len(a) > 0.5}


def hash_msisdn(numbers, algorithm: str = "sha256", form: str = "e164", key: bytes | None = None) -> np.ndarray:
    """Pseudonymize E.164 numbers the way exports often do (unsalted), or with HMAC when ``key`` is given."""
    import hmac

    out = []
    for num in numbers:
        text = written(num, form).encode()
        if key is None:
            out.append(getattr(hashlib, algorithm)(text).hexdigest())
        else:
            out.append(hmac.new(key, text, algorithm).hexdigest())
    return np.array(out, dtype=object)
