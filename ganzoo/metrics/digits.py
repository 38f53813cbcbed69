"""The shipped MNIST digit classifier: offline features and labels for evaluating digit generators.

A small CNN trained by ``scripts/train_digit_classifier.py`` on the embedded MNIST digits, with
small shifts and rotations so that it stays reliable on generated digits. Its weights ship as
``ganzoo/assets/digit_classifier.safetensors`` (loaded with safetensors, never a pickle). It serves
the digit metrics: the Fréchet distance in its feature space ("FID (MNIST classifier features)",
never reported as FID), the classifier score, the class accuracy of conditional samples and the
digit preservation of translations.

Inputs everywhere are images in [-1, 1], N×C×H×W with C = 1 or 3 and any H×W; they are turned
into grey 1×28×28 inside (channel mean, bilinear antialiased resize).
"""

from __future__ import annotations

import functools
from importlib import resources

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ASSET = "assets/digit_classifier.safetensors"
IMAGE_SIZE = 28
FEATURES = 128
NUM_CLASSES = 10
BATCH = 1000


def _conv(c_in: int, c_out: int, padding: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=padding, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def classifier_body() -> nn.Sequential:
    """28×28 digit → the 128-d hidden layer (after ReLU): three 3×3 conv layers (32-64-32 channels),
    two max-pools and a linear layer; shared by the digit and the digit-style classifiers."""
    return nn.Sequential(
        *_conv(1, 32), nn.MaxPool2d(2),  # 28 -> 14
        *_conv(32, 64), nn.MaxPool2d(2),  # 14 -> 7
        *_conv(64, 32, padding=0),  # 7 -> 5
        nn.Flatten(),
        nn.Linear(32 * 5 * 5, FEATURES), nn.ReLU(inplace=True),
    )


class DigitClassifier(nn.Module):
    """Three 3×3 conv layers (32-64-32 channels) with batch norm and ReLU, two max-pools, then a
    128-unit hidden layer and the 10-way output.

    About 140k parameters (0.55 MB as float32). ``features`` is the 128-d hidden layer (after
    ReLU), the penultimate layer used for the Fréchet distance.
    """

    def __init__(self) -> None:
        super().__init__()
        self.body = classifier_body()
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(FEATURES, NUM_CLASSES))

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def held_out_split(seed: int = 0, held_out: int = 1000, total: int = 10_000) -> tuple[Tensor, Tensor]:
    """Indices (train, held out) of the embedded digits the shipped classifier was trained and scored on."""
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    return order[held_out:], order[:held_out]


def weights_path():
    """The shipped weights file (an importlib.resources Traversable)."""
    return resources.files("ganzoo").joinpath(ASSET)


@functools.lru_cache(maxsize=1)
def weights_digest() -> str:
    """A short hash of the shipped weights: it names them in cache keys of reference features."""
    import hashlib

    return hashlib.sha256(weights_path().read_bytes()).hexdigest()[:8]


def load_digit_classifier(device: str | torch.device = "cpu") -> nn.Module:
    """The shipped classifier in eval mode on ``device``, its weights read with safetensors."""
    from safetensors.torch import load

    model = DigitClassifier()
    state = load(weights_path().read_bytes())
    model.load_state_dict(state)
    return model.to(device).eval()


@functools.lru_cache(maxsize=4)
def _cached_classifier(device: str) -> nn.Module:
    return load_digit_classifier(device)


def to_digit_input(images: Tensor) -> Tensor:
    """Images in [-1, 1] (N×C×H×W, C = 1 or 3) as grey N×1×28×28 in [-1, 1], the classifier's input."""
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images N×C×H×W with 1 or 3 channels, got shape {tuple(images.shape)}")
    images = images.float()
    if images.shape[1] == 3:
        images = images.mean(dim=1, keepdim=True)
    if images.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        images = F.interpolate(images, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", antialias=True, align_corners=False)
    return images.clamp(-1.0, 1.0)


def _batched(images: Tensor, device: str | torch.device | None, fn) -> list[Tensor]:
    device = torch.device(device) if device is not None else images.device
    model = _cached_classifier(str(device))
    out = []
    with torch.no_grad():
        for start in range(0, images.shape[0], BATCH):
            x = to_digit_input(images[start : start + BATCH].to(device))
            out.append(fn(model, x).cpu())
    return out


def classify_digits(images: Tensor, device: str | torch.device | None = None) -> tuple[Tensor, Tensor]:
    """Predicted digit (int64) and confidence (the largest softmax probability) for each image.

    Runs in batches of 1,000 on ``device`` (default: the images' device); results are on the CPU.
    """
    if images.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0)
    parts = _batched(images, device, lambda m, x: F.softmax(m(x), dim=1))
    probs = torch.cat(parts)
    confidence, labels = probs.max(dim=1)
    return labels.long(), confidence


def digit_probabilities(images: Tensor, device: str | torch.device | None = None) -> Tensor:
    """The classifier's softmax over the ten digits, N×10 on the CPU."""
    return torch.cat(_batched(images, device, lambda m, x: F.softmax(m(x), dim=1)))


def digit_features(images: Tensor, device: str | torch.device | None = None) -> Tensor:
    """Penultimate-layer features (N×128, float64 on the CPU) for the Fréchet distance of digits."""
    return torch.cat(_batched(images, device, lambda m, x: m.features(x))).double()
