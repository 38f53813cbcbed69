"""WGAN-GP (Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville 2017) as a ganzoo plugin.

Algorithm 1 of the paper as a schedule the engine runs: ``n_critic`` critic updates, each on a fresh
real batch and fresh noise, minimising E[D(x̃)] − E[D(x)] + λ·E[(‖∇x̂ D(x̂)‖₂ − 1)²] with x̂ a random
interpolate of each real/fake pair; then one generator update minimising −E[D(G(z))]. Adam with
α = 1e-4, β1 = 0, β2 = 0.9, λ = 10, n_critic = 5. Images use the DCGAN networks with a critic
free of BatchNorm; 2-D points use the paper's toy MLPs (three ReLU layers of 512 units), and the
``toy`` profile sets what the paper's toy code sets for them::

    ganzoo run wgan-gp --dataset grid25 --profile toy
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.bounds import NON_NEGATIVE, POSITIVE, bounded, in_range
from ganzoo.protocols import pacgan_toy_profile

NAME = "wgan-gp"


@dataclass
class WGANGPParams:
    """Algorithm 1's defaults ("λ = 10, n_critic = 5, α = 0.0001, β1 = 0, β2 = 0.9")."""

    #: Gradient penalty coefficient λ.
    lambda_gp: float = bounded(10.0, NON_NEGATIVE)
    #: Critic iterations per generator iteration.
    n_critic: int = bounded(5, POSITIVE)
    #: Adam's α, β1, β2.
    lr: float = bounded(1e-4, POSITIVE)
    beta1: float = bounded(0.0, in_range(0, 1))
    beta2: float = bounded(0.9, in_range(0, 1))
    #: Size of z for images (the paper's code draws 128 Gaussian values).
    latent_dim: int = bounded(128, POSITIVE)
    #: Channels of the finest hidden layer of the DCGAN generator and critic.
    ngf: int = bounded(64, POSITIVE)
    ndf: int = bounded(64, POSITIVE)
    #: Critic normalisation: ``layer`` (the paper's recommendation and code) or ``none``.
    critic_norm: Literal["layer", "none"] = "layer"
    #: 2-D points: size of z, hidden width and depth of both MLPs (``gan_toy.py``: 2, 512, 3).
    point_latent_dim: int = bounded(2, POSITIVE)
    point_width: int = bounded(512, POSITIVE)
    point_depth: int = bounded(3, POSITIVE)
    #: 2-D points: ``mlp`` (the paper's toy MLPs above) or ``pacgan-toy`` (the networks of PacGAN's
    #: 2-D protocol, :mod:`ganzoo.parts.toy`; its maxout discriminator has no batch norm, so it is a
    #: valid critic).
    point_networks: Literal["mlp", "pacgan-toy"] = "mlp"


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="Wasserstein GAN with gradient penalty: 5 critic steps per generator step, no critic BatchNorm",
            paper=Paper("Improved Training of Wasserstein GANs", "Gulrajani et al.", 2017, "https://arxiv.org/abs/1704.00028"),
            data_kind="images",
            accepts=("labelled-images", "points"),
            params=WGANGPParams,
            default_dataset="mnist",
            roles={"generator": ("generator",), "discriminator": ("critic",)},
            profiles={
                # The paper's toy code (gan_toy.py) for ring8 / grid25: batch 256, λ = 0.1 ("smaller
                # lambda makes things faster for toy tasks") and Adam(1e-4, 0.5, 0.9) as the code sets it.
                "toy": {"batch_size": 256, "model.lambda_gp": 0.1, "model.beta1": 0.5,
                        "sample_every": 1000, "checkpoint_every": 1000, "log_every": 100},
                # PacGAN's 2-D protocol (ganzoo.protocols.PACGAN_TOY: its networks, Adam settings,
                # batch of 100 and 400,000 iterations) with WGAN-GP's own math: the Wasserstein
                # loss, λ = 10 and n_critic = 5 of Algorithm 1. With --with pacgan the penalty is
                # taken per pack (ganzoo.parts.regularisers.gradient_penalty).
                "pacgan-toy": {
                    **pacgan_toy_profile(latent_dim="model.point_latent_dim", lr="model.lr", beta1="model.beta1",
                                         beta2="model.beta2"),
                    "model.point_networks": "pacgan-toy",
                },
                # About 5 minutes on a 2-core CPU: 28 px MNIST, narrow networks and a step of 5e-4
                # (1e-4 learns digits about five times more slowly; β and λ stay the paper's).
                "demo": {
                    "steps": 2000, "batch_size": 32, "model.ngf": 24, "model.ndf": 24, "model.lr": 5e-4,
                    "sample_every": 500, "checkpoint_every": 500, "log_every": 100,
                },
            },
            profile_notes={
                "toy": "the paper's toy code (gan_toy.py): batch 256, lambda 0.1, Adam(1e-4, 0.5, 0.9)",
                "pacgan-toy": "PacGAN's 2-D networks, Adam(1e-4, 0.8, 0.999), batch 100 and 400,000 steps, with "
                              "WGAN-GP's loss, lambda 10 and 5 critic steps; with --with pacgan the penalty is per pack",
                "demo": "a step of 5e-4 (not 1e-4) and narrow networks, to learn digits in about five minutes",
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    p = config.model
    if data.kind == "points" and p.point_networks == "pacgan-toy":
        from ganzoo.parts.toy import PacGANToyDiscriminator, PacGANToyGenerator

        return {"generator": PacGANToyGenerator(p.point_latent_dim, out_dim=data.shape[0]),
                "critic": PacGANToyDiscriminator(data.shape[0])}
    if data.kind == "points":
        from ganzoo_wgan_gp.networks import ToyCritic, ToyMLP

        return {
            "generator": ToyMLP(p.point_latent_dim, data.shape[0], p.point_width, p.point_depth),
            "critic": ToyCritic(p.point_width, p.point_depth, data.shape[0]),
        }
    from ganzoo_dcgan.networks import DCGANDiscriminator, DCGANGenerator

    channels, height, width = data.shape
    if height != width:
        from ganzoo.errors import UserError

        raise UserError(f"wgan-gp needs square images, got {height}×{width}; pass --image-size to resize them")
    return {
        "generator": DCGANGenerator(p.latent_dim, channels, height, p.ngf),
        "critic": DCGANDiscriminator(channels, height, p.ndf, norm=p.critic_norm),
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
            # Algorithm 1, lines 2-9: n_critic updates, each with a fresh real batch and fresh noise
            Player("critic", ("critic",), adam(networks, ["critic"], p.lr, betas), repeats=p.n_critic, fresh_batch=True),
            Player("generator", ("generator",), adam(networks, ["generator"], p.lr, betas)),
        ]
    )


