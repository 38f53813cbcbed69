"""MNIST: the test split shipped inside the package, or torchvision's full dataset from disk.

The embedded files are the 10,000 test digits of the MNIST database (Y. LeCun, C. Cortes,
C. J. C. Burges), CC BY-SA 3.0; see ``ganzoo/assets/mnist/README.md``.
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np
import torch

from ganzoo.data.source import TensorSource, resize_uint8
from ganzoo.spec import DataInfo

ASSET = "assets/mnist"
IMAGES = "t10k-images-idx3-ubyte.gz"
LABELS = "t10k-labels-idx1-ubyte.gz"


def read_idx(data: bytes) -> np.ndarray:
    """Parse an IDX file (the MNIST format): magic, dimensions, then big-endian uint8 data."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError("not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    array = np.frombuffer(data, dtype=np.uint8, count=expected, offset=offset)
    return array.reshape(dims)


def embedded_mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """The embedded MNIST test split: uint8 images N×1×28×28 and int64 labels."""
    folder = resources.files("ganzoo").joinpath(ASSET)
    images = read_idx(gzip.decompress(folder.joinpath(IMAGES).read_bytes()))
    labels = read_idx(gzip.decompress(folder.joinpath(LABELS).read_bytes()))
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def convert_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 NCHW images with ``channels`` channels (``data.channels``; 0 keeps theirs): grey is
    repeated to RGB, RGB becomes grey by ITU-R 601 luma (as PIL's ``convert("L")``)."""
    from ganzoo.errors import UserError

    if channels in (0, images.shape[1]):
        return images
    if channels not in (1, 3):
        raise UserError(f"bad value {channels} for data.channels: expected 1 or 3 (or 0 for the dataset's own)")
    if channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (images.float() * weights).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)


def image_source(images: torch.Tensor, labels: torch.Tensor | None, config, num_classes: int) -> TensorSource:
    """A labelled-image TensorSource at the configured size from uint8 NCHW images (the first
    ``data.limit`` of them when that is set)."""
    limit = getattr(config.data, "limit", 0)
    if limit:
        images = images[:limit]
        labels = None if labels is None else labels[:limit]
    if config.image_size:
        images = resize_uint8(images, config.image_size)
    images = convert_channels(images, config.data.channels)
    tensors = {"real": images}
    kind = "images"
    if labels is not None:
        tensors["label"] = labels.long()
        kind = "labelled-images"
    info = DataInfo(kind=kind, shape=tuple(images.shape[1:]), num_classes=num_classes if labels is not None else 0, size=images.shape[0])
    return TensorSource(tensors, info)


def build(config) -> TensorSource:
    """The embedded split unless a data root or the train split is asked for."""
    from ganzoo.data.vision import torchvision_tensors

    if not config.data.root and config.data.split in ("", "test") and not config.data.download:
        images, labels = embedded_mnist()
    else:
        images, labels = torchvision_tensors("MNIST", config)
    return image_source(images, labels, config, num_classes=10)
