"""The CUDA checks of a GPU session, in one script that keeps to a time budget.

    python benchmarks/cuda_check.py OUT_DIR [--budget SECONDS]

In order of priority, each part stopped in time so the next one still runs:

1. exact resume on CUDA: ``tests/test_resume.py`` with ``GANZOO_TEST_DEVICE=cuda``;
2. ``ganzoo bench --device cuda --mode all`` for every scenario, one at a time, so a scenario that
   fails is recorded and the others still run (short blocks: 3 warm-up iterations, 5 blocks of 5);
3. a short fast-mode run (``speed=fast``: bf16, channels_last, fused Adam, torch.compile) of every
   installed variant at its demo settings, then ``ganzoo sample`` from it.

``OUT_DIR`` receives ``cuda.json`` (the bench report, the same format as ``ganzoo bench --json``),
``summary.json`` (what passed, failed or was not reached, with times) and ``logs.tar.gz``. Both
JSON files are rewritten after every part, so a run stopped from outside still leaves its results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START = time.monotonic()


def elapsed() -> float:
    return time.monotonic() - START


def say(*parts: object) -> None:
    print(f"[{elapsed():6.1f}s]", *parts, flush=True)


def run(cmd: list[str], log: Path, timeout: float, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run ``cmd`` with its output in ``log``; return its exit code (None: stopped at ``timeout``)."""
    t0 = time.monotonic()
    with log.open("w") as fh:
        try:
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=max(timeout, 1),
                                  env={**os.environ, **(env or {})}, cwd=ROOT)
            rc: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            rc = None
    tail = log.read_text(errors="replace").strip().splitlines()[-3:]
    return {"rc": rc, "seconds": round(time.monotonic() - t0, 1), "tail": tail}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--budget", type=float, default=470.0, help="Seconds for the whole script.")
    parser.add_argument("--bench-share", type=float, default=0.75, help="Part of the budget the bench may end by.")
    parser.add_argument("--device", default="cuda", help="cpu: a dry run of the script itself.")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    out: Path = args.out
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    os.environ["PYTHONUNBUFFERED"] = "1"

    import torch

    from ganzoo.bench import run_benchmarks
    from ganzoo.bench.scenarios import benchmarks_dir, load_scenarios
    from ganzoo.registry import get_registry

    summary: dict[str, object] = {
        "torch": torch.__version__, "cuda": torch.version.cuda, "python": sys.version.split()[0],
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else args.device,
        "budget_s": args.budget, "resume": None, "bench": {}, "fast_runs": {}, "not_reached": [],
    }
    merged: dict[str, object] | None = None

    def save() -> None:
        summary["elapsed_s"] = round(elapsed(), 1)
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        if merged is not None:
            (out / "cuda.json").write_text(json.dumps(merged, indent=2, default=str))

    if args.device == "cuda" and not torch.cuda.is_available():
        say("no CUDA device: nothing to check")
        save()
        return 1
    say("device:", summary["device"], "torch", torch.__version__)
    save()

    # 1. exact resume on CUDA, every variant
    say("resume on CUDA ...")
    summary["resume"] = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_resume.py"],
                            logs / "resume.txt", timeout=min(100.0, args.budget * 0.2), env={"GANZOO_TEST_DEVICE": args.device})
    say("resume:", summary["resume"])
    save()

    # 2. every bench scenario, light ones first
    registry = get_registry()
    # one of each variant first, so that a short budget still sees every variant once
    order = ["gan-mnist28", "dcgan-64", "wgan-gp-64", "cyclegan-256-b8", "stylegan2-cifar", "biggan-cifar10",
             "sngan-cifar10", "sagan-cifar10", "cgan-32", "progan-256", "wgan-64", "cogan-digits",
             "stylegan2-256", "biggan-128", "cyclegan-256-b1", "gan-overhead"]
    names = [s.name for s in load_scenarios(benchmarks_dir())]
    names = [n for n in order if n in names] + [n for n in names if n not in order]
    bench_end = args.budget * args.bench_share
    for name in names:
        if elapsed() > bench_end - 15:
            summary["not_reached"].append(f"bench {name}")
            continue
        say("bench", name, "...")
        t0 = time.monotonic()
        try:
            report = run_benchmarks([name], device=args.device, mode="all", steps=args.steps, warmup=args.warmup,
                                    repeats=args.repeats, registry=registry,
                                    command=f"ganzoo bench {name} --device {args.device} --mode all --steps {args.steps} "
                                            f"--warmup {args.warmup} --repeats {args.repeats}")
            if merged is None:
                merged = {**report, "scenarios": [],
                          "command": f"python benchmarks/cuda_check.py OUT (ganzoo bench NAME --device {args.device} --mode all "
                                     f"--steps {args.steps} --warmup {args.warmup} --repeats {args.repeats}, one scenario at a time)"}
            merged["scenarios"].extend(report["scenarios"])
            errors = [r["error"] for r in report["scenarios"] if r.get("error")]  # the harness keeps going past one
            summary["bench"][name] = {"ok": not errors, "seconds": round(time.monotonic() - t0, 1),
                                      **({"error": errors[0].splitlines()[0][:300]} if errors else {})}
        except Exception as exc:  # record it, keep the rest
            (logs / f"bench-{name}.txt").write_text(traceback.format_exc())
            summary["bench"][name] = {"ok": False, "seconds": round(time.monotonic() - t0, 1),
                                      "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"}
        say("bench", name, summary["bench"][name])
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        save()

    # 3. a short fast-mode run of every variant, then samples from it
    variants = sorted(registry.variants())

    shutil.rmtree("/tmp/ganzoo-cuda-check", ignore_errors=True)

    def fast_run(variant: str) -> tuple[str, dict[str, object]]:
        try:
            return _fast_run(variant)
        except Exception as exc:  # a broken helper must not lose the other results
            return variant, {"rc": f"error: {type(exc).__name__}: {exc}"}

    def _fast_run(variant: str) -> tuple[str, dict[str, object]]:
        left = args.budget - 12 - elapsed()
        if left < 20:
            return variant, {"rc": "not reached"}
        folder = Path("/tmp/ganzoo-cuda-check") / variant
        result = run([sys.executable, "-m", "ganzoo", "run", variant, "--device", args.device, "--steps", "30", "--set", "speed=fast",
                      "--set", "sample_every=1000000", "--out", str(folder), "--quiet"],
                     logs / f"run-{variant}.txt", timeout=left)
        if result["rc"] == 0:
            left = args.budget - 8 - elapsed()
            result["sample"] = run([sys.executable, "-m", "ganzoo", "sample", str(folder), "--n", "16", "--out", str(folder / "s.npz")],
                                   logs / f"sample-{variant}.txt", timeout=max(left, 5))
        return variant, result

    if elapsed() < args.budget - 40:
        with ThreadPoolExecutor(max_workers=6) as pool:
            for variant, result in pool.map(fast_run, variants):
                summary["fast_runs"][variant] = result
                say("fast run", variant, result.get("rc"), result.get("seconds"))
                save()
    else:
        summary["not_reached"].append("fast runs")

    save()
    with tarfile.open(out / "logs.tar.gz", "w:gz") as tar:
        tar.add(logs, arcname="logs")
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
