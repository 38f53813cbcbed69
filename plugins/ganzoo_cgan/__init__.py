"""Conditional GAN (Mirza & Osindero 2014) as a ganzoo plugin.

Both players see the class label y: the generator draws G(z, y), the discriminator judges D(x, y),
and "the adversarial training framework" is otherwise the GAN's (section 3.2, equation 2). The
variant declares ``labelled-images`` data, which makes it conditional: the engine refuses a dataset
without labels, draws sample grids with a row per class, and ``ganzoo sample RUN --class K`` (or
``--class all``) picks the digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl

NAME = "cgan"


@dataclass
class CGANParams:
    """Section 4.1 of the paper (MNIST): layer sizes, dropout, noise and the SGD schedule."""

    #: Size of z ("a noise prior z with dimensionality 100").
    latent_dim: int = 100
    #: ``uniform``: z ~ U[0, 1]^100 ("drawn from a uniform distribution within the unit hypercube").
    noise: Literal["uniform", "normal"] = "uniform"
    z_hidden: int = 200
    y_hidden: int = 1000
    joint_hidden: int = 1200
    #: Discriminator maxout layers: units and pieces of the x, y and joint layers.
    x_units: int = 240
    x_pieces: int = 5
    y_units: int = 50
    y_pieces: int = 5
    joint_units: int = 240
    joint_pieces: int = 4
    #: "Dropout with probability of 0.5 was applied to both the generator and discriminator."
    dropout: float = 0.5
    #: ``sgd`` is the paper's schedule below; ``adam`` uses Adam(lr, (beta1, beta2)) at a constant rate.
    optimizer: Literal["sgd", "adam"] = "sgd"
    #: Initial learning rate (0.1), divided by ``lr_decay`` every update down to ``min_lr``.
    lr: float = 0.1
    lr_decay: float = 1.00004
    min_lr: float = 1e-6
    #: SGD momentum, raised linearly to ``final_momentum`` over ``momentum_saturate`` updates.
    momentum: float = 0.5
    final_momentum: float = 0.7
    momentum_saturate: int = 125_000
    beta1: float = 0.5
    beta2: float = 0.999


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
            profiles={
                # "mini-batches of size 100"
                "paper": {"batch_size": 100},
                # About 5 minutes on a 2-core CPU; a row per digit in every grid.
                "demo": {
                    "steps": 6000, "batch_size": 100, "model.optimizer": "adam", "model.lr": 2e-4,
                    "grid_size": 100, "sample_every": 1000, "checkpoint_every": 2000, "log_every": 100,
                },
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo_cgan.networks import ConditionalDiscriminator, ConditionalGenerator

    p = config.model
    generator = ConditionalGenerator(
        p.latent_dim, data.num_classes, data.shape, p.z_hidden, p.y_hidden, p.joint_hidden, p.dropout
    )
    discriminator = ConditionalDiscriminator(
        data.shape, data.num_classes, p.x_units, p.x_pieces, p.y_units, p.y_pieces,
        p.joint_units, p.joint_pieces, p.dropout,
    )
    return {"generator": generator, "discriminator": discriminator}


def _player(name: str, networks, p) -> Player:
    import torch

    from ganzoo.engine.schedules import adam, parameters_of

    if p.optimizer == "adam":
        return Player(name, (name,), adam(networks, [name], p.lr, (p.beta1, p.beta2)))
    from ganzoo_cgan.optim import ExponentialDecayMomentumRamp

    sgd = torch.optim.SGD(parameters_of(networks, [name]), lr=p.lr, momentum=p.momentum)
    ramp = ExponentialDecayMomentumRamp(sgd, p.lr, p.lr_decay, p.min_lr, p.momentum, p.final_momentum, p.momentum_saturate)
    return Player(name, (name,), sgd, lr_scheduler=ramp)


@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != NAME:
        return None
    p = config.model
    return Schedule(players=[_player("discriminator", networks, p), _player("generator", networks, p)])


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
    import torch
    import torch.nn.functional as F

    G, D = ctx.networks["generator"], ctx.networks["discriminator"]
    real, labels = ctx.batch["real"], ctx.batch["label"]
    if "fake" not in ctx.cache:
        # fakes of the same classes as the real batch, so both halves of D's batch share one y
        ctx.cache["fake"] = G(noise(real.shape[0], ctx.config.model, real.device), labels)
    fake = ctx.cache["fake"]
    if player == "discriminator":
        # maximise log D(x|y) + log(1 - D(G(z|y)|y))  (equation 2)
        real_logits = D(real, labels)
        fake_logits = D(fake.detach(), labels)
        return {
            "real": F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)),
            "fake": F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)),
        }
    # non-saturating generator loss: maximise log D(G(z|y)|y)
    logits = D(fake, labels)
    return {"adv": F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))}


@hookimpl
def ganzoo_sample(variant, networks, config, n, labels, generator, device):
    if variant.name != NAME:
        return None
    if labels is None:
        raise ValueError("cgan draws digits of given classes: pass labels (ganzoo sample --class K|all)")
    # one sample per label: a grid of whole rows per class may hold fewer than n images
    z = noise(labels.shape[0], config.model, device, generator)
    return networks["generator"](z, labels.to(device))
