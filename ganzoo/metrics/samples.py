"""What a metric compares: generated samples of a run and the real data they should match.

- Unconditional variants: ``run.sample(n)`` against the dataset's images.
- Conditional variants: balanced labels (``i mod classes``), so every class is judged equally.
- Translation variants (unpaired data): the real images of domain A translated A→B against the
  real images of domain B (and B→A where a metric looks both ways).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganzoo.metrics.reference import build_source, real_samples

TRANSLATION_KIND = "unpaired-images"


def is_translation(run) -> bool:
    return run.data_info.kind == TRANSLATION_KIND


def reference_key(run) -> str:
    """The data key of the real images generated samples are compared with."""
    return "B" if is_translation(run) else "real"


def balanced_labels(n: int, num_classes: int) -> Tensor:
    return torch.arange(n) % num_classes


def generated(run, n: int, seed: int = 0) -> tuple[Tensor, Tensor | None]:
    """``n`` generated samples and, for conditional variants, the labels they were asked for."""
    if is_translation(run):
        # Source images from a seed offset from the reference's, so they are not the same picks.
        inputs = real_samples(build_source(run), n, seed + 1, keys=("A",))["A"]
        return run.sample(len(inputs), inputs=inputs, seed=seed, direction="AtoB"), None
    if run.variant.is_conditional(run.config):
        labels = balanced_labels(n, run.data_info.num_classes)
        return run.sample(n, labels=labels, seed=seed), labels
    return run.sample(n, seed=seed), None
