"""The DCGAN generator and discriminator (Radford et al. 2016), layer for layer as PyTorch's official
example writes them (pytorch/examples, ``dcgan/main.py``), generalised to other image sizes.

At 64×64 with ``ngf = ndf = 64`` these are exactly the reference networks (3,576,704 and 2,765,568
parameters for 3 channels). Other sizes keep the character of the architecture:

- the generator projects ``z`` to a ``base``×``base`` map with a transposed convolution whose kernel is
  ``base`` (4 at 64 px), then doubles the size with 4×4, stride-2 transposed convolutions;
  BatchNorm and ReLU everywhere but the output, which is tanh;
- the discriminator mirrors it: 4×4, stride-2 convolutions with LeakyReLU(0.2), BatchNorm on every
  layer but the first, and a final ``base``×``base`` convolution to one logit;
- the finest hidden layer has ``ngf`` (``ndf``) channels and each coarser one twice as many, as at
  64 px; a size of ``base · 2^n`` has ``n`` upsampling layers (28 = 7·2², 32 = 4·2³, 64 = 4·2⁴).

The reference discriminator ends in a sigmoid read by ``BCELoss``; here it returns the logit and the
loss applies the sigmoid (``binary_cross_entropy_with_logits``: the same function, numerically
stable and safe under mixed precision). A sigmoid has no parameters, so the counts are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import torch
from torch import nn

from ganzoo.errors import UserError

#: Sizes of the first feature map a DCGAN may start from (4 is the paper's and the example's).
BASES = (4, 5, 6, 7)


def size_plan(image_size: int, variant: str = "dcgan") -> tuple[int, int]:
    """``(base, n)`` with ``image_size == base · 2**n``, the most doublings from a base of 4 to 7.

    A size the architecture cannot take is a one-line :class:`UserError`.
    """
    n = 0
    while image_size % 2 ** (n + 1) == 0 and image_size // 2 ** (n + 1) >= BASES[0]:
        n += 1
    base = image_size // 2**n if image_size > 0 else 0
    if n < 2 or base not in BASES:
        raise UserError(
            f"{variant} cannot take image size {image_size}: it needs 4, 5, 6 or 7 times a power of two, "
            "at least 16 (e.g. 28, 32, 64, 128); pass --image-size with such a size"
        )
    return base, n


def weights_init(module: nn.Module) -> None:
    """The example's ``weights_init``: conv weights ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), shift 0
    (Radford et al. 2016, section 4: "all weights were initialized from a zero-centered Normal
    distribution with standard deviation 0.02")."""
    classname = module.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _widths(width: int, n: int) -> list[int]:
    """Channels of the ``n`` hidden layers, coarsest first: ..., 4·w, 2·w, w (8w, 4w, 2w, w at 64 px)."""
    return [width * 2 ** (n - 1 - i) for i in range(n)]


class DCGANGenerator(nn.Module):
    """z (N×nz or N×nz×1×1) → image N×C×S×S in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, channels: int = 3, image_size: int = 64, ngf: int = 64) -> None:
        super().__init__()
        base, n = size_plan(image_size)
        widths = _widths(ngf, n)
        layers: list[nn.Module] = [
            # input is Z, going into a convolution: (8·ngf at 64 px) × base × base
            nn.ConvTranspose2d(latent_dim, widths[0], base, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for previous, width in pairwise(widths):
            layers += [nn.ConvTranspose2d(previous, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.latent_dim = latent_dim
        self.main = nn.Sequential(*layers)
        self.apply(weights_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.main(z)


#: Normalisation layers the discriminator can use after each strided convolution but the first.
NORMS: dict[str, Callable[[int], nn.Module]] = {
    "batch": nn.BatchNorm2d,
    # Layer normalisation over (C, H, W) with a per-channel scale and shift, as the WGAN-GP code's
    # ``Layernorm(name, [1, 2, 3], ...)`` normalises its critic (Gulrajani et al. 2017, section 4).
    "layer": lambda width: nn.GroupNorm(1, width),
    "none": lambda width: nn.Identity(),
}


class DCGANDiscriminator(nn.Module):
    """Image N×C×S×S → one logit per image (N,).

    ``norm`` is ``batch`` for DCGAN; a WGAN-GP critic uses ``layer`` or ``none`` (a critic must not
    use BatchNorm, whose outputs mix the samples of a batch).
    """

    def __init__(self, channels: int = 3, image_size: int = 64, ndf: int = 64, norm: str = "batch") -> None:
        super().__init__()
        base, n = size_plan(image_size)
        widths = _widths(ndf, n)[::-1]
        make_norm = NORMS[norm]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for previous, width in pairwise(widths):
            layers += [nn.Conv2d(previous, width, 4, 2, 1, bias=False), make_norm(width), nn.LeakyReLU(0.2, inplace=True)]
        # state size (8·ndf at 64 px) × base × base → one logit
        layers.append(nn.Conv2d(widths[-1], 1, base, 1, 0, bias=False))
        self.main = nn.Sequential(*layers)
        self.apply(weights_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)
