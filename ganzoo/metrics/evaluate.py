"""Evaluate a trained run with the installed metrics and record the results in the run folder.

``evaluate(run)`` picks the metrics that fit the run (its data kind and dataset), computes them and
merges them into ``RUN/eval.json``, one entry per metric with the step, sample count and seed it
was computed at, so a later evaluation of other metrics adds to the file instead of replacing it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from ganzoo.errors import UserError
from ganzoo.spec import MetricSpec

EVAL_FILE = "eval.json"


def run_kind(run) -> str:
    """The data kind a metric's ``kinds`` is matched against.

    ``labelled-images`` means a conditional variant: an unconditional GAN trained on MNIST makes
    ``images`` even though its dataset has labels.
    """
    if run.data_info.kind in ("points", "unpaired-images"):
        return run.data_info.kind
    return "labelled-images" if run.variant.is_conditional(run.config) else "images"


def fits(spec: MetricSpec, run) -> str | None:
    """Why ``spec`` does not apply to ``run``, or ``None`` when it does."""
    kind = run_kind(run)
    if kind not in spec.kinds:
        return f"metric {spec.name!r} is for {', '.join(spec.kinds)} runs; this {run.variant.name} run makes {kind}"
    if spec.datasets and run.config.dataset not in spec.datasets:
        return f"metric {spec.name!r} is meant for {', '.join(spec.datasets)}, not {run.config.dataset!r}"
    return None


def choose_metrics(run, names: list[str] | None, registry: Any) -> list[MetricSpec]:
    """The named metrics (an error if one cannot apply), or every default metric that fits the run."""
    available = registry.metrics()
    if names:
        chosen = []
        for name in names:
            spec = registry.metric(name)  # unknown names: a one-line error with suggestions
            reason = fits(spec, run)
            if reason and run_kind(run) not in spec.kinds:
                raise UserError(f"{reason}; choose from: {', '.join(sorted(s.name for s in available.values() if fits(s, run) is None))}")
            if reason:
                print(f"ganzoo: warning: {reason}; computing it anyway", file=sys.stderr)
            chosen.append(spec)
        return chosen
    chosen = [spec for spec in available.values() if spec.default and fits(spec, run) is None]
    if not chosen:
        raise UserError(f"no default metric fits this {run.variant.name} run on {run.config.dataset!r}; "
                        f"name one with --metric ({', '.join(sorted(available))})")
    return sorted(chosen, key=lambda s: s.name)


def evaluate(run, metrics: list[str] | None = None, n: int | None = None, seed: int = 0,
             weights: str | Path | None = None, cache_dir: str | Path | None = None, write: bool = True,
             progress=None) -> dict[str, Any]:
    """Compute metrics of a loaded run (or a run folder) and return the ``eval.json`` document.

    ``metrics`` names them (default: every default metric that fits), ``n`` overrides each metric's
    own sample count, ``weights`` is a feature extractor's weights file (the Inception metrics),
    ``write`` merges the results into ``RUN/eval.json``. ``progress(name)`` is called before each.
    """
    if not hasattr(run, "sample"):
        from ganzoo.api import load

        run = load(run)
    specs = choose_metrics(run, metrics, run.registry)
    options: dict[str, Any] = {"seed": seed, "shared": {}}
    if n is not None:
        options["n"] = n
    if weights:
        options["weights"] = str(weights)
    if cache_dir:
        options["cache_dir"] = str(cache_dir)
    results: dict[str, Any] = {}
    for spec in specs:
        if progress:
            progress(spec.name)
        start = time.perf_counter()
        values = spec.compute(run, **options)
        if not isinstance(values, dict):
            raise TypeError(f"metric {spec.name!r} from {spec.package or '?'} returned {type(values).__name__}, not a dict")
        results[spec.name] = {
            "summary": spec.summary,
            "values": {k: float(v) for k, v in values.items()},
            "step": run.step,
            "n": n,
            "seed": seed,
            "seconds": round(time.perf_counter() - start, 2),
        }
    document = {"variant": run.variant.name, "dataset": run.config.dataset, "step": run.step, "metrics": results}
    if write:
        document = _merge(Path(run.run_dir) / EVAL_FILE, document)
    return document


def _merge(path: Path, document: dict[str, Any]) -> dict[str, Any]:
    """Merge the new metrics into ``path`` (written atomically) and return the whole file."""
    from ganzoo.engine.checkpoint import atomic_write_bytes, writing_output

    merged = {"variant": document["variant"], "dataset": document["dataset"], "step": document["step"], "metrics": {}}
    if path.is_file():
        try:
            merged["metrics"] = json.loads(path.read_text()).get("metrics", {})
        except (json.JSONDecodeError, AttributeError):
            pass  # a damaged file is replaced by the new results
    merged["metrics"].update(document["metrics"])
    text = json.dumps(merged, indent=2, allow_nan=True) + "\n"
    with writing_output(path, "make the run folder writable (eval records its results there)"):
        atomic_write_bytes(path, lambda fh: fh.write(text.encode()))
    return merged
