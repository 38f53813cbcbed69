"""``ganzoo sample RUN_DIR``: draw from a trained run into a PNG grid or an ``.npz`` file."""

from __future__ import annotations

import io
from pathlib import Path

import click

from ganzoo.cli.console import status
from ganzoo.cli.options import device_option
from ganzoo.errors import UserError

FORMATS = (".png", ".npz")


def class_labels(choice: str | None, n: int, run) -> tuple[object, int | None]:
    """Labels for ``--class`` (an integer or ``all``) and the grid's row length."""
    import torch

    if choice is None:
        if run.variant.conditional:  # a row per class by default
            k = run.data_info.num_classes
            per = max(1, n // k)
            return torch.arange(k).repeat_interleave(per)[:n] if n >= k else torch.arange(n), per
        return None, None
    if not run.variant.conditional:
        raise UserError(f"--class needs a conditional variant; {run.variant.name!r} is unconditional")
    k = run.data_info.num_classes
    if choice == "all":
        per = max(1, n // k)
        return torch.arange(k).repeat_interleave(per), per
    try:
        label = int(choice)
    except ValueError:
        raise UserError(f"bad --class {choice!r}: expected an integer from 0 to {k - 1} or 'all'") from None
    if not 0 <= label < k:
        raise UserError(f"bad --class {label}: expected an integer from 0 to {k - 1} or 'all'")
    return torch.full((n,), label, dtype=torch.long), None


def write_npz(path: Path, arrays: dict) -> None:
    import numpy as np

    from ganzoo.engine.checkpoint import atomic_write_bytes

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, lambda fh: fh.write(buffer.getvalue()))


@click.command("sample")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--n", "n", type=click.IntRange(min=1), default=64, show_default=True, help="Number of samples.")
@click.option("--out", default=None, help="Output .png (a grid) or .npz (arrays). Default: RUN_DIR/samples/sample.png.")
@click.option("--class", "class_", default=None, help="Class K for conditional variants, or 'all' for a row per class.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None, help="Checkpoint file (default: the run's latest).")
@device_option
def command(run_dir, n, out, class_, seed, checkpoint, device) -> None:
    """Draw N samples from the run in RUN_DIR.

    \b
    .png  a grid of images (or a scatter plot of 2-D points)
    .npz  'images' (uint8, N×H×W×C) or 'points' (float32, N×2), plus 'labels' when conditional
    """
    from ganzoo.api import load
    from ganzoo.engine.images import save_grid, save_points, to_uint8

    out_path = Path(out) if out else Path(run_dir) / "samples" / "sample.png"
    if out_path.suffix.lower() not in FORMATS:
        raise UserError(f"unsupported output {str(out_path)!r}; use a .png or .npz file name")
    if not out_path.parent.exists():
        raise UserError(f"output folder {str(out_path.parent)!r} does not exist; create it or choose another --out")
    run = load(run_dir, checkpoint=checkpoint, device=device or "auto")
    labels, per_row = class_labels(class_, n, run)
    if labels is not None:
        n = len(labels)
    samples = run.sample(n, labels=labels, seed=seed)
    if out_path.suffix.lower() == ".npz":
        import numpy as np

        arrays = {}
        if run.data_info.kind == "points":
            arrays["points"] = samples.numpy().astype(np.float32)
        else:
            arrays["images"] = to_uint8(samples).numpy()
        if labels is not None:
            arrays["labels"] = labels.numpy().astype(np.int64)
        write_npz(out_path, arrays)
    elif run.data_info.kind == "points":
        save_points(samples, out_path)
    else:
        save_grid(samples, out_path, nrow=per_row)
    status(f"{n} samples from step {run.step} of {run.variant.name}")
    click.echo(str(out_path))
