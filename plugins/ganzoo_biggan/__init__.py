"""BigGAN (Brock, Donahue & Simonyan 2019) as a ganzoo plugin, built from ganzoo's parts.

"Large Scale GAN Training for High Fidelity Natural Image Synthesis" (ICLR 2019): SA-GAN's
class-conditional ResNet networks (:mod:`ganzoo_biggan.networks`) with spectral norm in both, a
shared class embedding and a hierarchical latent feeding G's conditional BNs, self-attention at
64×64, the projection discriminator, the hinge loss, orthogonal initialisation, orthogonal
regularisation of G (section 3.1), an exponential moving average of G's weights from a start step
(section 4 and appendix C) whose copy draws the samples, and the truncation trick at sampling
(section 3.1: ``ganzoo sample RUN --truncation 0.5`` redraws every |z| entry above 0.5).

Profiles and where paper and code differ:

- ``paper`` / ``imagenet128`` (the defaults): the paper's training settings (appendix C: G lr 5e-5,
  D lr 2e-4, Adam β = (0, 0.999), ε = 1e-6, two D steps per G step, orthogonal regularisation
  β = 1e-4 on G, EMA 0.9999) with the networks of ``launch_BigGAN_bs256x8.sh`` (ch 96, dim_z 120,
  shared 128, hierarchical, attention at 64): 70,433,988 / 87,982,370 parameters at 128 px and
  1,000 classes, the paper's "70.4M / 88.0M"::

      ganzoo info biggan --profile imagenet128 --shape 3,128,128 --classes 1000

- ``sagan-settings``: the settings the authors' launch script actually trains with (G lr 1e-4,
  D lr 4e-4, one D step, ``--G_ortho 0.0``: no orthogonal regularisation; their released
  checkpoints were trained so).
- ``cifar10``: the authors' ``launch_cifar_ema.sh`` (ch 64, dim_z 128, no attention, no shared
  embedding or hierarchical z, N(0, 0.02) init, lr 2e-4 for both, 4 D steps, batch 50, no
  orthogonal regularisation, EMA 0.9999 from step 1,000): 4,304,387 / 4,207,361 parameters at
  32 px and 10 classes.

Differences from the code, kept on purpose: spectral norm is torch's (one power iteration on the
weight reshaped to a matrix, ε inside the normalisation) where the code has its own with
Gram-Schmidt over ``num_svs`` vectors (one by default, the same estimate); the code's
``D_arch[32]`` lists every block's resolution as 16, so ``--D_attn 16`` there would attend after
every block, while here attention goes after the blocks whose output really has the named size;
orthogonal regularisation is the paper's term β‖WWᵀ ⊙ (1 − I)‖² added to G's loss, whose
gradient is twice the one the code adds to the weights directly (see
:func:`ganzoo.parts.regularisers.orthogonal_regularisation`): the code's ``--G_ortho 1e-4`` is
``model.ortho_beta=5e-5`` here; cross-replica BN is plain BN. Added here: a 16 px layout (the
32 px one a block shorter) for tiny images and quick tests, and ``model.shared_init_gain``, a factor
on the shared embedding's initial rows (1, the code's, by default; the ``demo`` profile's 5.66).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.bounds import NON_NEGATIVE, POSITIVE, bounded, in_range

NAME = "biggan"

#: What ``ganzoo info biggan`` says about paper, code and profiles.
NOTES = (
    "profiles paper/imagenet128 follow the paper (G lr 5e-5, D lr 2e-4, 2 D steps, ortho_beta 1e-4); "
    "sagan-settings is what the authors' launch script trains with and their released checkpoints used "
    "(1e-4/4e-4, 1 D step, --G_ortho 0.0); cifar10 is launch_cifar_ema.sh (no ortho, N(0, 0.02) init, EMA "
    "from step 1,000; published CIFAR-10: paper IS 9.22 / FID 14.73, StudioGAN IS 9.96 / FID 4.16 against "
    "the 50k training images; not reproduced here). Differences from the code: torch's spectral norm "
    "(same one-vector power iteration, no Gram-Schmidt over several), plain BN instead of cross-replica BN, "
    "orthogonal regularisation as the paper's loss term (the code's --G_ortho 1e-4 is ortho_beta 5e-5 here), attention "
    "placed by the true output size (the code's D_arch[32] marks every block 16 px), z chunks of "
    "dim_z // (blocks + 1) as the code rounds them. Not in the code: a 16 px layout (the 32 px one a block "
    "shorter) and model.shared_init_gain (1, the code's, unless a profile sets it)."
)


@dataclass
class BigGANParams:
    """The paper's training settings (appendix C) with the 128 px networks of the authors' script."""

    #: Width multipliers of the generator and the discriminator (the code's ``G_ch``, ``D_ch``).
    g_ch: int = bounded(96, POSITIVE)
    d_ch: int = bounded(96, POSITIVE)
    #: The generator's widths in units of ``ch`` (first layer, then each block's output) instead of
    #: the code's table for the resolution; empty: the table.
    g_widths: tuple[int, ...] = ()
    #: Size of z (``dim_z``), rounded down to a multiple of the chunks when hierarchical.
    latent_dim: int = bounded(120, POSITIVE)
    #: Size of the shared class embedding (``shared_dim``); 0: per-layer class embeddings.
    shared_dim: int = bounded(128, NON_NEGATIVE)
    #: Factor on the shared embedding's initial rows (1: the code's orthogonal rows of norm 1).
    #: Larger rows let the class outweigh the z chunk in each conditional BN from the first step.
    shared_init_gain: float = bounded(1.0, POSITIVE)
    #: Split z into one chunk per G block plus one for the first layer (``--hier``).
    hierarchical: bool = True
    #: Resolutions after whose block self-attention sits (``G_attn`` / ``D_attn``); empty: none.
    g_attention: tuple[int, ...] = (64,)
    d_attention: tuple[int, ...] = (64,)
    #: Weight initialisation (``G_init``/``D_init``): ``ortho`` (section 4) or ``N02``.
    init: Literal["ortho", "N02", "xavier"] = "ortho"
    #: BatchNorm ε and spectral norm ε of the authors' script.
    bn_eps: float = bounded(1e-5, POSITIVE)
    sn_eps: float = bounded(1e-6, POSITIVE)
    #: Adversarial loss by name (``ganzoo info`` lists the choices): the paper's hinge.
    loss: str = "hinge"
    #: Adam settings of appendix C.
    lr_g: float = bounded(5e-5, POSITIVE)
    lr_d: float = bounded(2e-4, POSITIVE)
    beta1: float = bounded(0.0, in_range(0, 1))
    beta2: float = bounded(0.999, in_range(0, 1))
    adam_eps: float = bounded(1e-6, POSITIVE)
    #: Discriminator updates per generator update (``num_D_steps``).
    d_steps: int = bounded(2, POSITIVE)
    #: Orthogonal regularisation of G (section 3.1, β = 1e-4); 0 turns it off (``--G_ortho 0.0``).
    ortho_beta: float = bounded(1e-4, NON_NEGATIVE)
    #: EMA of G's weights: decay and the step it starts at (``ema_decay``, ``ema_start``).
    ema_decay: float = bounded(0.9999, in_range(0, 1))
    ema_start: int = bounded(20_000, NON_NEGATIVE)
    #: Micro-batches per update (``num_D_accumulations``, ``num_G_accumulations``): each update
    #: averages the gradients of this many batches of ``batch_size``.
    d_accumulations: int = bounded(1, POSITIVE)
    g_accumulations: int = bounded(1, POSITIVE)


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="shared embedding, hierarchical z, SN ResNets with attention, projection D, hinge, ortho reg, EMA, truncation",
            paper=Paper("Large Scale GAN Training for High Fidelity Natural Image Synthesis", "Brock et al.", 2019,
                        "https://arxiv.org/abs/1809.11096"),
            data_kind="labelled-images",
            params=BigGANParams,
            default_dataset="mnist",
            roles={"generator": ("generator",), "discriminator": ("discriminator",)},
            notes=NOTES,
            sample_options=("truncation",),
            profile_notes={
                "demo": "deviates from the paper to fit a CPU: 32 px digits, G widths 64-64-32-16 and D widths 32 "
                        "(the code's 32 px tables at ch 64: 256 throughout), dim_z 32 in 4 chunks of 8, shared "
                        "embedding 32 (not 128) initialised with rows of norm 5.66 (shared_init_gain; the code's "
                        "orthogonal rows have norm 1, below a z chunk's ~2.8, so the class starts quiet in each "
                        "conditional BN and short runs collapsed onto one digit for every class), attention "
                        "at 16 px in both, batch 32 (not 2,048), Adam at 5e-4 / 1e-3 (not 5e-5 / 2e-4; the "
                        "paper's betas and two D steps kept), EMA 0.995 from step 0 (not 0.9999 from 20,000, "
                        "which averages over far more steps than 800); every defining part is kept",
            },
            truncation="every z entry with |z| > T is redrawn from N(0, 1): a truncated normal (section 3.1)",
            profiles={
                # The paper's settings at 128 px: appendix C, batch 2048 (256 × 8 accumulations).
                "imagenet128": {"image_size": 128, "batch_size": 256, "model.d_accumulations": 8,
                                "model.g_accumulations": 8},
                # What launch_BigGAN_bs256x8.sh trains with: SA-GAN's learning rates, one D step, no
                # orthogonal regularisation.
                "sagan-settings": {"image_size": 128, "batch_size": 256, "model.d_accumulations": 8,
                                   "model.g_accumulations": 8, "model.lr_g": 1e-4, "model.lr_d": 4e-4,
                                   "model.d_steps": 1, "model.ortho_beta": 0.0},
                # launch_cifar_ema.sh.
                "cifar10": {
                    "image_size": 32, "batch_size": 50, "model.g_ch": 64, "model.d_ch": 64,
                    "model.latent_dim": 128,
                    "model.shared_dim": 0, "model.hierarchical": False, "model.g_attention": [],
                    "model.d_attention": [], "model.init": "N02", "model.lr_g": 2e-4, "model.lr_d": 2e-4,
                    "model.d_steps": 4, "model.ortho_beta": 0.0, "model.ema_start": 1000,
                },
                # The embedded digits at 32 px with every defining part kept at small widths (G
                # 64-64-32-16, D 32): shared embedding, hierarchical z, attention at 16 px, ortho init
                # and regularisation, the paper's two D steps and Adam betas, and an EMA of 0.995 from
                # the start, since 0.9999 averages over far more steps than a short run has. Two
                # changes made it learn (docs/evaluation.md, "BigGAN's demo"): the shared embedding's
                # rows start at the norm of a z chunk (shared_init_gain 5.66 = sqrt(32); at 1 every
                # short run tried collapsed onto one digit for all classes) and larger steps than the
                # paper's (5e-4 / 1e-3). Measured with one thread on a shared 2-core CPU: about 0.5 s
                # of CPU time per iteration; `ganzoo run biggan` alone on a quiet 2-core CPU (two
                # threads) took 4 min 13 s, and drew the asked digit in 93.5 % of 1,000 samples.
                "demo": {
                    "steps": 800, "batch_size": 32, "image_size": 32, "grid_size": 100,
                    "model.g_ch": 16, "model.g_widths": [4, 4, 2, 1], "model.d_ch": 8, "model.latent_dim": 32,
                    "model.shared_dim": 32, "model.shared_init_gain": 5.66, "model.g_attention": [16],
                    "model.d_attention": [16], "model.lr_g": 5e-4, "model.lr_d": 1e-3, "model.ema_decay": 0.995,
                    "model.ema_start": 0, "sample_every": 400, "checkpoint_every": 400, "log_every": 100,
                },
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo.errors import UserError
    from ganzoo_biggan.networks import RESOLUTIONS, BigGANDiscriminator, BigGANGenerator

    p = config.model
    if data.num_classes < 2:
        raise UserError("biggan is class-conditional and needs class labels; use a labelled dataset such as mnist or cifar10")
    if p.hierarchical and not p.shared_dim:
        raise UserError("model.hierarchical=true needs a shared embedding; set model.shared_dim (e.g. 128) or model.hierarchical=false")
    try:
        generator = BigGANGenerator(data.shape, data.num_classes, p.g_ch, p.latent_dim, p.shared_dim, p.hierarchical,
                                    tuple(p.g_attention), p.init, p.bn_eps, p.sn_eps, widths=tuple(p.g_widths),
                                    shared_init_gain=p.shared_init_gain)
        discriminator = BigGANDiscriminator(data.shape, data.num_classes, p.d_ch, tuple(p.d_attention), p.init, p.sn_eps)
    except ValueError as exc:
        hint = "pass --image-size 32" if data.shape[1] not in RESOLUTIONS else "choose model.g_ch, model.d_ch or widths that fit"
        raise UserError(f"biggan cannot build its networks for {tuple(data.shape)}: {exc}; {hint}") from None
    return {"generator": generator, "discriminator": discriminator}


@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.engine.ema import EMASettings
    from ganzoo.engine.schedules import parameters_of

    p = config.model
    betas = (p.beta1, p.beta2)

    def adam(name: str, lr: float) -> torch.optim.Adam:
        return torch.optim.Adam(parameters_of(networks, [name]), lr=lr, betas=betas, eps=p.adam_eps)

    # train_fns.py: num_D_steps discriminator updates, each on its own slice of real data, then one
    # generator update; the generator's samples and every metric use the EMA copy (appendix C).
    # utils.ema averages the whole state_dict, BN statistics and spectral norm vectors included.
    return Schedule(
        players=[
            Player("discriminator", ("discriminator",), adam("discriminator", p.lr_d), repeats=p.d_steps,
                   fresh_batch=True),
            Player("generator", ("generator",), adam("generator", p.lr_g), fresh_batch=False),
        ],
        ema={"generator": EMASettings(decay=p.ema_decay, start_step=p.ema_start, buffers="average")},
    )


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.parts.losses import adversarial_loss
    from ganzoo.parts.regularisers import orthogonal_regularisation
    from ganzoo_biggan.sampling import draw

    p = ctx.config.model
    G, D = ctx.networks["generator"], ctx.networks["discriminator"]
    real, real_labels = ctx.batch["real"], ctx.batch["label"]
    loss = adversarial_loss(p.loss)
    z, labels = draw(real.shape[0], G.latent_dim, G.num_classes, real.device)
    D.requires_grad_(player == "discriminator")
    if player == "discriminator":
        with torch.no_grad():
            fake = G(z, labels)
        # train_fns.py's GD: fakes and reals through D in one batch (one power iteration per update)
        scores = D(torch.cat([fake, real]), torch.cat([labels, real_labels]))
        fake_scores, real_scores = scores.split([fake.shape[0], real.shape[0]])
        return loss.discriminator_terms(real_scores, fake_scores)
    terms = {"adv": loss.generator_loss(D(G(z, labels), labels))}
    if p.ortho_beta > 0:
        # Section 3.1; the shared embedding is left out, as the code's blacklist leaves it out.
        terms["ortho"] = orthogonal_regularisation(G, p.ortho_beta)
    return terms


@hookimpl
def ganzoo_train_step(variant, schedule, ctx):
    if variant.name != NAME:
        return None
    p = ctx.config.model
    if p.g_accumulations == 1 and p.d_accumulations == 1:
        return None  # the core's step
    from ganzoo_biggan.accumulation import run_accumulated

    return run_accumulated(schedule, ctx, {"discriminator": p.d_accumulations, "generator": p.g_accumulations})


@hookimpl
def ganzoo_sample(variant, networks, config, n, labels, generator, device, truncation):
    if variant.name != NAME:
        return None
    from ganzoo_biggan.sampling import draw

    G = networks["generator"]
    count = n if labels is None else labels.shape[0]
    z, drawn = draw(count, G.latent_dim, G.num_classes, device, generator, truncation)
    return G(z, drawn if labels is None else labels.to(device))
