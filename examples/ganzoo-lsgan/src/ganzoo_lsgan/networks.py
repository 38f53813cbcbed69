"""LSGAN's networks, sized to the data: convolutional for images, multi-layer perceptrons for points.

The paper's scene architecture (Mao et al. 2017, section 3.3) is built for 112×112 images; at the
small sizes ganzoo trains on (MNIST's 28 px, CIFAR's 32 px, 64 px) we keep its ingredients, which
are DCGAN's: transposed convolutions with batch normalisation and ReLU in the generator, strided
5×5 convolutions with batch normalisation and LeakyReLU(0.2) in the discriminator, and, as the
least squares loss needs, a linear discriminator output (no sigmoid).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def halvings(size: int, smallest: int = 4, most: int = 4) -> int:
    """How many times ``size`` can be halved evenly while staying at least ``smallest`` (28 -> 2, 64 -> 4)."""
    count = 0
    while count < most and size % 2 == 0 and size // 2 >= smallest:
        size //= 2
        count += 1
    return count


class MLP(nn.Sequential):
    """in → width → width → out with LeakyReLU(0.2); ``latent_dim`` is its input size."""

    def __init__(self, in_features: int, width: int, out_features: int) -> None:
        super().__init__(
            nn.Linear(in_features, width), nn.LeakyReLU(0.2),
            nn.Linear(width, width), nn.LeakyReLU(0.2),
            nn.Linear(width, out_features),
        )
        self.latent_dim = in_features
        self.out_features = out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        return out.view(-1) if self.out_features == 1 else out


class ConvGenerator(nn.Module):
    """z → linear to a small feature map → (transposed conv ×2 up, BN, ReLU) × k → 3×3 conv → tanh."""

    def __init__(self, latent_dim: int, out_shape: tuple[int, ...], width: int) -> None:
        super().__init__()
        channels, height, width_px = out_shape
        if height != width_px:
            raise ValueError(f"LSGAN's convolutional generator needs square images, not {height}×{width_px}")
        self.latent_dim = latent_dim
        steps = halvings(height)
        self.base = height // 2**steps
        self.start = width * 2**steps
        self.project = nn.Sequential(
            nn.Linear(latent_dim, self.start * self.base * self.base, bias=False),
            nn.BatchNorm1d(self.start * self.base * self.base),
            nn.ReLU(True),
        )
        layers: list[nn.Module] = []
        current = self.start
        for _ in range(steps):
            layers += [
                nn.ConvTranspose2d(current, current // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(current // 2),
                nn.ReLU(True),
            ]
            current //= 2
        layers += [nn.Conv2d(current, channels, 3, 1, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.start, self.base, self.base)
        return self.body(x)


class ConvDiscriminator(nn.Module):
    """(5×5 conv stride 2, BN, LeakyReLU(0.2)) × k → linear score; no BN on the first block (DCGAN)."""

    def __init__(self, in_shape: tuple[int, ...], width: int) -> None:
        super().__init__()
        channels, height, _ = in_shape
        steps = max(1, halvings(height))
        layers: list[nn.Module] = []
        current, size = channels, height
        for index in range(steps):
            out = width * 2**index
            layers.append(nn.Conv2d(current, out, 5, 2, 2, bias=index == 0))
            if index > 0:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2, True))
            current, size = out, math.ceil(size / 2)
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.score = nn.Linear(current * size * size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(self.body(x)).view(-1)
