"""Crash safety: kill -9 at any moment never leaves a checkpoint that cannot be loaded, Ctrl-C and
SIGTERM finish the step, checkpoint and exit 130/143 with the resume command, and checkpoints are
written atomically with the ``latest`` pointer and keep-last-K consistent."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from reliability_helpers import SignalAfterStep, assert_same, read_metrics

from ganzoo import hookimpl
from ganzoo.cli.main import cli
from ganzoo.engine import checkpoint as ckpt
from ganzoo.errors import UserError
from ganzoo.registry import get_registry

#: A small MLP GAN checkpointed every step: a kill often lands while a checkpoint is being written.
RUN_ARGS = [
    "--dataset", "mnist", "--batch-size", "8", "--device", "cpu", "--quiet", "--set", "speed=eager",
    "--set", "model.latent_dim=8", "--set", "model.generator_widths=32,64",
    "--set", "model.discriminator_widths=64,32", "--set", "checkpoint_every=1", "--set", "keep_checkpoints=2",
    "--set", "log_every=1", "--set", "sample_every=100000", "--set", "grid_size=4",
]


def ganzoo(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "ganzoo", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def logged_step(run_dir: Path) -> int:
    """The last step in metrics.jsonl (0 before the first; a line cut short is ignored)."""
    try:
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    except FileNotFoundError:
        return 0
    for line in reversed(lines):
        try:
            return json.loads(line)["step"]
        except ValueError:
            continue
    return 0


def wait_for_step(process: subprocess.Popen, run_dir: Path, step: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while logged_step(run_dir) < step:
        assert process.poll() is None, f"run ended early: {process.communicate()}"
        assert time.monotonic() < deadline, f"no step {step} within {timeout} s"
        time.sleep(0.02)


def assert_every_checkpoint_loads(run_dir: Path) -> None:
    folder = run_dir / "checkpoints"
    latest = ckpt.latest_checkpoint(folder)
    assert latest is not None
    for path in ckpt.list_checkpoints(folder):
        payload = ckpt.load_checkpoint(path)  # never a half-written file under a real name
        assert payload["step"] == ckpt.checkpoint_step(path)


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume_reaches_the_uninterrupted_result(tmp_path):
    steps = 60  # kills land in the first 25 steps, so the process is still running when they do
    seed = random.randrange(10**6)
    chance = random.Random(seed)
    reference = CliRunner().invoke(cli, ["run", "gan", *RUN_ARGS, "--steps", str(steps), "--out", str(tmp_path / "ref"),
                                         "--set", "checkpoint_every=1000"])  # the last step's only: same math
    assert reference.exit_code == 0, reference.output

    run_dir = tmp_path / "killed"
    command = ["run", "gan", *RUN_ARGS, "--steps", str(steps), "--out", str(run_dir), "--resume"]
    kill_after = sorted(chance.sample(range(2, 25), 2))
    for kill_step in kill_after:
        process = ganzoo(*command)
        wait_for_step(process, run_dir, kill_step)
        time.sleep(chance.uniform(0.0, 0.05))
        process.send_signal(signal.SIGKILL)
        process.communicate()
        assert process.returncode == -signal.SIGKILL, f"seed {seed}"
        assert_every_checkpoint_loads(run_dir)
    process = ganzoo(*command)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, f"seed {seed}: {err}"

    assert read_metrics(run_dir) == read_metrics(tmp_path / "ref"), f"seed {seed}"
    name = ckpt.checkpoint_name(steps)
    final = ckpt.load_checkpoint(run_dir / "checkpoints" / name)
    expected = ckpt.load_checkpoint(tmp_path / "ref" / "checkpoints" / name)
    for part in ("networks", "optimizers", "rng", "data"):
        assert_same(expected[part], final[part], part)
    assert not list((run_dir / "checkpoints").glob(".*.tmp")), "temporary files of killed writes remain"


@pytest.mark.slow
def test_ctrl_c_finishes_the_step_checkpoints_and_exits_130_with_the_resume_command(tmp_path):
    run_dir = tmp_path / "run"
    process = ganzoo("run", "gan", *RUN_ARGS, "--set", "checkpoint_every=100000", "--steps", "100000",
                     "--out", str(run_dir))
    wait_for_step(process, run_dir, 3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130
    stopped = ckpt.latest_checkpoint(run_dir / "checkpoints")
    step = ckpt.checkpoint_step(stopped)
    assert err.strip().splitlines() == [
        f"error: interrupted by SIGINT at step {step}; saved {stopped}; continue with: ganzoo run --resume {run_dir}"
    ]
    assert ckpt.load_checkpoint(stopped)["step"] == step
    assert logged_step(run_dir) == step  # the step in progress was finished, not cut short


def test_sigterm_checkpoints_and_exits_143(tmp_path):
    registry = get_registry()
    registry.register(SignalAfterStep(2, signal.SIGTERM), name="terminate")
    result = CliRunner().invoke(cli, ["run", "gan", *RUN_ARGS, "--set", "checkpoint_every=100000", "--steps", "50",
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 143
    assert "interrupted by SIGTERM at step 2" in result.output
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "run" / "checkpoints"))["step"] == 2


def test_a_write_cut_short_leaves_the_previous_checkpoint_and_no_partial_file(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    ckpt.save_checkpoint(folder, 1, {"format": 1, "variant": "gan", "w": torch.ones(3)}, keep=3)

    def interrupted_fsync(fd):  # Ctrl-C twice while the bytes are being flushed to disk
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(folder, 2, {"format": 1, "variant": "gan", "w": torch.zeros(3)}, keep=3)
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == ["latest", "step-00000001.pt"]
    assert torch.equal(ckpt.load_checkpoint(ckpt.latest_checkpoint(folder))["w"], torch.ones(3))


def test_keep_last_k_and_latest_stay_consistent_also_after_rewinding(tmp_path):
    folder = tmp_path / "checkpoints"
    for step in range(1, 6):
        ckpt.save_checkpoint(folder, step, {"format": 1, "variant": "gan", "step": step}, keep=2)
    assert [p.name for p in ckpt.list_checkpoints(folder)] == ["step-00000004.pt", "step-00000005.pt"]
    assert ckpt.latest_checkpoint(folder).name == "step-00000005.pt"
    (folder / ".step-00000006.pt.x1y2.tmp").write_bytes(b"half a checkpoint")  # left by kill -9
    # a run resumed from step 4 writes step 5 again: the newer future it abandoned goes away
    ckpt.save_checkpoint(folder, 4, {"format": 1, "variant": "gan", "step": 4}, keep=2)
    assert sorted(p.name for p in folder.iterdir()) == ["latest", "step-00000004.pt"]
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(folder))["step"] == 4


def test_a_run_folder_in_use_by_another_process_is_refused(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    run_dir = tmp_path / "run"
    runner = CliRunner()
    first = runner.invoke(cli, ["run", "gan", *RUN_ARGS, "--steps", "2", "--out", str(run_dir)])
    assert first.exit_code == 0, first.output
    with open(run_dir / ".lock", "a") as held:  # as a still-running job holds it
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        before = (run_dir / "checkpoints" / "latest").read_text()
        second = runner.invoke(cli, ["run", "--resume", str(run_dir), "--steps", "4", "--quiet"])
    assert second.exit_code == 2
    assert "is in use by another ganzoo process" in second.output
    assert (run_dir / "checkpoints" / "latest").read_text() == before


class PoisonedLoss:
    """Multiplies one player's loss terms by ``value`` (NaN, inf) at the given steps (1-based)."""

    def __init__(self, steps, player: str = "generator", value: float = float("nan")) -> None:
        self.steps, self.player, self.value = set(steps), player, value

    @hookimpl(wrapper=True)
    def ganzoo_losses(self, player, ctx):
        terms = yield
        if player == self.player and ctx.step + 1 in self.steps:
            terms = {name: term * self.value for name, term in terms.items()}
        return terms


