"""Multi-process training: torchrun with gloo on CPU, two processes, as CI runs it.

Each torchrun launch starts three Python processes (the agent and two workers), so the launches
are few and the runs tiny; the sharding and resume arithmetic is tested in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ddp_toy
import pytest
import torch
from torch import nn

from ganzoo import api
from ganzoo import config as cfg
from ganzoo.data.source import LoaderSource, TensorSource
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine.distributed import Distributed, is_main_process, rank_seed
from ganzoo.engine.trainer import Trainer
from ganzoo.errors import UserError
from ganzoo.spec import DataInfo

TESTS = Path(__file__).parent
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node 2 --standalone ARGS`` (two gloo processes on this machine)."""
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env["OMP_NUM_THREADS"] = "1"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone", *args]
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"torchrun failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc


def logged_steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


# -- end to end, through torchrun -------------------------------------------------------------------


def test_gan_under_torchrun_writes_one_run_folder_that_resumes_in_one_process(tmp_path):
    proc = torchrun("-m", "ganzoo", "run", "gan", "--dataset", "ring8", "--steps", "4", "--batch-size", "16",
                    "--device", "cpu", "--quiet", "--set", "log_every=2", "--set", "sample_every=4",
                    "--set", "checkpoint_every=2", cwd=tmp_path)
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 1, runs  # rank 0 alone chose and wrote the run folder
    run = runs[0]
    assert proc.stdout.count("run folder:") == 1  # rank 0 alone printed
    assert logged_steps(run) == [2, 4]
    assert (run / "samples" / "step-4.png").is_file()
    saved = ckpt.load_checkpoint(run / "checkpoints" / ckpt.checkpoint_name(4))
    assert saved["data"]["global_batch"] == 32  # 16 per process × 2 processes
    assert all(not key.startswith("module.") for key in saved["networks"]["generator"])

    result = api.train("gan", resume=run, steps=6, quiet=True)  # one process continues the run
    assert result.step == 6
    assert logged_steps(run) == [2, 4, 6]
    resumed = ckpt.load_checkpoint(result.last_checkpoint)
    assert resumed["data"]["global_batch"] == 16
    moved = resumed["networks"]["generator"]["model.0.weight"] - saved["networks"]["generator"]["model.0.weight"]
    assert moved.abs().max() > 0


