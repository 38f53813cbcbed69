"""``ganzoo run NAME``: train a variant; prints the run folder and the last sample grid."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ganzoo import config as cfg
from ganzoo.api import make_config
from ganzoo.cli.console import print_json
from ganzoo.cli.options import device_option, set_option, with_option
from ganzoo.errors import UserError
from ganzoo.registry import get_registry


def prepare_run_dir(out: str | None, variant: str) -> Path | None:
    """A new, writable run folder; an existing run is never overwritten. ``None`` without ``--out``:
    the trainer then claims a free default name (unique when runs start together)."""
    from ganzoo.engine.distributed import is_main_process
    from ganzoo.engine.trainer import check_new_run_dir, default_run_dir

    path = Path(out) if out else default_run_dir(variant)
    if not is_main_process():  # under torchrun only rank 0 creates (and so checks) the run folder
        return path
    if out:
        check_new_run_dir(path)
    parent = path if path.exists() else path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UserError(f"cannot write the run folder {str(path)!r} ({str(parent)!r} is not a writable folder); choose another --out")
    return path if out else None


def resume_config(run_dir: Path, registry, name: str | None, config_file: str | None, sets: dict[str, str],
                  profile: str | None, addons: tuple[str, ...] = (), **options):
    """The run's saved config with the options given now applied on top.

    The trainer then refuses any change the checkpoint cannot continue with (a different batch size,
    learning rate, an add-on setting, ...); ``--steps`` to train longer, ``--device`` or ``--set
    on_nan=skip`` are fine. The run's recorded add-ons stay enabled; ``--with`` may only repeat them.
    """
    from ganzoo.engine import checkpoint as ckpt

    config = ckpt.resume_config(run_dir, registry)
    file_addons = cfg.read_toml(config_file).get("addons", []) if config_file else []
    added = [a for a in [*file_addons, *addons] if a not in config.addons]
    if added:
        recorded = ", ".join(config.addons) or "none"
        raise UserError(f"cannot enable add-on {added[0]!r} when resuming (the run's add-ons: {recorded}); "
                        "start a new run to change them")
    if name and name != config.variant:
        raise UserError(f"run {str(run_dir)!r} is a {config.variant} run, not {name}; drop NAME or pass the right folder")
    if profile and profile != config.profile:
        raise UserError(f"cannot change the profile when resuming (the run uses {config.profile!r}); start a new run to change it")
    for key, value in cfg.flatten(cfg.read_toml(config_file) if config_file else {}).items():
        if key not in ("variant", "addons"):
            cfg.set_value(config, key, value)
    for key, value in sets.items():
        if key == "variant":
            raise UserError("the variant of a run cannot be changed")
        cfg.set_value(config, key, value, from_text=True)
    data_root = options.pop("data_root", None)
    if data_root is not None:
        options["data.root"] = str(data_root)
    for key, value in options.items():
        if value is not None:
            cfg.set_value(config, key, value)
    cfg.validate(config)
    return config


def has_checkpoint(run_dir: Path) -> bool:
    from ganzoo.engine import checkpoint as ckpt

    return ckpt.latest_checkpoint(run_dir / ckpt.CHECKPOINTS) is not None


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
@with_option
@click.option("--profile", default=None, help="Variant profile: demo, paper, ... (default: demo on the built-in data).")
@click.option("--seed", type=int, default=None, help="Random seed (the same seed on CPU gives the same losses).")
@click.option("--resume", "resume", type=click.Path(file_okay=False), is_flag=False, flag_value="", default=None,
              help="Continue the run in this folder from its latest checkpoint. Bare --resume with --out continues "
                   "that folder's run if it has a checkpoint, else starts it (for jobs that may be restarted).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(name, dataset, data_root, steps, batch_size, image_size, device, out, config_file, sets, addons, profile, seed, resume, quiet, as_json) -> None:
    """Train variant NAME; prints the run folder and the last sample grid.

    Settings apply in this order: the variant's paper defaults, its profile, --config, --set, then
    the options here. Add-ons act only when named: --with ADDON (ganzoo plugins lists them).
    """
    from ganzoo.engine import run_folder
    from ganzoo.engine.trainer import Trainer

    registry = get_registry()
    restart = False
    if resume == "":  # bare --resume: continue --out if it holds a checkpoint, else start it
        if not out:
            raise UserError("--resume without a folder needs --out RUN_DIR; or pass the run folder: --resume RUN_DIR")
        run_folder.refuse_if_in_use(Path(out))
        resume = out if has_checkpoint(Path(out)) else None
        # the start-up files of an earlier start that never reached a checkpoint: start afresh
        restart = resume is None and bool(name) and run_folder.is_leftover_of(Path(out), name)
    if resume:
        run_dir = Path(resume)
        if out and Path(out) != run_dir:
            raise UserError(f"--out {out} and --resume {resume} name different folders; a resumed run continues in its own folder")
        config = resume_config(run_dir, registry, name, config_file, cfg.parse_sets(sets), profile, addons, dataset=dataset,
                               data_root=data_root, steps=steps, batch_size=batch_size, image_size=image_size,
                               device=device, seed=seed)
        resume_from = run_dir
    else:
        if not name:
            raise UserError("missing variant name; e.g. ganzoo run gan (ganzoo list shows them all)")
        config = make_config(
            name, registry=registry, config_file=config_file, overrides=cfg.parse_sets(sets),
            dataset=dataset, data_root=data_root, steps=steps, batch_size=batch_size,
            image_size=image_size, device=device, seed=seed, profile=profile, addons=list(addons),
        )
        run_dir = Path(out) if restart else prepare_run_dir(out, name)
        resume_from = None
    from ganzoo.engine.distributed import is_main_process
    from ganzoo.engine.trainer import Diverged, Interrupted

    try:
        trainer = Trainer(config, registry, run_dir=run_dir, quiet=quiet or as_json, resume_from=resume_from)
        trainer.restart_leftover = restart
        result = trainer.train()
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
