"""Pseudonym reversal: unsalted hashes of phone numbers are undone by enumerating the numbering plan.

A mobile number is ``+92 3XY NNNNNNN``: per prefix ``3XY`` there are 10⁷ numbers, so an operator's
whole range (≈20 prefixes) is 2·10⁸ candidates, the national plan (``numbering.PLAN_PREFIXES``, 53
prefixes) 5.3·10⁸ — minutes of hashing on a laptop. The attack:

1. **Detect** the hash from the pseudonyms' form: 32 hex digits → MD5, 40 → SHA-1, 64 → SHA-256
   (anything else, or mixed lengths, is reported as not a plain hash).
2. **Enumerate** every candidate number of the given prefixes (and serial range) in each written form
   (``+923001234567``, ``923001234567``, ``03001234567``), hash it, and look it up among the
   pseudonyms; the first prefix is probed in every form and the search continues with the form(s)
   that hit. Work is split across processes (both cores by default).
3. **Report** the reversed share of distinct pseudonyms with a Wilson interval, hashes per second,
   and, with a truth map, whether each reversal is the right number.

CNICs (``XXXXX-XXXXXXX-X``) are enumerated per 5-digit head (``kind="cnic"``): feasible for the
areas an attacker targets, not for the whole country. Keyed hashes (HMAC with a secret) and random tokens are not reversed: the attacker cannot compute
them, which the tests show. ``linkability`` tells whether two releases share pseudonyms.
Reversed numbers are returned only when asked for (``reveal=True``, which issues a
``PrivacyLeakWarning``); reports carry counts only. ``reverse_plan_slice`` is the budgeted reversal of
the audit, ``compare`` and the pytest gate, with their one extrapolation to the whole national plan.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
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


_TARGETS: set[bytes] = set()


def _scan(task) -> tuple[list[tuple[bytes, str]], int, str]:
    """Hash every ``head + serial(7 digits) + suffix`` of one serial slice; return hits, count, form."""
    algo, form, head, suffixes, lo, hi = task
    new = getattr(hashlib, algo)
    targets = _TARGETS
    hits = []
    for serial in range(lo, hi):
        base = f"{head}{serial:07d}"
        for suffix in suffixes:
            text = base + suffix
            d = new(text.encode()).digest()
            if d in targets:
                hits.append((d, text))
    return hits, (hi - lo) * len(suffixes), form


def _init(targets):
    global _TARGETS
    _TARGETS = targets
    ignore_interrupts()


def ignore_interrupts() -> None:
    """In a worker process: leave Ctrl-C to the parent, which stops the pool and exits 130 (a worker
    would otherwise print its own traceback)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


CNIC_FORMS = ("dashed", "plain")


def _distinct(values) -> list[str]:
    return sorted({str(p).strip().lower() for p in values if p is not None and str(p).strip()})


@dataclass(frozen=True)
class _Search:
    algorithm: str | None
    found: dict          # digest (hex) → the candidate text that hashes to it
    hashed: int
    used_forms: list
    sweep_s: float       # time spent hashing (the worker pool's start-up excluded)
    elapsed_s: float


