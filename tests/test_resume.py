"""A run stopped at step k and resumed reaches step n bit for bit like a run that was never stopped.

Every installed variant of the zoo is checked (gan, dcgan, wgan-gp with its critic schedule, cgan,
cyclegan with its image pool and decaying learning rate): the run is interrupted by SIGINT after
step k (in the middle of a logging interval), resumed through the Python API, and its logged losses
and its final checkpoint (networks, optimisers, schedulers, state, RNG, data order) are compared
with an uninterrupted run's.
"""

from __future__ import annotations

import signal

import pytest
import torch
from reliability_helpers import (
    QUIET_RUN,
    TINY,
    SignalAfterStep,
    assert_same,
    read_metrics,
    tiny_config,
)

from ganzoo import hookimpl
from ganzoo.api import train
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine.trainer import Interrupted, Trainer
from ganzoo.errors import ExitCode
from ganzoo.registry import get_registry

STEPS, STOP = 8, 5  # stop after step 5 of 8; losses are logged every 3 steps, so at 3, 6 and 8


@pytest.mark.parametrize("variant", sorted(get_registry().variants()))  # every installed variant
def test_run_stopped_and_resumed_matches_uninterrupted_run(variant, tmp_path):
    registry = get_registry()
    config = tiny_config(variant, registry, STEPS, log_every=3)
    reference = Trainer(config, registry, run_dir=tmp_path / "reference", quiet=True).train()
    assert reference.step == STEPS

    stopper = SignalAfterStep(STOP, signal.SIGINT)
    registry.register(stopper, name="stop-after-step")
    with pytest.raises(Interrupted) as stopped:
        Trainer(tiny_config(variant, registry, STEPS, log_every=3), registry, run_dir=tmp_path / "resumed", quiet=True).train()
    registry.unregister("stop-after-step")
    assert stopped.value.exit_code == ExitCode.INTERRUPTED
    assert f"step {STOP}" in str(stopped.value) and "--resume" in str(stopped.value)
    at_stop = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "resumed" / "checkpoints"))
    assert at_stop["step"] == STOP
    assert at_stop["log"]["count"] == STOP % 3  # steps since the last logged one travel in the checkpoint

    resumed = train(variant, resume=tmp_path / "resumed", registry=registry)
    assert resumed.step == STEPS

    assert read_metrics(tmp_path / "resumed") == read_metrics(tmp_path / "reference")
    final = [ckpt.load_checkpoint(tmp_path / name / "checkpoints" / ckpt.checkpoint_name(STEPS))
             for name in ("reference", "resumed")]
    for part in ("networks", "ema", "optimizers", "schedulers", "state", "rng", "data", "log", "config"):
        assert_same(final[0][part], final[1][part], part)
    # the continued run really trained: its weights moved after the stop
    moved = [not torch.equal(at_stop["networks"][net][key], final[1]["networks"][net][key])
             for net in final[1]["networks"] for key in final[1]["networks"][net]]
    assert any(moved)

    check_variant_specifics(variant, at_stop, final[1])


class GeneratorEMA:
    """Adds an exponential moving average of the generator to any variant's schedule."""

    @hookimpl(wrapper=True)
    def ganzoo_schedule(self):
        schedule = yield
        schedule.ema["generator"] = 0.9
        return schedule


def test_ema_weights_resume_exactly(tmp_path):
    registry = get_registry()
    registry.register(GeneratorEMA(), name="generator-ema")
    Trainer(tiny_config("gan", registry, STEPS), registry, run_dir=tmp_path / "reference", quiet=True).train()
    registry.register(SignalAfterStep(STOP), name="stop-after-step")
    with pytest.raises(Interrupted):
        Trainer(tiny_config("gan", registry, STEPS), registry, run_dir=tmp_path / "resumed", quiet=True).train()
    registry.unregister("stop-after-step")
    train("gan", resume=tmp_path / "resumed", registry=registry)
    final = [ckpt.load_checkpoint(tmp_path / name / "checkpoints" / ckpt.checkpoint_name(STEPS))
             for name in ("reference", "resumed")]
    assert final[0]["ema"]["generator"]
    assert_same(final[0]["ema"], final[1]["ema"], "ema")
    ema, live = final[1]["ema"]["generator"], final[1]["networks"]["generator"]
    assert any(not torch.equal(ema[key], live[key]) for key in ema)  # an average, not a copy


def check_variant_specifics(variant, at_stop, final):
    """What makes each variant's resume hard is really in play at the stop."""
    if variant == "wgan-gp":  # the critic drew fresh batches for its extra updates of every step
        critic = next(p for p in final["optimizers"] if p != "generator")
        steps = [s["step"] for s in at_stop["optimizers"][critic]["state"].values()]
        assert steps and all(int(s) > STOP for s in steps)
    if variant == "cyclegan":
        pools = [value for value in at_stop["state"].values() if isinstance(value, torch.Tensor)]
        assert pools and all(pool.shape[0] == TINY["cyclegan"]["model.pool_size"] for pool in pools)
        lrs = [group["lr"] for opt in at_stop["optimizers"].values() for group in opt["param_groups"]]
        initial = [group["initial_lr"] for opt in at_stop["optimizers"].values() for group in opt["param_groups"]]
        assert all(lr < start for lr, start in zip(lrs, initial, strict=True))  # mid-decay at the stop
    if variant == "stylegan2":  # ADA's p has moved and the path-length mean is running at the stop
        assert at_stop["state"]["augment_p"] != TINY["stylegan2"]["model.augment_p"]
        assert float(at_stop["state"]["pl_mean"]) > 0


