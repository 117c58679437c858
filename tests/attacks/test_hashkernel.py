"""The compiled hash-reversal kernel against hashlib: candidates, Luhn, targets, ranges, threads.

The kernel tests need numba (they skip without it); the template, Luhn, target and validation tests
do not. The first run compiles the kernels (tens of seconds on a busy machine); later runs load them
from numba's on-disk cache.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reidcheck.attacks import hashkernel as hk

ROOT = Path(__file__).resolve().parents[2]
needs_numba = pytest.mark.skipif(not hk.available(), reason="numba is not installed: the compiled kernel is unavailable")
ALGORITHMS = ["md5", "sha1", "sha256"]


def digest(algorithm: str, msg: bytes) -> str:
    return getattr(hashlib, algorithm)(msg).hexdigest()


def key(algorithm: str, msg: bytes) -> int:
    return int(digest(algorithm, msg)[:16], 16)


def expected(algorithm: str, template: bytes, lo: int, hi: int, targets: np.ndarray) -> list[tuple[int, int]]:
    """The (counter, first index) pairs, by brute force with hashlib and candidate()."""
    first: dict[int, int] = {}
    for i, v in enumerate(targets.tolist()):
        first.setdefault(int(v), i)
    out = []
    for c in range(lo, hi):
        k = key(algorithm, hk.candidate(template, c))
        if k in first:
            out.append((c, first[k]))
    return out


# --- Luhn and templates (no numba needed) ------------------------------------------------------------

@pytest.mark.parametrize("number", [
    "490154203237518",      # IMEI (3GPP TS 23.003 example)
    "352099001761481",      # IMEI 35-209900-176148-1
    "79927398713",          # the textbook Luhn example
    "4111111111111111",     # Visa test card number
    "0000000000",
    "18",
])
def test_luhn_digit_of_valid_numbers(number):
    assert hk.luhn_digit(number[:-1]) == int(number[-1])


def test_luhn_digit_rejects_a_wrong_check_digit_and_bad_input():
    assert hk.luhn_digit("49015420323751") == 8
    assert hk.luhn_digit("49015420323752") != 8
    for bad in ["", "12a4", "１２", None, 123]:
        with pytest.raises(ValueError, match="decimal digits"):
            hk.luhn_digit(bad)


def test_candidate_fills_digits_most_significant_first_and_luhn():
    assert hk.candidate(b"+92300#######", 42) == b"+923000000042"
    assert hk.candidate(b"+92300#######", 9_999_999) == b"+923009999999"
    assert hk.candidate(b"49015420######L", 323_751) == b"490154203237518"
    assert hk.candidate(b"35202-#######-#", 12_345_678) == b"35202-1234567-8"
    assert hk.candidate(b"salt|#-#|pepper", 7) == b"salt|0-7|pepper"
    assert hk.candidate(b"#", 0) == b"0"
    # Luhn counts every digit of the body, literal ones too; dashes are skipped.
    assert hk.candidate(b"35-209900-######-L", 176_148) == b"35-209900-176148-1"


@pytest.mark.parametrize(("template", "message"), [
    (b"x" * 56 + b"#", "at most 55"),
    (b"+92300", "no '#'"),
    (b"#L#", "'L'"),
    (b"##LL", "'L'"),
    (b"#" * 19, "at most 18"),
])
def test_bad_templates_are_rejected(template, message):
    with pytest.raises(ValueError, match=message):
        hk.candidate(template, 0)
    with pytest.raises(ValueError, match=message):
        hk.search("sha256", template, 0, 1, np.zeros(1, dtype=np.uint64))


def test_template_must_be_bytes_and_counter_in_range():
    with pytest.raises(TypeError, match="bytes"):
        hk.candidate("+92300#######", 1)
    with pytest.raises(ValueError, match="out of range"):
        hk.candidate(b"###", 1000)
    with pytest.raises(ValueError, match="out of range"):
        hk.candidate(b"###", -1)
    with pytest.raises(ValueError, match="integer"):
        hk.candidate(b"###", 1.0)


def test_longest_template_fits_one_block():
    t = b"s" * 37 + b"#" * 18
    assert len(t) == hk.MAX_MESSAGE
    assert hk.candidate(t, 10 ** 18 - 1) == b"s" * 37 + b"9" * 18


@pytest.mark.parametrize(("lo", "hi"), [(-1, 5), (0, 1001), (6, 5), (1000, 1001)])
def test_search_rejects_ranges_outside_the_counter_space(lo, hi):
    with pytest.raises(ValueError, match="Counter range"):
        hk.search("md5", b"###", lo, hi, np.zeros(1, dtype=np.uint64))
    with pytest.raises(ValueError, match="Counter range"):
        hk.search_hashlib("md5", b"###", lo, hi, np.zeros(1, dtype=np.uint64))


def test_search_rejects_bad_algorithm_targets_and_threads():
    t = np.zeros(1, dtype=np.uint64)
    with pytest.raises(ValueError, match="Unknown algorithm"):
        hk.search("sha512", b"##", 0, 10, t)
    with pytest.raises(ValueError, match="Unknown algorithm"):
        hk.search(None, b"##", 0, 10, t)
    with pytest.raises(ValueError, match="1-D"):
        hk.search("md5", b"##", 0, 10, np.zeros((2, 2), dtype=np.uint64))
    with pytest.raises(ValueError, match="dtype"):
        hk.search("md5", b"##", 0, 10, np.array([1.5]))
    with pytest.raises(ValueError, match="integers"):
        hk.search("md5", b"##", 0, 10, [1.5])
    with pytest.raises(ValueError, match="non-negative"):
        hk.search("md5", b"##", 0, 10, [2 ** 64])
    with pytest.raises(ValueError, match="non-negative"):
        hk.search("md5", b"##", 0, 10, np.array([-1]))
    for bad in [0, -2, 1.5, True, "2"]:
        with pytest.raises(ValueError, match="threads"):
            hk.search("md5", b"##", 0, 10, t, threads=bad)
    with pytest.raises(ValueError, match="chunk"):
        hk.search("md5", b"##", 0, 10, t, chunk=0)


def test_reverse_validates_its_digests():
    with pytest.raises(ValueError, match="iterable"):
        hk.reverse("md5", b"##", 0, 10, "0" * 32)
    with pytest.raises(ValueError, match="at least 16"):
        hk.reverse("md5", b"##", 0, 10, ["abc"])
    assert hk.reverse("md5", b"##", 0, 10, []) == {}


def test_default_threads_is_one_per_usable_core():
    assert 1 <= hk.default_threads() <= (os.cpu_count() or 1)


def test_algorithm_names_are_normalised():
    assert hk._algorithm("SHA-256") == "sha256"
    assert hk._algorithm("SHA1") == "sha1"
    assert hk._algorithm("MD5") == "md5"


def test_prefix_u64_takes_the_first_64_bits_sorted_and_unique():
    hexes = [digest("sha256", b"a"), digest("sha256", b"b"), digest("sha256", b"a").upper(),
             digest("sha256", b"c")[:16], digest("sha256", b"d")[:20]]
    got = hk.prefix_u64(hexes)
    assert got.dtype == np.uint64
    want = sorted({int(h[:16], 16) for h in hexes})
    assert got.tolist() == want
    assert hk.prefix_u64([]).tolist() == []
    assert hk.prefix_u64(["ffffffffffffffff"]).tolist() == [2 ** 64 - 1]
    for bad in [["abc"], ["g" * 16], ["0123456789abcde"], [b"0" * 16]]:
        with pytest.raises(ValueError):
            hk.prefix_u64(bad)
    with pytest.raises(ValueError, match="iterable"):
        hk.prefix_u64("0" * 64)


def test_target_set_keeps_first_index_of_duplicates_and_any_order():
    vals = np.array([5, 3, 5, 2 ** 64 - 1, 3], dtype=np.uint64)
    ts = hk.TargetSet(vals)
    assert len(ts) == 3
    assert dict(zip(ts.keys.tolist(), ts.index.tolist(), strict=True)) == {3: 1, 5: 0, 2 ** 64 - 1: 3}
    assert len(hk.TargetSet([1, 2, 2 ** 64 - 1])) == 3          # Python ints, even above 2**63
    assert len(hk.TargetSet(np.zeros(0, dtype=np.uint64))) == 0


def test_search_hashlib_is_the_reference():
    t = b"+92300####"
    planted = [0, 17, 999, 9999]
    hexes = [digest("sha1", hk.candidate(t, c)) for c in planted]
    targets = hk.prefix_u64(hexes)
    got = hk.search_hashlib("sha1", t, 0, 10 ** 4, targets)
    assert [c for c, _ in got] == planted
    assert all(int(targets[i]) == key("sha1", hk.candidate(t, c)) for c, i in got)


def test_the_module_imports_and_says_so_without_numba():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "from reidcheck.attacks import hashkernel as hk\n"
        "import numpy as np\n"
        "assert not hk.available() and hk.numba_version() is None\n"
        "t = hk.prefix_u64([__import__('hashlib').md5(b'+9230012').hexdigest()])\n"
        "assert hk.search_hashlib('md5', b'+92300##', 0, 100, t) == [(12, 0)]\n"
        "assert hk.reverse('md5', b'+92300##', 0, 100, [__import__('hashlib').md5(b'+9230012').hexdigest()])\n"
        "try:\n"
        "    hk.search('md5', b'+92300##', 0, 100, t)\n"
        "except RuntimeError as e:\n"
        "    assert 'numba' in str(e)\n"
        "else:\n"
        "    raise AssertionError('search ran without numba')\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# --- the kernel (numba) ------------------------------------------------------------------------------

TEMPLATES = [
    b"+92300#######",                       # a mobile number, 13 bytes
    b"salt|+92300#######",                  # salt prefix
    b"+92300#######|pepper",                # salt suffix
    b"35202-#######-#",                     # CNIC with dashes
    b"49015420######L",                     # IMEI with its Luhn digit
    b"pepper:3520######L",                  # Luhn after a salt (its letters are not digits)
    b"a-long-salt-of-more-than-32-bytes|+92300#######",   # mid-state skips 8 rounds
    b"s" * 37 + b"#" * 18,                  # 55 bytes: the longest single-block message
    b"#",                                   # one digit
    b"#a#b#",                               # digits apart
]


@needs_numba
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.decode())
def test_kernel_finds_exactly_what_hashlib_finds(algorithm, template):
    k = hk._Plan(template).ndigits
    top = 10 ** k
    lo, hi = (max(0, top - 3000), top) if k > 3 else (0, top)
    rng = random.Random(f"{algorithm}{template!r}")
    counters = sorted(rng.sample(range(lo, hi), min(40, hi - lo)))
    hexes = [digest(algorithm, hk.candidate(template, c)) for c in counters]
    noise = [f"{rng.getrandbits(64):016x}" + "0" * 48 for _ in range(500)]
    targets = np.array([int(h[:16], 16) for h in hexes + noise], dtype=np.uint64)
    got = hk.search(algorithm, template, lo, hi, targets)
    assert got == expected(algorithm, template, lo, hi, targets)
    assert [c for c, _ in got] == counters


@needs_numba
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_candidate_of_a_full_range_is_found(algorithm):
    """All 10**3 digests planted: every lane of every group hits (several hits per group)."""
    template = b"id=###;"
    msgs = [hk.candidate(template, c) for c in range(1000)]
    targets = np.array([key(algorithm, m) for m in msgs], dtype=np.uint64)
    got = hk.search(algorithm, template, 0, 1000, targets)
    assert got == [(c, c) for c in range(1000)]


@needs_numba
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("lo", "hi"), [
    (0, 1), (0, 2), (0, 15), (0, 16), (0, 17), (5, 38), (9, 11), (19, 20),
    (99_990, 100_010),                       # carries through five digits
    (999_983, 10 ** 6),                      # up to the last counter
    (123_457, 123_457),                      # empty range
])
def test_ranges_at_the_edges_and_not_aligned_to_the_lanes(algorithm, lo, hi):
    template = b"+923000######"
    counters = list(range(lo, hi))
    targets = np.array([key(algorithm, hk.candidate(template, c)) for c in counters] + [1], dtype=np.uint64)
    got = hk.search(algorithm, template, lo, hi, targets)
    assert got == [(c, i) for i, c in enumerate(counters)]
    # A candidate just outside the range is not reported.
    outside = [c for c in (lo - 1, hi) if 0 <= c < 10 ** 6]
    if outside:
        t2 = np.array([key(algorithm, hk.candidate(template, c)) for c in outside], dtype=np.uint64)
        assert hk.search(algorithm, template, lo, hi, t2) == []


@needs_numba
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_kernel_messages_are_the_candidates(algorithm):
    for template, lo, n in [(b"+92300#######", 9_999_950, 50), (b"49015420######L", 999_937, 63),
                            (b"35202-#######-#", 0, 45), (b"#", 0, 10), (b"#x#", 3, 97),
                            (b"xx-35-209900-######-L", 176_100, 100)]:
        assert hk._kernel_messages(template, lo, n) == [hk.candidate(template, c) for c in range(lo, lo + n)]


@needs_numba
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_truncated_digests_match_on_their_prefix(algorithm):
    template = b"+92300#######"
    c16, c20 = 4_242_424, 4_242_431
    h16 = digest(algorithm, hk.candidate(template, c16))[:16]
    h20 = digest(algorithm, hk.candidate(template, c20))[:20]
    # Same first 64 bits as c20's digest, wrong next hex digits: the kernel hits, the re-check rejects.
    full20 = digest(algorithm, hk.candidate(template, c20))
    fake = full20[:16] + ("0000" if full20[16:20] != "0000" else "1111")
    targets = hk.prefix_u64([h16, h20])
    got = hk.search(algorithm, template, 4_242_000, 4_243_000, targets)
    assert sorted(c for c, _ in got) == [c16, c20]
    found = hk.reverse(algorithm, template, 4_242_000, 4_243_000, [h16, h20.upper(), fake])
    assert found == {h16: hk.candidate(template, c16), h20: hk.candidate(template, c20)}


@needs_numba
def test_duplicate_targets_report_the_first_index():
    template = b"+92300#######"
    k = key("md5", hk.candidate(template, 77))
    targets = np.array([9, k, 3, k], dtype=np.uint64)
    assert hk.search("md5", template, 0, 100, targets) == [(77, 1)]


@needs_numba
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_empty_target_set_and_empty_range(algorithm):
    assert hk.search(algorithm, b"+92300#######", 0, 10 ** 5, np.zeros(0, dtype=np.uint64)) == []
    assert hk.search(algorithm, b"+92300#######", 0, 0, np.array([1], dtype=np.uint64)) == []
    calls = []
    hk.search(algorithm, b"##", 0, 100, [], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(100, 100)]


@needs_numba
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_threads_and_chunks_do_not_change_the_result(algorithm):
    template = b"salt|#####"
    rng = random.Random(algorithm)
    counters = sorted(rng.sample(range(10 ** 5), 300))
    targets = hk.prefix_u64([digest(algorithm, hk.candidate(template, c)) for c in counters])
    ts = hk.TargetSet(targets)
    base = hk.search(algorithm, template, 0, 10 ** 5, ts, threads=1)
    assert [c for c, _ in base] == counters
    progress = []
    assert hk.search(algorithm, template, 0, 10 ** 5, ts, threads=2, chunk=1_001,
                     progress=lambda d, t: progress.append((d, t))) == base
    assert progress[-1] == (10 ** 5, 10 ** 5) and len(progress) == 100
    assert hk.search(algorithm, template, 0, 10 ** 5, targets, threads=3, chunk=17) == base


@needs_numba
def test_a_full_hit_buffer_resumes_without_losing_hits(monkeypatch):
    monkeypatch.setattr(hk, "_CAP", 7)
    template = b"####"
    targets = np.array([key("sha256", hk.candidate(template, c)) for c in range(500)], dtype=np.uint64)
    assert hk.search("sha256", template, 0, 2000, targets, threads=1) == [(c, c) for c in range(500)]


@needs_numba
def test_warmup_reports_seconds_per_algorithm():
    took = hk.warmup()
    assert set(took) == set(ALGORITHMS)
    assert all(isinstance(s, float) and s >= 0 for s in took.values())


SALTS = st.binary(min_size=0, max_size=20).map(lambda b: b.replace(b"#", b"_").replace(b"L", b"l"))


@needs_numba
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(algorithm=st.sampled_from(ALGORITHMS), prefix=SALTS, suffix=SALTS, digits=st.integers(1, 9),
       luhn=st.booleans(), data=st.data())
def test_no_false_negatives_on_random_templates(algorithm, prefix, suffix, digits, luhn, data):
    template = prefix + b"#" * digits + (b"L" if luhn else suffix)
    top = 10 ** digits
    lo = data.draw(st.integers(0, top - 1), label="lo")
    hi = data.draw(st.integers(lo, min(top, lo + 600)), label="hi")
    planted = data.draw(st.lists(st.integers(lo, max(lo, hi - 1)), max_size=12), label="planted")
    planted = [c for c in planted if c < hi]
    targets = np.array([key(algorithm, hk.candidate(template, c)) for c in planted] + [12345], dtype=np.uint64)
    got = hk.search(algorithm, template, lo, hi, targets, threads=data.draw(st.sampled_from([1, 2])), chunk=97)
    assert got == expected(algorithm, template, lo, hi, targets)
    assert set(planted) <= {c for c, _ in got}


@needs_numba
@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256"])
@pytest.mark.parametrize("pre, body, suf", [
    (b"salt|", b"+92300#######", b""), (b"", b"+92300#######", b"|#L9"), (b"L#12", b"490154######L", b"-end"),
    (b"##", b"35202-#######-#", b"L"),
])
def test_reverse_with_literal_salts(algorithm, pre, body, suf):
    """A salt is literal text, even when it holds '#', 'L' or digits (not counter positions, not in the
    Luhn body), and the Luhn digit may be followed by a suffix."""
    import hashlib

    lo, hi = 1_000, 3_000
    counters = [1_000, 1_017, 2_345, 2_999]
    plain = hk._Plan(body)
    messages = [pre + plain.message(c) + suf for c in counters]
    digests = [getattr(hashlib, algorithm)(m).hexdigest() for m in messages]
    digests[1] = digests[1][:20]                                        # a truncated one too
    found = hk.reverse(algorithm, body, lo, hi, digests, salt_prefix=pre, salt_suffix=suf)
    assert found == dict(zip(digests, messages, strict=True))