def test_wgan_gp_under_torchrun_completes_with_one_run_folder(tmp_path):
    proc = torchrun("-m", "ganzoo", "run", "wgan-gp", "--dataset", "ring8", "--steps", "2", "--batch-size", "16",
                    "--device", "cpu", "--out", "wgan", "--json", "--set", "log_every=1", "--set", "sample_every=2",
                    "--set", "checkpoint_every=2", cwd=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["wgan"]
    result = json.loads(proc.stdout)
    assert result["step"] == 2
    records = [json.loads(line) for line in (tmp_path / "wgan" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    assert all(r["critic/gp"] >= 0 and torch.isfinite(torch.tensor(r["critic/gp"])) for r in records)


@pytest.fixture(scope="module")
def toy_two_processes(tmp_path_factory) -> Path:
    """The toy variant trained by two processes with batch 8 for 3 iterations."""
    out = tmp_path_factory.mktemp("ddp-toy")
    torchrun(str(TESTS / "ddp_toy.py"), str(out), "8", "3", cwd=out)
    return out


def test_two_processes_with_batch_b_end_with_the_weights_of_one_process_with_batch_2b(toy_two_processes, tmp_path):
    registry = ddp_toy.registry_with_toy()
    config = ddp_toy.make_config(registry, batch_size=16, steps=3)
    one = Trainer(config, registry, run_dir=tmp_path / "one", quiet=True)
    one.train()
    start = Trainer(config, registry, run_dir=tmp_path / "unused", quiet=True)
    start.build()
    two = ckpt.load_checkpoint(ckpt.latest_checkpoint(toy_two_processes / "run" / "checkpoints"))
    assert two["step"] == 3
    for name, net in one.networks.items():
        for key, value in net.state_dict().items():
            torch.testing.assert_close(two["networks"][name][key], value, rtol=0, atol=1e-6)
        moved = max((p - q).abs().max().item() for p, q in zip(net.parameters(), start.networks[name].parameters(), strict=True))
        assert moved > 1e-3, f"{name} barely trained; the comparison would prove nothing"


def test_each_player_gradients_are_all_reduced_once_per_update(toy_two_processes):
    report = json.loads((toy_two_processes / "report.json").read_text())
    assert report["world_size"] == 2
    # 3 iterations; the critic (4 parameters) updates twice per iteration, the generator (4) once;
    # the generator's backward through the critic, and the critic's through the cached fakes, add nothing
    assert report["reduced"] == {"critic": 3 * 2 * 4, "generator": 3 * 4}


def test_a_parameter_without_gradient_is_named_in_a_clear_error(toy_two_processes):
    message = json.loads((toy_two_processes / "report.json").read_text())["unused_layer_error"]
    assert message is not None
    assert "player 'critic'" in message and "unused.weight, unused.bias" in message


# -- in one process -----------------------------------------------------------------------------------


def _stream(source, batch_size: int, count: int) -> list[torch.Tensor]:
    batches = source.batches(batch_size, seed=3, device=torch.device("cpu"))
    return [next(batches)["real"] for _ in range(count)]


def _points(n: int = 40) -> dict[str, torch.Tensor]:
    return {"real": torch.arange(n, dtype=torch.float32).repeat(2, 1).T.contiguous()}


@pytest.mark.parametrize("world_size", [2, 3])
def test_shards_of_a_global_batch_are_the_batch_one_process_draws(world_size):
    info = DataInfo(kind="points", shape=(2,), size=40)
    whole = _stream(TensorSource(_points(), info), 4 * world_size, 7)  # crosses epoch boundaries
    shards = []
    for rank in range(world_size):
        source = TensorSource(_points(), info)
        source.shard(rank, world_size)
        shards.append(_stream(source, 4, 7))
    for step, batch in enumerate(whole):
        torch.testing.assert_close(torch.cat([s[step] for s in shards]), batch, rtol=0, atol=0)
    assert not torch.equal(whole[0], whole[1])


def test_loader_source_shards_like_the_tensor_source():
    info = DataInfo(kind="points", shape=(2,), size=40)
    dataset = torch.utils.data.TensorDataset(_points()["real"])
    reference = _stream(TensorSource(_points(), info), 8, 6)
    shards = []
    for rank in range(2):
        source = LoaderSource(dataset, info, workers=0, keys=("real",))
        source.shard(rank, 2)
        shards.append(_stream(source, 4, 6))
    for step, batch in enumerate(reference):
        torch.testing.assert_close(torch.cat([shards[0][step], shards[1][step]]), batch, rtol=0, atol=0)


@pytest.mark.parametrize(("saved_world", "new_world", "position", "expected"), [(2, 1, 5, 10), (1, 2, 10, 5), (1, 2, 11, 5)])
def test_a_resumed_epoch_continues_at_the_same_sample_with_another_number_of_processes(saved_world, new_world, position, expected):
    info = DataInfo(kind="points", shape=(2,), size=400)
    data = {"real": torch.arange(400, dtype=torch.float32).repeat(2, 1).T.contiguous()}
    saved = TensorSource(data, info)
    saved.shard(0, saved_world)
    stream = saved.batches(4, seed=1, device=torch.device("cpu"))
    for _ in range(position):
        next(stream)
    state = saved.state_dict()
    assert state == {"epoch": 0, "position": position, "global_batch": 4 * saved_world}

    resumed = TensorSource(data, info)
    resumed.shard(0, new_world)
    resumed.load_state_dict(state)
    first = next(resumed.batches(4, seed=1, device=torch.device("cpu")))["real"]
    order = torch.randperm(400, generator=torch.Generator().manual_seed(1 * 1_000_003 + 0))
    offset = expected * 4 * new_world  # whole global batches of the new size already seen
    assert offset <= position * 4 * saved_world < offset + 4 * new_world
    torch.testing.assert_close(first[:, 0], order[offset : offset + 4].float(), rtol=0, atol=0)


def test_one_process_needs_no_process_group():
    config = cfg.RunConfig(device="cpu")
    run = Distributed.setup(config)
    assert not run.enabled and run.is_main and is_main_process()
    nets = {"generator": nn.Linear(2, 2)}
    assert run.wrap(nets, schedule=None)["generator"] is nets["generator"]
    assert run.convert_batchnorm(nets, sync=True) is nets
    run.begin_update("generator", 0)
    assert run.agreed_stop(2, 3) == 2
    assert not torch.distributed.is_initialized()


def test_ranks_draw_different_noise_at_every_step():
    seeds = {rank_seed(0, rank, step) for rank in range(1, 4) for step in range(50)}
    assert len(seeds) == 150
    assert rank_seed(0, 1, 7) == rank_seed(0, 1, 7)


def test_sync_bn_setting_turns_batchnorm_into_syncbatchnorm():
    config = api.make_config("gan", dataset="ring8", overrides={"ddp.sync_bn": "true"})
    assert config.ddp.sync_bn is True
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8))
    keys = set(net.state_dict())
    converted = Distributed(rank=0, world_size=2).convert_batchnorm({"g": net}, sync=True)["g"]
    assert isinstance(converted[1], nn.SyncBatchNorm)
    assert set(converted.state_dict()) == keys  # checkpoints load into plain BatchNorm


@pytest.mark.parametrize(
    ("sets", "device", "words"),
    [
        ({"ddp.sync_bn": "true"}, "cpu", "ddp.sync_bn needs CUDA"),
        ({"ddp.backend": "nccl"}, "cpu", "ddp.backend nccl needs CUDA"),
        ({}, "cuda:1", "each process takes the GPU of its LOCAL_RANK"),
    ],
)
def test_settings_that_cannot_run_under_torchrun_are_one_line_errors(monkeypatch, sets, device, words):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    config = api.make_config("gan", dataset="ring8", overrides=sets)
    config.device = device
    with pytest.raises(UserError, match=words):
        Distributed.setup(config)
    assert not torch.distributed.is_initialized()


def test_an_unknown_backend_is_refused():
    with pytest.raises(UserError, match="ddp.backend"):
        api.make_config("gan", dataset="ring8", overrides={"ddp.backend": "mpi"})
