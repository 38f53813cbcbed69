"""The WGAN critic's Wasserstein estimate beside the digit metrics of the run's checkpoints.

Arjovsky, Chintala & Bottou (2017), section 4.2 and Figure 3: the critic's estimate of the
Wasserstein distance, E[f(x)] − E[f(g(z))], falls as the samples improve, so it can be read as a
training curve. This script checks that claim on a ``wgan`` run: it reads the logged estimate
``critic/wasserstein`` from ``metrics.jsonl`` (a running median over ``--window`` logged values, as
the paper's figure smooths it), scores every checkpoint with the offline digit metrics (the digit
Fréchet distance and the classifier's mean confidence, see docs/evaluation.md), prints a markdown
table and draws both curves into one PNG:

    ganzoo run wgan --set checkpoint_every=100 --set keep_checkpoints=100 --out runs/wgan
    python scripts/wgan_estimate.py runs/wgan --png docs/images/wgan-estimate.png
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from PIL import Image, ImageDraw

import ganzoo
from ganzoo.engine.checkpoint import checkpoint_step, list_checkpoints
from ganzoo.metrics.evaluate import evaluate


def logged_estimate(run_dir: Path, window: int) -> list[tuple[int, float]]:
    """(step, running median of the last ``window`` logged estimates) for every logged step."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    records = [r for r in records if "critic/wasserstein" in r]
    values = [r["critic/wasserstein"] for r in records]
    return [(r["step"], statistics.median(values[max(0, i + 1 - window): i + 1])) for i, r in enumerate(records)]


def estimate_at(curve: list[tuple[int, float]], step: int) -> float:
    return min(curve, key=lambda point: abs(point[0] - step))[1]


def score_checkpoints(run_dir: Path, n: int, seed: int) -> list[dict]:
    rows = []
    for path in list_checkpoints(run_dir / "checkpoints"):
        run = ganzoo.load(run_dir, checkpoint=path, device="auto")
        document = evaluate(run, ["digit-fd", "classifier-score"], n=n, seed=seed, write=False)
        metrics = document["metrics"]
        rows.append({"step": checkpoint_step(path), "digit_fd": metrics["digit-fd"]["values"]["digit_fd"],
                     "confidence": metrics["classifier-score"]["values"]["mean_confidence"]})
    return rows


def draw(curve: list[tuple[int, float]], rows: list[dict], path: Path) -> None:
    """Two panels over the same steps: the logged estimate, and the checkpoints' digit distance."""
    width, height, margin = 640, 420, 50
    image = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(image)
    last = max(curve[-1][0], rows[-1]["step"] if rows else 1)
    panels = [("critic's Wasserstein estimate (running median)", [(s, v) for s, v in curve], (31, 119, 180)),
              ("digit Frechet distance of the checkpoints (lower is better)", [(r["step"], r["digit_fd"]) for r in rows], (214, 39, 40))]
    panel_height = (height - 2 * margin) // 2
    for index, (title, points, colour) in enumerate(panels):
        top = margin // 2 + index * (panel_height + margin)
        bottom = top + panel_height - 20
        low, high = min(v for _, v in points), max(v for _, v in points)
        span = (high - low) or 1.0
        xy = [(margin + (width - 2 * margin) * s / last, bottom - (bottom - top - 10) * (v - low) / span) for s, v in points]
        pen.rectangle([margin, top, width - margin, bottom], outline="grey")
        pen.text((margin + 5, top + 2), title, fill="black")
        pen.text((5, top + 10), f"{high:.3g}", fill="black")
        pen.text((5, bottom - 12), f"{low:.3g}", fill="black")
        pen.line(xy, fill=colour, width=2)
        for x, y in xy if len(xy) < 40 else ():
            pen.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        pen.text((width - margin - 60, bottom + 4), f"step {last}", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--png", type=Path, default=None, help="draw the two curves into this file")
    parser.add_argument("--n", type=int, default=2000, help="samples per checkpoint")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window", type=int, default=5, help="logged values in the running median")
    args = parser.parse_args()
    curve = logged_estimate(args.run, args.window)
    rows = score_checkpoints(args.run, args.n, args.seed)
    print("| step | Wasserstein estimate (running median) | digit Fréchet distance ↓ | mean confidence ↑ |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['step']} | {estimate_at(curve, row['step']):.4f} | {row['digit_fd']:.1f} | {row['confidence']:.3f} |")
    if args.png:
        draw(curve, rows, args.png)


if __name__ == "__main__":
    main()
