"""What one command writes, the next accepts: truth maps, auxiliary tables and terminal figures.

A newcomer chains ``generate → anonymize → attack``; these tests run that chain on a small population
and check that every ``--truth`` takes the truth map ``anonymize`` writes, that column names agree
between the generator, a release and ``synthetic.auxiliary``, and that the terminal names each figure.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from reidcheck.cli import main
from reidcheck.engine import get_engine
from reidcheck.errors import InputError
from reidcheck.io import load_truth
from synthetic.auxiliary import auxiliary_table


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """A 600 × 7 population (seed 3) and a release with exact ages and a truth map beside it."""
    from synthetic import write_population

    root = tmp_path_factory.mktemp("chain")
    write_population(root / "pop", 600, 7, 3)
    assert main(["anonymize", str(root / "pop"), "--strategy", "hmac", "--strategy", "generalize-qi:age=1",
                 "--seed", "3", "--out", str(root / "rel"), "--quiet"]) == 0
    aux = auxiliary_table(pd.read_parquet(root / "pop" / "subscribers.parquet"), fraction=0.2, missing=0.0,
                          age_noise=0.0, seed=3)
    aux.to_csv(root / "leaked.csv", index=False)
    return root


def test_auxiliary_columns_are_the_release_columns(chain):
    rel = pd.read_parquet(chain / "rel" / "subscribers.parquet")
    aux = pd.read_csv(chain / "leaked.csv")
    assert {"age", "gender", "home_district"} <= set(rel.columns) & set(aux.columns)


def test_linkage_takes_the_truth_map_anonymize_writes(chain, capsys):
    truth = chain / "rel.TRUTH-MAP-SECRET.parquet"
    assert set(pd.read_parquet(truth).columns) >= {"pid", "subscriber_id", "table"}
    rc = main(["attack", "linkage", str(chain / "rel" / "subscribers.parquet"), "--auxiliary",
               str(chain / "leaked.csv"), "--qi", "age,gender,home_district", "--truth", str(truth), "--json", "-"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    # clean auxiliary data and exact ages: everyone singled out is the right person
    assert doc["n_unique"] > 0 and doc["n_correct"] == doc["n_unique"]


def test_profile_and_callgraph_take_the_same_truth_map(chain, capsys):
    truth = chain / "rel.TRUTH-MAP-SECRET.parquet"
    rc = main(["attack", "profile", str(chain / "rel"), "--knowledge", str(chain / "pop"), "--truth", str(truth),
               "--knowledge-days", "0..3", "--release-days", "3..7", "--json", "-"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["top1_rate"]["value"] > 5 * doc["baseline_rate"]


def test_a_truth_map_with_uid_or_subscriber_id(tmp_path):
    eng = get_engine()
    for who in ("uid", "subscriber_id"):
        path = tmp_path / f"{who}.csv"
        pd.DataFrame({"pid": ["a", "b"], who: [1, 2]}).to_csv(path, index=False)
        got = load_truth(eng, path)
        assert list(got.columns) == ["pid", "uid"] and got["uid"].tolist() == ["1", "2"]
    path = tmp_path / "tables.csv"
    pd.DataFrame({"pid": ["a", "b", "c"], "subscriber_id": [1, 2, 3], "table": ["cdr", "all", "subscribers"]}
                 ).to_csv(path, index=False)
    assert load_truth(eng, path, table="subscribers")["pid"].tolist() == ["b", "c"]
    split = tmp_path / "split.csv"
    pd.DataFrame({"pid": ["a", "c"], "subscriber_id": [1, 3], "table": ["cdr", "subscribers"]}).to_csv(split, index=False)
    with pytest.raises(InputError, match="no pseudonyms of the travel table"):
        load_truth(eng, split, table="travel")
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"pseudonym": ["a"], "person": [1]}).to_csv(bad, index=False)
    with pytest.raises(InputError, match=r"bad\.csv.*'pid' and 'subscriber_id' \(or 'uid'\)"):
        load_truth(eng, bad)


def test_a_wrong_truth_map_is_one_line_before_any_work(chain, capsys):
    rc = main(["attack", "linkage", str(chain / "rel" / "subscribers.parquet"), "--auxiliary",
               str(chain / "leaked.csv"), "--qi", "age,gender", "--truth", str(chain / "leaked.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "leaked.csv" in err and "pid" in err


def _render(results, width: int) -> str:
    from reidcheck.summary import print_results

    buf = io.StringIO()
    print_results(results, Console(file=buf, width=width, color_system=None))
    return buf.getvalue()


def test_each_figure_has_its_own_name_and_nothing_is_cut(tmp_path):
    from reidcheck.attacks.inputs import TableInput
    from reidcheck.attacks.tabular import KAnonymity, TCloseness
    from reidcheck.io import load_table

    eng = get_engine()
    adult = Path(__file__).parent / "data" / "adult" / "adult.csv.gz"
    load_table(eng, adult, delimiter=";")
    k = KAnonymity(qi=("sex", "age", "race"), k=5).run(eng, TableInput("tbl"))
    t = TCloseness(qi=("sex", "race"), sensitive="age", t=0.2).run(eng, TableInput("tbl"))
    for width in (60, 200):
        text = _render([k, t], width)
        assert "…" not in text
        assert f"{t.extra['t']:g}" in text                     # t is printed whole, under its own name
        for word in ("(smallest", "alone", "(ordered"):        # figures are named, words never split
            assert word in text, (width, word)
        if width == 200:
            assert "k (smallest class)" in text and "t (ordered EMD, largest class)" in text
        for value in (f"{k.n_targets:,}", f"{k.unique_rate['ci'][0]:.1%}–{k.unique_rate['ci'][1]:.1%}"):
            assert value in text, (width, value)


def test_hash_reversal_compare_shows_linkability(tmp_path, capsys):
    from reidcheck.attacks.pseudonyms import hash_msisdn

    numbers = [f"+92300{n:07d}" for n in range(0, 50)]
    pd.DataFrame({"pid": hash_msisdn(numbers)}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"pid": hash_msisdn(numbers[:25])}).to_csv(tmp_path / "b.csv", index=False)
    rc = main(["attack", "hash-reversal", str(tmp_path / "a.csv"), "--column", "pid", "--prefixes", "300",
               "--serials", "0-99", "--forms", "e164", "--compare", str(tmp_path / "b.csv")])
    out = capsys.readouterr().out
    assert rc == 0
    row = next(line for line in out.splitlines() if "second release" in line)
    assert "50.0%" in row
    assert "pseudonyms reversed" in out and "100.0%" in out


def test_a_missing_second_release_fails_before_the_enumeration(tmp_path, capsys):
    pd.DataFrame({"pid": ["0" * 64]}).to_csv(tmp_path / "a.csv", index=False)
    rc = main(["attack", "hash-reversal", str(tmp_path / "a.csv"), "--column", "pid", "--compare",
               str(tmp_path / "missing.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "missing.csv" in err and err.count("\n") == 1


def test_travel_with_nothing_to_score_says_why(chain, capsys):
    rc = main(["attack", "travel", str(chain / "pop"), "--known-trips", "10"])
    captured = capsys.readouterr()
    assert rc == 0 and "nothing was scored" in captured.err and "--known-trips" in captured.err


def test_hash_reversal_kinds_from_the_command_line(tmp_path, capsys):
    import hashlib

    from reidcheck.attacks.hashkernel import luhn_digit

    imei = "35693803" + "000123"
    imei += str(luhn_digit(imei))
    rows = {"imsi": ("410060000000777", ["--kind", "imsi", "--plmn", "41006", "--serials", "0-999"]),
            "imei": (imei, ["--kind", "imei", "--tac", "35693803"]),
            "salted": ("+923000000042", ["--prefixes", "300", "--serials", "0-99", "--salt-prefix", "s|",
                                         "--algorithm", "sha1"])}
    for name, (value, args) in rows.items():
        text = ("s|" + value) if name == "salted" else value
        digest = getattr(hashlib, "sha1" if name == "salted" else "sha256")(text.encode()).hexdigest()
        pd.DataFrame({"h": [digest[:24] if name == "salted" else digest]}).to_csv(tmp_path / f"{name}.csv", index=False)
        rc = main(["attack", "hash-reversal", str(tmp_path / f"{name}.csv"), "--column", "h", *args, "--json", "-"])
        doc = json.loads(capsys.readouterr().out)
        assert rc == 0 and doc["n_unique"] == 1, name
        assert value not in json.dumps(doc)                      # reversed values only with --reveal
    rc = main(["attack", "hash-reversal", str(tmp_path / "imsi.csv"), "--column", "h", "--kind", "imsi"])
    err = capsys.readouterr().err
    assert rc == 2 and "plmn" in err and err.count("\n") == 1


def test_the_audit_reverses_hashed_imsis_and_truncated_digests(tmp_path, capsys):
    import hashlib

    imsis = [f"41001{n:010d}" for n in range(100, 140)]
    for name, digest in (("imsi", lambda t: hashlib.sha256(t.encode()).hexdigest()),
                         ("truncated", lambda t: hashlib.sha1(t.encode()).hexdigest()[:20])):
        rows = pd.DataFrame({"uid": [digest(t) for t in imsis for _ in range(3)],
                             "time": [f"2025-01-0{1 + k}T10:00:00Z" for _ in imsis for k in range(3)],
                             "cell": [k for _ in imsis for k in range(3)]})
        path = tmp_path / f"{name}.csv"
        rows.to_csv(path, index=False)
        rc = main(["audit", str(path), "--select", "RC301", "--json", "-"])
        doc = json.loads(capsys.readouterr().out)
        (f,) = doc["findings"]
        assert rc == 1 and f["status"] == "fail" and f["value"] == 1.0, name
        assert "IMSIs" in f["message"] and "truncated" in f["message"] if name == "truncated" else "IMSIs" in f["message"]
        assert imsis[0] not in json.dumps(doc)                       # counts only, never a value


def test_the_audit_takes_salts_heads_and_tacs_from_the_policy(tmp_path, capsys):
    import hashlib

    from reidcheck.attacks.hashkernel import luhn_digit

    imeis = [f"35693803{s:06d}" for s in range(10, 40)]
    imeis = [b + str(luhn_digit(b)) for b in imeis]
    rows = pd.DataFrame({"uid": [hashlib.sha256(f"k9|{t}".encode()).hexdigest() for t in imeis for _ in range(2)],
                         "time": [f"2025-01-0{1 + k}T10:00:00Z" for _ in imeis for k in range(2)],
                         "cell": [k for _ in imeis for k in range(2)]})
    rows.to_csv(tmp_path / "export.csv", index=False)
    rc = main(["audit", str(tmp_path / "export.csv"), "--select", "RC301", "--json", "-"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["findings"][0]["status"] == "pass"   # salt unknown
    (tmp_path / "reidcheck.toml").write_text('[rules.RC301]\ntacs = "35693803"\nsalt_prefix = "k9|"\n')
    rc = main(["audit", str(tmp_path / "export.csv"), "--select", "RC301", "--json", "-",
               "--config", str(tmp_path / "reidcheck.toml")])
    (f,) = json.loads(capsys.readouterr().out)["findings"]
    assert rc == 1 and f["value"] == 1.0 and "IMEIs" in f["message"] and f["params"]["salted"] is True
    (tmp_path / "bad.toml").write_text('[rules.RC301]\ntacs = "123"\n')
    rc = main(["audit", str(tmp_path / "export.csv"), "--config", str(tmp_path / "bad.toml")])
    err = capsys.readouterr().err
    assert rc == 2 and "tac" in err and err.count("\n") == 1
