"""Building blocks for ``ganzoo_schedule`` implementations: optimisers and learning-rate schedules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn


def parameters_of(networks: Mapping[str, nn.Module], names: Iterable[str]) -> list[nn.Parameter]:
    return [p for name in names for p in networks[name].parameters() if p.requires_grad]


def adam(
    networks: Mapping[str, nn.Module],
    names: Iterable[str],
    lr: float,
    betas: tuple[float, float],
    weight_decay: float = 0.0,
) -> torch.optim.Adam:
    """Adam over the parameters of the named networks (the optimiser of nearly every GAN paper)."""
    return torch.optim.Adam(parameters_of(networks, names), lr=lr, betas=tuple(betas), weight_decay=weight_decay)


def linear_decay(optimizer: torch.optim.Optimizer, total_steps: int, decay_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Constant learning rate, then linear decay to zero over the last ``decay_steps`` steps.

    CycleGAN (Zhu et al. 2017, section 4: "keep the same learning rate for the first 100 epochs and
    linearly decay the rate to zero over the next 100 epochs"), counted in scheduler steps.
    """
    constant = max(0, total_steps - decay_steps)

    def factor(step: int) -> float:
        if step < constant:
            return 1.0
        return max(0.0, 1.0 - (step - constant + 1) / float(decay_steps + 1))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
