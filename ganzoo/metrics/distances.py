"""Fréchet distance, kernel (KID) distance and Inception Score of feature sets, through torchmetrics.

The maths is torchmetrics' own (``FrechetInceptionDistance``, ``KernelInceptionDistance``,
``InceptionScore``); ganzoo only feeds them features it has already extracted, through an identity
"extractor". That lets one extractor pass serve FID, KID and IS, lets the reference features be
cached, and lets the same Fréchet code serve the digit classifier's features.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from ganzoo.errors import UserError

INSTALL_HINT = "install the metrics extra: pip install 'ganzoo[metrics]' (torchmetrics[image])"


class PrecomputedFeatures(nn.Module):
    """An identity "feature extractor": torchmetrics' metrics receive features, not images."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


def _torchmetrics_image():
    try:
        from torchmetrics import image
    except ImportError:
        raise UserError(f"this metric needs torchmetrics; {INSTALL_HINT}") from None
    return image


def _check(real: Tensor, fake: Tensor) -> None:
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"expected two N×D feature sets of the same D, got {tuple(real.shape)} and {tuple(fake.shape)}")
    if len(real) < 2 or len(fake) < 2:
        raise UserError("a distance between sample sets needs at least 2 samples in each; raise --n")


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """‖μ_r − μ_f‖² + Tr(Σ_r + Σ_f − 2(Σ_r Σ_f)^½) between Gaussians fitted to two feature sets."""
    _check(real, fake)
    metric = _torchmetrics_image().FrechetInceptionDistance(feature=PrecomputedFeatures(real.shape[1]))
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return float(metric.compute())


def kernel_distance(real: Tensor, fake: Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID: the unbiased squared MMD with a cubic polynomial kernel, mean and std over random subsets.

    ``subset_size`` is capped at the smaller set; the subsets are drawn from ``seed``.
    """
    _check(real, fake)
    size = min(subset_size, len(real), len(fake))
    image = _torchmetrics_image()
    with warnings.catch_warnings():  # "will save all extracted features": they are already in memory
        warnings.simplefilter("ignore", UserWarning)
        metric = image.KernelInceptionDistance(feature=PrecomputedFeatures(real.shape[1]), subsets=subsets, subset_size=size)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def inception_score(logits: Tensor, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """exp E_x KL(p(y|x) ‖ p(y)) from class logits, mean and std over ``splits`` random splits."""
    if logits.dim() != 2 or len(logits) < splits:
        raise UserError(f"the Inception Score needs at least {splits} samples (one per split); raise --n")
    image = _torchmetrics_image()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        metric = image.InceptionScore(feature=PrecomputedFeatures(logits.shape[1]), splits=splits)
    metric.update(logits.double())
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # one split has no spread: std is nan, not an error
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)
