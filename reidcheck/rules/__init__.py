"""The rule registry: every audit rule is defined once, with a stable id (bandit's ``B102``; here
``RC`` and three digits), and everything else reads it — the policy's defaults, ``--select``/``--skip``, the audit,
the SARIF/JUnit/HTML/Markdown reports, ``reidcheck rules`` and the README table.

A rule is a small function ``check(ctx, table, rule)`` decorated with ``@rule(...)`` in the module of its
family (``tabular``, ``trajectory``, ``aggregate``, ``pseudonyms``, ``identifiers``, ``linkage``,
``travel``); its docstring is its help text (SARIF ``help``, ``reidcheck rules``). ``ctx`` is the audit
(``reidcheck.audit.Audit``: engine, policy, the table registered as ``tbl``, ``add``/``rate`` to record
a finding). The decorator records:

* ``id``, ``name`` (kebab-case, stable too) and ``title`` (one line);
* ``kinds``: the table kinds it applies to (``trajectory``, ``tabular``, ``travel``, ``aggregate``,
  ``places``; empty: run by ``reidcheck attack`` only, never by the audit);
* ``attack``: the name of the attack whose result it judges (``AttackResult.attack``);
* ``metric``, the default ``threshold`` and its direction (``max``: fail above; ``min``: fail below);
* ``params``: the attack's default parameters, each overridable under ``[rules.ID]`` in the policy;
* ``adversary``: in plain words, what the attacker is assumed to know.

Adding a rule: write the function in its family's module with ``@rule(...)``; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

KINDS = ("trajectory", "tabular", "travel", "aggregate", "places")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    title: str
    kinds: tuple[str, ...]
    attack: str
    metric: str
    direction: str                 # "max" (fail when the judged value exceeds) or "min"
    threshold: float
    params: dict = field(default_factory=dict)
    adversary: str = ""
    help: str = ""
    check: Callable | None = field(default=None, compare=False, repr=False)
    finish: Callable | None = field(default=None, compare=False, repr=False)   # after every table: finish(ctx, rule)
    validate: Callable | None = field(default=None, compare=False, repr=False)  # validate(settings), before any data
    also: tuple[str, ...] = ()     # other attacks whose results carry this rule's id

    @property
    def attacks(self) -> tuple[str, ...]:
        return (self.attack, *self.also)

    @property
    def op(self) -> str:
        return "<=" if self.direction == "max" else ">="

    def policy_defaults(self) -> dict:
        """The ``[rules.ID]`` table of the default policy: enabled, the threshold, the parameters."""
        return {"enabled": True, self.direction: self.threshold, **self.params}

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "title": self.title, "applies_to": list(self.kinds),
                "attack": self.attack, "also": list(self.also), "metric": self.metric,
                "default": {"op": self.op, "threshold": self.threshold, **({"params": self.params} if self.params else {})},
                "adversary": self.adversary, "help": self.help, "audited": bool(self.kinds)}


_REGISTRY: dict[str, Rule] = {}


def rule(*, id: str, name: str, title: str, kinds: tuple[str, ...], attack: str, metric: str,  # noqa: A002
         threshold: float, direction: str = "max", params: dict | None = None, adversary: str = "",
         also: tuple[str, ...] = ()):
    """Register the decorated check function as rule ``id`` (its docstring becomes the help text)."""
    def decorate(fn: Callable) -> Callable:
        if id in _REGISTRY:
            raise ValueError(f"rule id {id} is defined twice")
        if direction not in ("max", "min") or not set(kinds) <= set(KINDS):
            raise ValueError(f"rule {id}: bad direction or kinds")
        import inspect

        _REGISTRY[id] = Rule(id=id, name=name, title=title, kinds=tuple(kinds), attack=attack, metric=metric,
                             direction=direction, threshold=threshold, params=dict(params or {}),
                             adversary=adversary, help=inspect.cleandoc(fn.__doc__ or title),
                             check=fn if kinds else None, also=tuple(also))
        fn.rule_id = id
        return fn
    return decorate


def declare(*, help: str, **fields) -> Rule:  # noqa: A002
    """Register a rule that only ``reidcheck attack`` runs (it needs knowledge the audit does not have,
    e.g. an outsider's table): no ``kinds``, no check, ``help`` given as text."""
    rule(kinds=(), **fields)(_Documented(help))
    return _REGISTRY[fields["id"]]


class _Documented:
    """The docstring-only stand-in that ``declare`` registers (never called: the rule has no kinds)."""

    def __init__(self, help_text: str):
        self.__doc__ = help_text


def finishes(check: Callable):
    """Register the decorated ``fn(ctx, rule)`` to run once after every table has been checked by
    ``check`` (e.g. one enumeration of the numbering plan over the pseudonyms of every table)."""
    def decorate(fn: Callable) -> Callable:
        from dataclasses import replace

        _REGISTRY[check.rule_id] = replace(_REGISTRY[check.rule_id], finish=fn)
        return fn
    return decorate


def validates(check: Callable):
    """Register the decorated ``fn(settings)`` to check the rule's policy settings before any data is
    read (raising ``UsageError``)."""
    def decorate(fn: Callable) -> Callable:
        from dataclasses import replace

        _REGISTRY[check.rule_id] = replace(_REGISTRY[check.rule_id], validate=fn)
        return fn
    return decorate


def _load() -> dict[str, Rule]:
    if not _REGISTRY:
        from . import (aggregate, identifiers, linkage, pseudonyms, tabular, trajectory,  # noqa: F401 - they
                       travel)                                                            # register their rules
    return _REGISTRY


def all_rules() -> list[Rule]:
    """Every rule, by id."""
    return [r for _, r in sorted(_load().items())]


def ids() -> list[str]:
    return sorted(_load())


def get(rule_id: str) -> Rule:
    """The rule of ``rule_id`` (KeyError for an unknown id)."""
    return _load()[rule_id]


def for_attack(attack: str) -> Rule | None:
    """The rule that judges results of ``attack`` (``AttackResult.attack``), if any."""
    return next((r for r in all_rules() if attack in r.attacks), None)


def rule_id(attack: str) -> str | None:
    """The id stamped on an ``AttackResult`` of ``attack`` (None for an attack no rule judges)."""
    r = for_attack(attack)
    return r.id if r else None
