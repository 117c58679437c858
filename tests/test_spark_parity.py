"""Spark parity: every attack and check gives identical results on Spark (local[2]) and DuckDB.

The Spark session runs with ``spark.driver.maxResultSize=1m`` (and no broadcast joins, whose
relations would pass through the driver) over inputs several times larger than that: a step that
collected the data to the driver would fail, so passing shows that only small result tables come back. Skipped without pyspark, except in CI (``CI`` set), where it must run.
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

from reidcheck.attacks import HomeWork, TableInput, TopN, TravelLinkage, Unicity, UnicityCurve  # noqa: E402
from reidcheck.attacks.linkage import Linkage  # noqa: E402
from reidcheck.attacks.tabular import KAnonymity, LDiversity, PopulationRisk, TCloseness  # noqa: E402
from reidcheck.engine import get_engine  # noqa: E402
from reidcheck.io import load_table, load_trajectories  # noqa: E402

VOLATILE = {"elapsed_s", "engine", "shared_preparation_s"}


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:     # Spark's output: a log file of this run, not the terminal
        mp.setenv("REIDCHECK_SPARK_LOG", str(tmp_path_factory.mktemp("spark-log") / "spark.log"))
        # No broadcast joins: a broadcast relation passes through the driver and counts against the
        # 1 MB result limit, which is here to catch results collected to the driver, not joins.
        spark = get_engine("spark", master="local[2]", config={"spark.driver.maxResultSize": "1m",
                                                                "spark.sql.shuffle.partitions": "4",
                                                                "spark.sql.autoBroadcastJoinThreshold": "-1"})
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
    curve = _same(lambda n: UnicityCurve(max_points=3, resolutions=(("1h", "cell"), ("1d", "province")), targets=400,
                                         seed=2).run(engines[n], inputs[n]))
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
            return c.run(engines[n], TableInput("tbl"))
        _same(run)


def test_travel_and_linkage_are_identical(engines, pop_dir):
    trips = pd.read_parquet(pop_dir / "travel.parquet")
    trips = pd.DataFrame({"pid": trips["subscriber_id"].astype(str), "country": trips["country"],
                          "month": pd.to_datetime(trips["depart_date"]).dt.strftime("%Y-%m")})
    _same(lambda n: TravelLinkage(known_trips=1, seed=3).run(engines[n], trips))
    subs = pd.read_parquet(pop_dir / "subscribers.parquet")
    rel = pd.DataFrame({"pid": subs["subscriber_id"].astype(str), "gender": subs["gender"],
                        "age": (2025 - pd.to_datetime(subs["birth_date"]).dt.year).astype(str),
                        "district": subs["home_district"]})
    aux = rel.sample(300, random_state=1).rename(columns={"pid": "subscriber_id"})
    _same(lambda n: Linkage(qi="gender,age,district").run(engines[n], rel, knowledge=aux))


# --- CSV dialects: detected once (reidcheck.dialect), passed to both engines ---------------------------

def _kanon_same(engines, path, qi, k=5):
    def run(n):
        load_table(engines[n], path, relation="tbl")
        return KAnonymity(qi=qi, k=k).run(engines[n], TableInput("tbl", str(path)))
    return _same(run)


def test_semicolon_csv_kanon_is_identical(engines, tmp_path):
    rows = [f"{'MF'[i % 2]};{20 + i % 7};{['White', 'Black', 'Other'][i % 3]};{['Never-married', 'Divorced'][i % 2]}"
            for i in range(200)]
    path = tmp_path / "adult-like.csv"
    path.write_text("sex;age;race;marital-status\r\n" + "\r\n".join(rows) + "\r\n")
    res = _kanon_same(engines, path, "sex,age,race,marital-status")
    assert res[0]["n_targets"] == 200 and res[0]["classes"] > 1


def test_adult_kanon_is_identical(engines, adult_data):
    path = adult_data / "adult.csv.gz"
    res = _kanon_same(engines, path, "sex,age,race,marital-status")
    assert res[0]["n_targets"] > 30000


def test_header_only_csv_is_identical(engines, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("sex;age\n")
    from reidcheck.errors import InputError

    for e in engines.values():
        assert load_table(e, path, allow_empty=True) == {"file": str(path), "rows": 0, "columns": ["sex", "age"]}
        with pytest.raises(InputError, match="no data rows"):     # what every check sees: refused alike
            load_table(e, path)


def test_gzip_csv(engines, tmp_path):
    """A gzip file named .csv: DuckDB reads it; Spark (which picks its codec from the name) refuses it
    in one line. Named .csv.gz, both read it alike."""
    import gzip

    from reidcheck.errors import InputError

    text = "sex,age\n" + "".join(f"{'MF'[i % 2]},{30 + i % 4}\n" for i in range(100))
    (tmp_path / "t.csv").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(text.encode()))
    assert load_table(engines["duckdb"], tmp_path / "t.csv")["rows"] == 100
    with pytest.raises(InputError, match=r"t\.csv': gzip-compressed but not named \.gz") as info:
        load_table(engines["spark"], tmp_path / "t.csv")
    assert "\n" not in str(info.value)
    assert _kanon_same(engines, tmp_path / "t.csv.gz", "sex,age")[0]["n_targets"] == 100


def test_semicolon_trajectory_csv_is_identical(engines, pop_dir, tmp_path):
    """SparkEngine.register (trajectory files) honours the detected delimiter too."""
    cdr = pd.read_parquet(pop_dir / "cdr.parquet").head(5000)
    path = tmp_path / "cdr.csv"
    cdr[["subscriber_id", "timestamp", "cell_id"]].to_csv(path, sep=";", index=False)
    inputs = {n: load_trajectories(e, path, "user=subscriber_id,time=timestamp,place=cell_id")
              for n, e in engines.items()}
    res = _same(lambda n: Unicity(points=2, targets="all", seed=1).run(engines[n], inputs[n]))
    assert res[0]["n_targets"] > 0


# --- the command line: stdout only JSON, stderr empty, Spark's output in its log -----------------------

def _cli(args, tmp_path, **env):
    import subprocess
    import sys
    from pathlib import Path

    repo = str(Path(__file__).resolve().parents[1])
    full_env = {**os.environ, "PYTHONPATH": repo + os.pathsep + os.environ.get("PYTHONPATH", ""),
                "REIDCHECK_SPARK_MASTER": "local[1]", **env}
    full_env.pop("REIDCHECK_VERBOSE", None)
    return subprocess.run([sys.executable, "-m", "reidcheck.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=tmp_path, timeout=600)


def test_cli_spark_is_silent_and_logs_to_a_file(tmp_path):
    import json

    (tmp_path / "small.csv").write_text("a;b\nx;1\ny;2\nx;1\nz;3\n")
    log = tmp_path / "logs" / "spark.log"
    args = ["attack", "kanon", "small.csv", "--qi", "a,b", "--json", "-"]
    spark = _cli(args + ["--engine", "spark"], tmp_path, REIDCHECK_SPARK_LOG=str(log))
    assert spark.returncode == 0 and spark.stderr == ""
    duck = _cli(args, tmp_path)
    assert duck.returncode == 0 and duck.stderr == ""
    a, b = json.loads(spark.stdout), json.loads(duck.stdout)      # stdout is the JSON and nothing else
    assert {k: v for k, v in a.items() if k not in VOLATILE} == {k: v for k, v in b.items() if k not in VOLATILE}
    text = log.read_text()
    assert "log4j" in text or "WARN" in text                      # the JVM's output went to the log
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_cli_spark_verbose_shows_the_log(tmp_path):
    (tmp_path / "small.csv").write_text("a,b\nx,1\n")
    log = tmp_path / "spark.log"
    run = _cli(["--verbose", "attack", "kanon", "small.csv", "--qi", "a", "--json", "-", "--engine", "spark"],
               tmp_path, REIDCHECK_SPARK_LOG=str(log))
    assert run.returncode == 0 and run.stderr.strip() and not log.exists()


def test_arbitrary_column_names_are_quoted_on_both_engines(engines, tmp_path_factory):
    """Names with quotes, backticks, semicolons, newlines and any unicode reach Spark SQL and DuckDB
    only as quoted identifiers: k-anonymity over such a column is equal on both, and nothing else runs."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    tmp = tmp_path_factory.mktemp("names")
    fixed = ['x" FROM tbl) d) AS n; COPY (SELECT 1) TO \'' + str(tmp / "pwned") + '\'; SELECT (1 AS "x',
             "a`b", "semi;colon", "new\nline", "ünï cödé", "back\\slash", "dot.ted", "'single'"]

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.one_of(st.sampled_from(fixed),
                     st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
                     .filter(lambda s: s.strip() == s and s and s not in ("pid", "q"))))
    def check(name):
        df = pd.DataFrame({"pid": ["a", "b", "c", "d"], "q": ["1", "1", "2", "2"], name: ["x", "x", "y", "z"]})
        path = tmp / "t.parquet"
        df.to_parquet(path)
        out = {}
        for eng_name, eng in engines.items():
            load_table(eng, path)
            res = KAnonymity(qi=(name, "q"), k=2).run(eng, TableInput("tbl", str(path))).to_dict()
            out[eng_name] = {k: v for k, v in res.items() if k not in VOLATILE}
        assert out["duckdb"] == out["spark"]
        assert out["duckdb"]["k"] == 1
        assert not (tmp / "pwned").exists()

    check()


