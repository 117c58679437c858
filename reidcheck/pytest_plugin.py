"""pytest plugin: gate an export on its re-identification risk in your own test suite.

Installed with reidcheck and loaded automatically through the ``pytest11`` entry point (disable it
with ``pytest -p no:reidcheck``). This module imports nothing heavy at import time: numpy, pandas,
DuckDB and the attacks are imported when a fixture or helper is first used.

Fixtures
--------
* ``reidcheck_seed`` (session) — an int from ``--reidcheck-seed N`` (default 0).
* ``reidcheck_rng`` — a fresh ``numpy.random.Generator`` per test,
  ``np.random.default_rng(np.random.SeedSequence(reidcheck_seed))``.
* ``reidcheck_population`` (session) — a synthetic population of 1,000 subscribers × 7 days,
  ``synthetic.generate(subscribers=1000, days=7, seed=reidcheck_seed)``: generated once per test
  session (about 1.5 s) and shared by every test, so do not modify its tables in place. It has
  ``cells``, ``subscribers``, ``cdr``, ``pings`` and ``travel`` DataFrames: feed it to your
  anonymization pipeline and gate what comes out.
* ``reidcheck`` (session) — a namespace with the helpers below (``reidcheck.assert_reid_risk_below``,
  ``reidcheck.assert_k_anonymous``, ``reidcheck.assert_no_reversible_pseudonyms``) and ``seed``, so
  tests need no import.

Helpers (also importable: ``from reidcheck.pytest_plugin import assert_reid_risk_below``)
----------------------------------------------------------------------------------------
* ``assert_reid_risk_below(data, ...)`` — unicity (de Montjoye): the share of people singled out
  by ``points`` known (time bin, place) points must stay below a limit.
* ``assert_not_linkable(data, ...)`` — profile linkage (the audit's behavioural-linkability rule): the share of pseudonyms
  re-identified from their own earlier behaviour must stay below a limit.
* ``assert_k_anonymous(table, qi, k)`` — every equivalence class on the quasi-identifiers has at
  least ``k`` records.
* ``assert_no_reversible_pseudonyms(values_or_table, ...)`` — no pseudonym is an unsalted hash of a
  phone number that enumerating part of the numbering plan undoes.

They raise ``AssertionError`` with a one-paragraph message made of counts, rates and parameters,
never a record value, and return the ``AttackResult`` when the check passes. Wrong arguments raise
``reidcheck.errors.UsageError`` (an error of the test, not a failed check).

Example: a data pipeline's test file (ready to paste)
-----------------------------------------------------

.. code-block:: python

    # tests/test_export_privacy.py — `pytest` runs it once reidcheck is installed;
    # `pytest --reidcheck-seed 3` repeats it on another synthetic population.
    from pathlib import Path

    import pytest

    from reidcheck.anonymize import Release, apply_strategies
    from reidcheck.secrets import key_from_seed

    # A test key anyone can derive from the seed, so that the gate is reproducible (your real export
    # derives its pseudonyms and noise from a secret key: `reidcheck anonymize --key-file`).
    KEY = key_from_seed(1)


    def export(pop):
        # Stand-in for your pipeline: the event table it would publish from a population.
        release = apply_strategies(Release.from_population(pop),
                                   ["generalize-space:level=district", "generalize-time:bin=1d"],
                                   seed=1, key=KEY)
        return release.publish().tables["cdr"]      # columns pid, timestamp, cell_id, ...


    def test_export_does_not_single_people_out(reidcheck, reidcheck_population):
        # An adversary knows 4 (day, district) points of a person: at most 10% of the people may be
        # the only match (judged on the upper end of the 95% interval).
        reidcheck.assert_reid_risk_below(export(reidcheck_population), points=4, time_bin="1d",
                                         max_unique_rate=0.10)


    def test_behaviour_still_links_the_export(reidcheck, reidcheck_population):
        # ... yet a profile learnt over its first days names many people in its later days: coarse
        # points are not enough (profile linkage, the audit's behavioural-linkability rule; limit 5% by default).
        with pytest.raises(AssertionError, match="linkability"):
            reidcheck.assert_not_linkable(export(reidcheck_population))


    def test_the_gate_catches_a_raw_export(reidcheck, reidcheck_population):
        # Pseudonyms alone protect nobody: 4 (hour, cell) points single out ~96% of the people.
        raw = apply_strategies(Release.from_population(reidcheck_population), ["token"], seed=1, key=KEY)
        with pytest.raises(AssertionError, match="singled out"):
            reidcheck.assert_reid_risk_below(raw.publish().tables["cdr"], points=4, time_bin="1h")


    RELEASE = Path("out/release")     # written by your pipeline (or `reidcheck anonymize`)


    @pytest.mark.skipif(not RELEASE.is_dir(), reason="no release written yet")
    def test_release_on_disk(reidcheck):
        reidcheck.assert_reid_risk_below(RELEASE, time_bin="1d", max_unique_rate=0.10)
        reidcheck.assert_k_anonymous(RELEASE / "subscribers.parquet", qi="gender,age,home_district", k=5)
        reidcheck.assert_no_reversible_pseudonyms(RELEASE / "cdr.parquet", column="pid")
"""

