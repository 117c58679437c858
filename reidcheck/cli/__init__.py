"""The ``reidcheck`` command line: parses arguments, calls the library, renders results.

Exit codes: 0 success, 1 policy violated (audit), 2 usage or input error, 130 interrupted. Errors are one
line on stderr (``reidcheck: error: ...``); stdout carries only the requested output.
"""

from . import attack, commands  # noqa: F401  (they register their commands on the app)
from .app import app
from .run import main

__all__ = ["app", "main"]
