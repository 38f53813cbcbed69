"""The built-in add-ons at work: DiffAugment on every discriminator call (the gradient penalty's
too) and never at sampling, spectral norm on every discriminator, and the one-line error when
wrapping changed a checkpoint's keys."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner
from reliability_helpers import QUIET_RUN, TINY
from torch.nn.utils import parametrize

from ganzoo import hookimpl
from ganzoo.api import make_config
from ganzoo.cli.main import cli
from ganzoo.engine.trainer import Trainer
from ganzoo.errors import UserError
from ganzoo.parts import augment
from ganzoo.registry import get_registry

# --------------------------------------------------------------------------------------------------
# The DiffAugment operations
# --------------------------------------------------------------------------------------------------


def test_diffaugment_is_differentiable_and_changes_every_sample():
    x = torch.rand(8, 3, 16, 16, requires_grad=True) * 2 - 1
    y = augment.diff_augment(x, "color,translation,cutout", generator=torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    (grad,) = torch.autograd.grad((y * torch.randn_like(y)).sum(), x)
    assert grad.abs().sum() > 0
    assert all(not torch.allclose(a, b) for a, b in zip(x.detach(), y.detach(), strict=True))


def test_translation_moves_the_image_and_cutout_blanks_a_square():
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 6:10, 6:10] = 1.0
    gen = torch.Generator().manual_seed(1)
    moved = augment.translation(x, 0.125, gen)
    assert torch.all(moved.sum(dim=(1, 2, 3)) == 16)  # a 2-pixel shift keeps the centred square whole
    centres = (moved[:, 0] > 0).nonzero()[:, 1:].float().view(64, 16, 2).mean(1)
    assert centres.std(0).min() > 0.5 and (centres - 7.5).abs().max() <= 2  # shifted, by at most 2 pixels
    ones = torch.ones(64, 1, 16, 16)
    cut = augment.cutout(ones, 0.5, gen)
    blanked = (cut == 0).sum(dim=(1, 2, 3))
    assert blanked.max() == 64 and blanked.min() >= 16  # an 8×8 square, sometimes cut by the border


def test_an_unknown_operation_is_one_line():
    with pytest.raises(UserError, match="unknown DiffAugment operation 'flip' in policy; use any of color, translation, cutout"):
        augment.parse_policy("color,flip")


# --------------------------------------------------------------------------------------------------
# diffaugment in a run
# --------------------------------------------------------------------------------------------------


def tiny(variant: str, addons: list[str], **sets: str):
    values = {**QUIET_RUN, **TINY[variant], **sets}
    options = {k: values.pop(k) for k in ("dataset", "image_size", "batch_size") if k in values}
    return make_config(variant, registry=get_registry(), addons=addons, overrides={k: str(v) for k, v in values.items()},
                       **options)


def test_diffaugment_reaches_every_critic_call_including_the_gradient_penalty(tmp_path, monkeypatch):
    calls = []
    original = augment.diff_augment

    def counted(x, *args, **kwargs):
        calls.append(x.requires_grad)
        return original(x, *args, **kwargs)

    monkeypatch.setattr(augment, "diff_augment", counted)
    trainer = Trainer(tiny("wgan-gp", ["diffaugment"], **{"model.n_critic": "2"}), get_registry(),
                      run_dir=tmp_path / "run", quiet=True)
    trainer.build()
    critic_calls = []
    trainer.networks["critic"].register_forward_pre_hook(lambda m, args: critic_calls.append(1), prepend=True)
    ctx = trainer.context()
    trainer.train_iteration(ctx)
    assert len(critic_calls) == 5  # 2 critic updates × (real and fake in one pass, penalty) + the generator
    assert len(calls) == len(critic_calls)
    assert any(calls)  # the penalty's interpolates (inputs that need a gradient) were augmented too
    calls.clear()
    trainer.draw(4, None, 0)
    assert calls == []  # sampling never augments


def test_diffaugment_and_spectral_norm_act_on_every_discriminator_of_cyclegan_only():
    registry = get_registry()
    config = tiny("cyclegan", ["diffaugment", "spectral-norm"])
    data = registry.dataset(config.dataset).build(config).info
    networks = registry.networks(registry.variant("cyclegan"), config, data)
    for name, net in networks.items():
        is_discriminator = name.startswith("discriminator")
        assert bool(net._forward_pre_hooks) == is_discriminator, name
        convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
        assert all(parametrize.is_parametrized(m, "weight") == is_discriminator for m in convs), name
    plain = make_config("cyclegan", registry=registry)
    for net in registry.networks(registry.variant("cyclegan"), plain, data).values():  # installed, not named
        assert not net._forward_pre_hooks and not any(parametrize.is_parametrized(m) for m in net.modules())


def test_spectral_norm_bounds_every_layer_of_the_discriminator():
    registry = get_registry()
    config = tiny("gan", ["spectral-norm"], **{"spectral-norm.n_power_iterations": "3"})
    data = registry.dataset(config.dataset).build(config).info
    networks = registry.networks(registry.variant("gan"), config, data)
    D = networks["discriminator"]
    linears = [m for m in D.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(parametrize.is_parametrized(m, "weight") for m in linears)
    with torch.no_grad():
        for m in linears:  # make the raw weights large: the normalised ones must not be
            m.parametrizations.weight.original.mul_(10)
        D.train()
        for _ in range(20):  # power iterations converge on the largest singular value
            D(torch.randn(4, *data.shape))
        D.eval()
        for m in linears:
            assert torch.linalg.matrix_norm(m.weight, ord=2) == pytest.approx(1.0, abs=0.05)
            assert torch.linalg.matrix_norm(m.parametrizations.weight.original, ord=2) > 2


# --------------------------------------------------------------------------------------------------
# Checkpoint keys changed by wrapping
# --------------------------------------------------------------------------------------------------


class AlwaysSpectralNorm:
    """A plugin that wraps gan's discriminator in every run, as docs/writing-plugins.md §4 once did."""

    @hookimpl(wrapper=True)
    def ganzoo_networks(self, variant, config, data):
        networks = yield
        if variant.name == "gan":
            from torch.nn.utils.parametrizations import spectral_norm

            for m in networks["discriminator"].modules():
                if isinstance(m, torch.nn.Linear):
                    spectral_norm(m)
        return networks