from __future__ import annotations

import argparse
import os

import pytest

#: Size of the ``reidcheck_population`` fixture.
POPULATION_SUBSCRIBERS = 1000
POPULATION_DAYS = 7


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _check_limit(name: str, limit, judge: str) -> None:
    """A rate gate's arguments: ``judge`` is upper or value, ``limit`` a share in [0, 1] (UsageError)."""
    from .errors import UsageError

    if judge not in ("upper", "value"):
        raise UsageError(f"Parameter `judge` must be 'upper' or 'value'. Got {judge!r} instead.")
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 <= limit <= 1:
        raise UsageError(f"Parameter `{name}` must be a share between 0 and 1. Got {limit!r} instead.")


def _engine():
    from .engine import get_engine

    return get_engine("duckdb")


def _close(engine) -> None:
    """Close the engine's connection and remove its spill directory."""
    engine.close()


def _source(data, noun: str = "") -> str:
    """How a message names the input: ``the DataFrame`` or ``<noun> 'path'`` (never its content)."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return "the DataFrame"
    return f"{noun} '{os.fspath(data)}'".lstrip()


def assert_reid_risk_below(data, *, max_unique_rate: float = 0.1, points: int = 4, time_bin: str = "1h",
                           space: str = "cell", targets: int | str | None = 2000, seed: int = 0,
                           mapping: str | None = None, cells=None, judge: str = "upper",
                           utc_offset_h: float | None = None):
    """Fail unless few people of ``data`` are singled out by a handful of known points (unicity).

    A **point** is a distinct (time bin, place) pair of a person's trace at resolution
    (``time_bin``, ``space``). For each target the attack draws ``points`` of its distinct points
    (seeded) and counts the people whose trace holds all of them; the target is **singled out**
    (unique) when it is the only one. The **rate** is unique targets / scored targets: targets with
    fewer than ``points`` distinct points cannot be scored, are reported as skipped and are not in
    the denominator. The 95% interval is Wilson's. See ``reidcheck.attacks.trajectory.Unicity``.

    Parameters
    ----------
    data:
        The person-level events about to be published: a pandas DataFrame, a CSV/Parquet file, or
        a population / release directory (its ``cdr`` table, with its ``cells`` table and
        ``utc_offset_h`` when present).
    max_unique_rate:
        The limit, a share in [0, 1]: the check fails when the judged rate is above it.
    points:
        How many points the adversary knows about each target (1 to 10).
    time_bin:
        Time resolution of a point: ``15min``, ``1h``, ``4h``, ``1d``, ``1w`` or ``how`` (hour of
        week), bins of local time (UTC + ``utc_offset_h``).
    space:
        Place resolution of a point: ``cell`` (the place as given), ``site``, ``district``,
        ``province`` (these need a cells table) or ``grid:1km``-style squares (need coordinates).
    targets:
        How many people to score (drawn by seeded hash), or ``"all"``/None for everyone.
    seed:
        Seed of the target and point draws (same seed, same result on any machine).
    mapping:
        Which columns are the user, time and place, e.g. ``"user=pid,time=timestamp,place=cell_id"``
        or ``"user=u,time=t,lat=y,lon=x"``. Default: canonical (``subscriber_id``, ``timestamp``,
        ``cell_id``) or release (``pid``, ``timestamp``, ``cell_id`` / ``lat``, ``lon``) columns.
    cells:
        The cells table (DataFrame or file with ``cell_id``, ``lat``, ``lon``, ``site_id``,
        ``district``, ``province``), needed for ``site``/``district``/``province``/grid spaces
        when ``data`` is a DataFrame or a bare file.
    judge:
        ``"upper"`` (default): compare the upper end of the 95% interval to the limit, so a small
        sample cannot pass by luck; ``"value"``: compare the point estimate.
    utc_offset_h:
        Local time = UTC + this many hours, for the time bins. Default: the directory's manifest,
        else 0.

    Returns the ``AttackResult`` when the check passes. When no target can be scored (everyone has
    fewer than ``points`` distinct points), nothing is measured and the check fails.
    """
    __tracebackhide__ = True
    from .attacks.trajectory import Unicity
    from .io import load_trajectories

    _check_limit("max_unique_rate", max_unique_rate, judge)
    attack = Unicity(points=points, time_bin=time_bin, space=space, targets=targets, seed=seed)
    attack.validate()   # before any file is read
    engine = _engine()
    try:
        inp = load_trajectories(engine, data, mapping, cells=cells, utc_offset_h=utc_offset_h)
        res = attack.run(engine, inp)
    finally:
        _close(engine)
    p = res.params
    where = (f"{p['points']} known points (time bin {p['time_bin']}, space {p['space']}, targets {p['targets']}, "
             f"seed {p['seed']})")
    if res.n_targets == 0:
        raise AssertionError(
            f"Re-identification risk of {_source(data)} cannot be measured: none of the {res.n_skipped:,} targets "
            f"has {points} distinct points at {where}. Lower `points` or use a finer resolution to measure it.")
    value = res.unique_rate["value"]
    lo, hi = res.unique_rate["ci"]
    judged = hi if judge == "upper" else value
    if judged > max_unique_rate:
        which = "the upper end of its 95% interval" if judge == "upper" else "the measured rate"
        raise AssertionError(
            f"Re-identification risk of {_source(data)} is too high: {_pct(value)} of people are singled out "
            f"({res.n_unique:,} of n_targets={res.n_targets:,} scored targets are the only match of their points; "
            f"95% CI {_pct(lo)}–{_pct(hi)}) by {where}; {res.n_skipped:,} targets with fewer than {points} distinct "
            f"points were skipped. The limit is max_unique_rate={_pct(max_unique_rate)} and {which} "
            f"({_pct(judged)}) is above it. A point is a distinct (time bin, place) pair of a person's trace; the "
            "rate is unique targets / scored targets. To lower it, publish coarser points (a longer time_bin such "
            "as 4h or 1d, a coarser space such as district or grid:5km), suppress rare places, or publish "
            "aggregates (presence counts per place and time) instead of person-level traces.")
    return res


def assert_not_linkable(data, *, max_linked_rate: float = 0.05, split_days: int | str | None = None,
                        sample: float = 0.3, mapping: str | None = None, cells=None, judge: str = "upper",
                        utc_offset_h: float | None = None):
    """Fail unless few pseudonyms of ``data`` are re-identified from their own behaviour (profile
    linkage, the audit's behavioural-linkability rule), in two scenarios judged on the worse:

    * *next period*: the records of the first ``split_days`` days (default: half of the days the data
      spans; ``"halves"``: each pseudonym cut at the middle of its own span, for rotated pseudonyms)
      are the adversary's labelled knowledge, the later records are anonymous;
    * *sample*: a seeded share ``sample`` of each pseudonym's records is known, the other records
      (disjoint) are anonymous — an adversary with a sample of the same period; 0 turns it off.

    Each anonymous pseudonym is ranked against every known one by its behaviour
    (``reidcheck.attacks.profile.ProfileLinkage``: place × time-of-week histograms, record kinds and
    volume on fine data; per-(place, time, kind) count consistency on coarse data). The **rate** is
    the share of anonymous pseudonyms whose person is named (best-ranked or one-to-one, whichever
    names more) over all of them, with a 95% Wilson interval; ``judge`` and ``data``, ``mapping``,
    ``cells``, ``utc_offset_h`` are as in ``assert_reid_risk_below``. Coarsening that defeats a few
    known points often leaves behaviour recognisable: this gate catches it. Returns the worse
    scenario's ``AttackResult`` when the check passes."""
    __tracebackhide__ = True
    from .attacks.profile import ProfileLinkage
    from .errors import UsageError

    _check_limit("max_linked_rate", max_linked_rate, judge)
    if split_days is not None:
        ProfileLinkage(self_split=split_days).validate()
    if isinstance(sample, bool) or not isinstance(sample, (int, float)) or not 0 <= sample < 1:
        raise UsageError(f"Parameter `sample` must be a share in [0, 1) (0: no sample scenario). Got {sample!r} instead.")
    if sample:
        ProfileLinkage(self_sample=float(sample)).validate()
    from .io import load_trajectories

    engine = _engine()
    try:
        import warnings

        inp = load_trajectories(engine, data, mapping, cells=cells, utc_offset_h=utc_offset_h)
        split = split_days
        if split is None:
            span = engine.query(f"SELECT MIN(t) AS a, MAX(t) AS b FROM {inp.relation}").iloc[0]
            split = max(1, int((int(span["b"]) - int(span["a"])) // 86400 + 1) // 2)
        when = "the first half of each pseudonym's span" if split == "halves" else f"the first {split} day(s)"
        runs = [(when, ProfileLinkage(self_split=split))]
        if sample:
            runs.append((f"a random {_pct(sample)} of each pseudonym's records", ProfileLinkage(self_sample=float(sample))))
        results = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for knows, attack in runs:
                results.append((knows, attack.run(engine, inp)))
    finally:
        _close(engine)
    key = (lambda r: r[1].correct_rate["ci"][1]) if judge == "upper" else (lambda r: r[1].correct_rate["value"])
    knows, res = max(results, key=key)
    cr = res.correct_rate
    value, (lo, hi) = cr["value"], cr["ci"]
    judged = hi if judge == "upper" else value
    if judged > max_linked_rate:
        which = "the upper end of its 95% interval" if judge == "upper" else "the measured rate"
        raise AssertionError(
            f"Behavioural linkability of {_source(data)} is too high: {_pct(value)} of pseudonyms are re-identified "
            f"({res.n_correct:,} of n_targets={res.n_targets:,} anonymous pseudonyms; 95% CI {_pct(lo)}–{_pct(hi)}) by "
            f"an adversary who knows {knows} labelled, against {_pct(res.baseline_rate)} for a random guess among "
            f"{res.n_candidates:,}. The limit is max_linked_rate={_pct(max_linked_rate)} and {which} ({_pct(judged)}) "
            "is above it. The rate is re-identified anonymous pseudonyms / all anonymous pseudonyms. Coarser places "
            "and times lower it slowly; publishing aggregates instead of person-level traces removes it.")
    return res


def assert_k_anonymous(table, qi, k: int = 5):
    """Fail unless every equivalence class of ``table`` on the quasi-identifiers has ≥ ``k`` records.

    An **equivalence class** is the set of records with equal values on every QI column; a missing
    value is a value of its own. Counts are over records (rows). CSV values are compared as written.
    An empty table passes (no record to single out). See ``reidcheck.attacks.tabular.KAnonymity``.

    Parameters
    ----------
    table:
        A pandas DataFrame or a CSV/Parquet file (one record per row).
    qi:
        The quasi-identifier columns: a list, or a comma-separated string (``"gender,age,district"``).
    k:
        The smallest class size allowed (a positive integer).

    Returns the ``AttackResult`` when the check passes. The failure message names the smallest class
    size and the share of records in classes smaller than ``k``, never a record value.
    """
    __tracebackhide__ = True
    from .attacks.inputs import TableInput
    from .attacks.tabular import KAnonymity
    from .io import load_table

    attack = KAnonymity(qi=tuple(qi) if not isinstance(qi, str) else qi, k=k)
    qi_cols = attack.validate()
    engine = _engine()
    try:
        info = load_table(engine, table, relation="tbl")
        res = attack.run(engine, TableInput.loaded(info, "tbl"))
    finally:
        _close(engine)
    below = res.extra["records_below_k"]
    if below["records"] > 0:
        lo, hi = below["ci"]
        src = _source(table, "Table")
        raise AssertionError(
            f"{src[0].upper() + src[1:]} is not {k}-anonymous on ({', '.join(qi_cols)}): the smallest equivalence "
            f"class has {res.extra['k']:,} record(s); {below['records']:,} of {res.n_targets:,} records "
            f"({_pct(below['value'])}, 95% CI {_pct(lo)}–{_pct(hi)}) are in classes smaller than {k} "
            f"({res.n_unique:,} records alone in their class; {res.extra['classes']:,} classes in all). Generalize the "
            "quasi-identifiers (age bands, province instead of district), suppress the small classes, or drop a "
            "quasi-identifier.")
    return res


def _pseudonyms(values_or_table, column: str | None) -> list:
    """The pseudonym strings of a list/array/Series, a DataFrame column or a file's column."""
    import pandas as pd

    from .errors import UsageError

    if isinstance(values_or_table, (str, os.PathLike)):
        from .io import load_table

        engine = _engine()
        try:
            info = load_table(engine, values_or_table, relation="tbl")
            cols = info["columns"]
            col = _pick_column(cols, column, info["file"])
            values = engine.query(f"SELECT DISTINCT CAST({engine.quote(col)} AS STRING) AS v FROM tbl")["v"]
        finally:
            _close(engine)
        return [v for v in values.tolist() if v is not None]
    if isinstance(values_or_table, pd.DataFrame):
        col = _pick_column(list(values_or_table.columns), column, "<DataFrame>")
        values_or_table = values_or_table[col]
    elif column is not None:
        raise UsageError("Parameter `column` is for a table (DataFrame or file), not for a list of values.")
    if isinstance(values_or_table, pd.Series):
        values_or_table = values_or_table.dropna().astype(str).unique()
    return [v for v in values_or_table if v is not None]


def _pick_column(cols, column: str | None, source: str) -> str:
    from .errors import InputError, UsageError

    if column is not None:
        if column not in cols:
            from .redact import column_list

            raise InputError(f"File '{source}': column '{column}' not found; columns are {column_list(cols)}.")
        return column
    if "pid" in cols:
        return "pid"
    if len(cols) == 1:
        return cols[0]
    raise UsageError(f"Table '{source}' has several columns and none is 'pid': name the pseudonym column "
                     "with `column=`.")


def assert_no_reversible_pseudonyms(values_or_table, column: str | None = None, budget: int = 2_000_000):
    """Fail if any pseudonym is an unsalted hash (MD5, SHA-1, SHA-256) of a phone number that a small
    enumeration of the numbering plan reverses.

    The check runs ``reidcheck.attacks.pseudonyms.HashReversal`` on prefix 300 with serials
    [0, ``budget`` // 3) in each of the 3 written forms (``+923001234567``, ``923001234567``,
    ``03001234567``): ``budget`` candidate numbers are hashed (about 1–2 s for the default on two
    cores). Pseudonyms that are not a plain hash (random tokens, HMAC with a secret key, mixed
    lengths) cannot be enumerated and pass. Passing is not proof of safety — only this slice of the
    plan was tried — but one hit proves that the whole export is reversible: the failure message
    extrapolates the time to enumerate the whole national plan (``reidcheck.numbering.PLAN_PREFIXES``,
    10⁷ serials each, in the written form(s) that matched) at this machine's hashing rate — the
    estimate of ``reidcheck.attacks.pseudonyms.reverse_plan_slice``, the same as the audit's.

    Parameters
    ----------
    values_or_table:
        The pseudonyms: a list, array or pandas Series of strings, a DataFrame, or a CSV/Parquet file.
    column:
        The pseudonym column of a DataFrame or file (default: ``pid``, or the only column).
    budget:
        How many candidate numbers to hash (at least 3; at most the 3 × 10⁷ numbers of the prefix).

    Returns the ``AttackResult`` when nothing is reversed. The failure message gives how many
    pseudonyms were reversed, the algorithm and the full-plan estimate, never a number.
    """
    __tracebackhide__ = True
    from .attacks.pseudonyms import reverse_plan_slice
    from .attacks.validation import _int_between
    from .numbering import FORMS, PLAN_PREFIXES, PLAN_SERIALS

    _int_between("budget", budget, len(FORMS), len(FORMS) * PLAN_SERIALS,
                 allowed=f"an integer of at least {len(FORMS)} candidates (at most {len(FORMS) * PLAN_SERIALS:,})")
    values = _pseudonyms(values_or_table, column)
    rev = reverse_plan_slice(values, budget=budget)
    res, serial_hi = rev.result, rev.serial_hi
    if res.n_unique > 0:
        forms = res.extra["plan_forms"]
        rate = rev.hashes_per_s
        full = len(PLAN_PREFIXES) * PLAN_SERIALS * len(forms)
        minutes = rev.full_plan_minutes
        eta = f"about {minutes:,.0f} min" if minutes >= 1 else "under a minute"
        raise AssertionError(
            f"{res.n_unique:,} of {res.n_targets:,} distinct pseudonyms ({_pct(res.unique_rate['value'])}) are "
            f"unsalted {res.extra['algorithm']} hashes of phone numbers: hashing {res.extra['candidates_hashed']:,} "
            f"candidates (prefix 300, serials 0–{serial_hi - 1:,}, written {', '.join(forms)}) reversed them. "
            f"The full numbering plan ({len(PLAN_PREFIXES)} prefixes × {PLAN_SERIALS:,} serials in "
            f"{len(forms)} form(s), {full:,} candidates) would take {eta} at {rate:,.0f} hashes/s measured on "
            "this machine, so every pseudonym of this kind is reversible. Use random "
            "tokens or a keyed hash (HMAC) whose key never leaves the company.")
    return res


class ReidcheckHelpers:
    """What the ``reidcheck`` fixture returns: the assertion helpers and the session's seed."""

    assert_reid_risk_below = staticmethod(assert_reid_risk_below)
    assert_not_linkable = staticmethod(assert_not_linkable)
    assert_k_anonymous = staticmethod(assert_k_anonymous)
    assert_no_reversible_pseudonyms = staticmethod(assert_no_reversible_pseudonyms)

    def __init__(self, seed: int):
        self.seed = seed

    def __repr__(self) -> str:
        return f"<reidcheck helpers seed={self.seed}>"


# ----------------------------------------------------------------------------------------------
# Options and fixtures
# ----------------------------------------------------------------------------------------------
def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def pytest_addoption(parser):
    group = parser.getgroup("reidcheck", "reidcheck re-identification gates")
    group.addoption("--reidcheck-seed", dest="reidcheck_seed", type=_seed, default=0, metavar="N",
                    help="seed of the reidcheck_seed, reidcheck_rng and reidcheck_population fixtures (default 0).")


@pytest.fixture(scope="session")
def reidcheck_seed(request) -> int:
    """The seed given with ``--reidcheck-seed`` (default 0)."""
    return int(request.config.getoption("reidcheck_seed", 0) or 0)


@pytest.fixture
def reidcheck_rng(reidcheck_seed):
    """A fresh ``numpy.random.Generator`` per test: ``default_rng(SeedSequence(reidcheck_seed))``."""
    import numpy as np

    return np.random.default_rng(np.random.SeedSequence(reidcheck_seed))


@pytest.fixture(scope="session")
def reidcheck_population(reidcheck_seed):
    """A synthetic population of 1,000 subscribers × 7 days (``synthetic.generate(subscribers=1000,
    days=7, seed=reidcheck_seed)``), generated once per session and shared: do not modify it in place."""
    import synthetic

    return synthetic.generate(subscribers=POPULATION_SUBSCRIBERS, days=POPULATION_DAYS, seed=reidcheck_seed)


@pytest.fixture(scope="session")
def reidcheck(reidcheck_seed) -> ReidcheckHelpers:
    """The assertion helpers without an import: ``reidcheck.assert_reid_risk_below(...)`` etc."""
    return ReidcheckHelpers(reidcheck_seed)
