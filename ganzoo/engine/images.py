"""Sample grids and image conversion."""

from __future__ import annotations

import math
from pathlib import Path

import torch


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (NCHW float) to uint8 NHWC."""
    return images.detach().float().add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu()


def save_grid(images: torch.Tensor, path: Path, nrow: int | None = None) -> Path:
    """Save NCHW images in [-1, 1] as one PNG grid (``nrow`` images per row, square by default)."""
    from torchvision.utils import save_image

    from ganzoo.engine.checkpoint import naming_the_file

    nrow = nrow or max(1, int(math.ceil(math.sqrt(images.shape[0]))))
    with naming_the_file(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(images.detach().float().cpu().add(1).div(2).clamp(0, 1), path, nrow=nrow, padding=2)
    return path


def side_by_side(domains: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """The rows of several domains drawn from the same z, interleaved so that a grid of the returned
    row length shows each row's images next to each other (A₁ B₁ A₂ B₂ …), about square in pairs."""
    parts = list(domains.values())
    n = parts[0].shape[0]
    per_row = max(1, int(math.ceil(math.sqrt(n))))
    return torch.stack(parts, dim=1).flatten(0, 1), per_row * len(parts)


def save_points(points: torch.Tensor, path: Path, reference: torch.Tensor | None = None) -> Path:
    """A scatter plot of 2-D samples (and, faintly, the reference points) as a PNG, without matplotlib."""
    from PIL import Image, ImageDraw

    size = 512
    pts = points.detach().float().cpu()
    every = pts if reference is None else torch.cat([pts, reference.detach().float().cpu()])
    extent = float(every.abs().max().clamp(min=1e-3)) * 1.1
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)

    def to_pixel(p: torch.Tensor) -> tuple[float, float]:
        return ((p[0].item() / extent + 1) * size / 2, (1 - p[1].item() / extent) * size / 2)

    if reference is not None:
        for p in reference.detach().cpu()[:2000]:
            x, y = to_pixel(p)
            draw.ellipse([x - 1, y - 1, x + 1, y + 1], fill=(200, 200, 200))
    for p in pts:
        x, y = to_pixel(p)
        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=(31, 119, 180))
    from ganzoo.engine.checkpoint import naming_the_file

    with naming_the_file(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
    return path