def _audit_without_timings(report: dict) -> dict:
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in VOLATILE and not k.endswith("_s")
                    and k not in ("hashes_per_s", "message")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return strip(report)


def test_audit_is_identical_on_spark(engines, pop_dir, tmp_path):
    """`reidcheck audit --engine spark` gives the findings of DuckDB: a population directory (trajectory,
    subscribers, travel, cells tables) and a `;`-separated tabular CSV."""
    from reidcheck.audit import run_audit
    from reidcheck.policy import Policy

    policy = Policy()
    policy.doc["seed"] = 3
    policy.doc["rules"]["RC201"]["targets"] = 300
    policy.doc["rules"]["RC301"]["budget"] = 30_000
    # RC205 brings every person's profile to the driver (its scoring is sparse linear algebra there): more
    # than the 1 MB result limit of this session; test_profile_linkage_is_identical covers it.
    policy.doc["rules"]["RC205"]["enabled"] = False
    reports = {n: run_audit(e, pop_dir, policy) for n, e in engines.items()}
    a, b = (_audit_without_timings(reports[n]) for n in ("duckdb", "spark"))
    assert a["findings"] == b["findings"] and a["curves"] == b["curves"] and a["tables"] == b["tables"]
    assert a["verdict"] == b["verdict"] == "fail"
    assert len(a["findings"]) >= 8
    tab = tmp_path / "export.csv"
    tab.write_text("id;age;gender;district\n1;30;F;Lahore\n2;30;F;Lahore\n3;41;M;Karachi\n4;52;F;Quetta\n")
    reports = {n: run_audit(e, tab, policy) for n, e in engines.items()}
    a, b = (_audit_without_timings(reports[n]) for n in ("duckdb", "spark"))
    assert a["findings"] == b["findings"] and {f["rule_id"] for f in a["findings"]} >= {"RC101", "RC104"}


