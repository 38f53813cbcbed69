"""WGAN's networks, as the authors' code builds them (martinarjovsky/WassersteinGAN, ``models/``).

DCGAN (the default): the DCGAN generator and discriminator of :mod:`ganzoo_dcgan.networks`, which
are ``DCGAN_G`` and ``DCGAN_D`` layer for layer at a size that is a power of two times 4. The critic
**keeps** its BatchNorm, as the code's ``DCGAN_D`` does: the Wasserstein critic of Algorithm 1 is
trained on real and fake batches in separate passes, so each batch is normalised on its own. The
code asserts ``isize % 16 == 0``; MNIST is resized to 32.

MLP (``architecture = "mlp"``): the code's ``MLP_G`` and ``MLP_D``, three hidden ReLU layers of
``ngf`` (``ndf``) units; the generator has no output nonlinearity (Arjovsky et al. 2017, section 4.3,
"a 4-layer ReLU-MLP with 512 hidden units": the README's ``--mlp_G --ngf 512``).
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.errors import UserError


def check_image_size(height: int, width: int) -> None:
    """The code's ``assert isize % 16 == 0``, as one line that says what to pass instead."""
    if height != width or height % 16 != 0:
        suggestion = max(16, round(max(height, width) / 16) * 16)
        raise UserError(
            f"wgan needs square images whose size is a multiple of 16, got {height}×{width}; "
            f"pass --image-size {suggestion} to resize them"
        )


class MLPGenerator(nn.Module):
    """``MLP_G``: z → 3 × (Linear ``width``, ReLU) → Linear C·H·W, reshaped to an image."""

    def __init__(self, latent_dim: int, shape: tuple[int, int, int], width: int) -> None:
        super().__init__()
        self.shape = tuple(shape)
        self.latent_dim = latent_dim
        self.main = nn.Sequential(
            nn.Linear(latent_dim, width), nn.ReLU(True),
            nn.Linear(width, width), nn.ReLU(True),
            nn.Linear(width, width), nn.ReLU(True),
            nn.Linear(width, shape[0] * shape[1] * shape[2]),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.flatten(1)).view(z.shape[0], *self.shape)


class MLPCritic(nn.Module):
    """``MLP_D``: image → 3 × (Linear ``width``, ReLU) → one score per image (the code averages the
    scores inside the network; here the loss takes the mean)."""

    def __init__(self, shape: tuple[int, int, int], width: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Linear(shape[0] * shape[1] * shape[2], width), nn.ReLU(True),
            nn.Linear(width, width), nn.ReLU(True),
            nn.Linear(width, width), nn.ReLU(True),
            nn.Linear(width, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x.flatten(1)).view(-1)
