"""Data for benchmarks: synthetic batches already on the device, and image folders on disk.

Throughput is first measured on synthetic data that lives on the device, so that the figure is the
model's and the loop's alone and both contenders read exactly the same tensors. A second figure uses
the real data pipeline; datasets that are read from folders get a temporary folder of generated
images (JPEG, decoded and transformed by the dataset's own DataLoader workers).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from ganzoo.data.source import DataSource
from ganzoo.spec import DataInfo


class SyntheticSource(DataSource):
    """A few fixed random batches on the device, served in turn forever.

    Images are uniform in [-1, 1] (the range of real data after normalisation), labels uniform over
    the classes; unpaired data has two domains ``A`` and ``B``. The batches are made once, on the
    device, so serving one costs nothing.
    """

    def __init__(self, info: DataInfo, pool: int = 4, seed: int = 0) -> None:
        super().__init__()
        self.info = info
        self.pool = pool
        self.seed = seed

    def make_batches(self, batch_size: int, device: torch.device) -> list[dict[str, torch.Tensor]]:
        gen = torch.Generator().manual_seed(self.seed)
        shape = (batch_size, *self.info.shape)

        def images() -> torch.Tensor:
            return (torch.rand(shape, generator=gen) * 2 - 1).to(device)

        out = []
        for _ in range(self.pool):
            if self.info.kind == "unpaired-images":
                batch = {"A": images(), "B": images()}
            elif self.info.kind == "points":
                batch = {"real": torch.randn(shape, generator=gen).to(device)}
            else:
                batch = {"real": images()}
                if self.info.num_classes:
                    batch["label"] = torch.randint(self.info.num_classes, (batch_size,), generator=gen).to(device)
            out.append(batch)
        return out

    def batches(self, batch_size: int, seed: int, device: torch.device) -> Iterator[dict[str, torch.Tensor]]:
        pool = self.make_batches(batch_size, device)
        while True:
            for batch in pool:
                self.position += 1
                yield dict(batch)

    def examples(self, n: int, device: torch.device) -> dict[str, torch.Tensor]:
        return self.make_batches(n, device)[0]


def write_images(folder: Path, count: int, size: int, channels: int, seed: int = 0, distinct: int = 256) -> None:
    """``count`` JPEG images of ``size``×``size`` pixels in ``folder``.

    Only ``distinct`` of them are encoded; the rest are hard links to those (copies where links are
    not possible), so a folder as long as a real epoch costs little to make while every image is
    still read and decoded by the data pipeline.
    """
    import os
    import shutil

    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    mode = "L" if channels == 1 else "RGB"
    originals = []
    for index in range(min(count, distinct)):
        # smooth noise (upsampled from 1/8 size) compresses and decodes like a photograph, not like
        # white noise
        small = rng.integers(0, 256, (max(1, size // 8), max(1, size // 8), 3), dtype=np.uint8)
        image = Image.fromarray(small, "RGB").resize((size, size), Image.BILINEAR).convert(mode)
        path = folder / f"{index:06d}.jpg"
        image.save(path, quality=90)
        originals.append(path)
    for index in range(len(originals), count):
        source, target = originals[index % len(originals)], folder / f"{index:06d}.jpg"
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


def write_image_folder(root: Path, layout: str, count: int, size: int, channels: int = 3) -> Path:
    """An image folder of ``count`` images per domain (or in all) for the real-pipeline figure.

    ``layout`` is ``classes`` (two class sub-folders, as ImageFolder reads them) or ``unpaired``
    (``trainA/ trainB/ testA/ testB/``, the layout of CycleGAN's datasets).
    """
    if layout == "unpaired":
        for index, part in enumerate(("trainA", "trainB", "testA", "testB")):
            n = count if part.startswith("train") else max(1, min(count, 64) // 8)
            write_images(root / part, n, size, channels, seed=index)
    elif layout == "classes":
        for index, part in enumerate(("class0", "class1")):
            write_images(root / part, max(1, (count + 1) // 2), size, channels, seed=index)
    else:
        raise ValueError(f"unknown image folder layout {layout!r}")
    return root