def test_profile_linkage_is_identical(engines, tmp_path_factory):
    """The profile attack's group-bys (profiles, kinds, co-occurring records, windows, the seeded
    sample) give the same rankings on both engines. A small population: the profiles come back to the
    driver by design, and must fit the 1 MB result limit of this session."""
    from synthetic import write_population

    from reidcheck.attacks import ProfileLinkage

    path = tmp_path_factory.mktemp("spark-profile") / "pop"
    write_population(path, 100, 6, 9)
    cdr = pd.read_parquet(path / "cdr.parquet")
    cdr["timestamp"] = (cdr["timestamp"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)  # epoch s, any unit
    release = cdr.assign(pid=(cdr["subscriber_id"] * 7 + 3).astype(str)).drop(columns=["subscriber_id",
                                                                                        "counterpart_msisdn"])
    truth = pd.DataFrame({"pid": (cdr["subscriber_id"].unique() * 7 + 3).astype(str),
                          "subscriber_id": cdr["subscriber_id"].unique()})
    cases = [dict(self_split=3), dict(knowledge_days="0..3", release_days="3..6"),
             dict(knowledge_sample=0.3, seed=2)]
    for case in cases:
        def run(n, case=case):
            e = engines[n]
            rel = load_trajectories(e, release, relation="prel", utc_offset_h=5)
            if "self_split" in case:
                return ProfileLinkage(**case).run(e, rel)
            kn = load_trajectories(e, cdr, relation="pkn", utc_offset_h=5)
            return ProfileLinkage(**case).run(e, rel, knowledge=kn, truth=truth)

        res = _same(run)
        assert res[0]["top1_rate"]["value"] > 0.2, case


def test_coarse_profile_linkage_is_identical(engines, tmp_path_factory):
    """The count model of a coarse release (province × day records, durations kept) in its three
    regimes — next period, a sample of the released records (exact keys, durations matched one by
    one) and the release's own sample (the seeded, scrambled split) — ranks alike on both engines."""
    from synthetic import write_population

    from reidcheck.attacks import ProfileLinkage

    path = tmp_path_factory.mktemp("spark-coarse") / "pop"
    write_population(path, 120, 6, 4)
    cdr = pd.read_parquet(path / "cdr.parquet")
    cells = pd.read_parquet(path / "cells.parquet")
    t = (cdr["timestamp"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    off = 5 * 3600
    prov = pd.Series(pd.factorize(cells["province"], sort=True)[0], index=cells["cell_id"].to_numpy())
    coarse = cdr.assign(timestamp=(t + off) // 86400 * 86400 - off,
                        cell_id=prov.reindex(cdr["cell_id"].to_numpy()).to_numpy()).drop(columns=["counterpart_msisdn"])
    release = coarse.assign(pid=(coarse["subscriber_id"] * 7 + 3).astype(str)).drop(columns=["subscriber_id"])
    truth = pd.DataFrame({"pid": (cdr["subscriber_id"].unique() * 7 + 3).astype(str),
                          "subscriber_id": cdr["subscriber_id"].unique()})
    cases = [dict(self_sample=0.3, seed=1), dict(self_split=3), dict(knowledge_days="0..3", release_days="3..6"),
             dict(knowledge_sample=0.3, seed=2)]
    for case in cases:
        def run(n, case=case):
            e = engines[n]
            rel = load_trajectories(e, release, relation="crel", utc_offset_h=5)
            if "self_split" in case or "self_sample" in case:
                return ProfileLinkage(**case).run(e, rel)
            kn = load_trajectories(e, coarse, relation="ckn", utc_offset_h=5)
            return ProfileLinkage(**case).run(e, rel, knowledge=kn, truth=truth)

        res = _same(run)
        assert res[0]["features"]["model"] == "counts", case
        assert res[0]["correct_rate"]["value"] > 3 * res[0]["baseline_rate"], case
