"""Differentiable augmentation (DiffAugment) of image batches.

Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for Data-Efficient GAN Training"
(https://arxiv.org/abs/2006.10738): with little data the discriminator memorises the training set;
augmenting *both* real and generated images before every discriminator call, with operations that
gradients pass through, lets the generator learn through the augmentation without the generated
images taking on the augmentation's artefacts. The operations and their ranges follow the authors'
``DiffAugment_pytorch.py`` (section 3.2 and appendix of the paper):

- ``color``: brightness + U(-0.5, 0.5), saturation × U(0, 2), contrast × U(0.5, 1.5);
- ``translation``: shift by up to 1/8 of the image size, filling with zeros;
- ``cutout``: zero a square of half the image size at a random position.

Images are NCHW in [-1, 1]. Every sample of the batch draws its own parameters; ``generator``
makes the draws reproducible without touching the global random state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F

from ganzoo.errors import UserError


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device, generator=generator)


def brightness(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add U(-0.5, 0.5) to every pixel of a sample."""
    return x + (_uniform(x, generator) - 0.5)


def saturation(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Scale each pixel's distance from its channel mean by U(0, 2) (no change to one channel)."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_uniform(x, generator) * 2) + mean


def contrast(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Scale each sample's distance from its mean by U(0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Brightness, saturation and contrast in turn (DiffAugment's ``color``)."""
    return contrast(saturation(brightness(x, generator), generator), generator)


def translation(x: torch.Tensor, ratio: float = 0.125, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each sample by up to ``ratio`` of its height and width (whole pixels), zeros coming in."""
    n, _, height, width = x.shape
    shift_h, shift_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = torch.randint(-shift_h, shift_h + 1, (n, 1, 1), device=x.device, generator=generator)
    dx = torch.randint(-shift_w, shift_w + 1, (n, 1, 1), device=x.device, generator=generator)
    batch, rows, cols = torch.meshgrid(
        torch.arange(n, device=x.device), torch.arange(height, device=x.device), torch.arange(width, device=x.device),
        indexing="ij",
    )
    rows = torch.clamp(rows + dy + 1, 0, height + 1)
    cols = torch.clamp(cols + dx + 1, 0, width + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def cutout(x: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero a ``ratio``-sized rectangle of each sample at a random centre (it may overlap the edge)."""
    n, _, height, width = x.shape
    cut_h, cut_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    centre_y = torch.randint(0, height + (1 - cut_h % 2), (n, 1, 1), device=x.device, generator=generator)
    centre_x = torch.randint(0, width + (1 - cut_w % 2), (n, 1, 1), device=x.device, generator=generator)
    batch, rows, cols = torch.meshgrid(
        torch.arange(n, device=x.device), torch.arange(cut_h, device=x.device), torch.arange(cut_w, device=x.device),
        indexing="ij",
    )
    rows = torch.clamp(rows + centre_y - cut_h // 2, 0, height - 1)
    cols = torch.clamp(cols + centre_x - cut_w // 2, 0, width - 1)
    mask = torch.ones(n, height, width, dtype=x.dtype, device=x.device)
    mask[batch, rows, cols] = 0
    return x * mask.unsqueeze(1)


#: The operations a policy may name.
OPERATIONS: dict[str, Callable[..., torch.Tensor]] = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(policy: str | Iterable[str]) -> tuple[str, ...]:
    """``"color,translation,cutout"`` (or a list) as a tuple of names; an unknown one is a one-line error."""
    names = tuple(p.strip() for p in (policy.split(",") if isinstance(policy, str) else policy) if p.strip())
    for name in names:
        if name not in OPERATIONS:
            raise UserError(f"unknown DiffAugment operation {name!r} in policy; use any of {', '.join(OPERATIONS)}, "
                            "e.g. color,translation,cutout")
    return names


def diff_augment(x: torch.Tensor, policy: str | Iterable[str] = "color,translation,cutout", *,
                 translation_ratio: float = 0.125, cutout_ratio: float = 0.5,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the policy's operations in order to an NCHW batch; differentiable with respect to ``x``."""
    for name in parse_policy(policy):
        if name == "translation":
            x = translation(x, translation_ratio, generator)
        elif name == "cutout":
            x = cutout(x, cutout_ratio, generator)
        else:
            x = OPERATIONS[name](x, generator)
    return x
