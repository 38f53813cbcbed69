"""WGAN-GP's networks: the DCGAN pair with a normalised critic for images, and the toy code's MLPs
for 2-D points.

Images: the DCGAN generator (BatchNorm and ReLU) and the DCGAN discriminator as the critic, with its
BatchNorm replaced by layer normalisation or nothing: "we omit batch normalization in the critic ...
We recommend layer normalization as a drop-in replacement" (Gulrajani et al. 2017, section 4), which
is what the paper's code does for its DCGAN baseline (``gan_64x64.py``, ``Normalize``).

Points: the paper's toy code (``gan_toy.py``): 2-D Gaussian noise, generator and critic with three
hidden ReLU layers of 512 units, He-uniform hidden layers and Glorot-uniform output layers, zero
biases (tflib's ``initialization='he'`` and its default).
"""

from __future__ import annotations

import torch
from torch import nn


class ToyMLP(nn.Module):
    """``in_dim`` → ``depth`` × (Linear ``width``, ReLU) → Linear ``out_dim``."""

    def __init__(self, in_dim: int, out_dim: int, width: int = 512, depth: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = in_dim
        for _ in range(depth):
            linear = nn.Linear(previous, width)
            nn.init.kaiming_uniform_(linear.weight, nonlinearity="relu")  # U(±√3·√(2/fan_in))
            nn.init.zeros_(linear.bias)
            layers += [linear, nn.ReLU(True)]
            previous = width
        out = nn.Linear(previous, out_dim)
        nn.init.xavier_uniform_(out.weight)  # U(±√3·√(2/(fan_in + fan_out)))
        nn.init.zeros_(out.bias)
        layers.append(out)
        self.main = nn.Sequential(*layers)
        self.latent_dim = in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


class ToyCritic(ToyMLP):
    """The toy critic: a point → one score."""

    def __init__(self, width: int = 512, depth: int = 3, in_dim: int = 2) -> None:
        super().__init__(in_dim, 1, width, depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)
