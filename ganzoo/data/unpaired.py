"""Two unpaired image domains, A and B, for image-to-image translation (batches are ``{"A", "B"}``).

- ``unpaired-folder``: the ``trainA/ trainB/ testA/ testB/`` layout of the datasets published with
  CycleGAN (horse2zebra, monet2photo, ...), read through a DataLoader with the paper's augmentation.
- ``digits-styles``: an embedded default that needs no download. Domain A is the embedded MNIST
  (handwritten digits), domain B typeset digits rendered at run time with the font that ships with
  Pillow at varied size, weight, position and slight rotation. Both domains hold the ten digits but
  no image of one is paired with an image of the other, so a translation has to keep the digit and
  change only its style, which the shipped digit classifier can check.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import torch

from ganzoo.data.source import LoaderSource, TensorSource, refuse_limit, resize_uint8
from ganzoo.errors import UserError
from ganzoo.spec import DataInfo

DOMAINS = ("A", "B")

# --------------------------------------------------------------------------------------------------
# digits-styles: handwritten (MNIST) vs typeset digits
# --------------------------------------------------------------------------------------------------

#: Glyphs are drawn at twice the final resolution, then transformed and averaged down (anti-aliasing).
SUPERSAMPLE = 2
DIGIT_SIZE = 28
#: Font size of the glyph templates on the 56 px canvas; scaled per image by ``TYPESET_SCALE`` so that
#: digits stand about as tall as MNIST's (20 of 28 px).
TEMPLATE_FONT_SIZE = 40
#: Extra outline widths (px on the 56 px canvas) that make regular, bold and heavy weights.
TYPESET_STROKES = (0, 1, 2)
TYPESET_SCALE = (1.05, 1.4)
TYPESET_ROTATION_DEGREES = 10.0
TYPESET_SHIFT_PIXELS = 2.0
#: Fixed seeds: the typeset domain is the same data in every run, as MNIST is.
TYPESET_SEEDS = {"train": 1, "test": 2}


@functools.lru_cache(maxsize=1)
def digit_templates() -> torch.Tensor:
    """The ten digits in Pillow's built-in scalable font, one per stroke width: float 10×S×56×56 in [0, 1].

    ``ImageFont.load_default(size=...)`` returns a scalable font from Pillow 10.1 on.
    """
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.load_default(size=TEMPLATE_FONT_SIZE)
    except TypeError:
        raise UserError("the digits-styles dataset needs Pillow 10.1 or newer (scalable built-in font); "
                        "run: pip install -U pillow") from None
    canvas = DIGIT_SIZE * SUPERSAMPLE
    out = torch.zeros(10, len(TYPESET_STROKES), canvas, canvas)
    for digit in range(10):
        for index, stroke in enumerate(TYPESET_STROKES):
            image = Image.new("L", (canvas, canvas), 0)
            ImageDraw.Draw(image).text((canvas / 2, canvas / 2), str(digit), fill=255, font=font, anchor="mm",
                                       stroke_width=stroke, stroke_fill=255)
            out[digit, index] = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
    return out


def typeset_digits(n: int, seed: int, chunk: int = 2000) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` typeset digits (uint8 N×1×28×28, white on black like MNIST) and their labels (int64).

    Digit, weight, size, rotation and shift are drawn from a generator seeded by ``seed``; every
    image is one affine warp of a glyph template, done in batches with ``grid_sample``.
    """
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    templates = digit_templates()
    labels = torch.randint(10, (n,), generator=g)
    strokes = torch.randint(len(TYPESET_STROKES), (n,), generator=g)
    scale = torch.empty(n).uniform_(*TYPESET_SCALE, generator=g)
    angle = torch.empty(n).uniform_(-TYPESET_ROTATION_DEGREES, TYPESET_ROTATION_DEGREES, generator=g) * (math.pi / 180)
    shift = torch.empty(n, 2).uniform_(-1.0, 1.0, generator=g) * (TYPESET_SHIFT_PIXELS * 2 / DIGIT_SIZE)
    # The inverse map (output pixel -> template pixel) of "scale, rotate, then shift", in [-1, 1] units.
    cos, sin = angle.cos() / scale, angle.sin() / scale
    tx, ty = shift[:, 0], shift[:, 1]
    theta = torch.stack([
        torch.stack([cos, sin, -(cos * tx + sin * ty)], dim=1),
        torch.stack([-sin, cos, -(-sin * tx + cos * ty)], dim=1),
    ], dim=1)
    side = DIGIT_SIZE * SUPERSAMPLE
    out = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        src = templates[labels[start:stop], strokes[start:stop]].unsqueeze(1)
        grid = F.affine_grid(theta[start:stop], [stop - start, 1, side, side], align_corners=False)
        warped = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        out.append(F.avg_pool2d(warped, SUPERSAMPLE).mul_(255).round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out), labels


