"""Sampling options that a variant gives its own meaning: ``--truncation`` and ``--truncation-cutoff``.

The core knows no variant's latent space, so it only checks that the variant lists the option in
:attr:`ganzoo.spec.VariantSpec.sample_options` and that the values are numbers an option of that
name can take; the variant's ``ganzoo_sample`` does the truncating (BigGAN: z entries above a
threshold redrawn; StyleGAN2: w = w_avg + ψ(w − w_avg)) and refuses values its meaning excludes.
"""

from __future__ import annotations

import math
from typing import Any

from ganzoo.errors import UserError


def check_sample_options(variant: Any, truncation: float | None = None, truncation_cutoff: int | None = None) -> None:
    """One line for a sampling option the variant does not declare, or a value no variant can take;
    options left ``None`` always pass."""
    for name, value in (("truncation", truncation), ("truncation_cutoff", truncation_cutoff)):
        if value is not None and name not in variant.sample_options:
            flag = "--" + name.replace("_", "-")
            raise UserError(f"{variant.name} does not support {flag}; drop it (variants that do say what it "
                            "means in 'ganzoo info NAME')")
    if truncation is not None and not math.isfinite(truncation):
        raise UserError(f"bad --truncation {truncation}: expected a finite number, e.g. 0.5")
    if truncation_cutoff is not None:
        if truncation is None:
            raise UserError("--truncation-cutoff needs --truncation (e.g. --truncation 0.7)")
        if truncation_cutoff < 1:
            raise UserError(f"bad --truncation-cutoff {truncation_cutoff}: expected 1 or more layers")
