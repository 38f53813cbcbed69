"""The conditional networks of Mirza & Osindero (2014): their MNIST MLPs (section 4.1) and the
DCGAN pair conditioned the same way.

MLPs (``architecture = "mlp"``), section 4.1:

Generator: "Both z and y are mapped to hidden layers with Rectified Linear Units (ReLu), with layer
sizes 200 and 1000 respectively, before both being mapped to second, combined hidden ReLu layer of
dimensionality 1200. We then have a final sigmoid unit layer as our output."

Discriminator: "The discriminator maps x to a maxout layer with 240 units and 5 pieces, and y to a
maxout layer with 50 units and 5 pieces. Both of the hidden layers mapped to a joint maxout layer
with 240 units and 4 pieces before being fed to the sigmoid layer."

The label y enters as a learned embedding, which is the paper's linear layer on the one-hot y
written without the multiplication by zeros. The output unit is tanh rather than sigmoid because
ganzoo's images lie in [-1, 1] (tanh(a) = 2·sigmoid(2a) − 1, the same unit rescaled), and the
discriminator returns its logit (the sigmoid lives in the loss). "Dropout with probability of 0.5
was applied to both the generator and discriminator": here on every hidden layer's output.

Convolutional (``architecture = "conv"``, the default): "we can perform the conditioning by feeding y
into the both the discriminator and generator as additional input layer" (section 3.2). The DCGAN
generator reads ``[z, embedding(y)]``; the DCGAN discriminator reads the image with y as one-hot
planes, extra input channels (the conditional DCGAN of common practice).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganzoo.parts.layers import Maxout


def label_embedding(num_classes: int, size: int) -> nn.Embedding:
    """The paper's linear layer on a one-hot y, as an embedding: initialised as ``nn.Linear`` on a
    ``num_classes``-wide input would be, U(±1/√num_classes), not N(0, 1) (the embedding default),
    which would make y outweigh z and x from the first step."""
    embedding = nn.Embedding(num_classes, size)
    bound = 1.0 / math.sqrt(num_classes)
    nn.init.uniform_(embedding.weight, -bound, bound)
    return embedding


class LabelMaxout(nn.Module):
    """Maxout units of a one-hot label: an embedding of ``units · pieces`` values per class, then max."""

    def __init__(self, num_classes: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.embedding = label_embedding(num_classes, units * pieces)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return self.embedding(labels).view(labels.shape[0], self.units, self.pieces).amax(dim=2)


class ConditionalGenerator(nn.Module):
    """(z, y) → image: z → 200 ReLU, y → 1000 ReLU, joint → 1200 ReLU → C·H·W tanh."""

    def __init__(
        self,
        latent_dim: int,
        num_classes: int,
        out_shape: tuple[int, ...],
        z_hidden: int = 200,
        y_hidden: int = 1000,
        joint_hidden: int = 1200,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.out_shape = tuple(out_shape)
        self.latent_dim = latent_dim
        self.z_path = nn.Sequential(nn.Linear(latent_dim, z_hidden), nn.ReLU(True), nn.Dropout(dropout))
        self.y_path = nn.Sequential(label_embedding(num_classes, y_hidden), nn.ReLU(True), nn.Dropout(dropout))
        self.joint = nn.Sequential(
            nn.Linear(z_hidden + y_hidden, joint_hidden),
            nn.ReLU(True),
            nn.Dropout(dropout),
            nn.Linear(joint_hidden, math.prod(self.out_shape)),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = torch.cat([self.z_path(z), self.y_path(labels)], dim=1)
        return self.joint(h).view(z.shape[0], *self.out_shape)


class ConditionalDiscriminator(nn.Module):
    """(x, y) → logit: x → maxout 240×5, y → maxout 50×5, joint maxout 240×4 → 1."""

    def __init__(
        self,
        in_shape: tuple[int, ...],
        num_classes: int,
        x_units: int = 240,
        x_pieces: int = 5,
        y_units: int = 50,
        y_pieces: int = 5,
        joint_units: int = 240,
        joint_pieces: int = 4,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.x_path = nn.Sequential(Maxout(math.prod(in_shape), x_units, x_pieces), nn.Dropout(dropout))
        self.y_path = nn.Sequential(LabelMaxout(num_classes, y_units, y_pieces), nn.Dropout(dropout))
        self.joint = nn.Sequential(Maxout(x_units + y_units, joint_units, joint_pieces), nn.Dropout(dropout))
        self.out = nn.Linear(joint_units, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = torch.cat([self.x_path(x.flatten(1)), self.y_path(labels)], dim=1)
        return self.out(self.joint(h)).view(-1)


class ConditionalConvGenerator(nn.Module):
    """The DCGAN generator fed ``[z, embedding(y)]``: y as an additional input layer (section 3.2)."""

    def __init__(self, latent_dim: int, num_classes: int, out_shape: tuple[int, ...], ngf: int) -> None:
        super().__init__()
        from ganzoo_dcgan.networks import DCGANGenerator

        channels, size = out_shape[0], out_shape[-1]
        self.latent_dim = latent_dim
        # N(0, 1) like z, so that y weighs as much as the noise from the first step (measured: the
        # class is learned about twice as fast as with a one-hot-sized U(±1/√K) start)
        self.embedding = nn.Embedding(num_classes, num_classes)
        self.body = DCGANGenerator(latent_dim + num_classes, channels, size, ngf)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([z, self.embedding(labels)], dim=1))


class ConditionalConvDiscriminator(nn.Module):
    """The DCGAN discriminator fed the image and y as one-hot planes (extra input channels);
    real and fake batches go through it separately, as in DCGAN."""

    def __init__(self, in_shape: tuple[int, ...], num_classes: int, ndf: int) -> None:
        super().__init__()
        from ganzoo_dcgan.networks import DCGANDiscriminator

        channels, size = in_shape[0], in_shape[-1]
        self.num_classes = num_classes
        self.body = DCGANDiscriminator(channels + num_classes, size, ndf)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        planes = nn.functional.one_hot(labels, self.num_classes).to(x.dtype)[:, :, None, None]
        return self.body(torch.cat([x, planes.expand(-1, -1, *x.shape[2:])], dim=1))
