"""LSGAN (Mao et al. 2017) as a ganzoo plugin, written as an outside package using only ganzoo's public API.

Least Squares GANs replace the sigmoid cross-entropy of the regular GAN by least squares against
target values: the discriminator pushes its output towards ``b`` on real data and ``a`` on
generated data, the generator pushes it towards ``c`` on generated data (Mao et al. 2017,
equation 2). Samples that lie on the right side of the decision boundary but far from the data
still receive a gradient, which is the paper's remedy for vanishing gradients.

The package registers itself in the entry-point group ``ganzoo`` (see ``pyproject.toml``); ganzoo
finds it on install, with no change to ganzoo.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl

__version__ = "0.1.0"

NAME = "lsgan"
PAPER = Paper("Least Squares Generative Adversarial Networks", "Mao et al.", 2017, "https://arxiv.org/abs/1611.04076")


@dataclass
class LSGANParams:
    """LSGAN's hyper-parameters; the loss targets are the paper's 0-1 coding (equation 9)."""

    #: Target of the discriminator on generated data (``a``, equation 2).
    a: float = 0.0
    #: Target of the discriminator on real data (``b``).
    b: float = 1.0
    #: The value the generator wants the discriminator to give its samples (``c``). Equation 9 sets
    #: ``a, b, c = 0, 1, 1``; equation 8 (``-1, 1, 0``) minimises the Pearson chi-squared
    #: divergence. The paper finds both perform alike and trains with equation 9 (section 3.2.3).
    c: float = 1.0
    latent_dim: int = 100
    #: Channels of the last generator block and first discriminator block (image data).
    width: int = 64
    #: Adam, beta1 = 0.5 as in the paper's experiments (section 4.1); the learning rate is DCGAN's.
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    #: Latent size and hidden width of the multi-layer perceptrons on 2-D points: the paper's
    #: mixture-of-Gaussians comparison (section 4.3) uses fully connected networks; sizes are ours.
    point_latent_dim: int = 2
    point_width: int = 128


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="Least Squares GAN: least squares targets a, b, c instead of the sigmoid cross-entropy",
            paper=PAPER,
            data_kind="images",
            accepts=("labelled-images", "points"),
            params=LSGANParams,
            default_dataset="mnist",
            roles={"generator": ("generator",), "discriminator": ("discriminator",)},
            profiles={
                "demo": {"steps": 3000, "batch_size": 64, "model.width": 32, "sample_every": 500,
                         "checkpoint_every": 1000},
                # for the 2-D mixtures: ganzoo run lsgan --dataset ring8 --profile points
                "points": {"steps": 2000, "batch_size": 256, "model.lr": 5e-4, "sample_every": 500,
                           "checkpoint_every": 1000},
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo_lsgan import networks

    p = config.model
    if data.kind == "points":
        return {
            "generator": networks.MLP(p.point_latent_dim, p.point_width, data.shape[0]),
            "discriminator": networks.MLP(data.shape[0], p.point_width, 1),
        }
    return {
        "generator": networks.ConvGenerator(p.latent_dim, data.shape, p.width),
        "discriminator": networks.ConvDiscriminator(data.shape, p.width),
    }


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


def latent_size(networks) -> int:
    """The generator's input size, so points and images share the loss and sampling code."""
    return networks["generator"].latent_dim


def discriminator_loss(real_scores, fake_scores, a: float, b: float):
    """``1/2 E[(D(x) - b)^2]`` and ``1/2 E[(D(G(z)) - a)^2]`` (Mao et al. 2017, equation 2): ganzoo's
    ``least-squares`` adversarial loss with the targets ``a`` and ``b``."""
    from ganzoo.parts.losses import adversarial_loss

    return adversarial_loss("least-squares").discriminator_terms(real_scores, fake_scores, a=a, b=b)


def generator_loss(fake_scores, c: float):
    """``1/2 E[(D(G(z)) - c)^2]`` (Mao et al. 2017, equation 2): ganzoo's ``least-squares`` with target ``c``."""
    from ganzoo.parts.losses import adversarial_loss

    return {"adv": adversarial_loss("least-squares").generator_loss(fake_scores, c=c)}


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    import torch

    p = ctx.config.model
    G, D = ctx.networks["generator"], ctx.networks["discriminator"]
    real = ctx.batch["real"]
    if "fake" not in ctx.cache:  # generated once per iteration, shared by both players
        z = torch.randn(real.shape[0], latent_size(ctx.networks), device=real.device)
        ctx.cache["fake"] = G(z)
    fake = ctx.cache["fake"]
    if player == "discriminator":
        return discriminator_loss(D(real), D(fake.detach()), p.a, p.b)
    return generator_loss(D(fake), p.c)


@hookimpl
def ganzoo_sample(variant, networks, config, n, generator, device):
    if variant.name != NAME:
        return None
    import torch

    z = torch.randn(n, latent_size(networks), generator=generator, device=device)
    return networks["generator"](z)
