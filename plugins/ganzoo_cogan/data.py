"""CoGAN's digit domains, made from the embedded MNIST digits with no download.

The digits are split in two halves at random (a fixed seed): domain A holds one half as they are,
domain B the other half transformed, so no digit appears in both domains and the two are unpaired,
as in the code's ``dataset_mnistedge.py`` (Liu & Tuzel 2016, section 5):

- ``digits-edges``: B is the edge image of each digit, dilate₃ₓ₃(x) − x (the code's ``cv2.dilate``
  with a 3×3 kernel, here a 3×3 max-pool);
- ``digits-negatives``: B is the negative, 1 − x.

``train`` uses the 9,000 digits the shipped digit classifier trained on, ``test`` the 1,000 it
never saw, as ``digits-styles`` does.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from ganzoo.data.source import TensorSource, refuse_limit, resize_uint8
from ganzoo.errors import UserError
from ganzoo.spec import DataInfo

#: The split into halves is the same in every run, as the data are.
SPLIT_SEED = 0


def edges(images: torch.Tensor) -> torch.Tensor:
    """dilate₃ₓ₃(x) − x of uint8 NCHW images (a grey-level dilation is a 3×3 maximum)."""
    dilated = F.max_pool2d(images.float(), 3, stride=1, padding=1)
    return (dilated - images.float()).round().clamp(0, 255).to(torch.uint8)


def negatives(images: torch.Tensor) -> torch.Tensor:
    """1 − x of uint8 NCHW images."""
    return 255 - images


TRANSFORMS = {"digits-edges": edges, "digits-negatives": negatives}


@functools.lru_cache(maxsize=4)
def coupled_digits(name: str, split: str = "train") -> dict[str, torch.Tensor]:
    """``A``/``labels_A`` and ``B``/``labels_B`` at 28 px (uint8, int64): the halves of one split."""
    from ganzoo.data.mnist import embedded_mnist
    from ganzoo.metrics.digits import held_out_split

    images, labels = embedded_mnist()
    train_index, test_index = held_out_split()
    index = test_index if split == "test" else train_index
    index = index[torch.randperm(len(index), generator=torch.Generator().manual_seed(SPLIT_SEED))]
    half = len(index) // 2
    a, b = index[:half], index[half:]
    return {"A": images[a], "labels_A": labels[a], "B": TRANSFORMS[name](images[b]), "labels_B": labels[b]}


def build(name: str, config) -> TensorSource:
    """The dataset ``name`` at ``image_size`` (28 px by default), grey."""
    refuse_limit(config, name)
    if (config.data.channels or 1) != 1:
        raise UserError(f"{name} is grey: data.channels must be 1, got {config.data.channels}")
    data = coupled_digits(name, "test" if config.data.split == "test" else "train")
    size = config.image_size or 28
    tensors = {domain: resize_uint8(data[domain], size) for domain in ("A", "B")}
    info = DataInfo(kind="unpaired-images", shape=(1, size, size), size=tensors["A"].shape[0])
    return TensorSource(tensors, info, labels_A=data["labels_A"], labels_B=data["labels_B"])
