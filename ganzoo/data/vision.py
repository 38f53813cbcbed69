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


class CheckedLoader:
    """A PIL loader that turns an unreadable file into a UserError naming the file."""

    def __call__(self, path: str):
        from PIL import Image

        try:
            with open(path, "rb") as fh:
                image = Image.open(fh)
                return image.convert("RGB")
        except Exception as exc:
            raise UserError(f"cannot read image {path!r} ({type(exc).__name__}); remove or replace the file") from None


def build_folder(config):
    """An ImageFolder (classes from sub-folders) at ``data.root``, read through a DataLoader."""
    from torchvision.datasets import ImageFolder

    from ganzoo.data.source import LoaderSource, refuse_limit

    refuse_limit(config, "folder")
    from ganzoo.spec import DataInfo

    if not config.data.root:
        raise UserError("the folder dataset needs a path; pass --data-root DIR (one sub-folder per class)")
    root = Path(os.path.expanduser(config.data.root))
    if not root.is_dir():
        raise UserError(f"data folder {str(root)!r} does not exist; pass --data-root DIR with images in sub-folders")
    files = image_files(root)
    if not files:
        raise UserError(f"data folder {str(root)!r} holds no images ({', '.join(IMAGE_EXTENSIONS)}); put images in sub-folders of it")
    size = config.image_size or 64
    channels = config.data.channels or 3
    loader = CheckedLoader()
    # Open the first image now so a wrong format fails before training starts.
    loader(str(files[0]))
    try:
        dataset = ImageFolder(str(root), transform=image_transform(size, channels), loader=loader)
    except FileNotFoundError:
        # images directly in root, no class sub-folders: treat as one class
        dataset = ImageFolder(str(root.parent), transform=image_transform(size, channels), loader=loader,
                              is_valid_file=lambda p: Path(p).parent == root and Path(p).suffix.lower() in IMAGE_EXTENSIONS)
    info = DataInfo(kind="labelled-images", shape=(channels, size, size), num_classes=len(dataset.classes), size=len(dataset))
    return LoaderSource(dataset, info, workers=config.data.workers)