@dataclass(frozen=True, kw_only=True)
class HashReversal:
    """Enumerate the numbering plan: for ``kind="msisdn"``, ``prefixes`` × serials [``serial_lo``,
    ``serial_hi``) in the MSISDN ``forms``; for ``kind="cnic"``, the given 5-digit CNIC ``heads``
    (province, district, tehsil, union council — what an attacker targeting an area knows) × serials ×
    the 10 check digits, written ``XXXXX-XXXXXXX-X`` (dashed) or as 13 plain digits. The whole CNIC
    space (7·10¹²) is out of reach; one head is 10⁸ candidates.

    ``unique_rate`` = distinct pseudonyms reversed / distinct pseudonyms; ``correct_rate`` (with a
    truth map) = reversed to the right value / distinct pseudonyms. ``reveal`` puts the reversed
    values in the result (personal data: a ``PrivacyLeakWarning`` is issued). No baseline (an
    enumeration, not a guess): ``baseline_rate`` is None."""

    prefixes: tuple[int, ...] = tuple(range(300, 310)) + tuple(range(320, 330))
    forms: tuple[str, ...] | None = None
    serial_lo: int = 0
    serial_hi: int = SERIALS
    workers: int | None = None
    chunk: int = 500_000
    kind: str = "msisdn"
    heads: tuple[str, ...] = ()
    reveal: bool = False

    def _forms(self) -> tuple[str, ...]:
        return self.forms or (FORMS if self.kind == "msisdn" else CNIC_FORMS)

    def validate(self) -> None:
        if self.kind not in ("msisdn", "cnic"):
            raise UsageError(f"Parameter `kind` must be msisdn or cnic. Got {self.kind!r} instead.")
        allowed = FORMS if self.kind == "msisdn" else CNIC_FORMS
        bad = [f for f in self._forms() if f not in allowed]
        if bad or not self._forms():
            raise UsageError(f"Parameter `forms` must be among {', '.join(allowed)}. Got {bad or self.forms!r} instead.")
        if self.kind == "msisdn" and (not self.prefixes or not all(300 <= int(p) <= 399 for p in self.prefixes)):
            raise UsageError("Parameter `prefixes` must list mobile prefixes between 300 and 399 (e.g. 300,301).")
        if self.kind == "cnic" and (not self.heads or not all(re.fullmatch(r"[1-7]\d{4}", h) for h in self.heads)):
            raise UsageError("Parameter `heads` must list 5-digit CNIC heads starting with a province digit 1-7 "
                             "(e.g. 35202).")
        if not 0 <= self.serial_lo < self.serial_hi <= SERIALS:
            raise UsageError(f"Serial range must satisfy 0 <= lo < hi <= {SERIALS}.")
        if self.workers is not None:
            _int_between("workers", self.workers, 1, 256)
        _int_between("chunk", self.chunk, 1)
        if not isinstance(self.reveal, bool):
            _bad("reveal", self.reveal, "True or False")

    def _groups(self) -> list[list[tuple[str, str, list[str]]]]:
        """Per prefix (or head): its (form, head text, suffixes) in every form."""
        if self.kind == "msisdn":
            return [[(f, f"{LEADS[f]}{int(p):03d}", [""]) for f in self._forms()] for p in self.prefixes]
        return [[(f, f"{h}-" if f == "dashed" else h,
                  [f"-{d}" if f == "dashed" else str(d) for d in range(10)]) for f in self._forms()]
                for h in self.heads]

    def params(self) -> dict:
        params = {"kind": self.kind, "forms": list(self._forms()), "serials": [self.serial_lo, self.serial_hi]}
        params.update({"prefixes": [int(p) for p in self.prefixes]} if self.kind == "msisdn"
                      else {"heads": list(self.heads)})
        params.update({"workers": self.workers, "chunk": self.chunk, "reveal": self.reveal})
        return params

    def _search(self, distinct: list[str]) -> _Search:
        """Enumerate the candidates against the distinct (lower-case) pseudonyms."""
        t0 = time.perf_counter()
        algo = detect_algorithm(distinct)
        found: dict[str, str] = {}
        hashed, used_forms, sweep_s = 0, [], 0.0
        if algo is not None:
            targets = {bytes.fromhex(p) for p in distinct}
            workers = self.workers or min(2, os.cpu_count() or 1)
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
            groups = self._groups()
            with ctx.Pool(workers, initializer=_init, initargs=(targets,)) as pool:
                def sweep(entries):
                    nonlocal hashed
                    tasks = [(algo, form, head, suffixes, lo, min(lo + self.chunk, self.serial_hi))
                             for form, head, suffixes in entries
                             for lo in range(self.serial_lo, self.serial_hi, self.chunk)]
                    hit_forms = set()
                    for hits, n, form in pool.imap_unordered(_scan, tasks):
                        hashed += n
                        for d, text in hits:
                            found[d.hex()] = text
                            hit_forms.add(form)
                    return hit_forms

                t_sweep = time.perf_counter()
                # Probe the first prefix (head) in every form; go on with the forms that hit (all if none).
                hit = sweep(groups[0])
                used_forms = sorted(hit) if hit else list(self._forms())
                sweep([e for g in groups[1:] for e in g if e[0] in used_forms])
                sweep_s = time.perf_counter() - t_sweep
        return _Search(algo, found, hashed, used_forms, sweep_s, time.perf_counter() - t0)

    def _result(self, distinct: list[str], search: _Search, truth: dict | None) -> AttackResult:
        n, k = len(distinct), len(search.found)
        n_correct = None
        if truth is not None:
            norm = {str(a).strip().lower(): b for a, b in truth.items()}
            n_correct = sum(1 for h, text in search.found.items() if self._canonical(text) == norm.get(h))
        elapsed = search.elapsed_s
        extra = {"algorithm": search.algorithm or "not a plain hash",
                 "forms_found": search.used_forms if search.found else [],
                 "candidates_hashed": search.hashed,
                 "hashes_per_s": round(search.hashed / elapsed) if elapsed > 0 else None}
        if self.reveal:
            extra["reversed"] = {h: self._canonical(t) for h, t in sorted(search.found.items())}
            if search.found:
                warnings.warn(f"the result holds {k:,} reversed {'CNIC' if self.kind == 'cnic' else 'phone'} "
                              "number(s) in clear (reveal=True): personal data; keep it as secret as the data "
                              "itself.", PrivacyLeakWarning, stacklevel=3)
        return AttackResult(
            attack="hash-reversal", rule_id=rule_id("hash-reversal"), engine="python", seed=None, params=self.params(),
            n_targets=n, n_skipped=0, n_unique=k, n_correct=n_correct, unique_rate=rate(k, n),
            correct_rate=rate(n_correct, n) if truth is not None else None, anonymity_set=None,
            elapsed_s=round(elapsed, 3), extra=extra)

    def run(self, engine, release: PseudonymInput, *, knowledge=None,
            truth: dict[str, str] | None = None) -> AttackResult:
        """Enumerate against ``release.values`` (blank and repeated pseudonyms are ignored; case does
        not matter). ``truth``: pseudonym → true number (E.164) or CNIC, to score the reversals.
        ``engine`` is not used (hashing runs in Python processes; the result says ``python``).

        With ``reveal=True`` the reversed values are put in ``extra["reversed"]`` and a
        ``PrivacyLeakWarning`` is issued when there is at least one."""
        self.validate()
        if not isinstance(release, PseudonymInput):
            _bad("release", release, "a PseudonymInput (the pseudonyms and their source)")
        if knowledge is not None:
            raise UsageError("The hash-reversal attack needs no `knowledge` (the numbering plan is public).")
        distinct = _distinct(release.values)
        return self._result(distinct, self._search(distinct), truth)

    def _canonical(self, text: str) -> str:
        """E.164 for numbers; ``XXXXX-XXXXXXX-X`` for CNICs."""
        if self.kind == "cnic":
            d = text.replace("-", "")
            return f"{d[:5]}-{d[5:12]}-{d[12]}"
        return to_e164(text)


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
