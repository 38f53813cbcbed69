"""SNGAN (Miyato, Kataoka, Koyama & Yoshida 2018) as a ganzoo plugin, built from ganzoo's parts.

"Spectral Normalization for Generative Adversarial Networks": every layer of the discriminator is
divided by its spectral norm, estimated by one power iteration per update
(:func:`ganzoo.parts.layers.spectral_norm`). The defaults are the CIFAR-10 ResNet setting of the
authors' code (pfnet-research/sngan_projection, ``configs/sn_cifar10_unconditional.yml``): the
ResNet generator (``ch = 256``) and discriminator (``ch = 128``) of appendix B.4, the ``hinge``
loss, ``n_dis = 5`` discriminator updates per generator update, Adam(α = 2e-4, β1 = 0, β2 = 0.9),
the learning rate decayed linearly to zero over the run (the code's ``LinearShift`` from iteration
0), and generator updates on twice the batch (``n_gen_samples = 128`` for a batch of 64).

Order of play, as the code's updater: one generator update on fresh noise, then ``n_dis``
discriminator updates, each on a fresh real batch and fresh fakes.

``--set model.architecture=cnn`` builds the paper's standard CNN (Table 3) instead.
``--set model.conditional=true`` makes it class-conditional with the projection discriminator
(Miyato & Koyama 2018, "cGANs with Projection Discriminator"): conditional BatchNorm in the
generator, ⟨embed(y), h⟩ in the discriminator; fakes are drawn for uniformly random classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl

NAME = "sngan"


@dataclass
class SNGANParams:
    """The CIFAR-10 settings of the authors' code (``sn_cifar10_unconditional.yml``)."""

    #: Size of z (``dim_z``), drawn from N(0, I).
    latent_dim: int = 128
    #: ``resnet`` (appendix B.4, the code's CIFAR-10 models) or ``cnn`` (the standard CNN, Table 3).
    architecture: Literal["resnet", "cnn"] = "resnet"
    #: Channels of the generator's blocks (``ch`` of ``ResNetGenerator``; the CNN's widest layer is 512).
    g_channels: int = 256
    #: Channels of the discriminator's blocks (``ch`` of ``SNResNetProjectionDiscriminator``; CNN: 64).
    d_channels: int = 128
    #: Class-conditional with the projection discriminator (needs labelled data).
    conditional: bool = False
    #: Adversarial loss by name (``ganzoo info`` lists the choices): the code's ``loss_type: hinge``.
    loss: str = "hinge"
    #: Discriminator updates per generator update (``n_dis``).
    n_dis: int = 5
    #: Adam's α, β1, β2 for both networks.
    lr: float = 2e-4
    beta1: float = 0.0
    beta2: float = 0.9
    #: Decay both learning rates linearly to zero over the run (the code's ``LinearShift``).
    lr_decay: bool = True
    #: The generator's batch as a multiple of the data batch (``n_gen_samples = 128`` for 64).
    generator_batch_ratio: int = 2


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="spectrally normalised discriminator, ResNet networks, hinge loss, 5 D steps per G step",
            paper=Paper("Spectral Normalization for Generative Adversarial Networks", "Miyato et al.", 2018,
                        "https://arxiv.org/abs/1802.05957"),
            data_kind="images",
            params=SNGANParams,
            default_dataset="mnist",
            roles={"generator": ("generator",), "discriminator": ("discriminator",)},
            conditional_option="conditional",
            profile_notes={
                "demo": "deviates from the paper: 28 px digits, blocks of 32 channels (not 256/128), batch 32, "
                        "n_dis = 1 (not 5) on a G batch of 32 (not twice the batch), Adam at 1e-3 (not 2e-4), "
                        "decayed to zero over 1,200 steps, to learn digits in minutes on a 2-core CPU",
            },
            profiles={
                # About 5 minutes on a 2-core CPU: the digits at their own 28 px (7×7 → 14 → 28 in G),
                # blocks of 32 channels, batch 32, one D step per G step on a G batch of the same
                # size, and a step of 1e-3 decayed linearly to zero (the code's schedule). Measured
                # with one thread on a busy machine (load 5 on 2 cores): 2,000 steps of these settings
                # took 476 s of CPU time (≈ 235 ms a step, checkpoints included), so 1,200 take about
                # 285 s. Scored by the shipped digit classifier (500 samples), that run had a mean
                # confidence of 0.84 after 250 steps, 0.89 after 1,000 and 0.91 after 2,000, every
                # digit present. (At 16 px the classifier reads even real digits with 0.66.) The demo
                # run itself (seed 0) took 652 s of wall time at that load and scored 0.89 on 5,000
                # samples (docs/evaluation.md).
                "demo": {
                    "steps": 1200, "batch_size": 32, "image_size": 28, "model.g_channels": 32,
                    "model.d_channels": 32, "model.n_dis": 1, "model.generator_batch_ratio": 1,
                    "model.lr": 1e-3, "sample_every": 400, "checkpoint_every": 400, "log_every": 100,
                },
            },
        )
    ]


