"""ProGAN's generator and discriminator (Karras, Aila, Laine & Lehtinen 2018; tkarras/
progressive_growing_of_gans ``networks.py``), built whole at the final resolution and run at the
current one.

- Equalised learning rate (section 4.1): weights drawn from N(0, 1) and scaled at run time by He's
  constant gain/√fan_in, so that Adam's steps are the same size for every layer.
- Pixelwise feature normalisation in G after every convolution, and of the latent (section 4.2).
- Minibatch standard deviation at 4×4 in D, over groups of 4 (section 3).
- LeakyReLU 0.2, nearest-neighbour upsampling, average-pool downsampling; feature maps
  nf(stage) = min(8192 / 2^stage, 512).

Growing (section 2): ``level`` (0 is 4×4) and the fade-in ``alpha`` are buffers of both networks, so
they travel with every checkpoint and the EMA copy. While ``alpha < 1`` the generator's output is
lerp(upsampled old toRGB, new toRGB, α) and the discriminator mirrors it on a downscaled input.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import UserError


def feature_maps(stage: int, base: int = 8192, most: int = 512) -> int:
    """nf(stage) = min(base / 2^stage, most)."""
    return min(int(base / 2.0**stage), most)


def levels_for(image_size: int) -> int:
    """The number of doublings from 4×4 to ``image_size`` (a power of two, at least 4)."""
    log2 = int(round(math.log2(max(image_size, 1))))
    if image_size < 4 or 2**log2 != image_size:
        raise UserError(f"progan grows from 4×4 by doubling: the image size must be a power of two, got {image_size}; "
                        "pass --image-size 32 (or 64, 128, ...)")
    return log2 - 2


def pixel_norm(x: torch.Tensor, epsilon: float = 1e-8) -> torch.Tensor:
    """Each pixel's feature vector scaled to unit mean square (section 4.2)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + epsilon)


def minibatch_stddev(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """Append one feature map: the mean over features of each group's standard deviation (section 3)."""
    n, c, h, w = x.shape
    group = min(group_size, n) if n % min(group_size, n) == 0 else 1
    y = x.float().reshape(group, -1, c, h, w)
    y = (y - y.mean(dim=0)).pow(2).mean(dim=0).add(1e-8).sqrt().mean(dim=(1, 2, 3))  # one value per group member
    y = y.reshape(-1, 1, 1, 1).repeat(group, 1, h, w).to(x.dtype)
    return torch.cat([x, y], dim=1)


class EqualisedConv2d(nn.Module):
    """A convolution with N(0, 1) weights scaled by gain/√fan_in at run time and zero biases."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, gain: float = math.sqrt(2)) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = gain / math.sqrt(in_channels * kernel * kernel)
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualisedLinear(nn.Module):
    """A dense layer with run-time He scaling; ``bias`` is the code's ``apply_bias`` of that size."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2), bias: int | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features if bias is None else bias))
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale)


def leaky(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class GrowingNetwork(nn.Module):
    """What both networks share: the current ``level`` and fade-in ``alpha`` as buffers."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("level", torch.zeros((), dtype=torch.long))
        self.register_buffer("alpha", torch.ones(()))

    def grow_to(self, level: int, alpha: float) -> None:
        self.level.fill_(level)
        self.alpha.fill_(alpha)


class ProGenerator(GrowingNetwork):
    """z (N×latent) → image at the current resolution 4·2^level, in [-1, 1] only approximately (the
    paper's generator has a linear output)."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, fmap_base: int = 8192, fmap_max: int = 512) -> None:
        super().__init__()
        self.latent_dim, self.levels = latent_dim, levels_for(image_size)
        nf = lambda stage: feature_maps(stage, fmap_base, fmap_max)  # noqa: E731
        # 4×4: dense to nf(1)·16 (gain √2/4, a bias per channel), then a 3×3 convolution
        self.dense = EqualisedLinear(latent_dim, nf(1) * 16, gain=math.sqrt(2) / 4, bias=nf(1))
        self.blocks = nn.ModuleList([EqualisedConv2d(nf(1), nf(1), 3)])
        for res in range(3, self.levels + 3):  # each doubling: upsample, two 3×3 convolutions
            self.blocks.append(nn.ModuleList([EqualisedConv2d(nf(res - 2), nf(res - 1), 3), EqualisedConv2d(nf(res - 1), nf(res - 1), 3)]))
        self.to_rgb = nn.ModuleList([EqualisedConv2d(nf(res - 1), channels, 1, gain=1.0) for res in range(2, self.levels + 3)])

    def _block(self, level: int, h: torch.Tensor) -> torch.Tensor:
        if level == 0:
            return pixel_norm(leaky(self.blocks[0](h)))
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        for conv in self.blocks[level]:
            h = pixel_norm(leaky(conv(h)))
        return h

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        level, alpha = int(self.level), float(self.alpha)
        x = self.dense(pixel_norm(z.flatten(1))).view(z.shape[0], -1, 4, 4)
        h = pixel_norm(leaky(x + self.dense.bias.view(1, -1, 1, 1)))
        h = self._block(0, h)
        previous = h
        for stage in range(1, level + 1):
            previous, h = h, self._block(stage, h)
        image = self.to_rgb[level](h)
        if level > 0 and alpha < 1:  # fade-in: lerp(upsampled old toRGB, new toRGB, α)
            old = F.interpolate(self.to_rgb[level - 1](previous), scale_factor=2, mode="nearest")
            image = torch.lerp(old, image, alpha)
        return image


class ProDiscriminator(GrowingNetwork):
    """Image at the current resolution → one score per image."""

    def __init__(self, channels: int, image_size: int, fmap_base: int = 8192, fmap_max: int = 512, group_size: int = 4) -> None:
        super().__init__()
        self.levels, self.group_size = levels_for(image_size), group_size
        nf = lambda stage: feature_maps(stage, fmap_base, fmap_max)  # noqa: E731
        self.from_rgb = nn.ModuleList([EqualisedConv2d(channels, nf(res - 1), 1) for res in range(2, self.levels + 3)])
        # 4×4: minibatch stddev, 3×3 convolution, dense to nf(0), dense to one score (gain 1)
        self.final_conv = EqualisedConv2d(nf(1) + 1, nf(1), 3)
        self.final_dense = EqualisedLinear(nf(1) * 16, nf(0))
        self.score = EqualisedLinear(nf(0), 1, gain=1.0)
        self.blocks = nn.ModuleList([nn.Identity()])
        for res in range(3, self.levels + 3):  # each halving: two 3×3 convolutions, average pool
            self.blocks.append(nn.ModuleList([EqualisedConv2d(nf(res - 1), nf(res - 1), 3), EqualisedConv2d(nf(res - 1), nf(res - 2), 3)]))

    def _block(self, level: int, h: torch.Tensor) -> torch.Tensor:
        for conv in self.blocks[level]:
            h = leaky(conv(h))
        return F.avg_pool2d(h, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level, alpha = int(self.level), float(self.alpha)
        h = leaky(self.from_rgb[level](x))
        if level > 0:
            h = self._block(level, h)
            if alpha < 1:  # mirror of the generator's fade-in, on a downscaled input
                h = torch.lerp(leaky(self.from_rgb[level - 1](F.avg_pool2d(x, 2))), h, alpha)
        for stage in range(level - 1, 0, -1):
            h = self._block(stage, h)
        h = leaky(self.final_conv(minibatch_stddev(h, self.group_size)))
        h = leaky(self.final_dense(h.flatten(1)) + self.final_dense.bias)
        return (self.score(h) + self.score.bias).view(-1)
