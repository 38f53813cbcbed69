"""Offline metrics for digit data, judged by the shipped MNIST classifier (``digits.py``).

- ``digit-fd``: the Fréchet distance between the classifier's penultimate features of generated and
  real digits. Reported as "FID (MNIST classifier features)": it is *not* FID (other network,
  other features) and must never be compared with published FIDs.
- ``classifier-score``: the classifier's mean confidence on generated digits (are they legible?),
  the number of digit classes among its predictions (are all ten there?), and the KL divergence of
  the predicted-class histogram from uniform (are they balanced?).
- ``class-accuracy``: for conditional variants, how often the classifier reads the digit that was
  asked for.
- ``digit-preservation``: for translation variants on digit domains, how often the classifier reads
  the same digit after translation as the input's true label (each direction).
"""

from __future__ import annotations

import torch

from ganzoo.errors import UserError
from ganzoo.metrics import digits, distances
from ganzoo.metrics.reference import build_source, real_samples, reference_features
from ganzoo.metrics.samples import balanced_labels, generated, is_translation, reference_key

DEFAULT_SAMPLES = 10_000
REFERENCE_SEED = 0
#: Datasets whose images are digits; the digit metrics apply to them by default.
DIGIT_DATASETS = ("mnist", "digits-styles")


def _images(run, n: int, seed: int, shared: dict | None):
    key = ("generated", n, seed)
    if shared is not None and key in shared:
        return shared[key]
    result = generated(run, n, seed)
    if shared is not None:
        shared[key] = result
    return result


def digit_fd(run, n: int = DEFAULT_SAMPLES, seed: int = 0, cache_dir: str | None = None, shared: dict | None = None,
             **_: object) -> dict[str, float]:
    """FID (MNIST classifier features): generated digits against the dataset's real digits."""
    device = run.device
    real = reference_features(run, f"digit-features-{digits.weights_digest()}", n, REFERENCE_SEED,
                              lambda images: {"features": digits.digit_features(images, device)},
                              key=reference_key(run), cache_dir=cache_dir)["features"]
    fake_images, _ = _images(run, n, seed, shared)
    fake = digits.digit_features(fake_images, device)
    return {"digit_fd": distances.frechet_distance(real, fake)}


def class_histogram_kl(predicted: torch.Tensor, num_classes: int = digits.NUM_CLASSES) -> float:
    """KL(q ‖ uniform) of the histogram q of predicted classes: 0 when balanced, log K when one class."""
    q = torch.bincount(predicted, minlength=num_classes).double() / max(len(predicted), 1)
    nz = q > 0
    return float((q[nz] * (q[nz] * num_classes).log()).sum())


def classifier_score(run, n: int = DEFAULT_SAMPLES, seed: int = 0, shared: dict | None = None,
                     **_: object) -> dict[str, float]:
    """Mean confidence, classes covered (of 10) and class-histogram KL of generated digits."""
    images, _ = _images(run, n, seed, shared)
    predicted, confidence = digits.classify_digits(images, run.device)
    return {
        "mean_confidence": float(confidence.mean()),
        "classes_covered": float(len(torch.unique(predicted))),
        "class_kl": class_histogram_kl(predicted),
    }


def class_accuracy(run, n: int = DEFAULT_SAMPLES, seed: int = 0, shared: dict | None = None, **_: object) -> dict[str, float]:
    """Share of conditional samples that the classifier reads as the class they were asked for."""
    if not run.variant.is_conditional(run.config):
        raise UserError(f"class-accuracy needs a conditional variant; {run.variant.name!r} is unconditional")
    if run.data_info.num_classes != digits.NUM_CLASSES:
        raise UserError(f"class-accuracy needs the 10 digit classes; this run has {run.data_info.num_classes}")
    images, labels = _images(run, n, seed, shared)
    predicted, _ = digits.classify_digits(images, run.device)
    labels = balanced_labels(len(images), digits.NUM_CLASSES) if labels is None else labels
    per_class = [float((predicted[labels == k] == k).float().mean()) for k in range(digits.NUM_CLASSES)]
    return {"class_accuracy": float((predicted == labels).float().mean()), "worst_class_accuracy": min(per_class)}


def digit_preservation(run, n: int = 2000, seed: int = 0, **_: object) -> dict[str, float]:
    """Share of translated digits still read as the input's digit, for A→B and B→A.

    The input's digit is the dataset's label where it has one (``labels_A``/``labels_B``, as
    ``digits-styles`` does), else the classifier's reading of the input. With labels it also reports
    the classifier's accuracy on the real images of each domain: a translation cannot score above
    what the classifier reads correctly in the target style.
    """
    if not is_translation(run):
        raise UserError(f"digit-preservation needs a translation variant (unpaired data); {run.variant.name!r} "
                        f"trains on {run.data_info.kind}")
    source = build_source(run)
    extra = getattr(source, "extra", None) or {}
    results: dict[str, float] = {}
    for domain, direction in (("A", "AtoB"), ("B", "BtoA")):
        picked = real_samples(source, n, seed, keys=(domain,))
        inputs = picked[domain]
        reading, _ = digits.classify_digits(inputs, run.device)
        labels = extra.get(f"labels_{domain}")
        truth = reading if labels is None else labels.cpu()[picked["index"]]
        translated = run.sample(len(inputs), inputs=inputs, seed=seed, direction=direction)
        predicted, _ = digits.classify_digits(translated, run.device)
        results[f"preserved_{direction}"] = float((predicted == truth).float().mean())
        if labels is not None:
            results[f"classifier_accuracy_real_{domain}"] = float((reading == truth).float().mean())
    return results
