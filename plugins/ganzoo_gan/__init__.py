"""The original GAN (Goodfellow et al. 2014) as a ganzoo plugin.

A plugin of exactly the shape a third-party package has: one module with ``@ganzoo.hookimpl``
functions, declared in the entry-point group ``ganzoo``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.bounds import POSITIVE, bounded, in_range
from ganzoo.protocols import pacgan_toy_profile

NAME = "gan"

POINT_NETWORKS = ("mlp", "pacgan-toy")

#: The 2-D protocol of PacGAN's Table 1 (:data:`ganzoo.protocols.PACGAN_TOY`, from the paper and the
#: authors' code) with the paper's GAN: the non-saturating loss and the protocol's networks.
PACGAN_TOY_PROFILE = {
    **pacgan_toy_profile(latent_dim="model.point_latent_dim", lr="model.lr", beta1="model.beta1", beta2="model.beta2"),
    "model.point_networks": "pacgan-toy", "model.loss": "non-saturating",
}


@dataclass
class GANParams:
    """Hyper-parameters of the classic PyTorch GAN (Adam 2e-4, betas 0.5/0.999, z of 100)."""

    latent_dim: int = bounded(100, POSITIVE)
    generator_widths: tuple[int, ...] = bounded((128, 256, 512, 1024), POSITIVE)
    discriminator_widths: tuple[int, ...] = bounded((512, 256), POSITIVE)
    #: Hidden width of both players on 2-D point data.
    point_width: int = bounded(128, POSITIVE)
    #: Latent size on 2-D point data.
    point_latent_dim: int = bounded(2, POSITIVE)
    #: Networks on 2-D point data: ``mlp`` (two LeakyReLU layers of ``point_width`` each player) or
    #: ``pacgan-toy``, the networks of PacGAN's 2-D experiments (see :data:`PACGAN_TOY_PROFILE`).
    point_networks: str = "mlp"
    lr: float = bounded(2e-4, POSITIVE)
    beta1: float = bounded(0.5, in_range(0, 1))
    beta2: float = bounded(0.999, in_range(0, 1))
    #: Adversarial loss by name (``ganzoo info`` lists the choices; plugins add more): the paper's
    #: is ``non-saturating``, D's cross-entropy with G maximising log D(G(z)).
    loss: str = "non-saturating"


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="the original GAN: MLP generator and discriminator, non-saturating loss",
            paper=Paper("Generative Adversarial Networks", "Goodfellow et al.", 2014, "https://arxiv.org/abs/1406.2661"),
            data_kind="images",
            accepts=("labelled-images", "points"),
            params=GANParams,
            default_dataset="mnist",
            roles={"generator": ("generator",), "discriminator": ("discriminator",)},
            profiles={"demo": {"steps": 12000, "batch_size": 64, "sample_every": 1000, "checkpoint_every": 2000},
                      "pacgan-toy": PACGAN_TOY_PROFILE},
            profile_notes={
                "pacgan-toy": "PacGAN's 2-D protocol (its networks, Adam(1e-4, 0.8), batch 100, 400,000 steps), "
                              "not this paper's: the setup of PacGAN's Table 1 (ganzoo reproduce pacgan-table1)",
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo.parts.toy import PacGANToyDiscriminator, PacGANToyGenerator
    from ganzoo_gan.networks import MLPDiscriminator, MLPGenerator, PointGenerator

    p = config.model
    if p.point_networks not in POINT_NETWORKS:
        from ganzoo.errors import UserError

        raise UserError(f"bad value {p.point_networks!r} for model.point_networks: expected one of "
                        f"{', '.join(POINT_NETWORKS)}")
    if data.kind == "points" and p.point_networks == "pacgan-toy":
        generator = PacGANToyGenerator(p.point_latent_dim)
        discriminator = PacGANToyDiscriminator(data.shape[0])
    elif data.kind == "points":
        generator = PointGenerator(p.point_latent_dim, p.point_width)
        discriminator = MLPDiscriminator(data.shape, (p.point_width, p.point_width))
    else:
        generator = MLPGenerator(p.latent_dim, data.shape, p.generator_widths)
        discriminator = MLPDiscriminator(data.shape, p.discriminator_widths)
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
            Player("discriminator", ("discriminator",), adam(networks, ["discriminator"], p.lr, betas)),
            Player("generator", ("generator",), adam(networks, ["generator"], p.lr, betas)),
        ]
    )


def latent_size(config, networks) -> int:
    first = networks["generator"].model[0]
    return first.in_features


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.parts.losses import adversarial_loss

    G, D = ctx.networks["generator"], ctx.networks["discriminator"]
    real = ctx.batch["real"]
    if "fake" not in ctx.cache:
        z = torch.randn(real.shape[0], latent_size(ctx.config, ctx.networks), device=real.device)
        ctx.cache["fake"] = G(z)
    fake = ctx.cache["fake"]
    loss = adversarial_loss(ctx.config.model.loss)
    if player == "discriminator":
        return loss.discriminator_terms(D(real), D(fake.detach()))
    # non-saturating by default: maximise log D(G(z)) (Goodfellow et al. 2014, section 3)
    return {"adv": loss.generator_loss(D(fake))}


@hookimpl
def ganzoo_sample(variant, networks, config, n, generator, device):
    if variant.name != NAME:
        return None
    import torch

    z = torch.randn(n, latent_size(config, networks), generator=generator, device=device)
    return networks["generator"](z)
