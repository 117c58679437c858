"""Shared fixtures: the real-data folder (../shared/data), and seeded synthetic populations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthetic import generate

from reidcheck.bench import adult_dir, shared_data_dir  # the one place that locates ../shared/data

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is not present (set REIDCHECK_SHARED_DATA to point at it)")
    return path


@pytest.fixture(scope="session")
def adult_data() -> Path:
    """UCI Adult as kept by ARX, with its hierarchies, vendored under tests/data/adult (PROVENANCE.md):
    the folder holds ``adult.csv.gz`` (``;``-separated) and ``adult_hierarchy_<attribute>.csv``."""
    path = adult_dir()
    if path is None or path.parent.name != "data" or path.parent.parent != REPO / "tests":
        pytest.fail("tests/data/adult is missing from the checkout (see tests/data/PROVENANCE.md)")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261128)


@pytest.fixture(scope="session")
def small_population():
    """2,000 subscribers × 7 days, seed 11."""
    return generate(subscribers=2000, days=7, seed=11)


@pytest.fixture(scope="session")
def realism_population():
    """The realism suite's population: 20,000 subscribers × 28 days, seed 5 (~10 s on 2 cores)."""
    return generate(subscribers=20_000, days=28, seed=5, workers=2)