def all_finite(payload) -> bool:
    return all(torch.isfinite(t).all() for net in payload["networks"].values() for t in net.values())


@pytest.mark.parametrize(("player", "value", "term"), [("generator", float("nan"), "generator/adv nan"),
                                                       ("discriminator", float("inf"), "discriminator/real inf")])
def test_a_nan_or_inf_loss_stops_naming_step_term_and_last_good_checkpoint_and_skip_continues(player, value, term, tmp_path):
    registry = get_registry()
    registry.register(PoisonedLoss({3}, player, value), name="poison")
    run_dir = tmp_path / "run"
    args = ["run", "gan", *RUN_ARGS, "--set", "log_every=10", "--set", "checkpoint_every=2", "--steps", "6"]
    result = CliRunner().invoke(cli, [*args, "--out", str(run_dir)])
    assert result.exit_code == 1
    good = run_dir / "checkpoints" / "step-00000002.pt"
    name, became = term.split()
    assert result.stderr.strip().splitlines() == [
        f"error: loss {name} became {became} at step 3; last good checkpoint: {good}; continue from it with "
        f"--set on_nan=skip (ganzoo run --resume {run_dir} --set on_nan=skip) or start a new run with a lower learning rate"
    ]
    # the check at the step-4 checkpoint caught it (losses are logged every 10): none holds a NaN
    assert [p.name for p in ckpt.list_checkpoints(run_dir / "checkpoints")] == [good.name]
    assert all_finite(ckpt.load_checkpoint(good))

    resumed = CliRunner().invoke(cli, ["run", "--resume", str(run_dir), "--set", "on_nan=skip", "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    assert f"loss {name} became {became} at step 3; skipped the update" in resumed.stderr
    last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 6 and last["skipped_steps"] == 1
    assert all(value == value and abs(value) != float("inf") for value in last.values())
    assert all_finite(ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir / "checkpoints")))


