"""CoGAN (Liu & Tuzel 2016) as a ganzoo plugin: two GANs that share weights learn a joint
distribution of two domains from unpaired images.

The generators share their first layers and have their own last layer; the discriminators have their
own first layer and share the rest (section 3). One z feeds both generators, so row i of domain A
and row i of domain B are the same concept rendered twice. Training is the code's
(mingyuliutw/CoGAN ``trainer_cogan_mnistedge.py``): Adam(2e-4, β = (0.5, 0.999)) with weight decay
5e-4 for both players, batch 64, z ~ N(0, I) of 100 values; one discriminator update on a real batch
of each domain and the fakes of one z, then one generator update on the fakes of a fresh z with the
non-saturating loss (the code's two-class cross-entropy with the fakes labelled real). The code
trains for 5,000 iterations.

Samples: the coupled generator returns both domains stacked along the channels (``joint_domains``),
``ganzoo sample RUN --out pairs.npz`` writes them as ``images_A`` and ``images_B`` and the grids
show each pair side by side.

The ``demo`` profile deviates from the paper: the generator's channels are a quarter of the code's
(width 32 instead of 128, so 256-128-64-32) to train in minutes on a 2-core CPU, on
``digits-negatives``, for 750 steps (the code trains 5,000); the discriminator, optimiser and batch
are the paper's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from ganzoo import DatasetSpec, MetricSpec, Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.bounds import NON_NEGATIVE, POSITIVE, bounded, in_range

NAME = "cogan"


@dataclass
class CoGANParams:
    """The code's settings for the digit experiments."""

    #: Size of z (``latent_dims``).
    latent_dim: int = bounded(100, POSITIVE)
    #: Channels of the generator's last shared layer; the others are 2×, 4×, 8× (the code: 128).
    width: int = bounded(128, POSITIVE)
    #: Adam's learning rate, betas and weight decay (both players).
    lr: float = bounded(2e-4, POSITIVE)
    beta1: float = bounded(0.5, in_range(0, 1))
    beta2: float = bounded(0.999, in_range(0, 1))
    weight_decay: float = bounded(5e-4, NON_NEGATIVE)


@hookimpl
def ganzoo_datasets():
    from ganzoo_cogan import data

    return [
        DatasetSpec("digits-edges", "embedded digits split in half: digits (A) vs edge images dilate(x) - x of the "
                    "other half (B), unpaired (no download)", "unpaired-images", partial(data.build, "digits-edges"),
                    embedded=True, shape=(1, 28, 28)),
        DatasetSpec("digits-negatives", "embedded digits split in half: digits (A) vs negatives 1 - x of the other "
                    "half (B), unpaired (no download)", "unpaired-images", partial(data.build, "digits-negatives"),
                    embedded=True, shape=(1, 28, 28)),
    ]


@hookimpl
def ganzoo_metrics():
    def pair_agreement(run, **options):
        from ganzoo_cogan.metrics import pair_agreement

        return pair_agreement(run, **options)

    return [
        MetricSpec("pair-agreement", "share of CoGAN pairs (one z) whose A image and inverted B image the digit "
                   "classifier reads as the same digit, digits drawn in A", ("unpaired-images",), pair_agreement,
                   datasets=("digits-negatives",)),
    ]


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="coupled GANs: weight-shared generators and discriminators learn two domains jointly from unpaired images",
            paper=Paper("Coupled Generative Adversarial Networks", "Liu & Tuzel", 2016, "https://arxiv.org/abs/1606.07536"),
            data_kind="unpaired-images",
            params=CoGANParams,
            default_dataset="digits-negatives",
            roles={"generator": ("generator",), "discriminator": ("discriminator",)},
            joint_domains=("A", "B"),
            profile_notes={
                "demo": "deviates from the paper: the generator has a quarter of the code's channels (256-128-64-32), "
                        "to train in minutes on a 2-core CPU, and 750 steps (the code: 5,000); discriminator, optimiser "
                        "and batch are the paper's",
            },
            profiles={
                # Deviates from the paper: a quarter of the generator's channels, to train in minutes
                # on a 2-core CPU; the discriminator, optimiser and batch stay the paper's. Measured:
                # 0.4 s of one thread's CPU time per step (1,500 steps would take 10 minutes), so
                # 750 steps; seed 0 took 5 min 9 s and drew pairs of the same digit (the classifier's
                # reading of A and of B's inverse agreed for 75 % of 1,000 pairs, all ten digits).
                # Over seeds 0-2 (scripts/eval_table.py, pair-agreement): 76.7 ± 2.3 % of pairs.
                "demo": {"steps": 750, "batch_size": 64, "model.width": 32,
                         "sample_every": 250, "checkpoint_every": 250, "log_every": 50},
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo_cogan.networks import CoupledDiscriminator, CoupledGenerator, check_image_size

    channels, height, width = data.shape
    check_image_size(height, width)
    p = config.model
    return {"generator": CoupledGenerator(p.latent_dim, channels, p.width), "discriminator": CoupledDiscriminator(channels)}


@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != NAME:
        return None
    from ganzoo.engine.schedules import adam

    p = config.model
    betas = (p.beta1, p.beta2)
    return Schedule(
        players=[
            Player("discriminator", ("discriminator",), adam(networks, ["discriminator"], p.lr, betas, p.weight_decay)),
            Player("generator", ("generator",), adam(networks, ["generator"], p.lr, betas, p.weight_decay)),
        ]
    )


def draw_z(n: int, latent_dim: int, device, generator=None):
    """z ~ N(0, I), as the code's training script draws it (``torch.randn``)."""
    import torch

    return torch.randn(n, latent_dim, device=device, generator=generator)


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.parts.losses import adversarial_loss

    G, D = ctx.networks["generator"], ctx.networks["discriminator"]
    real_a, real_b = ctx.batch["A"], ctx.batch["B"]
    z = draw_z(real_a.shape[0], ctx.config.model.latent_dim, real_a.device)  # one z for both domains
    loss = adversarial_loss("non-saturating")  # the code's two-class cross-entropy
    D.requires_grad_(player == "discriminator")
    if player == "discriminator":
        with torch.no_grad():
            fake_a, fake_b = G(z).chunk(2, dim=1)
        return loss.discriminator_terms(D(real_a, real_b), D(fake_a, fake_b))
    fake_a, fake_b = G(z).chunk(2, dim=1)  # fresh noise, as the training script draws it
    return {"adv": loss.generator_loss(D(fake_a, fake_b))}


@hookimpl
def ganzoo_sample(variant, networks, config, n, generator, device):
    if variant.name != NAME:
        return None
    return networks["generator"](draw_z(n, config.model.latent_dim, device, generator))
