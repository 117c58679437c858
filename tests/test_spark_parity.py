"""Spark parity: every attack and check gives identical results on Spark (local[2]) and DuckDB.

The Spark session runs with ``spark.driver.maxResultSize=1m`` over inputs several times larger than
that: a step that collected the data to the driver would fail, so passing shows that only small
result tables come back. Skipped without pyspark, except in CI (``CI`` set), where it must run.
"""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

try:
    import pyspark  # noqa: F401
    HAVE_SPARK = shutil.which("java") is not None
except ImportError:
    HAVE_SPARK = False

if not HAVE_SPARK:
    if os.environ.get("CI"):
        pytest.fail("the Spark parity suite must run in CI: install the spark extra and Java", pytrace=False)
    pytestmark = pytest.mark.skip(reason="pyspark or Java not installed (pip install 'reidcheck[spark]')")

from reidcheck.attacks import HomeWork, TopN, Unicity, travel_linkage, unicity_curve  # noqa: E402
from reidcheck.attacks.linkage import Linkage  # noqa: E402
from reidcheck.attacks.tabular import KAnonymity, LDiversity, PopulationRisk, TCloseness  # noqa: E402
from reidcheck.engine import get_engine  # noqa: E402
from reidcheck.io import load_table, load_trajectories  # noqa: E402

VOLATILE = {"elapsed_s", "engine", "shared_preparation_s"}


@pytest.fixture(scope="module")
def engines():
    spark = get_engine("spark", master="local[2]", config={"spark.driver.maxResultSize": "1m",
                                                            "spark.sql.shuffle.partitions": "4"})
    yield {"duckdb": get_engine("duckdb"), "spark": spark}
    spark.spark.stop()


@pytest.fixture(scope="module")
def pop_dir(tmp_path_factory):
    """2,000 subscribers × 7 days (~110k CDR rows: far above the 1 MB result limit)."""
    from synthetic import write_population

    path = tmp_path_factory.mktemp("spark") / "pop"
    write_population(path, 2000, 7, 4)
    return path


def _same(run):
    """Run ``run(engine)`` on both engines; the results must be equal but for timings."""
    out = {}
    for name in ("duckdb", "spark"):
        results = run(name)
        results = results if isinstance(results, list) else [results]
        out[name] = [{k: v for k, v in r.to_dict().items() if k not in VOLATILE} for r in results]
    assert out["duckdb"] == out["spark"]
    return out["duckdb"]


def test_trajectory_attacks_are_identical(engines, pop_dir):
    inputs = {n: load_trajectories(e, pop_dir) for n, e in engines.items()}
    cases = [Unicity(points=4, targets=800, seed=5), Unicity(points=2, time_bin="4h", space="district", seed=1),
             Unicity(points=3, space="grid:2km", time_bin="1d", time_tolerance=1, space_tolerance_km=3, targets=300),
             Unicity(points=2, time_bin="how", space="site", targets="all"),
             TopN(n=2), TopN(n=3, space="district", ordered=True), HomeWork(space="site")]
    for attack in cases:
        res = _same(lambda n, a=attack: a.run(engines[n], inputs[n]))
        assert res[0]["n_targets"] > 0, attack
    curve = _same(lambda n: unicity_curve(engines[n], inputs[n], max_points=3,
                                          resolutions=[("1h", "cell"), ("1d", "province")], targets=400, seed=2))
    assert len(curve) == 6


def test_scoring_with_a_truth_map_is_identical(engines, pop_dir):
    cdr = pd.read_parquet(pop_dir / "cdr.parquet")
    cdr["timestamp"] = cdr["timestamp"].astype("int64") // 10**6 if str(cdr["timestamp"].dtype).endswith("[us, UTC]") \
        else cdr["timestamp"].astype("int64") // 10**9
    release = cdr.assign(subscriber_id=cdr["subscriber_id"] * 7 + 3)     # a pseudonymized copy
    truth = pd.DataFrame({"pid": cdr["subscriber_id"].unique() * 7 + 3, "uid": cdr["subscriber_id"].unique()})

    def run(n):
        e = engines[n]
        rel = load_trajectories(e, release, relation="rel", utc_offset_h=5)
        kn = load_trajectories(e, cdr, relation="kn", utc_offset_h=5)
        return Unicity(points=3, targets=500, seed=9).run(e, rel, knowledge=kn, truth=truth)

    res = _same(run)
    assert res[0]["n_correct"] == res[0]["n_unique"] > 0


def test_tabular_checks_are_identical(engines, pop_dir):
    subs = pd.read_parquet(pop_dir / "subscribers.parquet")
    table = pd.DataFrame({"gender": subs["gender"], "birth_year": pd.to_datetime(subs["birth_date"]).dt.year,
                          "district": subs["home_district"], "operator": subs["operator"]})
    table.loc[::37, "district"] = None                     # missing QI values form their own class
    checks = [KAnonymity(qi="gender,birth_year,district", k=5),
              LDiversity(qi="gender,district", sensitive="operator", variant="distinct"),
              LDiversity(qi="gender,district", sensitive="operator", variant="entropy"),
              LDiversity(qi="gender,district", sensitive="operator", variant="recursive", l=2, c=3),
              TCloseness(qi="gender,district", sensitive="birth_year"),
              TCloseness(qi="gender,district", sensitive="operator", ordered=False),
              PopulationRisk(qi="gender,birth_year,district", sampling_fraction=0.05)]
    for check in checks:
        def run(n, c=check):
            load_table(engines[n], table, relation="tbl")
            return c.run(engines[n], "tbl")
        _same(run)


def test_travel_and_linkage_are_identical(engines, pop_dir):
    trips = pd.read_parquet(pop_dir / "travel.parquet")
    trips = pd.DataFrame({"pid": trips["subscriber_id"].astype(str), "country": trips["country"],
                          "month": pd.to_datetime(trips["depart_date"]).dt.strftime("%Y-%m")})
    _same(lambda n: travel_linkage(engines[n], trips, known_trips=1, seed=3))
    subs = pd.read_parquet(pop_dir / "subscribers.parquet")
    rel = pd.DataFrame({"pid": subs["subscriber_id"].astype(str), "gender": subs["gender"],
                        "age": (2025 - pd.to_datetime(subs["birth_date"]).dt.year).astype(str),
                        "district": subs["home_district"]})
    aux = rel.sample(300, random_state=1).rename(columns={"pid": "subscriber_id"})
    _same(lambda n: Linkage(qi="gender,age,district").run(engines[n], rel, aux))
