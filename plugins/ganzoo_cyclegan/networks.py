"""The networks of CycleGAN (Zhu et al. 2017, appendix 7.2), as the authors' reference code builds them.

- :class:`ResnetGenerator`: ``c7s1-64, d128, d256, R256 × n, u128, u64, c7s1-3`` with reflection
  padding and instance normalisation; 6 residual blocks for 128 px images and 9 for 256 px and above.
  The architecture is Johnson et al. (2016), "Perceptual Losses for Real-Time Style Transfer".
- :class:`PatchDiscriminator`: the 70×70 PatchGAN ``C64-C128-C256-C512`` then a 1-channel
  convolution, LeakyReLU(0.2), no normalisation on the first layer; it scores overlapping 70×70
  patches rather than the whole image (Isola et al. 2017, "Image-to-Image Translation with
  Conditional Adversarial Networks", section 3.2.2).

As in the reference code, convolutions followed by an (affine-free) instance norm carry a bias,
weights start from N(0, 0.02) and biases from zero.
"""

from __future__ import annotations

import torch
from torch import nn


def instance_norm(channels: int) -> nn.InstanceNorm2d:
    """Instance normalisation without learned scale and shift, the reference code's ``instance`` norm
    (Ulyanov et al. 2016, "Instance Normalization: The Missing Ingredient for Fast Stylization")."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def residual_blocks_for(image_size: int) -> int:
    """The paper's depth: "6 residual blocks for 128 × 128 training images, and 9 residual blocks for
    256 × 256 or higher-resolution training images" (appendix 7.2)."""
    return 9 if image_size >= 256 else 6


class ResnetBlock(nn.Module):
    """``R_k``: two 3×3 convolutions of k filters with reflection padding, instance norm, a ReLU between,
    and the input added back."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, kernel_size=3),
            instance_norm(channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, kernel_size=3),
            instance_norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """Image to image: two stride-2 down-samplings, ``residual_blocks`` residual blocks, two up-samplings.

    ``width`` is the paper's 64 (filters of the first layer); ``channels`` in and out are the images'.
    Inputs must have sides divisible by 4; the output has the input's size, in [-1, 1] (tanh).
    """

    def __init__(self, channels: int, width: int = 64, residual_blocks: int = 9, out_channels: int | None = None) -> None:
        super().__init__()
        out_channels = out_channels or channels
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(channels, width, kernel_size=7),
            instance_norm(width),
            nn.ReLU(inplace=True),
        ]
        current = width
        for _ in range(2):  # d128, d256
            layers += [
                nn.Conv2d(current, current * 2, kernel_size=3, stride=2, padding=1),
                instance_norm(current * 2),
                nn.ReLU(inplace=True),
            ]
            current *= 2
        layers += [ResnetBlock(current) for _ in range(residual_blocks)]
        for _ in range(2):  # u128, u64: fractionally-strided convolutions
            layers += [
                nn.ConvTranspose2d(current, current // 2, kernel_size=3, stride=2, padding=1, output_padding=1),
                instance_norm(current // 2),
                nn.ReLU(inplace=True),
            ]
            current //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(current, out_channels, kernel_size=7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """The 70×70 PatchGAN: a map of least-squares scores, one per overlapping 70×70 patch (no sigmoid).

    With ``layers=3`` (the paper's) there are three stride-2 4×4 convolutions (C64, C128, C256), a
    stride-1 C512 and a stride-1 1-channel convolution; each score's receptive field is 70×70 pixels.
    """

    def __init__(self, channels: int, width: int = 64, layers: int = 3) -> None:
        super().__init__()
        seq: list[nn.Module] = [
            nn.Conv2d(channels, width, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        multiplier = 1
        for n in range(1, layers + 1):
            previous, multiplier = multiplier, min(2**n, 8)
            stride = 2 if n < layers else 1
            seq += [
                nn.Conv2d(width * previous, width * multiplier, kernel_size=4, stride=stride, padding=1),
                instance_norm(width * multiplier),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        seq.append(nn.Conv2d(width * multiplier, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*seq)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def smallest_patch_map(image_size: int, layers: int = 3) -> int:
    """Side of the smallest instance-normalised feature map of a PatchGAN on ``image_size`` images (the
    norm needs at least 2×2): 4×4 convolutions with padding 1, stride 2 but for the last one."""
    size = (image_size - 2) // 2 + 1
    for n in range(1, layers + 1):
        size = (size - 2) // (2 if n < layers else 1) + 1
    return size


def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    """Weights from N(0, 0.02), biases zero (the paper's initialisation, following DCGAN)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
