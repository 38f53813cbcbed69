"""Layers of the modern GANs: spectral norm, self-attention, conditional BatchNorm, projection head.

- :func:`spectral_norm`: W / σ(W) with σ estimated by one power iteration per training forward
  (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks", Algorithm 1),
  through torch's parametrisation. Its vectors u and v are buffers of the module, so they are saved
  in the ``state_dict`` and a resumed run continues the same power iteration bit for bit.
- :class:`SelfAttention`: the non-local block of SAGAN as the authors' released code has it.
- :class:`ConditionalBatchNorm2d`: BatchNorm without affine whose gain and bias come from the class.
- :class:`ProjectionHead`: the projection discriminator's output (Miyato & Koyama 2018).
- :class:`Maxout`: maxout units (Goodfellow et al. 2013), as cGAN's and PacGAN's 2-D discriminators use them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrizations

#: The ε of the power iteration's normalisation; StudioGAN's and SAGAN-PyTorch's value.
SPECTRAL_NORM_EPS = 1e-6


def spectral_norm(module: nn.Module, n_power_iterations: int = 1, eps: float = SPECTRAL_NORM_EPS) -> nn.Module:
    """Spectrally normalise ``module``'s ``weight`` in place and return it.

    One power iteration per training-mode forward, as the paper's Algorithm 1 and the authors' code
    do; none in eval mode (the stored u, v are used). u and v live in the module's ``state_dict``
    (``parametrizations.weight.0._u`` / ``_v``) beside the unnormalised weight
    (``parametrizations.weight.original``); the parameter count is the plain module's.
    """
    return parametrizations.spectral_norm(module, n_power_iterations=n_power_iterations, eps=eps)


def is_spectrally_normalised(module: nn.Module) -> bool:
    """Whether ``module``'s weight carries :func:`spectral_norm`."""
    from torch.nn.utils import parametrize

    return parametrize.is_parametrized(module, "weight")


class SelfAttention(nn.Module):
    """SAGAN's self-attention block (Zhang et al. 2019, "Self-Attention Generative Adversarial
    Networks", section 3), as the authors' released code (``sn_non_local_block_sim``) computes it.

    θ and φ are 1×1 convolutions to C/8 channels, g to C/2; φ and g are max-pooled 2×2, so each of
    the H·W positions attends to the H·W/4 pooled ones; the attended g goes back to C channels
    through a 1×1 convolution and is added to the input scaled by γ, initialised to 0, so the block
    starts as the identity. The paper's text differs: it keeps g at C/8 with an extra 1×1 "h"
    convolution and pools nothing; the released code, which produced the paper's results, is the
    one followed here. The convolutions carry no bias and are spectrally normalised when
    ``spectral`` (SAGAN normalises every layer of both networks).
    """

    def __init__(self, channels: int, spectral: bool = True) -> None:
        super().__init__()
        if channels % 8:
            raise ValueError(f"self-attention needs a channel count divisible by 8, got {channels}")

        def conv(inputs: int, outputs: int) -> nn.Module:
            layer = nn.Conv2d(inputs, outputs, 1, bias=False)
            return spectral_norm(layer) if spectral else layer

        self.channels = channels
        self.theta = conv(channels, channels // 8)
        self.phi = conv(channels, channels // 8)
        self.g = conv(channels, channels // 2)
        self.out = conv(channels // 2, channels)
        #: γ of the paper (``sigma`` in the code): the weight of the attention, learnt from zero.
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        theta = self.theta(x).flatten(2)  # N × C/8 × HW
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)  # N × C/8 × HW/4
        attention = torch.softmax(theta.transpose(1, 2) @ phi, dim=-1)  # N × HW × HW/4
        g = F.max_pool2d(self.g(x), 2).flatten(2)  # N × C/2 × HW/4
        attended = (g @ attention.transpose(1, 2)).view(n, c // 2, h, w)
        return x + self.gamma * self.out(attended)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose gain and bias depend on the class: BN(x)·(1 + γ(y)) + β(y).

    γ(y) and β(y) are per-class vectors (embeddings, i.e. linear maps of the one-hot y without bias).
    Plain, they start at 0, so the layer starts as a BatchNorm with unit gain; spectrally normalised
    (SAGAN's generator) they start orthogonal as StudioGAN's ``ortho`` init sets them, since a zero
    matrix has no spectral norm to divide by (de Vries et al.
    2017, "Modulating early visual processing by language"; Miyato & Koyama 2018, section 5; the
    "1 + linear" form of SAGAN's and BigGAN's code). ``eps = 1e-4`` as those codes set it.
    """

    def __init__(self, num_features: int, num_classes: int, eps: float = 1e-4, momentum: float = 0.1,
                 spectral: bool = False) -> None:
        super().__init__()
        self.num_features = num_features
        self.batch_norm = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)
        for embedding in (self.gain, self.bias):
            if spectral:
                nn.init.orthogonal_(embedding.weight)
                spectral_norm(embedding)
            else:
                nn.init.zeros_(embedding.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        gain = 1 + self.gain(labels).view(-1, self.num_features, 1, 1)
        bias = self.bias(labels).view(-1, self.num_features, 1, 1)
        return self.batch_norm(x) * gain + bias


class ProjectionHead(nn.Module):
    """The projection discriminator's output: ψ(h) + ⟨embed(y), h⟩ (Miyato & Koyama 2018,
    "cGANs with Projection Discriminator", equation 3), with h the features after a ReLU, summed
    over the spatial positions, as the authors' code (``SNResNetProjectionDiscriminator``) does.

    Unconditional when ``num_classes`` is 0: then only ψ(h), the SNGAN discriminator's output layer.
    ``bias``: SNGAN's code has none on ψ, StudioGAN's SAGAN has one. ``initialise`` is called on the
    linear layer and the embedding before spectral norm is applied to them.
    """

    def __init__(self, features: int, num_classes: int = 0, spectral: bool = True, bias: bool = True,
                 initialise: Callable[[nn.Module], None] | None = None) -> None:
        super().__init__()
        self.linear = nn.Linear(features, 1, bias=bias)
        self.embedding = nn.Embedding(num_classes, features) if num_classes else None
        if initialise is not None:
            initialise(self.linear)
            if self.embedding is not None:
                initialise(self.embedding)
        if spectral:
            spectral_norm(self.linear)
            if self.embedding is not None:
                spectral_norm(self.embedding)

    def forward(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = F.relu(features).sum(dim=(2, 3))
        out = self.linear(h).squeeze(1)
        if self.embedding is not None:
            if labels is None:
                raise ValueError("a class-conditional projection head needs the labels")
            out = out + (self.embedding(labels) * h).sum(dim=1)
        return out


class Maxout(nn.Module):
    """Maxout units (Goodfellow, Warde-Farley, Mirza, Courville & Bengio 2013, "Maxout Networks"):
    a linear layer of ``units · pieces`` outputs, and per unit the largest of its ``pieces``
    consecutive outputs (unit j takes outputs j·pieces … j·pieces + pieces − 1)."""

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(dim=2)
