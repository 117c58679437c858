"""Golden outputs: the JSON of ``audit``, ``compare`` and every ``attack`` on one fixed small population,
recorded before the redesign of issue 12 and compared after every change (timings and paths aside).

``python -m tests.golden_outputs`` re-records them (only when a change of behaviour is intended; say so in the
commit). ``tests/test_golden.py`` runs the same commands and compares.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent / "golden"
#: Not a secret: the fixed key of the golden releases (a test fixture, 32 bytes of hex).
GOLDEN_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#: Keys whose values are timings or machine speeds: left out of the comparison.
VOLATILE = re.compile(r"(^|_)(elapsed|seconds|time_s)$|_s$|per_s$|hashes_per_s|^elapsed|_estimate$|_hours")
#: Speeds and the times derived from them, inside messages.
_SPEED = [(re.compile(r"[\d,.]+ hashes/s"), "<rate> hashes/s"),
          (re.compile(r"≈ [\d,.]+ (min|h|s|days|years)\b"), "≈ <duration>")]   # the unit follows the speed too


def commands(root: Path) -> dict[str, list[str]]:
    """name → reidcheck command line, over the files ``prepare`` made under ``root``."""
    pop, rel, agg = root / "pop", root / "rel", root / "agg"
    return {
        "unicity": ["attack", "unicity", pop, "--points", "3", "--targets", "300", "--seed", "2"],
        "unicity-tolerant": ["attack", "unicity", pop, "--points", "2", "--targets", "200", "--seed", "2",
                             "--time-tolerance", "1", "--space-tolerance-km", "2"],
        "unicity-curve": ["attack", "unicity-curve", pop, "--max-points", "3", "--resolution", "1h,cell",
                          "--resolution", "1d,district", "--targets", "200", "--seed", "1"],
        "topn": ["attack", "topn", pop, "--n", "2", "--space", "site"],
        "homework": ["attack", "homework", pop, "--space", "grid:2km"],
        "unicity-release": ["attack", "unicity", rel, "--points", "2", "--targets", "200", "--seed", "3"],
        "kanon": ["attack", "kanon", root / "subs.csv", "--qi", "gender,home_district,birth_year", "--k", "3"],
        "ldiv": ["attack", "ldiv", root / "subs.csv", "--qi", "gender,home_district", "--sensitive", "operator",
                 "--variant", "entropy"],
        "tclose": ["attack", "tclose", root / "subs.csv", "--qi", "gender", "--sensitive", "birth_year"],
        "risk": ["attack", "risk", root / "subs.csv", "--qi", "gender,home_district,birth_year",
                 "--sampling-fraction", "0.2"],
        "hash-reversal": ["attack", "hash-reversal", root / "hashes.csv", "--column", "pid",
                          "--prefixes", "300-301", "--serials", "0-49999"],
        "linkage": ["attack", "linkage", root / "rel_qi.csv", "--auxiliary", root / "aux.csv",
                    "--qi", "gender,home_district", "--truth", root / "truth.csv"],
        "travel": ["attack", "travel", pop, "--known-trips", "1"],
        "profile": ["attack", "profile", rel, "--knowledge", pop, "--truth", root / "rel.TRUTH-MAP-SECRET.parquet",
                    "--knowledge-days", "0..2", "--release-days", "2..4"],
        "profile-self-split": ["attack", "profile", rel, "--self-split", "2"],
        "audit-population": ["audit", pop, "--seed", "1"],
        "audit-release": ["audit", rel, "--seed", "1"],
        "audit-hashed": ["audit", root / "hashed", "--seed", "1"],
        "audit-aggregate": ["audit", agg, "--seed", "1"],
        "compare": ["compare", pop, "--plan", root / "plan.toml", "--seed", "4"],
    }


def prepare(root: Path) -> None:
    """The fixed population (400 subscribers × 4 days, seed 5), three releases made with the golden
    key, a subscribers CSV for the tabular checks, a linkage pair and a small comparison plan."""
    import pandas as pd

    from reidcheck.cli import main

    def ok(args):
        rc = main([str(a) for a in args])
        assert rc == 0, (args, rc)

    pop = root / "pop"
    ok(["generate", "-n", "400", "-d", "4", "--seed", "5", "--out", pop, "-q"])
    key = root / "golden.key"
    key.write_text(GOLDEN_KEY + "\n")
    ok(["anonymize", pop, "-s", "generalize-time:bin=1h", "-s", "token", "--seed", "1", "--out", root / "rel",
        "--key-file", key, "-q"])
    ok(["anonymize", pop, "-s", "hash", "--seed", "1", "--out", root / "hashed", "--key-file", key, "-q"])
    ok(["anonymize", pop, "-s", "generalize-space:level=district",
        "-s", "aggregate:bin=1h,min_count=3,epsilon=1,max_cells=24", "--seed", "1", "--out", root / "agg",
        "--key-file", key, "-q"])
    subs = pd.read_parquet(pop / "subscribers.parquet")
    tab = subs[["subscriber_id", "gender", "home_district", "operator"]].copy()
    tab["birth_year"] = pd.to_datetime(subs["birth_date"]).dt.year.astype(str)
    tab.to_csv(root / "subs.csv", index=False)
    rel_qi = pd.DataFrame({"pid": [f"p{i}" for i in range(len(tab))], "gender": tab["gender"],
                           "home_district": tab["home_district"]})
    rel_qi.to_csv(root / "rel_qi.csv", index=False)
    tab.head(150)[["subscriber_id", "gender", "home_district"]].to_csv(root / "aux.csv", index=False)
    pd.DataFrame({"pid": rel_qi["pid"], "uid": tab["subscriber_id"]}).to_csv(root / "truth.csv", index=False)
    from reidcheck.attacks.pseudonyms import hash_msisdn

    numbers = [f"+92300{s:07d}" for s in range(0, 50_000, 997)] + [f"+92333{s:07d}" for s in range(0, 500, 50)]
    tokens = [hmac_hex(i) for i in range(20)]
    pd.DataFrame({"pid": list(hash_msisdn(numbers)) + tokens}).to_csv(root / "hashes.csv", index=False)
    (root / "plan.toml").write_text(
        'points = 3\ntargets = 200\nreversal_budget = 30000\n\n'
        '[[release]]\nname = "hash"\nstrategies = ["hash"]\n\n'
        '[[release]]\nname = "district-day"\nstrategies = ["generalize-space:level=district", "generalize-time:bin=1d"]\n\n'
        '[[release]]\nname = "noise"\nstrategies = ["geo-noise:epsilon=0.5"]\n\n'
        '[[release]]\nname = "aggregate"\nstrategies = ["generalize-space:level=district", '
        '"aggregate:bin=1h,min_count=3,epsilon=1"]\n')


def hmac_hex(i: int) -> str:
    """A 64-hex-digit value that is no hash of a phone number (a keyed hash stands in for it)."""
    import hashlib
    import hmac

    return hmac.new(b"golden", str(i).encode(), hashlib.sha256).hexdigest()


def normalize(doc, root: Path):
    """Drop timings, replace the temporary root by ``<root>``, round floats to 9 significant digits."""
    if isinstance(doc, dict):
        return {k: normalize(v, root) for k, v in doc.items() if not VOLATILE.search(k)}
    if isinstance(doc, list):
        return [normalize(v, root) for v in doc]
    if isinstance(doc, str):
        doc = doc.replace(str(root), "<root>")
        for pattern, repl in _SPEED:
            doc = pattern.sub(repl, doc)
        return doc
    if isinstance(doc, float) and math.isfinite(doc):
        return float(f"{doc:.9g}")
    return doc


def run(name: str, args: list, root: Path):
    """The normalized JSON document of one command (exit 0 or, for an audit, 1)."""
    import contextlib
    import io

    from reidcheck.cli import main

    out = root / f"{name}.json"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        rc = main([str(a) for a in args] + ["--json", str(out), "-q"])
    assert rc in (0, 1), (name, rc, buf.getvalue()[-500:])
    return {"exit_code": rc, "output": normalize(json.loads(out.read_text()), root)}


def record(root: Path) -> None:
    prepare(root)
    for name, args in commands(root).items():
        (HERE / f"{name}.json").write_text(json.dumps(run(name, args, root), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        record(Path(tmp))
    print(f"recorded {len(list(HERE.glob('*.json')))} golden outputs in {HERE}")
