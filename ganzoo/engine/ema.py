"""The exponential moving average (EMA) of a network's weights, as the papers that rely on it
specify it.

Samples of an averaged generator are markedly better than those of the last weights (Yazıcı et al.
2019, "The Unusual Effectiveness of Averaging in GAN Training"), and the large image GANs all keep
one. Their papers specify it differently, so :class:`EMASettings` holds both ways:

- **BigGAN** (Brock et al. 2019, appendix C; BigGAN-PyTorch ``utils.ema``): a constant ``decay``
  (0.9999) from ``start_step`` on (20,000 iterations at ImageNet scale, 1,000 in the CIFAR
  scripts); before it the average is a plain copy of the weights, so it never weighs the random
  initial weights.
- **StyleGAN2** (Karras et al. 2020, appendix B; stylegan2-ada ``training_loop.py``): a half-life
  counted in images (``half_life_kimg`` = 10), so the decay per step is ``0.5 ** (batch /
  half_life_images)``; with ``rampup`` (0.05) the half-life is at most ``rampup`` times the images
  seen so far, which makes the early average follow the fast-changing weights.

Buffers (BatchNorm's running mean and variance): ``copy`` takes them from the trained network each
step (StyleGAN2 does this); ``average`` averages floating-point buffers with the same decay as the
weights (BigGAN-PyTorch averages its whole ``state_dict``), integer buffers such as
``num_batches_tracked`` are copied either way.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from ganzoo.errors import UserError


@dataclass
class EMASettings:
    """How one network's average is kept; the ``ema`` add-on's settings and what a variant puts in
    its :attr:`ganzoo.spec.Schedule.ema` to keep an average by default."""

    #: Weight of the old average per step (BigGAN: 0.9999). Ignored when ``half_life_kimg`` > 0.
    decay: float = 0.999
    #: Steps before averaging starts; until then the average copies the weights (BigGAN's
    #: ``ema_start``).
    start_step: int = 0
    #: Half-life of the average in thousands of images (StyleGAN2's ``ema_kimg`` = 10); 0 uses
    #: ``decay``.
    half_life_kimg: float = 0.0
    #: With ``half_life_kimg``: the half-life is at most ``rampup`` × images seen (StyleGAN2: 0.05);
    #: 0 is no ramp-up.
    rampup: float = 0.0
    #: BatchNorm running statistics and other buffers: ``copy`` from the trained network, or
    #: ``average`` floating-point buffers like the weights.
    buffers: Literal["copy", "average"] = "copy"


def as_settings(value: float | EMASettings, name: str = "ema") -> EMASettings:
    """A constant decay becomes ``EMASettings(decay=value)``; values out of range are one-line errors."""
    settings = value if isinstance(value, EMASettings) else EMASettings(decay=float(value))
    if not 0.0 <= settings.decay < 1.0:
        raise UserError(f"bad EMA decay {settings.decay} for {name}: expected a number from 0 to below 1, e.g. 0.999")
    if settings.start_step < 0 or settings.half_life_kimg < 0 or settings.rampup < 0:
        raise UserError(f"bad EMA settings for {name}: start_step, half_life_kimg and rampup must be 0 or more")
    if settings.buffers not in ("copy", "average"):
        raise UserError(f"bad EMA buffers {settings.buffers!r} for {name}: expected 'copy' or 'average'")
    return settings


def decay_at(settings: EMASettings, step: int, images_per_step: int) -> float:
    """The decay of the update after ``step`` finished iterations (``images_per_step`` each)."""
    if step < settings.start_step:
        return 0.0
    if settings.half_life_kimg > 0:
        half_life = settings.half_life_kimg * 1000.0
        if settings.rampup > 0:
            half_life = min(half_life, step * images_per_step * settings.rampup)
        return 0.5 ** (images_per_step / max(half_life, 1e-8))
    return settings.decay


def make_copies(networks: Mapping[str, nn.Module], names: Mapping[str, Any]) -> dict[str, nn.Module]:
    """Frozen copies of the named networks: the averages, starting at the initial weights."""
    return {name: copy.deepcopy(networks[name]).requires_grad_(False) for name in names}


@torch.no_grad()
def update(averages: Mapping[str, nn.Module], networks: Mapping[str, nn.Module],
           settings: Mapping[str, EMASettings], step: int, images_per_step: int) -> None:
    """Move every average towards its network after iteration ``step`` (0-based)."""
    for name, average in averages.items():
        rule = settings[name]
        weight = 1.0 - decay_at(rule, step, images_per_step)
        torch._foreach_lerp_(list(average.parameters()), list(networks[name].parameters()), weight)
        for b_avg, b_net in zip(average.buffers(), networks[name].buffers(), strict=True):
            if rule.buffers == "average" and b_avg.is_floating_point():
                b_avg.lerp_(b_net, weight)
            else:
                b_avg.copy_(b_net)


def record(settings: Mapping[str, EMASettings]) -> dict[str, dict[str, Any]]:
    """Plain values of the settings, for checkpoints."""
    return {name: dataclasses.asdict(rule) for name, rule in settings.items()}
