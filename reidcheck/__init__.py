"""reidcheck: how easily can the people in an 'anonymized' telecom data export be re-identified?"""

from .errors import InputError, PrivacyLeakWarning, ReidcheckError, UsageError

__all__ = ["InputError", "PrivacyLeakWarning", "ReidcheckError", "UsageError"]
