"""Errors that know their exit code, and privacy-relevant warnings.

Messages name the parameter, file, column or row and what is allowed; they never carry record
values (phone numbers, ID numbers, names).
"""

from __future__ import annotations


class ReidcheckError(Exception):
    """Base error: a one-line message for the user and the process exit code."""

    exit_code = 2


class UsageError(ReidcheckError):
    """Bad arguments or options (exit code 2)."""


class InputError(ReidcheckError):
    """Unreadable or malformed input data (exit code 2)."""


class PrivacyLeakWarning(UserWarning):
    """A setting or result that exposes people more than the user may expect."""
