"""StyleGAN2's loss terms, as NVlabs' ``training/loss.py`` (``StyleGAN2Loss``) computes them.

- The non-saturating logistic loss (Goodfellow et al. 2014, section 3): softplus(−D(G(z))) for G,
  softplus(D(G(z))) + softplus(−D(x)) for D.
- Style mixing (Karras et al. 2019, "A Style-Based Generator Architecture", section 3.1): with
  probability 0.9 the ws from a crossover index on come from a second z; the index is uniform in
  [1, num_ws).
- Path-length regularisation (Karras et al. 2020, "Analyzing and Improving the Image Quality of
  StyleGAN", section 3.2, equation 4): (‖J_wᵀ y‖₂ − a)² for y ~ N(0, I)/√(H·W), with ``a`` the
  running mean of the lengths (decay 0.01), on half the batch (``pl_batch_shrink = 2``).

The R1 penalty is the core's :func:`ganzoo.parts.regularisers.r1_penalty`; the lazy intervals, the
gain and Adam's rescaling are :class:`ganzoo.parts.regularisers.LazyRegularisation`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def mix_styles(ws: torch.Tensor, ws_other: torch.Tensor, probability: float,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """ws with the layers from a random crossover on taken from ``ws_other``, with ``probability``;
    otherwise ws unchanged (NVlabs' ``run_G``: one crossover per minibatch)."""
    num_ws = ws.shape[1]
    if probability <= 0 or num_ws < 2:
        return ws
    cutoff = int(torch.randint(1, num_ws, (), generator=generator))
    if float(torch.rand((), generator=generator)) >= probability:
        return ws
    mixed = ws.clone()
    mixed[:, cutoff:] = ws_other[:, cutoff:]
    return mixed


def generate(G, z: torch.Tensor, labels: torch.Tensor | None, style_mixing_prob: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and the ws that made them, with style mixing (NVlabs' ``StyleGAN2Loss.run_G``)."""
    ws = G.mapping(z, labels)
    if style_mixing_prob > 0:
        ws = mix_styles(ws, G.mapping(torch.randn_like(z), labels, update_w_avg=False), style_mixing_prob)
    return G.synthesis(ws), ws


def generator_logistic(fake_logits: torch.Tensor) -> torch.Tensor:
    """softplus(−D(G(z))), averaged: the non-saturating generator loss."""
    return F.softplus(-fake_logits).mean()


def discriminator_logistic(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """softplus(−D(x)) and softplus(D(G(z))), each averaged."""
    return F.softplus(-real_logits).mean(), F.softplus(fake_logits).mean()


def path_lengths(images: torch.Tensor, ws: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
    """‖J_wᵀ y‖₂ per sample, for y = noise/√(H·W) (noise ~ N(0, I) unless given), differentiable.

    The squared gradient is summed over w's features and averaged over its layers, as in NVlabs'
    code (``pl_grads.square().sum(2).mean(1).sqrt()``).
    """
    if noise is None:
        noise = torch.randn_like(images)
    noise = noise / math.sqrt(images.shape[2] * images.shape[3])
    (grads,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    return grads.square().sum(2).mean(1).sqrt()


def path_length_penalty(lengths: torch.Tensor, pl_mean: torch.Tensor, decay: float) -> tuple[torch.Tensor, torch.Tensor]:
    """E[(length − a)²] with a ← a + decay·(mean(length) − a); returns the penalty and the new a
    (detached). As in NVlabs' code, the penalty also differentiates through the new a."""
    new_mean = pl_mean.lerp(lengths.mean(), decay)
    return (lengths - new_mean).square().mean(), new_mean.detach()
