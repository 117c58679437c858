"""Runs inside the peers environment (.venv-peers, pycanon 1.3.6 with its pinned pandas/numpy).

Usage: python pycanon_runner.py TABLE.csv DELIMITER CASES.json  → prints one JSON list to stdout,
one entry per case {"qi": [...], "sensitive": "..."} with pycanon's k, l and entropy l.
"""

import json
import sys

import pandas as pd
from pycanon import anonymity

path, delimiter, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
df = pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False)
out = []
for case in cases:
    qi, sa = case["qi"], [case["sensitive"]]
    out.append({"qi": qi, "sensitive": case["sensitive"], "k": int(anonymity.k_anonymity(df, qi)),
                "l": int(anonymity.l_diversity(df, qi, sa)),
                "entropy_l": float(anonymity.entropy_l_diversity(df, qi, sa))})
print(json.dumps(out))