def test_skipping_stops_when_every_step_is_bad(tmp_path):
    from ganzoo.engine.trainer import MAX_SKIPS_IN_A_ROW

    get_registry().register(PoisonedLoss(range(100)), name="poison")
    result = CliRunner().invoke(cli, ["run", "gan", *RUN_ARGS, "--set", "on_nan=skip", "--steps", "50",
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert (f"loss generator/adv was nan for {MAX_SKIPS_IN_A_ROW} steps in a row up to step {MAX_SKIPS_IN_A_ROW} "
            "(on_nan=skip)") in result.stderr


class SignalTwiceAtStep(SignalAfterStep):
    """Sends the signal twice during step ``step``: the impatient second Ctrl-C."""

    @hookimpl(wrapper=True)
    def ganzoo_train_step(self, ctx):
        if ctx.step + 1 == self.step:
            signal.raise_signal(self.signum)
            signal.raise_signal(self.signum)
        return (yield)


def test_a_second_ctrl_c_stops_at_once_and_names_the_last_checkpoint(tmp_path):
    get_registry().register(SignalTwiceAtStep(3), name="impatient")
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", "gan", *RUN_ARGS, "--set", "checkpoint_every=2", "--steps", "50",
                                      "--out", str(run_dir)])
    assert result.exit_code == 130
    last = run_dir / "checkpoints" / "step-00000002.pt"
    assert result.stderr.strip().splitlines() == [
        f"error: stopped at once by a second signal during step 3; last good checkpoint: {last}; "
        f"continue with: ganzoo run --resume {run_dir}"
    ]
    assert [p.name for p in ckpt.list_checkpoints(run_dir / "checkpoints")] == [last.name]


@pytest.mark.parametrize("pointer", ["absolute", "../../other/checkpoints/step-00000003.pt", b"\xff\xfe\x00",
                                     ".", "a-folder", "folder"])
