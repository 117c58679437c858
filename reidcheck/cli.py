"""The ``reidcheck`` command line: parses arguments, calls the library, renders results.

Exit codes: 0 success, 1 policy violated (later commands), 2 usage or input error. Errors are one
line on stderr (``reidcheck: error: ...``); stdout carries only the requested output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from typer.exceptions import Abort, Exit, TyperException
from rich.console import Console

from .errors import InputError, ReidcheckError, UsageError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Measure how easily people in an 'anonymized' telecom export can be re-identified.")
err_console = Console(stderr=True)


@app.callback()
def _global(spark_master: Optional[str] = typer.Option(
        None, "--spark-master", envvar="REIDCHECK_SPARK_MASTER",
        help="Spark master URL for --engine spark (default local[*]; 'submit': the one spark-submit was given)."),
        verbose: bool = typer.Option(
        False, "--verbose", help="Show Spark's own log and warnings (--engine spark) on stderr instead of "
                                 "writing them to $REIDCHECK_SPARK_LOG (default <tempdir>/reidcheck-spark-<pid>.log).")
) -> None:
    """Measure how easily people in an 'anonymized' telecom export can be re-identified."""
    import os

    if spark_master:
        os.environ["REIDCHECK_SPARK_MASTER"] = spark_master
    if verbose:
        os.environ["REIDCHECK_VERBOSE"] = "1"


def _output_file(value):
    """Option callback: an output file path is validated when the command line is parsed, before any
    work (``-`` is stdout)."""
    if value is not None and str(value) != "-":
        from .io import check_output

        check_output(Path(value))
    return value


def _output_dir(value):
    """Option callback: an output directory must not be an existing file or device."""
    if value is not None:
        from .io import check_output

        check_output(Path(value), directory=True)
    return value


def _steps(label: str, quiet: bool):
    """A spinner on stderr whose text follows the current step: (step function or None, stop)."""
    bar = _progress(1, label, quiet)
    if bar is None:
        return None, lambda: None
    progress, task = bar
    progress.update(task, total=None)
    progress.start()
    return (lambda text: progress.update(task, description=text)), progress.stop


def _progress(total: int, label: str, quiet: bool):
    """A rich progress bar on stderr, or None when stderr is not a terminal or --quiet is set."""
    if quiet or not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=err_console, transient=True)
    return bar, bar.add_task(label, total=total)


@app.command()
def generate(
    subscribers: int = typer.Option(..., "--subscribers", "-n", help="Number of subscribers (≥ 1)."),
    days: int = typer.Option(..., "--days", "-d", help="Length of the window in days (≥ 1)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random draw (same seed, same bytes)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (created; must be empty).",
                             callback=_output_dir),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
    start: str = typer.Option("2025-01-06", "--start", help="First local (PKT) date of the window."),
    sites: Optional[int] = typer.Option(None, "--sites",
                                        help="Cell sites (3 sectors each); default 1 per 100 subscribers."),
    travel_rate: float = typer.Option(0.03, "--travel-rate", help="Trips abroad per subscriber per year."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes (default: up to 2 cores)."),
    chunk_size: Optional[int] = typer.Option(None, "--chunk-size",
                                             help="Subscribers per work unit (memory only; output unchanged)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output directory."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, no summary."),
) -> None:
    """Generate a synthetic population: cells, subscribers, cdr, pings, travel."""
    from synthetic import write_population
    from synthetic.population import BLOCK, validate_params

    from .summary import print_summary

    validate_params(subscribers, days, seed, sites, travel_rate, chunk_size, workers)
    bar = _progress(-(-subscribers // BLOCK), "generating", quiet)
    if bar is not None:
        bar[0].start()
    try:
        manifest = write_population(out, subscribers, days, seed, start, fmt=fmt, sites=sites,
                                    travel_rate=travel_rate, chunk_size=chunk_size, workers=workers,
                                    overwrite=overwrite,
                                    progress=(lambda: bar[0].advance(bar[1])) if bar else None)
    finally:
        if bar is not None:
            bar[0].stop()
    if not quiet:
        print_summary(out, manifest)


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", "-o", help="Where to write everything.",
                             callback=_output_dir),
    subscribers: int = typer.Option(5000, "--subscribers", "-n"),
    days: int = typer.Option(14, "--days", "-d"),
    seed: int = typer.Option(7, "--seed"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """The main job: generate a population, release it four ways (naive hash → aggregation), compare
    privacy and utility, audit each release, write report.html.

    Re-running replaces an earlier demo in ``--out``; any other non-empty directory is refused."""
    import time

    from synthetic.population import validate_params

    from .demo import DEMO_RELEASES, run_demo
    from .summary import print_comparison

    validate_params(subscribers, days, seed)
    t0 = time.perf_counter()
    console = Console(width=None if sys.stdout.isatty() else 160)
    step, stop = _steps("demo", quiet)
    try:
        res = _guard(lambda: run_demo(out, subscribers, days, seed, progress=step))
    finally:
        stop()
    if quiet:
        return
    print_comparison(res["comparison"], console)
    from rich.table import Table as RichTable

    t = RichTable(title="Audit of each release under the default policy (no truth map: what an auditor sees)")
    for col in ("release", "what was done", "verdict", "failed checks"):
        t.add_column(col)
    for name, what, _ in DEMO_RELEASES:
        rep = res["reports"][name]
        failed = ", ".join(dict.fromkeys(f"{f['rule_id']} {f['rule']}" for f in rep["findings"]
                                         if f["status"] == "fail"))
        colour = "red" if rep["verdict"] == "fail" else "green"
        t.add_row(name, what, f"[bold {colour}]{rep['verdict'].upper()}[/]", failed or "-")
    console.print(t)
    console.print(f"Report: {out / 'report.html'}  (per release: {out / 'reports'}/; comparison: "
                  f"{out / 'comparison.md'}, {out / 'comparison.png'})  — {time.perf_counter() - t0:.0f} s")


@app.command()
def anonymize(
    input_path: Path = typer.Argument(..., metavar="DIR", help="A population directory (reidcheck generate)."),
    strategy: list[str] = typer.Option(..., "--strategy", "-s",
                                       help="NAME[:k=v,...], repeatable, applied in order: hash, hmac, token, "
                                            "rotate, generalize-space, generalize-time, generalize-qi, suppress, "
                                            "topn, geo-noise, jitter, subsample, kanon, aggregate, drop."),
    seed: int = typer.Option(0, "--seed", help="Seed mixed with the key into every random draw (public: the same "
                                                 "key and seed give the same release byte for byte)."),
    out: Path = typer.Option(..., "--out", "-o", help="Release directory (created; must be empty).",
                             callback=_output_dir),
    key_file: Optional[Path] = typer.Option(
        None, "--key-file", envvar="REIDCHECK_KEY_FILE",
        help="Secret key (at least 16 bytes, raw or hex text) from which every pseudonym and noise draw is "
             "derived; keep it mode 0600, it is not copied. Without it a fresh 256-bit key is drawn from the OS "
             "and stored only in <out>.KEY-SECRET (mode 0600) beside the release: pass that file here to "
             "reproduce the release."),
    truth: Optional[Path] = typer.Option(None, "--truth", callback=_output_file,
                                         help="Where to write the secret truth map (default: beside --out, "
                                              "named <out>.TRUTH-MAP-SECRET.parquet)."),
    table: str = typer.Option("cdr", "--table", help="Event table to release: cdr or pings."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output directory."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
) -> None:
    """Release a population with anonymization strategies: a release directory without direct
    identifiers or secrets, its truth map (pid → subscriber_id) and, for a fresh key, the key, each in a
    separate secret file beside it."""
    from .anonymize.release import Release, key_sidecar
    from .anonymize.strategies import apply_strategies, parse_strategy
    from .io import read_population
    from .secrets import ReleaseKey

    chain = [parse_strategy(s) for s in strategy]
    if seed < 0:
        raise UsageError(f"Option `--seed` must be a non-negative integer. Got {seed} instead.")
    key = ReleaseKey.from_file(key_file) if key_file is not None else ReleaseKey.fresh()
    pop = _guard(lambda: read_population(input_path, table))
    rel = apply_strategies(Release.from_population(pop, table=table), chain, seed=seed, key=key)
    pub = rel.publish()
    truth_path = pub.write(out, truth, overwrite=overwrite)
    if not quiet:
        console = Console()
        console.print(f"[bold]Release[/bold] {out}  ({' → '.join(rel.steps) or 'tokens only'})")
        from rich.markup import escape

        for name, df in sorted(pub.tables.items()):
            console.print(f"  {name}.parquet  {len(df):,} rows  " + escape(f"[{', '.join(map(str, df.columns))}]"))
        if truth_path is None:
            console.print("No truth map: an aggregate has no person-level rows and no pseudonyms.")
        else:
            console.print(f"[bold]Truth map[/bold] (secret, keep it out of the release): {escape(str(truth_path))}")
        if pub.writes_key:
            console.print(f"[bold]Key[/bold] (secret, 256 bits; --key-file reproduces the release): "
                          f"{escape(str(key_sidecar(out)))}")
        else:
            console.print(f"Key: from {escape(str(key_file))} (not copied).")


@app.command()
def compare(
    input_path: Path = typer.Argument(..., metavar="DIR", help="A population directory (reidcheck generate)."),
    plan_path: Optional[Path] = typer.Option(None, "--plan", help="Plan TOML (default: a plan covering every "
                                                                 "strategy family; see README)."),
    json_path: Optional[str] = typer.Option(None, "--json", help="Write the comparison JSON to PATH, or stdout with '-'.",
                                            callback=_output_file),
    markdown_path: Optional[Path] = typer.Option(None, "--markdown", callback=_output_file,
                                                 help="Markdown table (default: beside --json, .md)."),
    png_path: Optional[Path] = typer.Option(None, "--png", help="Plot (default: beside --json, .png).",
                                            callback=_output_file),
    seed: int = typer.Option(0, "--seed"),
    table: str = typer.Option("cdr", "--table", help="Event table: cdr or pings."),
    engine: str = typer.Option("duckdb", "--engine", help="Engine: duckdb, or spark (pip install -e '.[spark]'; master from --spark-master)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, no terminal table."),
) -> None:
    """Every strategy of a plan × every attack that applies: a privacy–utility table (JSON, Markdown, PNG)."""
    from .compare import Plan, load_plan, run_comparison, write_outputs
    from .engine import get_engine
    from .io import read_population

    plan = load_plan(plan_path) if plan_path is not None else Plan()
    plan.validate()
    if seed < 0:
        raise UsageError(f"Option `--seed` must be a non-negative integer. Got {seed} instead.")
    if json_path and json_path != "-":
        base = Path(json_path)
        markdown_path = _output_file(markdown_path or base.with_suffix(".md"))
        png_path = _output_file(png_path or base.with_suffix(".png"))
    eng = get_engine(engine)
    pop = _guard(lambda: read_population(input_path, table))
    bar = _progress(len(plan.releases), "comparing", quiet or json_path == "-")
    if bar is not None:
        bar[0].start()
    try:
        comp = _guard(lambda: run_comparison(eng, pop, plan, seed=seed, table=table, input_name=str(input_path),
                                             progress=(lambda: bar[0].advance(bar[1])) if bar else None))
    finally:
        if bar is not None:
            bar[0].stop()
    write_outputs(comp, Path(json_path) if json_path and json_path != "-" else None, markdown_path, png_path)
    if json_path == "-":
        import json

        sys.stdout.write(json.dumps(comp.to_dict(), indent=2) + "\n")
        return
    if not quiet:
        from .summary import print_comparison

        print_comparison(comp)


@app.command()
def audit(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV/Parquet file or a directory of them."),
    config: Optional[Path] = typer.Option(None, "--config", "-c",
                                          help="Policy TOML (default: reidcheck.toml or [tool.reidcheck] in "
                                               "pyproject.toml, found from the current directory; else the "
                                               "default policy)."),
    json_path: Optional[str] = typer.Option(None, "--json", help="JSON report to PATH, or to stdout with '-'.",
                                            callback=_output_file),
    html: Optional[Path] = typer.Option(None, "--html", help="Self-contained HTML report.", callback=_output_file),
    sarif: Optional[Path] = typer.Option(None, "--sarif", help="SARIF 2.1.0 (GitHub code scanning).",
                                         callback=_output_file),
    junit: Optional[Path] = typer.Option(None, "--junit", help="JUnit XML: one test case per rule × table.",
                                         callback=_output_file),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Markdown summary.", callback=_output_file),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of every draw (overrides the policy's)."),
    judge_mode: Optional[str] = typer.Option(None, "--judge", help="upper (default) or value: judge rates on the "
                                                                   "upper end of their 95% interval or the estimate."),
    select: Optional[str] = typer.Option(None, "--select", help="Run only these rules (ids from `reidcheck rules`), comma-separated."),
    skip: Optional[str] = typer.Option(None, "--skip", help="Do not run these rules."),
    utc_offset: Optional[float] = typer.Option(None, "--utc-offset", help="Local time = UTC + hours (default: 5 "
                                                                          "for generated data, else 0)."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when the policy is violated."),
    engine: str = typer.Option("duckdb", "--engine", help="Engine: duckdb, or spark (pip install -e '.[spark]'; master from --spark-master)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, no terminal summary."),
) -> None:
    """Run the attacks that fit an export and judge them against a policy: exit 0 pass, 1 violated, 2 error."""
    from .audit import exit_code, run_audit, validate_policy_against
    from .engine import get_engine
    from .policy import load_policy
    from . import rules
    from .report import check_targets, write_all

    targets = {"json": json_path, "html": html, "sarif": sarif, "junit": junit, "markdown": markdown}
    check_targets(targets)
    policy = load_policy(config)
    if seed is not None:
        if seed < 0:
            raise UsageError(f"Option `--seed` must be a non-negative integer. Got {seed} instead.")
        policy.doc["seed"] = seed
    if judge_mode is not None:
        if judge_mode not in ("upper", "value"):
            raise UsageError(f"Option `--judge` must be upper or value. Got {judge_mode!r} instead.")
        policy.doc["judge"] = judge_mode
    for key, text in (("select", select), ("skip", skip)):
        if text:
            ids = [t.strip().upper() for t in text.split(",") if t.strip()]
            bad = [i for i in ids if i not in rules.ids()]
            if bad:
                raise UsageError(f"Option `--{key}` names unknown rule {bad[0]!r} (rules: {', '.join(rules.ids())}).")
            policy.doc[key] = ids
    validate_policy_against(policy)
    eng = get_engine(engine)
    show_progress = not quiet and json_path != "-"
    step, stop = _steps("auditing", not show_progress)
    try:
        report = _guard(lambda: run_audit(eng, input_path, policy, progress=step, utc_offset=utc_offset))
    finally:
        stop()
    write_all(report, targets)
    if json_path == "-":
        from .report.json_report import render_json

        sys.stdout.write(render_json(report))
    elif not quiet:
        from .summary import print_audit

        print_audit(report)
    if not exit_zero:
        code = exit_code(report)
        if code:
            raise Exit(code)


@app.command("rules")
def list_rules(json_out: bool = typer.Option(False, "--json", help="The registry as JSON on stdout.")) -> None:
    """The rule registry: id, name, title, the table kinds it applies to and its default threshold."""
    from . import rules

    if json_out:
        import json

        sys.stdout.write(json.dumps([r.to_dict() for r in rules.all_rules()], indent=2) + "\n")
        return
    from .summary import print_rules

    print_rules(rules.all_rules())


@app.command()
def bench(
    name: str = typer.Argument(..., metavar="NAME", help="demontjoye2013, farzanehfar2021, zangbolot2011, golle2009, "
                                                         "sweeney2000, hash-reversal, realdata, peers; all; or "
                                                         "results (regenerate RESULTS.md only)."),
    quick: bool = typer.Option(False, "--quick", help="Small sizes (what CI runs); figures are noisier."),
    seed: int = typer.Option(7, "--seed"),
    out: Path = typer.Option(Path("benchmarks/results"), "--out", callback=_output_dir,
                             help="Where NAME.json and NAME.png go (the default is relative to the current "
                                  "directory: the committed results when run from the source checkout); "
                                  "RESULTS.md goes beside a folder named results, else inside it."),
    cache: Path = typer.Option(Path("benchmarks/data"), "--cache",
                               help="Generated populations are kept here (relative to the current directory)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Reproduce a published re-identification result: NAME.json, NAME.png and a row in RESULTS.md."""
    from . import bench as benchmarks

    if seed < 0:
        raise UsageError(f"Option `--seed` must be a non-negative integer. Got {seed} instead.")
    names = list(benchmarks.BENCHMARKS) if name == "all" else ([] if name == "results" else [name])
    for n in names:
        benchmarks.get(n)
    log = (lambda msg: None) if quiet else (lambda msg: err_console.print(f"[dim]{msg}[/]"))
    for n in names:
        ctx = benchmarks.Context(quick=quick, seed=seed, out=out, cache=cache, log=log,
                                 shared_data=benchmarks.shared_data_dir())
        doc = benchmarks.run(n, ctx)
        if not quiet:
            console = Console()
            console.print(f"[bold]{doc['name']}[/] ({doc['elapsed_s']:.0f} s) → {out / (n + '.json')}")
            for r in doc["rows"]:
                console.print(f"  {r['quantity']}: ours {r['ours']} | published {r['published']} | {r['agreement']}")
    if not out.is_dir():
        raise UsageError(f"Results folder '{out}' does not exist.")
    path = benchmarks.write_results_md(out)
    if not quiet:
        Console().print(f"RESULTS: {path}")


