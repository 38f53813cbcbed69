"""The loss terms of CycleGAN's two players (Zhu et al. 2017, sections 3 and 4).

The generator step translates both batches, keeps the fakes in ``ctx.cache`` and returns the weighted
terms; the discriminator step scores real images and fakes from the image pools. Terms are named for
the domain of the images they compare: ``adv_B`` is the translation A → B trying to pass
``discriminator_B``, ``cycle_A`` is ``λ‖G_BA(G_AB(a)) − a‖₁``, ``identity_A`` is
``0.5λ‖G_BA(a) − a‖₁``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo_cyclegan.pool import ImagePool


def least_squares(scores: torch.Tensor, target: float) -> torch.Tensor:
    """The LSGAN objective (Mao et al. 2017) the paper uses instead of the log-likelihood (section 4):
    the mean squared distance of every patch score from ``target`` (1 real, 0 fake)."""
    return F.mse_loss(scores, torch.full_like(scores, target))


def set_requires_grad(networks: Iterable[nn.Module], flag: bool) -> None:
    """The reference code's trick: the generator step computes no gradients for the discriminators."""
    for net in networks:
        net.requires_grad_(flag)


def generator_losses(ctx) -> dict[str, torch.Tensor]:
    """Adversarial, cycle-consistency and identity terms of both generators (eq. 3 and section 5.2)."""
    p = ctx.config.model
    nets = ctx.networks
    G_AB, G_BA = nets["generator_AB"], nets["generator_BA"]
    D_A, D_B = nets["discriminator_A"], nets["discriminator_B"]
    real_A, real_B = ctx.batch["A"], ctx.batch["B"]
    set_requires_grad((D_A, D_B), False)
    fake_B, fake_A = G_AB(real_A), G_BA(real_B)
    ctx.cache["fake_A"], ctx.cache["fake_B"] = fake_A.detach(), fake_B.detach()
    cycle = p.lambda_cycle
    terms = {
        "adv_A": least_squares(D_A(fake_A), 1.0),
        "adv_B": least_squares(D_B(fake_B), 1.0),
        "cycle_A": cycle * F.l1_loss(G_BA(fake_B), real_A),
        "cycle_B": cycle * F.l1_loss(G_AB(fake_A), real_B),
    }
    if p.lambda_identity > 0:
        # "regularize the generator to be near an identity mapping when real samples of the target
        # domain are provided as the input" (section 5.2, weight 0.5λ)
        identity = cycle * p.lambda_identity
        terms["identity_A"] = identity * F.l1_loss(G_BA(real_A), real_A)
        terms["identity_B"] = identity * F.l1_loss(G_AB(real_B), real_B)
    return terms


def discriminator_losses(ctx) -> dict[str, torch.Tensor]:
    """Each discriminator's least-squares loss on real images and on pooled fakes, halved (section 4)."""
    p = ctx.config.model
    nets = ctx.networks
    D_A, D_B = nets["discriminator_A"], nets["discriminator_B"]
    set_requires_grad((D_A, D_B), True)
    if "fake_A" not in ctx.cache:  # the discriminator plays first or alone: make this batch's fakes
        with torch.no_grad():
            ctx.cache["fake_A"] = nets["generator_BA"](ctx.batch["B"])
            ctx.cache["fake_B"] = nets["generator_AB"](ctx.batch["A"])
    terms = {}
    for domain, D in (("A", D_A), ("B", D_B)):
        fake = ImagePool(ctx.state, f"pool_{domain}", p.pool_size).query(ctx.cache[f"fake_{domain}"])
        real = ctx.batch[domain]
        terms[f"adv_{domain}"] = 0.5 * (least_squares(D(real), 1.0) + least_squares(D(fake), 0.0))
    return terms