def is_conditional(generator) -> bool:
    return getattr(generator, "num_classes", 0) > 0


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo.errors import UserError
    from ganzoo_sngan import networks as nets

    p = config.model
    classes = 0
    if p.conditional:
        if data.num_classes < 2:
            raise UserError("model.conditional=true needs class labels; use a labelled dataset such as mnist or cifar10")
        classes = data.num_classes
    try:
        if p.architecture == "cnn":
            generator = nets.StandardCNNGenerator(p.latent_dim, data.shape)
            discriminator = nets.StandardCNNDiscriminator(data.shape, num_classes=classes)
            generator.num_classes = classes  # the CNN generator ignores y (Table 3 is unconditional)
        else:
            generator = nets.ResNetGenerator(p.latent_dim, data.shape, p.g_channels, num_classes=classes)
            discriminator = nets.ResNetDiscriminator(data.shape, p.d_channels, num_classes=classes)
    except ValueError as exc:
        raise UserError(f"sngan cannot take image size {data.shape[1]}×{data.shape[2]}: {exc}; pass --image-size 32") from None
    return {"generator": generator, "discriminator": discriminator}


@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != NAME:
        return None
    from ganzoo.engine.schedules import adam, linear_decay

    p = config.model
    betas = (p.beta1, p.beta2)
    players = [
        Player("generator", ("generator",), adam(networks, ["generator"], p.lr, betas)),
        Player("discriminator", ("discriminator",), adam(networks, ["discriminator"], p.lr, betas),
               repeats=p.n_dis, fresh_batch=True),
    ]
    if p.lr_decay:
        for player in players:
            player.lr_scheduler = linear_decay(player.optimizer, config.steps, config.steps)
    return Schedule(players=players)


def draw(n: int, latent_dim: int, num_classes: int, device, generator=None):
    """z ~ N(0, I) and, when conditional, classes drawn uniformly (the code's ``sample_categorical``)."""
    import torch

    z = torch.randn(n, latent_dim, generator=generator, device=device)
    labels = torch.randint(num_classes, (n,), generator=generator, device=device) if num_classes else None
    return z, labels


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.parts.losses import adversarial_loss

    p = ctx.config.model
    G, D = ctx.networks["generator"], ctx.networks["discriminator"]
    classes = getattr(G, "num_classes", 0)
    real = ctx.batch["real"]
    loss = adversarial_loss(p.loss)
    # the generator's update needs gradients through D, not of D's weights
    D.requires_grad_(player == "discriminator")
    if player == "generator":
        z, labels = draw(real.shape[0] * p.generator_batch_ratio, p.latent_dim, classes, real.device)
        return {"adv": loss.generator_loss(D(G(z, labels), labels))}
    z, fake_labels = draw(real.shape[0], p.latent_dim, classes, real.device)
    with torch.no_grad():
        fake = G(z, fake_labels)
    real_labels = ctx.batch["label"] if classes else None
    return loss.discriminator_terms(D(real, real_labels), D(fake, fake_labels))


@hookimpl
def ganzoo_sample(variant, networks, config, n, labels, generator, device):
    if variant.name != NAME:
        return None
    G = networks["generator"]
    z, drawn = draw(n if labels is None else labels.shape[0], config.model.latent_dim, getattr(G, "num_classes", 0),
                    device, generator)
    if labels is not None and getattr(G, "num_classes", 0):
        drawn = labels.to(device)
    return G(z, drawn)
