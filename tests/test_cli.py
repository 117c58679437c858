"""The command line: generate, bad arguments (exit 2, one line, no partial output), demo."""

import json
import subprocess
import sys

import pytest

from reidcheck.cli import main


def test_generate_writes_tables_and_summary(tmp_path, capsys):
    out = tmp_path / "pop"
    rc = main(["generate", "--subscribers", "300", "--days", "2", "--seed", "3", "--out", str(out)])
    assert rc == 0
    manifest = json.loads((out / "population.json").read_text())
    assert manifest["params"]["seed"] == 3
    assert {p.name for p in out.iterdir()} == {"cells.parquet", "subscribers.parquet", "cdr.parquet",
                                              "pings.parquet", "travel.parquet", "population.json"}
    text = capsys.readouterr().out
    assert "300 × 2" in text
    assert "+92" not in text  # no identifiers in the summary


def test_generate_csv(tmp_path):
    out = tmp_path / "csv"
    assert main(["generate", "-n", "200", "-d", "1", "--out", str(out), "--format", "csv", "-q"]) == 0
    header = (out / "cdr.csv").read_text().splitlines()[0]
    assert header == ('"subscriber_id","timestamp","event_type","direction","counterpart_msisdn",'
                      '"duration_s","cell_id"')


@pytest.mark.parametrize("args, needle", [
    (["-n", "0", "-d", "7"], "`subscribers`"),
    (["-n", "10", "-d", "-1"], "`days`"),
    (["-n", "10", "-d", "0"], "`days`"),
    (["-n", "10", "-d", "367"], "`days`"),
    (["-n", "5000001", "-d", "1"], "`subscribers`"),
    (["-n", "10", "-d", "1", "--format", "xls"], "`format`"),
    (["-n", "ten", "-d", "1"], "--subscribers"),
    (["-n", "10", "-d", "1", "--seed", "-4"], "`seed`"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, args, needle):
    out = tmp_path / "bad"
    rc = main(["generate", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("reidcheck: error: ") and needle in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_directory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["generate", "-n", "10", "-d", "1", "--out", str(blocker / "sub")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Cannot write to output directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_non_empty_output_is_refused_then_overwritten(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["generate", "-n", "10", "-d", "1", "--out", str(out)]) == 2
    assert (out / "keep.txt").exists()
    assert main(["generate", "-n", "10", "-d", "1", "--out", str(out), "--overwrite", "-q"]) == 0
    assert not (out / "keep.txt").exists() and (out / "cdr.parquet").exists()


def test_console_script_entry_point(tmp_path):
    """The installed `reidcheck` command (via python -m) exits 2 on a bad argument with one line."""
    r = subprocess.run([sys.executable, "-m", "reidcheck.cli", "generate", "-n", "0", "-d", "1",
                        "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("reidcheck: error:") and "Traceback" not in r.stderr
    assert r.stdout == ""


@pytest.fixture(scope="module")
def pop_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("attack") / "pop"
    assert main(["generate", "-n", "800", "-d", "3", "--seed", "4", "--out", str(out), "-q"]) == 0
    return out


def test_attack_unicity_json_to_stdout(pop_dir, capsys):
    rc = main(["attack", "unicity", str(pop_dir), "--points", "3", "--targets", "200", "--seed", "2",
               "--json", "-"])
    assert rc == 0
    out = capsys.readouterr().out
    doc = json.loads(out)   # stdout holds the JSON and nothing else
    for key in ("attack", "rule_id", "engine", "seed", "params", "n_targets", "n_skipped", "n_unique",
                "n_correct", "unique_rate", "correct_rate", "anonymity_set", "elapsed_s"):
        assert key in doc
    assert doc["rule_id"] == "RC201" and doc["params"]["points"] == 3 and doc["seed"] == 2
    assert doc["n_targets"] + doc["n_skipped"] == 200
    lo, hi = doc["unique_rate"]["ci"]
    assert lo <= doc["unique_rate"]["value"] <= hi


def test_attack_topn_homework_and_curve_write_json(pop_dir, tmp_path, capsys):
    for args in (["topn", "--n", "2", "--space", "district"], ["homework", "--space", "grid:2km"],
                 ["unicity-curve", "--max-points", "2", "--resolution", "1h,cell", "--resolution", "1d,site",
                  "--targets", "100"]):
        path = tmp_path / f"{args[0]}.json"
        assert main(["attack", args[0], str(pop_dir), *args[1:], "--json", str(path)]) == 0
        doc = json.loads(path.read_text())
        assert (len(doc) == 4) if args[0] == "unicity-curve" else doc["attack"] in ("topn", "homework")
    table = capsys.readouterr().out
    assert "RC202" in table and "RC203" in table and "+92" not in table


@pytest.mark.parametrize("args, needle", [
    (["--points", "0"], "`points`"),
    (["--space", "county"], "`space`"),
    (["--time-bin", "3x"], "`time_bin`"),
    (["--targets", "lots"], "`targets`"),
    (["--mapping", "user=u"], "`time`"),
])
def test_attack_bad_arguments(pop_dir, capsys, args, needle):
    rc = main(["attack", "unicity", str(pop_dir), *args])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and needle in err


def test_attack_bad_input_files(tmp_path, capsys):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    assert main(["attack", "unicity", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.parquet" in err and "Traceback" not in err
    assert main(["attack", "unicity", str(tmp_path / "missing.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    json_path = tmp_path / "never.json"
    assert main(["attack", "unicity", str(broken), "--json", str(json_path)]) == 2
    assert not json_path.exists()


def test_tabular_checks_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("age;sex;zip;disease\n30;F;100;flu\n30;F;100;cold\n41;M;200;flu\n41;M;200;flu\n52;F;;cold\n")
    for args, key, expected in ((["kanon", "--qi", "age,sex,zip", "--k", "2"], "k", 1),
                                (["ldiv", "--qi", "age,sex", "--sensitive", "disease"], "l", 1),
                                (["tclose", "--qi", "age,sex", "--sensitive", "disease"], "t", 0.6),
                                (["risk", "--qi", "age,sex,zip", "--sampling-fraction", "0.5"], "rule_id", "RC104")):
        assert main(["attack", args[0], str(path), *args[1:], "--json", "-"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc[key] == expected, args
        assert doc["n_targets"] == 5          # the row with a missing zip is kept as its own class
    assert main(["attack", "kanon", str(path), "--qi", "age,nope"]) == 2
    assert "column 'nope' not found" in capsys.readouterr().err


def test_hash_reversal_from_the_command_line(tmp_path, capsys):
    from reidcheck.attacks.pseudonyms import hash_msisdn

    numbers = [f"+92300{s:07d}" for s in range(1_000, 60_000, 997)]
    path = tmp_path / "release.csv"
    path.write_text("pid\n" + "\n".join(hash_msisdn(numbers)) + "\n")
    args = ["attack", "hash-reversal", str(path), "--column", "pid", "--prefixes", "300", "--serials", "0-59999"]
    assert main([*args, "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_unique"] == doc["n_targets"] == len(numbers) and "reversed" not in doc
    assert main([*args, "--json", "-", "--reveal"]) == 0
    out = capsys.readouterr()
    assert sorted(json.loads(out.out)["reversed"].values()) == numbers   # stdout: the JSON alone
    # PrivacyLeakWarning: one line on stderr, no traceback, no number
    warning = [line for line in out.err.splitlines() if line.startswith("reidcheck: warning:")]
    assert len(warning) == 1 and "personal data" in warning[0] and "Traceback" not in out.err
    assert not any(n.lstrip("+") in out.err for n in numbers)
    assert main([*args[:-2], "--serials", "9-x"]) == 2


def test_linkage_from_the_command_line(tmp_path, capsys):
    (tmp_path / "rel.csv").write_text("pid,age,gender\np1,20-29,F\np2,20-29,M\np3,30-39,F\np4,30-39,F\n")
    (tmp_path / "aux.csv").write_text("subscriber_id,age,gender\nu1,25,F\nu3,33,F\nu9,25,\n")
    (tmp_path / "truth.csv").write_text("pid,uid\np1,u1\np2,u2\np3,u3\np4,u4\n")
    rc = main(["attack", "linkage", str(tmp_path / "rel.csv"), "--auxiliary", str(tmp_path / "aux.csv"),
               "--qi", "age,gender", "--truth", str(tmp_path / "truth.csv"), "--json", "-"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    # u1 → p1 only (unique, correct); u3 → p3 or p4; u9 (gender unknown) → p1 or p2.
    assert (doc["n_targets"], doc["n_unique"], doc["n_correct"]) == (3, 1, 1)
    assert main(["attack", "linkage", str(tmp_path / "rel.csv"), "--auxiliary", str(tmp_path / "aux.csv"),
                 "--qi", "age,shoe"]) == 2
    assert "shoe" in capsys.readouterr().err


def test_hash_reversal_reports_linkability_across_releases(tmp_path, capsys):
    from reidcheck.attacks.pseudonyms import hash_msisdn

    numbers = [f"+92300{s:07d}" for s in range(100, 200)]
    (tmp_path / "a.csv").write_text("pid\n" + "\n".join(hash_msisdn(numbers[:80])) + "\n")
    (tmp_path / "b.csv").write_text("pid\n" + "\n".join(hash_msisdn(numbers[40:])) + "\n")
    assert main(["attack", "hash-reversal", str(tmp_path / "a.csv"), "--column", "pid", "--prefixes", "300",
                 "--serials", "0-999", "--compare", str(tmp_path / "b.csv"), "--json", "-"]) == 0
    link = json.loads(capsys.readouterr().out)["linkability"]
    assert link["common"] == 40 and link["stable"] is False and link["linkable_share"]["value"] == 0.5


def test_rules_lists_the_registry(capsys):
    """`reidcheck rules --json`: every rule once, with its title, kinds and default; the table form too."""
    from reidcheck import rules
    from reidcheck.policy import default_policy

    assert main(["rules", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in doc] == rules.ids() and len(doc) == len(set(r["id"] for r in doc))
    audited = {r["id"] for r in doc if r["audited"]}
    assert audited == set(default_policy()["rules"])
    for r in doc:
        assert r["title"] and r["help"] and r["adversary"] and r["default"]["op"] in ("<=", ">=")
        if r["audited"]:
            d = default_policy()["rules"][r["id"]]
            assert d["max" if r["default"]["op"] == "<=" else "min"] == r["default"]["threshold"]
    assert main(["rules"]) == 0
    text = capsys.readouterr().out
    assert all(r["id"] in text for r in doc) and "[rules.ID]" in text


def test_each_rule_id_is_written_in_one_source_file():
    """The registry is the one place: each id string appears in exactly one module of the package."""
    import re
    from pathlib import Path

    import reidcheck
    from reidcheck import rules

    root = Path(reidcheck.__file__).parent
    for rid in rules.ids():
        where = [p.relative_to(root).as_posix() for p in root.rglob("*.py") if re.search(rid, p.read_text())]
        assert len(where) == 1 and where[0].startswith("rules/"), (rid, where)


def test_readme_rules_table_is_the_registry(capsys):
    """The README's rule table is `reidcheck rules --markdown`, so docs and registry cannot drift."""
    from pathlib import Path

    assert main(["rules", "--markdown"]) == 0
    table = capsys.readouterr().out
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert table in readme


def _commands():
    import typer

    from reidcheck.cli import app

    root = typer.main.get_command(app)

    def walk(c, path):
        yield path, c
        for name, sub in getattr(c, "commands", {}).items():
            yield from walk(sub, path + [name])

    return list(walk(root, []))


@pytest.mark.parametrize("path", [p for p, _ in _commands()], ids=lambda p: " ".join(p) or "reidcheck")
def test_help_reads_well(path):
    """Every command's help: no <bool> beside a flag, no raw ``rst`` quotes, no <list[...]> type,
    every option explained, and no bracketed text (``[spark]``, ``[tool.reidcheck]``) swallowed as markup."""
    import re

    from typer.testing import CliRunner

    from reidcheck.cli import app

    cmd = next(c for p, c in _commands() if p == path)
    out = CliRunner().invoke(app, path + ["--help"], env={"COLUMNS": "400"}).output
    assert "<bool>" not in out and "``" not in out and "<list[" not in out
    for prm in getattr(cmd, "params", []):
        if getattr(prm, "param_type_name", "") != "option" or "--help" in prm.opts:
            continue
        assert prm.help, f"{' '.join(path)} {'/'.join(prm.opts)} has no help"
        for token in re.findall(r"\[[^\]\s]*\]", prm.help.replace("\\[", "[")):
            assert token in out, f"{' '.join(path)}: {token} is not shown"


def test_bench_help_names_every_benchmark():
    from typer.testing import CliRunner

    from reidcheck.bench import BENCHMARKS
    from reidcheck.cli import app

    out = CliRunner().invoke(app, ["bench", "--help"], env={"COLUMNS": "400"}).output
    assert all(name in out for name in BENCHMARKS)
