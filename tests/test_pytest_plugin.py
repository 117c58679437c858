"""The pytest plugin (``reidcheck.pytest_plugin``): its fixtures, options and assertion helpers, run
the way a data pipeline's own test suite would use them (in-process ``pytester`` runs)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import pytest

import reidcheck.pytest_plugin as plugin
from reidcheck.errors import UsageError

pytest_plugins = ["pytester"]

# What a pipeline's test file would hold. Measured on the plugin's population (1,000 subscribers × 7
# days, seed 0), releases made with seed 1 and key_from_seed(1), unicity with 4 points, targets 2000,
# seed 0 (the figures depend on the pseudonyms, which order the release's users):
# * raw release (keyed tokens, exact times, cells), 1 h × cell: 834 of 864 scored targets unique,
#   ε = 96.5% [95.1%, 97.6%] (105 skipped) — far above any sensible limit.
# * district × 1 day generalized release, time bin 1d: 38 of 852 unique, ε = 4.5% [3.3%, 6.1%]
#   (117 skipped); the limit 10% leaves a margin of 3.9 points above the upper end. The limit 5.5%
#   lies between the value and the upper end: it passes with judge="value" and fails with "upper".
# * the same release + Mondrian k=5 on the QIs, written to a directory and read back (UTC+5 local days
#   from its manifest): 39 of 852 unique, ε = 4.6% [3.4%, 6.2%]; its subscribers table is 5-anonymous and
#   its pseudonyms (keyed tokens) are not a plain hash.
PIPELINE_TESTS = '''
import pandas as pd
import hashlib
import pytest

from reidcheck.anonymize import Release, apply_strategies
from reidcheck.secrets import key_from_seed


def release(pop, steps):
    # a test, not a real release: a key derived from the seed keeps the measured figures reproducible
    return apply_strategies(Release.from_population(pop), steps, seed=1, key=key_from_seed(1)).publish().tables["cdr"]


GENERALIZED = ["generalize-space:level=district", "generalize-time:bin=1d"]


def test_raw_release_fails(reidcheck, reidcheck_population):
    cdr = release(reidcheck_population, ["token"])
    try:
        reidcheck.assert_reid_risk_below(cdr)
    except AssertionError as exc:
        message = str(exc)
        assert not any(p in message for p in cdr["pid"].astype(str).unique()), "a pseudonym leaked"
        raise


def test_generalized_release_passes(reidcheck, reidcheck_population):
    res = reidcheck.assert_reid_risk_below(release(reidcheck_population, GENERALIZED), time_bin="1d",
                                           max_unique_rate=0.10)
    assert res.attack == "unicity" and res.n_targets > 500


def test_judge_value_or_upper(reidcheck, reidcheck_population):
    cdr = release(reidcheck_population, GENERALIZED)
    reidcheck.assert_reid_risk_below(cdr, time_bin="1d", max_unique_rate=0.055, judge="value")
    with pytest.raises(AssertionError, match="upper end of its 95% interval"):
        reidcheck.assert_reid_risk_below(cdr, time_bin="1d", max_unique_rate=0.055)


SECRET = ["asthma", "flu", "flu", "gout", "asthma"]
TABLE = pd.DataFrame({"gender": ["F", "F", "M", "M", "M"],
                      "age_band": ["30-39", "30-39", "40-49", "40-49", "40-49"],
                      "diagnosis": SECRET})


def test_kanon_k2_passes(reidcheck):
    res = reidcheck.assert_k_anonymous(TABLE, ["gender", "age_band"], k=2)
    assert res.extra["k"] == 2


def test_kanon_k3_fails_from_csv(reidcheck, tmp_path):
    path = tmp_path / "people.csv"
    TABLE.to_csv(path, index=False)
    reidcheck.assert_k_anonymous(path, "gender,age_band", k=3)


def test_kanon_k3_fails(reidcheck):
    reidcheck.assert_k_anonymous(TABLE, ["gender", "age_band"], k=3)


NUMBERS = [f"+92300000000{x}" for x in range(10)]
HASHED = [hashlib.sha256(n.encode()).hexdigest() for n in NUMBERS]


def test_hashed_numbers_fail(reidcheck):
    try:
        reidcheck.assert_no_reversible_pseudonyms(pd.DataFrame({"pid": HASHED, "n": range(10)}), budget=300)
    except AssertionError as exc:
        assert not any(n[1:] in str(exc) or n[3:] in str(exc) for n in NUMBERS), "a number leaked"
        raise


def test_random_tokens_pass(reidcheck, reidcheck_rng):
    tokens = [reidcheck_rng.bytes(16).hex() for _ in range(50)]
    res = reidcheck.assert_no_reversible_pseudonyms(tokens)          # the default budget, 2,000,000
    assert res.n_unique == 0 and res.extra["candidates_hashed"] == 3 * 666_666
'''


def _plugin_args() -> list[str]:
    """Load the plugin explicitly only when the entry point is not installed."""
    if any(e.name == "reidcheck" for e in entry_points(group="pytest11")):
        return []
    return ["-p", "reidcheck.pytest_plugin"]


def _docstring_example() -> str:
    """The ready-to-paste example of the plugin's docstring (the README quotes it)."""
    doc = plugin.__doc__
    block = doc.split(".. code-block:: python\n", 1)[1]
    return textwrap.dedent(block)


