"""StyleGAN2 (Karras et al. 2020) as a ganzoo plugin, following NVlabs' stylegan2-ada-pytorch.

"Analyzing and Improving the Image Quality of StyleGAN": a mapping network z → w, a synthesis
network of modulated and demodulated convolutions fed by a learned constant, a 'skip' generator and
a 'resnet' discriminator (:mod:`ganzoo_stylegan2.networks`). Training as ``training_loop.py`` and
``loss.py`` of that code: the non-saturating logistic loss, style mixing with probability 0.9,
R1 (γ/2)‖∇D(x)‖² every 16 D minibatches and path-length regularisation (weight 2) every 4 G
minibatches, each lazy term a player of its own that shares its network's Adam optimiser, with the
gain (× interval) and Adam's lr and betas rescaled by k/(k + 1) (section 3.1 and appendix B); the
generator's exponential moving average has a half-life in kimg, with an optional ramp-up.

One training iteration plays the four phases of NVlabs' loop in order: ``generator`` (Gmain),
``generator_pl`` (Greg, every ``pl_interval``), ``discriminator`` (Dmain), ``discriminator_r1``
(Dreg, every ``r1_interval``); each phase draws its own latents and classes.

Profiles are train.py's ``cfg_specs``: ``stylegan2`` (the defaults, config F at 1024 px),
``paper256``, ``paper512``, ``paper1024``, ``cifar`` (2 mapping layers, 'orig' discriminator, no
path-length regularisation or style mixing) and ``auto`` (settings that follow from the resolution).

Where this deviates from the reference, and why:

- No float16 blocks (train.py's ``num_fp16_res = 4``): every layer runs in float32, or in bfloat16
  under ganzoo's fast mode. ``conv_clamp`` = 256 is kept, as train.py sets it (``--set
  model.conv_clamp=0`` is train.py's ``--fp32``). Parameter counts are unaffected.
- Plain PyTorch instead of the custom CUDA kernels (``upfirdn2d``, ``bias_act``): the same maths,
  so the variant runs on any device without a compiler.
- One run has one batch; NVlabs' ``batch_gpu`` (gradient accumulation within a batch) is not needed.
- The path-length mean is saved in checkpoints (NVlabs restarts it at 0 on resume).
- ADA (``--set model.augment=ada``, the default, as train.py's ``--aug=ada``; ``none`` turns it
  off) uses the 'bgc' pipeline (:mod:`ganzoo_stylegan2.ada`), but resamples the geometric
  transforms with bilinear ``grid_sample`` without NVlabs' 2× anti-aliasing upsampling. Its r_t is
  not averaged across processes under torchrun.
- The ``auto`` profile applies train.py's heuristics for one GPU to the run's batch size, which it
  sets to 32 (train.py: min(4096/res, 32)); pass ``--batch-size`` for other resolutions.
- Sampling (``ganzoo sample RUN --truncation ψ [--truncation-cutoff N]``) uses the fixed noise
  buffers (generate.py's ``noise_mode='const'``) and clamps to [−1, 1], as NVlabs does when it
  writes images (the synthesis network ends without tanh).
- ``model.latent_input`` (off by default, on in the ``demo`` profile) is not in NVlabs' StyleGAN2:
  it feeds w to the first layer through a dense layer, the "traditional input" of StyleGAN's
  Table 1 configuration C (Karras et al. 2019), in place of the learned constant. At CPU lengths
  and narrow widths the constant-input generator collapsed onto one or two digits in every run
  tried; with this input the demo learns the ten digits (docs/evaluation.md, "StyleGAN2's demo").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.bounds import NON_NEGATIVE, POSITIVE, bounded, in_range

NAME = "stylegan2"

#: The players of one iteration, in NVlabs' phase order (Gmain, Greg, Dmain, Dreg).
GENERATOR, PATH_LENGTH, DISCRIMINATOR, R1 = "generator", "generator_pl", "discriminator", "discriminator_r1"


@dataclass
class StyleGAN2Params:
    """The defaults are train.py's ``stylegan2`` config (config F of the paper, 1024 px, batch 32)."""

    #: Size of z, drawn from N(0, I) (``z_dim``).
    latent_dim: int = bounded(512, POSITIVE)
    #: Size of w (``w_dim``).
    w_dim: int = bounded(512, POSITIVE)
    #: Fully connected layers of the mapping network (``map``: 8, or 2 in the cifar config).
    mapping_layers: int = bounded(8, POSITIVE)
    #: Learning-rate multiplier of the mapping network (section 2 of the StyleGAN paper: 0.01).
    mapping_lr_multiplier: float = bounded(0.01, POSITIVE)
    #: Decay of the running average of w that truncation pulls towards.
    w_avg_beta: float = bounded(0.995, in_range(0, 1))
    #: Channels at resolution r are min(channel_base / r, channel_max) (``fmaps`` × 32768).
    channel_base: int = bounded(32768, POSITIVE)
    channel_max: int = bounded(512, POSITIVE)
    #: ``resnet`` (config E onwards) or ``orig`` (the cifar config).
    d_architecture: Literal["resnet", "orig"] = "resnet"
    #: Minibatch standard deviation: group size (``mbstd``) and number of channels.
    mbstd_group_size: int = bounded(4, POSITIVE)
    mbstd_channels: int = bounded(1, NON_NEGATIVE)
    #: The first layer's input: False is StyleGAN2's learned constant; True is a dense layer from w, the
    #: "traditional input" of StyleGAN's Table 1 configuration C (Karras et al. 2019), not NVlabs' StyleGAN2.
    latent_input: bool = False
    #: NHWC activations and weights in every layer of G and D (``channels_last``), the layout NVlabs'
    #: networks give their float16 layers. The same sums in another memory order: off by default as in
    #: NVlabs' float32 layers; the demo turns it on, as oneDNN's CPU convolutions at 16 and 32 channels
    #: run faster in it (docs/evaluation.md, "StyleGAN2's demo"). Fast mode does not set it.
    channels_last: bool = False
    #: Class-conditional (needs labelled data): class embedding in G's mapping, projection in D.
    conditional: bool = False
    #: Adam's learning rate, betas and ε for both networks, before the lazy rescaling.
    lr: float = bounded(0.002, POSITIVE)
    beta1: float = bounded(0.0, in_range(0, 1))
    beta2: float = bounded(0.99, in_range(0, 1))
    #: R1 weight γ (the penalty is (γ/2)‖∇D(x)‖²) and its lazy interval in D minibatches; γ = 0 turns it off.
    r1_gamma: float = bounded(10.0, NON_NEGATIVE)
    r1_interval: int = bounded(16, POSITIVE)
    #: Path-length regularisation: weight (0 turns it off), interval in G minibatches, batch
    #: shrink and the decay of its running mean.
    pl_weight: float = bounded(2.0, NON_NEGATIVE)
    pl_interval: int = bounded(4, POSITIVE)
    pl_batch_shrink: int = bounded(2, POSITIVE)
    pl_decay: float = bounded(0.01, in_range(0, 1, "(]"))
    #: Probability of style mixing in every generator pass (0.9; 0 in the cifar config).
    style_mixing_prob: float = bounded(0.9, in_range(0, 1, "[]"))
    #: EMA of G: half-life in thousands of images (``ema``) and ramp-up (``ramp``; 0 is none).
    ema_kimg: float = bounded(10.0, POSITIVE)
    ema_rampup: float = bounded(0.0, NON_NEGATIVE)
    #: Clamp the output of every convolution layer of G and D to ±conv_clamp (train.py sets 256 unless
    #: ``--fp32``, against float16 overflow; it applies to float32 layers too); 0 turns it off.
    conv_clamp: float = bounded(256.0, NON_NEGATIVE)
    #: ``ada``: adaptive discriminator augmentation on every image D sees; ``none``: no augmentation.
    augment: Literal["ada", "none"] = "ada"
    #: ADA: the target of r_t = E[sign(D(x_real))], the iterations between adjustments, the images
    #: over which p can move from 0 to 1 (in thousands), and the starting p.
    ada_target: float = bounded(0.6, in_range(0, 1, "[]"))
    ada_interval: int = bounded(4, POSITIVE)
    ada_kimg: float = bounded(500.0, POSITIVE)
    augment_p: float = bounded(0.0, in_range(0, 1, "[]"))
    #: train.py's ``auto`` config: channel_base, mbstd_group_size, lr, r1_gamma and ema_kimg follow
    #: from the resolution and the run's batch size (:func:`auto_settings`); the values above are ignored.
    auto: bool = False


