"""Pseudonym reversal: unsalted hashes fall, keyed hashes and random tokens resist; linkability."""

from __future__ import annotations

import secrets

import numpy as np
import pytest

from dataclasses import replace

from reidcheck.attacks.inputs import PseudonymInput
from reidcheck.attacks.pseudonyms import HashReversal, detect_algorithm, hash_msisdn, linkability
from reidcheck.errors import PrivacyLeakWarning, UsageError

# Numbers inside a small serial window, so the enumeration stays quick in tests.
NUMBERS = [f"+923{p}{s:07d}" for p in ("00", "21") for s in range(4_200_000, 4_260_000, 611)]
ATTACK = HashReversal(prefixes=(300, 321, 345), serial_lo=4_200_000, serial_hi=4_260_000, workers=2)


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256"])
@pytest.mark.parametrize("form", ["e164", "intl", "national"])
def test_unsalted_hashes_are_reversed(algorithm, form):
    pseudonyms = hash_msisdn(NUMBERS, algorithm, form)
    truth = dict(zip(pseudonyms, NUMBERS, strict=True))
    res = ATTACK.run(None, PseudonymInput.of(pseudonyms), truth=truth)
    assert res.extra["algorithm"] == algorithm
    assert res.extra["forms_found"] == [form]
    assert res.n_targets == len(NUMBERS)
    assert res.n_unique == res.n_correct == len(NUMBERS)
    assert res.extra["hashes_per_s"] > 0
    assert "reversed" not in res.extra           # numbers are shown only when asked for
    with pytest.warns(PrivacyLeakWarning, match="reversed phone number"):   # personal data leaves the tool
        shown = replace(ATTACK, reveal=True).run(None, PseudonymInput.of(pseudonyms)).extra["reversed"]
    assert sorted(shown.values()) == sorted(NUMBERS)


def test_numbers_outside_the_enumerated_range_stay_hidden():
    outside = ["+923009999999", "+923551234567"]
    res = ATTACK.run(None, PseudonymInput.of(hash_msisdn(NUMBERS[:5] + outside, "sha256")))
    assert res.n_unique == 5 and res.n_targets == 7
    lo, hi = res.unique_rate["ci"]
    assert lo < 5 / 7 < hi


def test_keyed_hashes_and_random_tokens_resist():
    hmac_pseudonyms = hash_msisdn(NUMBERS, "sha256", key=secrets.token_bytes(32))
    res = ATTACK.run(None, PseudonymInput.of(hmac_pseudonyms))
    assert res.extra["algorithm"] == "sha256"    # looks like a hash ...
    assert res.n_unique == 0                     # ... but cannot be recomputed without the key
    tokens = [secrets.token_urlsafe(12) for _ in NUMBERS]
    res = ATTACK.run(None, PseudonymInput.of(tokens))
    assert res.extra["algorithm"] == "not a plain hash" and res.n_unique == 0


def test_detect_algorithm():
    assert detect_algorithm(["a" * 32]) == "md5"
    assert detect_algorithm(["a" * 40, "b" * 40]) == "sha1"
    assert detect_algorithm(["a" * 64, "b" * 40]) is None
    assert detect_algorithm(["z" * 64]) is None


def test_linkability_stable_versus_rotated(rng):
    ids = rng.permutation(1000)
    stable_a = hash_msisdn([f"+92300{i:07d}" for i in ids[:800]])
    stable_b = hash_msisdn([f"+92300{i:07d}" for i in ids[200:]])
    link = linkability(stable_a, stable_b)
    assert link["stable"] and link["common"] == 600
    key_a, key_b = secrets.token_bytes(16), secrets.token_bytes(16)
    rot_a = hash_msisdn([f"+92300{i:07d}" for i in ids[:800]], key=key_a)
    rot_b = hash_msisdn([f"+92300{i:07d}" for i in ids[200:]], key=key_b)
    rotated = linkability(rot_a, rot_b)
    assert not rotated["stable"] and rotated["common"] == 0


@pytest.mark.parametrize("kwargs, needle", [
    ({"prefixes": (200,)}, "prefixes"), ({"forms": ("local",)}, "forms"),
    ({"serial_lo": 5, "serial_hi": 5}, "Serial range"),
])
def test_bad_parameters(kwargs, needle):
    with pytest.raises(UsageError, match=needle):
        HashReversal(**kwargs).validate()


def test_synthetic_population_release(small_population):
    """The operator's bad practice on the generated subscribers: SHA-256 of the E.164 number."""
    subs = small_population.subscribers
    pick = subs[subs["msisdn"].str.startswith("+92300")].head(30)
    serials = pick["msisdn"].str[6:].astype(int).to_numpy()
    pseudonyms = hash_msisdn(pick["msisdn"], "sha256")
    res = HashReversal(prefixes=(300,), serial_lo=int(serials.min()), serial_hi=int(serials.max()) + 1).run(
        None, PseudonymInput.of(pseudonyms), truth=dict(zip(pseudonyms, pick["msisdn"], strict=True)))
    assert res.n_correct == len(pick) == res.n_unique
    assert np.isclose(res.correct_rate["value"], 1.0)


def test_cnic_hashes_of_a_targeted_area_are_reversed():
    import hashlib

    cnics = [f"35202-{s:07d}-{s % 10}" for s in range(1_234_000, 1_236_000, 37)] + ["42101-1234500-3",
                                                                                    "42101-9999999-2"]
    for form in ("dashed", "plain"):
        texts = [c if form == "dashed" else c.replace("-", "") for c in cnics]
        pseudonyms = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        res = HashReversal(kind="cnic", heads=("35202", "42101"), serial_lo=1_234_000, serial_hi=1_236_000).run(
            None, PseudonymInput.of(pseudonyms), truth=dict(zip(pseudonyms, cnics, strict=True)))
        assert res.extra["forms_found"] == [form]
        assert res.n_unique == res.n_correct == len(cnics) - 1   # serial 9999999 lies outside the range
    with pytest.raises(UsageError, match="heads"):
        HashReversal(kind="cnic", heads=("99999",)).validate()


def test_one_budgeted_reversal_and_estimate():
    """reverse_plan_slice: the audit's, compare's and the pytest gate's reversal and full-plan estimate."""
    from reidcheck.attacks.pseudonyms import reverse_plan_slice
    from reidcheck.numbering import PLAN_PREFIXES

    numbers = [f"+92300{s:07d}" for s in (5, 777, 9_000)] + ["+923009999999"]
    rev = reverse_plan_slice(hash_msisdn(numbers), budget=30_000)
    assert rev.serial_hi == 10_000 and rev.result.n_unique == 3 and len(rev.reversed) == 3
    assert "reversed" not in rev.result.extra                       # counts only
    x = rev.result.extra
    assert x["slice"] == {"prefix": 300, "serials": [0, 10_000]} and x["plan_forms"] == ["e164"]
    assert x["plan_numbers"] == len(PLAN_PREFIXES) * 10_000_000
    assert rev.full_plan_minutes == pytest.approx(x["plan_numbers"] / rev.hashes_per_s / 60)
    assert x["full_plan_hours_estimate"] == round(rev.full_plan_minutes / 60, 3)
    with pytest.raises(UsageError, match="`budget`"):
        reverse_plan_slice(numbers, budget=2)
    none = reverse_plan_slice(["token-a", "token-b"], budget=300)
    assert none.full_plan_minutes is None and not none.reversed
