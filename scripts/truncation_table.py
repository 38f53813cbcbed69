"""The truncation trick's trade-off on a digit run, measured.

BigGAN (Brock, Donahue & Simonyan 2019, section 3.1, Figure 2) trades variety for fidelity by
drawing z from a truncated normal: the smaller the threshold, the more typical (and the more alike)
the samples. This script shows that trade-off for a run trained on the embedded digits: for each
threshold it asks for every digit equally often (the same z seed each time) and reports, by the
shipped digit classifier,

- class accuracy: how often the classifier reads the digit that was asked for;
- mean confidence: how sure it is (fidelity);
- within-class spread: the mean distance between two samples of the same asked digit, in the
  classifier's penultimate features and in pixels (variety; lower is more alike);
- the digit Fréchet distance ("FID (MNIST classifier features)", not FID) to real digits, which
  grows when variety shrinks.

    python scripts/truncation_table.py RUN_DIR --thresholds none 1.0 0.5 0.25 --n 1000

An unconditional run (stylegan2's demo, whose truncation pulls w towards its running mean,
Karras et al. 2019, section 3.1 of the StyleGAN paper) has no asked-for digit: its rows give the
digits present instead of the class accuracy (a digit counts when the classifier reads it in at
least 2 % of the samples), and the spreads are taken within each digit the classifier reads.

``none`` is plain N(0, I) sampling (``ganzoo sample RUN`` without ``--truncation``); a last row
gives the spreads of ``--n`` real digits grouped by their labels, the variety the samples are
to be compared with. The table is Markdown on stdout.
"""

from __future__ import annotations

import argparse

import torch

from ganzoo.api import load
from ganzoo.metrics import digits, distances
from ganzoo.metrics.reference import build_source, real_samples
from ganzoo.metrics.samples import balanced_labels


def within_class_spread(values: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean Euclidean distance between two different samples of the same label, averaged over labels."""
    spreads = []
    for label in labels.unique():
        group = values[labels == label].flatten(1).double()
        if len(group) < 2:
            continue
        distance = torch.cdist(group, group)
        spreads.append(distance.sum() / (len(group) * (len(group) - 1)))
    return float(torch.stack(spreads).mean())


def measure(run, threshold: float | None, n: int, seed: int, real_features: torch.Tensor) -> dict[str, float]:
    if run.conditional:
        labels = balanced_labels(n, digits.NUM_CLASSES)
        images = run.sample(n, labels=labels, seed=seed, truncation=threshold)
    else:
        images = run.sample(n, seed=seed, truncation=threshold)
    predicted, confidence = digits.classify_digits(images, run.device)
    features = digits.digit_features(images, run.device)
    if not run.conditional:
        labels = predicted  # spreads within each digit as read
    counts = torch.bincount(predicted.long(), minlength=digits.NUM_CLASSES)
    return {
        "class_accuracy": float((predicted == labels).float().mean()) if run.conditional else float("nan"),
        "digits_present": int((counts >= 0.02 * n).sum()),
        "mean_confidence": float(confidence.mean()),
        "feature_spread": within_class_spread(features, labels),
        "pixel_spread": within_class_spread(images, labels),
        "digit_fd": distances.frechet_distance(real_features, features),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a run trained on the embedded digits (e.g. biggan's or stylegan2's demo)")
    parser.add_argument("--thresholds", nargs="+", default=["none", "1.0", "0.5", "0.25"],
                        help="truncation thresholds; 'none' for untruncated z")
    parser.add_argument("--n", type=int, default=1000, help="samples per threshold (a conditional run asks for every digit equally often)")
    parser.add_argument("--seed", type=int, default=0, help="seed of z and of the real digits")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file (default: the run's latest)")
    args = parser.parse_args()
    run = load(args.run_dir, checkpoint=args.checkpoint)
    # one draw of real digits with their labels: the reference of the distance and of the last row
    real = real_samples(build_source(run), args.n, args.seed, keys=("real", "label"))
    real_features = digits.digit_features(real["real"], run.device)
    first = "class accuracy ↑" if run.conditional else "digits present (≥ 2 %) ↑"
    print(f"| truncation | {first} | mean confidence ↑ | within-class spread, features | "
          "within-class spread, pixels | FID (MNIST classifier features) ↓ |")
    print("|---|---|---|---|---|---|")
    for text in args.thresholds:
        threshold = None if text == "none" else float(text)
        row = measure(run, threshold, args.n, args.seed, real_features)
        score = f"{row['class_accuracy']:.3f}" if run.conditional else str(row["digits_present"])
        print(f"| {text} | {score} | {row['mean_confidence']:.3f} | {row['feature_spread']:.2f} | "
              f"{row['pixel_spread']:.2f} | {row['digit_fd']:.1f} |", flush=True)
    labels = real["label"].long()
    print(f"| real digits | | | {within_class_spread(real_features, labels):.2f} | "
          f"{within_class_spread(real['real'], labels):.2f} | |")


if __name__ == "__main__":
    main()