def test_a_latest_pointer_is_followed_only_inside_checkpoints_else_the_newest_file_with_a_warning(pointer, tmp_path, capsys):
    other = tmp_path / "other" / "checkpoints"
    for step in (2, 3):
        ckpt.save_checkpoint(other, step, {"format": 1, "variant": "gan", "step": step}, keep=3)
    folder = tmp_path / "run" / "checkpoints"
    for step in (1, 2):
        ckpt.save_checkpoint(folder, step, {"format": 1, "variant": "gan", "step": step}, keep=3)
    (folder / "a-folder").mkdir()
    latest = folder / "latest"
    if pointer == "folder":
        latest.unlink()
        latest.mkdir()
    elif isinstance(pointer, bytes):
        latest.write_bytes(pointer)
    else:
        latest.write_text(str(other / "step-00000003.pt") if pointer == "absolute" else pointer)
    assert ckpt.latest_checkpoint(folder) == folder / "step-00000002.pt"
    warning = capsys.readouterr().err
    assert f"ganzoo: warning: ignored '{latest}': " in warning and "using step-00000002.pt, the newest checkpoint" in warning


def test_resuming_never_rewinds_to_another_runs_checkpoint_named_by_latest(tmp_path):
    runner = CliRunner()
    for name, steps in (("run", "2"), ("other", "3")):
        result = runner.invoke(cli, ["run", "gan", *RUN_ARGS, "--steps", steps, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    (tmp_path / "run" / "checkpoints" / "latest").write_text(str(tmp_path / "other" / "checkpoints" / "step-00000003.pt"))
    resumed = runner.invoke(cli, ["run", "--resume", str(tmp_path / "run"), "--steps", "4", "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    assert "ganzoo: warning: ignored" in resumed.stderr
    assert [record["step"] for record in read_metrics(tmp_path / "run")] == [1, 2, 3, 4]


class HugeLoggedTerms:
    """Multiplies the logged terms (not the gradients) by ``factor``: finite losses near float32's
    limit, which a sum over ``log_every`` steps in float32 would overflow."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    @hookimpl(wrapper=True)
    def ganzoo_train_step(self, ctx):
        terms = yield
        return {name: term * self.factor for name, term in terms.items()}


@pytest.mark.parametrize("log_every", ["1", "8"])
def test_finite_losses_near_the_float32_limit_never_count_as_divergence_whatever_log_every(log_every, tmp_path):
    get_registry().register(HugeLoggedTerms(1e38), name="huge")
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", "gan", *RUN_ARGS, "--set", f"log_every={log_every}", "--steps", "8",
                                      "--out", str(run_dir)])
    assert result.exit_code == 0, result.output
    last = read_metrics(run_dir)[-1]
    assert last["step"] == 8 and all(1e36 < abs(last[key]) < float("inf") for key in last if "/adv" in key)


def test_divergence_before_the_first_checkpoint_gives_advice_that_works(tmp_path):
    registry = get_registry()
    registry.register(PoisonedLoss({2}), name="poison")
    run_dir = tmp_path / "run"
    args = ["run", "gan", *RUN_ARGS, "--set", "log_every=10", "--set", "checkpoint_every=100", "--steps", "4",
            "--out", str(run_dir)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: loss generator/adv became nan at step 2; no checkpoint was written yet; run the same command again "
        f"with --out {run_dir} --resume (it starts afresh there) and --set on_nan=skip (skips such updates) or a "
        "lower learning rate"
    ]
    again = CliRunner().invoke(cli, [*args, "--resume", "--set", "on_nan=skip"])
    assert again.exit_code == 0, again.output
    assert read_metrics(run_dir)[-1]["step"] == 4


def test_a_folder_another_run_is_claiming_right_now_is_not_mistaken_for_a_stopped_run(tmp_path):
    """The window of a claim under way (its temporary lock file made, not yet linked to .lock): the
    quick check leaves the folder to the atomic claim, which then names the process that won."""
    from ganzoo.engine import run_folder
    from ganzoo.engine.trainer import check_new_run_dir

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / ".lock.abc123.tmp").write_text("")  # another process mid-claim
    check_new_run_dir(run_dir)  # not refused as "a run that stopped before its first checkpoint"
    winner = run_folder.claim_new(run_dir)  # the other process completes its claim
    try:
        (run_dir / "config.toml").write_text("")
        with pytest.raises(UserError, match="is in use by another ganzoo process"):
            check_new_run_dir(run_dir)
        with pytest.raises(UserError, match="is in use by another ganzoo process"):
            run_folder.claim_new(run_dir)
    finally:
        winner.release()
