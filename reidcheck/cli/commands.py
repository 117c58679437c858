"""The top-level commands: generate, demo, anonymize, compare, audit, rules, bench."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from typer.exceptions import Exit

from ..errors import UsageError

from .app import app, err_console
from .common import _guard, _output_dir, _output_file, _progress, _seed


@app.command()
def generate(
    subscribers: int = typer.Option(..., "--subscribers", "-n", help="Number of subscribers (≥ 1)."),
    days: int = typer.Option(..., "--days", "-d", help="Length of the window in days (≥ 1)."),
    seed: int = typer.Option(0, "--seed", callback=_seed, help="Seed of every random draw (same seed, same bytes)."),
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

    from ..summary import print_summary

    validate_params(subscribers, days, seed, sites, travel_rate, chunk_size, workers)
    with _progress(-(-subscribers // BLOCK), "generating", quiet) as bar:       # one unit: a block of subscribers
        manifest = write_population(out, subscribers, days, seed, start, fmt=fmt, sites=sites,
                                    travel_rate=travel_rate, chunk_size=chunk_size, workers=workers,
                                    overwrite=overwrite, progress=bar.advance if bar.active else None)
    if not quiet:
        print_summary(out, manifest)


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", "-o", help="Where to write everything.",
                             callback=_output_dir),
    subscribers: int = typer.Option(5000, "--subscribers", "-n", help="Subscribers of the generated population."),
    days: int = typer.Option(14, "--days", "-d", help="Days of records."),
    seed: int = typer.Option(7, "--seed", callback=_seed,
                             help="Seed of the population and of every release (their keys derive from it)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress and no terminal tables."),
) -> None:
    """The main job: generate a population, release it four ways (naive hash → aggregation), compare
    privacy and utility, audit each release, write report.html.

    Re-running replaces an earlier demo in --out; any other non-empty directory is refused."""
    import time

    from synthetic.population import validate_params

    from ..demo import DEMO_RELEASES, run_demo, steps
    from ..summary import print_comparison

    validate_params(subscribers, days, seed)
    t0 = time.perf_counter()
    console = Console(width=None if sys.stdout.isatty() else 160)
    with _progress(len(steps()), "demo", quiet) as bar:
        res = _guard(lambda: run_demo(out, subscribers, days, seed, progress=bar.step if bar.active else None))
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
    strategy: list[str] = typer.Option(..., "--strategy", "-s", metavar="SPEC",
                                       help="NAME[:k=v,...], repeatable, applied in order: hash, hmac, token, "
                                            "rotate, generalize-space, generalize-time, generalize-qi, suppress, "
                                            "topn, geo-noise, jitter, subsample, kanon, aggregate, drop."),
    seed: int = typer.Option(0, "--seed", callback=_seed, help="Seed mixed with the key into every random draw (public: the same "
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
    from ..anonymize.release import Release, key_sidecar
    from ..anonymize.strategies import apply_strategies, parse_strategy
    from ..io import read_population
    from ..secrets import ReleaseKey

    chain = [parse_strategy(s) for s in strategy]
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
    seed: int = typer.Option(0, "--seed", callback=_seed,
                             help="Seed of every release's key and of the targets (nothing compare writes is a real "
                                  "release)."),
    table: str = typer.Option("cdr", "--table", help="Event table: cdr or pings."),
    engine: str = typer.Option("duckdb", "--engine", help="Engine: duckdb, or spark (pip install -e '.\\[spark]'; master from --spark-master)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, no terminal table."),
) -> None:
    """Every strategy of a plan × every attack that applies: a privacy–utility table (JSON, Markdown, PNG)."""
    from ..compare import Plan, load_plan, run_comparison, write_outputs
    from ..engine import get_engine
    from ..io import read_population

    plan = load_plan(plan_path) if plan_path is not None else Plan()
    plan.validate()
    if json_path and json_path != "-":
        base = Path(json_path)
        markdown_path = _output_file(markdown_path or base.with_suffix(".md"))
        png_path = _output_file(png_path or base.with_suffix(".png"))
    eng = get_engine(engine)
    with _progress(len(plan.releases), "reading the population", quiet or json_path == "-") as bar:
        pop = _guard(lambda: read_population(input_path, table))
        comp = _guard(lambda: run_comparison(eng, pop, plan, seed=seed, table=table, input_name=str(input_path),
                                             progress=bar.update if bar.active else None))
    write_outputs(comp, Path(json_path) if json_path and json_path != "-" else None, markdown_path, png_path)
    if json_path == "-":
        import json

        sys.stdout.write(json.dumps(comp.to_dict(), indent=2) + "\n")
        return
    if not quiet:
        from ..summary import print_comparison

        print_comparison(comp)


@app.command()
def audit(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV/Parquet file or a directory of them."),
    config: Optional[Path] = typer.Option(None, "--config", "-c",
                                          help="Policy TOML (default: reidcheck.toml or \\[tool.reidcheck] in "
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
    seed: Optional[int] = typer.Option(None, "--seed", callback=_seed, help="Seed of every draw (overrides the policy's)."),
    judge_mode: Optional[str] = typer.Option(None, "--judge", help="upper (default) or value: judge rates on the "
                                                                   "upper end of their 95% interval or the estimate."),
    select: Optional[str] = typer.Option(None, "--select", help="Run only these rules (ids from `reidcheck rules`), comma-separated."),
    skip: Optional[str] = typer.Option(None, "--skip", help="Do not run these rules."),
    utc_offset: Optional[float] = typer.Option(None, "--utc-offset", help="Local time = UTC + hours (default: 5 "
                                                                          "for generated data, else 0)."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when the policy is violated."),
    engine: str = typer.Option("duckdb", "--engine", help="Engine: duckdb, or spark (pip install -e '.\\[spark]'; master from --spark-master)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, no terminal summary."),
) -> None:
    """Run the attacks that fit an export and judge them against a policy: exit 0 pass, 1 violated, 2 error."""
    from ..audit import exit_code, run_audit, validate_policy_against
    from ..engine import get_engine
    from ..policy import load_policy
    from .. import rules
    from ..report import check_targets, write_all

    targets = {"json": json_path, "html": html, "sarif": sarif, "junit": junit, "markdown": markdown}
    check_targets(targets)
    policy = load_policy(config)
    if seed is not None:
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
    with _progress(None, "auditing", quiet or json_path == "-") as bar:       # the total: once headers are read
        report = _guard(lambda: run_audit(eng, input_path, policy, progress=bar.update if bar.active else None,
                                          utc_offset=utc_offset))
    write_all(report, targets)
    if json_path == "-":
        from ..report.json_report import render_json

        sys.stdout.write(render_json(report))
    elif not quiet:
        from ..summary import print_audit

        print_audit(report)
    if not exit_zero:
        code = exit_code(report)
        if code:
            raise Exit(code)


@app.command("rules")
def list_rules(json_out: bool = typer.Option(False, "--json", help="The registry as JSON on stdout."),
               markdown: bool = typer.Option(False, "--markdown", help="The registry as the README's Markdown table.")
               ) -> None:
    """The rule registry: id, name, title, the table kinds it applies to and its default threshold."""
    from .. import rules

    if markdown:
        from ..summary import rules_markdown

        sys.stdout.write(rules_markdown(rules.all_rules()))
        return
    if json_out:
        import json

        sys.stdout.write(json.dumps([r.to_dict() for r in rules.all_rules()], indent=2) + "\n")
        return
    from ..summary import print_rules

    print_rules(rules.all_rules())


@app.command()
def bench(
    name: str = typer.Argument(..., metavar="NAME", help="demontjoye2013, farzanehfar2021, zangbolot2011, golle2009, "
                                                         "sweeney2000, hash-reversal, realdata, peers, "
                                                         "profile-linkage, profile-scale, xu2017, pyrgelis2018, "
                                                         "callgraph-gap; all; or results (regenerate RESULTS.md "
                                                         "only)."),
    quick: bool = typer.Option(False, "--quick", help="Small sizes (what CI runs); figures are noisier."),
    seed: int = typer.Option(7, "--seed", callback=_seed, help="Seed of the generated populations and releases."),
    out: Path = typer.Option(Path("benchmarks/results"), "--out", callback=_output_dir,
                             help="Where NAME.json and NAME.png go (the default is relative to the current "
                                  "directory: the committed results when run from the source checkout); "
                                  "RESULTS.md goes beside a folder named results, else inside it."),
    cache: Path = typer.Option(Path("benchmarks/data"), "--cache",
                               help="Generated populations are kept here (relative to the current directory)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress and no per-figure lines."),
) -> None:
    """Reproduce a published re-identification result: NAME.json, NAME.png and a row in RESULTS.md."""
    from .. import bench as benchmarks

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