@pytest.fixture(scope="session")
def preloaded():
    """Import what the inner runs use before any ``pytester`` snapshot of ``sys.modules``.

    ``pytester`` restores ``sys.modules`` after each test, dropping the modules imported meanwhile; a C
    extension such as DuckDB's cannot be initialized twice in one process (it aborts), so they must be
    imported first (a session fixture is set up before the function-scoped ``pytester``)."""
    import importlib

    for name in ("duckdb", "reidcheck.engine.duckdb_engine", "reidcheck.attacks.trajectory",
                 "reidcheck.attacks.tabular", "reidcheck.attacks.pseudonyms", "reidcheck.anonymize", "synthetic"):
        importlib.import_module(name)


@pytest.fixture
def strict(preloaded, pytester):
    """A pytester whose inner runs turn warnings into errors."""
    pytester.makefile(".ini", pytest="[pytest]\nfilterwarnings =\n    error\n")
    return pytester


def _reports(reprec) -> dict:
    return {r.nodeid.split("::")[-1]: r for r in reprec.getreports("pytest_runtest_logreport")
            if r.when == "call" or r.outcome != "passed"}


def _write_release(out) -> None:
    """What the docstring example's disk test reads: a district × 1 day release with 5-anonymous QIs."""
    import synthetic
    from reidcheck.anonymize import Release, apply_strategies
    from reidcheck.secrets import key_from_seed

    pop = synthetic.generate(subscribers=1000, days=7, seed=0)
    steps = ["generalize-space:level=district", "generalize-time:bin=1d", "kanon:k=5"]
    apply_strategies(Release.from_population(pop), steps, seed=1, key=key_from_seed(1)).publish().write(out)


def test_pipeline_suite_through_the_fixtures(strict):
    _write_release(strict.path / "out" / "release")
    strict.makepyfile(test_pipeline=PIPELINE_TESTS, test_readme_example=_docstring_example())
    reprec = strict.inline_run(*_plugin_args())
    reports = _reports(reprec)
    outcomes = {name: r.outcome for name, r in reports.items()}
    assert outcomes == {
        "test_raw_release_fails": "failed", "test_generalized_release_passes": "passed",
        "test_judge_value_or_upper": "passed", "test_kanon_k2_passes": "passed",
        "test_kanon_k3_fails_from_csv": "failed", "test_kanon_k3_fails": "failed",
        "test_hashed_numbers_fail": "failed", "test_random_tokens_pass": "passed",
        # the docstring example, with a release written to out/release for its disk test
        "test_export_does_not_single_people_out": "passed", "test_behaviour_still_links_the_export": "passed",
        "test_the_gate_catches_a_raw_export": "passed", "test_release_on_disk": "passed",
    }, {n: r.longreprtext[-600:] for n, r in reports.items() if r.failed}

    raw = reports["test_raw_release_fails"].longreprtext
    assert "AssertionError: Re-identification risk of the DataFrame is too high: 96.5% of people are singled out" \
        in raw
    for part in ("834 of n_targets=864", "95% CI 95.1%–97.6%", "4 known points (time bin 1h, space cell, targets 2000",
                 "105 targets", "max_unique_rate=10.0%", "coarser", "aggregates"):
        assert part in raw, part
    assert "pytest_plugin.py" not in raw          # __tracebackhide__: the user's line is what is shown

    for name in ("test_kanon_k3_fails", "test_kanon_k3_fails_from_csv"):
        text = reports[name].longreprtext
        assert "is not 3-anonymous on (gender, age_band): the smallest equivalence class has 2 record(s); " \
               "2 of 5 records (40.0%" in text
        message = text.split("AssertionError:", 1)[1]
        assert not any(v in message for v in ("30-39", "40-49", "asthma", "gout", "flu")), message
    assert "people.csv" in reports["test_kanon_k3_fails_from_csv"].longreprtext

    hashed = reports["test_hashed_numbers_fail"].longreprtext.split("AssertionError:", 1)[1]
    assert re.search(r"10 of 10 distinct pseudonyms \(100\.0%\) are unsalted sha256 hashes of phone numbers", hashed)
    # the whole national plan (numbering.PLAN_PREFIXES), as in the audit and compare
    assert "written e164" in hashed
    assert "53 prefixes × 10,000,000 serials in 1 form(s), 530,000,000 candidates) would take about" in hashed
    assert "+9230000" not in hashed and "a number leaked" not in hashed


