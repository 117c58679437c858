"""The aggregate attacks from the CLI (recovery, membership) and the audit's membership rule: a raw
aggregate of small counts fails, a DP ε = 1 aggregate passes."""

from __future__ import annotations

import json

import pytest

from reidcheck.cli import main
from reidcheck.rules import for_attack


@pytest.fixture(scope="module")
def agg_dirs(tmp_path_factory):
    from typer.testing import CliRunner

    from reidcheck.cli import app
    from synthetic.writer import write_population

    root = tmp_path_factory.mktemp("agg")
    write_population(root / "pop", 600, 7, 9)
    # A fixed test key (never one for a published release): without it each run draws a fresh key,
    # so the DP noise, and the membership AUC measured on it, would change from run to run.
    key = root / "test.key"
    key.write_text(bytes(range(1, 33)).hex())
    key.chmod(0o600)
    for name, spec in (("raw", "aggregate:bin=1h,min_count=1"), ("dp", "aggregate:bin=1h,epsilon=1")):
        r = CliRunner().invoke(app, ["anonymize", str(root / "pop"), "-s", spec, "--out", str(root / name), "-q",
                                     "--key-file", str(key)])
        assert r.exit_code == 0, r.output
    return root


def _json(capsys, argv):
    assert main(argv + ["--json", "-", "-q"]) == 0
    return json.loads(capsys.readouterr().out)


def test_recovery_from_the_cli_beats_its_baseline_and_dp_lowers_it(agg_dirs, capsys):
    raw = _json(capsys, ["attack", "recovery", str(agg_dirs / "raw"), "--knowledge", str(agg_dirs / "pop")])
    dp = _json(capsys, ["attack", "recovery", str(agg_dirs / "dp"), "--knowledge", str(agg_dirs / "pop")])
    assert raw["attack"] == "recovery" and raw["rule_id"] == for_attack("recovery").id
    assert raw["accuracy"]["ci"][0] > raw["baseline_accuracy"]["ci"][1]
    assert dp["accuracy"]["value"] < raw["accuracy"]["value"]


def test_membership_game_and_given_release_from_the_cli(agg_dirs, capsys, tmp_path):
    import pandas as pd

    raw = _json(capsys, ["attack", "membership", str(agg_dirs / "pop"), "--group-size", "50", "--trials", "60"])
    assert raw["rule_id"] == for_attack("membership").id and raw["auc"]["value"] > 0.7
    dp = _json(capsys, ["attack", "membership", str(agg_dirs / "pop"), "--group-size", "50", "--trials", "60",
                        "--epsilon", "0.1"])
    assert dp["auc"]["ci"][0] < 0.5 < dp["auc"]["ci"][1]
    # a given release: everyone in the population is a member; the list adds no outsider, so it is refused
    subs = pd.read_parquet(agg_dirs / "pop" / "subscribers.parquet")
    pd.DataFrame({"subscriber_id": subs["subscriber_id"][:20], "member": 1}).to_csv(tmp_path / "t.csv", index=False)
    rc = main(["attack", "membership", str(agg_dirs / "pop"), "--release", str(agg_dirs / "raw"), "--targets",
               str(tmp_path / "t.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "non-member" in err
    rc = main(["attack", "membership", str(agg_dirs / "pop"), "--release", str(agg_dirs / "raw")])
    assert rc == 2 and "--targets" in capsys.readouterr().err


def test_audit_fails_a_raw_small_count_aggregate_and_passes_dp(agg_dirs):
    from reidcheck.audit import run_audit
    from reidcheck.engine import get_engine
    from reidcheck.policy import Policy

    rid = for_attack("membership").id
    pol = Policy()
    for r in list(pol.doc["rules"]):
        pol.doc["rules"][r]["enabled"] = r == rid
    raw = run_audit(get_engine("duckdb"), agg_dirs / "raw", pol)
    f = [x for x in raw["findings"] if x["rule_id"] == rid]
    assert f and f[0]["status"] == "fail" and f[0]["value"] > 0.9
    dp = run_audit(get_engine("duckdb"), agg_dirs / "dp", pol)
    g = [x for x in dp["findings"] if x["rule_id"] == rid]
    assert g and g[0]["status"] == "pass" and g[0]["interval"][1] <= 0.65
    full = run_audit(get_engine("duckdb"), agg_dirs / "dp", Policy())
    assert full["verdict"] == "pass"


def test_recovery_refuses_what_is_not_an_aggregate_in_one_line(agg_dirs, capsys):
    rc = main(["attack", "recovery", str(agg_dirs / "pop"), "--knowledge", str(agg_dirs / "pop")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "not an aggregate release" in err and "Traceback" not in err
