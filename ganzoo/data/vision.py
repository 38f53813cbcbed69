"""torchvision datasets (MNIST, Fashion-MNIST, CIFAR-10) from disk or their real download path,
and image folders (one class per sub-folder)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ganzoo.errors import UserError

DEFAULT_ROOT = os.path.join("~", ".cache", "ganzoo", "data")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def data_root(config) -> Path:
    return Path(os.path.expanduser(config.data.root or os.environ.get("GANZOO_DATA", DEFAULT_ROOT)))


def torchvision_tensors(class_name: str, config) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a torchvision dataset as uint8 NCHW images and int64 labels.

    Reads ``data.root`` (or ``$GANZOO_DATA``); downloads only when ``data.download`` is true.
    """
    import torchvision.datasets as tvd

    root = data_root(config)
    train = config.data.split != "test"
    if not config.data.download and not root.is_dir():
        raise UserError(
            f"data folder {str(root)!r} does not exist; pass --data-root DIR holding {class_name}, "
            f"or --set data.download=true to download it"
        )
    try:
        dataset = getattr(tvd, class_name)(str(root), train=train, download=config.data.download)
    except RuntimeError as exc:
        raise UserError(
            f"{class_name} not found under {str(root)!r} ({exc}); pass --data-root DIR holding it, "
            f"or --set data.download=true to download it"
        ) from None
    except OSError as exc:
        raise UserError(f"could not download {class_name} to {str(root)!r}: {exc}") from None
    data = dataset.data
    images = torch.as_tensor(np.asarray(data))
    if images.ndim == 3:  # N×H×W grey
        images = images.unsqueeze(1)
    else:  # N×H×W×C colour
        images = images.permute(0, 3, 1, 2).contiguous()
    labels = torch.as_tensor(np.asarray(dataset.targets), dtype=torch.int64)
    return images, labels


def build_torchvision(class_name: str, config):
    from ganzoo.data.mnist import image_source

    images, labels = torchvision_tensors(class_name, config)
    return image_source(images, labels, config, num_classes=int(labels.max()) + 1)


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def image_transform(size: int, channels: int, train: bool = True):
    from torchvision import transforms

    steps = []
    if channels == 1:
        steps.append(transforms.Grayscale(1))
    if size:
        steps += [transforms.Resize(size), transforms.CenterCrop(size)]
    steps += [transforms.ToTensor(), transforms.Normalize([0.5] * channels, [0.5] * channels)]
    return transforms.Compose(steps)


#: PIL modes of 16-bit greyscale images (16-bit PNGs open as one of them).
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def to_rgb(image, path: str):
    """An RGB image, 8 bits a channel. 16-bit greyscale is scaled from [0, 65535] to [0, 255]:
    PIL's ``convert`` would clip it, turning nearly every pixel white. Other integer modes are refused."""
    from PIL import Image

    if image.mode in SIXTEEN_BIT_MODES:
        values = np.asarray(image, dtype=np.int64)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise UserError(f"cannot read image {path!r}: 32-bit integer pixels are not supported; save it as 8 or 16 bit")
        image = Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8), mode="L")
    elif image.mode == "F":
        raise UserError(f"cannot read image {path!r}: floating-point pixels are not supported; save it as 8 or 16 bit")
    return image.convert("RGB")


class CheckedLoader:
    """A PIL loader that turns an unreadable file into a UserError naming the file."""

    def __call__(self, path: str):
        from PIL import Image

        try:
            with open(path, "rb") as fh:
                image = Image.open(fh)
                image.load()
        except Exception as exc:
            raise UserError(f"cannot read image {path!r} ({type(exc).__name__}); remove or replace the file") from None
        return to_rgb(image, path)


class ImageFiles(torch.utils.data.Dataset):
    """``(transform(image), label)`` of a list of ``(path, label)``; ``classes`` names the labels."""

    def __init__(self, samples: list[tuple[str, int]], classes: list[str], transform, loader) -> None:
        self.samples, self.classes, self.transform, self.loader = samples, classes, transform, loader

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        return self.transform(self.loader(path)), label


def folder_samples(root: Path) -> tuple[list[tuple[str, int]], list[str]]:
    """The images of ``root`` and their classes, looking only inside ``root``.

    Classes are the sub-folders holding images (at any depth below them); a sub-folder without
    images is skipped with a warning. With no class sub-folders, the images directly in ``root``
    are one class named after it."""
    import sys

    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    found = {folder.name: image_files(folder) for folder in folders}
    empty = [name for name, files in found.items() if not files]
    classes = [name for name, files in found.items() if files]
    if classes:
        if empty:
            print(f"ganzoo: warning: skipped {len(empty)} class folder(s) of {str(root)!r} holding no images: "
                  f"{', '.join(empty[:10])}{' ...' if len(empty) > 10 else ''}", file=sys.stderr)
        samples = [(str(path), label) for label, name in enumerate(classes) for path in found[name]]
        return samples, classes
    flat = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    return [(str(path), 0) for path in flat], [root.name]


def build_folder(config):
    """An image folder (classes from sub-folders) at ``data.root``, read through a DataLoader."""
    from ganzoo.data.source import LoaderSource, refuse_limit

    refuse_limit(config, "folder")
    from ganzoo.spec import DataInfo

    if not config.data.root:
        raise UserError("the folder dataset needs a path; pass --data-root DIR (one sub-folder per class)")
    root = Path(os.path.expanduser(config.data.root))
    if not root.is_dir():
        raise UserError(f"data folder {str(root)!r} does not exist; pass --data-root DIR with images in sub-folders")
    samples, classes = folder_samples(root)
    if not samples:
        raise UserError(f"data folder {str(root)!r} holds no images ({', '.join(IMAGE_EXTENSIONS)}); put images in sub-folders of it")
    size = config.image_size or 64
    channels = config.data.channels or 3
    loader = CheckedLoader()
    # Open the first image now so a wrong format fails before training starts.
    loader(samples[0][0])
    dataset = ImageFiles(samples, classes, image_transform(size, channels), loader)
    info = DataInfo(kind="labelled-images", shape=(channels, size, size), num_classes=len(dataset.classes), size=len(dataset))
    return LoaderSource(dataset, info, workers=config.data.workers)
