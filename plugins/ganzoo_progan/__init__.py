"""ProGAN (Karras, Aila, Laine & Lehtinen 2018) as a ganzoo plugin: progressive growing of GANs.

Training starts at 4×4 and doubles the resolution in phases measured in images shown, as the code's
``TrainingSchedule`` does (tkarras/progressive_growing_of_gans ``train.py``): ``stable_images`` at
one resolution, then ``fade_images`` during which the new layers fade in (α from 0 to 1), and so on
up to the data's size. The real images are shown at the current resolution (blended between the
two during a fade-in, as the code's ``process_reals`` does). Adam's moments are reset whenever a
layer is added and when its fade-in ends (``reset_opt_for_new_lod``). The level and α are derived
from the step alone and kept as buffers of the networks, so a resumed run continues bit for bit.

Loss: WGAN-GP (λ = 10) plus the drift penalty 0.001·E[D(x)²] (appendix A.1), n_critic = 1, Adam
(1e-3, β = (0, 0.99), ε = 1e-8), an EMA of G with decay 0.999. Networks: :mod:`ganzoo_progan.networks`.

Per-resolution batch sizes (appendix A.1: 16 up to 128², then 14 at 256², 6 at 512², 3 at 1024²;
the code's ``minibatch_dict``): ``batch_per_resolution`` lists ``"RES:BATCH"`` pairs, every other
resolution uses ``--batch-size`` (the code's ``minibatch_base``), which is also the largest batch:
the engine draws ``--batch-size`` images each iteration and a smaller resolution's step uses the
first of them. The images shown, which drive the schedule, count the batch each step really used.
``start_images`` starts the schedule later, as the code's ``resume_kimg`` does.

The ``demo`` profile deviates from the paper: 32 px digits, feature maps min(256/2^stage, 64), z of
64, phases of 8,000 images instead of 600,000, and an EMA decay of 0.99 (0.999 drew garbage after a
few thousand steps of a reduced re-implementation).
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.bounds import NON_NEGATIVE, POSITIVE, bounded, in_range

NAME = "progan"


@dataclass
class ProGANParams:
    """The code's defaults (``config.py``, ``train.py``, ``networks.py``)."""

    latent_dim: int = bounded(512, POSITIVE)
    #: Feature maps nf(stage) = min(fmap_base / 2^stage, fmap_max).
    fmap_base: int = bounded(8192, POSITIVE)
    fmap_max: int = bounded(512, POSITIVE)
    #: Images shown at each resolution before the next one fades in, and during each fade-in.
    stable_images: int = bounded(600_000, POSITIVE)
    fade_images: int = bounded(600_000, POSITIVE)
    lambda_gp: float = bounded(10.0, NON_NEGATIVE)
    drift: float = bounded(0.001, NON_NEGATIVE)
    lr: float = bounded(1e-3, POSITIVE)
    beta1: float = bounded(0.0, in_range(0, 1))
    beta2: float = bounded(0.99, in_range(0, 1))
    eps: float = bounded(1e-8, POSITIVE)
    ema_decay: float = bounded(0.999, in_range(0, 1))
    #: Group size of the minibatch standard deviation.
    group_size: int = bounded(4, POSITIVE)
    #: Batch sizes by resolution, "RES:BATCH" (the code's ``minibatch_dict``); the other resolutions
    #: use --batch-size (``minibatch_base``). Appendix A.1: 16 up to 128², then 14, 6 and 3.
    batch_per_resolution: list[str] = bounded(["256:14", "512:6", "1024:3"])
    #: Images already shown when the run starts (the code's ``resume_kimg`` × 1000).
    start_images: int = bounded(0, NON_NEGATIVE)


def resolution_batches(entries: list[str] | tuple[str, ...], batch_size: int, image_size: int) -> dict[int, int]:
    """``{resolution: batch}`` from ``"RES:BATCH"`` entries, checked against the run: a resolution
    the run reaches may not ask for more than the ``batch_size`` images the engine draws."""
    from ganzoo.errors import UserError

    batches: dict[int, int] = {}
    for entry in entries:
        res, _, batch = str(entry).partition(":")
        try:
            resolution, size = int(res), int(batch)
        except ValueError:
            resolution = size = 0
        if resolution < 4 or resolution & (resolution - 1) or size < 1:
            raise UserError(f"bad model.batch_per_resolution entry {entry!r}: expected RES:BATCH with RES a power of "
                            "two of at least 4 and BATCH 1 or more, e.g. 256:14")
        if resolution <= image_size and size > batch_size:
            raise UserError(f"model.batch_per_resolution asks for {size} images at {resolution}² but --batch-size is "
                            f"{batch_size}, the most a step draws; pass --batch-size {size} or a smaller {resolution}: batch")
        batches[resolution] = size
    return batches


