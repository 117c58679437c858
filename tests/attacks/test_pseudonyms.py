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


def _sha(texts, algorithm="sha256", salt_prefix="", salt_suffix="", keep=None):
    import hashlib

    out = [getattr(hashlib, algorithm)(f"{salt_prefix}{t}{salt_suffix}".encode()).hexdigest() for t in texts]
    return [h[:keep] for h in out] if keep else out


def test_imsi_of_given_networks_are_reversed():
    imsis = [f"41001{n:010d}" for n in (5, 40_000, 99_999)] + ["410060000000042", "410010000200000"]
    res = HashReversal(kind="imsi", plmns=("41001", "41006"), serial_lo=0, serial_hi=100_000).run(
        None, PseudonymInput.of(_sha(imsis)), truth=dict(zip(_sha(imsis), imsis, strict=True)))
    assert res.n_unique == res.n_correct == 4                       # MSIN 200,000 lies outside the range
    assert res.params["plmns"] == ["41001", "41006"] and res.extra["space_candidates"] == 200_000
    with pytest.raises(UsageError, match="plmn"):
        HashReversal(kind="imsi", plmns=("4100",)).validate()


def test_imei_with_and_without_the_check_digit():
    from reidcheck.attacks.hashkernel import luhn_digit

    bodies = [f"35693803{s:06d}" for s in (0, 123_456, 999_999)]
    full = [b + str(luhn_digit(b)) for b in bodies]
    res = HashReversal(kind="imei", tacs=("35693803",)).run(None, PseudonymInput.of(_sha(full, "md5")),
                                                            truth=dict(zip(_sha(full, "md5"), full, strict=True)))
    assert res.n_unique == res.n_correct == 3 and res.extra["forms_found"] == ["luhn"]
    body = HashReversal(kind="imei", tacs=("35693803",)).run(None, PseudonymInput.of(_sha(bodies, "sha1")),
                                                             truth=dict(zip(_sha(bodies, "sha1"), full, strict=True)))
    assert body.n_unique == body.n_correct == 3 and body.extra["forms_found"] == ["body"]
    with pytest.raises(UsageError, match="tac"):
        HashReversal(kind="imei", tacs=("123",)).validate()


def test_truncated_and_salted_digests():
    numbers = [f"+92300{s:07d}" for s in (7, 4_321, 88_000)]
    truncated = _sha(numbers, keep=16)
    plain = HashReversal(prefixes=(300,), serial_hi=100_000).run(None, PseudonymInput.of(truncated))
    assert plain.n_unique == 0 and plain.extra["algorithm"] == "not a plain hash"   # 16 hex digits: give it
    res = HashReversal(prefixes=(300,), serial_hi=100_000, algorithm="sha256", forms=("e164",)).run(
        None, PseudonymInput.of(truncated))
    assert res.n_unique == 3 and res.extra["truncated_hex_digits"] == [16]
    salted = _sha(numbers, salt_prefix="L#9|", salt_suffix="|x")
    none = HashReversal(prefixes=(300,), serial_hi=100_000).run(None, PseudonymInput.of(salted))
    assert none.n_unique == 0
    got = HashReversal(prefixes=(300,), serial_hi=100_000, salt_prefix="L#9|", salt_suffix="|x").run(
        None, PseudonymInput.of(salted), truth=dict(zip(salted, numbers, strict=True)))
    assert got.n_unique == got.n_correct == 3 and got.params["salted"] is True


def test_time_limit_stops_and_extrapolates():
    numbers = ["+923009999999"]
    res = HashReversal(prefixes=tuple(range(300, 310)), chunk=1_000_000, time_limit=0.05).run(
        None, PseudonymInput.of(_sha(numbers)))
    x = res.extra
    assert x["complete"] is False and 0 < x["candidates_hashed"] < x["space_candidates"] == 10 * 3 * 10_000_000
    assert x["whole_space_s_estimate"] == pytest.approx(x["space_candidates"] / x["hashes_per_s"], rel=0.01)
    with pytest.raises(UsageError, match="time_limit"):
        HashReversal(time_limit=0).validate()
