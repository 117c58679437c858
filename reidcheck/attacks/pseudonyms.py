"""Pseudonym reversal: unsalted hashes of phone numbers are undone by enumerating the numbering plan.

A mobile number is ``+92 3XY NNNNNNN``: per prefix ``3XY`` there are 10⁷ numbers, so an operator's
whole range (≈20 prefixes) is 2·10⁸ candidates — minutes of hashing on a laptop. The attack:

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
Reversed numbers are returned only when asked for (``reveal=True``); reports carry counts only.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import re
import time
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from ..numbering import FORMS, LEADS, to_e164, written
from ..result import AttackResult
from ..stats import rate

ALGORITHMS = {32: "md5", 40: "sha1", 64: "sha256"}
SERIALS = 10_000_000
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


@dataclass(frozen=True)
class HashReversal:
    """Enumerate the numbering plan: for ``kind="msisdn"``, ``prefixes`` × serials [``serial_lo``,
    ``serial_hi``) in the MSISDN ``forms``; for ``kind="cnic"``, the given 5-digit CNIC ``heads``
    (province, district, tehsil, union council — what an attacker targeting an area knows) × serials ×
    the 10 check digits, written ``XXXXX-XXXXXXX-X`` (dashed) or as 13 plain digits. The whole CNIC
    space (7·10¹²) is out of reach; one head is 10⁸ candidates."""

    prefixes: tuple[int, ...] = tuple(range(300, 310)) + tuple(range(320, 330))
    forms: tuple[str, ...] | None = None
    serial_lo: int = 0
    serial_hi: int = SERIALS
    workers: int | None = None
    chunk: int = 500_000
    kind: str = "msisdn"
    heads: tuple[str, ...] = ()

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
        if self.workers is not None and (not isinstance(self.workers, (int, np.integer)) or
                                         not 1 <= self.workers <= 256):
            raise UsageError(f"Parameter `workers` must be an integer between 1 and 256. Got {self.workers!r} instead.")

    def _groups(self) -> list[list[tuple[str, str, list[str]]]]:
        """Per prefix (or head): its (form, head text, suffixes) in every form."""
        if self.kind == "msisdn":
            return [[(f, f"{LEADS[f]}{int(p):03d}", [""]) for f in self._forms()] for p in self.prefixes]
        return [[(f, f"{h}-" if f == "dashed" else h,
                  [f"-{d}" if f == "dashed" else str(d) for d in range(10)]) for f in self._forms()]
                for h in self.heads]

    def run(self, pseudonyms, *, truth: dict[str, str] | None = None, reveal: bool = False,
            engine_name: str = "python") -> AttackResult:
        """``pseudonyms``: iterable of strings; ``truth``: pseudonym → true number (E.164) to score."""
        self.validate()
        t0 = time.perf_counter()
        distinct = sorted({str(p).strip().lower() for p in pseudonyms if p is not None and str(p).strip()})
        algo = detect_algorithm(distinct)
        params = {"kind": self.kind, "forms": list(self._forms()), "serials": [self.serial_lo, self.serial_hi]}
        params.update({"prefixes": [int(p) for p in self.prefixes]} if self.kind == "msisdn"
                      else {"heads": list(self.heads)})
        found: dict[str, str] = {}
        hashed, used_forms = 0, []
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

                # Probe the first prefix (head) in every form; go on with the forms that hit (all if none).
                hit = sweep(groups[0])
                used_forms = sorted(hit) if hit else list(self._forms())
                sweep([e for g in groups[1:] for e in g if e[0] in used_forms])
        elapsed = time.perf_counter() - t0
        n, k = len(distinct), len(found)
        n_correct = None
        if truth is not None:
            norm = {str(a).strip().lower(): b for a, b in truth.items()}
            n_correct = sum(1 for h, text in found.items() if self._canonical(text) == norm.get(h))
        extra = {"algorithm": algo or "not a plain hash", "forms_found": used_forms if found else [],
                 "candidates_hashed": hashed, "hashes_per_s": round(hashed / elapsed) if elapsed > 0 else None}
        if reveal:
            extra["reversed"] = {h: self._canonical(t) for h, t in sorted(found.items())}
        return AttackResult(
            attack="hash-reversal", rule_id="RC301", engine=engine_name, seed=None, params=params,
            n_targets=n, n_skipped=0, n_unique=k, n_correct=n_correct, unique_rate=rate(k, n),
            correct_rate=rate(n_correct, n) if truth is not None else None, anonymity_set=None,
            elapsed_s=round(elapsed, 3), extra=extra)

    def _canonical(self, text: str) -> str:
        """E.164 for numbers; ``XXXXX-XXXXXXX-X`` for CNICs."""
        if self.kind == "cnic":
            d = text.replace("-", "")
            return f"{d[:5]}-{d[5:12]}-{d[12]}"
        return to_e164(text)


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