def phase_at(images: int, stable_images: int, fade_images: int, levels: int) -> tuple[int, float]:
    """(level, α) after ``images`` images shown: the code's ``TrainingSchedule``."""
    phase, within = divmod(images, stable_images + fade_images)
    if phase >= levels:
        return levels, 1.0
    if within < stable_images:
        return phase, 1.0
    return phase + 1, (within - stable_images) / fade_images


def schedule_at(step: int, batch_of_level, stable_images: int, fade_images: int, levels: int,
                start_images: int = 0) -> tuple[int, float, int]:
    """(level, α, batch) of iteration ``step``, each earlier iteration having shown the batch of its
    level (``batch_of_level(level)``), from ``start_images``. Derived from the step alone, so a
    resumed run continues bit for bit; the batch only changes with the level, so the walk takes one
    stretch per phase."""
    period = stable_images + fade_images
    images, done = start_images, 0
    while True:
        level, alpha = phase_at(images, stable_images, fade_images, levels)
        batch = batch_of_level(level)
        if level >= levels and alpha == 1.0:
            return level, alpha, batch
        phase, within = divmod(images, period)
        end = phase * period + (stable_images if within < stable_images else period)
        stretch = -(-(end - images) // batch)  # iterations until the level (or the fade-in) changes
        if done + stretch > step:
            images += (step - done) * batch
            level, alpha = phase_at(images, stable_images, fade_images, levels)
            return level, alpha, batch
        images, done = images + stretch * batch, done + stretch


def growth(step: int, batch_size: int, stable_images: int, fade_images: int, levels: int) -> tuple[int, float]:
    """(level, α) after ``step`` iterations of ``batch_size`` images: the code's schedule."""
    return phase_at(step * batch_size, stable_images, fade_images, levels)


def run_schedule(config, levels: int):
    """``step -> (level, α, batch)`` for a run's config."""
    p = config.model
    image_size = 4 * 2**levels
    batches = resolution_batches(p.batch_per_resolution, config.batch_size, image_size)

    def batch_of_level(level: int) -> int:
        return batches.get(4 * 2**level, config.batch_size)

    return lambda step: schedule_at(step, batch_of_level, p.stable_images, p.fade_images, levels, p.start_images)


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="progressive growing from 4x4 with fade-in, equalised LR, pixel norm, minibatch stddev, WGAN-GP + drift",
            paper=Paper("Progressive Growing of GANs for Improved Quality, Stability, and Variation",
                        "Karras, Aila, Laine & Lehtinen", 2018, "https://arxiv.org/abs/1710.10196"),
            data_kind="images",
            params=ProGANParams,
            default_dataset="mnist",
            roles={"generator": ("generator",), "discriminator": ("discriminator",)},
            profile_notes={
                "demo": "deviates from the paper: 32 px digits, feature maps min(256/2^stage, 64), z of 64, phases of "
                        "8,000 images (not 600,000), EMA 0.99 (0.999 is too slow for short runs)",
            },
            profiles={
                # Appendix A.1: a minibatch of 16 up to 128² (batch_per_resolution gives the rest).
                "paper": {"batch_size": 16},
                # Grows 4→8→16→32 in phases of 250 steps. Measured (seed 0): 2,000 steps took 7 min
                # 41 s of CPU time on one thread (20 min of wall time on a 2-core machine shared with
                # about five busy processes); the EMA's samples at step 2,000 are digits of all ten
                # classes (mean confidence 0.75, digit Fréchet distance 80 on 2,000 samples).
                # Over seeds 0-2 (scripts/eval_table.py, 5,000 samples): distance 104 ± 21, confidence 0.728 ± 0.027.
                "demo": {"steps": 2000, "batch_size": 32, "image_size": 32, "model.fmap_base": 256, "model.fmap_max": 64,
                         "model.latent_dim": 64, "model.stable_images": 8000, "model.fade_images": 8000,
                         "model.ema_decay": 0.99, "sample_every": 250, "checkpoint_every": 250, "log_every": 50},
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo_progan.networks import ProDiscriminator, ProGenerator

    channels, height, width = data.shape
    if height != width:
        from ganzoo.errors import UserError

        raise UserError(f"progan needs square images, got {height}×{width}; pass --image-size 32 to resize them")
    p = config.model
    resolution_batches(p.batch_per_resolution, config.batch_size, height)  # refuse a bad list before training
    return {
        "generator": ProGenerator(p.latent_dim, channels, height, p.fmap_base, p.fmap_max),
        "discriminator": ProDiscriminator(channels, height, p.fmap_base, p.fmap_max, p.group_size),
    }


@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.engine.schedules import parameters_of

    p = config.model

    def adam(name: str) -> torch.optim.Adam:
        return torch.optim.Adam(parameters_of(networks, [name]), lr=p.lr, betas=(p.beta1, p.beta2), eps=p.eps)

    return Schedule(
        players=[Player("discriminator", ("discriminator",), adam("discriminator")), Player("generator", ("generator",), adam("generator"))],
        ema={"generator": p.ema_decay},
    )


def _unwrapped(module):
    return getattr(module, "module", module)


@hookimpl(wrapper=True)
def ganzoo_train_step(variant, schedule, ctx):
    """Before each iteration: set the level, α and batch size from the step, and reset Adam's
    moments when a layer is added or its fade-in ends (the code's ``reset_opt_for_new_lod``)."""
    if variant.name == NAME:
        G, D = _unwrapped(ctx.networks["generator"]), _unwrapped(ctx.networks["discriminator"])
        level, alpha, batch = run_schedule(ctx.config, G.levels)(ctx.step)
        ctx.cache["batch"] = batch
        phase = [level, int(alpha < 1)]
        if ctx.state.get("phase", phase) != phase:
            for player in schedule.players:
                player.optimizer.state.clear()
        ctx.state["phase"] = phase
        G.grow_to(level, alpha)
        D.grow_to(level, alpha)
    return (yield)


def reals_at(real, level: int, alpha: float, levels: int):
    """The real batch at the current resolution, blended between the two during a fade-in."""
    import torch
    import torch.nn.functional as F

    factor = 2 ** (levels - level)
    current = F.avg_pool2d(real, factor) if factor > 1 else real
    if level > 0 and alpha < 1:
        coarse = F.interpolate(F.avg_pool2d(current, 2), scale_factor=2, mode="nearest")
        current = torch.lerp(coarse, current, alpha)
    return current


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.parts.regularisers import drift_penalty, gradient_penalty

    G, D = ctx.networks["generator"], ctx.networks["discriminator"]
    levels = _unwrapped(G).levels
    level, alpha = int(_unwrapped(G).level), float(_unwrapped(G).alpha)
    real = reals_at(ctx.batch["real"][: ctx.cache.get("batch")], level, alpha, levels)  # this resolution's batch
    z = torch.randn(real.shape[0], ctx.config.model.latent_dim, device=real.device)
    D.requires_grad_(player == "discriminator")
    if player == "discriminator":
        p = ctx.config.model
        with torch.no_grad():
            fake = G(z)
        real_scores, fake_scores = D(real), D(fake)
        return {
            "adv": fake_scores.mean() - real_scores.mean(),
            "gp": p.lambda_gp * gradient_penalty(D, real, fake),
            "drift": drift_penalty(real_scores, p.drift),
        }
    return {"adv": -D(G(z)).mean()}


@hookimpl
def ganzoo_sample(variant, networks, config, n, generator, device):
    """Samples at the checkpoint's resolution, enlarged (nearest) to the data's size and clipped to
    [-1, 1] as the code's image export clips them."""
    if variant.name != NAME:
        return None
    import torch
    import torch.nn.functional as F

    G = networks["generator"]
    images = G(torch.randn(n, config.model.latent_dim, generator=generator, device=device))
    factor = 2 ** (G.levels - int(G.level))
    if factor > 1:
        images = F.interpolate(images, scale_factor=factor, mode="nearest")
    return images.clamp(-1, 1)
