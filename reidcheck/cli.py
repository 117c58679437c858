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

from .errors import ReidcheckError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Measure how easily people in an 'anonymized' telecom export can be re-identified.")
err_console = Console(stderr=True)


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
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (created; must be empty)."),
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
    out: Path = typer.Option(Path("demo-output"), "--out", "-o", help="Where to write the population."),
    subscribers: int = typer.Option(5000, "--subscribers", "-n"),
    days: int = typer.Option(14, "--days", "-d"),
    seed: int = typer.Option(7, "--seed"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """The main job: generate a default population and summarize it (grows into the full audit demo).

    Re-running replaces an earlier demo population in ``--out``; any other non-empty directory is refused.
    """
    previous = (out / "population.json").is_file()
    generate(subscribers=subscribers, days=days, seed=seed, out=out, fmt="parquet", start="2025-01-06",
             sites=None, travel_rate=0.03, workers=None, chunk_size=None, overwrite=previous, quiet=quiet)


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code (errors are one line on stderr)."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="reidcheck", standalone_mode=False)
    except ReidcheckError as exc:
        print(f"reidcheck: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exit as exc:
        return exc.exit_code
    except Abort:
        print("reidcheck: aborted", file=sys.stderr)
        return 130
    except TyperException as exc:  # argument parsing: bad option, missing value, wrong type
        message = exc.format_message()
        if message:  # an empty message follows the help text shown for a bare `reidcheck`
            print(f"reidcheck: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