def _seed_run(pytester, *args) -> dict:
    pytester.makepyfile(test_seed='''
        import json
        def test_seed(reidcheck_seed, reidcheck_rng, reidcheck):
            with open("seed.json", "w") as f:
                json.dump({"seed": reidcheck_seed, "helpers": reidcheck.seed, "type": type(reidcheck_seed).__name__,
                           "draw": int(reidcheck_rng.integers(1 << 62)), "rng": type(reidcheck_rng).__name__}, f)
    ''')
    pytester.inline_run(*_plugin_args(), *args).assertoutcome(passed=1)
    return json.loads((pytester.path / "seed.json").read_text())


def test_seed_option_changes_the_seed_fixtures(strict):
    import numpy as np

    default, five = _seed_run(strict), _seed_run(strict, "--reidcheck-seed", "5")
    assert default["seed"] == default["helpers"] == 0 and default["type"] == "int"
    assert five["seed"] == five["helpers"] == 5
    assert five["rng"] == "Generator"
    for got, seed in ((default, 0), (five, 5)):
        assert got["draw"] == int(np.random.default_rng(np.random.SeedSequence(seed)).integers(1 << 62))
    assert default["draw"] != five["draw"]


def test_seed_option_is_validated_and_documented(strict):
    result = strict.runpytest_inprocess(*_plugin_args(), "--reidcheck-seed", "-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--reidcheck-seed*non-negative integer*"])
    help_text = strict.runpytest_inprocess(*_plugin_args(), "--help")
    help_text.stdout.fnmatch_lines(["reidcheck re-identification gates:", "*--reidcheck-seed=N*"])


def test_helpers_are_importable_and_fixture_exposes_them(reidcheck, reidcheck_seed):
    assert reidcheck.assert_reid_risk_below is plugin.assert_reid_risk_below
    assert reidcheck.assert_k_anonymous is plugin.assert_k_anonymous
    assert reidcheck.assert_no_reversible_pseudonyms is plugin.assert_no_reversible_pseudonyms
    assert reidcheck.seed == reidcheck_seed


def test_plugin_imports_nothing_heavy():
    code = ("import sys, reidcheck.pytest_plugin; "
            "print(sorted(m for m in ('numpy', 'pandas', 'duckdb', 'scipy', 'synthetic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("call, match", [
    (lambda: plugin.assert_reid_risk_below([], judge="mean"), "judge"),
    (lambda: plugin.assert_reid_risk_below([], max_unique_rate=5), "max_unique_rate"),
    (lambda: plugin.assert_reid_risk_below([], points=0), "points"),
    (lambda: plugin.assert_k_anonymous([], qi="", k=2), "qi"),
    (lambda: plugin.assert_k_anonymous([], qi="a", k=0), "`k`"),
    (lambda: plugin.assert_no_reversible_pseudonyms(["ab"], budget=2), "budget"),
    (lambda: plugin.assert_no_reversible_pseudonyms(["ab"], column="pid"), "column"),
])
def test_bad_arguments_are_usage_errors_not_failed_checks(call, match):
    with pytest.raises(UsageError, match=match):
        call()


def test_no_scorable_target_fails_with_an_explanation():
    import pandas as pd

    one_point_each = pd.DataFrame({"pid": ["a", "b"], "timestamp": [0, 0], "cell_id": [1, 2]})
    with pytest.raises(AssertionError, match="cannot be measured: none of the 2 targets has 4 distinct points"):
        plugin.assert_reid_risk_below(one_point_each)


def test_not_linkable_catches_a_coarse_release_and_passes_noise(reidcheck, reidcheck_population):
    """The district × day export passes the unicity gate, and fails the profile-linkage gate."""
    import numpy as np
    import pandas as pd

    from reidcheck.anonymize import Release, apply_strategies
    from reidcheck.secrets import key_from_seed

    rel = apply_strategies(Release.from_population(reidcheck_population),
                           ["generalize-space:level=district", "generalize-time:bin=1d"], seed=1, key=key_from_seed(1))
    cdr = rel.publish().tables["cdr"]
    with pytest.raises(AssertionError, match="re-identified") as info:
        reidcheck.assert_not_linkable(cdr)
    assert "max_linked_rate=5.0%" in str(info.value) and "pid" not in str(info.value)
    rng = np.random.default_rng(1)
    n = 6000
    noise = pd.DataFrame({"pid": rng.integers(0, 400, n), "timestamp": np.sort(rng.integers(0, 14 * 86400, n)) + 10**9,
                          "cell_id": rng.integers(0, 4, n)})
    res = reidcheck.assert_not_linkable(noise, mapping="user=pid,time=timestamp,place=cell_id")
    assert res.correct_rate["ci"][1] <= 0.05
    with pytest.raises(UsageError):
        reidcheck.assert_not_linkable(cdr, max_linked_rate=2)
