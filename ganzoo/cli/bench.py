"""``ganzoo bench [NAME...]``: training throughput per variant beside a plain PyTorch loop."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click
from click.core import ParameterSource

from ganzoo import config as cfg
from ganzoo.cli.console import out, print_json, status
from ganzoo.cli.options import set_option
from ganzoo.errors import UserError


def typed_command(ctx: click.Context) -> str:
    """The command line as typed, rebuilt from the options given on it (for the report)."""
    parts = ["ganzoo", "bench", *ctx.params["names"]]
    for param in ctx.command.params:
        if param.name == "names" or ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
            continue
        value, option = ctx.params[param.name], max(param.opts, key=len)
        if getattr(param, "is_flag", False):
            parts.append(option)
        elif getattr(param, "multiple", False):
            for item in value:
                parts += [option, str(item)]
        else:
            parts += [option, str(value)]
    return shlex.join(parts)


@click.command("bench")
@click.argument("names", nargs=-1)
@click.option("--device", default="auto", show_default=True, help="cuda, cuda:N, mps or cpu.")
@click.option("--batch-size", type=int, default=None, help="Override every scenario's batch size.")
@click.option("--image-size", type=int, default=None, help="Override every scenario's image size.")
@click.option("--shape", default=None, metavar="C,H,W", help="Sample shape of every scenario's synthetic data (square).")
@click.option("--classes", type=int, default=None, metavar="K", help="Classes of every scenario's synthetic labels.")
@click.option("--steps", type=int, default=None, help="Iterations per timed block (default: 20 on CUDA, 2 on CPU).")
@click.option("--warmup", type=int, default=None, help="Untimed iterations first (default: 10 on CUDA, 1 on CPU).")
@click.option("--repeats", type=int, default=None, help="Timed blocks per contender (default: 7 on CUDA, 3 on CPU).")
@click.option("--mode", type=click.Choice(["auto", "eager", "fast", "all"]), default="auto", show_default=True,
              help="ganzoo's speed setting: auto is all (eager and fast) on CUDA, eager elsewhere.")
@click.option("--size", type=click.Choice(["auto", "small", "full"]), default="auto", show_default=True,
              help="Scenario sizes: full (the papers') or small (CI); auto is full on CUDA only.")
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's own choice).")
@click.option("--no-pipeline", is_flag=True, help="Skip the real-data-pipeline figure.")
@set_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the report as a markdown table.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None, help="Also write the JSON report to this file.")
def command(names, device, batch_size, image_size, shape, classes, steps, warmup, repeats, mode, size, threads, no_pipeline, sets,
            as_json, as_markdown, out_file) -> None:
    """Time training iterations of each variant beside a plain PyTorch loop of the same model.

    NAME is a scenario (gan-mnist28, dcgan-64, ...) or a variant (all its scenarios); none runs
    every scenario. Reports ms/iteration (median and spread), images/s, the ratio to the plain loop
    timed in the same run, FLOPs, TFLOP/s, the fraction of a known GPU's bf16 peak, peak memory and
    images/s with the real data pipeline.
    """
    from ganzoo.bench import run_benchmarks
    from ganzoo.bench.report import markdown, table
    from ganzoo.data.declared import parse_shape

    if out_file is not None:
        parent = Path(out_file).resolve().parent
        if not parent.is_dir():
            raise UserError(f"cannot write {out_file!r}: folder {str(parent)!r} does not exist; create it or choose another --out")
    quiet = as_json or as_markdown

    def progress(record: dict) -> None:
        if not quiet:
            what = record.get("skipped") or record.get("error") or "done"
            status(f"{record['scenario']}: {what}")

    report = run_benchmarks(
        names, device=device, batch_size=batch_size, image_size=image_size, steps=steps, warmup=warmup,
        repeats=repeats, mode=mode, size=size, pipeline=not no_pipeline, sets=cfg.parse_sets(sets),
        threads=threads, command=typed_command(click.get_current_context()), on_result=progress,
        shape=parse_shape(shape) if shape else None, classes=classes,
    )
    if out_file is not None:
        Path(out_file).write_text(json.dumps(report, indent=2) + "\n")
    if as_json:
        print_json(report)
    elif as_markdown:
        click.echo(markdown(report), nl=False)
    else:
        out.print(table(report))
    failed = [r for r in report["scenarios"] if "error" in r]
    for record in failed:  # on stderr even with --json, so a script's log says why it exited 1
        status(f"error: scenario {record['scenario']} failed: {record['error']}")
    if failed:
        raise click.exceptions.Exit(1)
