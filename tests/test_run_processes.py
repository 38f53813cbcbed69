"""Runs as real processes meet each other and the signals of job schedulers: two runs started into
one folder, runs started together without --out, a stop by SIGTERM to the whole process group with
DataLoader workers, and a restartable job killed with -9 before its first checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_crash_safety import RUN_ARGS, logged_step, wait_for_step

from ganzoo.engine import checkpoint as ckpt

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")

#: Starts the CLI with ``Trainer.build`` slowed down by $SLOW_BUILD seconds: a run reading a big image
#: folder, which passes any "is the folder new?" check long before it would write there.
SLOW_BUILD_MAIN = """
import os, sys, time
from ganzoo.engine.trainer import Trainer
build = Trainer.build
def slow_build(self, *args, **kwargs):
    time.sleep(float(os.environ.get("SLOW_BUILD", "0")))
    return build(self, *args, **kwargs)
Trainer.build = slow_build
from ganzoo.cli.main import main
sys.argv = ["ganzoo", *sys.argv[1:]]
main()
"""


def start(*args: str, slow_build: float = 0.0, cwd: Path | None = None, group: bool = False) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "SLOW_BUILD": str(slow_build)}
    return subprocess.Popen([sys.executable, "-c", SLOW_BUILD_MAIN, *args], env=env, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=group)


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # a hung run (and its workers) must not outlive the test
        os.killpg(process.pid, signal.SIGKILL) if os.getpgid(process.pid) == process.pid else process.kill()
        process.communicate()
        raise
    return process.returncode, err


def test_two_runs_into_one_folder_the_slow_one_is_refused_before_it_builds_and_names_the_holder(tmp_path):
    run_dir = tmp_path / "run"
    args = ["run", "gan", *RUN_ARGS, "--steps", "3", "--out", str(run_dir)]
    slow = start(*args, slow_build=4)  # passes any early check, then builds for 4 s
    fast = start(*args)
    (slow_code, slow_err), (fast_code, fast_err) = finish(slow), finish(fast)
    codes = sorted([slow_code, fast_code])
    assert codes == [0, 2], (slow_err, fast_err)
    winner, loser_err = (slow, fast_err) if slow_code == 0 else (fast, slow_err)
    assert f"is in use by another ganzoo process (process {winner.pid} on " in loser_err, loser_err
    assert len(loser_err.strip().splitlines()) == 1, loser_err
    # the winner's run is whole: every step logged once, its checkpoint there and loadable
    assert [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir / "checkpoints"))["step"] == 3


def test_runs_started_together_without_out_get_folders_of_their_own(tmp_path):
    processes = [start("run", "gan", *RUN_ARGS, "--steps", "2", cwd=tmp_path) for _ in range(3)]
    results = [finish(p) for p in processes]
    assert [code for code, _ in results] == [0, 0, 0], results
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 3
    for folder in folders:
        assert [json.loads(line)["step"] for line in (folder / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def image_folder(root: Path, n: int = 48) -> Path:
    """``n`` 8×8 PNGs in two classes."""
    import numpy as np
    from PIL import Image

    for i in range(n):
        folder = root / ("cats" if i % 2 else "dogs")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8, 3), i * 5, dtype=np.uint8)).save(folder / f"{i}.png")
    return root


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_to_the_process_group_with_dataloader_workers_checkpoints_and_exits_like_ctrl_c(signum, tmp_path):
    run_dir = tmp_path / "run"
    data = image_folder(tmp_path / "data")
    process = start("run", "gan", *RUN_ARGS, "--dataset", "folder", "--data-root", str(data), "--image-size", "8",
                    "--set", "data.workers=2", "--set", "checkpoint_every=100000", "--steps", "100000",
                    "--out", str(run_dir), group=True)
    wait_for_step(process, run_dir, 3)
    os.killpg(process.pid, signum)  # kill -TERM -- -PGID: the run and its DataLoader workers
    code, err = finish(process)
    assert code == {signal.SIGTERM: 143, signal.SIGINT: 130}[signum], err
    stopped = ckpt.latest_checkpoint(run_dir / "checkpoints")
    step = ckpt.checkpoint_step(stopped)
    assert err.strip().splitlines() == [
        f"error: interrupted by {signal.Signals(signum).name} at step {step}; saved {stopped}; "
        f"continue with: ganzoo run --resume {run_dir}"
    ]
    assert ckpt.load_checkpoint(stopped)["step"] == step == logged_step(run_dir)


def test_a_restartable_job_killed_before_its_first_checkpoint_starts_afresh_and_a_live_one_is_named(tmp_path):
    run_dir = tmp_path / "run"
    job = ["run", "gan", *RUN_ARGS, "--set", "checkpoint_every=100000", "--out", str(run_dir), "--resume"]
    first = start(*job, "--steps", "100000")
    wait_for_step(first, run_dir, 2)
    # started again while the first is still training: refused, naming the live process
    for again in (job, ["run", "--resume", str(run_dir)]):
        code, err = finish(start(*again, "--steps", "4"))
        assert code == 2, err
        assert f"is in use by another ganzoo process (process {first.pid} on " in err, err
        assert "delete" not in err
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert ckpt.latest_checkpoint(run_dir / "checkpoints") is None  # only its start-up files are left
    code, err = finish(start(*job, "--steps", "4"))
    assert code == 0, err
    assert [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4]
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir / "checkpoints"))["step"] == 4


def test_claims_of_one_folder_exclude_each_other_and_default_names_stay_unique(tmp_path):
    from ganzoo.engine import run_folder
    from ganzoo.errors import UserError

    held = run_folder.claim_new(tmp_path / "run")
    with pytest.raises(UserError, match=rf"is in use by another ganzoo process \(process {os.getpid()} on "):
        run_folder.claim_new(tmp_path / "run")
    first, second = run_folder.claim_default(tmp_path / "gan-x"), run_folder.claim_default(tmp_path / "gan-x")
    assert (first.path.parent.name, second.path.parent.name) == ("gan-x", "gan-x-2")
    for lock in (held, first, second):
        lock.release()
