"""Unicity does not depend on the input's layout (issue 17), matches a brute-force oracle on skewed
data, and the DuckDB engine runs within a memory limit that spills to a private directory."""

from __future__ import annotations

import gc
import stat
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reidcheck.attacks import Unicity, UnicityCurve
from reidcheck.attacks.trajectory import _Prepared
from reidcheck.cli import main
from reidcheck.engine import get_engine
from reidcheck.engine.duckdb_engine import (MEMORY_ENV, DuckDBEngine, default_memory_limit, machine_memory,
                                            parse_memory)
from reidcheck.errors import UsageError
from reidcheck.io import load_trajectories
from tests.oracles import unicity_oracle

MAPPING = "user=uid,time=t,place=cell"
T0 = 1_709_510_400      # 2024-03-04 00:00 UTC
VOLATILE = {"elapsed_s", "shared_preparation_s"}


def zipf_traces(users: int = 400, rows: int = 30, cells: int = 30, hours: int = 48, seed: int = 3) -> pd.DataFrame:
    """Traces whose cells follow a Zipf(1.2) popularity (crowded hours at the top cells, so anonymity
    sets of every size), in user order, with some rows repeated within their hour."""
    rng = np.random.default_rng(seed)
    n = np.maximum(rng.poisson(rows, users), 1)
    uid = np.repeat(np.arange(users, dtype=np.int64) * 5 + 11, n)
    p = np.arange(1, cells + 1, dtype=float) ** -1.2
    cell = rng.choice(np.arange(cells, dtype=np.int64) * 3 + 100, size=len(uid), p=p / p.sum())
    hour = rng.integers(0, hours, len(uid))
    t = T0 + hour * 3600 + rng.integers(0, 3000, len(uid))
    df = pd.DataFrame({"uid": uid, "t": t, "cell": cell})
    dup = df.sample(frac=0.1, random_state=seed).assign(t=lambda d: d["t"] + 17)   # same hour, same cell
    return pd.concat([df, dup], ignore_index=True).sort_values("uid", kind="stable", ignore_index=True)


def layouts(df: pd.DataFrame, seed: int = 5) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    user = df.groupby("uid", group_keys=False, sort=True).sample(frac=1.0, random_state=seed)  # random time order
    return {"user": user.reset_index(drop=True), "time": df.sort_values("t", kind="stable", ignore_index=True),
            "shuffled": df.iloc[rng.permutation(len(df))].reset_index(drop=True)}


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    tab = pa.table({"uid": df["uid"].to_numpy(), "t": pa.array(df["t"].to_numpy(), pa.timestamp("s", tz="UTC")),
                    "cell": df["cell"].to_numpy()})
    pq.write_table(tab, path, row_group_size=997)      # many row groups: the scan order matters
    return path


