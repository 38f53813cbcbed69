"""ADA's augmentation probability p over training, for runs on more and on fewer images.

Karras et al. (2020), "Training Generative Adversarial Networks with Limited Data", section 3 and
Figure 5: the overfitting heuristic r_t = E[sign(D(x_real))] rises when D starts to tell the
training images apart from everything else, and ADA raises p until r_t is back at its target
(0.6). With fewer training images D overfits sooner, so p climbs higher. This script reads the
logged ``augment/p`` and ``augment/rt`` of ``stylegan2`` runs from their ``metrics.jsonl``, prints a
markdown table at regular steps and draws both curves into one PNG:

    ganzoo run stylegan2 --set data.limit=300 --set model.ada_kimg=10 --out runs/ada-300
    ganzoo run stylegan2 --set model.ada_kimg=10 --out runs/ada-full
    python scripts/ada_p_curve.py runs/ada-300=300 runs/ada-full=10000 --png docs/images/stylegan2-ada-p.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = [(214, 39, 40), (31, 119, 180), (44, 160, 44), (148, 103, 189)]


def logged_curves(run_dir: Path) -> list[dict]:
    """Every logged record of the run that carries ADA's p, in step order."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise SystemExit(f"{run_dir} has no metrics.jsonl; pass a run folder of a stylegan2 run with model.augment=ada")
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    records = [r for r in records if "augment/p" in r]
    if not records:
        raise SystemExit(f"{run_dir} logged no augment/p; was it trained with --set model.augment=ada?")
    return sorted(records, key=lambda r: r["step"])


def value_at(records: list[dict], key: str, step: int) -> float | None:
    """The value logged at the last log step at or before ``step``."""
    before = [r for r in records if r["step"] <= step and key in r]
    return before[-1][key] if before else None


def draw(runs: list[tuple[str, list[dict]]], path: Path) -> None:
    """Two panels over the same steps: p, and r_t with its target; one colour per run."""
    width, height, margin = 640, 440, 50
    image = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(image)
    last = max(records[-1]["step"] for _, records in runs)
    panel_height = (height - 2 * margin) // 2
    for index, (title, key, low, high) in enumerate([("ADA's augmentation probability p", "augment/p", 0.0, 1.0),
                                                     ("r_t = E[sign(D(real))] (target 0.6, dashed)", "augment/rt", -1.0, 1.0)]):
        top = margin // 2 + index * (panel_height + margin)
        bottom = top + panel_height - 20

        def y_of(value: float, top: int = top, bottom: int = bottom, low: float = low, high: float = high) -> float:
            return bottom - (bottom - top - 10) * (value - low) / (high - low)

        pen.rectangle([margin, top, width - margin, bottom], outline="grey")
        pen.text((margin + 5, top + 2), title, fill="black")
        pen.text((5, top + 10), f"{high:g}", fill="black")
        pen.text((5, bottom - 12), f"{low:g}", fill="black")
        if key == "augment/rt":
            for x in range(margin, width - margin, 12):
                pen.line([(x, y_of(0.6)), (x + 6, y_of(0.6))], fill="grey")
        for colour, (_, records) in zip(COLOURS, runs, strict=False):
            xy = [(margin + (width - 2 * margin) * r["step"] / last, y_of(r[key])) for r in records if key in r]
            if len(xy) > 1:
                pen.line(xy, fill=colour, width=2)
        pen.text((width - margin - 60, bottom + 4), f"step {last}", fill="black")
    for row, (colour, (label, _)) in enumerate(zip(COLOURS, runs, strict=False)):
        pen.text((margin + 5 + 150 * row, height - 16), f"- {label}", fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="RUN_DIR or RUN_DIR=LABEL (the label names the run in the table)")
    parser.add_argument("--every", type=int, default=0, help="table rows every this many steps (default: 8 rows)")
    parser.add_argument("--png", type=Path, default=None, help="draw the curves into this file")
    args = parser.parse_args()
    if len(args.runs) > len(COLOURS):
        raise SystemExit(f"at most {len(COLOURS)} runs fit in one plot")
    runs = []
    for spec in args.runs:
        folder, _, label = spec.partition("=")
        runs.append((f"{label} images" if label else Path(folder).name, logged_curves(Path(folder))))
    last = max(records[-1]["step"] for _, records in runs)
    every = args.every or max(1, last // 8)
    print("| step | " + " | ".join(f"p ({label}) | r_t ({label})" for label, _ in runs) + " |")
    print("|---|" + "---|---|" * len(runs))
    for step in range(every, last + 1, every):
        cells = []
        for _, records in runs:
            p, rt = value_at(records, "augment/p", step), value_at(records, "augment/rt", step)
            cells += ["—" if p is None else f"{p:.3f}", "—" if rt is None else f"{rt:.2f}"]
        print(f"| {step} | " + " | ".join(cells) + " |")
    if args.png:
        draw(runs, args.png)


if __name__ == "__main__":
    main()