@functools.lru_cache(maxsize=2)
def digit_styles(split: str = "train") -> dict[str, torch.Tensor]:
    """The two domains at 28 px: ``A``/``labels_A`` (MNIST) and ``B``/``labels_B`` (typeset), uint8 and int64.

    ``test`` holds the 1,000 embedded digits the shipped digit classifier never trained on and 1,000
    typeset digits of their own seed; ``train`` the other 9,000 and 9,000 typeset digits.
    """
    from ganzoo.data.mnist import embedded_mnist
    from ganzoo.metrics.digits import held_out_split

    images, labels = embedded_mnist()
    train_index, test_index = held_out_split()
    index = test_index if split == "test" else train_index
    typeset, typeset_labels = typeset_digits(len(index), TYPESET_SEEDS["test" if split == "test" else "train"])
    return {"A": images[index], "labels_A": labels[index], "B": typeset, "labels_B": typeset_labels}


def build_digit_styles(config) -> TensorSource:
    """``digits-styles`` at ``image_size`` (28 px by default), grey or (``data.channels = 3``) RGB."""
    refuse_limit(config, "digits-styles")
    data = digit_styles("test" if config.data.split == "test" else "train")
    size = config.image_size or DIGIT_SIZE
    channels = config.data.channels or 1
    if channels not in (1, 3):
        raise UserError(f"bad value {channels} for data.channels: expected 1 or 3")
    tensors = {}
    for domain in DOMAINS:
        images = resize_uint8(data[domain], size)
        tensors[domain] = images.expand(-1, channels, -1, -1).contiguous() if channels == 3 else images
    info = DataInfo(kind="unpaired-images", shape=(channels, size, size), size=tensors["A"].shape[0])
    return TensorSource(tensors, info, labels_A=data["labels_A"], labels_B=data["labels_B"])


# --------------------------------------------------------------------------------------------------
# unpaired-folder: trainA/ trainB/ testA/ testB/
# --------------------------------------------------------------------------------------------------


def load_size_for(size: int) -> int:
    """The size images are resized to before the random crop: the paper's 286 for 256 px crops."""
    return round(size * 286 / 256)


def folder_transform(size: int, channels: int, train: bool):
    """The reference code's ``resize_and_crop``: resize to 286×286 (bicubic), random 256×256 crop and
    random horizontal flip when training; a plain resize to ``size``×``size`` when not."""
    from torchvision import transforms

    bicubic = transforms.InterpolationMode.BICUBIC
    steps = [transforms.Grayscale(1)] if channels == 1 else []
    if train:
        load = load_size_for(size)
        steps += [transforms.Resize([load, load], interpolation=bicubic), transforms.RandomCrop(size),
                  transforms.RandomHorizontalFlip()]
    else:
        steps += [transforms.Resize([size, size], interpolation=bicubic)]
    steps += [transforms.ToTensor(), transforms.Normalize([0.5] * channels, [0.5] * channels)]
    return transforms.Compose(steps)


class UnpairedImageFolder(torch.utils.data.Dataset):
    """Items ``{"A": a, "B": b}``: the A images in turn and, as in the reference code, a B image drawn at
    random (so no pairing is fixed). One epoch is ``max(|A|, |B|)`` items."""

    def __init__(self, files: dict[str, list[Path]], size: int, channels: int, train: bool = True) -> None:
        from ganzoo.data.vision import CheckedLoader

        self.files = files
        self.loader = CheckedLoader()
        self.transform = folder_transform(size, channels, train)
        self.plain = folder_transform(size, channels, train=False)

    def __len__(self) -> int:
        return max(len(self.files["A"]), len(self.files["B"]))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        a = self.files["A"][index % len(self.files["A"])]
        b = self.files["B"][int(torch.randint(len(self.files["B"]), ()))]
        return {"A": self.transform(self.loader(str(a))), "B": self.transform(self.loader(str(b)))}

    def example(self, domain: str, index: int) -> torch.Tensor:
        """Image ``index`` of ``domain`` without augmentation (sample grids, translation of test images)."""
        return self.plain(self.loader(str(self.files[domain][index])))