def test_resume_rejects_a_change_the_checkpoint_cannot_continue(tmp_path):
    registry = get_registry()
    train("gan", config=tiny_config("gan", registry, 3), out=tmp_path / "run", registry=registry)
    with pytest.raises(Exception, match="cannot change batch_size when resuming"):
        train("gan", resume=tmp_path / "run", registry=registry, steps=6, batch_size=4)
    longer = train("gan", resume=tmp_path / "run", registry=registry, steps=5, on_nan="skip")
    assert longer.step == 5


def test_resume_from_a_finished_run_with_fewer_steps_is_refused(tmp_path):
    registry = get_registry()
    train("gan", config=tiny_config("gan", registry, 3), out=tmp_path / "run", registry=registry)
    with pytest.raises(Exception, match="already at step 3"):
        train("gan", resume=tmp_path / "run", registry=registry, steps=2)


class RandomlyAugmented(torch.utils.data.Dataset):
    """Items drawn with the global RNGs, as torchvision's random crops and flips draw them."""

    def __len__(self) -> int:
        return 12

    def __getitem__(self, index: int):
        import random

        return {"real": torch.full((2,), float(index)) + torch.rand(2), "coin": torch.tensor(random.random())}


def test_a_folder_stream_is_a_function_of_seed_epoch_and_position_for_any_number_of_workers():
    from ganzoo.data.source import LoaderSource
    from ganzoo.spec import DataInfo

    def stream(workers: int, start: dict | None, n: int) -> tuple[list[dict], bool]:
        source = LoaderSource(RandomlyAugmented(), DataInfo("points", (2,)), workers=workers)
        if start is not None:
            source.load_state_dict(start)
        batches = source.batches(3, seed=7, device=torch.device("cpu"))
        fresh = torch.manual_seed(0).get_state()
        drawn = [next(batches) for _ in range(n)]
        return drawn, torch.equal(torch.get_rng_state(), fresh)

    whole, untouched = stream(0, None, 10)  # 4 batches an epoch: 2.5 epochs
    resumed, _ = stream(1, {"epoch": 1, "position": 2}, 4)  # from the 7th batch on, read by a worker
    assert_same(whole[6:], resumed, "batches")
    assert untouched, "reading data drew from the training's global RNG"


def test_cyclegan_resumes_exactly_on_an_unpaired_folder_with_random_crops_flips_and_pairs(tmp_path):
    if "cyclegan" not in get_registry().variants():
        pytest.skip("cyclegan is not installed")
    from PIL import Image

    noise = torch.Generator().manual_seed(3)
    for domain, count in (("trainA", 5), ("trainB", 4)):
        (tmp_path / "data" / domain).mkdir(parents=True)
        for i in range(count):
            pixels = torch.randint(0, 256, (24, 24, 3), generator=noise, dtype=torch.uint8).numpy()
            Image.fromarray(pixels).save(tmp_path / "data" / domain / f"{i}.png")
    registry = get_registry()
    settings = {"dataset": "unpaired-folder", "data.root": str(tmp_path / "data"), "data.workers": 0,
                "batch_size": 1, "log_every": 1}
    reference = Trainer(tiny_config("cyclegan", registry, STEPS, **settings), registry, run_dir=tmp_path / "reference", quiet=True)
    reference.train()
    registry.register(SignalAfterStep(STOP), name="stop-after-step")
    with pytest.raises(Interrupted):
        Trainer(tiny_config("cyclegan", registry, STEPS, **settings), registry, run_dir=tmp_path / "resumed", quiet=True).train()
    registry.unregister("stop-after-step")
    train("cyclegan", resume=tmp_path / "resumed", registry=registry)
    assert read_metrics(tmp_path / "resumed") == read_metrics(tmp_path / "reference")


def test_bare_resume_with_out_starts_a_run_then_continues_it(tmp_path):
    from click.testing import CliRunner

    from ganzoo.cli.main import cli

    run_dir = tmp_path / "job"
    command = ["run", "gan", "--out", str(run_dir), "--resume", "--quiet", "--set", "log_every=1"]
    for key, value in {**QUIET_RUN, **TINY["gan"]}.items():
        command += ["--set", f"{key}={value}"]
    for steps in (2, 4):  # the same job script, run twice
        result = CliRunner().invoke(cli, [*command, "--steps", str(steps)])
        assert result.exit_code == 0, result.output
    assert [record["step"] for record in read_metrics(run_dir)] == [1, 2, 3, 4]
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir / "checkpoints"))["step"] == 4


def test_resuming_into_another_folder_forks_the_run_and_never_over_an_existing_one(tmp_path):
    registry = get_registry()
    train("gan", config=tiny_config("gan", registry, 3), out=tmp_path / "a", registry=registry)
    train("gan", config=tiny_config("gan", registry, 3), out=tmp_path / "b", registry=registry)
    with pytest.raises(Exception, match="already exists"):
        train("gan", resume=tmp_path / "a", out=tmp_path / "b", registry=registry, steps=5)
    fork = train("gan", resume=tmp_path / "a", out=tmp_path / "fork", registry=registry, steps=5)
    assert fork.step == 5 and fork.last_checkpoint.parent == tmp_path / "fork" / "checkpoints"
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "a" / "checkpoints")] == ["step-00000003.pt"]
