"""The shipped digit-style classifier: reads a digit and its style (handwritten or typeset).

It judges translations on ``digits-styles``, whose domain A is handwritten (the embedded MNIST) and
domain B typeset (Pillow's font): a translation A → B should be read as typeset and B → A as
handwritten, each still read as the input's digit. The MNIST digit classifier (``digits.py``) cannot
be that judge: it never saw typeset digits and reads only about three in four of them right, which
would cap every "digit kept" rate into the typeset style there. This one learnt both styles.

A small CNN with two heads on one body, trained by ``scripts/train_style_classifier.py`` on the
``train`` split of ``digits-styles`` (the 9,000 embedded digits the MNIST classifier trained on and
9,000 typeset ones) with random shifts, rotations, scalings, blur and noise, so that it reads shapes
rather than the renderer's pixels. Its ``test`` split (1,000 digits of each style) is held out.
Weights ship as ``ganzoo/assets/style_classifier.safetensors``, loaded with safetensors (no pickle).

Inputs are images in [-1, 1], N×C×H×W with C = 1 or 3 and any H×W, made grey 28×28 inside as the
digit classifier makes them.
"""

from __future__ import annotations

import functools
from importlib import resources

import torch
from torch import Tensor, nn

from ganzoo.metrics.digits import FEATURES, NUM_CLASSES, classifier_body, to_digit_input

ASSET = "assets/style_classifier.safetensors"
#: The two styles, in the order of the style head's outputs; domain A of digits-styles is the first.
STYLES = ("handwritten", "typeset")
HANDWRITTEN, TYPESET = 0, 1
BATCH = 1000


class DigitStyleClassifier(nn.Module):
    """The digit classifier's body (three 3×3 conv layers, 32-64-32 channels, two max-pools, a 128-unit
    hidden layer) with two heads: ``digit`` (10 ways) and ``style`` (handwritten, typeset)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = classifier_body()
        self.digit = nn.Sequential(nn.Dropout(0.2), nn.Linear(FEATURES, NUM_CLASSES))
        self.style = nn.Sequential(nn.Dropout(0.2), nn.Linear(FEATURES, len(STYLES)))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Logits of the digit (N×10) and of the style (N×2)."""
        features = self.body(x)
        return self.digit(features), self.style(features)


def weights_path():
    """The shipped weights file (an importlib.resources Traversable)."""
    return resources.files("ganzoo").joinpath(ASSET)


def load_style_classifier(device: str | torch.device = "cpu") -> DigitStyleClassifier:
    """The shipped classifier in eval mode on ``device``, its weights read with safetensors."""
    from safetensors.torch import load

    model = DigitStyleClassifier()
    model.load_state_dict(load(weights_path().read_bytes()))
    return model.to(device).eval()


@functools.lru_cache(maxsize=4)
def _cached_classifier(device: str) -> DigitStyleClassifier:
    return load_style_classifier(device)


def read_digits_and_styles(images: Tensor, device: str | torch.device | None = None) -> tuple[Tensor, Tensor]:
    """The digit (int64, 0–9) and the style (int64: 0 handwritten, 1 typeset) read in each image.

    Runs in batches of 1,000 on ``device`` (default: the images' device); results are on the CPU.
    """
    if images.shape[0] == 0:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty.clone()
    device = torch.device(device) if device is not None else images.device
    model = _cached_classifier(str(device))
    digits, styles = [], []
    with torch.no_grad():
        for start in range(0, images.shape[0], BATCH):
            digit_logits, style_logits = model(to_digit_input(images[start : start + BATCH].to(device)))
            digits.append(digit_logits.argmax(1).cpu())
            styles.append(style_logits.argmax(1).cpu())
    return torch.cat(digits).long(), torch.cat(styles).long()

