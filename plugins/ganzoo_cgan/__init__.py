"""Conditional GAN (Mirza & Osindero 2014) as a ganzoo plugin.

Both players see the class label y: the generator draws G(z, y), the discriminator judges D(x, y),
and the game is otherwise the GAN's (section 3.2, equation 2). The variant declares
``labelled-images`` data, which makes it conditional: the engine refuses a dataset without labels,
draws sample grids with a row per class, and ``ganzoo sample RUN --class K`` (or ``--class all``)
picks the digits.

Networks: by default the DCGAN pair conditioned as section 3.2 says (y as an additional input of
both players); ``--set model.architecture=mlp`` builds the paper's MNIST networks of section 4.1
(ReLU generator 200/1000 → 1200, maxout discriminator 240×5 / 50×5 → 240×4, dropout 0.5), which
learn the classes far more slowly: over 1,500 updates they collapse to one image per class.

Optimiser: the paper's SGD (learning rate 0.1 divided by 1.00004 every update, momentum 0.5 rising
to 0.7) diverged within a few hundred updates in our PyTorch reimplementation of its networks, so
both players use Adam(2e-4, β1 = 0.5) as DCGAN does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.bounds import POSITIVE, bounded, in_range

NAME = "cgan"


@dataclass
class CGANParams:
    """The paper's noise and MNIST layer sizes (section 4.1), and the DCGAN widths and optimiser."""

    #: Size of z ("a noise prior z with dimensionality 100").
    latent_dim: int = bounded(100, POSITIVE)
    #: ``normal``: z ~ N(0, I) as DCGAN draws it; ``uniform``: z ~ U[0, 1]^100, the paper's prior ("drawn
    #: from a uniform distribution within the unit hypercube"), which with the DCGAN networks collapsed
    #: to a few classes in the runs that ``normal`` learned all ten (tests/test_variant_cgan.py).
    noise: Literal["normal", "uniform"] = "normal"
    #: ``conv``: DCGAN networks with y as an extra input; ``mlp``: the paper's MNIST MLPs.
    architecture: Literal["conv", "mlp"] = "conv"
    #: Widths of the DCGAN networks (``conv``).
    ngf: int = bounded(64, POSITIVE)
    ndf: int = bounded(64, POSITIVE)
    #: Generator hidden sizes (``mlp``): z → 200, y → 1000, joint → 1200.
    z_hidden: int = bounded(200, POSITIVE)
    y_hidden: int = bounded(1000, POSITIVE)
    joint_hidden: int = bounded(1200, POSITIVE)
    #: Discriminator maxout layers (``mlp``): units and pieces of the x, y and joint layers.
    x_units: int = bounded(240, POSITIVE)
    x_pieces: int = bounded(5, POSITIVE)
    y_units: int = bounded(50, POSITIVE)
    y_pieces: int = bounded(5, POSITIVE)
    joint_units: int = bounded(240, POSITIVE)
    joint_pieces: int = bounded(4, POSITIVE)
    #: "Dropout with probability of 0.5 was applied to both the generator and discriminator" (``mlp``).
    dropout: float = bounded(0.5, in_range(0, 1))
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
            summary="conditional GAN: generator and discriminator both see the class label",
            paper=Paper("Conditional Generative Adversarial Nets", "Mirza & Osindero", 2014, "https://arxiv.org/abs/1411.1784"),
            data_kind="labelled-images",
            params=CGANParams,
            default_dataset="mnist",
            roles={"generator": ("generator",), "discriminator": ("discriminator",)},
            profiles={
                # About 5 minutes on a 2-core CPU: 28 px MNIST, half the DCGAN widths, a row per digit.
                "demo": {
                    "steps": 3000, "batch_size": 64, "model.ngf": 32, "model.ndf": 32,
                    "grid_size": 100, "sample_every": 500, "checkpoint_every": 500, "log_every": 100,
                },
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo_cgan import networks as nets

    p = config.model
    if p.architecture == "mlp":
        generator = nets.ConditionalGenerator(
            p.latent_dim, data.num_classes, data.shape, p.z_hidden, p.y_hidden, p.joint_hidden, p.dropout
        )
        discriminator = nets.ConditionalDiscriminator(
            data.shape, data.num_classes, p.x_units, p.x_pieces, p.y_units, p.y_pieces,
            p.joint_units, p.joint_pieces, p.dropout,
        )
        return {"generator": generator, "discriminator": discriminator}
    channels, height, width = data.shape
    if height != width:
        from ganzoo.errors import UserError

        raise UserError(f"cgan needs square images, got {height}×{width}; pass --image-size to resize them")
    return {
        "generator": nets.ConditionalConvGenerator(p.latent_dim, data.num_classes, data.shape, p.ngf),
        "discriminator": nets.ConditionalConvDiscriminator(data.shape, data.num_classes, p.ndf),
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


def noise(n: int, p, device, generator=None):
    """The prior of z: uniform in the unit hypercube (the paper) or standard normal."""
    import torch

    if p.noise == "uniform":
        return torch.rand(n, p.latent_dim, generator=generator, device=device)
    return torch.randn(n, p.latent_dim, generator=generator, device=device)


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    from ganzoo.parts.losses import adversarial_loss

    G, D = ctx.networks["generator"], ctx.networks["discriminator"]
    real, labels = ctx.batch["real"], ctx.batch["label"]
    if "fake" not in ctx.cache:
        # fakes of the same classes as the real batch, so both halves of D's game share one y
        ctx.cache["fake"] = G(noise(real.shape[0], ctx.config.model, real.device), labels)
    fake = ctx.cache["fake"]
    loss = adversarial_loss(ctx.config.model.loss)
    if player == "discriminator":
        # maximise log D(x|y) + log(1 - D(G(z|y)|y))  (equation 2)
        return loss.discriminator_terms(D(real, labels), D(fake.detach(), labels))
    # non-saturating generator loss by default: maximise log D(G(z|y)|y)
    return {"adv": loss.generator_loss(D(fake, labels))}


@hookimpl
def ganzoo_sample(variant, networks, config, n, labels, generator, device):
    if variant.name != NAME:
        return None
    if labels is None:
        from ganzoo.errors import UserError

        raise UserError("cgan draws images of given classes: pass labels (ganzoo sample RUN --class K or --class all)")
    # one sample per label: a grid of whole rows per class may hold fewer than n images
    z = noise(labels.shape[0], config.model, device, generator)
    return networks["generator"](z, labels.to(device))
