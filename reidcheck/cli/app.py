"""The typer application and its global options (``reidcheck --spark-master``, ``--verbose``)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console

def _flag_shows_no_type() -> None:
    """A flag (``--quiet``, ``--help``) takes no value, so help shows no ``<bool>`` beside it: typer's
    rich help prints every option's value type, flags included, and has no setting against it."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_reidcheck", False):
        return

    def display_type_rich(self, ctx):
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._reidcheck = True
    TyperOption.display_type_rich = display_type_rich


_flag_shows_no_type()
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