attack_app = typer.Typer(no_args_is_help=True, help="Run one re-identification attack and report its result.")
app.add_typer(attack_app, name="attack")

_INPUT_HELP = "A population directory (uses its cdr table and cells) or a CSV/Parquet file."
_MAPPING_HELP = ("Columns of a non-canonical file: user=COL,time=COL and place=COL or lat=COL,lon=COL "
                 "[,time_unit=s|ms|us]; or a preset: gowalla.")


def _load(engine_name: str, input_path: Path, mapping: Optional[str], table: str, cells: Optional[Path],
          utc_offset: Optional[float]):
    from .engine import get_engine
    from .io import load_trajectories

    engine = get_engine(engine_name)
    inp = load_trajectories(engine, input_path, mapping, table=table, cells=cells, utc_offset_h=utc_offset)
    return engine, inp


def _emit(results, json_path: Optional[str], quiet: bool) -> None:
    """JSON to a file (written whole, then renamed) or to stdout (`-`, nothing else there); a table otherwise."""
    import json

    payload = [r.to_dict() for r in results]
    doc = payload[0] if len(payload) == 1 else payload
    text = json.dumps(doc, indent=2) + "\n"
    if json_path == "-":
        sys.stdout.write(text)
        return
    if json_path:
        from .io import write_text_atomic

        try:
            write_text_atomic(Path(json_path), text)
        except OSError as exc:
            raise UsageError(f"Cannot write JSON report '{json_path}': {exc.strerror or exc}.") from None
    if not quiet:
        from .summary import print_results

        print_results(results)


