"""``python -m reidcheck.cli``: the console script."""

from .run import console

console()
