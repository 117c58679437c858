"""The privacy–utility comparison: the headline on 20,000 subscribers, plan files, the CLI."""

from __future__ import annotations

import json

import pytest

from reidcheck.cli import main
from reidcheck.compare import DEFAULT_PLAN, Plan, load_plan, markdown, run_comparison
from reidcheck.engine import get_engine
from reidcheck.errors import InputError

HEADLINE = (
    ("baseline (random ids only)", ()),
    ("unsalted SHA-256 of MSISDN", ("hash",)),
    ("district x day", ("generalize-space:level=district", "generalize-time:bin=1d")),
    ("aggregate district x 1 h, DP eps=1", ("generalize-space:level=district",
                                            "aggregate:bin=1h,min_count=10,epsilon=1,max_cells=24")),
)


@pytest.fixture(scope="module")
def headline(realism_population):
    """20,000 subscribers × 28 days (seed 5); 5,000 targets know 4 points each."""
    plan = Plan(releases=HEADLINE, points=4, targets=5000, reversal_budget=3_000_000)
    return run_comparison(get_engine("duckdb"), realism_population, plan, seed=7)


def _row(comp, name):
    return next(r for r in comp.rows if r["name"] == name)


def test_headline_unsalted_hash_changes_nothing_and_is_reversed(headline):
    base, hashed = _row(headline, "baseline (random ids only)"), _row(headline, "unsalted SHA-256 of MSISDN")
    ub, uh = base["attacks"]["unicity"], hashed["attacks"]["unicity"]
    assert ub["n_targets"] == uh["n_targets"] >= 4500
    assert uh["n_unique"] == ub["n_unique"] and uh["n_correct"] == ub["n_correct"]
    assert uh["unique_rate"]["ci"][0] > 0.9                       # ε_4 stays near the paper's 95%
    hr = hashed["attacks"]["hash_reversal"]
    assert hr["algorithm"] == "sha256" and hr["slice"]["pseudonyms_in_slice"] >= 10
    assert hr["reversed_in_slice"]["value"] == 1.0               # every hash whose number was enumerated
    assert hr["n_correct"] == hr["n_unique"]                      # ... and each reversal is the right number
    assert hr["full_plan_hours_estimate"] < 24                    # the whole national plan: hours, not years
    assert "hash_reversal" not in base["attacks"]


def test_headline_district_day_lowers_risk_but_leaves_a_residual(headline):
    base = _row(headline, "baseline (random ids only)")["attacks"]["unicity"]
    dd = _row(headline, "district x day")
    u = dd["attacks"]["unicity"]
    assert u["unique_rate"]["ci"][1] < 0.5 * base["unique_rate"]["ci"][0]   # sharply lower
    assert u["correct_rate"]["ci"][0] > 0                                    # but measurably not zero
    assert u["n_correct"] >= 10
    assert dd["utility"]["spatial_error_km"]["mean"] > 1 and dd["utility"]["temporal_error_min"]["mean"] > 60


def test_headline_aggregate_leaves_no_person_to_single_out(headline):
    agg = _row(headline, "aggregate district x 1 h, DP eps=1")
    assert agg["person_level"] is False and agg["release_tables"] == ["cells", "presence"]
    exp = agg["attacks"]["aggregate_exposure"]
    assert exp["n_targets"] >= 4500 and exp["n_unique"] == 0 and exp["unique_rate"]["ci"][1] < 0.001
    assert exp["anonymity_set"]["min"] >= 10
    assert "unicity" not in agg["attacks"] and agg["utility"]["count_error"] is not None


def test_comparison_table_states_numbers_and_intervals(headline):
    md = markdown(headline)
    for name, _ in HEADLINE:
        assert f"| {name} |" in md
    assert md.count("[") >= 2 * len(HEADLINE)          # intervals, not bare rates


def test_default_plan_covers_every_strategy_family():
    names = {s.split(":")[0] for _, chain in DEFAULT_PLAN for s in chain}
    assert names >= {"hash", "hmac", "rotate", "generalize-space", "generalize-time", "generalize-qi", "suppress",
                     "topn", "geo-noise", "jitter", "subsample", "kanon", "aggregate"}
    Plan().validate()


