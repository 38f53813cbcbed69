"""Sampling options that a variant gives its own meaning: ``--truncation``.

The core knows no variant's latent space, so it only checks that the variant declared what
truncation means (:attr:`ganzoo.spec.VariantSpec.truncation`) and that the threshold is a positive
number; the variant's ``ganzoo_sample`` does the truncating.
"""

from __future__ import annotations

import math

from ganzoo.errors import UserError
from ganzoo.spec import VariantSpec


def check_truncation(variant: VariantSpec, truncation: float | None) -> None:
    """One-line errors for a truncation the variant cannot take; ``None`` always passes."""
    if truncation is None:
        return
    if not variant.truncation:
        raise UserError(f"{variant.name} does not support --truncation; drop the option "
                        "(variants that do, such as biggan, say what it means in `ganzoo info`)")
    if not (math.isfinite(truncation) and truncation > 0):
        raise UserError(f"bad --truncation {truncation}: expected a positive threshold, e.g. 0.5")
