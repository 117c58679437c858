"""Hash reversal: time to undo unsalted SHA-256 of an operator's whole mobile range."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np

from . import savefig

NAME = "hash-reversal"
TITLE = "Reversing unsalted SHA-256 of phone numbers by enumerating the numbering plan"
PAPER = "Demir et al. 2018, IEEE COMST 20:551; Hagen et al. 2021, NDSS"
JAZZ = tuple(range(300, 310)) + tuple(range(320, 330))


def openssl_per_core() -> float | None:
    """``openssl speed`` SHA-256 on 16-byte inputs, hashes/s on one core (None without openssl)."""
    if shutil.which("openssl") is None:
        return None
    try:
        out = subprocess.run(["openssl", "speed", "-seconds", "3", "-bytes", "16", "sha256"], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"^sha256\s+([\d.]+)k", out, flags=re.M)
    return float(m.group(1)) * 1000 / 16 if m else None


def run(ctx) -> dict:
    from ..attacks.inputs import PseudonymInput
    from ..attacks.pseudonyms import HashReversal, hash_msisdn
    from ..io import read_population
    from ..numbering import PLAN_PREFIXES, PLAN_SERIALS

    prefixes, hi = ((300,), 500_000) if ctx.quick else (JAZZ, 10_000_000)
    subs = read_population(ctx.population(2_000, 1)).subscribers
    numbers = subs["msisdn"].astype(str)
    digits = numbers.str[3:]
    in_range = digits.str[:3].astype(int).isin(prefixes) & (digits.str[3:].astype(int) < hi)
    pseudonyms = hash_msisdn(numbers.tolist())
    truth = dict(zip(pseudonyms, numbers))
    ctx.log(f"enumerating {len(prefixes)} prefix(es) × {hi:,} serials ({len(prefixes) * hi:,} candidates)")
    res = HashReversal(prefixes=prefixes, serial_lo=0, serial_hi=hi).run(None, PseudonymInput.of(pseudonyms),
                                                                          truth=truth)
    per_s = res.extra["hashes_per_s"]
    in_n = int(in_range.sum())
    plan = len(PLAN_PREFIXES) * PLAN_SERIALS
    ossl = openssl_per_core()
    figures = {"candidates": res.extra["candidates_hashed"], "elapsed_s": res.elapsed_s, "hashes_per_s": per_s,
               "pseudonyms": len(pseudonyms), "in_range": in_n, "reversed": res.n_unique, "correct": res.n_correct,
               "plan_numbers": plan, "plan_minutes": plan / per_s / 60 if per_s else None,
               "openssl_per_core": ossl}

    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    labels = [f"ours ({res.extra['kernel']} kernel, {os.cpu_count()} cores)", "hashlib published (1 core)",
              "OpenSSL published (1 core)"]
    vals = [per_s, 1.6e6, 10e6]
    if ossl:
        labels.append("OpenSSL here (1 core)")
        vals.append(ossl)
    ax.barh(range(len(vals)), np.array(vals) / 1e6, color="#4c72b0")
    ax.set_yticks(range(len(vals)), labels, fontsize=8)
    ax.set_xlabel("million SHA-256 hashes per second")
    ax.set_title(f"whole national plan ({plan / 1e6:.0f}M numbers): {figures['plan_minutes']:.1f} min at our rate",
                 fontsize=9)
    fig.tight_layout()
    savefig(fig, ctx.out / f"{NAME}.png")
    scope = "Jazz's 20 prefixes" if not ctx.quick else "prefix 300, first 500,000 serials"
    rows = [
        {"quantity": f"time to enumerate {scope} ({figures['candidates']:,} hashes)", "ours": f"{res.elapsed_s:.1f} s",
         "published": "minutes for a national plan (< 10^9 numbers)",
         "agreement": "agrees" if figures["plan_minutes"] and figures["plan_minutes"] < 60 else "slower",
         "note": f"whole national plan ({len(PLAN_PREFIXES)} prefixes): {figures['plan_minutes']:.1f} min at this rate"},
        {"quantity": f"hashes per second ({res.extra['kernel']} kernel, {os.cpu_count()} cores)",
         "ours": f"{per_s / 1e6:.2f}M/s",
         "published": "hashlib ≈ 1.6M/s per core; OpenSSL ≈ 10M/s per core",
         "agreement": (f"{per_s / (ossl * (os.cpu_count() or 1)):.2f}× OpenSSL here × cores" if ossl
                       else f"{per_s / (os.cpu_count() or 1) / 1.6e6:.2f}× the published hashlib rate per core"),
         "note": f"OpenSSL here: {ossl / 1e6:.2f}M/s on one core, measured in the same run" if ossl
                 else "openssl not available"},
        {"quantity": "pseudonyms in the enumerated range reversed (correctly)",
         "ours": f"{res.n_correct} of {in_n}", "published": "all (unsalted hashes are reversed by enumeration)",
         "agreement": "agrees" if res.n_correct == in_n else "differs",
         "note": f"{len(pseudonyms):,} SHA-256 pseudonyms of synthetic subscribers; those outside the range are "
                 "not enumerated here"},
    ]
    return {"params": {"prefixes": list(prefixes), "serials": [0, hi], "form": "e164"}, "figures": figures,
            "rows": rows}
