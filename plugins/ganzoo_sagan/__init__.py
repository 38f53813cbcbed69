"""SAGAN (Zhang, Goodfellow, Metaxas & Odena 2019) as a ganzoo plugin, built from ganzoo's parts.

"Self-Attention Generative Adversarial Networks": SNGAN's ResNet networks with spectral norm in
both networks (section 4), a self-attention layer in each (section 3,
:class:`ganzoo.parts.layers.SelfAttention`, as the authors' released code computes it),
class-conditional BatchNorm in the generator and the projection discriminator, the ``hinge`` loss,
and the two-timescale update rule (section 4: discriminator lr 4e-4, generator lr 1e-4, Adam β1 = 0,
β2 = 0.9, one discriminator update per generator update).

Where the attention goes: the released code places it in G after the block that makes 32×32
features and in D after the first block, at 128 px. At 32 px the defaults follow StudioGAN's
CIFAR-10 configuration (``src/configs/CIFAR10/SAGAN.yaml``): after G's block 2 and D's block 1,
with ``g_conv_dim = d_conv_dim = 64`` (G blocks of 256 channels, D blocks of 128). For 3×32×32
and 10 classes that makes G 4,386,308 and D 1,075,586 parameters, StudioGAN's counts::

    ganzoo info sagan --profile cifar10 --shape 3,32,32 --classes 10

Every update draws fresh noise and uniformly random classes for the fakes; the discriminator's
real half uses the data's labels. ``ganzoo sample RUN --class K`` draws digits of class K.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl

NAME = "sagan"


@dataclass
class SAGANParams:
    """Section 4's training settings and StudioGAN's CIFAR-10 network sizes."""

    #: Size of z (StudioGAN's ``z_dim``), drawn from N(0, I).
    latent_dim: int = 128
    #: Channels of the generator's residual blocks (4 · ``g_conv_dim``).
    g_channels: int = 256
    #: Channels of the discriminator's residual blocks (2 · ``d_conv_dim``).
    d_channels: int = 128
    #: Blocks (from 1) after which self-attention is placed (StudioGAN's ``attn_g_loc``, ``attn_d_loc``).
    g_attention: tuple[int, ...] = (2,)
    d_attention: tuple[int, ...] = (1,)
    #: Adversarial loss by name (``ganzoo info`` lists the choices): the paper's hinge.
    loss: str = "hinge"
    #: Two-timescale update rule (Heusel et al. 2017) as section 4 sets it.
    lr_g: float = 1e-4
    lr_d: float = 4e-4
    beta1: float = 0.0
    beta2: float = 0.9
    #: Discriminator updates per generator update.
    n_dis: int = 1


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="self-attention in both networks, spectral norm in both, conditional BN, projection D, hinge, TTUR",
            paper=Paper("Self-Attention Generative Adversarial Networks", "Zhang et al.", 2019,
                        "https://arxiv.org/abs/1805.08318"),
            data_kind="labelled-images",
            params=SAGANParams,
            default_dataset="mnist",
            roles={"generator": ("generator",), "discriminator": ("discriminator",)},
            profile_notes={
                "demo": "deviates from the paper: 28 px digits, blocks of 32 channels (not 256/128), batch 32, "
                        "attention after the first block of each network, TTUR at 1e-3 / 2e-3 (not 1e-4 / 4e-4), "
                        "to learn class-conditional digits in minutes on a 2-core CPU",
            },
            profiles={
                # StudioGAN's CIFAR-10 SAGAN: batch 64, 100,000 steps, the networks of the defaults.
                "cifar10": {"steps": 100_000, "batch_size": 64, "image_size": 32, "model.g_channels": 256,
                            "model.d_channels": 128, "model.g_attention": [2], "model.d_attention": [1]},
                # About 5 minutes on a 2-core CPU: the digits at their own 28 px (7×7 → 14 → 28 in G),
                # blocks of 32 channels, batch 32, attention after G's and D's first block (at 14×14,
                # where StudioGAN's 32 px G block 2 sits at 16×16), TTUR at 1e-3 / 2e-3 (the paper's
                # ratio halved), a row per digit in the grids. Measured with one thread on a busy
                # machine (load 5 on 2 cores): 1,200 steps of these settings took 339 s of CPU time
                # (≈ 280 ms a step, checkpoints included), so 1,000 take about 285 s. Asked for each
                # digit 50 times, the shipped digit classifier read the asked digit in 57 % of the
                # samples after 400 steps, 89 % after 600, 99.6 % after 800 and 97.8 % after 1,000.
                # The demo run itself (seed 0) took 671 s of wall time at that load; 97.7 % of 5,000
                # samples were read as the asked digit (docs/evaluation.md).
                "demo": {
                    "steps": 1000, "batch_size": 32, "image_size": 28, "model.g_channels": 32,
                    "model.d_channels": 32, "model.g_attention": [1], "model.d_attention": [1],
                    "model.lr_g": 1e-3, "model.lr_d": 2e-3, "grid_size": 100,
                    "sample_every": 500, "checkpoint_every": 500, "log_every": 100,
                },
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo_sngan.networks import ResNetDiscriminator, ResNetGenerator

    from ganzoo.errors import UserError

    p = config.model
    try:
        generator = ResNetGenerator(p.latent_dim, data.shape, p.g_channels, num_classes=data.num_classes,
                                    spectral=True, attention=p.g_attention, bn_eps=1e-4, init="orthogonal")
        discriminator = ResNetDiscriminator(data.shape, p.d_channels, num_classes=data.num_classes,
                                            attention=p.d_attention, init="orthogonal", head_bias=True)
    except ValueError as exc:
        raise UserError(f"sagan cannot build its networks for {tuple(data.shape)}: {exc}; pass --image-size 32") from None
    return {"generator": generator, "discriminator": discriminator}


@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != NAME:
        return None
    from ganzoo.engine.schedules import adam

    p = config.model
    betas = (p.beta1, p.beta2)
    return Schedule(
        players=[
            Player("discriminator", ("discriminator",), adam(networks, ["discriminator"], p.lr_d, betas),
                   repeats=p.n_dis, fresh_batch=True),
            Player("generator", ("generator",), adam(networks, ["generator"], p.lr_g, betas)),
        ]
    )


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    import torch
    from ganzoo_sngan import draw

    from ganzoo.parts.losses import adversarial_loss

    p = ctx.config.model
    G, D = ctx.networks["generator"], ctx.networks["discriminator"]
    real, real_labels = ctx.batch["real"], ctx.batch["label"]
    loss = adversarial_loss(p.loss)
    z, labels = draw(real.shape[0], p.latent_dim, G.num_classes, real.device)
    D.requires_grad_(player == "discriminator")
    if player == "discriminator":
        with torch.no_grad():
            fake = G(z, labels)
        return loss.discriminator_terms(D(real, real_labels), D(fake, labels))
    return {"adv": loss.generator_loss(D(G(z, labels), labels))}
