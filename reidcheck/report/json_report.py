"""The report dictionary as JSON, and its validation against ``schema/audit-report.schema.json``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "audit-report.schema.json"


def _plain(obj):
    """JSON form of NumPy scalars and arrays (anything with ``tolist``); anything else is an error."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def render_json(report: dict) -> str:
    """``report`` as UTF-8 JSON text: indented by 2, keys in insertion order, one trailing newline."""
    return json.dumps(report, indent=2, ensure_ascii=False, default=_plain) + "\n"


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate(report: dict) -> None:
    """Raise ``ValueError`` naming the JSON path of the first error when ``report`` breaks the schema.

    Errors are ordered by their path in the document, so the first one is the same on every run.
    Needs jsonschema (the ``dev`` extra); without it a ``RuntimeError`` says so.
    """
    try:
        from jsonschema.exceptions import best_match
    except ImportError as exc:
        raise RuntimeError("Validating a report needs jsonschema: install the `dev` extra "
                           "(pip install 'reidcheck[dev]').") from exc
    errors = sorted(_validator().iter_errors(report),
                    key=lambda e: [(isinstance(p, str), p) for p in e.absolute_path])
    if errors:
        err = best_match(errors[:1])  # descends into oneOf/anyOf for the most specific message
        raise ValueError(f"Invalid audit report at {err.json_path}: {err.message}")
