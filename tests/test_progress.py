"""Progress bars (issue 16): one helper builds them (cli/common.py ``_progress``); they show the step
under way, done/total and the time remaining on stderr, advance per unit of work (a block of
subscribers, a (table, rule) evaluation, a release, a point of a curve, a demo step), and print
nothing with --quiet, with --json - or when stderr is not a terminal. Output is the same with and
without them."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import TimeRemainingColumn

from reidcheck.cli import common, main

SELECT = "RC202,RC302"        # fast rules: a trajectory one and one for every kind


@pytest.fixture(scope="module")
def pop(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("progress") / "pop"
    assert main(["generate", "--subscribers", "300", "--days", "3", "--seed", "1", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture
def terminal(monkeypatch):
    """stderr is a terminal: the bars are drawn, into the returned buffer; every call the library makes
    to a bar is recorded in ``calls`` as (method, args)."""
    buf = io.StringIO()
    monkeypatch.setattr(common, "_interactive", lambda: True)
    monkeypatch.setattr(common, "err_console", Console(file=buf, force_terminal=True, width=140, color_system=None))
    calls = []
    for name in ("advance", "update", "step"):
        original = getattr(common._Bar, name)

        def spy(self, *args, _name=name, _original=original):
            calls.append((_name, args))
            return _original(self, *args)

        monkeypatch.setattr(common._Bar, name, spy)
    buf.calls = calls
    return buf


def _untimed(doc):
    """A JSON document without its timings (the only thing that differs between two runs)."""
    if isinstance(doc, dict):
        return {k: _untimed(v) for k, v in doc.items() if k not in ("elapsed_s", "shared_preparation_s")}
    if isinstance(doc, list):
        return [_untimed(v) for v in doc]
    return doc


def _check_counts(updates, total):
    """``update(done, total, label)`` calls: ``done`` goes 0, 1, …, total one unit at a time, the last
    call says finished, and the total is known from some call on and then stays."""
    dones = [u[0] for u in updates]
    assert dones == sorted(dones) and sorted(set(dones)) == list(range(total + 1))
    assert updates[-1] == (total, total, "finished")
    known = [u[1] for u in updates if u[1] is not None]
    assert known and known[-1] == total


# -- the helper ------------------------------------------------------------------------------------
def test_the_bar_shows_the_step_counts_and_time_remaining(terminal):
    bar = common._progress(4, "working", False)
    assert bar.active
    columns = bar._progress.columns
    assert any(isinstance(c, TimeRemainingColumn) for c in columns)
    assert bar._progress.live.transient
    with bar:
        bar.update(1, 4, "the second step")
    out = terminal.getvalue()
    assert "the second step" in out and "1/4" in out and "eta " in out


def test_a_step_with_brackets_is_shown_as_written(terminal):
    with common._progress(2, "x", False) as bar:
        bar.update(0, 2, "release [bold]district[/bold]")
    assert "release [bold]district[/bold]" in terminal.getvalue()


def test_the_bar_is_inactive_when_quiet_or_not_a_terminal(monkeypatch, terminal):
    bar = common._progress(3, "x", True)
    assert not bar.active
    with bar:                              # every callback is harmless
        bar.update(1, 3, "a")
        bar.advance()
        bar.step("b")
    assert terminal.getvalue() == ""
    monkeypatch.setattr(common, "_interactive", lambda: False)
    assert not common._progress(3, "x", False).active


def test_stderr_that_is_not_a_terminal_gets_no_bar(monkeypatch):
    """The real test of a terminal (no stand-in): a pipe, a file or pytest's capture is not one."""
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not common._interactive() and not common._progress(3, "x", False).active


# -- generate --------------------------------------------------------------------------------------
def test_generate_advances_per_block_and_writes_the_same_bytes(tmp_path, terminal):
    from synthetic.population import BLOCK

    n = 2 * BLOCK + 1
    args = ["generate", "-n", str(n), "-d", "1", "--seed", "4", "--workers", "1", "--chunk-size", str(BLOCK)]
    assert main([*args, "--out", str(tmp_path / "bar")]) == 0
    assert [c for c in terminal.calls if c[0] == "advance"] == [("advance", ())] * 3
    assert "generating" in terminal.getvalue() and "eta " in terminal.getvalue()
    drawn = len(terminal.getvalue())
    assert main([*args, "--out", str(tmp_path / "quiet"), "--quiet"]) == 0
    assert len(terminal.getvalue()) == drawn          # --quiet: nothing more on stderr
    files = sorted(p.name for p in (tmp_path / "bar").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "quiet").iterdir())
    for name in files:
        assert (tmp_path / "bar" / name).read_bytes() == (tmp_path / "quiet" / name).read_bytes(), name


