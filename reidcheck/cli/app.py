"""The typer application and its global options (``reidcheck --spark-master``, ``--verbose``)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console

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
