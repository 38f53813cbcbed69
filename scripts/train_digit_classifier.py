"""Train the digit classifier that ships as ``ganzoo/assets/digit_classifier.safetensors``.

The classifier is the offline feature extractor and judge of ganzoo's digit metrics (see
``ganzoo/metrics/digits.py`` and ``docs/evaluation.md``). It is trained on the embedded MNIST
digits (the 10,000 of the MNIST test split that ship with ganzoo): a seeded permutation holds out
1,000 of them to report accuracy, the other 9,000 train it. Small random shifts, rotations and
scalings keep it reliable on generated digits, which are rarely as
well centred as MNIST's. Outlier exposure (Hendrycks et al. 2019, "Deep Anomaly Detection with
Outlier Exposure") on noise, pixel-shuffled digits and smooth blobs teaches it to be unsure of what
is not a digit, so that its confidence can serve as a legibility score.

    python scripts/train_digit_classifier.py            # writes the shipped weights file
    python scripts/train_digit_classifier.py --out x.safetensors --epochs 2

Deterministic for a given seed, torch version and machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from ganzoo.data.mnist import embedded_mnist
from ganzoo.data.source import to_unit_range
from ganzoo.metrics.digits import DigitClassifier, held_out_split

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "ganzoo" / "assets" / "digit_classifier.safetensors"
HELD_OUT = 1000


def split(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train and held-out images (float in [-1, 1]) and labels from a seeded permutation."""
    images, labels = embedded_mnist()
    images = to_unit_range(images)
    train, held_out = held_out_split(seed, HELD_OUT, len(images))
    return images[train], labels[train], images[held_out], labels[held_out]


def augment(images: torch.Tensor, generator: torch.Generator, degrees: float = 10.0, shift: float = 0.1,
            scale: tuple[float, float] = (0.9, 1.1)) -> torch.Tensor:
    """A fresh random rotation, shift and scaling per image, as torchvision's RandomAffine draws them.

    Batched through ``affine_grid``/``grid_sample`` because RandomAffine on a batch shares one draw
    across it, and per-image calls are two orders of magnitude slower on a CPU.
    """
    n = images.shape[0]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * degrees * torch.pi / 180
    factor = scale[0] + torch.rand(n, generator=generator) * (scale[1] - scale[0])
    # affine_grid maps output to input coordinates in [-1, 1]: a shift of s image widths is 2s.
    offset = (torch.rand(n, 2, generator=generator) * 2 - 1) * shift * 2
    cos, sin = angle.cos() / factor, angle.sin() / factor
    theta = torch.stack([torch.stack([cos, -sin, offset[:, 0]], 1), torch.stack([sin, cos, offset[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    # Pad with the black background (-1), not zero (grey in [-1, 1]).
    return F.grid_sample(images + 1.0, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1.0


def non_digits(digits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Images that are not digits, one third of each kind: uniform noise, digits with their pixels
    shuffled (a digit's ink, no shape) and smooth random blobs (what an untrained generator draws)."""
    n = len(digits)
    k = n // 3
    noise = torch.rand(k, 1, 28, 28, generator=generator) * 2 - 1
    permutation = torch.randperm(28 * 28, generator=generator)
    shuffled = digits[k : 2 * k].flatten(1)[:, permutation].view(-1, 1, 28, 28)
    coarse = torch.rand(n - 2 * k, 1, 7, 7, generator=generator) * 2 - 1
    blobs = torch.tanh(4 * (F.interpolate(coarse, size=(28, 28), mode="bilinear", align_corners=False) - 0.4))
    return torch.cat([noise, shuffled, blobs])


@torch.no_grad()
def mean_confidence(model: torch.nn.Module, images: torch.Tensor) -> float:
    model.eval()
    return float(torch.cat([F.softmax(model(images[i : i + 1000]), 1).amax(1) for i in range(0, len(images), 1000)]).mean())


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    predicted = torch.cat([model(images[i : i + 1000]).argmax(1) for i in range(0, len(images), 1000)])
    return float((predicted == labels).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--outlier-weight", type=float, default=0.5,
                        help="weight of the uniform-prediction loss on non-digits (Hendrycks et al. 2019; 0 turns it off)")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    train_x, train_y, test_x, test_y = split(args.seed)
    model = DigitClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = (len(train_x) + args.batch_size - 1) // args.batch_size
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * steps_per_epoch)
    augment_generator = torch.Generator().manual_seed(args.seed + 1)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_x))
        x_all = augment(train_x[order], augment_generator)
        y_all = train_y[order]
        for i in range(0, len(x_all), args.batch_size):
            x, y = x_all[i : i + args.batch_size], y_all[i : i + args.batch_size]
            outliers = non_digits(x[: max(3, len(x) // 4)], augment_generator)
            logits = model(torch.cat([x, outliers]))
            loss = F.cross_entropy(logits[: len(x)], y)
            # Outlier exposure: cross-entropy to the uniform distribution on non-digits, so that the
            # classifier's confidence means "this is a legible digit" (Hendrycks et al. 2019, eq. 1).
            loss = loss - args.outlier_weight * F.log_softmax(logits[len(x) :], dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        print(f"epoch {epoch + 1}/{args.epochs}: held-out accuracy {accuracy(model, test_x, test_y):.4f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)

    held_out = accuracy(model, test_x, test_y)
    check = torch.Generator().manual_seed(args.seed + 2)
    confidence_digits = mean_confidence(model, test_x)
    confidence_non_digits = mean_confidence(model, non_digits(test_x, check))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    metadata = {"held_out_accuracy": f"{held_out:.4f}", "held_out": str(HELD_OUT), "seed": str(args.seed),
                "epochs": str(args.epochs), "data": "embedded MNIST test split (10,000 digits)",
                "outlier_weight": str(args.outlier_weight),
                "mean_confidence_held_out": f"{confidence_digits:.4f}",
                "mean_confidence_non_digits": f"{confidence_non_digits:.4f}"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(args.out), metadata=metadata)
    print(f"mean confidence: {confidence_digits:.3f} on held-out digits, {confidence_non_digits:.3f} on non-digits")
    print(f"held-out accuracy {held_out:.4f} on {HELD_OUT} digits; wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