def latent_size(generator, config) -> int:
    """The generator's input size (both network families record it as ``latent_dim``)."""
    from ganzoo_wgan_gp.penalty import eager

    return int(getattr(eager(generator), "latent_dim", config.model.latent_dim))


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.parts.losses import wasserstein_discriminator
    from ganzoo_wgan_gp.penalty import gradient_penalty

    G, D = ctx.networks["generator"], ctx.networks["critic"]
    real = ctx.batch["real"]
    z = torch.randn(real.shape[0], latent_size(G, ctx.config), device=real.device)
    # The generator's update needs gradients through the critic, not of its weights: the paper's
    # code asks only for the generator's (``gen_params``), so the critic is frozen for that pass.
    D.requires_grad_(player == "critic")
    if player == "critic":
        with torch.no_grad():
            fake = G(z)
        # one pass over real and fake together: the critic has no batch statistics to keep apart
        scores = D(torch.cat([real, fake.to(real.dtype)]))
        # halves, not real.shape[0] rows: a packing critic (--with pacgan) gives one score per pack
        real_scores, fake_scores = scores.chunk(2)
        real_term, fake_term = wasserstein_discriminator(real_scores, fake_scores)
        return {
            "adv": fake_term + real_term,  # E[D(x̃)] − E[D(x)]
            "gp": ctx.config.model.lambda_gp * gradient_penalty(D, real, fake),
        }
    # Algorithm 1, line 11: minimise -E[D(G(z))] on fresh noise
    return {"adv": -D(G(z)).mean()}


@hookimpl
def ganzoo_sample(variant, networks, config, n, generator, device):
    if variant.name != NAME:
        return None
    import torch

    G = networks["generator"]
    z = torch.randn(n, latent_size(G, config), generator=generator, device=device)
    return G(z)
