"""WGAN (Arjovsky, Chintala & Bottou 2017) as a ganzoo plugin: the critic's weights clipped to a box.

Algorithm 1 with the defaults of the authors' code (martinarjovsky/WassersteinGAN ``main.py``):
RMSProp with a learning rate of 5e-5 for both players, clipping c = 0.01, n_critic = 5, batch 64,
z of 100 Gaussian values. Every critic update first clamps every critic parameter (BatchNorm's
included) to [−c, c], then maximises E[f(x)] − E[f(g(z))] on a fresh real batch and fresh noise,
real and fake in separate passes; the generator then minimises −E[f(g(z))] on fresh noise.

The code's critic warm-up, which the paper leaves out: the critic makes 100 updates instead of
n_critic while the generator has made fewer than 25 steps, and at every 500th generator step
("so that the critic is trained to optimality", the code's comment on ``Diters``). The schedule's
``repeats`` is a function of the step for it.

The loss keeps the paper's sign (the code's critic maximises the fake score instead; f ↦ −f gives
the same game). The critic's estimate of the Wasserstein distance, E[f(x)] − E[f(g(z))] on the last
critic batch of each iteration, is logged as ``critic/wasserstein``: the paper's Figure 3 plots it
falling as the samples improve.

The ``demo`` profile deviates from the paper: RMSProp at 2e-4 instead of 5e-5 (at 5e-5 the samples
of a reduced re-implementation were still noise after 400 generator steps on a 2-core CPU; at 2e-4
they were diverse digits after 1,500), with narrower networks, batch 32, the warm-up's 100 critic
updates for the first 5 generator steps instead of 25 (with the paper's batch and warm-up the demo
took about 18 minutes of one CPU thread), and MNIST at 32 px. Clipping and n_critic stay the paper's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.bounds import POSITIVE, bounded

NAME = "wgan"


@dataclass
class WGANParams:
    """The code's command-line defaults (``main.py``), named as Algorithm 1 names them."""

    #: Clipping parameter c: every critic weight is clamped to [−c, c] (``--clamp_lower/upper``).
    clip: float = bounded(0.01, POSITIVE)
    #: Critic updates per generator update (``--Diters``).
    n_critic: int = bounded(5, POSITIVE)
    #: The code's warm-up: ``warmup_critic_steps`` critic updates while the generator has made fewer
    #: than ``warmup_generator_steps`` steps and at every ``warmup_every``-th generator step.
    warmup_critic_steps: int = bounded(100, POSITIVE)
    warmup_generator_steps: int = bounded(25, POSITIVE)
    warmup_every: int = bounded(500, POSITIVE)
    #: RMSProp learning rates α of the critic and the generator (``--lrD``, ``--lrG``).
    lr_critic: float = bounded(5e-5, POSITIVE)
    lr_generator: float = bounded(5e-5, POSITIVE)
    #: Size of z (``--nz``).
    latent_dim: int = bounded(100, POSITIVE)
    #: Width of the generator and critic: the finest DCGAN layer's channels, or the MLP's units.
    ngf: int = bounded(64, POSITIVE)
    ndf: int = bounded(64, POSITIVE)
    #: ``dcgan`` (the code's default) or ``mlp`` (``--mlp_G --mlp_D``).
    architecture: Literal["dcgan", "mlp"] = "dcgan"


