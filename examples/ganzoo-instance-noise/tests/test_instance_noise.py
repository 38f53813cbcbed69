"""Instance noise as an installed add-on: inactive until named, on every discriminator, annealed,
recorded in the run and honoured when it is resumed or sampled."""

from __future__ import annotations

import json
import subprocess
import sys

import ganzoo
import pytest
import torch
from ganzoo.api import make_config
from ganzoo.engine.trainer import Trainer
from ganzoo.registry import get_registry

from ganzoo_instance_noise import InstanceNoiseSettings, noise_std

torch.set_num_threads(1)

TINY = {"device": "cpu", "speed": "eager", "grid_size": 4, "sample_every": "1000", "checkpoint_every": "1000",
        "model.ngf": "4", "model.ndf": "4", "model.latent_dim": "8"}


def tiny(*addons: str, **sets: str):
    return make_config("dcgan", addons=list(addons), overrides={**TINY, **sets}, dataset="mnist", image_size=16,
                       batch_size=4, steps=2)


def test_the_noise_falls_linearly_to_zero():
    settings = InstanceNoiseSettings(std=0.2, anneal_steps=100)
    assert noise_std(settings, 0) == 0.2
    assert noise_std(settings, 50) == pytest.approx(0.1)
    assert noise_std(settings, 100) == 0.0 and noise_std(settings, 500) == 0.0
    assert noise_std(InstanceNoiseSettings(std=0.2), 10_000) == 0.2


def discriminator_inputs(config, tmp_path):
    """What the discriminator receives in one training iteration of ``config``."""
    trainer = Trainer(config, get_registry(), run_dir=tmp_path / "run", quiet=True)
    trainer.build()
    seen = []
    trainer.networks["discriminator"].register_forward_pre_hook(lambda m, args: seen.append(args[0].detach()))
    ctx = trainer.context()
    real = ctx.next_batch()["real"]
    ctx.draw_batch = lambda: {"real": real}  # the iteration trains on this one batch
    trainer.train_iteration(ctx)
    return real, seen


def test_installed_but_not_named_leaves_the_discriminator_input_alone(tmp_path):
    real, seen = discriminator_inputs(tiny(), tmp_path)
    assert torch.equal(seen[0], real)


def test_named_it_adds_noise_of_the_set_scale_to_every_discriminator_input(tmp_path):
    real, seen = discriminator_inputs(tiny("instance-noise", **{"instance-noise.std": "0.5"}), tmp_path)
    assert len(seen) == 3  # real, fake (discriminator update), fake (generator update)
    noise = seen[0] - real
    assert noise.std().item() == pytest.approx(0.5, rel=0.15)


def test_the_run_records_the_addon_and_resume_keeps_it(tmp_path):
    result = ganzoo.train("dcgan", registry=get_registry(), out=tmp_path / "run",
                          config=tiny("instance-noise", **{"instance-noise.anneal_steps": "10"}))
    text = (result.run_dir / "config.toml").read_text()
    assert "[instance-noise]\nstd = 0.1\nanneal_steps = 10" in text
    info = json.loads((result.run_dir / "run.json").read_text())
    assert info["addons"]["instance-noise"]["package"] == "ganzoo-instance-noise"
    again = ganzoo.train("dcgan", resume=result.run_dir, steps=3)
    assert again.step == 3
    assert ganzoo.load(result.run_dir).config.addons["instance-noise"].anneal_steps == 10


def test_ganzoo_lists_the_addon_with_its_package_name():
    listed = subprocess.run([sys.executable, "-m", "ganzoo", "list", "--addons", "--json"], capture_output=True,
                            text=True, check=True)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["instance-noise"]["package"] == "ganzoo-instance-noise"
    assert rows["instance-noise"]["settings"] == {"std": 0.1, "anneal_steps": 0}


def test_the_noise_anneals_with_the_training_step(tmp_path):
    config = tiny("instance-noise", **{"instance-noise.std": "0.5", "instance-noise.anneal_steps": "2"})
    trainer = Trainer(config, get_registry(), run_dir=tmp_path / "run", quiet=True)
    trainer.build()
    seen = []
    trainer.networks["discriminator"].register_forward_pre_hook(lambda m, args: seen.append(args[0].detach()))
    ctx = trainer.context()
    real = ctx.next_batch()["real"]
    ctx.draw_batch = lambda: {"real": real}
    for _ in range(3):
        trainer.train_iteration(ctx)
    stds = [(seen[i] - real).std().item() for i in (0, 3, 6)]  # the real batch of steps 0, 1, 2
    assert stds[0] == pytest.approx(0.5, rel=0.15) and stds[1] == pytest.approx(0.25, rel=0.15) and stds[2] == 0.0
