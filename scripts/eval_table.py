"""Train every installed variant on its evaluation setups over several seeds, evaluate, tabulate.

This is the script behind the results table of ``docs/evaluation.md``:

    python scripts/eval_table.py --out eval-runs                 # everything installed, 3 seeds
    python scripts/eval_table.py --variants gan --setups ring8 grid25 --seeds 0 1 2 --out eval-runs
    python scripts/eval_table.py --variants dcgan --setups mnist --set model.loss=hinge --out eval-runs

Setups (a dataset, its training length and the metrics it is scored with):

- ``ring8``, ``grid25``: variants that train on 2-D points; the VEEGAN/PacGAN mode-coverage protocol.
- ``mnist``: image variants on the embedded digits, with their ``demo`` profile; the offline digit metrics.
- ``digits-styles``: translation variants, with their ``demo`` profile; on held-out digits of both
  styles, the share of translations read as the target style and as the input's digit (each way and
  back, by the shipped digit-style classifier), and the digit Fréchet distance.
- ``digits-negatives``: joint variants (two domains from one z: CoGAN), with their ``demo`` profile;
  the share of 1,000 pairs whose image A and inverted image B the shipped digit classifier reads as
  the same digit (the ``pair-agreement`` metric).

Each run is a normal run folder under ``--out/<variant>-<setup>-seed<k>`` (with ``--set KEY=VALUE``
settings: ``--out/<variant>-<setup>-KEY=VALUE-seed<k>``, and the table row names them); a run that already has
its ``eval.json`` is not trained again, so the table can be built up over several sittings
(``--table-only`` tabulates what is there and trains nothing). The
raw numbers go to ``--out/results.jsonl`` and the table (mean ± standard deviation over seeds) to
stdout, or to ``--markdown FILE``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import ganzoo
from ganzoo.api import load
from ganzoo.engine.trainer import Diverged
from ganzoo.metrics.evaluate import evaluate
from ganzoo.registry import get_registry


@dataclass
class Setup:
    dataset: str
    kind: str
    metrics: list[str]
    #: Keys reported in the table, as ``metric.value``.
    columns: list[str]
    #: Training settings (the ``ganzoo.train`` options) unless the variant overrides them below.
    train: dict = field(default_factory=dict)
    #: Samples per metric.
    n: int | None = None


SETUPS = {
    # 3,000 iterations of 256 points: short enough to rebuild the table on a laptop CPU; the papers'
    # training lengths differ (see docs/evaluation.md).
    "ring8": Setup("ring8", "points", ["modes"], ["modes.modes_covered", "modes.high_quality_pct", "modes.reverse_kl"],
                   {"steps": 3000, "batch_size": 256}, n=2500),
    "grid25": Setup("grid25", "points", ["modes"], ["modes.modes_covered", "modes.high_quality_pct", "modes.reverse_kl"],
                    {"steps": 3000, "batch_size": 256}, n=2500),
    "mnist": Setup("mnist", "images", ["digit-fd", "classifier-score"],
                   ["digit-fd.digit_fd", "classifier-score.mean_confidence", "classifier-score.classes_covered",
                    "classifier-score.class_kl"], {}, n=5000),
    "digits-styles": Setup("digits-styles", "unpaired-images", ["style-transfer", "digit-fd"],
                           ["style-transfer.style_AtoB", "style-transfer.kept_AtoB", "style-transfer.style_BtoA",
                            "style-transfer.kept_BtoA", "style-transfer.kept_AtoBtoA", "digit-fd.digit_fd"],
                           {}, n=1000),
    "digits-negatives": Setup("digits-negatives", "joint-images", ["pair-agreement"],
                              ["pair-agreement.agreement", "pair-agreement.digits_drawn_A",
                               "pair-agreement.mean_confidence_A", "pair-agreement.mean_confidence_B_inverse"],
                              {}, n=1000),
}

#: Per-variant training overrides. On their default dataset variants train with their ``demo``
#: profile (minutes on a laptop CPU); the MLP GAN's demo (12,000 steps) is cut to 3,000 here.
#: WGAN-GP makes 5 critic updates (each with a gradient-penalty double backward) per generator step,
#: so on the 2-D mixtures it gets 1,000 generator steps (5,000 critic updates), with the settings of
#: the paper's toy code (its ``toy`` profile: λ = 0.1, Adam β1 = 0.5).
VARIANT_TRAIN: dict[tuple[str, str], dict] = {
    ("gan", "mnist"): {"steps": 3000},
    ("wgan-gp", "ring8"): {"steps": 1000, "profile": "toy"},
    ("wgan-gp", "grid25"): {"steps": 1000, "profile": "toy"},
}


#: Column titles of the table; the digit Fréchet distance is never to be read as FID.
LABELS = {
    "modes.modes_covered": "modes covered",
    "modes.high_quality_pct": "% high quality",
    "modes.reverse_kl": "reverse KL ↓",
    "digit-fd.digit_fd": "FID (MNIST classifier features) ↓",
    "classifier-score.mean_confidence": "mean confidence ↑",
    "classifier-score.classes_covered": "digits covered (of 10)",
    "classifier-score.class_kl": "class KL ↓",
    "class-accuracy.class_accuracy": "class accuracy ↑",
    "digit-preservation.preserved_AtoB": "digit kept A→B ↑",
    "digit-preservation.preserved_BtoA": "digit kept B→A ↑",
    "style-transfer.style_AtoB": "typeset A→B ↑",
    "style-transfer.kept_AtoB": "digit kept A→B ↑",
    "style-transfer.style_BtoA": "handwritten B→A ↑",
    "style-transfer.kept_BtoA": "digit kept B→A ↑",
    "style-transfer.kept_AtoBtoA": "digit kept A→B→A ↑",
    "pair-agreement.agreement": "same digit in A and B's inverse ↑",
    "pair-agreement.digits_drawn_A": "digits drawn in A (of 10)",
    "pair-agreement.mean_confidence_A": "mean confidence A ↑",
    "pair-agreement.mean_confidence_B_inverse": "mean confidence B's inverse ↑",
}


def applies(variant, setup: Setup) -> bool:
    kinds = variant.accepted_kinds()
    if setup.kind == "points":
        return "points" in kinds
    if setup.kind == "joint-images":  # two domains drawn from one z
        return bool(variant.joint_domains)
    if setup.kind == "unpaired-images":  # translations
        return variant.data_kind == "unpaired-images" and not variant.joint_domains
    return variant.data_kind in ("images", "labelled-images")


def metrics_for(variant, setup: Setup) -> list[str]:
    extra = ["class-accuracy"] if setup.dataset == "mnist" and variant.conditional else []
    return setup.metrics + extra


def columns_for(variant, setup: Setup) -> list[str]:
    extra = ["class-accuracy.class_accuracy"] if setup.dataset == "mnist" and variant.conditional else []
    return setup.columns + extra


#: Written into a run folder whose training diverged (a NaN or infinite loss): the table counts it.
DIVERGED = "diverged.txt"


def folder_of(out: Path, variant: str, setup: Setup, seed: int, sets: dict[str, str]) -> Path:
    """The run folder; ``--set`` settings are part of its name so that each setting has its own runs."""
    settings = "".join(f"-{key}={value}" for key, value in sets.items())
    return out / f"{variant}-{setup.dataset}{settings}-seed{seed}"


def label_of(variant: str, sets: dict[str, str]) -> str:
    """The table row of a variant trained with ``--set`` settings."""
    return f"{variant} ({', '.join(f'{k}={v}' for k, v in sets.items())})" if sets else variant


def run_one(variant, setup: Setup, seed: int, out: Path, steps: int | None, sets: dict[str, str] | None = None) -> dict:
    sets = sets or {}
    folder = folder_of(out, variant.name, setup, seed, sets)
    eval_file, diverged = folder / "eval.json", folder / DIVERGED
    row = {"variant": variant.name, "label": label_of(variant.name, sets), "setup": setup.dataset, "seed": seed}
    if diverged.is_file():
        return {**row, "step": None, "values": {}, "diverged": diverged.read_text().strip()}
    if not eval_file.is_file():
        options = {**setup.train, **VARIANT_TRAIN.get((variant.name, setup.dataset), {})}
        if sets:
            options["overrides"] = {**options.get("overrides", {}), **sets}
        if steps:
            options["steps"] = steps
        if "steps" in options:
            options.setdefault("checkpoint_every", options["steps"])
            options.setdefault("sample_every", options["steps"])
        start = time.perf_counter()
        try:
            ganzoo.train(variant.name, dataset=setup.dataset, seed=seed, out=folder, **options)
        except Diverged as error:  # a row of its own: e.g. the wasserstein loss without a Lipschitz constraint
            diverged.write_text(f"{error}\n")
            print(f"{folder.name} diverged: {error}", file=sys.stderr, flush=True)
            return {**row, "step": None, "values": {}, "diverged": str(error)}
        print(f"trained {folder.name} in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        run = load(folder, device="auto")
        evaluate(run, metrics_for(variant, setup), n=setup.n, seed=seed)
    document = json.loads(eval_file.read_text())
    values = {f"{name}.{key}": value for name, entry in document["metrics"].items()
              for key, value in entry["values"].items()}
    return {**row, "step": document["step"], "values": values}


def cell(values: list[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "inf"
    mean = statistics.fmean(finite)
    spread = statistics.stdev(finite) if len(finite) > 1 else 0.0
    note = f" ({len(values) - len(finite)} inf)" if len(finite) < len(values) else ""
    decimals = 0 if abs(mean) >= 100 else 1 if abs(mean) >= 10 else 2 if abs(mean) >= 1 else 3
    if len(finite) == 1:
        return f"{mean:.{decimals}f}{note}"
    return f"{mean:.{decimals}f} ± {spread:.{decimals}f}{note}"


def markdown(results: list[dict], registry) -> str:
    lines = []
    for name, setup in SETUPS.items():
        rows = [r for r in results if r["setup"] == name]
        if not rows:
            continue
        labels = sorted({r.get("label", r["variant"]) for r in rows})
        columns = []
        for v in sorted({r["variant"] for r in rows}):
            for c in columns_for(registry.variant(v), setup):
                if c not in columns:
                    columns.append(c)
        titles = [LABELS.get(c, c) for c in columns]
        lines += [f"#### {name}", "", "| variant | seeds | steps | " + " | ".join(titles) + " |",
                  "|---|---|---|" + "---|" * len(columns)]
        for v in labels:
            runs = [r for r in rows if r.get("label", r["variant"]) == v]
            cells = [cell([r["values"][c] for r in runs if c in r["values"]]) if any(c in r["values"] for r in runs) else "–"
                     for c in columns]
            steps = sorted({r["step"] for r in runs if r["step"] is not None})
            failed = sum(1 for r in runs if r.get("diverged"))
            seeds = f"{len(runs)} ({failed} diverged)" if failed else str(len(runs))
            lines.append(f"| {v} | {seeds} | {', '.join(map(str, steps)) or '–'} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("eval-runs"))
    parser.add_argument("--variants", nargs="*", default=None, help="default: every installed variant")
    parser.add_argument("--setups", nargs="*", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=None, help="override every setup's training length")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="a config setting for every run, as ganzoo run --set (repeatable); it is part of "
                             "the run folder's name and the table row's")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table here instead of stdout")
    parser.add_argument("--table-only", action="store_true",
                        help="tabulate the runs already evaluated under --out; train nothing")
    args = parser.parse_args()
    sets = {}
    for item in args.sets:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"bad --set {item!r}: expected KEY=VALUE, e.g. --set model.loss=hinge")
        sets[key.strip()] = value.strip()

    registry = get_registry()
    variants = registry.variants()
    names = args.variants or sorted(variants)
    results = []
    for name in names:
        variant = registry.variant(name)
        for setup_name in args.setups:
            setup = SETUPS[setup_name]
            if not applies(variant, setup):
                continue
            for seed in args.seeds:
                folder = folder_of(args.out, name, setup, seed, sets)
                done = (folder / "eval.json").is_file() or (folder / DIVERGED).is_file()
                if args.table_only and not done:
                    continue
                results.append(run_one(variant, setup, seed, args.out, args.steps, sets))
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "results.jsonl", "w") as fh:
        for r in results:
            fh.write(json.dumps(r) + "\n")
    table = markdown(results, registry)
    if args.markdown:
        args.markdown.write_text(table)
    else:
        print(table)


if __name__ == "__main__":
    main()