def auto_settings(params: StyleGAN2Params, resolution: int, batch_size: int) -> StyleGAN2Params:
    """The params with train.py's ``auto`` heuristics applied (one GPU; γ = 0.0002·res²/batch); the
    params unchanged when ``auto`` is off. train.py also picks the batch, min(4096/res, 32) on one GPU:
    here the batch is the run's ``--batch-size`` (the ``auto`` profile's 32 suits up to 128 px)."""
    import dataclasses

    if not params.auto:
        return params
    return dataclasses.replace(
        params,
        mbstd_group_size=min(batch_size, 4),
        channel_base=32768 if resolution >= 512 else 16384,
        lr=0.002 if resolution >= 1024 else 0.0025,
        r1_gamma=0.0002 * resolution**2 / batch_size,
        ema_kimg=batch_size * 10 / 32,
    )


#: Where this variant departs from NVlabs' stylegan2-ada-pytorch (``ganzoo info stylegan2`` shows it).
NOTES = ("Follows NVlabs' stylegan2-ada-pytorch; parameter counts equal its networks'. Deviations: no float16 "
         "blocks (float32, or bfloat16 under fast mode; conv_clamp 256 is kept as train.py sets it); plain-PyTorch FIR resampling instead of custom CUDA kernels "
         "(same maths); ADA's geometric transforms are resampled by bilinear grid_sample without NVlabs' 2x "
         "anti-aliasing upsampling; the 'auto' profile takes the run's batch size (32 unless --batch-size); the path-length mean is kept in "
         "checkpoints (NVlabs restarts it on resume); ADA's r_t is not averaged across processes under "
         "torchrun; model.latent_input=true (the demo's) feeds w to the first layer through a dense layer, StyleGAN's "
         "configuration C, instead of the learned constant.")


