"""Same seed → same bytes, whatever the chunk size or number of workers; other seed → other data."""

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from synthetic import generate, write_population
from synthetic.population import BLOCK


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_byte_identical_across_chunk_sizes_and_workers(tmp_path, fmt):
    n = 2 * BLOCK + 300  # three blocks, the last one partial
    runs = [dict(chunk_size=BLOCK, workers=1), dict(chunk_size=3 * BLOCK, workers=1),
            dict(chunk_size=BLOCK, workers=2)]
    digests = []
    for i, kw in enumerate(runs):
        out = tmp_path / f"run{i}"
        write_population(out, n, 3, seed=42, fmt=fmt, **kw)
        digests.append(_digest(out))
    assert digests[0] == digests[1] == digests[2]
    assert set(digests[0]) == {f"{t}.{fmt}" for t in ("cells", "subscribers", "cdr", "pings", "travel")} | {
        "population.json"}


def test_other_seed_gives_other_data(tmp_path):
    write_population(tmp_path / "a", 500, 2, seed=1)
    write_population(tmp_path / "b", 500, 2, seed=2)
    da, db = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert da["cdr.parquet"] != db["cdr.parquet"]
    assert da["subscribers.parquet"] != db["subscribers.parquet"]


def test_in_memory_equals_files(tmp_path):
    pop = generate(subscribers=700, days=2, seed=9)
    write_population(tmp_path / "p", 700, 2, seed=9, workers=1)
    cdr = pd.read_parquet(tmp_path / "p" / "cdr.parquet")
    assert len(cdr) == len(pop.cdr)
    # Parquet holds timezone-aware UTC timestamps; in memory they are epoch seconds. Convert by unit.
    secs = cdr["timestamp"].dt.tz_convert("UTC").astype("int64") // {
        "s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[cdr["timestamp"].dt.unit]
    assert (secs.to_numpy() == pop.cdr["timestamp"].to_numpy()).all()
    assert (cdr["cell_id"].to_numpy() == pop.cdr["cell_id"].to_numpy()).all()
    subs = pd.read_parquet(tmp_path / "p" / "subscribers.parquet")
    assert subs["msisdn"].tolist() == pop.subscribers["msisdn"].tolist()
