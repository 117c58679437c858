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


def _interactive() -> bool:
    """Whether stderr is a terminal: progress is drawn only there (never in a pipe, file or CI log)."""
    return sys.stderr.isatty()


class _Bar:
    """A transient progress bar on stderr, or nothing at all (``active`` False): built by ``_progress``
    only. Used as a context manager; its methods are the library's progress callbacks."""

    def __init__(self, progress=None, label: str = "", total=None):
        self._progress = progress
        self._task = progress.add_task(label, total=total) if progress is not None else None
        self._steps = 0

    @property
    def active(self) -> bool:
        return self._progress is not None

    def __enter__(self) -> "_Bar":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc) -> bool:
        if self._progress is not None:
            self._progress.stop()
        return False

    def advance(self, n: int = 1) -> None:
        """One more unit done (``write_population``'s callback: one block of subscribers)."""
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, done: int, total, label=None) -> None:
        """``done`` of ``total`` units finished, ``label`` the one under way (the callback of
        ``run_audit``, ``run_comparison`` and ``UnicityCurve.run``)."""
        if self._progress is not None:
            fields = {"completed": done, "total": total}
            if label is not None:
                fields["description"] = label
            self._progress.update(self._task, **fields)

    def step(self, label: str) -> None:
        """The next of a known list of steps starts (``run_demo``'s callback): the ones before are done."""
        if self._progress is not None:
            self._progress.update(self._task, completed=self._steps, description=label)
            self._steps += 1


def _time_remaining_column():
    from rich.progress import TimeRemainingColumn
    from rich.text import Text

    class TimeRemaining(TimeRemainingColumn):
        """The time left, from the mean time per unit since the start: rich's own estimate looks at the
        last 30 s only, and has nothing to say when one unit (a rule, a release) takes minutes."""

        def render(self, task) -> Text:
            if task.total is None:
                return Text("")
            if not task.finished and not (task.completed and task.elapsed):
                return Text("eta -:--:--", style="progress.remaining")
            left = 0 if task.finished else int(task.elapsed / task.completed * max(task.total - task.completed, 0))
            minutes, seconds = divmod(left, 60)
            hours, minutes = divmod(minutes, 60)
            return Text(f"eta {hours:d}:{minutes:02d}:{seconds:02d}", style="progress.remaining")

    return TimeRemaining()


def _progress(total, label: str, quiet: bool) -> _Bar:
    """The one place a progress bar is built: what is under way, the bar, done/total, time elapsed and
    estimated time remaining; on stderr, transient (erased when done), never touching stdout. Inactive
    (it prints nothing) with --quiet or when stderr is not a terminal. ``total`` None: not known yet."""
    if quiet or not _interactive():
        return _Bar()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}", style="progress.description", markup=False), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), _time_remaining_column(), console=err_console,
                   transient=True, redirect_stdout=False)
    return _Bar(bar, label, total)


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
