"""CoGAN's coupled networks for 28 px digits (Liu & Tuzel 2016, Table 1; mingyuliutw/CoGAN
``net_cogan_mnistedge.py``).

Generator: one z → shared ConvT 100→1024 (k4) → 512 → 256 → 128 (k3, stride 2), each followed by
BatchNorm without affine parameters and PReLU; then each domain's own ConvT 128→C (k6) + sigmoid.
The shared first layers decode the high-level concept both domains have in common, the heads render
it in each domain's low-level detail (section 3: "the first layers decode high-level semantics").

Discriminator: each domain's own conv C→20 (k5) + max-pool; shared conv 20→50 (k5) + max-pool, conv
50→500 (k4) + PReLU and conv 500→2 (the code's two-class output, read as real/fake by cross-entropy).
It is the mirror image: the first layers see low-level detail, the last ones judge the concept.

The code works on images in [0, 1]; ganzoo's images are in [-1, 1]. The networks convert at their
edges (the heads' sigmoid s becomes 2s − 1, the discriminator reads (x + 1) / 2), so they compute
exactly the code's function. ``width`` scales the generator's channels (128: the code's 1024, 512,
256, 128) for reduced demo networks.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganzoo.errors import UserError

#: The only size the code's layer arithmetic takes: 4 → 7 → 13 → 25 → 28 up, 28 → 24 → 12 → 8 → 4 → 1 down.
IMAGE_SIZE = 28
DOMAINS = ("A", "B")


def check_image_size(height: int, width: int) -> None:
    if (height, width) != (IMAGE_SIZE, IMAGE_SIZE):
        raise UserError(f"cogan's networks take 28×28 images (the paper's digit networks), got {height}×{width}; "
                        "pass --image-size 28")


def xavier_init(module: nn.Module) -> None:
    """The code's ``xavier_weights_init``: conv weights Glorot-uniform with gain √2, biases 0.1."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.xavier_uniform_(module.weight, gain=math.sqrt(2))
        nn.init.constant_(module.bias, 0.1)


class CoupledGenerator(nn.Module):
    """z (N×latent) → one image per domain, stacked along the channels: N×(2·C)×28×28, A first."""

    def __init__(self, latent_dim: int = 100, channels: int = 1, width: int = 128) -> None:
        super().__init__()
        widths = [8 * width, 4 * width, 2 * width, width]
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, widths[0], 4, 1), nn.BatchNorm2d(widths[0], affine=False), nn.PReLU()]
        for previous, current in zip(widths, widths[1:], strict=False):
            layers += [nn.ConvTranspose2d(previous, current, 3, 2, 1), nn.BatchNorm2d(current, affine=False), nn.PReLU()]
        self.latent_dim = latent_dim
        self.shared = nn.Sequential(*layers)
        self.heads = nn.ModuleDict({d: nn.ConvTranspose2d(width, channels, 6, 1, 1) for d in DOMAINS})
        self.apply(xavier_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.shared(z.view(z.shape[0], z.shape[1], 1, 1))
        return torch.cat([torch.sigmoid(self.heads[d](h)) * 2 - 1 for d in DOMAINS], dim=1)


class CoupledDiscriminator(nn.Module):
    """Images of A and of B (N each) → 2N real/fake logits, A's first.

    The logit is the difference of the code's two class scores: softmax cross-entropy over (fake,
    real) equals the logistic loss of that difference, so ganzoo's named adversarial losses apply.
    """

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.heads = nn.ModuleDict({d: nn.Sequential(nn.Conv2d(channels, 20, 5), nn.MaxPool2d(2)) for d in DOMAINS})
        self.shared = nn.Sequential(
            nn.Conv2d(20, 50, 5), nn.MaxPool2d(2),
            nn.Conv2d(50, 500, 4), nn.PReLU(),
            nn.Conv2d(500, 2, 1),
        )
        self.apply(xavier_init)

    def forward(self, images_a: torch.Tensor, images_b: torch.Tensor) -> torch.Tensor:
        h = torch.cat([self.heads["A"]((images_a + 1) / 2), self.heads["B"]((images_b + 1) / 2)])
        scores = self.shared(h).flatten(1)
        return scores[:, 1] - scores[:, 0]
