"""Policy: which rules run, with which adversary knowledge, against which thresholds → a verdict.

A policy is TOML: ``reidcheck.toml``, or ``[tool.reidcheck]`` in ``pyproject.toml``, found in the
current directory or its parents (up to a ``.git`` folder); ``--config FILE`` overrides. Without one,
``default_policy()`` applies: strict enough that a release whose only protection is hashing the phone
number fails (on trajectory unicity and on reversible pseudonyms). Keys::

    judge = "upper"        # judge rates on the upper end of their 95% interval ("value": the estimate)
    seed = 0               # every random draw (targets, points)
    select = ["RC…"]       # run only these rules (default: all; ids from `reidcheck rules`)
    skip = ["RC…"]         # ... or all but these

    [rules.ID]             # any rule id (`reidcheck rules`); the keys of its default entry
    max = 0.05
    points = 4

    [tables.export]        # per table file (its name without extension)
    kind = "trajectory"    # trajectory | tabular | travel | aggregate | places
    mapping = "user=uid,time=ts,place=cell"
    qi = ["age", "gender", "zip"]
    sensitive = "diagnosis"
    delimiter = ";"
    allow_duplicates = true

A rule with ``max`` fails when the judged value exceeds it; with ``min``, when it falls below.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .io import read_toml

def default_policy() -> dict:
    """The default policy: every audited rule of the registry (``reidcheck.rules``) enabled, with its
    default threshold and parameters."""
    from . import rules

    return {"judge": "upper", "seed": 0,
            "rules": {r.id: r.policy_defaults() for r in rules.all_rules() if r.kinds}, "tables": {}}


#: The type of each [tables.NAME] key: a value of the same type as this example (a list: of strings).
TABLE_TYPES = {"kind": "", "mapping": "", "qi": [""], "sensitive": "", "delimiter": "", "allow_duplicates": True}
TABLE_KEYS = set(TABLE_TYPES)


def _check_type(where: str, what: str, value, example, key: str) -> None:
    """A policy value must have the type of its default (``example``): a bool, an integer, a number, a
    string, a list of strings; ``qi``/``sensitive`` (default none) a list of strings / a string;
    ``targets`` an integer or "all"."""
    if key == "qi":
        example = [""]
    elif key == "sensitive":
        example = ""
    if key == "targets" and value == "all":
        return
    if isinstance(example, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(example, int):
        ok, want = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(example, float):
        ok, want = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif isinstance(example, str):
        ok, want = isinstance(value, str), "a string"
    elif isinstance(example, list):
        ok, want = isinstance(value, list) and all(isinstance(x, str) for x in value), "a list of strings"
    else:   # pragma: no cover - every default has one of the types above
        ok, want = True, ""
    if not ok:
        raise InputError(f"{where}: {what} must be {want}. Got {type(value).__name__} instead.")
KINDS = ("trajectory", "tabular", "travel", "aggregate", "places")


@dataclass
class Policy:
    doc: dict = field(default_factory=default_policy)
    source: str = "default policy"

    @property
    def judge(self) -> str:
        return self.doc["judge"]

    @property
    def seed(self) -> int:
        return int(self.doc["seed"])

    def rule(self, rule_id: str) -> dict:
        return self.doc["rules"][rule_id]

    def enabled(self, rule_id: str) -> bool:
        if not self.doc["rules"][rule_id].get("enabled", True):
            return False
        select, skip = self.doc.get("select"), self.doc.get("skip") or []
        return (not select or rule_id in select) and rule_id not in skip

    def table(self, name: str) -> dict:
        return self.doc["tables"].get(name, {})


def _merge(doc: dict, where: str) -> Policy:
    policy = Policy(source=where)
    defaults = default_policy()
    allowed = {"judge", "seed", "select", "skip", "rules", "tables"}
    for key, value in doc.items():
        if key not in allowed:
            raise InputError(f"{where}: unknown key '{key}' (keys: {', '.join(sorted(allowed))}).")
        if key == "rules":
            if not isinstance(value, dict):
                raise InputError(f"{where}: `rules` must be a table of rule ids.")
            for rid, settings in value.items():
                if rid not in policy.doc["rules"]:
                    raise InputError(f"{where}: unknown rule '{rid}' (rules: {', '.join(sorted(policy.doc['rules']))}).")
                if not isinstance(settings, dict):
                    raise InputError(f"{where}: [rules.{rid}] must be a table.")
                for k, v in settings.items():
                    if k not in policy.doc["rules"][rid]:
                        raise InputError(f"{where}: [rules.{rid}] has no key '{k}' "
                                         f"(keys: {', '.join(policy.doc['rules'][rid])}).")
                    _check_type(where, f"[rules.{rid}] {k}", v, defaults["rules"][rid][k], k)
                    policy.doc["rules"][rid][k] = v
        elif key == "tables":
            if not isinstance(value, dict):
                raise InputError(f"{where}: `tables` must be a table of table names.")
            for name, settings in value.items():
                bad = set(settings) - TABLE_KEYS if isinstance(settings, dict) else {"?"}
                if bad:
                    raise InputError(f"{where}: [tables.{name}] has unknown key '{sorted(bad)[0]}' "
                                     f"(keys: {', '.join(sorted(TABLE_KEYS))}).")
                for k, v in settings.items():
                    _check_type(where, f"[tables.{name}] {k}", v, TABLE_TYPES[k], k)
                if settings.get("kind") is not None and settings["kind"] not in KINDS:
                    raise InputError(f"{where}: [tables.{name}] kind must be one of {', '.join(KINDS)}.")
            policy.doc["tables"] = value
        else:
            policy.doc[key] = value
    if policy.doc["judge"] not in ("upper", "value"):
        raise InputError(f"{where}: `judge` must be \"upper\" or \"value\". Got {policy.doc['judge']!r} instead.")
    if not isinstance(policy.doc["seed"], int) or policy.doc["seed"] < 0:
        raise InputError(f"{where}: `seed` must be a non-negative integer.")
    for key in ("select", "skip"):
        value = policy.doc.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(r, str) for r in value)):
            raise InputError(f"{where}: `{key}` must be a list of rule ids (see `reidcheck rules`).")
        for rid in value or []:
            if rid not in policy.doc["rules"]:
                raise InputError(f"{where}: `{key}` names unknown rule '{rid}'.")
    return policy


def load_policy(path: Path | None = None, start: Path | None = None) -> Policy:
    """The policy of ``path``, or the one found from ``start`` (default: the current directory), or
    the default policy."""
    if path is None:
        path = find_policy(start or Path.cwd())
        if path is None:
            return Policy()
    path = Path(path)
    doc = read_toml(path, "Config file")
    if path.name == "pyproject.toml":
        doc = doc.get("tool", {}).get("reidcheck")
        if doc is None:
            raise InputError(f"Config file '{path}' has no [tool.reidcheck] table.")
        return _merge(doc, f"{path} [tool.reidcheck]")
    return _merge(doc, str(path))


def find_policy(start: Path) -> Path | None:
    for folder in [start.resolve(), *start.resolve().parents]:
        if (folder / "reidcheck.toml").is_file():
            return folder / "reidcheck.toml"
        py = folder / "pyproject.toml"
        if py.is_file():
            try:
                if "reidcheck" in tomllib.loads(py.read_text(encoding="utf-8")).get("tool", {}):
                    return py
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                pass
        if (folder / ".git").exists():
            break
    return None


def judge(rule: dict, value, interval, mode: str) -> tuple[str, float | None, dict]:
    """(status, judged value, threshold) of a measured ``value`` against ``rule``'s max or min."""
    if "max" in rule:
        op, limit = "<=", rule["max"]
        judged = interval[1] if (mode == "upper" and interval) else value
        ok = judged <= limit
    else:
        op, limit = ">=", rule["min"]
        judged = interval[0] if (mode == "upper" and interval) else value
        ok = judged >= limit
    return ("pass" if ok else "fail"), judged, {"op": op, "value": limit}
