"""Train the digit-style classifier that ships as ``ganzoo/assets/style_classifier.safetensors``.

It judges translations between the two domains of ``digits-styles`` (see ``ganzoo/metrics/styles.py``
and ``docs/evaluation.md``): which digit an image shows and whether it is handwritten or typeset.
It trains on the dataset's ``train`` split, the 9,000 embedded handwritten digits the MNIST
classifier trained on and 9,000 typeset digits drawn as ``digits-styles`` draws them, and reports
its accuracy on the ``test`` split (1,000 of each style) that neither it nor a CycleGAN run sees.

Both styles get the same random shifts, rotations and scalings and the same degradations (strokes
thickened or thinned, blur, lost resolution, faint ink, noise, blotches), so that the style head
must read the shapes of the strokes rather than how sharp or clean the renderer's pixels are: a
generator's typeset digit is never pixel-exact, and a blurred one is not handwriting for that.

    python scripts/train_style_classifier.py            # writes the shipped weights file
    python scripts/train_style_classifier.py --out x.safetensors --epochs 1

Deterministic for a given seed, torch version and machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from train_digit_classifier import augment  # the same per-image random affine warps

from ganzoo.data.source import to_unit_range
from ganzoo.data.unpaired import digit_styles
from ganzoo.metrics.styles import HANDWRITTEN, TYPESET, DigitStyleClassifier

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "ganzoo" / "assets" / "style_classifier.safetensors"


def styled(split: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images (float in [-1, 1]), digits and styles of both domains of a ``digits-styles`` split."""
    data = digit_styles(split)
    images = to_unit_range(torch.cat([data["A"], data["B"]]))
    digits = torch.cat([data["labels_A"], data["labels_B"]])
    styles = torch.cat([torch.full((len(data["A"]),), HANDWRITTEN), torch.full((len(data["B"]),), TYPESET)])
    return images, digits, styles


def degrade(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """What a generator's digit may look like, applied alike to both styles so that none of it tells
    the style: strokes a little thicker or thinner (20 % each), a light or a strong blur (25 % each),
    a loss of resolution (20 %), fainter ink (30 %), pixel noise (30 %) and blotches (20 %)."""
    n = len(images)

    def share(p: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) < p).view(-1, 1, 1, 1)

    def blur(x: torch.Tensor) -> torch.Tensor:
        kernel = torch.tensor([1.0, 2.0, 1.0])
        kernel = (kernel[:, None] * kernel[None, :] / 16).view(1, 1, 3, 3)
        return F.conv2d(F.pad(x, (1, 1, 1, 1), value=-1.0), kernel)

    stroke = torch.rand(n, generator=generator).view(-1, 1, 1, 1)
    thicker = 0.5 * (images + F.max_pool2d(images, 3, 1, 1))
    thinner = 0.5 * (images - F.max_pool2d(-images, 3, 1, 1))
    images = torch.where(stroke < 0.2, thicker, torch.where(stroke > 0.8, thinner, images))
    strength = torch.rand(n, generator=generator).view(-1, 1, 1, 1)
    light = blur(images)
    images = torch.where(strength < 0.25, light, torch.where(strength > 0.75, blur(light), images))
    side = images.shape[-1]
    coarse = F.interpolate(F.interpolate(images, size=side // 2, mode="bilinear", antialias=True), size=side,
                           mode="bilinear")
    images = torch.where(share(0.2), coarse, images)
    faint = (images + 1.0) * (0.6 + 0.4 * torch.rand(n, 1, 1, 1, generator=generator)) - 1.0
    images = torch.where(share(0.3), faint, images)
    sigma = torch.rand(n, 1, 1, 1, generator=generator) * 0.2
    images = images + share(0.3) * sigma * torch.randn(images.shape, generator=generator)
    blotches = F.interpolate(torch.randn(n, 1, 7, 7, generator=generator), size=side, mode="bilinear") * 0.3
    return (images + share(0.2) * blotches).clamp(-1.0, 1.0)


@torch.no_grad()
def accuracies(model: DigitStyleClassifier, images: torch.Tensor, digits: torch.Tensor,
               styles: torch.Tensor) -> dict[str, float]:
    """Held-out accuracy of each head on each style."""
    model.eval()
    outputs = [model(images[i : i + 1000]) for i in range(0, len(images), 1000)]
    digit = torch.cat([d for d, _ in outputs]).argmax(1)
    style = torch.cat([s for _, s in outputs]).argmax(1)
    result = {}
    for name, value in (("handwritten", HANDWRITTEN), ("typeset", TYPESET)):
        mask = styles == value
        result[f"digit_accuracy_{name}"] = float((digit[mask] == digits[mask]).float().mean())
        result[f"style_accuracy_{name}"] = float((style[mask] == styles[mask]).float().mean())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    train_x, train_digit, train_style = styled("train")
    test_x, test_digit, test_style = styled("test")
    model = DigitStyleClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = (len(train_x) + args.batch_size - 1) // args.batch_size
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * steps_per_epoch)
    augment_generator = torch.Generator().manual_seed(args.seed + 1)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_x))
        x_all = degrade(augment(train_x[order], augment_generator), augment_generator)
        digit_all, style_all = train_digit[order], train_style[order]
        for i in range(0, len(x_all), args.batch_size):
            digit_logits, style_logits = model(x_all[i : i + args.batch_size])
            loss = (F.cross_entropy(digit_logits, digit_all[i : i + args.batch_size])
                    + F.cross_entropy(style_logits, style_all[i : i + args.batch_size]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        scores = accuracies(model, test_x, test_digit, test_style)
        print(f"epoch {epoch + 1}/{args.epochs}: held out " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items())
              + f" ({time.perf_counter() - start:.0f} s)", flush=True)

    scores = accuracies(model, test_x, test_digit, test_style)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    metadata = {**{k: f"{v:.4f}" for k, v in scores.items()}, "held_out": "1000 per style (digits-styles test split)",
                "seed": str(args.seed), "epochs": str(args.epochs),
                "data": "digits-styles train split: 9,000 embedded MNIST digits and 9,000 typeset digits"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(args.out), metadata=metadata)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
