"""What every command shares: option callbacks that validate before any work, progress on stderr,
engine errors as one line, and JSON / terminal output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from ..errors import InputError, ReidcheckError, UsageError

from .app import err_console


def _output_file(value):
    """Option callback: an output file path is validated when the command line is parsed, before any
    work (``-`` is stdout)."""
    if value is not None and str(value) != "-":
        from ..io import check_output

        check_output(Path(value))
    return value


def _output_dir(value):
    """Option callback: an output directory must not be an existing file or device."""
    if value is not None:
        from ..io import check_output

        check_output(Path(value), directory=True)
    return value


def _seed(value):
    """Option callback: a seed is a non-negative integer."""
    if value is not None and value < 0:
        raise UsageError(f"Parameter `seed` (--seed) must be a non-negative integer. Got {value} instead.")
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


def _guard(fn):
    """Run ``fn``; engine errors on bad input become one-line InputErrors."""
    try:
        return fn()
    except ReidcheckError:
        raise
    except Exception as exc:  # duckdb / arrow errors on malformed files
        name = type(exc).__module__.split(".")[0]
        if name in ("duckdb", "pyarrow", "_duckdb"):
            from ..redact import scrub

            raise InputError(f"cannot process the input ({scrub(exc)}).") from None
        raise


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
        from ..io import write_files

        write_files({Path(json_path): text})      # an OSError is one UsageError naming the file there
    if not quiet:
        from ..summary import print_results

        print_results(results)