#: train.py's ``cfg_specs`` (the values that differ from the defaults). ``batch_size`` is ``mb``.
PROFILES = {
    "stylegan2": {"batch_size": 32},
    "paper256": {"batch_size": 64, "model.mbstd_group_size": 8, "model.channel_base": 16384, "model.lr": 0.0025,
                 "model.r1_gamma": 1.0, "model.ema_kimg": 20.0},
    "paper512": {"batch_size": 64, "model.mbstd_group_size": 8, "model.lr": 0.0025, "model.r1_gamma": 0.5,
                 "model.ema_kimg": 20.0},
    "paper1024": {"batch_size": 32, "model.r1_gamma": 2.0},
    "auto": {"batch_size": 32, "model.auto": True, "model.mapping_layers": 2, "model.ema_rampup": 0.05},
    "cifar": {"batch_size": 64, "model.mbstd_group_size": 32, "model.lr": 0.0025, "model.r1_gamma": 0.01,
              "model.ema_kimg": 500.0, "model.ema_rampup": 0.05, "model.mapping_layers": 2,
              "model.pl_weight": 0.0, "model.style_mixing_prob": 0.0, "model.d_architecture": "orig"},
    # The embedded digits at 32 px: the cifar config's switches (2 mapping layers, 'orig' D, no path
    # length, no style mixing) at narrow widths (32 channels up to 16 px, 16 at 32 px), z and w of 64,
    # γ 0.05, a 2 kimg EMA, no ADA, and StyleGAN's "traditional input" (latent_input): with the learned
    # constant every run tried collapsed onto one or two digits at CPU lengths, NVlabs' own code too
    # (docs/evaluation.md, "StyleGAN2's demo"). Three seeds drew all ten digits at 5,000 iterations
    # (confidence 0.835); at 4,000 one seed still drew mostly 0, 8 and 9. `ganzoo run stylegan2` alone
    # on a quiet 2-core CPU (two threads) took 11 min 43 s with channels_last (12 min 3 s without),
    # over the ten minutes asked of a heavy system.
    "demo": {"steps": 5000, "batch_size": 32, "image_size": 32, "model.latent_dim": 64, "model.w_dim": 64,
             "model.mapping_layers": 2, "model.channel_base": 512, "model.channel_max": 32,
             "model.r1_gamma": 0.05, "model.ema_kimg": 2.0, "model.ema_rampup": 0.05,
             "model.pl_weight": 0.0, "model.style_mixing_prob": 0.0, "model.d_architecture": "orig",
             "model.augment": "none", "model.latent_input": True, "model.channels_last": True,
             "sample_every": 1000, "checkpoint_every": 1000, "log_every": 100},
}


