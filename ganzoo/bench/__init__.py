"""The benchmark harness: training throughput per variant, beside a plain PyTorch loop of the same
model timed in the same run.

``ganzoo bench`` and :func:`run_benchmarks` return one report: the environment (torch, device,
command line, date) and, per scenario, milliseconds per iteration (median and spread over repeats),
images/s, peak device memory, FLOPs per iteration, achieved TFLOP/s and the fraction of the GPU's
dense bf16 peak, the throughput ratio to the plain loop, and a second figure on the real data
pipeline. See ``docs/benchmarks.md`` for how to read it.
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Callable, Sequence
from typing import Any

from ganzoo.errors import UserError

MODES = ("eager", "fast", "all")

#: Defaults per device type: (steps per block, warm-up iterations, repeats). Small on CPU so that
#: ``ganzoo bench --device cpu`` fits in a CI minute; enough on a GPU for compile and cuDNN tuning.
DEFAULTS = {"cpu": (2, 1, 3), "cuda": (20, 10, 7)}


def run_benchmarks(
    names: Sequence[str] = (),
    *,
    device: str = "auto",
    batch_size: int | None = None,
    image_size: int | None = None,
    steps: int | None = None,
    warmup: int | None = None,
    repeats: int | None = None,
    mode: str = "auto",
    size: str = "auto",
    pipeline: bool = True,
    sets: dict[str, str] | None = None,
    threads: int | None = None,
    registry: Any = None,
    command: str | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    shape: tuple[int, ...] | None = None,
    classes: int | None = None,
) -> dict[str, Any]:
    """Benchmark the named scenarios or variants (all scenarios when none) and return the report.

    ``mode`` is ``eager``, ``fast`` or ``all`` (``auto``: all on CUDA, eager elsewhere); ``size`` is
    ``small`` or ``full`` (``auto``: full on CUDA, small elsewhere); explicit ``batch_size`` and
    ``image_size`` override both. ``sets`` are config overrides for ganzoo's runs (e.g.
    ``{"fast.cuda_graphs": "true"}``). ``threads`` sets torch's CPU threads (one is steadier on a
    shared machine: spinning thread pools slow down badly when cores are oversubscribed).
    ``on_result`` is called with each scenario's record as it
    finishes. ``shape`` (``(C, H, W)``, square) and ``classes`` replace every scenario's synthetic
    sample shape and class count.
    """
    import torch

    from ganzoo.bench import flops, harness, scenarios
    from ganzoo.engine.device import pick_device
    from ganzoo.registry import get_registry

    registry = registry or get_registry()
    dev = pick_device(device)
    if mode not in (*MODES, "auto"):
        raise UserError(f"bad --mode {mode!r}: expected eager, fast or all")
    if size not in ("auto", "small", "full"):
        raise UserError(f"bad --size {size!r}: expected small or full")
    for label, value, least in (("steps", steps, 1), ("warmup", warmup, 0), ("repeats", repeats, 1),
                                ("batch-size", batch_size, 1), ("image-size", image_size, 1),
                                ("threads", threads, 1)):
        if value is not None and value < least:
            raise UserError(f"bad --{label} {value}: expected {least} or more")
    if shape is not None:
        if len(shape) != 3 or shape[1] != shape[2]:
            raise UserError(f"bad --shape {','.join(map(str, shape))}: the benchmarks take square images, C,H,H")
        if image_size is not None and image_size != shape[1]:
            raise UserError(f"--shape {','.join(map(str, shape))} and --image-size {image_size} disagree; give one")
        image_size = shape[1]
    if classes is not None and classes < 0:
        raise UserError(f"bad --classes {classes}: expected 0 or more")
    if threads is not None:
        torch.set_num_threads(threads)
    d_steps, d_warmup, d_repeats = DEFAULTS["cuda" if dev.type == "cuda" else "cpu"]
    if mode == "auto":
        mode = "all" if dev.type == "cuda" else "eager"
    modes = ("eager", "fast") if mode == "all" else (mode,)
    name = flops.device_name(dev)
    known = flops.peak_bf16_tflops(name) if dev.type == "cuda" else None
    settings = harness.Settings(
        device=dev,
        steps=steps or d_steps,
        warmup=d_warmup if warmup is None else warmup,
        repeats=repeats or d_repeats,
        modes=modes,
        small=(size == "small") or (size == "auto" and dev.type != "cuda"),
        batch_size=batch_size,
        image_size=image_size,
        pipeline=pipeline,
        sets=dict(sets or {}),
        peak_tflops=known[1] if known else None,
    )
    folder = scenarios.benchmarks_dir()
    chosen = scenarios.select(scenarios.load_scenarios(folder), names, registry.variants())
    if shape is not None or classes is not None:
        from dataclasses import replace

        chosen = [replace(s, channels=shape[0] if shape else s.channels,
                          num_classes=s.num_classes if classes is None else classes) for s in chosen]
    report: dict[str, Any] = {
        "ganzoo": _version(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": {
            "type": dev.type,
            "name": name,
            "gpu": known[0] if known else None,
            "peak_bf16_tflops": known[1] if known else None,
            "threads": torch.get_num_threads(),
        },
        "command": command or "ganzoo.bench.run_benchmarks(" + ", ".join(repr(n) for n in names) + ")",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "settings": {"steps": settings.steps, "warmup": settings.warmup, "repeats": settings.repeats,
                     "modes": list(modes), "size": "small" if settings.small else "full",
                     "batch_size": batch_size, "image_size": image_size, "sets": settings.sets,
                     **({"shape": list(shape)} if shape else {}),
                     **({"classes": classes} if classes is not None else {})},
        "scenarios": [],
    }
    for scenario in chosen:
        try:
            record = harness.run_scenario(scenario, settings, registry, folder)
        except UserError:
            raise
        except Exception as exc:  # one broken variant must not hide the others' figures
            record = {"scenario": scenario.name, "variant": scenario.variant, "error": f"{type(exc).__name__}: {exc}"}
        report["scenarios"].append(record)
        if on_result is not None:
            on_result(record)
    return report


def _version() -> str:
    from ganzoo import __version__

    return __version__