def oracle_sizes(df: pd.DataFrame, points: int, targets: int | None, seed: int, tolerance: int = 0):
    """Anonymity-set size of each scored target by brute force (tests.oracles.unicity_oracle, hour bins)."""
    return unicity_oracle(df["uid"], df["t"].to_numpy() // 3600, df["cell"], points, targets, seed, tolerance)


@pytest.fixture(scope="module")
def traces():
    return zipf_traces()


def test_sizes_on_zipf_data_equal_the_oracle(traces):
    engine = get_engine("duckdb")
    inp = load_trajectories(engine, traces, MAPPING)
    n_sizes = set()
    for points, targets, seed, tol in [(1, None, 0, 0), (2, 150, 1, 0), (3, None, 7, 0), (4, 120, 2, 0),
                                       (6, 200, 3, 0), (2, None, 4, 1), (3, 150, 5, 2)]:
        attack = Unicity(points=points, targets=targets or "all", seed=seed, time_tolerance=tol)
        prep = _Prepared.build(engine, attack, inp, None, None)
        table, skipped = prep.score(points, seed, targets)
        prep.cleanup()
        got = {int(s): int(n) for s, n in zip(table["size"], table["n"])}
        sizes, want_skipped = oracle_sizes(traces, points, targets, seed, tol)
        assert got == dict(Counter(sizes.values())), (points, targets, seed, tol)
        assert skipped == want_skipped
        res = attack.run(engine, inp)
        assert res.n_unique == sum(1 for v in sizes.values() if v == 1)
        assert res.n_targets == len(sizes) and res.n_skipped == want_skipped
        n_sizes |= set(got)
    assert max(n_sizes) > 20 and 1 in n_sizes        # crowded points and unique targets both met


def test_three_row_orders_give_identical_results(traces, tmp_path):
    attacks = [Unicity(points=4, targets=150, seed=1), Unicity(points=2, targets="all", seed=9),
               Unicity(points=3, targets=100, seed=2, time_tolerance=1),
               Unicity(points=2, targets=80, seed=3, time_bin="4h")]
    results = {}
    for name, df in layouts(traces).items():
        engine = get_engine("duckdb")
        inp = load_trajectories(engine, write_parquet(df, tmp_path / f"{name}.parquet"), MAPPING)
        out = [{k: v for k, v in a.run(engine, inp).to_dict().items() if k not in VOLATILE} for a in attacks]
        out += [{k: v for k, v in r.to_dict().items() if k not in VOLATILE}
                for r in UnicityCurve(max_points=3, targets=120, seed=4).run(engine, inp)]
        results[name] = out
        engine.close()
    assert results["user"] == results["time"] == results["shuffled"]
    assert results["user"][0]["n_targets"] > 100


# -- the engine's memory limit and spill directory --------------------------------------------------
def _setting(engine, name: str) -> str:
    return engine.con.execute(f"SELECT current_setting('{name}')").fetchone()[0]


def test_default_memory_limit_and_private_spill_directory(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    total = machine_memory()
    assert default_memory_limit() == (4 * 2**30 if total is None else min(4 * 2**30, int(0.6 * total)))
    engine = DuckDBEngine()
    assert engine.memory_limit == default_memory_limit()
    shown = parse_memory(_setting(engine, "memory_limit"))         # DuckDB shows it rounded
    assert abs(shown - engine.memory_limit) <= 0.05 * engine.memory_limit
    spill = Path(engine.temp_directory)
    assert _setting(engine, "temp_directory") == str(spill)
    assert spill.is_dir() and spill.parent == Path(tempfile.gettempdir())
    assert stat.S_IMODE(spill.stat().st_mode) == 0o700
    engine.close()
    assert not spill.exists()
    engine.close()                                   # a second close does nothing
    other = DuckDBEngine()
    spill = Path(other.temp_directory)
    del other
    gc.collect()
    assert not spill.exists()                        # removed with the engine, without close()


def test_queries_spill_within_a_small_limit(monkeypatch):
    """A 3M-group aggregation needs more than 64 MiB: without the spill directory DuckDB refuses it
    (out of memory: "no temporary directory is specified"); with it, it spills and finishes."""
    monkeypatch.setenv(MEMORY_ENV, "64MiB")
    engine = get_engine("duckdb")
    assert engine.memory_limit == 64 * 2**20
    n = engine.con.execute("SELECT COUNT(*) FROM (SELECT i % 3000000 AS k, COUNT(*) AS c FROM range(6000000) t(i) "
                           "GROUP BY k) g").fetchone()[0]
    assert n == 3_000_000
    engine.close()


@pytest.mark.parametrize("value, expected", [("2GB", 2 * 10**9), ("1536MiB", 1536 * 2**20), (" 1.5 GiB ", 3 * 2**29),
                                             ("512mb", 512 * 10**6)])
def test_environment_overrides_the_limit(monkeypatch, value, expected):
    monkeypatch.setenv(MEMORY_ENV, value)
    engine = get_engine("duckdb")
    assert engine.memory_limit == expected
    assert abs(parse_memory(_setting(engine, "memory_limit")) - expected) <= 0.05 * expected
    assert DuckDBEngine(memory_limit="300MB").memory_limit == 300 * 10**6     # the argument wins
    engine.close()


@pytest.mark.parametrize("value", ["lots", "12", "4 GBs", "-2GB", "1MB", "0GB", "1e9"])
def test_bad_memory_limit_is_one_clear_error(monkeypatch, tmp_path, capsys, value):
    monkeypatch.setenv(MEMORY_ENV, value)
    with pytest.raises(UsageError, match=f"{MEMORY_ENV} must be a memory size") as err:
        get_engine("duckdb")
    assert repr(value) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UsageError, match="`memory_limit`"):
        DuckDBEngine(memory_limit="plenty")
    path = tmp_path / "t.csv"
    pd.DataFrame({"uid": [1, 2], "t": [T0, T0 + 60], "cell": [3, 4]}).to_csv(path, index=False)
    assert main(["attack", "unicity", str(path), "--mapping", MAPPING, "--points", "1", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and MEMORY_ENV in err and "Traceback" not in err