@hookimpl
def ganzoo_variants():
    return [
        VariantSpec(
            name=NAME,
            summary="style-based generator with modulated convolutions, R1 and path-length regularisation, EMA",
            paper=Paper("Analyzing and Improving the Image Quality of StyleGAN", "Karras et al.", 2020,
                        "https://arxiv.org/abs/1912.04958"),
            data_kind="images",
            params=StyleGAN2Params,
            default_dataset="mnist",
            roles={"generator": ("generator",), "discriminator": ("discriminator",)},
            conditional_option="conditional",  # --set model.conditional=true: sample --class K works
            profiles=PROFILES,
            sample_options=("truncation", "truncation_cutoff"),
            truncation="w = w_avg + ψ(w − w_avg) with ψ = T, on the first N layers' w with --truncation-cutoff N",
            notes=NOTES,
            profile_notes={
                "demo": "deviates from NVlabs' code to learn on a CPU: 32 px digits, the cifar config's switches at "
                        "narrow widths (channel_base 512, channel_max 32: 32 channels up to 16 px, 16 at 32 px), z and "
                        "w of 64, gamma 0.05, a 2 kimg EMA, no ADA, 5,000 iterations, and latent_input=true: w enters "
                        "the first layer through a dense layer (StyleGAN's Table 1 configuration C) instead of the "
                        "learned constant, with which every CPU-length run tried collapsed onto one or two digits; "
                        "channels_last=true (NHWC layout, the same sums, faster CPU convolutions)",
            },
        )
    ]


@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != NAME:
        return None
    from ganzoo.errors import UserError
    from ganzoo_stylegan2.networks import Discriminator, Generator

    p = auto_settings(config.model, data.shape[-1], config.batch_size)
    classes = 0
    if p.conditional:
        if data.num_classes < 2:
            raise UserError("model.conditional=true needs class labels; use a labelled dataset such as mnist or cifar10")
        classes = data.num_classes
    channels, height, width = data.shape
    if height != width or height < 4 or height & (height - 1):
        raise UserError(f"stylegan2 needs square images of a power-of-two size, got {height}×{width}; "
                        "pass --image-size 32 (or 64, 128, ...)")
    conv_clamp = p.conv_clamp or None
    generator = Generator(p.latent_dim, classes, p.w_dim, height, channels, p.mapping_layers,
                          p.mapping_lr_multiplier, p.w_avg_beta, p.channel_base, p.channel_max, conv_clamp,
                          p.latent_input, p.channels_last)
    discriminator = Discriminator(classes, height, channels, p.d_architecture, p.channel_base, p.channel_max,
                                  p.mbstd_group_size, p.mbstd_channels, conv_clamp=conv_clamp,
                                  channels_last=p.channels_last)
    return {"generator": generator, "discriminator": discriminator}


