"""Bounds of config values, declared beside the value and checked when a config is resolved.

A config value can have the right type and still be one that torch refuses mid-run (a negative
learning rate, β1 = 5, a layer of -3 channels, NaN). A variant's params dataclass states the bounds
of a field with :func:`bounded`::

    from ganzoo.bounds import POSITIVE, bounded, in_range

    @dataclass
    class Params:
        latent_dim: int = bounded(100, POSITIVE)
        widths: tuple[int, ...] = bounded((128, 256), POSITIVE)   # every item
        lr: float = bounded(2e-4, POSITIVE)
        beta1: float = bounded(0.5, in_range(0, 1))               # [0, 1)

The engine checks every bounded field of the whole run configuration (core keys and ``[model]``)
whenever a config is resolved, loaded from a run folder or changed for a resume; a value out of
bounds is a one-line :class:`~ganzoo.errors.UserError` naming the key and the bound, and ``ganzoo
info`` shows the bounds beside the defaults. NaN never satisfies a bound, and every bound but
:data:`ANY_NUMBER` also refuses ±inf.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ganzoo.errors import UserError

#: The key of a field's ``metadata`` under which :func:`bounded` stores its bounds.
METADATA_KEY = "ganzoo.bounds"


@dataclass(frozen=True)
class Bound:
    """One condition on a number, and the words that show it (``> 0``, ``in [0, 1)``)."""

    text: str
    holds: Callable[[float], bool]

    def __str__(self) -> str:
        return self.text


def _finite(value: float) -> bool:
    return isinstance(value, int) or math.isfinite(value)  # an int too large for a float is finite


#: Greater than 0 (and finite): learning rates, sizes, counts.
POSITIVE = Bound("> 0", lambda v: _finite(v) and v > 0)
#: 0 or more (and finite): weights of optional loss terms, pool sizes, workers.
NON_NEGATIVE = Bound(">= 0", lambda v: _finite(v) and v >= 0)
#: Any finite number.
FINITE = Bound("finite", _finite)
#: Any number but NaN (±inf allowed).
ANY_NUMBER = Bound("a number", lambda v: not math.isnan(v))


def in_range(low: float, high: float, closed: str = "[)", text: str = "") -> Bound:
    """``low`` to ``high``; ``closed`` says which ends belong (``[)`` by default: Adam's betas)."""
    if closed not in ("[)", "[]", "(]", "()"):
        raise ValueError(f"closed must be one of [), [], (], (); got {closed!r}")

    def holds(v: float) -> bool:
        above = v >= low if closed[0] == "[" else v > low
        below = v <= high if closed[1] == "]" else v < high
        return _finite(v) and above and below

    return Bound(text or f"in {closed[0]}{low:g}, {high:g}{closed[1]}", holds)


def bounded(default: Any, *bounds: Bound) -> Any:
    """A dataclass field with ``default`` and ``bounds`` (each item's, for a tuple or list value)."""
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata={METADATA_KEY: bounds})
    return dataclasses.field(default=default, metadata={METADATA_KEY: bounds})


def field_bounds(obj: Any, prefix: str = "") -> dict[str, tuple[Bound, ...]]:
    """Every bounded field of the dataclass ``obj`` and of the dataclasses it holds, by dotted key."""
    found: dict[str, tuple[Bound, ...]] = {}
    for item in dataclasses.fields(obj):
        value = getattr(obj, item.name, None)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            found.update(field_bounds(value, f"{prefix}{item.name}."))
        elif item.metadata.get(METADATA_KEY):
            found[prefix + item.name] = tuple(item.metadata[METADATA_KEY])
    return found


def describe(bounds: tuple[Bound, ...]) -> str:
    return " and ".join(str(b) for b in bounds)


def check(obj: Any, prefix: str = "") -> None:
    """Raise a UserError naming the first value of ``obj`` (a config) outside its bounds; ``prefix``
    goes before the key in the message (``"pacgan."`` for an add-on's settings)."""
    for key, bounds in field_bounds(obj).items():
        value: Any = obj
        for part in key.split("."):
            value = getattr(value, part)
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if item is None or isinstance(item, bool) or not isinstance(item, (int, float)):
                continue
            if not all(bound.holds(item) for bound in bounds):
                raise UserError(f"bad value {value!r} for {prefix}{key}: expected {describe(bounds)}"
                                f"{' (every item)' if items is value else ''}")