# -- audit -----------------------------------------------------------------------------------------
def test_audit_counts_table_rule_evaluations(pop, tmp_path):
    """run_audit's callback: one unit per enabled rule on each table of its kind and per pass over all
    tables; a table found empty takes its rules off the total."""
    from reidcheck import rules
    from reidcheck.audit import run_audit
    from reidcheck.engine import get_engine
    from reidcheck.policy import Policy

    src = tmp_path / "export"
    src.mkdir()
    for name in ("cells.parquet", "cdr.parquet", "subscribers.parquet"):
        shutil.copy(pop / name, src / name)
    (src / "trips.csv").write_text("subscriber_id,country,month\n")      # a travel table with no rows
    policy = Policy()
    policy.doc["select"] = ["RC202", "RC301", "RC302"]
    updates = []
    report = run_audit(get_engine("duckdb"), src, policy, progress=lambda *a: updates.append(a))
    kinds = [t["kind"] for t in report["tables"]]
    assert sorted(kinds) == ["places", "tabular", "trajectory"]
    chosen = [rules.get(i) for i in policy.doc["select"]]
    per_table = sum(kind in r.kinds for kind in kinds for r in chosen)
    total = per_table + sum(r.finish is not None for r in chosen)
    assert total == 1 + 3 + 2 + 1          # RC202 on cdr, RC302 on all three, RC301 on two, its pass
    _check_counts(updates, total)
    assert updates[0][1] == total + 2      # before the empty table was read: its RC301 and RC302 counted
    labels = [u[2] for u in updates]
    assert "cdr: RC202 top-places" in labels and "all tables: RC301 reversible-pseudonyms" in labels
    assert "trips: reading" in labels


def test_audit_bar_in_a_terminal(pop, tmp_path, terminal, capsys):
    args = ["audit", str(pop), "--select", SELECT, "--exit-zero"]
    assert main([*args, "--json", str(tmp_path / "bar.json")]) == 0
    updates = [c[1] for c in terminal.calls if c[0] == "update"]
    total = 2 + 5               # RC202 on cdr and pings, RC302 on all five tables
    _check_counts(updates, total)
    drawn = terminal.getvalue()
    assert "eta " in drawn and "/7" in drawn and ("cdr: " in drawn or "pings: " in drawn)
    assert "eta " not in capsys.readouterr().out          # the bar never goes to stdout
    # --quiet and --json -: no bar at all; the JSON is the same
    assert main([*args, "--json", str(tmp_path / "quiet.json"), "--quiet"]) == 0
    assert main([*args, "--json", "-"]) == 0
    assert terminal.getvalue() == drawn
    stdout = capsys.readouterr().out
    bar_doc, quiet_doc = (json.loads((tmp_path / f).read_text()) for f in ("bar.json", "quiet.json"))
    assert _untimed(bar_doc) == _untimed(quiet_doc) == _untimed(json.loads(stdout))