@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != NAME:
        return None
    from ganzoo.engine.ema import EMASettings
    from ganzoo.engine.schedules import adam
    from ganzoo.errors import UserError
    from ganzoo.parts.regularisers import LazyRegularisation

    p = auto_settings(config.model, networks["generator"].img_resolution, config.batch_size)
    group = min(p.mbstd_group_size, config.batch_size)
    if p.mbstd_channels and config.batch_size % group:
        raise UserError(f"batch size {config.batch_size} is not a multiple of model.mbstd_group_size={group}; "
                        f"pass --batch-size {max(group, config.batch_size // group * group)}")
    if p.pl_weight > 0 and config.batch_size // p.pl_batch_shrink < 1:
        raise UserError(f"batch size {config.batch_size} is smaller than model.pl_batch_shrink={p.pl_batch_shrink}")
    betas = (p.beta1, p.beta2)
    players = []
    for name, reg_name, weight, interval in ((GENERATOR, PATH_LENGTH, p.pl_weight, p.pl_interval),
                                             (DISCRIMINATOR, R1, p.r1_gamma, p.r1_interval)):
        # NVlabs' training loop rescales Adam by the lazy interval whether or not the regulariser's
        # weight is 0 (the cifar config turns path length off, yet G's lr is 0.0025 · 4/5)
        lazy = LazyRegularisation(interval)
        lr, lazy_betas = lazy.adam_settings(p.lr, betas)
        optimizer = adam(networks, [name], lr, lazy_betas)
        players.append(Player(name, (name,), optimizer))
        if weight > 0:
            players.append(Player(reg_name, (name,), optimizer, fresh_batch=False, interval=interval))
    ema = EMASettings(half_life_kimg=p.ema_kimg, rampup=p.ema_rampup)
    return Schedule(players=players, ema={"generator": ema})


