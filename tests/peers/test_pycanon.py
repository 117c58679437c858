"""k-anonymity and l-diversity on adult.csv equal pycanon's, run in its own environment.

pycanon 1.3.6 pins pandas 2.3 and numpy 2.0, which conflict with this project's pandas 3, so it lives
in a separate virtual environment (``.venv-peers``, made by ``bash tasks.sh test``; override with
REIDCHECK_PEERS_PYTHON) and is called as a subprocess. pycanon drops rows with a missing QI value;
adult.csv has none, so the two must agree exactly.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest

from reidcheck.attacks.inputs import TableInput
from reidcheck.attacks.tabular import KAnonymity, LDiversity
from reidcheck.engine import get_engine
from reidcheck.io import load_table

REPO = Path(__file__).resolve().parents[2]
CASES = [
    {"qi": ["sex", "age", "race"], "sensitive": "occupation"},
    {"qi": ["sex", "race"], "sensitive": "salary-class"},
    {"qi": ["sex", "race", "marital-status"], "sensitive": "salary-class"},
    {"qi": ["workclass", "education"], "sensitive": "occupation"},
    {"qi": ["sex", "age", "race", "marital-status", "education"], "sensitive": "salary-class"},
    {"qi": ["native-country", "race"], "sensitive": "marital-status"},
]


@pytest.fixture(scope="module")
def peers_python() -> Path:
    path = Path(os.environ.get("REIDCHECK_PEERS_PYTHON", REPO / ".venv-peers" / "bin" / "python"))
    if not path.exists():
        message = "the peers environment (.venv-peers with pycanon) is missing: run `bash tasks.sh test`"
        if os.environ.get("CI"):
            pytest.fail(message)   # CI runs the README's test command, which builds it
        pytest.skip(message)
    return path


def test_k_and_l_equal_pycanon(adult_data, peers_python):
    adult = adult_data / "adult.csv.gz"
    out = subprocess.run([str(peers_python), str(Path(__file__).with_name("pycanon_runner.py")), str(adult), ";",
                          json.dumps(CASES)], capture_output=True, text=True, check=True, timeout=600)
    theirs = json.loads(out.stdout)
    engine = get_engine()
    load_table(engine, adult, delimiter=";")
    for case, peer in zip(CASES, theirs, strict=True):
        k = KAnonymity(qi=case["qi"]).run(engine, TableInput("tbl")).extra["k"]
        l_distinct = LDiversity(qi=case["qi"], sensitive=case["sensitive"]).run(engine, TableInput("tbl")).extra["l"]
        l_entropy = LDiversity(qi=case["qi"], sensitive=case["sensitive"], variant="entropy").run(engine, TableInput("tbl")).extra["l"]
        assert k == peer["k"], case
        assert l_distinct == peer["l"], case
        # pycanon reports entropy l rounded down to an integer; ours is exp(H) itself.
        assert math.floor(l_entropy + 1e-9) == math.floor(peer["entropy_l"] + 1e-9), case
