"""reidcheck: how easily can the people in an 'anonymized' telecom data export be re-identified?"""

from importlib.metadata import PackageNotFoundError, version

from .errors import InputError, PrivacyLeakWarning, ReidcheckError, UsageError

try:
    __version__ = version("reidcheck")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"

__all__ = ["InputError", "PrivacyLeakWarning", "ReidcheckError", "UsageError", "__version__"]