def _attack_once(attack, input_path, mapping, table, cells, utc_offset, engine, json_path, quiet) -> None:
    """Validate ``attack``, load the input, run, and emit the result."""
    attack.validate()
    eng, inp = _guard(lambda: _load(engine, input_path, mapping, table, cells, utc_offset))
    _emit([_guard(lambda: attack.run(eng, inp))], json_path, quiet)


def _guard(fn):
    """Run ``fn``; engine errors on bad input become one-line InputErrors."""
    try:
        return fn()
    except ReidcheckError:
        raise
    except Exception as exc:  # duckdb / arrow errors on malformed files
        name = type(exc).__module__.split(".")[0]
        if name in ("duckdb", "pyarrow", "_duckdb"):
            from .redact import scrub

            raise InputError(f"cannot process the input ({scrub(exc)}).") from None
        raise


_common = {
    "mapping": typer.Option(None, "--mapping", help=_MAPPING_HELP),
    "table": typer.Option("cdr", "--table", help="Table of a population directory: cdr or pings."),
    "cells": typer.Option(None, "--cells", help="Cells table (cell_id, lat, lon[, site_id, district, province])."),
    "utc_offset": typer.Option(None, "--utc-offset", help="Local time = UTC + this many hours "
                                                         "(default: 5 for generated populations, else 0)."),
    "json": typer.Option(None, "--json", help="Write the JSON result to PATH, or to stdout with '-'.",
                         callback=_output_file),
    "engine": typer.Option("duckdb", "--engine", help="Engine: duckdb, or spark (pip install -e '.[spark]'; master from --spark-master)."),
    "quiet": typer.Option(False, "--quiet", "-q", help="No terminal table."),
}


