"""Does DiffAugment help where data is scarce? dcgan on 500 digits, with and without it, over seeds.

The experiment behind the DiffAugment table of ``docs/evaluation.md``:

    python scripts/diffaugment_table.py --out eval-runs/diffaugment                  # 3 seeds, demo length
    python scripts/diffaugment_table.py --out eval-runs/diffaugment --seeds 0 --steps 300   # a smoke check

Each run trains dcgan with its ``demo`` profile (32 px, half widths) on the first 500 of the
embedded MNIST digits (``--set data.limit=500``), once plain and once ``--with diffaugment`` (the
paper's ``color,translation,cutout`` policy; Zhao et al. 2020, section 4), for each seed. Every run
is then scored with the shipped digit metrics against all 10,000 digits: the Fréchet distance in the
digit classifier's features (not FID), the classifier's mean confidence, the digits covered and the
class-histogram KL. A run folder that already has its ``eval.json`` is not trained again; the raw
numbers go to ``--out/results.jsonl`` and the table (mean ± std over seeds) to stdout or
``--markdown FILE``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from eval_table import LABELS, cell  # noqa: E402

import ganzoo  # noqa: E402
from ganzoo.api import load, make_config  # noqa: E402
from ganzoo.metrics.evaluate import evaluate  # noqa: E402

METRICS = ["digit-fd", "classifier-score"]
COLUMNS = ["digit-fd.digit_fd", "classifier-score.mean_confidence", "classifier-score.classes_covered",
           "classifier-score.class_kl"]
#: The two arms: no add-on, and DiffAugment with the paper's policy.
ARMS = {"plain": [], "diffaugment": ["diffaugment"]}


def run_one(arm: str, seed: int, out: Path, digits: int, steps: int | None, samples: int) -> dict:
    folder = out / f"dcgan-{digits}digits-{arm}-seed{seed}"
    eval_file = folder / "eval.json"
    if not eval_file.is_file():
        overrides = {"data.limit": str(digits)}
        options = {"steps": steps, "sample_every": steps, "checkpoint_every": steps} if steps else {}
        config = make_config("dcgan", addons=ARMS[arm], overrides=overrides, seed=seed, **options)
        start = time.perf_counter()
        ganzoo.train("dcgan", config=config, out=folder)
        print(f"trained {folder.name} in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        evaluate(load(folder, device="auto"), METRICS, n=samples, seed=seed)
    document = json.loads(eval_file.read_text())
    values = {f"{name}.{key}": value for name, entry in document["metrics"].items()
              for key, value in entry["values"].items()}
    return {"arm": arm, "seed": seed, "step": document["step"], "digits": digits, "values": values}


def markdown(results: list[dict]) -> str:
    lines = ["| dcgan on 500 digits | seeds | steps | " + " | ".join(LABELS[c] for c in COLUMNS) + " |",
             "|---|---|---|" + "---|" * len(COLUMNS)]
    for arm in ARMS:
        runs = [r for r in results if r["arm"] == arm]
        if not runs:
            continue
        steps = ", ".join(str(s) for s in sorted({r["step"] for r in runs}))
        cells = [cell([r["values"][c] for r in runs]) for c in COLUMNS]
        lines.append(f"| {'with diffaugment' if ARMS[arm] else 'plain'} | {len(runs)} | {steps} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("eval-runs/diffaugment"))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--digits", type=int, default=500, help="training digits (data.limit)")
    parser.add_argument("--steps", type=int, default=None, help="default: dcgan's demo profile's")
    parser.add_argument("--samples", type=int, default=5000, help="generated digits per metric")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table here instead of stdout")
    args = parser.parse_args()
    results = [run_one(arm, seed, args.out, args.digits, args.steps, args.samples) for seed in args.seeds for arm in ARMS]
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "results.jsonl", "w") as fh:
        for r in results:
            fh.write(json.dumps(r) + "\n")
    table = markdown(results)
    if args.markdown:
        args.markdown.write_text(table)
    else:
        print(table)


if __name__ == "__main__":
    main()