def draw(n: int, latent_dim: int, num_classes: int, device, generator=None):
    """z ~ N(0, I) and, when conditional, classes drawn uniformly."""
    import torch

    z = torch.randn(n, latent_dim, generator=generator, device=device)
    labels = torch.randint(num_classes, (n,), generator=generator, device=device) if num_classes else None
    return z, labels


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    import torch

    from ganzoo.engine.speed import eager_forward
    from ganzoo.parts.regularisers import r1_penalty
    from ganzoo_stylegan2 import ada as ada_pipeline
    from ganzoo_stylegan2 import loss

    G, D_plain = ctx.networks["generator"], ctx.networks["discriminator"]
    p = auto_settings(ctx.config.model, G.img_resolution, ctx.config.batch_size)
    classes = G.num_classes
    real = ctx.batch["real"]
    n = real.shape[0]
    G.requires_grad_(player in (GENERATOR, PATH_LENGTH))
    D_plain.requires_grad_(player in (DISCRIMINATOR, R1))
    ada = p.augment == "ada"
    if ada and player == GENERATOR:
        adapt_augmentation(ctx, n)
    augment_p = float(ctx.state.get("augment_p", p.augment_p)) if ada else 0.0

    def D(images, labels):  # every image D sees goes through the augmentation pipeline
        return D_plain(ada_pipeline.augment(images, augment_p), labels)

    if player == GENERATOR:
        z, labels = draw(n, p.latent_dim, classes, real.device)
        fake, _ = loss.generate(G, z, labels, p.style_mixing_prob)
        return {"adv": loss.generator_logistic(D(fake, labels))}
    if player == PATH_LENGTH:
        # a gradient of a gradient: in float32 (not fast mode's bf16), and through G's submodules,
        # which fast mode never compiles (it compiles the networks' top-level forward only)
        z, labels = draw(max(1, n // p.pl_batch_shrink), p.latent_dim, classes, real.device)
        with torch.autocast(real.device.type, enabled=False):
            fake, ws = loss.generate(G, z, labels, p.style_mixing_prob)
            pl_mean = ctx.state.get("pl_mean", torch.zeros((), device=real.device)).to(real.device)
            penalty, ctx.state["pl_mean"] = loss.path_length_penalty(loss.path_lengths(fake, ws), pl_mean,
                                                                     p.pl_decay)
        return {"pl": penalty * p.pl_weight * p.pl_interval}
    real_labels = ctx.batch["label"] if classes else None
    if player == DISCRIMINATOR:
        z, labels = draw(n, p.latent_dim, classes, real.device)
        with torch.no_grad():
            fake, _ = loss.generate(G, z, labels, p.style_mixing_prob)
        real_logits = D(real, real_labels)
        if ada:
            record_signs(ctx, real_logits)
        real_term, fake_term = loss.discriminator_logistic(real_logits, D(fake, labels))
        return {"real": real_term, "fake": fake_term}
    # R1 differentiates D's input gradient; the augmented reals are not a leaf, so under fast mode
    # the discriminator's uncompiled forward is called explicitly (compiled graphs have no double backward)
    D_eager = eager_forward(D_plain)

    def D_for_r1(images, labels):
        return D_eager(ada_pipeline.augment(images, augment_p), labels)

    return {"r1": r1_penalty(D_for_r1, real, real_labels) * (p.r1_gamma / 2) * p.r1_interval}


def record_signs(ctx, real_logits) -> None:
    """Add this minibatch's sign(D(x_real)) to the sums that the next adjustment of p averages (a
    tensor on the device, so that only the adjustment waits for the device)."""
    signs = real_logits.detach().float().sign().sum()
    previous = ctx.state.get("ada_sign_sum")
    ctx.state["ada_sign_sum"] = signs if previous is None else previous.to(signs.device) + signs
    ctx.state["ada_sign_count"] = int(ctx.state.get("ada_sign_count", 0)) + real_logits.shape[0]


def adapt_augmentation(ctx, batch: int) -> None:
    """After every ``ada_interval`` iterations, move p by the ADA heuristic (NVlabs' training loop
    adjusts after the phases of every 4th iteration: here before the first phase of the next)."""
    from ganzoo_stylegan2.ada import adjust_p

    p = ctx.config.model
    ctx.state.setdefault("augment_p", float(p.augment_p))
    count = int(ctx.state.get("ada_sign_count", 0))
    if ctx.step == 0 or ctx.step % p.ada_interval or count == 0:
        return
    rt = float(ctx.state["ada_sign_sum"]) / count
    world = getattr(getattr(ctx, "distributed", None), "world_size", 1)
    ctx.state["augment_p"] = adjust_p(float(ctx.state["augment_p"]), rt, batch * world * p.ada_interval,
                                      p.ada_target, p.ada_kimg)
    ctx.state["augment_rt"] = rt
    ctx.state.pop("ada_sign_sum", None)
    ctx.state["ada_sign_count"] = 0


@hookimpl(wrapper=True)
def ganzoo_train_step(variant, ctx):
    """Log ADA's p and r_t with the losses (as ``augment/p`` and ``augment/rt`` in metrics.jsonl)."""
    terms = yield
    if variant.name == NAME and ctx.config.model.augment == "ada":
        import torch

        p = float(ctx.state.get("augment_p", ctx.config.model.augment_p))
        terms["augment/p"] = torch.tensor(p, device=ctx.device)  # the run's device, not the host's
        if "augment_rt" in ctx.state:
            terms["augment/rt"] = torch.tensor(float(ctx.state["augment_rt"]), device=ctx.device)
    return terms


@hookimpl
def ganzoo_sample(variant, networks, config, n, labels, generator, device, truncation, truncation_cutoff):
    """Samples of the (averaged) generator with the fixed noise buffers (NVlabs' generate.py
    ``noise_mode='const'``), so that a seed gives the same images; ``truncation`` ψ gives
    w = w_avg + ψ(w − w_avg) on the first ``truncation_cutoff`` ws (all when ``None``)."""
    if variant.name != NAME:
        return None
    G = networks["generator"]
    count = n if labels is None else labels.shape[0]
    z, drawn = draw(count, config.model.latent_dim, G.num_classes, device, generator)
    if labels is not None and G.num_classes:
        drawn = labels.to(device)
    # the synthesis network has no tanh: NVlabs clamps its output when it writes images, and so do we
    psi = 1.0 if truncation is None else float(truncation)
    return G(z, drawn, psi, truncation_cutoff, noise_mode="const").clamp(-1, 1)