@attack_app.command("unicity")
def attack_unicity(
    input_path: Path = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    points: int = typer.Option(4, "--points", "-p", help="Points the adversary knows (1-10)."),
    time_bin: str = typer.Option("1h", "--time-bin", help="15min, 1h, 4h, 1d, 1w or how (hour of week)."),
    space: str = typer.Option("cell", "--space", help="cell, site, district, province or grid:<size>."),
    targets: str = typer.Option("10000", "--targets", help="Number of targets, or all."),
    seed: int = typer.Option(0, "--seed"),
    time_tolerance: int = typer.Option(0, "--time-tolerance", help="Adversary knows times within ± bins."),
    space_tolerance_km: float = typer.Option(0.0, "--space-tolerance-km", help="... and places within km."),
    mapping: Optional[str] = _common["mapping"], table: str = _common["table"],
    cells: Optional[Path] = _common["cells"], utc_offset: Optional[float] = _common["utc_offset"],
    json_path: Optional[str] = _common["json"], engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """de Montjoye unicity: share of targets singled out by POINTS known (time bin, place) points."""
    from .attacks import Unicity

    attack = Unicity(points=points, time_bin=time_bin, space=space, targets=targets, seed=seed,
                     time_tolerance=time_tolerance, space_tolerance_km=space_tolerance_km)
    _attack_once(attack, input_path, mapping, table, cells, utc_offset, engine, json_path, quiet)


@attack_app.command("unicity-curve")
def attack_unicity_curve(
    input_path: Path = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    max_points: int = typer.Option(5, "--max-points", help="ε_p for p = 1..this."),
    resolution: list[str] = typer.Option(["1h,cell"], "--resolution",
                                         help="TIME_BIN,SPACE; repeat for several (e.g. --resolution 1d,district)."),
    targets: str = typer.Option("10000", "--targets", help="Number of targets, or all."),
    seed: int = typer.Option(0, "--seed"),
    mapping: Optional[str] = _common["mapping"], table: str = _common["table"],
    cells: Optional[Path] = _common["cells"], utc_offset: Optional[float] = _common["utc_offset"],
    json_path: Optional[str] = _common["json"], engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Unicity ε_p for p = 1..MAX_POINTS at several resolutions, reusing one index per resolution."""
    from .attacks import UnicityCurve

    pairs = []
    for r in resolution:
        tb, _, sp = r.partition(",")
        if not sp:
            raise UsageError(f"Option `--resolution` must be TIME_BIN,SPACE (e.g. 1h,cell). Got {r!r} instead.")
        pairs.append((tb.strip(), sp.strip()))
    attack = UnicityCurve(max_points=max_points, resolutions=tuple(pairs), targets=targets, seed=seed)
    attack.validate()
    eng, inp = _guard(lambda: _load(engine, input_path, mapping, table, cells, utc_offset))
    _emit(_guard(lambda: attack.run(eng, inp)), json_path, quiet)


@attack_app.command("topn")
def attack_topn(
    input_path: Path = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    n: int = typer.Option(2, "--n", help="Top-N places (1-3)."),
    space: str = typer.Option("cell", "--space", help="cell, site, district, province or grid:<size>."),
    ordered: bool = typer.Option(False, "--ordered", help="Compare the ranked tuple instead of the set."),
    mapping: Optional[str] = _common["mapping"], table: str = _common["table"],
    cells: Optional[Path] = _common["cells"], utc_offset: Optional[float] = _common["utc_offset"],
    json_path: Optional[str] = _common["json"], engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Zang & Bolot: anonymity sets of each user's top-N places."""
    from .attacks import TopN

    attack = TopN(n=n, space=space, ordered=ordered)
    _attack_once(attack, input_path, mapping, table, cells, utc_offset, engine, json_path, quiet)


@attack_app.command("homework")
def attack_homework(
    input_path: Path = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    space: str = typer.Option("cell", "--space", help="cell, site, district, province or grid:<size>."),
    workdays: str = typer.Option("0-4", "--workdays", help="Workdays, Monday = 0 (e.g. 0-4, 0-5)."),
    mapping: Optional[str] = _common["mapping"], table: str = _common["table"],
    cells: Optional[Path] = _common["cells"], utc_offset: Optional[float] = _common["utc_offset"],
    json_path: Optional[str] = _common["json"], engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Golle & Partridge: anonymity set of each user's (home, work) pair."""
    from .attacks import HomeWork

    attack = HomeWork(space=space, workdays=workdays)
    _attack_once(attack, input_path, mapping, table, cells, utc_offset, engine, json_path, quiet)


def _table_check(attack, input_path: Path, delimiter: Optional[str], engine: str, json_path, quiet) -> None:
    from .attacks.inputs import TableInput
    from .engine import get_engine
    from .io import load_table

    attack.validate()
    eng = get_engine(engine)
    info = _guard(lambda: load_table(eng, input_path, delimiter=delimiter))
    _emit([_guard(lambda: attack.run(eng, TableInput.loaded(info, "tbl")))], json_path, quiet)


_QI = typer.Option(..., "--qi", help="Quasi-identifier columns, comma-separated.")
_SENSITIVE = typer.Option(..., "--sensitive", help="The sensitive attribute's column.")
_DELIM = typer.Option(None, "--delimiter", help="CSV delimiter (detected when omitted).")


@attack_app.command("kanon")
def attack_kanon(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV or Parquet table."),
    qi: str = _QI, k: int = typer.Option(5, "--k", help="Classes smaller than this count as violations."),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """k-anonymity: smallest equivalence class, records below k, prosecutor/journalist/marketer risk."""
    from .attacks.tabular import KAnonymity

    _table_check(KAnonymity(qi=qi, k=k), input_path, delimiter, engine, json_path, quiet)


@attack_app.command("ldiv")
def attack_ldiv(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV or Parquet table."),
    qi: str = _QI, sensitive: str = _SENSITIVE,
    l_value: float = typer.Option(2, "--l", help="Classes below this l count as violations."),
    variant: str = typer.Option("distinct", "--variant", help="distinct, entropy or recursive."),
    c: float = typer.Option(2.0, "--c", help="c of recursive (c, l)-diversity."),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """l-diversity of the sensitive attribute within each equivalence class."""
    from .attacks.tabular import LDiversity

    _table_check(LDiversity(qi=qi, sensitive=sensitive, l=l_value, variant=variant, c=c), input_path, delimiter,
                 engine, json_path, quiet)


@attack_app.command("tclose")
def attack_tclose(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV or Parquet table."),
    qi: str = _QI, sensitive: str = _SENSITIVE,
    t: float = typer.Option(0.2, "--t", help="Classes farther than this count as violations."),
    ordered: Optional[bool] = typer.Option(None, "--ordered/--categorical",
                                           help="Ordered EMD or equal distance (default: ordered if numeric)."),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """t-closeness: distance of each class's sensitive distribution from the table's."""
    from .attacks.tabular import TCloseness

    _table_check(TCloseness(qi=qi, sensitive=sensitive, t=t, ordered=ordered), input_path, delimiter, engine,
                 json_path, quiet)


@attack_app.command("risk")
def attack_risk(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV or Parquet table (a sample)."),
    qi: str = _QI,
    sampling_fraction: float = typer.Option(1.0, "--sampling-fraction", help="Sample size / population size."),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Population uniqueness (Zayatz, Pitman, SNB; Dankar's rule) and prosecutor risk."""
    from .attacks.tabular import PopulationRisk

    _table_check(PopulationRisk(qi=qi, sampling_fraction=sampling_fraction), input_path, delimiter, engine,
                 json_path, quiet)


@attack_app.command("hash-reversal")
def attack_hash_reversal(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV or Parquet table with pseudonyms."),
    column: str = typer.Option(..., "--column", help="The pseudonym column."),
    prefixes: str = typer.Option("300-309,320-329", "--prefixes",
                                 help="Mobile prefixes to enumerate: list or ranges (default: Jazz's)."),
    serials: str = typer.Option("0-9999999", "--serials", help="Serial range LO-HI (inclusive) within a prefix."),
    kind: str = typer.Option("msisdn", "--kind", help="msisdn, or cnic (then give --heads)."),
    heads: Optional[str] = typer.Option(None, "--heads", help="CNIC 5-digit heads to enumerate, e.g. 35202,35201."),
    forms: Optional[str] = typer.Option(None, "--forms",
                                        help="Written forms: e164,intl,national (msisdn) or dashed,plain (cnic)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes (default: up to 2 cores)."),
    reveal: bool = typer.Option(False, "--reveal", help="Put the reversed numbers in the JSON (personal data!)."),
    compare: Optional[Path] = typer.Option(None, "--compare",
                                           help="A second release (same column): are pseudonyms stable across them?"),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Reverse unsalted MD5/SHA-1/SHA-256 pseudonyms of phone numbers (or CNICs of given areas) by enumeration."""
    import warnings

    from .attacks.inputs import PseudonymInput
    from .attacks.pseudonyms import HashReversal
    from .engine import get_engine
    from .errors import PrivacyLeakWarning
    from .io import load_table

    def ranges(text: str, name: str, limit: int) -> list[tuple[int, int]]:
        """``300-309,320`` → [(300, 309), (320, 320)], bounds checked before anything is enumerated."""
        out = []
        try:
            for part in text.split(","):
                a, _, b = part.strip().partition("-")
                lo, hi = int(a), int(b or a)
                if not 0 <= lo <= hi <= limit:
                    raise ValueError
                out.append((lo, hi))
        except ValueError:
            raise UsageError(f"Option `--{name}` must be numbers or ranges LO-HI with 0 <= LO <= HI <= {limit:,} "
                             f"(e.g. 300-309,320). Got {text[:40]!r} instead.") from None
        return out

    lo_hi = ranges(serials, "serials", 9_999_999)
    if len(lo_hi) != 1:
        raise UsageError("Option `--serials` takes one range LO-HI.")
    pfx = sorted({p for lo, hi in ranges(prefixes, "prefixes", 999) for p in range(lo, hi + 1)})
    attack = HashReversal(prefixes=tuple(pfx) if kind == "msisdn" else (),
                          forms=tuple(f.strip() for f in forms.split(",")) if forms else None,
                          serial_lo=lo_hi[0][0], serial_hi=lo_hi[0][1] + 1, workers=workers, kind=kind,
                          heads=tuple(h.strip() for h in heads.split(",")) if heads else (), reveal=reveal)
    attack.validate()
    eng = get_engine(engine)
    info = _guard(lambda: load_table(eng, input_path, delimiter=delimiter))
    def pseudonyms(relation: str, source: str) -> list:
        if column not in eng.columns(relation):
            raise InputError(f"File '{source}': column '{column}' not found.")
        return eng.query(f"SELECT DISTINCT CAST({eng.quote(column)} AS STRING) AS p FROM {relation}")["p"].dropna().tolist()

    values = _guard(lambda: pseudonyms("tbl", info["file"]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PrivacyLeakWarning)
        result = attack.run(eng, PseudonymInput.of(values, source=str(info["file"])))
    leaks = [str(w.message) for w in caught if issubclass(w.category, PrivacyLeakWarning)]
    for w in caught:
        if not issubclass(w.category, PrivacyLeakWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if compare is not None:
        from dataclasses import replace

        from .attacks.pseudonyms import linkability

        other = _guard(lambda: load_table(eng, compare, delimiter=delimiter, relation="tbl2"))
        link = linkability(values, _guard(lambda: pseudonyms("tbl2", other["file"])))
        result = replace(result, extra={**result.extra, "linkability": link})
    _emit([result], json_path, quiet)
    for message in leaks:   # once the output is written: one line on stderr, never a traceback
        print(f"reidcheck: warning: {message}", file=sys.stderr)


@attack_app.command("linkage")
def attack_linkage(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="The release: a CSV or Parquet table."),
    auxiliary: Path = typer.Option(..., "--auxiliary", help="The outsider's table (identities + shared QIs)."),
    qi: str = _QI,
    release_id: str = typer.Option("pid", "--release-id", help="The release's pseudonym column."),
    target_id: str = typer.Option("subscriber_id", "--target-id", help="The auxiliary table's identity column."),
    truth: Optional[Path] = typer.Option(None, "--truth", help="Truth map (columns pid, uid) to score correctness."),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Link an auxiliary table to a release on shared QIs (ranges and * in the release are honoured)."""
    from .attacks.linkage import Linkage
    from .engine import get_engine
    from .io import load_table

    attack = Linkage(qi=qi, release_id=release_id, target_id=target_id)
    attack.validate()
    eng = get_engine(engine)

    def frame(path: Path):
        load_table(eng, path, delimiter=delimiter, relation="__frame")
        return eng.query("SELECT * FROM __frame")

    rel = _guard(lambda: frame(input_path))
    aux = _guard(lambda: frame(auxiliary))
    tr = _guard(lambda: frame(truth)) if truth is not None else None
    if tr is not None and not {"pid", "uid"} <= set(tr.columns):
        raise InputError(f"File '{truth}': the truth map needs columns 'pid' and 'uid'.")
    _emit([_guard(lambda: attack.run(eng, rel, knowledge=aux, truth=tr))], json_path, quiet)


@attack_app.command("travel")
def attack_travel(
    input_path: Path = typer.Argument(..., metavar="INPUT",
                                      help="Trips (columns pid, country, month) or a population directory."),
    known_trips: int = typer.Option(1, "--known-trips", help="Trips the adversary knows (1-10)."),
    targets: str = typer.Option("all", "--targets", help="Number of targets, or all."),
    seed: int = typer.Option(0, "--seed"),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Uniqueness of travellers given some of their trips (country, month)."""
    from .attacks import TravelLinkage
    from .engine import get_engine
    from .io import load_table, resolve_input

    attack = TravelLinkage(known_trips=known_trips, targets=targets, seed=seed)
    attack.validate()
    eng = get_engine(engine)
    path = input_path
    if input_path.is_dir():
        path, _, _ = resolve_input(input_path, "travel")
    _guard(lambda: load_table(eng, path, delimiter=delimiter, relation="__trips"))
    cols = set(eng.columns("__trips"))
    if {"subscriber_id", "depart_date", "country"} <= cols:
        sql = "SELECT CAST(subscriber_id AS STRING) AS pid, country, CAST(depart_date AS STRING) AS month FROM __trips"
    elif {"pid", "country", "month"} <= cols:
        sql = "SELECT pid, country, month FROM __trips"
    else:
        raise InputError(f"File '{path}': a trips table needs columns pid, country, month.")
    trips = eng.query(sql)
    _emit([_guard(lambda: attack.run(eng, trips))], json_path, quiet)


class _Interrupts:
    """While a command runs, remember a Ctrl-C: engines turn it into their own errors (DuckDB raises
    InterruptException or a RuntimeError mid-query), and any error after one is still exit 130."""

    def __init__(self):
        self.seen, self._previous = False, None

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)

            def handler(signum, frame):
                self.seen = True
                signal.default_int_handler(signum, frame)

            signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc):
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code (errors are one line on stderr)."""
    with _Interrupts() as interrupts:
        code = _main(argv, interrupts)
    return code


def _interrupted() -> int:
    print("reidcheck: interrupted; nothing was written", file=sys.stderr)
    return 130


def _main(argv, interrupts: "_Interrupts") -> int:
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="reidcheck", standalone_mode=False)
        if isinstance(rv, int):   # typer.Exit raised inside a command comes back as its code
            return _interrupted() if rv == 130 or interrupts.seen else rv
    except ReidcheckError as exc:
        from .redact import one_line

        if interrupts.seen:
            return _interrupted()

        print(f"reidcheck: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except Exit as exc:
        return exc.exit_code
    except (Abort, KeyboardInterrupt):
        return _interrupted()
    except TyperException as exc:  # argument parsing: bad option, missing value, wrong type
        message = exc.format_message()
        if message:  # an empty message follows the help text shown for a bare `reidcheck`
            from .redact import one_line

            print(f"reidcheck: error: {one_line(message)}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        return _interrupted() if interrupts.seen else _unexpected(exc)
    return 0


def _unexpected(exc: BaseException) -> int:
    """One line for an error the code did not foresee: its type and where it was raised, never its
    message (which may quote a record value). ``REIDCHECK_DEBUG=1`` shows the traceback instead."""
    import os
    import traceback

    if type(exc).__name__ == "InterruptException":   # DuckDB's form of Ctrl-C
        return _interrupted()
    if isinstance(exc, MemoryError):
        print("reidcheck: error: out of memory; try a smaller input or fewer targets.", file=sys.stderr)
        return 2
    if os.environ.get("REIDCHECK_DEBUG"):
        traceback.print_exception(exc)
        return 2
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" in {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    print(f"reidcheck: error: internal error ({type(exc).__name__}{where}); please report it "
          "(REIDCHECK_DEBUG=1 shows the traceback).", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
