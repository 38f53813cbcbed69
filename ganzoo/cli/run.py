"""``ganzoo run NAME``: train a variant; prints the run folder and the last sample grid."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ganzoo import config as cfg
from ganzoo.api import make_config
from ganzoo.cli.console import print_json
from ganzoo.cli.options import device_option, set_option
from ganzoo.errors import UserError
from ganzoo.registry import get_registry


def prepare_run_dir(out: str | None, variant: str) -> Path:
    """A new, writable run folder; an existing run is never overwritten."""
    from ganzoo.engine.distributed import is_main_process
    from ganzoo.engine.trainer import default_run_dir

    path = Path(out) if out else default_run_dir(variant)
    if not is_main_process():  # under torchrun only rank 0 creates (and so checks) the run folder
        return path
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserError(f"run folder {str(path)!r} already exists; continue it with --resume {path} or choose another --out")
    parent = path if path.exists() else path.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise UserError(f"cannot write the run folder {str(path)!r} (no permission on {str(parent)!r}); choose another --out")
    return path


def resume_config(run_dir: Path, steps: int | None, registry):
    import json

    info_path = run_dir / "run.json"
    if not info_path.is_file():
        raise UserError(f"{str(run_dir)!r} is not a ganzoo run folder (no run.json); pass the folder 'ganzoo run' printed")
    name = json.loads(info_path.read_text())["variant"]
    config = cfg.load_run_config(run_dir / "config.toml", registry.variant(name))
    if steps is not None:
        config.steps = steps
    return config


@click.command("run")
@click.argument("name", required=False)
@click.option("--dataset", default=None, help="Dataset name (ganzoo plugins lists them); default: the variant's.")
@click.option("--data-root", type=click.Path(file_okay=False), default=None, help="Folder holding the dataset files.")
@click.option("--steps", type=int, default=None, help="Training iterations (one update of every player).")
@click.option("--batch-size", type=int, default=None, help="Images (or points) per batch.")
@click.option("--image-size", type=int, default=None, help="Resize images to this size.")
@device_option
@click.option("--out", default=None, help="Run folder to create (default: runs/NAME-DATE-TIME).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, help="TOML file of config values.")
@set_option
@click.option("--profile", default=None, help="Variant profile: demo, paper, ... (default: demo on the built-in data).")
@click.option("--seed", type=int, default=None, help="Random seed (the same seed on CPU gives the same losses).")
@click.option("--resume", "resume", type=click.Path(file_okay=False), default=None, help="Continue the run in this folder from its latest checkpoint.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(name, dataset, data_root, steps, batch_size, image_size, device, out, config_file, sets, profile, seed, resume, quiet, as_json) -> None:
    """Train variant NAME; prints the run folder and the last sample grid.

    Settings apply in this order: the variant's paper defaults, its profile, --config, --set, then
    the options here.
    """
    from ganzoo.engine import checkpoint as ckpt
    from ganzoo.engine.trainer import Trainer

    registry = get_registry()
    if resume:
        run_dir = Path(resume)
        config = resume_config(run_dir, steps, registry)
        if name and name != config.variant:
            raise UserError(f"run {str(run_dir)!r} is a {config.variant} run, not {name}; drop NAME or pass the right folder")
        resume_from = ckpt.latest_checkpoint(run_dir / "checkpoints")
        if resume_from is None:
            raise UserError(f"run {str(run_dir)!r} has no checkpoint to resume from; start a new run")
    else:
        if not name:
            raise UserError("missing variant name; e.g. ganzoo run gan (ganzoo list shows them all)")
        config = make_config(
            name, registry=registry, config_file=config_file, overrides=cfg.parse_sets(sets),
            dataset=dataset, data_root=data_root, steps=steps, batch_size=batch_size,
            image_size=image_size, device=device, seed=seed, profile=profile,
        )
        run_dir = prepare_run_dir(out, name)
        resume_from = None
    from ganzoo.engine.distributed import is_main_process
    from ganzoo.engine.trainer import Diverged, Interrupted

    try:
        result = Trainer(config, registry, run_dir=run_dir, quiet=quiet or as_json, resume_from=resume_from).train()
    except (Interrupted, Diverged) as exc:
        if is_main_process():
            raise
        # every process stops at the same step for these: rank 0 says it once
        raise click.exceptions.Exit(int(exc.exit_code)) from None
    if not is_main_process():  # under torchrun only rank 0 prints
        return
    if as_json:
        print_json({"run_dir": str(result.run_dir), "step": result.step, "samples": str(result.last_grid),
                    "checkpoint": str(result.last_checkpoint), "losses": result.losses})
        return
    click.echo(f"run folder: {result.run_dir}")
    if result.last_grid:
        click.echo(f"samples:    {result.last_grid}")
