"""The attacks package imports its modules on first use; every public name must still resolve."""

import importlib

import reidcheck.attacks as attacks


def test_every_public_name_resolves_to_its_module():
    assert set(attacks.__all__) == set(attacks._WHERE)
    for name, module in attacks._WHERE.items():
        value = getattr(attacks, name)
        assert value is getattr(importlib.import_module(f"reidcheck.attacks.{module}"), name)
    assert set(attacks.__all__) <= set(dir(attacks))


def test_an_unknown_name_is_an_attribute_error():
    try:
        attacks.NoSuchAttack
    except AttributeError as exc:
        assert "NoSuchAttack" in str(exc)
    else:
        raise AssertionError("no AttributeError")