def critic_updates(params: WGANParams):
    """The number of critic updates of the iteration after ``step`` generator steps (``Diters``)."""

    def repeats(step: int) -> int:
        if step < params.warmup_generator_steps or step % params.warmup_every == 0:
            return params.warmup_critic_steps
        return params.n_critic

    return repeats


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="Wasserstein GAN: critic weights clipped to [-c, c], RMSProp, 5 critic steps per generator step",
            paper=Paper("Wasserstein GAN", "Arjovsky, Chintala & Bottou", 2017, "https://arxiv.org/abs/1701.07875"),
            data_kind="images",
            params=WGANParams,
            default_dataset="mnist",
            roles={"generator": ("generator",), "discriminator": ("critic",)},
            profile_notes={
                "demo": "deviates from the paper: RMSProp at 2e-4, not 5e-5 (at 5e-5 the samples were still noise "
                        "after 400 generator steps on a 2-core CPU), half-width networks, batch 32, the critic's "
                        "100-update warm-up for the first 5 generator steps (not 25); MNIST at 32 px",
                "mlp": "the paper's MLP generator and critic: 3 hidden ReLU layers of 512 units",
            },
            profiles={
                # The paper's MLP generator: "a 4-layer ReLU-MLP with 512 hidden units" (section 4.3).
                "mlp": {"model.architecture": "mlp", "model.ngf": 512, "model.ndf": 512},
                # Deviates from the paper: RMSProp at 2e-4, not 5e-5 (5e-5 was still noise after
                # 400 generator steps on a 2-core CPU), half-width networks, batch 32 and the warm-up
                # for the first 5 generator steps; MNIST at 32 px. With the paper's batch 64 and
                # warm-up it measured 0.57 s of one thread's CPU time per generator step, about 18
                # minutes for 1,500 steps; as here, 1,500 steps took 6 min 12 s (seed 0; 16 min of
                # wall time on a 2-core machine shared with about five busy processes) and drew
                # diverse digits.
                "demo": {
                    "steps": 1500, "batch_size": 32, "image_size": 32, "model.ngf": 32, "model.ndf": 32,
                    "model.lr_critic": 2e-4, "model.lr_generator": 2e-4, "model.warmup_generator_steps": 5,
                    "sample_every": 500, "checkpoint_every": 500, "log_every": 50,
                },
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo_wgan.networks import MLPCritic, MLPGenerator, check_image_size

    p = config.model
    channels, height, width = data.shape
    check_image_size(height, width)
    if p.architecture == "mlp":
        return {"generator": MLPGenerator(p.latent_dim, data.shape, p.ngf), "critic": MLPCritic(data.shape, p.ndf)}
    from ganzoo_dcgan.networks import DCGANDiscriminator, DCGANGenerator

    return {
        "generator": DCGANGenerator(p.latent_dim, channels, height, p.ngf),
        "critic": DCGANDiscriminator(channels, height, p.ndf, norm="batch"),
    }


@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.engine.schedules import parameters_of

    p = config.model

    def rmsprop(name: str, lr: float) -> torch.optim.RMSprop:
        return torch.optim.RMSprop(parameters_of(networks, [name]), lr=lr)  # the code's: torch's defaults

    return Schedule(
        players=[
            # Algorithm 1, lines 2-8: n_critic updates (100 during the warm-up), each on fresh data
            Player("critic", ("critic",), rmsprop("critic", p.lr_critic), repeats=critic_updates(p), fresh_batch=True),
            Player("generator", ("generator",), rmsprop("generator", p.lr_generator)),
        ]
    )


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.parts.regularisers import clip_weights_

    G, D = ctx.networks["generator"], ctx.networks["critic"]
    real = ctx.batch["real"]
    z = torch.randn(real.shape[0], ctx.config.model.latent_dim, device=real.device)
    D.requires_grad_(player == "critic")  # the generator's update asks for no critic gradients
    if player == "critic":
        clip_weights_(D, ctx.config.model.clip)  # main.py clamps before each critic forward pass
        with torch.no_grad():
            fake = G(z)
        # real and fake in separate passes, as the code does: BatchNorm normalises each on its own
        real_score, fake_score = D(real).mean(), D(fake.to(real.dtype)).mean()
        return {"adv": fake_score - real_score}  # −(E[f(x)] − E[f(g(z))]), Algorithm 1 line 7
    return {"adv": -D(G(z)).mean()}  # Algorithm 1 line 10


@hookimpl(wrapper=True)
def ganzoo_train_step(variant, ctx):
    """After each iteration: log the critic's Wasserstein estimate by name and clip the critic.

    main.py clamps at the start of the next critic update, which is the next use of the critic
    after the generator's step; clamping here instead is the same arithmetic and keeps every saved
    critic inside [−c, c]."""
    terms = yield
    if variant.name == NAME:
        from ganzoo.parts.regularisers import clip_weights_

        clip_weights_(ctx.networks["critic"], ctx.config.model.clip)
        if "critic/adv" in terms:
            terms["critic/wasserstein"] = -terms["critic/adv"]
    return terms
