"""The original GAN (Goodfellow et al. 2014) as a ganzoo plugin.

A plugin of exactly the shape a third-party package has: one module with ``@ganzoo.hookimpl``
functions, declared in the entry-point group ``ganzoo``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.bounds import POSITIVE, bounded, in_range

NAME = "gan"

POINT_NETWORKS = ("mlp", "pacgan-toy")

#: The 2-D protocol of PacGAN's Table 1 (Lin, Khetan, Fanti & Oh 2018, "PacGAN: The power of two
#: samples in generative adversarial networks", section 5.1 and appendix; the authors' code,
#: github.com/fjxmlzn/PacGAN, ``synthetic_data_experiments/2DGrid_GAN&PacGAN/config.py`` and
#: ``pacgan_task.py``; the ring's config is the same): a generator of four 400-unit batch-norm ReLU
#: layers from a 2-D standard-normal z, a discriminator of three 200-unit maxout layers of 5 pieces,
#: weights N(0, 0.02²), Adam(1e-4, β1 = 0.8, β2 at its default 0.999), batches of 100 discriminator
#: inputs (PacGAN*m* draws m × 100 points), 400 epochs of the 100,000-point data set = 400,000
#: iterations. The data is ``ring8`` or ``grid25`` (``ganzoo.data.toy``, the code's mixtures).
PACGAN_TOY_PROFILE = {
    "steps": 400_000, "batch_size": 100, "model.point_networks": "pacgan-toy", "model.point_latent_dim": 2,
    "model.lr": 1e-4, "model.beta1": 0.8, "model.beta2": 0.999, "model.loss": "non-saturating",
    "sample_every": 20_000, "checkpoint_every": 20_000, "log_every": 1000,
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
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo_gan.networks import (
        MLPDiscriminator,
        MLPGenerator,
        PacGANToyDiscriminator,
        PacGANToyGenerator,
        PointGenerator,
    )

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
