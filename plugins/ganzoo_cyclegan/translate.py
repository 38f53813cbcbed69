"""Translating images with trained CycleGAN generators, and the input / translated / reconstructed grid."""

from __future__ import annotations

import torch
from torch import nn

GENERATORS = {"AtoB": "generator_AB", "BtoA": "generator_BA"}
REVERSE = {"AtoB": "BtoA", "BtoA": "AtoB"}
SOURCE = {"AtoB": "A", "BtoA": "B"}


def translate(networks: dict[str, nn.Module], images: torch.Tensor, direction: str, device: torch.device,
              batch: int = 16) -> torch.Tensor:
    """``images`` (N×C×H×W in [-1, 1], any device) translated in ``direction``, on ``device``."""
    generator = networks[GENERATORS[direction]]
    if images.shape[0] == 0:
        return images.to(device)
    return torch.cat([generator(images[i : i + batch].to(device).float()) for i in range(0, images.shape[0], batch)])


def translation_grid(networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor], direction: str | None,
                     device: torch.device) -> torch.Tensor:
    """Three rows: the inputs, their translations and the translations back (the cycle).

    With ``direction`` ``None`` both ways are shown side by side: A then B in each row.
    """
    rows: list[list[torch.Tensor]] = [[], [], []]
    for way in [direction] if direction else list(GENERATORS):
        source = inputs[SOURCE[way]].to(device).float()
        translated = translate(networks, source, way, device)
        rows[0].append(source)
        rows[1].append(translated)
        rows[2].append(translate(networks, translated, REVERSE[way], device))
    return torch.cat([torch.cat(row) for row in rows])
