"""The history of generated images each discriminator sees (Zhu et al. 2017, section 4, "Training details").

"To reduce model oscillation, we follow Shrivastava et al.'s strategy [Learning from Simulated and
Unsupervised Images through Adversarial Training, 2017] and update the discriminators using a history
of generated images rather than the ones produced by the latest generators. We keep an image buffer
that stores the 50 previously created images."

The rule is the reference code's: until the pool is full every new image is stored and returned;
afterwards each new image, with probability one half, is returned as is, or else is swapped into the
pool in place of a random stored image, which is returned instead.

The pool lives in the run's ``state`` (a dict saved in every checkpoint), so a resumed run continues
with the same history.
"""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    """A view of one pool of generated images kept in ``state[key]`` (a tensor of up to ``size`` images)."""

    def __init__(self, state: dict[str, Any], key: str, size: int = 50) -> None:
        self.state = state
        self.key = key
        self.size = size

    @property
    def images(self) -> torch.Tensor | None:
        return self.state.get(self.key)

    def __len__(self) -> int:
        images = self.images
        return 0 if images is None else images.shape[0]

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same size for the discriminator, mixing new and stored images.

        ``images`` are detached before storing. The random choices come from the global torch
        generator, which checkpoints save and restore.
        """
        images = images.detach()
        if self.size <= 0:
            return images
        coins = torch.rand(images.shape[0]).tolist()
        slots = torch.randint(self.size, (images.shape[0],)).tolist()
        out = []
        for image, coin, slot in zip(images, coins, slots, strict=True):
            stored = self.images
            if stored is None or stored.shape[0] < self.size:
                image = image.unsqueeze(0).clone()
                self.state[self.key] = image if stored is None else torch.cat([stored, image])
                out.append(image[0])
            elif coin > 0.5:
                previous = stored[slot].clone()
                stored[slot] = image
                out.append(previous)
            else:
                out.append(image)
        return torch.stack(out)