class UnpairedFolderSource(LoaderSource):
    """A :class:`LoaderSource` whose fixed examples are the first images of each domain, unaugmented."""

    def examples(self, n: int, device: torch.device) -> dict[str, torch.Tensor]:
        data: UnpairedImageFolder = self.dataset
        return {
            domain: torch.stack([data.example(domain, i) for i in range(min(n, len(data.files[domain])))]).to(device)
            for domain in DOMAINS
        }


def unpaired_files(root: Path, split: str) -> dict[str, list[Path]]:
    """The image files of ``root/{split}A`` and ``root/{split}B``; a missing or empty folder is a UserError."""
    from ganzoo.data.vision import IMAGE_EXTENSIONS, image_files

    layout = "CycleGAN's layout is trainA/ trainB/ testA/ testB/"
    if not root.is_dir():
        raise UserError(f"data folder {str(root)!r} does not exist; pass --data-root DIR holding trainA/ and trainB/ ({layout})")
    files = {}
    for domain in DOMAINS:
        folder = root / f"{split}{domain}"
        if not folder.is_dir():
            raise UserError(f"data folder {str(root)!r} has no {split}{domain}/ sub-folder; {layout}")
        found = image_files(folder)
        if not found:
            raise UserError(f"{str(folder)!r} holds no images ({', '.join(IMAGE_EXTENSIONS)}); put the domain {domain} images there")
        files[domain] = found
    return files


def read_images(path: Path, channels: int, size: int) -> tuple[torch.Tensor, list[str]]:
    """Images to translate: one file, or every image under a folder (recursively), as N×C×size×size in
    [-1, 1] (shorter side resized to ``size``, then centre-cropped) and their names (relative to the
    folder, or the file's name)."""
    from torchvision import transforms

    from ganzoo.data.vision import IMAGE_EXTENSIONS, CheckedLoader, image_files

    path = Path(os.path.expanduser(str(path)))
    if path.is_dir():
        files = image_files(path)
        if not files:
            raise UserError(f"input folder {str(path)!r} holds no images ({', '.join(IMAGE_EXTENSIONS)}); pass a folder of images")
        names = [str(f.relative_to(path)) for f in files]
    elif path.is_file():
        files, names = [path], [path.name]
    else:
        raise UserError(f"input {str(path)!r} does not exist; pass an image file or a folder of images")
    steps = [transforms.Grayscale(1)] if channels == 1 else []
    steps += [transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC), transforms.CenterCrop(size),
              transforms.ToTensor(), transforms.Normalize([0.5] * channels, [0.5] * channels)]
    transform, loader = transforms.Compose(steps), CheckedLoader()
    return torch.stack([transform(loader(str(f))) for f in files]), names


def build_folder(config) -> UnpairedFolderSource:
    """``unpaired-folder`` at ``data.root``: the train (or, with ``data.split = test``, test) domains at
    ``image_size`` (256 px by default, the paper's), RGB unless ``data.channels = 1``."""
    refuse_limit(config, "unpaired-folder")
    if not config.data.root:
        raise UserError("the unpaired-folder dataset needs a path; pass --data-root DIR holding trainA/ and trainB/")
    root = Path(os.path.expanduser(config.data.root))
    split = "test" if config.data.split == "test" else "train"
    files = unpaired_files(root, split)
    size = config.image_size or 256
    channels = config.data.channels or 3
    if channels not in (1, 3):
        raise UserError(f"bad value {channels} for data.channels: expected 1 or 3")
    dataset = UnpairedImageFolder(files, size, channels, train=split == "train")
    for domain in DOMAINS:  # a file that cannot be read fails now, not inside a worker mid-training
        dataset.example(domain, 0)
    info = DataInfo(kind="unpaired-images", shape=(channels, size, size), size=len(dataset))
    return UnpairedFolderSource(dataset, info, workers=config.data.workers)
