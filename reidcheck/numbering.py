"""Pakistan's mobile numbering plan: the written forms of a number.

A number is ``+92 3XY NNNNNNN``; exports write it as ``+923001234567`` (e164), ``923001234567``
(intl) or ``03001234567`` (national).
"""

from __future__ import annotations

FORMS = ("e164", "intl", "national")
LEADS = {"e164": "+92", "intl": "92", "national": "0"}
#: The national mobile numbering plan: the prefixes 3XY of every operator, each with ``PLAN_SERIALS``
#: 7-digit serials (5.3·10⁸ numbers in each written form).
PLAN_PREFIXES = tuple(range(300, 350)) + (355, 370, 371)
PLAN_SERIALS = 10_000_000


def render(prefix: int, serial: int, form: str) -> str:
    """One number (prefix 3XY, 7-digit serial) in one written form."""
    return f"{LEADS[form]}{int(prefix):03d}{int(serial):07d}"


def written(msisdn: str, form: str) -> str:
    """An E.164 number (``+923…``) in another written form."""
    digits = str(msisdn).lstrip("+")
    return render(int(digits[2:5]), int(digits[5:]), form)


def to_e164(text: str) -> str:
    """Any of the written forms back to E.164."""
    digits = text.lstrip("+")
    if digits.startswith("0"):
        digits = "92" + digits[1:]
    return "+" + digits
