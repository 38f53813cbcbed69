"""Every bad input of the reliability issue, table-driven: exit code 2, one line naming the problem
and the fix, and nothing written (the folders involved are byte-for-byte as before)."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from reliability_helpers import QUIET_RUN, TINY, ReliabilityVariants, snapshot

from ganzoo.cli.main import cli
from ganzoo.engine import checkpoint as ckpt
from ganzoo.registry import get_registry

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000" "3a7e9b55"
    "0000000a49444154789c6360000000020001e221bc330000000049454e44ae426082"
)


def tiny(variant: str = "gan") -> list[str]:
    """Options that keep a run tiny, should a case fail to stop it."""
    args = ["--steps", "2", "--quiet"]
    for key, value in {**QUIET_RUN, **TINY.get(variant, {})}.items():
        if key in QUIET_RUN or key.startswith("model."):
            args += ["--set", f"{key}={value}"]
    return args


def trained(root: Path, variant: str) -> Path:
    run_dir = root / variant
    result = CliRunner().invoke(cli, ["run", variant, "--out", str(run_dir), *tiny(variant)])
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {variant: trained(root, variant) for variant in ("gan", "dcgan")}


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def full_disk(monkeypatch) -> None:
    """Every atomic write (config, run.json, checkpoints) finds the disk full half-way."""
    real_fdopen = os.fdopen

    class HalfWritten:
        def __init__(self, fh):
            self.fh = fh

        def write(self, data):
            self.fh.write(bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as the kernel says it: no file named

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(ckpt.os, "fdopen", lambda fd, *a, **k: HalfWritten(real_fdopen(fd, *a, **k)))


def read_only(monkeypatch) -> None:
    """Every file written (atomically, or by PIL) meets a read-only file system."""

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), args[0] if args else None)

    class Builtins:  # PIL opens the files it saves through builtins.open
        open = staticmethod(lambda path, mode="r", *a, **k: refuse(path) if "w" in mode else open(path, mode, *a, **k))

    import PIL.Image

    monkeypatch.setattr(ckpt.tempfile, "mkstemp", lambda *a, dir=None, **k: refuse(dir))
    monkeypatch.setattr(PIL.Image, "builtins", Builtins)


def edit_config(path: Path, section: str, key: str, value) -> None:
    """Change one value of a run's config.toml, as a user editing it would."""
    import tomli_w

    from ganzoo.config import read_toml

    table = read_toml(path)
    table[section][key] = value
    path.write_text(tomli_w.dumps(table))


@dataclass
class Case:
    """``args`` may name ``{dir}`` (this case's folder) and ``{gan}``/``{dcgan}`` (trained runs);
    ``setup`` prepares files in the case folder; ``copy_run`` gets a private copy of a trained run."""

    args: list[str]
    message: str
    setup: Callable[[Path], None] = lambda folder: None
    copy_run: str = ""
    patch: Callable[..., None] | None = None
    #: options appended to ``args``; by default those keeping a ``run`` of the named variant tiny
    extra: list[str] | None = None
    #: 2 for a mistake in what was asked, 1 for an environment failure (a full disk)
    exit_code: int = 2

    def command(self) -> list[str]:
        if self.extra is not None:
            return self.args + self.extra
        return self.args + (tiny(self.args[1]) if self.args[0] == "run" else [])


