"""Linkage rules: an outsider's table joined to the release on shared quasi-identifiers."""

from __future__ import annotations

from . import declare

QI_LINKAGE = declare(
    id="RC401", name="linkage", title="Share of auxiliary records linked to exactly one release record",
    attack="linkage", metric="unique_rate", threshold=0.05,
    adversary="holds another table of named people with some of the release's quasi-identifiers",
    help="`reidcheck attack linkage`: each auxiliary record is matched to the release records compatible with "
         "its QIs (ranges and * honoured); it is linked when exactly one matches. It needs the outsider's table, "
         "so the audit does not run it.")
