"""DCGAN (Radford, Metz & Chintala 2016) as a ganzoo plugin.

The networks are those of PyTorch's official DCGAN example (``nz = 100``, ``ngf = ndf = 64``,
transposed-convolution generator with BatchNorm and ReLU, strided-convolution discriminator with
LeakyReLU 0.2 and BatchNorm, N(0, 0.02) initialisation), trained as the example trains them: Adam
with learning rate 2e-4 and β1 = 0.5, one discriminator update (real and fake batches through
separate forward passes) then one generator update with the non-saturating loss on the same fakes.
The demo profile departs from that recipe to learn within minutes on a CPU: a doubled step,
decayed linearly to zero over the second half of its run (``model.lr_decay``; the paper profile
keeps the constant step).

The exact reference model is built at 64×64 with 3 channels::

    ganzoo info dcgan --image-size 64 --set data.channels=3
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.bounds import POSITIVE, bounded, in_range

NAME = "dcgan"


@dataclass
class DCGANParams:
    """Hyper-parameters as the example's command line names them (Radford et al. 2016, section 4)."""

    #: Size of the latent vector z (``nz``).
    latent_dim: int = bounded(100, POSITIVE)
    #: Channels of the generator's finest hidden layer (``ngf``); each coarser layer doubles it.
    ngf: int = bounded(64, POSITIVE)
    #: Channels of the discriminator's first layer (``ndf``); each coarser layer doubles it.
    ndf: int = bounded(64, POSITIVE)
    #: Adam learning rate (section 4: "we used a learning rate of 0.0002").
    lr: float = bounded(2e-4, POSITIVE)
    #: Adam β1 (section 4: "reducing β1 to 0.5 helped stabilize training").
    beta1: float = bounded(0.5, in_range(0, 1))
    beta2: float = bounded(0.999, in_range(0, 1))
    #: Adversarial loss by name (``ganzoo info`` lists the choices; plugins add more): the paper's
    #: is ``non-saturating``, D's cross-entropy with G maximising log D(G(z)).
    loss: str = "non-saturating"
    #: Share of the run, at its end, over which both learning rates fall linearly to zero; 0 keeps
    #: them constant, as the paper does. A decayed step settles the last iterate, the one sampled
    #: (the schedule of SNGAN's and CycleGAN's code; ``ganzoo.engine.schedules.linear_decay``).
    lr_decay: float = bounded(0.0, in_range(0, 1, closed="[]"))


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="deep convolutional GAN: transposed-conv generator, strided-conv discriminator, BatchNorm",
            paper=Paper(
                "Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks",
                "Radford, Metz & Chintala", 2016, "https://arxiv.org/abs/1511.06434",
            ),
            data_kind="images",
            params=DCGANParams,
            default_dataset="mnist",
            roles={"generator": ("generator",), "discriminator": ("discriminator",)},
            profiles={
                # About 5 minutes on a 2-core CPU: MNIST at 32 px, half the reference widths, twice
                # the paper's step for the first half of the run, then decayed to zero.
                "demo": {
                    "steps": 4000, "batch_size": 64, "image_size": 32, "model.ngf": 32, "model.ndf": 32,
                    "model.lr": 4e-4, "model.lr_decay": 0.5,
                    "sample_every": 500, "checkpoint_every": 500, "log_every": 100,
                },
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo_dcgan.networks import DCGANDiscriminator, DCGANGenerator

    p = config.model
    channels, height, width = data.shape
    if height != width:
        from ganzoo.errors import UserError

        raise UserError(f"dcgan needs square images, got {height}×{width}; pass --image-size to resize them")
    return {
        "generator": DCGANGenerator(p.latent_dim, channels, height, p.ngf),
        "discriminator": DCGANDiscriminator(channels, height, p.ndf),
    }


@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != NAME:
        return None
    from ganzoo.engine.schedules import adam, linear_decay

    p = config.model
    betas = (p.beta1, p.beta2)
    players = []
    for name in ("discriminator", "generator"):
        optimizer = adam(networks, [name], p.lr, betas)
        decay = linear_decay(optimizer, config.steps, round(config.steps * p.lr_decay)) if p.lr_decay else None
        players.append(Player(name, (name,), optimizer, lr_scheduler=decay))
    return Schedule(players=players)


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.parts.losses import adversarial_loss

    G, D = ctx.networks["generator"], ctx.networks["discriminator"]
    real = ctx.batch["real"]
    if "fake" not in ctx.cache:
        z = torch.randn(real.shape[0], ctx.config.model.latent_dim, device=real.device)
        ctx.cache["fake"] = G(z)
    fake = ctx.cache["fake"]
    loss = adversarial_loss(ctx.config.model.loss)
    if player == "discriminator":
        # real and fake through separate forward passes, as the example does, so each batch is
        # normalised by its own BatchNorm statistics
        return loss.discriminator_terms(D(real), D(fake.detach()))
    # the generator's loss on the same fakes (non-saturating: Goodfellow et al. 2014, section 3)
    return {"adv": loss.generator_loss(D(fake))}
