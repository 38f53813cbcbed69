"""The MLP generator and discriminator of Goodfellow et al. (2014), as the classic PyTorch
implementations write them, and a small MLP of the same family for 2-D points."""

from __future__ import annotations

import math

import torch
from torch import nn

# The PacGAN 2-D protocol's networks live in ganzoo's parts (shared with wgan-gp); kept importable here.
from ganzoo.parts.layers import Maxout  # noqa: F401
from ganzoo.parts.toy import PacGANToyDiscriminator, PacGANToyGenerator, init_normal  # noqa: F401


class MLPGenerator(nn.Module):
    """z → 128 → 256 → 512 → 1024 → C·H·W, LeakyReLU(0.2), BatchNorm after the first layer, tanh out.

    The classic code passes 0.8 to ``BatchNorm1d`` positionally, which sets ``eps`` (it was meant as
    the momentum); we keep PyTorch's defaults.
    """

    def __init__(self, latent_dim: int, out_shape: tuple[int, ...], widths: tuple[int, ...]) -> None:
        super().__init__()
        self.out_shape = tuple(out_shape)
        layers: list[nn.Module] = []
        previous = latent_dim
        for index, width in enumerate(widths):
            layers.append(nn.Linear(previous, width))
            if index > 0:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            previous = width
        layers += [nn.Linear(previous, math.prod(self.out_shape)), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """C·H·W → 512 → 256 → 1 with LeakyReLU(0.2); returns logits (the sigmoid lives in the loss)."""

    def __init__(self, in_shape: tuple[int, ...], widths: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = math.prod(in_shape)
        for width in widths:
            layers += [nn.Linear(previous, width), nn.LeakyReLU(0.2, inplace=True)]
            previous = width
        layers.append(nn.Linear(previous, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.flatten(1)).view(-1)


class PointGenerator(nn.Module):
    """A small MLP generator for 2-D points: z → width → width → 2 (LeakyReLU, linear output)."""

    def __init__(self, latent_dim: int, width: int, depth: int = 2, out_dim: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = latent_dim
        for _ in range(depth):
            layers += [nn.Linear(previous, width), nn.LeakyReLU(0.2, inplace=True)]
            previous = width
        layers.append(nn.Linear(previous, out_dim))
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)
