"""2-D Gaussian mixtures exactly as the PacGAN paper sets them up (Lin et al. 2018, section 5.1).

- ``ring8``: 8 modes at (cos 2πi/8, sin 2πi/8), standard deviation 0.01.
- ``grid25``: 25 modes at {-4, -2, 0, 2, 4}², standard deviation 0.05.

Each dataset is 100,000 points drawn once from a generator seeded by the run's seed.
"""

from __future__ import annotations

import math

import torch

from ganzoo.data.source import TensorSource, refuse_limit
from ganzoo.spec import DataInfo

POINTS = 100_000


def mixture(name: str) -> tuple[torch.Tensor, float]:
    """The mode centres (K×2) and the per-mode standard deviation of a named mixture."""
    if name == "ring8":
        angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return torch.stack([angles.cos(), angles.sin()], dim=1).float(), 0.01
    if name == "grid25":
        axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        xs, ys = torch.meshgrid(axis, axis, indexing="ij")
        return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1), 0.05
    raise KeyError(name)


def sample_mixture(name: str, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points of the mixture (uniform over modes) and the index of each point's mode."""
    means, std = mixture(name)
    modes = torch.randint(len(means), (n,), generator=generator)
    points = means[modes] + std * torch.randn(n, 2, generator=generator)
    return points, modes


def build(name: str, config) -> TensorSource:
    refuse_limit(config, name)
    generator = torch.Generator().manual_seed(config.seed)
    points, modes = sample_mixture(name, POINTS, generator)
    means, std = mixture(name)
    info = DataInfo(kind="points", shape=(2,), num_classes=0, size=POINTS)
    return TensorSource({"real": points}, info, modes=means, std=std)