def image_folder(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


CASES = {
    "unknown variant": Case(["run", "gann"], "unknown variant 'gann'; did you mean: gan"),
    "unknown dataset": Case(["run", "gan", "--dataset", "mnsit", "--out", "{dir}/o"], "unknown dataset 'mnsit'; did you mean: mnist"),
    "unknown metric": Case(["eval", "{gan}", "--metric", "fidd"], "unknown metric 'fidd'; did you mean: fid", extra=[]),
    "unknown profile": Case(["run", "gan", "--profile", "dem"], "unknown profile 'dem' for gan; did you mean: demo"),
    "unknown config key": Case(["run", "gan", "--set", "model.lrr=0.1"], "unknown config key 'model.lrr'; did you mean: model.lr"),
    "ill-typed config value": Case(["run", "gan", "--set", "batch_size=many"], "bad value 'many' for batch_size: expected an integer"),
    "unknown key in a config file": Case(["run", "gan", "--config", "{dir}/c.toml"], "unknown config key 'stepz'; did you mean: steps",
                                         setup=lambda d: (d / "c.toml").write_text("stepz = 3\n")),
    "ill-typed value in a config file": Case(["run", "gan", "--config", "{dir}/c.toml"], "bad value 'fast' for model.lr: expected a number",
                                             setup=lambda d: (d / "c.toml").write_text("[model]\nlr = 'fast'\n")),
    "image size the variant refuses": Case(["run", "dcgan", "--image-size", "18", "--out", "{dir}/o"], "dcgan cannot take image size 18",
                                           ),
    "generator of another size than the data": Case(["run", "fixed16", "--out", "{dir}/o"],
                                                    "variant 'fixed16' generates samples of shape (1, 16, 16) but the data are (1, 28, 28); choose an image size"),
    "critic that cannot take the data": Case(["run", "critic16", "--out", "{dir}/o"],
                                             "variant 'critic16' cannot take data of shape (1, 28, 28) (mat1 and mat2 shapes cannot be multiplied"),
    "missing dataset folder": Case(["run", "gan", "--dataset", "folder", "--data-root", "{dir}/nowhere", "--out", "{dir}/o"],
                                   "data folder '{dir}/nowhere' does not exist"),
    "empty dataset folder": Case(["run", "gan", "--dataset", "folder", "--data-root", "{dir}/data", "--out", "{dir}/o"],
                                 "data folder '{dir}/data' holds no images", setup=lambda d: (d / "data" / "cats").mkdir(parents=True)),
    "unreadable first image": Case(["run", "gan", "--dataset", "folder", "--data-root", "{dir}/data", "--out", "{dir}/o"],
                                   "cannot read image '{dir}/data/cats/a.png' (UnidentifiedImageError); remove or replace the file",
                                   setup=lambda d: image_folder(d / "data", {"cats/a.png": b"not a png", "cats/b.png": PNG_1PX})),
    "unreadable image read by a worker": Case(
        ["run", "gan", "--dataset", "folder", "--data-root", "{dir}/data", "--image-size", "8", "--batch-size", "2",
         "--set", "data.workers=1", "--out", "{dir}/o"],
        "cannot read image '{dir}/data/cats/b.png' (UnidentifiedImageError); remove or replace the file",
        setup=lambda d: image_folder(d / "data", {"cats/a.png": PNG_1PX, "cats/b.png": b"\x89PNG broken"})),
    "conditional variant on points": Case(["run", "tiny-cond", "--dataset", "ring8", "--out", "{dir}/o"],
                                          "variant 'tiny-cond' needs labelled-images data but dataset 'ring8' provides points"),
    "conditional variant on a folder without classes": Case(
        ["run", "tiny-cond", "--dataset", "folder", "--data-root", "{dir}/p/flat", "--image-size", "8", "--out", "{dir}/o"],
        "variant 'tiny-cond' is conditional but dataset 'folder' has no class labels",
        setup=lambda d: image_folder(d / "p" / "flat", {"a.png": PNG_1PX, "b.png": PNG_1PX})),
    "checkpoint of another variant (resume)": Case(
        ["run", "--resume", "{dir}/gan"], "checkpoint '{dir}/gan/checkpoints/step-00000002.pt' is from variant 'dcgan', not 'gan'",
        copy_run="gan", extra=["--steps", "4"],
        setup=lambda d: shutil.copy(d / "dcgan.pt", d / "gan" / "checkpoints" / "step-00000002.pt")),
    "checkpoint of another variant (sample)": Case(
        ["sample", "{gan}", "--checkpoint", "{dcgan}/checkpoints/step-00000002.pt", "--out", "{dir}/s.png"],
        "is from variant 'dcgan', not 'gan'", extra=[]),
    "truncated checkpoint": Case(["run", "--resume", "{dir}/gan"], "checkpoint '{dir}/gan/checkpoints/step-00000002.pt' is truncated or corrupted",
                                 copy_run="gan", extra=["--steps", "4"],
                                 setup=lambda d: (d / "gan/checkpoints/step-00000002.pt").write_bytes(b"PK\x03\x04trunc")),
    "corrupted checkpoint": Case(["sample", "{dir}/gan", "--out", "{dir}/s.png"], "is truncated or corrupted", copy_run="gan", extra=[],
                                 setup=lambda d: flip_a_byte(d / "gan/checkpoints/step-00000002.pt")),
    "existing run folder": Case(["run", "gan", "--out", "{dir}/gan"], "run folder '{dir}/gan' already exists; continue it with --resume",
                                copy_run="gan"),
    "a new run over one that never checkpointed": Case(
        ["run", "gan", "--out", "{dir}/o"], "run folder '{dir}/o' holds a run that stopped before its first checkpoint; add --resume",
        setup=lambda d: image_folder(d / "o", {"run.json": b'{"variant": "gan"}', "config.toml": b""})),
    "sample --out that is a folder": Case(["sample", "{gan}", "--out", "{dir}/grid.png"],
                                          "--out '{dir}/grid.png' is a folder; name a .png or .npz file", extra=[],
                                          setup=lambda d: (d / "grid.png").mkdir()),
    "sample of a run on a read-only mount": Case(["sample", "{dir}/gan"],
                                                 "cannot write '{dir}/gan/samples/sample.png' (Read-only file system); choose another --out",
                                                 copy_run="gan", extra=[], patch=read_only),
    "sample into a read-only place (npz)": Case(["sample", "{gan}", "--out", "{dir}/s.npz"],
                                                "cannot write '{dir}/s.npz' (Read-only file system); choose another --out",
                                                extra=[], patch=read_only),
    "eval of a run on a read-only mount": Case(["eval", "{dir}/gan", "--metric", "digit-fd", "--n", "20"],
                                               "cannot write '{dir}/gan/eval.json' (Read-only file system); make the run folder writable",
                                               copy_run="gan", extra=[], patch=read_only),
    "sample on a full disk": Case(["sample", "{gan}", "--out", "{dir}/s.npz"], "no space left on the device while writing '{dir}/s.npz'",
                                  extra=[], patch=full_disk, exit_code=1),
    "a checkpoint that does not fit the edited config": Case(
        ["sample", "{dir}/gan", "--out", "{dir}/s.png"],
        "checkpoint '{dir}/gan/checkpoints/step-00000002.pt' does not fit the networks built from '{dir}/gan/config.toml' (RuntimeError",
        copy_run="gan", extra=[], setup=lambda d: edit_config(d / "gan" / "config.toml", "model", "generator_widths", [8, 8])),
    "a truncated run.json": Case(["sample", "{dir}/gan", "--out", "{dir}/s.png"],
                                 "'{dir}/gan/run.json' is damaged (not the JSON ganzoo wrote)", copy_run="gan", extra=[],
                                 setup=lambda d: (d / "gan" / "run.json").write_text('{"variant": "gan", "da')),
    "sample --n beyond what a .png holds": Case(["sample", "{gan}", "--n", "1000000000", "--out", "{dir}/s.png"],
                                                "--n 1000000000 is too many for one .png (at most 4096); write them to an .npz file",
                                                extra=[]),
    "output folder that cannot be written": Case(["run", "gan", "--out", "{dir}/a-file/run"], "cannot write the run folder '{dir}/a-file/run'",
                                                 setup=lambda d: (d / "a-file").write_text("not a folder")),
    "no space left on the device": Case(["run", "gan", "--out", "{dir}/o"],
                                        "no space left on the device while writing '{dir}/o/config.toml'",
                                        patch=full_disk, exit_code=1),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_nothing_written(name, runs, tmp_path, monkeypatch):
    case = CASES[name]
    get_registry().register(ReliabilityVariants(), name="reliability-variants")
    folder = tmp_path / "case"
    folder.mkdir()
    if case.copy_run:
        shutil.copytree(runs[case.copy_run], folder / case.copy_run)
        shutil.copy(ckpt.latest_checkpoint(runs["dcgan"] / "checkpoints"), folder / "dcgan.pt")
    case.setup(folder)
    monkeypatch.chdir(folder)  # a default run folder (runs/...) would land here

    def fill(text: str) -> str:
        return text.format(dir=folder, gan=runs["gan"], dcgan=runs["dcgan"])

    before = {path: snapshot(path) for path in (folder, *runs.values())}
    if case.patch is not None:
        case.patch(monkeypatch)
    result = CliRunner().invoke(cli, [fill(a) for a in case.command()])
    monkeypatch.undo()

    assert result.exit_code == case.exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fill(case.message) in lines[0]
    assert result.stdout == ""
    assert {path: snapshot(path) for path in before} == before, "something was written"


def test_a_full_disk_mid_run_keeps_the_last_good_checkpoint_and_leaves_no_partial_file(tmp_path, monkeypatch):
    run_dir = trained(tmp_path, "gan")
    good = ckpt.latest_checkpoint(run_dir / "checkpoints")
    real_save = ckpt.save_checkpoint

    def save_on_a_full_disk(*args, **kwargs):
        full_disk(monkeypatch)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(ckpt, "save_checkpoint", save_on_a_full_disk)
    result = CliRunner().invoke(cli, ["run", "--resume", str(run_dir), "--steps", "4", "--quiet"])
    monkeypatch.undo()
    assert result.exit_code == 1  # the environment failed, not the command
    assert result.stderr.startswith(f"error: no space left on the device while writing '{run_dir / 'checkpoints'}/step-00000004.pt'")
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["latest", good.name]
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir / "checkpoints"))["step"] == 2


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_output_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = CliRunner().invoke(cli, ["run", "gan", "--out", str(locked / "run"), *tiny()])
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2
    assert f"cannot write the run folder '{locked / 'run'}'" in result.stderr
    assert not (locked / "run").exists()
