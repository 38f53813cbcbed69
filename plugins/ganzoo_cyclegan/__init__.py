"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation with cycle consistency.

Two generators, ``generator_AB`` (the paper's G: X → Y) and ``generator_BA`` (F: Y → X), and two
discriminators, ``discriminator_A`` (D_X) and ``discriminator_B`` (D_Y), each judging the images of its
domain. One training iteration, as in the authors' reference code:

1. **generator** (both generators, one Adam): least-squares adversarial loss for each translation,
   cycle-consistency ``λ‖F(G(a)) − a‖₁`` and ``λ‖G(F(b)) − b‖₁`` with λ = 10 (section 3.2–3.3, eq. 2–3),
   and the identity loss ``0.5λ‖G(b) − b‖₁`` and ``0.5λ‖F(a) − a‖₁`` (section 5.2, after Taigman et
   al. 2017). The fakes are kept in the iteration's cache.
2. **discriminator** (both discriminators, one Adam): least-squares loss on real images and on fakes
   drawn from a pool of the 50 most recent fakes (section 4), halved "which slows down the rate at
   which D learns relative to G".

Every term is named for the domain of the images it compares (``adv_A``, ``cycle_A``, ``identity_A``,
...). Adam(2e-4, 0.5, 0.999), the learning rate constant for the first half of training and then
decayed linearly to zero (the paper's 100 + 100 epochs), through the engine's reusable
:func:`ganzoo.engine.schedules.linear_decay`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.bounds import NON_NEGATIVE, POSITIVE, bounded, in_range

NAME = "cyclegan"
DIRECTIONS = ("AtoB", "BtoA")
#: Images per forward pass when translating (keeps 256 px ResNet activations within memory).
TRANSLATE_BATCH = 16


@dataclass
class CycleGANParams:
    """The paper's hyper-parameters (section 4 and appendix 7)."""

    #: Filters of the generators' first layer (the paper's 64; ``ngf`` in the reference code).
    generator_width: int = bounded(64, POSITIVE)
    #: Filters of the discriminators' first layer (the paper's 64; ``ndf``).
    discriminator_width: int = bounded(64, POSITIVE)
    #: Residual blocks of the generators; 0 picks the paper's: 6 below 256 px, 9 at 256 px and above.
    residual_blocks: int = bounded(0, NON_NEGATIVE)
    #: Stride-2 layers of the PatchGAN; 3 gives the paper's 70×70 patches.
    discriminator_layers: int = bounded(3, POSITIVE)
    #: λ, the weight of the cycle-consistency loss (eq. 3).
    lambda_cycle: float = bounded(10.0, NON_NEGATIVE)
    #: Weight of the identity loss as a fraction of λ (section 5.2: 0.5λ); 0 turns it off.
    lambda_identity: float = bounded(0.5, NON_NEGATIVE)
    #: Generated images each discriminator's history keeps (section 4); 0 turns the pool off.
    pool_size: int = bounded(50, NON_NEGATIVE)
    lr: float = bounded(2e-4, POSITIVE)
    beta1: float = bounded(0.5, in_range(0, 1))
    beta2: float = bounded(0.999, in_range(0, 1))
    #: Share of training at the end with the learning rate decaying linearly to zero (the paper's last
    #: 100 of 200 epochs); the rest keeps it constant.
    decay_fraction: float = bounded(0.5, in_range(0, 1, "[]"))


#: The paper's run: 256 px, batch 1, 200 epochs of horse2zebra (max(|trainA|, |trainB|) = 1,334 images
#: an epoch); for another dataset pass ``--steps`` = 200 × its larger domain.
PAPER_PROFILE = {"image_size": 256, "batch_size": 1, "steps": 266_800, "log_every": 100,
                 "sample_every": 5_000, "checkpoint_every": 10_000, "grid_size": 8}

#: About 75 s of one CPU thread at 32 px: narrow networks, the paper's losses, pool and schedule.
#: On held-out digits (3 seeds) 74 % of its B→A translations read as handwritten and 22 % of its A→B
#: ones as typeset, keeping the digit in 83 % and 88 %. Longer runs, other identity weights and wider
#: generators change the style further only by losing digits: the cycle loss can also be met by
#: hiding the input in the translation (Chu et al. 2017, "CycleGAN, a Master of Steganography");
#: 16×16 patches (``discriminator_layers=1``) keep the digits but hardly change the style. The
#: measurements are in docs/evaluation.md.
DEMO_PROFILE = {"image_size": 32, "batch_size": 4, "steps": 500, "log_every": 25, "sample_every": 100,
                "checkpoint_every": 250, "grid_size": 8, "model.generator_width": 12,
                "model.discriminator_width": 12}


#: Why cyclegan has no ``model.loss`` (printed by ``ganzoo info cyclegan``).
NOTES = (
    "no --set model.loss: the adversarial loss is part of the method, not a choice. The paper replaces "
    "the log-likelihood with the least-squares loss for stable training (section 4), and its weights "
    "(cycle λ = 10, identity 0.5λ, the halved discriminator loss) are set beside that loss's scale. "
    "Another loss changes that balance: a wasserstein critic without a Lipschitz constraint, for one, "
    "has no bounded optimum and would drown the cycle term. Try one in a variant of your own; the "
    "two-domain terms are in ganzoo_cyclegan.losses."
)


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="unpaired image-to-image translation: two ResNet generators, PatchGAN, cycle consistency",
            paper=Paper("Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks",
                        "Zhu, Park, Isola, Efros", 2017, "https://arxiv.org/abs/1703.10593"),
            data_kind="unpaired-images",
            params=CycleGANParams,
            default_dataset="digits-styles",
            roles={"generator": ("generator_AB", "generator_BA"), "discriminator": ("discriminator_A", "discriminator_B")},
            profiles={"demo": DEMO_PROFILE, "paper": PAPER_PROFILE},
            generator="generator_AB",
            notes=NOTES,
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo.errors import UserError
    from ganzoo_cyclegan.networks import (
        PatchDiscriminator,
        ResnetGenerator,
        residual_blocks_for,
        smallest_patch_map,
    )

    channels, height, width = data.shape
    if height % 4 or width % 4:
        raise UserError(f"cyclegan needs image sides divisible by 4 (two down-samplings), got {height}×{width}; "
                        "set --image-size to a multiple of 4")
    p = config.model
    if smallest_patch_map(min(height, width), p.discriminator_layers) < 2:
        raise UserError(f"{height}×{width} images are too small for a PatchGAN of {p.discriminator_layers} layers; "
                        "use --image-size 24 or more, or fewer layers (--set model.discriminator_layers=2)")
    blocks = p.residual_blocks or residual_blocks_for(min(height, width))
    return {
        "generator_AB": ResnetGenerator(channels, p.generator_width, blocks),
        "generator_BA": ResnetGenerator(channels, p.generator_width, blocks),
        "discriminator_A": PatchDiscriminator(channels, p.discriminator_width, p.discriminator_layers),
        "discriminator_B": PatchDiscriminator(channels, p.discriminator_width, p.discriminator_layers),
    }


@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != NAME:
        return None
    from ganzoo.engine.schedules import adam, linear_decay
    from ganzoo.errors import UserError

    p = config.model
    if not 0.0 <= p.decay_fraction <= 1.0:
        raise UserError(f"bad value {p.decay_fraction} for model.decay_fraction: expected a number from 0 to 1")
    betas = (p.beta1, p.beta2)
    decay_steps = round(config.steps * p.decay_fraction)
    players = []
    for name, nets in (("generator", ("generator_AB", "generator_BA")),
                       ("discriminator", ("discriminator_A", "discriminator_B"))):
        optimizer = adam(networks, nets, p.lr, betas)
        players.append(Player(name, nets, optimizer, lr_scheduler=linear_decay(optimizer, config.steps, decay_steps)))
    return Schedule(players=players)


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    from ganzoo_cyclegan.losses import discriminator_losses, generator_losses

    return generator_losses(ctx) if player == "generator" else discriminator_losses(ctx)


@hookimpl
def ganzoo_sample(variant, networks, n, device, inputs, direction):
    if variant.name != NAME:
        return None
    from ganzoo.errors import UserError
    from ganzoo_cyclegan.translate import translate, translation_grid

    if direction is not None and direction not in DIRECTIONS:
        raise UserError(f"bad direction {direction!r}: expected AtoB or BtoA")
    if inputs is None:
        raise UserError("cyclegan translates images rather than drawing them from noise; give it images "
                        "(ganzoo sample RUN --input PATH --direction AtoB)")
    if isinstance(inputs, dict):
        return translation_grid(networks, {k: v[:n] for k, v in inputs.items()}, direction, device)
    return translate(networks, inputs, direction or "AtoB", device, TRANSLATE_BATCH)
