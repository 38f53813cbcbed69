"""ganzoo's pytest plugin: fixtures for testing ganzoo plugins, loaded through the ``pytest11`` entry point.

Installing ganzoo makes these fixtures available in every pytest session, so a plugin package's
tests need no conftest::

    def test_mygan_keeps_the_contract(ganzoo_conformance):
        ganzoo_conformance("mygan")

    def test_my_override(ganzoo_registry):
        ganzoo_registry.register(MyOverride(), name="my-override")  # in-process, no install
        ...                                                          # the CLI and API now see it

Importing this module costs nothing: torch and the plugins load only when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from ganzoo.conformance import ConformanceReport
    from ganzoo.registry import Registry


@pytest.fixture
def ganzoo_registry() -> Iterator[Registry]:
    """A fresh process-wide registry with every installed plugin, forgotten after the test.

    Plugins registered on it with :meth:`ganzoo.registry.Registry.register` are seen by the Python
    API and by the CLI run in-process (``click.testing.CliRunner``) for the rest of the test only.
    """
    from ganzoo.registry import get_registry, reset_registry

    reset_registry()
    try:
        yield get_registry()
    finally:
        reset_registry()


@pytest.fixture
def ganzoo_conformance(ganzoo_registry: Registry) -> Callable[..., ConformanceReport]:
    """``check(name, **options)``: run :func:`ganzoo.conformance.check_variant` on this test's registry.

    Fails the test with the list of broken promises; options are those of
    :func:`ganzoo.conformance.conformance_report` (``dataset=``, ``overrides=``, ...).
    """
    from ganzoo.conformance import check_variant

    def check(name: str, **options: Any) -> ConformanceReport:
        return check_variant(name, registry=ganzoo_registry, **options)

    return check
