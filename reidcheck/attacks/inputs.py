"""What an attack runs on (its ``release`` argument), besides ``io.TrajectoryInput`` for traces.

Small frozen value objects: they name a registered relation or carry the values, plus where they
came from (``source``, for messages). They never carry secrets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableInput:
    """A table registered in the engine under ``relation`` (e.g. by ``io.load_table``), read from
    ``source`` (a path, or a description such as "release subscribers"): one record per row."""

    relation: str
    source: str = ""

    @classmethod
    def loaded(cls, info: dict, relation: str = "tbl") -> "TableInput":
        """From what ``io.load_table`` returns (its ``file``) and the relation it registered."""
        return cls(relation=relation, source=str(info.get("file", "")))


@dataclass(frozen=True)
class PseudonymInput:
    """The released pseudonyms of one column (strings; duplicates and blanks are ignored by the
    attack), read from ``source``."""

    values: tuple[str, ...]
    source: str = ""

    @classmethod
    def of(cls, values, source: str = "") -> "PseudonymInput":
        return cls(values=tuple(str(v) for v in values if v is not None), source=source)
