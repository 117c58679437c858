"""Call-graph linkage (Creţu et al. 2022): counterparts released as pseudonyms link a release across time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reidcheck.attacks import CallGraphLinkage
from reidcheck.attacks import callgraph as cg
from reidcheck.engine import get_engine
from reidcheck.errors import UsageError
from reidcheck.io import load_calls


@pytest.fixture(scope="module")
def cg_release(tmp_path_factory):
    """1,000 subscribers × 14 days, released with pseudonymized counterparts (rel) and without (plain)."""
    from typer.testing import CliRunner

    from reidcheck.cli import app
    from synthetic.writer import write_population

    root = tmp_path_factory.mktemp("cg")
    write_population(root / "pop", 1000, 14, 5)
    for name, spec in (("rel", "token:counterparts=pseudonymize"), ("plain", "token")):
        r = CliRunner().invoke(app, ["anonymize", str(root / "pop"), "-s", spec, "--out", str(root / name), "-q"])
        assert r.exit_code == 0, r.output
    return root


def _run(root, **kw):
    e = get_engine("duckdb")
    truth = pd.read_parquet(root / "rel.TRUTH-MAP-SECRET.parquet")
    return CallGraphLinkage(**kw).run(e, load_calls(e, root / "rel"), knowledge=load_calls(e, root / "pop"),
                                      truth=truth)


def test_links_the_release_across_non_overlapping_periods(cg_release):
    r = _run(cg_release, knowledge_days="0..7", release_days="7..14")
    d = r.to_dict()
    assert d["attack"] == "callgraph" and r.rule_id
    assert d["n_candidates"] > 900 and d["baseline_rate"] == pytest.approx(1 / d["n_candidates"])
    t1 = d["top1_rate"]
    assert t1["ci"][0] > 0.3                                      # far above a random guess (< 0.1%)
    assert d["top5_rate"]["value"] >= t1["value"]
    assert d["correct_rate"]["value"] == max(t1["value"], d["assignment_rate"]["value"])


def test_propagation_of_matched_contacts_adds_to_the_profile(cg_release, monkeypatch):
    full = _run(cg_release, knowledge_days="0..7", release_days="7..14").extra["assignment_rate"]
    monkeypatch.setattr(cg, "ROUNDS", 0)
    alone = _run(cg_release, knowledge_days="0..7", release_days="7..14").extra["assignment_rate"]
    assert full["ci"][0] > alone["ci"][1]


def test_self_split_needs_no_knowledge_and_matches_the_truth_map_run(cg_release):
    e = get_engine("duckdb")
    r = CallGraphLinkage(self_split=7).run(e, load_calls(e, cg_release / "rel"))
    assert r.extra["top1_rate"]["ci"][0] > 0.3


def test_refusals_are_one_line(cg_release, capsys):
    from reidcheck.cli import main

    e = get_engine("duckdb")
    plain = cg_release / "plain"
    rc = main(["attack", "callgraph", str(plain), "--self-split", "7"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "counterpart_pid" in err and "Traceback" not in err
    with pytest.raises(UsageError, match="periods"):
        CallGraphLinkage().run(e, load_calls(e, cg_release / "rel"), knowledge=load_calls(e, cg_release / "pop"),
                               truth=pd.DataFrame({"pid": ["a"], "subscriber_id": [1], "period": [3]}))
    with pytest.raises(UsageError, match="self_split"):
        CallGraphLinkage(self_split=2, knowledge_days="0..1").validate()
    rc = main(["attack", "callgraph", str(cg_release / "rel"), "--knowledge", str(cg_release / "pop")])
    assert rc == 2 and "--truth" in capsys.readouterr().err


def test_audit_judges_the_call_graph_of_a_release_with_counterparts(cg_release):
    from reidcheck.audit import run_audit
    from reidcheck.policy import Policy
    from reidcheck.rules import for_attack

    rid = for_attack("callgraph").id
    pol = Policy()
    for r in list(pol.doc["rules"]):
        pol.doc["rules"][r]["enabled"] = r == rid
    report = run_audit(get_engine("duckdb"), cg_release / "rel", pol)
    f = [x for x in report["findings"] if x["rule_id"] == rid]
    assert f and f[0]["status"] == "fail" and f[0]["interval"][0] > 0.05
    plain = run_audit(get_engine("duckdb"), cg_release / "plain", pol)
    g = [x for x in plain["findings"] if x["rule_id"] == rid]
    assert g and g[0]["status"] == "not_applicable"


def test_compare_links_a_release_with_counterparts_and_skips_one_without(small_population):
    from reidcheck.anonymize.release import Release
    from reidcheck.anonymize.strategies import apply_strategies
    from reidcheck.compare import strongest
    from reidcheck.privacy import release_callgraph
    from reidcheck.secrets import key_from_seed

    orig = Release.from_population(small_population)
    e = get_engine("duckdb")
    rel = apply_strategies(orig, ["token:counterparts=pseudonymize"], seed=4, key=key_from_seed(4))
    res = release_callgraph(e, orig, rel, rel.publish(), seed=4)
    assert res.extra["top1_rate"]["ci"][0] > 0.3 and res.params["knowledge_days"] == "0..3"
    assert strongest({"callgraph": res.to_dict()})["attack"] == "callgraph"
    plain = apply_strategies(orig, ["token"], seed=4, key=key_from_seed(4))
    assert release_callgraph(e, orig, plain, plain.publish(), seed=4) is None


def test_profile_and_call_graph_evidence_combine(small_population):
    """Added posterior log-probabilities: the combination names more people than the weaker attack
    (the profile, on district × day) and stays near the stronger; compare reports the best of all."""
    from reidcheck.anonymize.release import Release
    from reidcheck.anonymize.strategies import apply_strategies
    from reidcheck.attacks import profile_model as model
    from reidcheck.privacy import combined_linkage, release_callgraph, release_profile
    from reidcheck.secrets import key_from_seed

    orig = Release.from_population(small_population)
    e = get_engine("duckdb")
    rel = apply_strategies(orig, ["generalize-space:level=district", "generalize-time:bin=1d",
                                  "token:counterparts=pseudonymize"], seed=4, key=key_from_seed(4))
    pub = rel.publish()
    prof = release_profile(e, orig, rel, pub, scenario="profile_next_period", seed=4, with_ranking=True)
    cg = release_callgraph(e, orig, rel, pub, seed=4, with_ranking=True)
    both = combined_linkage(prof, cg)
    p1, c1 = prof[0].extra["top1_rate"]["value"], cg[0].extra["top1_rate"]["value"]
    assert min(p1, c1) + 0.1 < both["top1_rate"]["value"] and both["top1_rate"]["value"] > 0.8 * max(p1, c1)
    assert both["n_targets"] == prof[0].n_targets
    # the combination adds scores per candidate; a candidate missing from one list gets its floor
    a = model.Ranking(targets=np.array(["t"]), candidates=np.array(["x", "y"]), cands=np.array([[0, 1]]),
                      scores=np.array([[-1.0, -3.0]]), truth=np.array([1]))
    b = model.Ranking(targets=np.array(["t"]), candidates=np.array(["y", "z"]), cands=np.array([[0, 1]]),
                      scores=np.array([[5.0, 0.0]]), truth=np.array([0]))
    c = model.combine(a, b, k=3)
    got = {c.candidates[j]: s for j, s in zip(c.cands[0], c.scores[0]) if j >= 0}
    from scipy.special import logsumexp

    la, lb = np.array([-1.0, -3.0]) - logsumexp([-1.0, -3.0]), np.array([5.0, 0.0]) - logsumexp([5.0, 0.0])
    want = {"y": la[1] + lb[0], "x": la[0] + (lb[1] - 1.0), "z": (la[1] - 1.0) + lb[1]}
    assert got.keys() == want.keys() and all(got[key] == pytest.approx(want[key]) for key in want)
    assert c.candidates[c.cands[0, 0]] == "y" and c.candidates[c.truth[0]] == "y"
