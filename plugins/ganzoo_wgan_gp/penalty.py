"""The gradient penalty of Gulrajani et al. (2017), Algorithm 1, lines 6–8.

    x̂ = ε·x + (1 − ε)·x̃,  ε ~ U[0, 1] drawn once per sample
    GP = E[(‖∇x̂ D(x̂)‖₂ − 1)²]

The gradient ∇x̂ D(x̂) is taken with ``create_graph=True`` so that the critic's update
differentiates through it (a double backward). That pass always runs eagerly and in float32:
``torch.compile`` does not support double backward, and a reduced-precision gradient norm would
bias the penalty. A critic wrapped by ``torch.compile`` is unwrapped for this pass only.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn


def _full_precision(device_type: str):
    if device_type in ("cuda", "cpu"):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


def eager(module: nn.Module) -> nn.Module:
    """The module itself, or the original module behind a ``torch.compile`` wrapper."""
    return getattr(module, "_orig_mod", module)


@torch.compiler.disable
def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    epsilon: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean of (‖∇D(x̂)‖₂ − 1)² over random interpolates x̂ of ``real`` and ``fake``.

    ``fake`` should be detached (the penalty trains the critic only). ``epsilon`` (one value per
    sample, shape ``(N,)``) is drawn from U[0, 1] when not given; tests pass it to check known cases.
    The result is differentiable with respect to the critic's parameters.
    """
    n = real.shape[0]
    if epsilon is None:
        epsilon = torch.rand(n, device=real.device)
    epsilon = epsilon.to(device=real.device, dtype=torch.float32).view(n, *([1] * (real.dim() - 1)))
    with _full_precision(real.device.type):
        interpolates = (epsilon * real.float() + (1 - epsilon) * fake.float()).requires_grad_(True)
        scores = eager(critic)(interpolates)
        (gradients,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        slopes = gradients.flatten(1).norm(2, dim=1)
        return ((slopes - 1) ** 2).mean()
