"""``ganzoo sample RUN_DIR``: draw from a trained run into a PNG grid or an ``.npz`` file.

Translation runs (unpaired data, e.g. cyclegan) translate images instead: ``--input`` files or a
folder in ``--direction`` (keeping the file names; ``--grid`` adds a picture of them beside their
translations and reconstructions), or else test images of the run's dataset shown as rows of
inputs, translations and reconstructions.
"""

from __future__ import annotations

import io
from pathlib import Path

import click

from ganzoo.cli.console import status
from ganzoo.cli.options import device_option
from ganzoo.errors import UserError

FORMATS = (".png", ".npz")
#: A .png holds at most this many samples (a 64×64 grid, or a scatter plot of this many points);
#: an .npz is written in chunks and holds any number the disk can take.
MAX_IN_PNG = 4096
#: Samples drawn (and held in memory) at a time.
CHUNK = 500


def class_labels(choice: str | None, n: int, run) -> tuple[object, int | None, int]:
    """For ``--class`` (an integer or ``all``): a function of ``(start, stop)`` giving those samples'
    labels (``None`` when unconditional), the grid's row length, and the number of samples (a row
    per class may round ``n`` down). Labels are made per chunk, never all at once."""
    import torch

    def per_class(per: int):
        return lambda start, stop: torch.arange(start, stop) // per

    if choice is None:
        if run.variant.is_conditional(run.config):  # a row per class by default
            k = run.data_info.num_classes
            if n < k:
                return (lambda start, stop: torch.arange(start, stop)), max(1, n // k), n
            per = max(1, n // k)
            return per_class(per), per, k * per
        return None, None, n
    if not run.variant.is_conditional(run.config):
        option = run.variant.conditional_option
        how = f" (train it with --set model.{option}=true and labelled data)" if option else ""
        raise UserError(f"--class needs a conditional run; this {run.variant.name} run is unconditional{how}")
    k = run.data_info.num_classes
    if choice == "all":
        per = max(1, n // k)
        return per_class(per), per, k * per
    try:
        label = int(choice)
    except ValueError:
        raise UserError(f"bad --class {choice!r}: expected an integer from 0 to {k - 1} or 'all'") from None
    if not 0 <= label < k:
        raise UserError(f"bad --class {label}: expected an integer from 0 to {k - 1} or 'all'")
    return (lambda start, stop: torch.full((stop - start,), label, dtype=torch.long)), None, n


def write_samples_npz(run, path: Path, n: int, labels_between, seed: int, **options) -> None:
    """Draw ``n`` samples a chunk at a time straight into the .npz (the same samples as one draw:
    ``run.sample`` seeds every block of 500 by its offset)."""
    import numpy as np

    from ganzoo.engine.images import to_uint8
    from ganzoo.engine.npz import Member, write_npz_streamed

    points = run.data_info.kind == "points"

    def rows(start: int, stop: int):
        labels = None if labels_between is None else labels_between(start, stop)
        samples = run.sample(stop - start, labels=labels, seed=seed + start, **options)
        return samples.numpy() if points else to_uint8(samples).numpy()

    c, h, w = (1, 1, 1) if points else run.data_info.shape
    members = {"points": Member(n, (2,), np.dtype(np.float32), rows, CHUNK)} if points else {
        "images": Member(n, (h, w, c), np.dtype(np.uint8), rows, CHUNK)}
    if labels_between is not None:
        members["labels"] = Member(n, (), np.dtype(np.int64), lambda a, b: labels_between(a, b).numpy(), 1 << 20)
    write_npz_streamed(path, members)


def write_joint_samples(run, path: Path, n: int, seed: int) -> None:
    """A joint variant's samples (``VariantSpec.joint_domains``, e.g. CoGAN): an .npz of
    ``images_<domain>`` (uint8 N×H×W×C, row i of every domain from the same z), written a chunk at
    a time, or a PNG grid with each row's domains side by side."""
    import numpy as np

    from ganzoo.engine.images import save_grid, side_by_side, to_uint8
    from ganzoo.engine.npz import Member, write_npz_streamed

    if path.suffix.lower() != ".npz":
        images, per_row = side_by_side(run.variant.split_domains(run.sample(n, seed=seed)))
        save_grid(images, path, nrow=per_row)
        return
    c, h, w = run.data_info.shape
    drawn: dict[tuple[int, int], dict] = {}

    def rows_of(domain: str):
        def rows(start: int, stop: int):  # each block is drawn once and read by every domain
            if (start, stop) not in drawn:
                drawn.clear()
                drawn[start, stop] = run.variant.split_domains(run.sample(stop - start, seed=seed + start))
            return to_uint8(drawn[start, stop][domain]).numpy()

        return rows

    write_npz_streamed(path, {f"images_{d}": Member(n, (h, w, c), np.dtype(np.uint8), rows_of(d), CHUNK)
                              for d in run.variant.joint_domains})


def write_npz(path: Path, arrays: dict) -> None:
    import numpy as np

    from ganzoo.engine.checkpoint import atomic_write_bytes

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, lambda fh: fh.write(buffer.getvalue()))


#: The domain each translation direction starts from.
DIRECTION_SOURCE = {"AtoB": "A", "BtoA": "B"}
#: Inputs per block of the translation grid: each block is three rows (input, translated, reconstructed).
GRID_WIDTH = 8


def translation_outputs(out: str | None, run_dir: str, input_path: Path, direction: str) -> Path:
    """Check ``--out`` for ``--input`` before anything is loaded: a folder, an ``.npz``, or (for one input
    file) an image file; a missing parent folder is an error."""
    from PIL import Image

    out_path = Path(out) if out else Path(run_dir) / "samples" / f"translated-{direction}"
    suffix = out_path.suffix.lower()
    if suffix and suffix != ".npz" and suffix not in Image.registered_extensions():
        raise UserError(f"unsupported output {str(out_path)!r}; use a folder, an .npz file or an image file name")
    if suffix not in ("", ".npz") and not input_path.is_file():
        raise UserError(f"--out {str(out_path)!r} is one image but --input {str(input_path)!r} is not one file; pass a folder as --out")
    if not out_path.parent.exists():
        raise UserError(f"output folder {str(out_path.parent)!r} does not exist; create it or choose another --out")
    return out_path


def write_image(path: Path, image) -> None:
    """One uint8 H×W×C image, in the format its file name says, written atomically."""
    from PIL import Image

    from ganzoo.engine.checkpoint import atomic_write_bytes

    picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    kind = Image.registered_extensions()[path.suffix.lower()]
    atomic_write_bytes(path, lambda fh: picture.save(fh, format=kind))


def require_translation(run, option: str) -> None:
    if run.data_info.kind != "unpaired-images":
        raise UserError(f"{option} needs a translation run (unpaired data, e.g. cyclegan); "
                        f"{run.variant.name!r} draws samples from noise")


def grid_output(grid: str | None, input_path: str | None) -> Path | None:
    """Check ``--grid`` before anything is loaded: it goes with ``--input``, names a .png, in a folder that exists."""
    if grid is None:
        return None
    grid_path = Path(grid)
    if input_path is None:
        raise UserError("--grid shows the --input images beside their translations; add --input PATH "
                        "(without --input, --out FILE.png is already such a grid of test images)")
    if grid_path.suffix.lower() != ".png":
        raise UserError(f"unsupported --grid {str(grid_path)!r}; name a .png file")
    if not grid_path.parent.exists():
        raise UserError(f"output folder {str(grid_path.parent)!r} does not exist; create it or choose another --grid")
    return grid_path


def translate_files(run, input_path: Path, direction: str, out_path: Path, grid_path: Path | None = None) -> int:
    """Translate the ``--input`` image(s) and write them under their own names (or into one .npz), and
    with ``grid_path`` a PNG of the inputs, their translations and the translations back."""
    import numpy as np

    from ganzoo.data.unpaired import read_images
    from ganzoo.engine.checkpoint import writing_output
    from ganzoo.engine.images import to_uint8

    channels, size = run.data_info.shape[0], run.data_info.shape[-1]
    images, names = read_images(input_path, channels, size)
    if grid_path is not None and len(images) > MAX_IN_PNG // 3:
        raise UserError(f"--grid shows at most {MAX_IN_PNG // 3} inputs (three images each) and --input "
                        f"{str(input_path)!r} holds {len(images)}; pass a smaller folder with --grid")
    translated = to_uint8(run.sample(len(images), inputs=images, direction=direction)).numpy()
    if out_path.suffix.lower() == ".npz":
        write_npz(out_path, {"images": translated, "names": np.array(names)})
    elif out_path.suffix:
        write_image(out_path, translated[0])
    else:
        for name, image in zip(names, translated, strict=True):
            write_image(out_path / name, image)
    if grid_path is not None:
        with writing_output(grid_path, "choose another --grid"):
            save_translation_grid(translation_blocks(run, images, direction), grid_path)
    return len(names)


def translation_blocks(run, source, way: str) -> list:
    """Rows of a translation grid for ``source`` images translated ``way``: blocks of ``GRID_WIDTH``
    inputs, each three rows (the inputs, their translations, the translations back)."""
    rows = []
    for start in range(0, len(source), GRID_WIDTH):
        chunk = source[start : start + GRID_WIDTH]
        rows += run.sample(len(chunk), inputs={DIRECTION_SOURCE[way]: chunk}, direction=way).chunk(3)
    return rows


def save_translation_grid(rows: list, path: Path) -> None:
    """The rows as one PNG; the rows of a last, shorter block are padded with black."""
    import torch

    from ganzoo.engine.images import save_grid

    width = max(len(row) for row in rows)
    padded = [torch.cat([row, row.new_full((width - len(row), *row.shape[1:]), -1.0)]) for row in rows]
    save_grid(torch.cat(padded), path, nrow=width)


def translate_test_images(run, n: int, direction: str | None, out_path: Path) -> int:
    """Translate ``n`` test images of the run's dataset each way (or ``direction``) into a grid of
    inputs / translations / reconstructions, or into an .npz of ``images`` (the translations),
    ``inputs``, ``reconstructed`` and ``directions``."""
    import copy

    import numpy as np
    import torch

    from ganzoo.engine.images import to_uint8

    config = copy.deepcopy(run.config)
    config.data.split = "test"
    examples = run.registry.dataset(config.dataset).build(config).examples(n, torch.device("cpu"))
    grid_rows, rows = [], {"inputs": [], "images": [], "reconstructed": [], "directions": []}
    for way in [direction] if direction else list(DIRECTION_SOURCE):
        source = examples[DIRECTION_SOURCE[way]]
        blocks = translation_blocks(run, source, way)
        grid_rows += blocks
        for index, part in enumerate(blocks):
            rows[("inputs", "images", "reconstructed")[index % 3]].append(part)
        rows["directions"] += [way] * len(source)
    if out_path.suffix.lower() == ".npz":
        arrays = {k: to_uint8(torch.cat(v)).numpy() for k, v in rows.items() if k != "directions"}
        write_npz(out_path, {**arrays, "directions": np.array(rows["directions"])})
    else:
        save_translation_grid(grid_rows, out_path)
    return len(rows["directions"])


@click.command("sample")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--n", "n", type=click.IntRange(min=1), default=64, show_default=True, help="Number of samples.")
@click.option("--out", default=None, help="Output .png (a grid) or .npz (arrays). Default: RUN_DIR/samples/sample.png.")
@click.option("--class", "class_", default=None, help="Class K for conditional variants and runs (sngan with model.conditional=true), or 'all' for a row per class.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None, help="Checkpoint file (default: the run's latest).")
@device_option
@click.option("--input", "input_path", type=click.Path(), default=None,
              help="Translation runs: an image file or a folder of images to translate (names are kept).")
@click.option("--direction", type=click.Choice(list(DIRECTION_SOURCE)), default=None,
              help="Translation runs: AtoB or BtoA (default: AtoB with --input, both ways without).")
@click.option("--grid", "grid", type=click.Path(dir_okay=False), default=None, metavar="FILE.png",
              help="Translation runs, with --input: also write a PNG of the inputs, their translations and "
                   "the translations back (rows of eight inputs).")
@click.option("--weights", type=click.Choice(["ema", "raw"]), default=None,
              help="Sample the EMA (averaged) weights or the raw trained ones (default: ema when the run kept one).")
@click.option("--truncation", type=float, default=None, metavar="T",
              help="Truncation trick, for variants that support it; the variant decides its meaning "
                   "(biggan: z entries above T are redrawn; stylegan2: w = w_avg + T(w - w_avg)); "
                   "`ganzoo info NAME` says what it means.")
@click.option("--truncation-cutoff", type=click.IntRange(min=1), default=None, metavar="N",
              help="With --truncation: truncate only the first N layers (stylegan2: of w).")
def command(run_dir, n, out, class_, seed, checkpoint, device, input_path, direction, grid, weights, truncation,
            truncation_cutoff) -> None:
    """Draw N samples from the run in RUN_DIR.

    \b
    .png  a grid of images (or a scatter plot of 2-D points)
    .npz  'images' (uint8, N×H×W×C) or 'points' (float32, N×2), plus 'labels' when conditional

    \b
    Joint variants (e.g. cogan): row i of every domain from the same z;
    .png shows each row's domains side by side, .npz holds 'images_A', 'images_B'

    \b
    Translation runs (e.g. cyclegan):
    --input PATH  translate an image or a folder into --out (a folder, default
                  RUN_DIR/samples/translated-DIRECTION; or an .npz of 'images' and 'names')
    --grid F.png  with --input: also a grid of inputs / translations / reconstructions
    otherwise     N test images of each domain as rows of inputs, translations and
                  reconstructions (.npz: 'images', 'inputs', 'reconstructed', 'directions')
    """
    from ganzoo.api import load
    from ganzoo.engine.checkpoint import check_writable, writing_output
    from ganzoo.engine.images import save_grid, save_points
    from ganzoo.sampling import check_sample_options

    grid_path = grid_output(grid, input_path)
    if input_path is not None:
        direction = direction or "AtoB"
        out_path = translation_outputs(out, run_dir, Path(input_path), direction)
        run = load(run_dir, checkpoint=checkpoint, device=device or "auto", weights=weights)
        check_sample_options(run.variant, truncation=truncation, truncation_cutoff=truncation_cutoff)
        require_translation(run, "--input")
        with writing_output(out_path):
            count = translate_files(run, Path(input_path), direction, out_path, grid_path)
        status(f"{count} image(s) translated {direction} by step {run.step} of {run.variant.name}")
        click.echo(str(out_path))
        if grid_path is not None:
            click.echo(str(grid_path))
        return
    out_path = Path(out) if out else Path(run_dir) / "samples" / "sample.png"
    if out_path.is_dir():
        raise UserError(f"--out {str(out_path)!r} is a folder; name a .png or .npz file (e.g. {out_path / 'samples.png'})")
    if out_path.suffix.lower() not in FORMATS:
        raise UserError(f"unsupported output {str(out_path)!r}; use a .png or .npz file name")
    if out_path.suffix.lower() == ".png" and n > MAX_IN_PNG:
        raise UserError(f"--n {n} is too many for one .png (at most {MAX_IN_PNG}); write them to an .npz file, "
                        "which is filled a chunk at a time")
    run = load(run_dir, checkpoint=checkpoint, device=device or "auto", weights=weights)
    options = {"truncation": truncation, "truncation_cutoff": truncation_cutoff}
    check_sample_options(run.variant, **options)  # one line before anything is drawn or written
    if not out_path.parent.exists():
        raise UserError(f"output folder {str(out_path.parent)!r} does not exist; create it or choose another --out")
    check_writable(out_path)  # a read-only mount: one line now, not after drawing the samples
    if run.variant.joint_domains:
        if direction is not None or class_ is not None:
            raise UserError(f"{run.variant.name} draws {' and '.join(run.variant.joint_domains)} together from one z; "
                            "drop --direction and --class")
        with writing_output(out_path):
            write_joint_samples(run, out_path, n, seed)
        status(f"{n} samples of each of {', '.join(run.variant.joint_domains)} from step {run.step} of {run.variant.name}")
        click.echo(str(out_path))
        return
    if run.data_info.kind == "unpaired-images":
        with writing_output(out_path):
            count = translate_test_images(run, n, direction, out_path)
        status(f"{count} test images translated by step {run.step} of {run.variant.name}")
        click.echo(str(out_path))
        return
    if direction is not None:
        require_translation(run, "--direction")
    labels_between, per_row, n = class_labels(class_, n, run)
    if out_path.suffix.lower() == ".npz":
        with writing_output(out_path):
            write_samples_npz(run, out_path, n, labels_between, seed, **options)
    else:
        samples = run.sample(n, labels=None if labels_between is None else labels_between(0, n), seed=seed, **options)
        with writing_output(out_path):
            if run.data_info.kind == "points":
                save_points(samples, out_path)
            else:
                save_grid(samples, out_path, nrow=per_row)
    status(f"{n} samples from step {run.step} of {run.variant.name}")
    click.echo(str(out_path))
