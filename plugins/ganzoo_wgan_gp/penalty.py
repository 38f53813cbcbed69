"""The gradient penalty of Gulrajani et al. (2017), Algorithm 1, lines 6–8, from ganzoo's parts.

    x̂ = ε·x + (1 − ε)·x̃,  ε ~ U[0, 1] drawn once per sample
    GP = E[(‖∇x̂ D(x̂)‖₂ − 1)²]

The penalty is :func:`ganzoo.parts.regularisers.gradient_penalty` (one-centred): it runs eagerly
and in float32, since ``torch.compile`` does not support the double backward it needs and a
reduced-precision gradient norm would bias it. This module keeps the names the plugin and its tests
import.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.parts.regularisers import eager
from ganzoo.parts.regularisers import gradient_penalty as _one_centred_penalty

__all__ = ["eager", "gradient_penalty"]


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    epsilon: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean of (‖∇D(x̂)‖₂ − 1)² over random interpolates x̂ of ``real`` and ``fake``.

    ``fake`` should be detached (the penalty trains the critic only). ``epsilon`` (one value per
    sample, shape ``(N,)``) is drawn from U[0, 1] when not given; tests pass it to check known cases.
    """
    return _one_centred_penalty(critic, real, fake, epsilon=epsilon)
