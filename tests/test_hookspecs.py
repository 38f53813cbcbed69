"""The hook contract: every hook documented, called as documented, and exercised by a test."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ganzoo import hookspecs

HOOKS = sorted(name for name, fn in vars(hookspecs).items() if name.startswith("ganzoo_") and callable(fn))
FIRST_RESULT = {"ganzoo_networks", "ganzoo_schedule", "ganzoo_losses", "ganzoo_train_step", "ganzoo_sample"}


def test_the_five_extension_points_and_the_step_wrapper_exist():
    assert {"ganzoo_variants", "ganzoo_networks", "ganzoo_losses", "ganzoo_schedule", "ganzoo_datasets",
            "ganzoo_metrics", "ganzoo_train_step", "ganzoo_sample"} <= set(HOOKS)


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_says_when_it_is_called_and_what_it_returns(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert "Called" in doc and "Return" in doc and "Arrived in" in doc, f"{name} docstring is incomplete"


@pytest.mark.parametrize("name", HOOKS)
def test_first_result_is_declared_as_documented(name):
    opts = getattr(hookspecs, name).ganzoo_spec.get("firstresult", False)
    assert opts == (name in FIRST_RESULT)
    doc = inspect.getdoc(getattr(hookspecs, name))
    assert ("First answer wins" in doc) == (name in FIRST_RESULT)


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_exercised_by_a_test_or_a_plugin_under_test(name):
    tests = Path(__file__).parent
    used = any(name in p.read_text() for p in tests.rglob("test_*.py") if p.name != Path(__file__).name)
    assert used, f"no test mentions {name}"
