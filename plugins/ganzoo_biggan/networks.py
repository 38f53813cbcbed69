"""BigGAN's generator and discriminator (Brock, Donahue & Simonyan 2019, "Large Scale GAN Training
for High Fidelity Natural Image Synthesis", appendix B, Tables 4 and 5), laid out as the authors'
code (ajbrock/BigGAN-PyTorch, ``BigGAN.py``) lays them out, so that the parameter counts are the
code's to the unit.

- Widths per resolution come from :data:`G_WIDTHS` / :data:`D_WIDTHS` (the code's ``G_arch`` /
  ``D_arch``), multiplied by ``ch``; attention goes after the block that outputs the named
  resolutions.
- The generator's class information: with ``shared_dim`` > 0 one ``nn.Embedding(classes,
  shared_dim)`` (not spectrally normalised) feeds every conditional BN; with ``hierarchical`` z is
  split into one chunk for the first linear layer and one per block, and each block's BN sees
  cat(shared embedding, its chunk) through bias-free spectrally normalised linears (section 3,
  "hierarchical latent spaces" and "shared embedding"). Without a shared embedding each BN has its
  own per-class gain and bias embeddings (the code's CIFAR-10 setting).
- Every convolution and linear layer is spectrally normalised; the output BN of G is a plain BN
  with a learnt gain and bias; G ends in tanh.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.parts.layers import ProjectionHead, SelfAttention, spectral_norm

#: Generator widths per output resolution: (in_channels, out_channels) of each block, in units of
#: ``ch``; every block doubles the resolution from 4×4 (``G_arch`` of ``BigGAN.py``).
G_WIDTHS: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {
    256: ((16, 16, 8, 8, 4, 2), (16, 8, 8, 4, 2, 1)),
    128: ((16, 16, 8, 4, 2), (16, 8, 4, 2, 1)),
    64: ((16, 16, 8, 4), (16, 8, 4, 2)),
    32: ((4, 4, 4), (4, 4, 4)),
    # Not in the authors' code: the 32 px layout one block shorter, for tiny images and quick tests.
    16: ((4, 4), (4, 4)),
}

#: Discriminator widths per input resolution: (in_channels after the image, out_channels,
#: downsample) of each block in units of ``ch`` (``D_arch`` of ``BigGAN.py``).
D_WIDTHS: dict[int, tuple[tuple[int, ...], tuple[int, ...], tuple[bool, ...]]] = {
    256: ((1, 2, 4, 8, 8, 16), (1, 2, 4, 8, 8, 16, 16), (True,) * 6 + (False,)),
    128: ((1, 2, 4, 8, 16), (1, 2, 4, 8, 16, 16), (True,) * 5 + (False,)),
    64: ((1, 2, 4, 8), (1, 2, 4, 8, 16), (True,) * 4 + (False,)),
    32: ((4, 4, 4), (4, 4, 4, 4), (True, True, False, False)),
    16: ((4, 4), (4, 4, 4), (True, True, False)),  # not in the authors' code, as G_WIDTHS[16]
}

RESOLUTIONS = tuple(sorted(G_WIDTHS))


def initialise(module: nn.Module, init: str) -> nn.Module:
    """The code's ``init_weights``: ``ortho`` (orthogonal, section 4 after Saxe et al. 2014) or
    ``N02`` (N(0, 0.02), the CIFAR-10 script's) on the weight of a convolution, linear layer or
    embedding; biases keep torch's default."""
    if init == "ortho":
        nn.init.orthogonal_(module.weight)
    elif init == "N02":
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif init == "xavier":
        nn.init.xavier_uniform_(module.weight)
    else:
        raise ValueError(f"unknown init {init!r}: expected ortho, N02 or xavier")
    return module


class LayerFactory:
    """Makes the spectrally normalised layers of one network, initialised before normalisation."""

    def __init__(self, init: str, sn_eps: float) -> None:
        self.init, self.sn_eps = init, sn_eps

    def _sn(self, module: nn.Module) -> nn.Module:
        return spectral_norm(initialise(module, self.init), eps=self.sn_eps)

    def conv(self, inputs: int, outputs: int, kernel: int = 3) -> nn.Module:
        return self._sn(nn.Conv2d(inputs, outputs, kernel, padding=kernel // 2))

    def linear(self, inputs: int, outputs: int, bias: bool = True) -> nn.Module:
        return self._sn(nn.Linear(inputs, outputs, bias=bias))

    def embedding(self, classes: int, features: int) -> nn.Module:
        return initialise(nn.Embedding(classes, features), self.init)

    def attention(self, channels: int) -> SelfAttention:
        block = SelfAttention(channels, spectral=False)
        for conv in (block.theta, block.phi, block.g, block.out):
            self._sn(conv)
        return block


class ClassConditionalBatchNorm(nn.Module):
    """BN(x)·(1 + gain(c)) + bias(c) (the code's ``ccbn``).

    ``c`` is a vector (the shared embedding, with the block's z chunk when hierarchical) mapped by
    bias-free spectrally normalised linears, or, without a shared embedding, class indices looked
    up in per-layer embeddings.
    """

    def __init__(self, channels: int, condition: int, layers: LayerFactory, by_class: bool, eps: float) -> None:
        super().__init__()
        self.channels = channels
        self.batch_norm = nn.BatchNorm2d(channels, eps=eps, momentum=0.1, affine=False)
        if by_class:
            self.gain, self.bias = layers.embedding(condition, channels), layers.embedding(condition, channels)
        else:
            self.gain = layers.linear(condition, channels, bias=False)
            self.bias = layers.linear(condition, channels, bias=False)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        gain = 1 + self.gain(condition).view(-1, self.channels, 1, 1)
        bias = self.bias(condition).view(-1, self.channels, 1, 1)
        return self.batch_norm(x) * gain + bias


class GeneratorBlock(nn.Module):
    """BN-ReLU-upsample-conv-BN-ReLU-conv with a 1×1 shortcut (the code's ``GBlock``; Figure 15a)."""

    def __init__(self, inputs: int, outputs: int, layers: LayerFactory, norm) -> None:
        super().__init__()
        self.bn1, self.conv1 = norm(inputs), layers.conv(inputs, outputs)
        self.bn2, self.conv2 = norm(outputs), layers.conv(outputs, outputs)
        self.shortcut = layers.conv(inputs, outputs, kernel=1)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, condition)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), condition)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class BigGANGenerator(nn.Module):
    """BigGAN's G; ``forward(z, labels)`` with z of :attr:`latent_dim` and integer labels."""

    def __init__(self, image_shape: Sequence[int], num_classes: int, ch: int = 96, dim_z: int = 120,
                 shared_dim: int = 128, hierarchical: bool = True, attention: Sequence[int] = (64,),
                 init: str = "ortho", bn_eps: float = 1e-5, sn_eps: float = 1e-6, bottom_width: int = 4,
                 widths: Sequence[int] = (), shared_init_gain: float = 1.0) -> None:
        super().__init__()
        channels, resolution = image_shape[0], image_shape[1]
        if resolution not in G_WIDTHS or image_shape[1] != image_shape[2]:
            raise ValueError(f"BigGAN has architectures for square {', '.join(map(str, RESOLUTIONS))} px, "
                             f"not {image_shape[1]}×{image_shape[2]}")
        widths_in, widths_out = (tuple(w * ch for w in ws) for ws in G_WIDTHS[resolution])
        if widths:  # the first layer's width, then each block's output, in units of ch
            if len(widths) != len(widths_in) + 1:
                raise ValueError(f"{resolution} px needs {len(widths_in) + 1} generator widths, got {len(widths)}")
            widths_in, widths_out = tuple(w * ch for w in widths[:-1]), tuple(w * ch for w in widths[1:])
        layers = LayerFactory(init, sn_eps)
        self.num_classes, self.bottom_width = num_classes, bottom_width
        # Section 3 / the code: one z chunk for the linear layer and one per block; dim_z is rounded
        # down to a multiple of the number of chunks.
        self.num_chunks = len(widths_in) + 1 if hierarchical else 1
        self.chunk = dim_z // self.num_chunks
        self.latent_dim = self.chunk * self.num_chunks
        self.hierarchical = hierarchical
        self.shared = layers.embedding(num_classes, shared_dim) if shared_dim else None
        if self.shared is not None and shared_init_gain != 1.0:
            with torch.no_grad():
                self.shared.weight.mul_(shared_init_gain)
        if shared_dim:
            condition = shared_dim + (self.chunk if hierarchical else 0)
        else:
            condition = num_classes

        def norm(features: int) -> ClassConditionalBatchNorm:
            return ClassConditionalBatchNorm(features, condition, layers, by_class=not shared_dim, eps=bn_eps)

        self.linear = layers.linear(self.chunk, widths_in[0] * bottom_width**2)
        self.blocks = nn.ModuleList()
        size = bottom_width
        for inputs, outputs in zip(widths_in, widths_out, strict=True):
            size *= 2
            block = nn.ModuleList([GeneratorBlock(inputs, outputs, layers, norm)])
            if size in attention:
                block.append(layers.attention(outputs))
            self.blocks.append(block)
        self.output_bn = nn.BatchNorm2d(widths_out[-1], eps=bn_eps)
        self.output_conv = layers.conv(widths_out[-1], channels)

    def conditions(self, z: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The first linear layer's input and each block's BN condition (the code's ``G.forward``)."""
        y = self.shared(labels) if self.shared is not None else labels
        if not self.hierarchical:
            return z, [y] * len(self.blocks)
        chunks = torch.split(z, self.chunk, dim=1)
        return chunks[0], [torch.cat([y, c], dim=1) for c in chunks[1:]]

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        first, conditions = self.conditions(z, labels)
        h = self.linear(first).view(z.shape[0], -1, self.bottom_width, self.bottom_width)
        for block, condition in zip(self.blocks, conditions, strict=True):
            h = block[0](h, condition)
            for attention in block[1:]:
                h = attention(h)
        return torch.tanh(self.output_conv(F.relu(self.output_bn(h))))


class DiscriminatorBlock(nn.Module):
    """(ReLU-)conv-ReLU-conv(-avgpool) with a 1×1 shortcut where widths or sizes change (the code's
    ``DBlock`` with ``D_wide``: the hidden width is the output's). The first block takes the image
    without a ReLU and downsamples its shortcut before the 1×1 convolution."""

    def __init__(self, inputs: int, outputs: int, layers: LayerFactory, downsample: bool, preactivation: bool) -> None:
        super().__init__()
        self.downsample, self.preactivation = downsample, preactivation
        self.conv1, self.conv2 = layers.conv(inputs, outputs), layers.conv(outputs, outputs)
        self.shortcut = layers.conv(inputs, outputs, kernel=1) if inputs != outputs or downsample else None

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.preactivation:
            x = self.shortcut(x) if self.shortcut is not None else x
            return F.avg_pool2d(x, 2) if self.downsample else x
        x = F.avg_pool2d(x, 2) if self.downsample else x
        return self.shortcut(x) if self.shortcut is not None else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        return h + self._shortcut(x)


class BigGANDiscriminator(nn.Module):
    """BigGAN's D with the projection head (Miyato & Koyama 2018); ``forward(x, labels)``."""

    def __init__(self, image_shape: Sequence[int], num_classes: int, ch: int = 96, attention: Sequence[int] = (64,),
                 init: str = "ortho", sn_eps: float = 1e-6) -> None:
        super().__init__()
        resolution = image_shape[1]
        if resolution not in D_WIDTHS or image_shape[1] != image_shape[2]:
            raise ValueError(f"BigGAN has architectures for square {', '.join(map(str, RESOLUTIONS))} px, "
                             f"not {image_shape[1]}×{image_shape[2]}")
        widths_in, widths_out, downsample = D_WIDTHS[resolution]
        widths_in = (image_shape[0], *(w * ch for w in widths_in))
        widths_out = tuple(w * ch for w in widths_out)
        layers = LayerFactory(init, sn_eps)
        self.num_classes = num_classes
        self.blocks = nn.ModuleList()
        size = resolution
        for index, (inputs, outputs, down) in enumerate(zip(widths_in, widths_out, downsample, strict=True)):
            self.blocks.append(DiscriminatorBlock(inputs, outputs, layers, down, preactivation=index > 0))
            size //= 2 if down else 1
            if size in attention:
                self.blocks.append(layers.attention(outputs))
        self.head = ProjectionHead(widths_out[-1], num_classes, spectral=False, bias=True,
                                   initialise=lambda m: initialise(m, init))
        spectral_norm(self.head.linear, eps=sn_eps)
        if self.head.embedding is not None:
            spectral_norm(self.head.embedding, eps=sn_eps)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = x
        for block in self.blocks:
            h = block(h)
        return self.head(h, labels)
