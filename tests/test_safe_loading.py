"""Safe loading: a checkpoint that would run code when unpickled is refused and its code never runs;
truncated or corrupted files are one clear line; a plugin's state that safe loading could not read
back is refused when saving; plugin versions are checked on resume and sampling."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from reliability_helpers import QUIET_RUN, TINY

from ganzoo import hookimpl
from ganzoo.cli.main import cli
from ganzoo.engine import checkpoint as ckpt
from ganzoo.errors import PluginError, UserError
from ganzoo.registry import get_registry


class RunsCode:
    """Unpickling this writes ``marker``: what a malicious checkpoint from the internet would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",))


def gan_run(tmp_path: Path, steps: int = 2) -> Path:
    """A tiny trained gan run folder (through the CLI, as a user makes one)."""
    run_dir = tmp_path / "run"
    args = ["run", "gan", "--steps", str(steps), "--out", str(run_dir), "--quiet"]
    for key, value in {**QUIET_RUN, **TINY["gan"]}.items():
        args += ["--set", f"{key}={value}"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return run_dir


def ganzoo(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("container", ["torch.save", "plain pickle"])
def test_a_checkpoint_that_runs_code_when_unpickled_is_refused_and_its_code_never_runs(container, tmp_path):
    run_dir = gan_run(tmp_path)
    marker = tmp_path / "marker"
    evil = run_dir / "checkpoints" / "step-00000009.pt"
    payload = {"format": 1, "variant": "gan", "step": 9, "networks": RunsCode(marker)}
    if container == "torch.save":
        torch.save(payload, evil)
    else:
        evil.write_bytes(pickle.dumps(payload))
    with pytest.raises(UserError, match="refused by safe loading|not a ganzoo checkpoint"):
        ckpt.load_checkpoint(evil)
    (run_dir / "checkpoints" / "latest").write_text(evil.name)  # the file a resume or sample picks up
    for args in (["sample", str(run_dir), "--out", str(tmp_path / "s.png")], ["run", "--resume", str(run_dir), "--steps", "12"]):
        result = ganzoo(*args)
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1
        assert str(evil) in result.stderr
    assert not marker.exists(), "the checkpoint's code ran"
    assert not (tmp_path / "s.png").exists()
    # the file really is armed: an unsafe load runs its code
    if container == "torch.save":
        torch.load(evil, weights_only=False)
    else:
        pickle.loads(evil.read_bytes())
    assert marker.read_text() == "code ran"


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.99])
def test_a_truncated_checkpoint_is_a_clear_error(keep, tmp_path):
    run_dir = gan_run(tmp_path)
    path = ckpt.latest_checkpoint(run_dir / "checkpoints")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    result = ganzoo("run", "--resume", str(run_dir), "--steps", "4", "--quiet")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: checkpoint {str(path)!r} is truncated or corrupted; resume from an earlier checkpoint of the "
        "run (delete this file, or point 'latest' at another)"
    )


def test_flipped_bytes_inside_the_weights_are_detected(tmp_path):
    run_dir = gan_run(tmp_path)
    path = ckpt.latest_checkpoint(run_dir / "checkpoints")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a bit rot in the middle of a weight tensor: torch.load alone loads it
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="is truncated or corrupted"):
        ckpt.load_checkpoint(path)


class KeepsAnObjectInState:
    """A plugin that puts an object safe loading could not read back into the run's state."""

    @hookimpl(wrapper=True)
    def ganzoo_train_step(self, ctx):
        ctx.state["thing"] = {"made_by": Path("somewhere")}
        return (yield)


def test_state_that_safe_loading_could_not_read_is_refused_when_saving(tmp_path):
    from reliability_helpers import tiny_config

    from ganzoo.engine.trainer import Trainer

    registry = get_registry()
    registry.register(KeepsAnObjectInState(), name="keeps-object")
    with pytest.raises(PluginError, match=r"cannot checkpoint checkpoint\['state'\]\['thing'\]\['made_by'\]"):
        Trainer(tiny_config("gan", registry, 2), registry, run_dir=tmp_path / "run", quiet=True).train()
    assert not list((tmp_path / "run" / "checkpoints").glob("*"))  # nothing unloadable was written


def test_another_plugin_version_warns_on_resume_and_sampling(tmp_path):
    run_dir = gan_run(tmp_path)
    path = ckpt.latest_checkpoint(run_dir / "checkpoints")
    payload = ckpt.load_checkpoint(path)
    package = payload["package"]
    installed = payload["plugins"][package]
    payload["plugins"][package] = "0.0.1"
    ckpt.save_checkpoint(path.parent, payload["step"], payload, keep=3)
    warning = f"run was trained with {package} 0.0.1, now {installed} is installed"
    for args in (["sample", str(run_dir), "--n", "4", "--out", str(tmp_path / "s.png")],
                 ["run", "--resume", str(run_dir), "--steps", "3", "--quiet"]):
        result = ganzoo(*args)
        assert result.exit_code == 0, result.output
        assert warning in result.stderr


def test_a_missing_plugin_is_an_error_naming_the_package_to_install(tmp_path):
    run_dir = gan_run(tmp_path)
    info = json.loads((run_dir / "run.json").read_text())
    info.update(variant="stylegan9", package="ganzoo-stylegan9")
    (run_dir / "run.json").write_text(json.dumps(info))
    result = ganzoo("run", "--resume", str(run_dir), "--steps", "3")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: run {str(run_dir)!r} needs variant 'stylegan9' from package 'ganzoo-stylegan9', which is not "
        "installed; install it (pip install ganzoo-stylegan9) and try again"
    )
    result = ganzoo("sample", str(run_dir), "--out", str(tmp_path / "s.png"))
    assert result.exit_code == 2 and "ganzoo-stylegan9" in result.stderr
