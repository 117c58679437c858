"""Behaviour unchanged: every command's JSON equals its golden output (tests/golden), timings aside."""

from __future__ import annotations

import json

import pytest

from tests import golden_outputs as golden


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp("golden")
    golden.prepare(path)
    return path


@pytest.mark.parametrize("name", sorted(golden.commands(golden.HERE)))
def test_output_equals_the_golden_one(root, name):
    expected = json.loads((golden.HERE / f"{name}.json").read_text())
    got = json.loads(json.dumps(golden.run(name, golden.commands(root)[name], root), sort_keys=True))
    assert got == expected, f"{name}: output changed; if intended, re-record with python -m tests.golden_outputs"
