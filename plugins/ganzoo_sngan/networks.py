"""The ResNet generator and discriminator of SNGAN and SAGAN, and SNGAN's standard CNN.

ResNet (Miyato et al. 2018, appendix B.4, Table 4; pfnet-research/sngan_projection's
``gen_models/resnet_32.py`` and ``dis_models/snresnet_32.py``):

- generator: z → linear to ``ch``×4×4 → up-blocks (BN, ReLU, 2× nearest upsampling, conv 3×3, BN,
  ReLU, conv 3×3; shortcut: upsampling, conv 1×1) until the image size → BN, ReLU, conv 3×3, tanh;
  ``ch = 256``;
- discriminator: an optimised first block (conv, ReLU, conv, 2×2 average pooling; shortcut: pooling,
  conv 1×1) and three blocks (ReLU, conv, ReLU, conv, pooling in the first of them only), ``ch = 128``,
  all spectrally normalised; then ReLU, the sum over positions and a linear output, plus the
  projection ⟨embed(y), h⟩ when class-conditional (Miyato & Koyama 2018).

The same networks carry SAGAN's additions (Zhang et al. 2019) as options, as StudioGAN builds them
(``src/models/resnet.py``): spectral norm in the generator too, self-attention after chosen blocks,
conditional BatchNorm with spectrally normalised class embeddings and BN ε = 1e-4, orthogonal
initialisation, and a bias on the discriminator's output.

Initialisation: SNGAN's code uses Glorot-uniform with gain √2 for the residual convolutions and gain
1 for the shortcuts and the linear layers; StudioGAN's SAGAN uses orthogonal weights everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.parts.layers import ConditionalBatchNorm2d, ProjectionHead, SelfAttention, spectral_norm


def _initialise(module: nn.Module, init: str, gain: float = 1.0) -> nn.Module:
    """Orthogonal (StudioGAN) or Glorot-uniform with ``gain`` (SNGAN's code) weights, zero biases."""
    weight = module.weight
    if init == "orthogonal":
        nn.init.orthogonal_(weight)
    else:  # glorot
        nn.init.xavier_uniform_(weight, gain=gain)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return module


class Layers:
    """How a network builds its convolutions and linear layers (with or without spectral norm)."""

    def __init__(self, spectral: bool, init: str) -> None:
        self.spectral, self.init = spectral, init

    def _finish(self, module: nn.Module, gain: float) -> nn.Module:
        _initialise(module, self.init, gain)
        return spectral_norm(module) if self.spectral else module

    def conv(self, inputs: int, outputs: int, kernel: int, gain: float = 1.0, bias: bool = True) -> nn.Module:
        return self._finish(nn.Conv2d(inputs, outputs, kernel, padding=kernel // 2, bias=bias), gain)

    def linear(self, inputs: int, outputs: int, bias: bool = True) -> nn.Module:
        return self._finish(nn.Linear(inputs, outputs, bias=bias), 1.0)


def _batch_norm(channels: int, num_classes: int, eps: float, spectral: bool) -> nn.Module:
    if num_classes:
        return ConditionalBatchNorm2d(channels, num_classes, eps=eps, spectral=spectral)
    return nn.BatchNorm2d(channels, eps=eps)


class GeneratorBlock(nn.Module):
    """BN, ReLU, upsample, conv 3×3, BN, ReLU, conv 3×3, plus an upsampled 1×1 shortcut."""

    def __init__(self, inputs: int, outputs: int, layers: Layers, num_classes: int, eps: float) -> None:
        super().__init__()
        self.bn1 = _batch_norm(inputs, num_classes, eps, layers.spectral)
        self.conv1 = layers.conv(inputs, outputs, 3, gain=math.sqrt(2))
        self.bn2 = _batch_norm(outputs, num_classes, eps, layers.spectral)
        self.conv2 = layers.conv(outputs, outputs, 3, gain=math.sqrt(2))
        self.shortcut = layers.conv(inputs, outputs, 1)
        self.conditional = num_classes > 0

    def _norm(self, bn: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return bn(x, labels) if self.conditional else bn(x)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = F.relu(self._norm(self.bn1, x, labels))
        h = self.conv1(F.interpolate(h, scale_factor=2, mode="nearest"))
        h = self.conv2(F.relu(self._norm(self.bn2, h, labels)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class ResNetGenerator(nn.Module):
    """z (and y) → image: linear to ``channels``×4×4, up-blocks to the image size, BN, ReLU, conv, tanh.

    The start is 4×4 (``bottom``) when the size is 4·2^k; otherwise the smallest size of at least
    ``bottom`` that doubles to it (7×7 for 28 px digits).

    ``attention`` lists the blocks (counted from 1) after which a self-attention layer is placed.
    """

    def __init__(self, latent_dim: int, out_shape: Sequence[int], channels: int = 256, num_classes: int = 0,
                 spectral: bool = False, attention: Sequence[int] = (), bn_eps: float = 2e-5, init: str = "glorot",
                 bottom: int = 4) -> None:
        super().__init__()
        out_channels, height, width = out_shape
        blocks = 0
        while height % 2 ** (blocks + 1) == 0 and height // 2 ** (blocks + 1) >= bottom:
            blocks += 1
        if height != width or blocks < 1:
            raise ValueError(f"the ResNet generator makes square images of at least {2 * bottom} pixels "
                             f"divisible by 2, not {height}×{width}")
        bottom = height // 2**blocks  # 4 at 32 and 64 px (the code's bottom_width), 7 at 28 px
        layers = Layers(spectral, init)
        self.latent_dim, self.channels, self.bottom, self.num_classes = latent_dim, channels, bottom, num_classes
        self.linear = layers.linear(latent_dim, channels * bottom * bottom)
        self.blocks = nn.ModuleList()
        for index in range(1, blocks + 1):
            self.blocks.append(GeneratorBlock(channels, channels, layers, num_classes, bn_eps))
            if index in attention:
                self.blocks.append(SelfAttention(channels, spectral=spectral))
        self.bn = nn.BatchNorm2d(channels, eps=bn_eps)
        self.out = layers.conv(channels, out_channels, 3)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.linear(z).view(z.shape[0], self.channels, self.bottom, self.bottom)
        for block in self.blocks:
            h = block(h) if isinstance(block, SelfAttention) else block(h, labels)
        return torch.tanh(self.out(F.relu(self.bn(h))))


class OptimisedBlock(nn.Module):
    """The discriminator's first block: conv, ReLU, conv, pool; shortcut: pool, conv 1×1."""

    def __init__(self, inputs: int, outputs: int, layers: Layers) -> None:
        super().__init__()
        self.conv1 = layers.conv(inputs, outputs, 3, gain=math.sqrt(2))
        self.conv2 = layers.conv(outputs, outputs, 3, gain=math.sqrt(2))
        self.shortcut = layers.conv(inputs, outputs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(x))), 2)
        return h + self.shortcut(F.avg_pool2d(x, 2))


class DiscriminatorBlock(nn.Module):
    """ReLU, conv, ReLU, conv (then pool); a 1×1 shortcut when the shape changes."""

    def __init__(self, inputs: int, outputs: int, layers: Layers, downsample: bool) -> None:
        super().__init__()
        self.downsample = downsample
        self.conv1 = layers.conv(inputs, outputs, 3, gain=math.sqrt(2))
        self.conv2 = layers.conv(outputs, outputs, 3, gain=math.sqrt(2))
        self.shortcut = layers.conv(inputs, outputs, 1) if downsample or inputs != outputs else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        skip = x if self.shortcut is None else self.shortcut(x)
        if self.downsample:
            h, skip = F.avg_pool2d(h, 2), F.avg_pool2d(skip, 2)
        return h + skip


class ResNetDiscriminator(nn.Module):
    """image (and y) → score: four residual blocks (the first two halve the size), ReLU, sum, projection head."""

    def __init__(self, in_shape: Sequence[int], channels: int = 128, num_classes: int = 0,
                 attention: Sequence[int] = (), init: str = "glorot", head_bias: bool = False) -> None:
        super().__init__()
        in_channels, height, width = in_shape
        if height % 4 or width % 4:
            raise ValueError(f"the ResNet discriminator halves the image twice; {height}×{width} is not divisible by 4")
        layers = Layers(True, init)
        self.blocks = nn.ModuleList([OptimisedBlock(in_channels, channels, layers)])
        for index, downsample in enumerate((True, False, False), start=2):
            if index - 1 in attention:
                self.blocks.append(SelfAttention(channels))
            self.blocks.append(DiscriminatorBlock(channels, channels, layers, downsample))
        if 4 in attention:
            self.blocks.append(SelfAttention(channels))
        self.head = ProjectionHead(channels, num_classes, spectral=True, bias=head_bias,
                                   initialise=lambda module: _initialise(module, init))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = x
        for block in self.blocks:
            h = block(h)
        return self.head(h, labels)



class StandardCNNGenerator(nn.Module):
    """SNGAN's standard CNN generator (Miyato et al. 2018, Table 3a): z → dense M_g×M_g×512, BN, ReLU,
    three 4×4 stride-2 deconvolutions (256, 128, 64) with BN and ReLU, a 3×3 convolution, tanh."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], width: int = 512) -> None:
        super().__init__()
        out_channels, height, width_px = out_shape
        if height != width_px or height % 8:
            raise ValueError(f"the standard CNN generator makes square images of 8·M_g pixels, not {height}×{width_px}")
        self.latent_dim, self.width, self.bottom = latent_dim, width, height // 8
        self.dense = nn.Linear(latent_dim, width * self.bottom**2)
        self.main = nn.Sequential(
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2), nn.ReLU(),
            nn.ConvTranspose2d(width // 2, width // 4, 4, 2, 1), nn.BatchNorm2d(width // 4), nn.ReLU(),
            nn.ConvTranspose2d(width // 4, width // 8, 4, 2, 1), nn.BatchNorm2d(width // 8), nn.ReLU(),
            nn.Conv2d(width // 8, out_channels, 3, 1, 1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.main(self.dense(z).view(z.shape[0], self.width, self.bottom, self.bottom))


class StandardCNNDiscriminator(nn.Module):
    """SNGAN's standard CNN discriminator (Table 3b): 3×3 and 4×4 stride-2 convolutions of 64, 128 and
    256 channels, a 3×3 convolution of 512, LeakyReLU 0.1, a dense output; every layer spectrally
    normalised; the projection head's ⟨embed(y), h⟩ (on h without the sum) when class-conditional."""

    def __init__(self, in_shape: Sequence[int], width: int = 64, num_classes: int = 0) -> None:
        super().__init__()
        in_channels, height, width_px = in_shape
        if height % 8 or width_px % 8:
            raise ValueError(f"the standard CNN discriminator halves the image three times; {height}×{width_px} is not divisible by 8")
        sn = spectral_norm
        layers: list[nn.Module] = []
        channels = in_channels
        for out in (width, width * 2, width * 4):
            layers += [sn(nn.Conv2d(channels, out, 3, 1, 1)), nn.LeakyReLU(0.1),
                       sn(nn.Conv2d(out, out, 4, 2, 1)), nn.LeakyReLU(0.1)]
            channels = out
        layers += [sn(nn.Conv2d(channels, width * 8, 3, 1, 1)), nn.LeakyReLU(0.1), nn.Flatten()]
        self.main = nn.Sequential(*layers)
        features = width * 8 * (height // 8) * (width_px // 8)
        self.dense = sn(nn.Linear(features, 1))
        self.embedding = sn(nn.Embedding(num_classes, features)) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.main(x)
        out = self.dense(h).squeeze(1)
        if self.embedding is not None:
            out = out + (self.embedding(labels) * h).sum(dim=1)
        return out
