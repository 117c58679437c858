"""Inputs: column mappings, time types, lat/lon and grids, clear errors, the Gowalla loader."""

from __future__ import annotations

import gzip
import re

import pandas as pd
import pytest

from reidcheck.attacks import Unicity
from reidcheck.engine import get_engine
from reidcheck.errors import InputError, UsageError
from reidcheck.io import Mapping, load_trajectories
from reidcheck.resolution import parse_space, parse_time_bin


def _csv(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_string_users_iso_times_and_coordinates(tmp_path):
    path = _csv(tmp_path, "ev.csv", "who,when,y,x\n"
                "alice,2024-03-01T10:15:00Z,40.7500,-73.9900\n"
                "alice,2024-03-01T12:05:00Z,40.7600,-73.9800\n"
                "bob,2024-03-01T10:40:00Z,40.7500,-73.9900\n"
                "bob,2024-03-02T09:00:00Z,40.8000,-73.9000\n")
    engine = get_engine()
    inp = load_trajectories(engine, path, "user=who,time=when,lat=y,lon=x")
    ev = engine.query("SELECT uid, t FROM events ORDER BY uid, t")
    assert ev["uid"].nunique() == 2
    assert ev["t"].iloc[0] == int(pd.Timestamp("2024-03-01T10:15:00Z").timestamp())
    # At exact coordinates × 1 h both users share one point; each has another of its own.
    res = Unicity(points=1, targets="all", seed=0).run(engine, inp)
    assert res.n_targets == 2
    # At 1 d × 20 km, alice's two check-ins merge into one point: she cannot be given 2 points.
    coarse = Unicity(points=2, targets="all", seed=0, time_bin="1d", space="grid:20km").run(engine, inp)
    assert (coarse.n_targets, coarse.n_skipped, coarse.n_unique) == (1, 1, 1)


def test_integer_times_in_milliseconds(tmp_path):
    path = _csv(tmp_path, "ms.csv", "u,t,c\n1,1700000000000,5\n1,1700003600000,6\n2,1700000000000,5\n")
    engine = get_engine()
    load_trajectories(engine, path, "user=u,time=t,place=c,time_unit=ms")
    assert engine.query("SELECT MIN(t) AS t FROM events")["t"][0] == 1_700_000_000


def test_parquet_timestamps_are_read_by_unit(tmp_path, small_population):
    """Parquet stores timestamp[s, UTC]; whatever unit pandas reads it at, epoch seconds come out."""
    from synthetic import write_population

    write_population(tmp_path / "p", 300, 2, seed=3)
    engine = get_engine()
    load_trajectories(engine, tmp_path / "p")
    ev = engine.query("SELECT MIN(t) AS t FROM events")
    raw = pd.read_parquet(tmp_path / "p" / "cdr.parquet")["timestamp"].min()
    assert ev["t"][0] == int(raw.timestamp())


@pytest.mark.parametrize("text, needle", [
    ("u,t\n1,2024-01-01\n", "place"),
    ("nope=1", "role"),
    ("user=u,place=c", "`time`"),
    ("user=u,time=t,lat=y", "`place`"),
    ("user=u,time=t,place=c,time_unit=h", "time_unit"),
])
def test_bad_mappings(text, needle):
    with pytest.raises(UsageError, match=needle):
        Mapping.parse(text)


def test_missing_column_names_file_and_column(tmp_path):
    path = _csv(tmp_path, "a.csv", "u,t,c\n1,2024-01-01 00:00:00,3\n")
    with pytest.raises(InputError, match=r"a\.csv.*column 'cell'"):
        load_trajectories(get_engine(), path, "user=u,time=t,place=cell")


def test_bad_time_names_file_column_and_row(tmp_path):
    path = _csv(tmp_path, "b.csv", "u,t,c\n1,2024-01-01 00:00:00,3\n2,2024-01-01 01:00:00,4\n3,yesterday-ish,5\n")
    with pytest.raises(InputError, match=r"b\.csv', column 't': 1 row.*row 3") as err:
        load_trajectories(get_engine(), path, "user=u,time=t,place=c")
    assert "yesterday-ish" not in str(err.value)  # values are never quoted


def test_missing_user_names_row(tmp_path):
    path = _csv(tmp_path, "c.csv", "u,t,c\n1,2024-01-01 00:00:00,3\n,2024-01-01 01:00:00,4\n")
    with pytest.raises(InputError, match=r"column 'u'.*row 2"):
        load_trajectories(get_engine(), path, "user=u,time=t,place=c")


def test_non_canonical_file_without_mapping(tmp_path):
    path = _csv(tmp_path, "d.csv", "a,b\n1,2\n")
    with pytest.raises(UsageError, match="column mapping"):
        load_trajectories(get_engine(), path)


def test_space_needing_cells_is_refused_without_them(small_population):
    engine = get_engine()
    inp = load_trajectories(engine, small_population.cdr)
    with pytest.raises(UsageError, match="cells table"):
        Unicity(space="district", targets=10).run(engine, inp)


def test_resolution_parsing_and_hour_of_week():
    assert parse_time_bin("15min").seconds == 900 and parse_time_bin("4h").seconds == 14_400
    assert parse_time_bin("how").seconds is None
    assert parse_space("grid:500m").km == 0.5 and parse_space("grid:2km").label == "grid:2km"
    engine = get_engine()
    # 2025-01-06 00:30 in Karachi (UTC+5) is a Monday: hour of week 0; Sunday 23:30 is 167.
    monday = int(pd.Timestamp("2025-01-06 00:30", tz="Asia/Karachi").timestamp())
    sunday = int(pd.Timestamp("2025-01-05 23:30", tz="Asia/Karachi").timestamp())
    expr = parse_time_bin("how").sql("t", 5 * 3600)
    got = engine.query(f"SELECT {expr} AS h FROM (SELECT {monday} AS t UNION ALL SELECT {sunday} AS t) x ORDER BY h")
    assert got["h"].tolist() == [0, 167]


def test_gowalla_checkins(shared_data):
    path = shared_data / "gowalla_nyc_checkins.tsv.gz"
    if not path.exists():
        pytest.skip("gowalla_nyc_checkins.tsv.gz is not present")
    with gzip.open(path, "rt") as fh:
        first = fh.readline().rstrip("\n").split("\t")
    assert len(first) == 5
    engine = get_engine()
    inp = load_trajectories(engine, path, "gowalla")
    stats = engine.query("SELECT COUNT(*) AS n, COUNT(DISTINCT uid) AS u, COUNT(DISTINCT place) AS p FROM events")
    assert stats.iloc[0].tolist() == [138_957, 7_115, 21_509]   # the figures of data/README.md
    res = Unicity(points=2, targets="all", seed=1, time_bin="1h", space="cell").run(engine, inp)
    assert res.n_targets + res.n_skipped == 7_115
    assert 0.5 < res.unique_rate["value"] <= 1.0


def test_naive_times_are_utc_whatever_the_machine_zone(tmp_path):
    import subprocess
    import sys

    path = _csv(tmp_path, "naive.csv", "u,t,c\n1,2024-03-01 10:15:00,5\n")
    code = ("from reidcheck.engine import get_engine; from reidcheck.io import load_trajectories; "
            f"e = get_engine(); load_trajectories(e, r'{path}', 'user=u,time=t,place=c'); "
            "print(e.query('SELECT t FROM events')['t'][0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "TZ": "Asia/Karachi"})
    assert int(out.stdout.strip()) == int(pd.Timestamp("2024-03-01 10:15:00", tz="UTC").timestamp())


def _parquet(tmp_path, df, name="t.parquet"):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / name
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=1000)
    return path


_GOOD = dict(uid=lambda n: pd.Series(range(n), dtype="int64") % 97,
             t=lambda n: pd.to_datetime(1_700_000_000 + pd.Series(range(n)) * 60, unit="s", utc=True),
             cell=lambda n: pd.Series(range(n), dtype="int64") % 13,
             lat=lambda n: pd.Series([24.0] * n), lon=lambda n: pd.Series([67.0] * n))


@pytest.mark.parametrize("column, value, needle", [
    ("uid", None, "column 'uid': 1 row(s) where the value is empty (first at data row 4,322)"),
    ("t", None, "column 't': 1 row(s) where the value is empty or not a time (first at data row 4,322)"),
    ("t", pd.Timestamp("1989-12-31 23:59:59", tz="UTC"), "a time before 1990"),
    ("t", pd.Timestamp("2300-01-01", tz="UTC"), "more than a year from now"),
    ("cell", None, "column 'cell': 1 row(s) where the value is empty or not an id (first at data row 4,322)"),
    ("lat", float("nan"), "column 'lat': 1 row(s) where the value is empty or not a latitude"),
    ("lon", -180.5, "column 'lon': 1 row(s) where the value is empty or not a longitude (first at data row 4,322)"),
])
def test_a_bad_value_deep_in_a_parquet_file_is_found(tmp_path, column, value, needle):
    """Validation of Parquet files first asks for bad rows on the stored columns (row groups whose
    statistics rule them out are skipped); one bad value in the fifth of six row groups must still be
    found, counted and placed."""
    n = 6000
    df = pd.DataFrame({k: f(n) for k, f in _GOOD.items()})
    df[column] = df[column].astype("object" if value is None and column != "t" else df[column].dtype)
    df.loc[4321, column] = value
    if column in ("uid", "cell"):
        df[column] = df[column].astype("Int64")
    mapping = ("user=uid,time=t,lat=lat,lon=lon" if column in ("lat", "lon") else "user=uid,time=t,place=cell")
    path = _parquet(tmp_path, df)
    with pytest.raises(InputError, match=re.escape(needle)):
        load_trajectories(get_engine(), path, mapping)
    ok = _parquet(tmp_path, pd.DataFrame({k: f(n) for k, f in _GOOD.items()}), "ok.parquet")
    engine, sql = get_engine(), []
    query = engine.query
    engine.query = lambda text: sql.append(text) or query(text)
    assert load_trajectories(engine, ok, mapping).meta["rows"] == n
    assert not any("SUM(CASE" in q for q in sql)          # valid: the per-check counts were not needed


def test_integer_millisecond_times_out_of_range_in_parquet(tmp_path):
    n = 3000
    df = pd.DataFrame({"uid": range(n), "t": [1_700_000_000_000 + i for i in range(n)], "cell": [1] * n})
    df.loc[2500, "t"] = 600_000_000_000                  # 1989 in milliseconds
    with pytest.raises(InputError, match=re.escape("(first at data row 2,501)")):
        load_trajectories(get_engine(), _parquet(tmp_path, df), "user=uid,time=t,place=cell,time_unit=ms")
    df.loc[2500, "t"] = 631_152_000_000                  # 1990-01-01 exactly: plausible
    assert load_trajectories(get_engine(), _parquet(tmp_path, df), "user=uid,time=t,place=cell,time_unit=ms").meta["rows"] == n
