"""The EMA: BigGAN's start step, StyleGAN2's half-life in images with ramp-up, the buffer policy,
its record in the checkpoint, and ``ganzoo sample --weights ema|raw``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from reliability_helpers import QUIET_RUN, TINY
from torch import nn

from ganzoo import hookimpl
from ganzoo.api import load
from ganzoo.cli.main import cli
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine import ema
from ganzoo.errors import UserError
from ganzoo.registry import get_registry


def test_biggan_decay_copies_the_weights_until_the_start_step():
    rule = ema.EMASettings(decay=0.9999, start_step=1000)
    assert ema.decay_at(rule, 0, 64) == 0.0 and ema.decay_at(rule, 999, 64) == 0.0
    assert ema.decay_at(rule, 1000, 64) == 0.9999


def test_stylegan2_half_life_in_images_with_ramp_up():
    rule = ema.EMASettings(half_life_kimg=10, rampup=0.05)
    batch = 32
    assert ema.decay_at(rule, 0, batch) == 0.0  # nothing seen yet: the average is the weights
    # after 100 steps 3,200 images were seen: the half-life is 5 % of them, 160 images
    assert ema.decay_at(rule, 100, batch) == pytest.approx(0.5 ** (32 / 160))
    # later the ramp-up no longer binds: the half-life is 10,000 images
    assert ema.decay_at(rule, 100_000, batch) == pytest.approx(0.5 ** (32 / 10_000))
    no_ramp = ema.EMASettings(half_life_kimg=10)
    assert ema.decay_at(no_ramp, 0, batch) == pytest.approx(0.5 ** (32 / 10_000))
    # after one half-life of images (100 steps of 100) the old average weighs one half
    assert ema.decay_at(no_ramp, 1, 100) ** 100 == pytest.approx(0.5)


def test_the_start_step_leaves_no_weight_on_the_initial_weights():
    torch.manual_seed(0)
    net = nn.Linear(3, 3)
    averages = ema.make_copies({"g": net}, {"g": None})
    rules = {"g": ema.EMASettings(decay=0.99, start_step=5)}
    for step in range(5):
        with torch.no_grad():
            net.weight.add_(1.0)
        ema.update(averages, {"g": net}, rules, step, 8)
    assert torch.equal(averages["g"].weight, net.weight)
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update(averages, {"g": net}, rules, 5, 8)
    assert torch.allclose(averages["g"].weight, net.weight - 0.99)


@pytest.mark.parametrize("policy", ["copy", "average"])
def test_batchnorm_buffers_are_copied_or_averaged_as_documented(policy):
    net = nn.BatchNorm1d(2)
    averages = ema.make_copies({"g": net}, {"g": None})
    net.running_mean.fill_(1.0)
    net.num_batches_tracked.fill_(7)
    ema.update(averages, {"g": net}, {"g": ema.EMASettings(decay=0.75, buffers=policy)}, 3, 8)
    expected = 1.0 if policy == "copy" else 0.25
    assert torch.allclose(averages["g"].running_mean, torch.full((2,), expected))
    assert int(averages["g"].num_batches_tracked) == 7  # integer buffers are always copied


def test_bad_ema_settings_are_one_line_errors():
    with pytest.raises(UserError, match="bad EMA decay 1.5 for generator"):
        ema.as_settings(ema.EMASettings(decay=1.5), "generator")
    with pytest.raises(UserError, match="start_step, half_life_kimg and rampup must be 0 or more"):
        ema.as_settings(ema.EMASettings(start_step=-1))
    assert ema.as_settings(0.999).decay == 0.999  # a constant decay, as Schedule.ema always took


class OwnEMA:
    """A variant that keeps an EMA by default puts EMASettings into its schedule (as BigGAN would)."""

    @hookimpl(wrapper=True)
    def ganzoo_schedule(self, variant, config, networks):
        schedule = yield
        schedule.ema["generator"] = ema.EMASettings(decay=0.5, start_step=1, buffers="average")
        return schedule


def ganzoo(*args: str):
    return CliRunner().invoke(cli, list(args))


def run_args(run_dir, *extra: str) -> list[str]:
    args = ["run", "gan", "--steps", "3", "--out", str(run_dir), "--quiet", *extra]
    for key, value in {**QUIET_RUN, **TINY["gan"]}.items():
        args += ["--set", f"{key}={value}"]
    return args


def test_a_schedules_own_ema_settings_are_kept_in_the_checkpoint(tmp_path):
    get_registry().register(OwnEMA(), name="own-ema")
    result = ganzoo(*run_args(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    payload = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "run" / "checkpoints"))
    assert payload["ema_settings"] == {"generator": {"decay": 0.5, "start_step": 1, "half_life_kimg": 0.0,
                                                      "rampup": 0.0, "buffers": "average"}}
    assert set(payload["ema"]) == {"generator"}


def test_sample_weights_ema_or_raw(tmp_path):
    run_dir = tmp_path / "run"
    assert ganzoo(*run_args(run_dir, "--with", "ema", "--set", "ema.decay=0.9")).exit_code == 0
    run = load(run_dir)
    assert run.weights == "ema" and set(run.ema_networks) == {"generator"}
    assert run.networks["generator"] is run.ema_networks["generator"]
    assert load(run_dir, weights="raw").networks["generator"] is not None
    raw_w = run.raw_networks["generator"].state_dict()
    ema_w = run.ema_networks["generator"].state_dict()
    assert any(not torch.equal(raw_w[k], ema_w[k]) for k in raw_w)
    arrays = {}
    for weights in ("ema", "raw"):
        out = tmp_path / f"{weights}.npz"
        result = ganzoo("sample", str(run_dir), "--n", "6", "--weights", weights, "--out", str(out))
        assert result.exit_code == 0, result.output
        arrays[weights] = np.load(out)["images"]
    default = tmp_path / "default.npz"
    assert ganzoo("sample", str(run_dir), "--n", "6", "--out", str(default)).exit_code == 0
    assert np.array_equal(np.load(default)["images"], arrays["ema"])
    assert not np.array_equal(arrays["ema"], arrays["raw"])


def test_weights_ema_on_a_run_without_an_average_is_one_line(tmp_path):
    run_dir = tmp_path / "run"
    assert ganzoo(*run_args(run_dir)).exit_code == 0
    result = ganzoo("sample", str(run_dir), "--weights", "ema", "--out", str(tmp_path / "s.png"))
    assert result.exit_code == 2 and "kept no EMA of its weights; use --weights raw" in result.stderr


def test_a_ramped_up_average_resumes_exactly(tmp_path):
    """StyleGAN2's ramp-up makes the decay depend on the step: a resumed run must pick it up where
    the stopped one was, to the bit (CPU)."""
    from reliability_helpers import SignalAfterStep, assert_same

    from ganzoo.api import make_config, train
    from ganzoo.engine.trainer import Interrupted, Trainer

    registry = get_registry()

    def config():
        values = {**QUIET_RUN, **TINY["gan"], "ema.half_life_kimg": 0.05, "ema.rampup": 0.5}
        options = {k: values.pop(k) for k in ("dataset", "batch_size")}
        return make_config("gan", registry=registry, addons=["ema"], steps=6,
                           overrides={k: str(v) for k, v in values.items()}, **options)

    Trainer(config(), registry, run_dir=tmp_path / "reference", quiet=True).train()
    registry.register(SignalAfterStep(3), name="stop-after-step")
    with pytest.raises(Interrupted):
        Trainer(config(), registry, run_dir=tmp_path / "resumed", quiet=True).train()
    registry.unregister("stop-after-step")
    train("gan", resume=tmp_path / "resumed", registry=registry)
    final = [ckpt.load_checkpoint(tmp_path / name / "checkpoints" / ckpt.checkpoint_name(6))
             for name in ("reference", "resumed")]
    assert_same(final[0]["ema"], final[1]["ema"], "ema")
    assert final[1]["ema_settings"]["generator"]["rampup"] == 0.5
