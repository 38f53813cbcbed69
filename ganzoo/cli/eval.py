"""``ganzoo eval RUN_DIR``: compute metrics of a trained run and record them in ``RUN_DIR/eval.json``."""

from __future__ import annotations

import math

import click

from ganzoo.cli.console import out, print_json, status
from ganzoo.cli.options import device_option


def _format(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.4g}"


@click.command("eval")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--metric", "metrics", multiple=True, metavar="NAME",
              help="Metric to compute (repeatable; default: every default metric that fits the run).")
@click.option("--n", "n", type=click.IntRange(min=2), default=None, help="Samples per metric (default: each metric's own).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated samples.")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="Inception weights file for FID/KID/IS when offline (or set GANZOO_INCEPTION_WEIGHTS).")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None, help="Checkpoint file (default: the run's latest).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@device_option
def command(run_dir, metrics, n, seed, weights, checkpoint, as_json, device) -> None:
    """Evaluate the run in RUN_DIR; results are merged into RUN_DIR/eval.json.

    \b
    points (ring8, grid25)  modes
    digits (mnist)          digit-fd, classifier-score (+ class-accuracy if conditional)
    translations of digits  digit-preservation, digit-fd (+ style-transfer on digits-styles)
    any images              fid, kid, is (need the Inception weights; see docs/evaluation.md)
    """
    from ganzoo.api import load
    from ganzoo.engine.checkpoint import check_writable
    from ganzoo.metrics.evaluate import EVAL_FILE, evaluate

    run = load(run_dir, checkpoint=checkpoint, device=device or "auto")
    check_writable(run.run_dir / EVAL_FILE, "make the run folder writable (eval records its results there)")
    document = evaluate(run, list(metrics) or None, n=n, seed=seed, weights=weights,
                        progress=lambda name: status(f"computing {name} ..."))
    if as_json:
        print_json(document)
        return
    from rich.table import Table

    table = Table(title=f"{run.variant.name} on {run.config.dataset}, step {run.step}")
    for column in ("metric", "value", "", "step"):
        table.add_column(column)
    for name, entry in document["metrics"].items():
        first = True
        for key, value in entry["values"].items():
            table.add_row(name if first else "", key, _format(value), str(entry["step"]) if first else "")
            first = False
    out.print(table, markup=False)
