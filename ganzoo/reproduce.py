"""Re-run a published table (:mod:`ganzoo.tables`) and set the results beside the paper's.

For every chosen row, every dataset of the table's columns and every seed 0 … runs − 1, train the
protocol's variant into ``OUT/runs/<row>-<dataset>-seed<seed>``, compute the protocol's metric
there, then aggregate per column: the mean over runs, its standard error (sample standard deviation
/ √runs), and whether the published mean lies within two of those standard errors of ours. A run
folder that already holds its result (``reproduce.json``) is reused, so an interrupted command picks
up where it stopped.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ganzoo.errors import UserError
from ganzoo.tables import Row, Table

RESULT_FILE = "reproduce.json"


def run_name(row: Row, dataset: str, seed: int) -> str:
    return f"{row.name}-{dataset}-seed{seed}"


def train_and_measure(table: Table, row: Row, dataset: str, seed: int, run_dir: Path, registry: Any,
                      steps: int | None = None, device: str | None = None) -> dict[str, float]:
    """Train one run of the protocol and return its metric values (reusing a finished run)."""
    from ganzoo.api import load, make_config, train

    options: dict[str, Any] = {"dataset": dataset, "seed": seed, "addons": list(row.addons)}
    if table.profile:
        options["profile"] = table.profile
    if steps is not None:
        options["steps"] = steps
    if device is not None:
        options["device"] = device
    config = make_config(table.variant, overrides=dict(row.overrides), registry=registry, **options)
    result_file = run_dir / RESULT_FILE
    if result_file.exists():
        result = json.loads(result_file.read_text())
        if result.get("step") != config.steps:
            raise UserError(f"{run_dir} was trained for {result.get('step')} steps, not {config.steps}; "
                            "pick another --out or the same --steps")
        return {k: float(v) for k, v in result["values"].items()}
    if run_dir.exists():
        raise UserError(f"{run_dir} holds an unfinished run; remove it or pick another --out")
    train(table.variant, out=run_dir, quiet=True, registry=registry, config=config)
    run = load(run_dir, device=device or "auto", registry=registry)
    values = registry.metric(table.metric).compute(run, n=table.samples, seed=seed)
    write_atomically(result_file, json.dumps({"row": row.name, "dataset": dataset, "seed": seed,
                                              "step": run.step, "values": values}, indent=2))
    return values


def summarise(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (NaN with a single value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(variance / n)


def within_two_se(mean: float, se: float, published: float) -> bool | None:
    """Whether ``published`` lies within two standard errors of ``mean``; None without an error."""
    if math.isnan(se) or math.isnan(mean):
        return None
    return abs(published - mean) <= 2 * se


def reproduce(table: Table, rows: Sequence[str] | None, runs: int | None, out_dir: Path, registry: Any,
              steps: int | None = None, device: str | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run ``rows`` (default: all) of ``table`` ``runs`` times each (default: the paper's number)
    and return the results document (also written to ``OUT/results.json`` and ``OUT/table.md``)."""
    chosen = [table.row(name) for name in rows] if rows else list(table.rows)
    runs = runs or table.runs
    measured: dict[tuple[str, str], list[dict[str, float]]] = {}
    for row in chosen:
        for dataset in table.datasets():
            for seed in range(runs):
                name = run_name(row, dataset, seed)
                if progress is not None:
                    progress(name)
                values = train_and_measure(table, row, dataset, seed, out_dir / "runs" / name, registry, steps, device)
                measured.setdefault((row.name, dataset), []).append(values)
    document = {
        "table": table.spec.name, "variant": table.variant, "profile": table.profile, "metric": table.metric,
        "samples": table.samples, "runs": runs, "steps": steps, "source": table.source, "rows": [],
    }
    for row in chosen:
        cells = {}
        for column in table.columns:
            values = [v[column.value] for v in measured[(row.name, column.dataset)]]
            mean, se = summarise(values)
            published = row.published.get(column.key)
            cells[column.key] = {
                "values": values, "mean": mean, "se": None if math.isnan(se) else se,
                "published": list(published) if published else None,
                "within_two_se": within_two_se(mean, se, published[0]) if published else None,
            }
        document["rows"].append({"name": row.name, "label": row.label, "columns": cells})
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(out_dir / "results.json", json.dumps(document, indent=2))
    write_atomically(out_dir / "table.md", markdown(table, document))
    return document


def fmt(value: float | None, se: float | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return text if se is None else f"{text} ± {se:.2g}"


def verdict(within: bool | None) -> str:
    return {True: "yes", False: "no", None: "–"}[within]


def markdown(table: Table, document: dict[str, Any]) -> str:
    """The results as a markdown table: ours (mean ± standard error), the paper's, within 2 SE."""
    header = ["method"]
    for column in table.columns:
        header += [f"{column.label} (ours)", "paper", "within 2 SE"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in document["rows"]:
        cells = [row["label"]]
        for column in table.columns:
            cell = row["columns"][column.key]
            published = cell["published"]
            cells += [fmt(cell["mean"], cell["se"]), fmt(*published) if published else "–",
                      verdict(cell["within_two_se"])]
        lines.append("| " + " | ".join(cells) + " |")
    steps = f", {document['steps']} steps (not the protocol's length)" if document["steps"] else ""
    lines.append("")
    lines.append(f"{document['runs']} run(s) per row and dataset, {document['samples']} samples each{steps}; "
                 f"{table.spec.name}: {table.source}")
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
