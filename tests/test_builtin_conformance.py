"""Every built-in variant passes the conformance kit that third-party plugins are held to.

The variants are those the ``ganzoo`` distribution itself registers, discovered at collection
time, so a variant added to ``plugins/`` is checked without touching this file.
"""

from __future__ import annotations

import pytest

from ganzoo.conformance import CHECKS
from ganzoo.registry import Registry


def builtin_variants() -> list[str]:
    return sorted(name for name, spec in Registry().variants().items() if spec.package == "ganzoo")


BUILTIN = builtin_variants()


def test_the_builtin_variants_are_found():
    assert "gan" in BUILTIN


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_variant_keeps_the_plugin_contract(name, ganzoo_conformance):
    report = ganzoo_conformance(name)
    assert report.passed == list(CHECKS)