def test_plan_files(tmp_path):
    good = tmp_path / "plan.toml"
    good.write_text('points = 3\ntargets = "all"\n[[release]]\nname = "a"\nstrategies = ["topn:n=2"]\n')
    plan = load_plan(good)
    assert plan.points == 3 and plan.releases == (("a", ("topn:n=2",)),)
    for text, msg in (('bogus = 1\n', "unknown key 'bogus'"), ('points = 99\n', "points"),
                      ('[[release]]\nname = "a"\n', "needs `name` and `strategies`"),
                      ('[[release]]\nname = "a"\nstrategies = ["nope"]\n', "Unknown strategy"),
                      ('points = \n', "not valid TOML")):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(InputError, match=msg):
            load_plan(bad)


def test_cli_anonymize_and_compare(tmp_path, capsys):
    pop = tmp_path / "pop"
    assert main(["generate", "-n", "600", "-d", "3", "--seed", "2", "--out", str(pop), "-q"]) == 0
    rel = tmp_path / "rel"
    assert main(["anonymize", str(pop), "-s", "generalize-space:level=district", "-s", "hmac:key=s3cret",
                 "--seed", "1", "--out", str(rel), "-q"]) == 0
    assert sorted(p.name for p in rel.iterdir()) == ["cdr.parquet", "cells.parquet", "release.json",
                                                      "subscribers.parquet", "travel.parquet"]
    assert (tmp_path / "rel.TRUTH-MAP-SECRET.parquet").is_file()
    assert "s3cret" not in (rel / "release.json").read_text()
    # the release is attackable as it is
    capsys.readouterr()
    assert main(["attack", "unicity", str(rel), "--targets", "100", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["n_targets"] > 0
    # bad strategy: exit 2, one line, no output
    assert main(["anonymize", str(pop), "-s", "geo-noise:epsilon=-1", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "epsilon" in err and not (tmp_path / "bad").exists()
    plan = tmp_path / "plan.toml"
    plan.write_text('targets = 200\n[[release]]\nname = "hashed"\nstrategies = ["hash"]\n'
                    '[[release]]\nname = "coarse"\nstrategies = ["generalize-time:bin=4h", "kanon:k=5"]\n'
                    '[[release]]\nname = "qi"\nstrategies = ["generalize-qi:age=10,home_district=province"]\n')
    out = tmp_path / "cmp.json"
    assert main(["compare", str(pop), "--plan", str(plan), "--json", str(out), "--seed", "3", "-q"]) == 0
    doc = json.loads(out.read_text())
    assert [r["name"] for r in doc["releases"]] == ["hashed", "coarse", "qi"]
    assert out.with_suffix(".md").read_text().startswith("# Privacy–utility comparison")
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert doc["releases"][1]["attacks"]["kanon"]["k"] >= 5
    assert 0 < doc["releases"][2]["utility"]["gil"] < 1
    # a chain that cannot run is refused before any work, naming the release
    plan.write_text('[[release]]\nname = "broken"\nstrategies = ["geo-noise:epsilon=1", "topn:n=2"]\n')
    assert main(["compare", str(pop), "--plan", str(plan), "--json", str(tmp_path / "x.json"), "-q"]) == 2
    assert "Release 'broken'" in capsys.readouterr().err and not (tmp_path / "x.json").exists()


def test_terminal_table_never_cuts_a_number_or_a_header():
    """A narrow terminal shortens release names only: header words, intervals and k stay whole."""
    import io
    import json
    from pathlib import Path
    from types import SimpleNamespace

    from rich.console import Console

    from reidcheck.summary import print_comparison

    doc = json.loads((Path(__file__).parent / "golden" / "compare.json").read_text())["output"]
    comp = SimpleNamespace(plan=SimpleNamespace(points=doc["plan"]["points"]), rows=doc["releases"])
    buf = io.StringIO()
    print_comparison(comp, Console(file=buf, width=100, color_system=None))
    text = buf.getvalue()
    for header in ("correct", "records", "kept", "spatial", "temporal", "err", "min", "OD"):
        assert header in text, header          # headers wrap at spaces, never inside a word
    for row in doc["releases"]:
        rate = (row["attacks"].get("unicity") or row["attacks"]["aggregate_exposure"])["unique_rate"]
        assert f"[{rate['ci'][0]:.3f}, {rate['ci'][1]:.3f}]" in text
