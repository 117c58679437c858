"""The console entry point: exit codes 0/1/2/130, errors as one line, Ctrl-C, the last line of defence."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..errors import ReidcheckError

from typer.exceptions import Abort, Exit, TyperException

from .app import app


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


def console() -> None:
    """The ``reidcheck`` executable (and ``python -m reidcheck.cli``): ``main`` as the process's exit
    code. After a Ctrl-C the process leaves at once with 130 (output flushed, everything already
    cleaned up by ``main``), so that nothing still pending at interpreter shutdown (a worker thread
    of the hash kernel, a second signal) can turn it into death by SIGINT."""
    import os

    code = main()
    if code == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(code)


def _interrupted() -> int:
    print("reidcheck: interrupted; nothing was written", file=sys.stderr)
    return 130


def _main(argv, interrupts: "_Interrupts") -> int:
    try:
        command = typer.main.get_command(app)    # inside: a Ctrl-C while the commands are built is one line too
        rv = command.main(args=argv, prog_name="reidcheck", standalone_mode=False)
        if isinstance(rv, int):   # typer.Exit raised inside a command comes back as its code
            return _interrupted() if rv == 130 or interrupts.seen else rv
    except ReidcheckError as exc:
        from ..redact import one_line

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
            from ..redact import one_line

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
