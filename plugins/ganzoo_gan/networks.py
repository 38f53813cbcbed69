"""The MLP generator and discriminator of Goodfellow et al. (2014), as the classic PyTorch
implementations write them, and a small MLP of the same family for 2-D points."""

from __future__ import annotations

import math

import torch
from torch import nn


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


class Maxout(nn.Module):
    """A linear layer of ``pieces`` candidate outputs per unit, keeping the largest (Goodfellow et
    al. 2013, "Maxout Networks"), as the PacGAN toy discriminator uses it (blocks' ``LinearMaxout``)."""

    def __init__(self, in_features: int, out_features: int, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], -1, self.pieces).amax(dim=2)


class PacGANToyGenerator(nn.Module):
    """The generator of PacGAN's 2-D experiments (Lin et al. 2018, appendix; the authors'
    ``synthetic_data_experiments/2DGrid_GAN&PacGAN``): z (2-D standard normal) → four hidden layers
    of ``width`` units, each batch norm then ReLU, no bias before batch norm → linear 2-D output.
    The code moves batch norm's population statistics 5 % of the way per update, hence momentum 0.05."""

    def __init__(self, latent_dim: int = 2, width: int = 400, depth: int = 4, out_dim: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = latent_dim
        for _ in range(depth):
            layers += [nn.Linear(previous, width, bias=False), nn.BatchNorm1d(width, momentum=0.05), nn.ReLU(inplace=True)]
            previous = width
        layers.append(nn.Linear(previous, out_dim))
        self.model = nn.Sequential(*layers)
        init_normal(self, 0.02)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)


class PacGANToyDiscriminator(nn.Module):
    """The discriminator of PacGAN's 2-D experiments: three maxout layers of ``width`` units with
    ``pieces`` pieces each, then a linear logit. The ``pacgan`` add-on widens its first layer."""

    def __init__(self, in_dim: int = 2, width: int = 200, pieces: int = 5, depth: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = in_dim
        for _ in range(depth):
            layers.append(Maxout(previous, width, pieces))
            previous = width
        layers.append(nn.Linear(previous, 1))
        self.model = nn.Sequential(*layers)
        init_normal(self, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.flatten(1)).view(-1)


def init_normal(module: nn.Module, std: float) -> None:
    """Weights N(0, std²), biases 0, as the PacGAN toy code initialises every layer
    (``IsotropicGaussian(0.02)``, ``Constant(0)``); batch norm keeps its unit scale."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