def test_keys_changed_by_a_wrapping_plugin_are_one_line_naming_it(tmp_path):
    run_dir = tmp_path / "run"
    args = ["run", "gan", "--steps", "1", "--out", str(run_dir), "--quiet"]
    for key, value in {**QUIET_RUN, **TINY["gan"]}.items():
        args += ["--set", f"{key}={value}"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    get_registry().register(AlwaysSpectralNorm(), name="always-sn")
    for command in (["sample", str(run_dir), "--out", str(tmp_path / "s.png")], ["run", "--resume", str(run_dir), "--steps", "2"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, result.output
        line = result.stderr.strip()
        assert len(line.splitlines()) == 1 and "Traceback" not in result.output
        assert "does not fit network 'discriminator' built now" in line
        assert "missing such as 'model.0.parametrizations.weight" in line and "unexpected such as 'model.0.weight'" in line
        assert line.endswith("plugin package always-sn wraps them now but did not when the run was trained: block it "
                             "with GANZOO_DISABLE_PLUGINS or uninstall it")


def test_a_run_trained_with_a_wrapping_plugin_names_it_when_it_is_gone(tmp_path):
    from ganzoo.registry import reset_registry

    run_dir = tmp_path / "run"
    args = ["run", "gan", "--steps", "1", "--out", str(run_dir), "--quiet"]
    for key, value in {**QUIET_RUN, **TINY["gan"]}.items():
        args += ["--set", f"{key}={value}"]
    get_registry().register(AlwaysSpectralNorm(), name="always-sn")
    assert CliRunner().invoke(cli, args).exit_code == 0
    reset_registry()  # the plugin is gone
    result = CliRunner().invoke(cli, ["sample", str(run_dir), "--out", str(tmp_path / "s.png")])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("the run was trained with plugin package always-sn wrapping them, which "
                                          "does not now: install and enable it again")


def test_an_augmented_penalty_input_still_takes_the_eager_path_of_a_compiled_network(monkeypatch):
    """torch.compile has no double backward: the interpolates of a gradient penalty run eagerly, also
    once DiffAugment has turned them into a non-leaf tensor (checked without compiling)."""
    from ganzoo_addons.diffaugment import DiffAugmentSettings, augment_input

    from ganzoo.engine import speed

    paths = []

    class Critic(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(64, 1)

        def forward(self, x):
            paths.append("forward")
            return self.linear(x.flatten(1))

    monkeypatch.setattr(torch, "compile", lambda fn, **kw: lambda *a, **k: paths.append("compiled") or fn(*a, **k))
    critic = Critic().train()
    speed.compile_network(critic)
    critic.register_forward_pre_hook(augment_input(DiffAugmentSettings()))
    critic(torch.randn(2, 1, 8, 8))  # a real batch: compiled
    critic(torch.randn(2, 1, 8, 8, requires_grad=True))  # a penalty's interpolates: eager
    critic(torch.randn(2, 1, 8, 8))
    assert paths == ["compiled", "forward", "forward", "compiled", "forward"]