def test_audit_prints_nothing_on_a_pipe(pop, tmp_path):
    """A real process whose stderr is a pipe: not one byte on it."""
    exe = Path(sys.executable).with_name("reidcheck")
    cmd = [str(exe), "audit", str(pop), "--select", "RC302", "--exit-zero", "--json", str(tmp_path / "r.json")]
    proc = subprocess.run(cmd, capture_output=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == b""
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["rules"] == 5


# -- compare ---------------------------------------------------------------------------------------
def test_compare_advances_per_release(pop, tmp_path, terminal, capsys):
    plan = tmp_path / "plan.toml"
    plan.write_text('targets = 50\n\n[[release]]\nname = "baseline"\nstrategies = []\n\n'
                    '[[release]]\nname = "4 h bins"\nstrategies = ["generalize-time:bin=4h"]\n')
    args = ["compare", str(pop), "--plan", str(plan)]
    assert main([*args, "--json", str(tmp_path / "bar.json")]) == 0
    updates = [c[1] for c in terminal.calls if c[0] == "update"]
    assert updates == [(0, 2, "preparing (a dry run of every chain)"), (0, 2, "baseline"), (1, 2, "4 h bins"),
                       (2, 2, "finished")]
    drawn = terminal.getvalue()
    assert "eta " in drawn and "/2" in drawn
    assert "eta " not in capsys.readouterr().out
    assert main([*args, "--json", "-"]) == 0
    assert terminal.getvalue() == drawn
    doc = json.loads(capsys.readouterr().out)
    assert _untimed(doc) == _untimed(json.loads((tmp_path / "bar.json").read_text()))


# -- attack unicity-curve --------------------------------------------------------------------------
def test_unicity_curve_advances_per_resolution_and_point(pop, tmp_path, terminal, capsys):
    args = ["attack", "unicity-curve", str(pop), "--max-points", "2", "--resolution", "1h,cell",
            "--resolution", "1d,district", "--targets", "100"]
    assert main([*args, "--json", str(tmp_path / "bar.json")]) == 0
    updates = [c[1] for c in terminal.calls if c[0] == "update"]
    assert [(d, t) for d, t, _ in updates] == [(0, 4), (0, 4), (1, 4), (2, 4), (2, 4), (3, 4), (4, 4)]
    assert updates[0][2] == "1h × cell: preparing" and updates[2][2] == "1h × cell: 2 points"
    assert updates[4][2] == "1d × district: 1 point" and updates[-1][2] == "finished"
    drawn = terminal.getvalue()
    assert "eta " in drawn and "/4" in drawn
    assert "eta " not in capsys.readouterr().out
    for extra in (["--json", "-"], ["--json", str(tmp_path / "quiet.json"), "--quiet"]):
        assert main([*args, *extra]) == 0
    assert terminal.getvalue() == drawn
    doc = json.loads(capsys.readouterr().out)
    bar_doc, quiet_doc = (json.loads((tmp_path / f).read_text()) for f in ("bar.json", "quiet.json"))
    assert _untimed(doc) == _untimed(bar_doc) == _untimed(quiet_doc)


def test_unicity_curve_without_a_terminal_prints_nothing_on_stderr(pop, tmp_path, capsys):
    assert main(["attack", "unicity-curve", str(pop), "--max-points", "1", "--targets", "50",
                 "--json", str(tmp_path / "c.json")]) == 0
    assert capsys.readouterr().err == ""


# -- demo ------------------------------------------------------------------------------------------
def test_run_demo_reports_every_step_of_steps(tmp_path, monkeypatch):
    """run_demo gives its callback exactly the labels of demo.steps(), in order (the work itself is
    stubbed out: only the sequence of steps is under test here)."""
    import synthetic
    import reidcheck.anonymize as anonymize
    import reidcheck.audit as audit
    import reidcheck.compare as compare
    import reidcheck.io as rio
    import reidcheck.report as report
    from reidcheck import demo

    class Stub:
        def __getattr__(self, name):
            return lambda *a, **k: Stub()

        def to_dict(self):
            return {}

    monkeypatch.setattr(synthetic, "write_population", lambda *a, **k: None)
    monkeypatch.setattr(rio, "read_population", lambda *a, **k: Stub())
    monkeypatch.setattr(anonymize, "Release", Stub())
    monkeypatch.setattr(anonymize, "apply_strategies", lambda *a, **k: Stub())
    monkeypatch.setattr(compare, "run_comparison", lambda *a, **k: Stub())
    monkeypatch.setattr(compare, "write_outputs", lambda *a, **k: None)
    monkeypatch.setattr(audit, "run_audit", lambda *a, **k: {})
    monkeypatch.setattr(report, "write_all", lambda *a, **k: None)
    labels = []
    demo.run_demo(tmp_path / "d", subscribers=10, days=1, seed=1, progress=labels.append)
    assert labels == demo.steps() and len(labels) == 2 + 2 * len(demo.DEMO_RELEASES)


def test_demo_bar_is_over_its_steps(tmp_path, monkeypatch, terminal):
    from reidcheck import demo
    from reidcheck.errors import UsageError

    def fake(out, subscribers, days, seed, *, progress=None):
        for label in demo.steps():
            progress(label)
        raise UsageError("stop here")

    monkeypatch.setattr(demo, "run_demo", fake)
    assert main(["demo", "--out", str(tmp_path / "d"), "-n", "10", "-d", "1"]) == 2
    steps = [c[1][0] for c in terminal.calls if c[0] == "step"]
    assert steps == demo.steps()
    n = len(steps)
    drawn = terminal.getvalue()
    assert f"{n - 1}/{n}" in drawn and "eta " in drawn and steps[-1] in drawn
    assert main(["demo", "--out", str(tmp_path / "d"), "-n", "10", "-d", "1", "--quiet"]) == 2
    assert terminal.getvalue() == drawn
