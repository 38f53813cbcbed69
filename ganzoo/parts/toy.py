"""The networks of PacGAN's 2-D mode-collapse protocol (Lin, Khetan, Fanti & Oh 2018, appendix; the
authors' ``synthetic_data_experiments/2DGrid_GAN&PacGAN``), shared by every variant that trains on
2-D points: their ``pacgan-toy`` profiles then differ only in the variant's own math. The training
settings are in :data:`ganzoo.protocols.PACGAN_TOY`.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.parts.layers import Maxout


def init_normal(module: nn.Module, std: float) -> None:
    """Weights N(0, std²), biases 0, as the PacGAN toy code initialises every layer
    (``IsotropicGaussian(0.02)``, ``Constant(0)``); batch norm keeps its unit scale."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class PacGANToyGenerator(nn.Module):
    """The generator of PacGAN's 2-D experiments: z (2-D standard normal) → four hidden layers of
    ``width`` units, each batch norm then ReLU, no bias before batch norm → linear 2-D output. The
    code moves batch norm's population statistics 5 % of the way per update, hence momentum 0.05."""

    def __init__(self, latent_dim: int = 2, width: int = 400, depth: int = 4, out_dim: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = latent_dim
        for _ in range(depth):
            layers += [nn.Linear(previous, width, bias=False), nn.BatchNorm1d(width, momentum=0.05), nn.ReLU(inplace=True)]
            previous = width
        layers.append(nn.Linear(previous, out_dim))
        self.model = nn.Sequential(*layers)
        self.latent_dim = latent_dim
        init_normal(self, 0.02)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)


class PacGANToyDiscriminator(nn.Module):
    """The discriminator of PacGAN's 2-D experiments: three maxout layers of ``width`` units with
    ``pieces`` pieces each, then a linear logit (no batch norm, so it serves as a WGAN-GP critic
    too). The ``pacgan`` add-on widens its first layer."""

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
