"""DCGAN: exactly the PyTorch example's networks at 64×64, the same character at 32 and 28 px, the
example's training recipe, and learning (confident digits of every class on the embedded MNIST)."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from torch import nn

import ganzoo
from ganzoo.api import make_config
from ganzoo.cli.main import cli
from ganzoo.errors import UserError
from ganzoo.registry import get_registry

#: pytorch/examples dcgan/main.py with nc = 3, nz = 100, ngf = ndf = 64.
REFERENCE_GENERATOR = [
    (nn.ConvTranspose2d, (100, 512, 4, 1, 0)), (nn.BatchNorm2d, 512), nn.ReLU,
    (nn.ConvTranspose2d, (512, 256, 4, 2, 1)), (nn.BatchNorm2d, 256), nn.ReLU,
    (nn.ConvTranspose2d, (256, 128, 4, 2, 1)), (nn.BatchNorm2d, 128), nn.ReLU,
    (nn.ConvTranspose2d, (128, 64, 4, 2, 1)), (nn.BatchNorm2d, 64), nn.ReLU,
    (nn.ConvTranspose2d, (64, 3, 4, 2, 1)), nn.Tanh,
]
REFERENCE_DISCRIMINATOR = [
    (nn.Conv2d, (3, 64, 4, 2, 1)), nn.LeakyReLU,
    (nn.Conv2d, (64, 128, 4, 2, 1)), (nn.BatchNorm2d, 128), nn.LeakyReLU,
    (nn.Conv2d, (128, 256, 4, 2, 1)), (nn.BatchNorm2d, 256), nn.LeakyReLU,
    (nn.Conv2d, (256, 512, 4, 2, 1)), (nn.BatchNorm2d, 512), nn.LeakyReLU,
    (nn.Conv2d, (512, 1, 4, 1, 0)),  # the example's Sigmoid is applied by the loss
]

#: A short CPU run (about half a minute): narrow networks at 32 px.
STEPS = 1200
#: Random images score about 0.1; the shipped classifier gives real digits 0.99.
MIN_MEAN_CONFIDENCE = 0.65


def describe(module: nn.Module) -> list:
    out = []
    for layer in module.main:
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            assert layer.bias is None
            out.append((type(layer), (layer.in_channels, layer.out_channels, layer.kernel_size[0], layer.stride[0], layer.padding[0])))
        elif isinstance(layer, nn.BatchNorm2d):
            out.append((nn.BatchNorm2d, layer.num_features))
        else:
            if isinstance(layer, nn.LeakyReLU):
                assert layer.negative_slope == 0.2
            out.append(type(layer))
    return out


def networks(image_size: int, channels: int, **sets: str) -> dict[str, nn.Module]:
    registry = get_registry()
    config = make_config("dcgan", profile="paper", overrides=sets)
    return registry.networks(registry.variant("dcgan"), config, ganzoo.DataInfo("images", (channels, image_size, image_size)))


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_at_64px_rgb_the_networks_are_the_pytorch_example_layer_for_layer():
    nets = networks(64, 3)
    assert describe(nets["generator"]) == REFERENCE_GENERATOR
    assert describe(nets["discriminator"]) == REFERENCE_DISCRIMINATOR
    assert count(nets["generator"]) == 3_576_704
    assert count(nets["discriminator"]) == 2_765_568


def test_ganzoo_info_reports_the_reference_parameter_counts():
    result = CliRunner().invoke(cli, ["info", "dcgan", "--image-size", "64", "--set", "data.channels=3", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["sample_shape"] == [3, 64, 64]
    assert info["networks"]["generator"]["parameters"] == 3_576_704
    assert info["networks"]["discriminator"]["parameters"] == 2_765_568


@pytest.mark.parametrize(("size", "channels", "base", "upsamplings"), [(32, 3, 4, 3), (28, 1, 7, 2), (64, 1, 4, 4), (128, 3, 4, 5)])
def test_other_sizes_keep_the_architecture_and_map_noise_to_images(size, channels, base, upsamplings):
    nets = networks(size, channels, **{"model.ngf": "8", "model.ndf": "8"})
    G, D = nets["generator"], nets["discriminator"]
    first, *_ = [m for m in G.main if isinstance(m, nn.ConvTranspose2d)]
    assert first.kernel_size == (base, base) and first.stride == (1, 1)
    strided = [m for m in G.main if isinstance(m, nn.ConvTranspose2d) and m.stride == (2, 2)]
    assert len(strided) == upsamplings and all(m.kernel_size == (4, 4) for m in strided)
    assert [m.out_channels for m in strided][-2:] == [8, channels]  # the finest hidden layer has ngf channels
    assert sum(isinstance(m, nn.BatchNorm2d) for m in D.main) == upsamplings - 1  # none after the first conv
    images = G(torch.randn(3, 100))
    assert images.shape == (3, channels, size, size) and images.abs().max() <= 1
    assert D(images).shape == (3,)


def test_weights_start_from_the_papers_normal_distribution():
    G = networks(64, 3)["generator"]
    conv = G.main[3].weight
    assert abs(conv.mean().item()) < 1e-3 and conv.std().item() == pytest.approx(0.02, rel=0.02)
    batchnorm = G.main[1]
    assert batchnorm.weight.mean().item() == pytest.approx(1.0, abs=0.01) and torch.all(batchnorm.bias == 0)


def test_a_size_the_architecture_cannot_take_is_a_clear_error():
    with pytest.raises(UserError, match="dcgan cannot take image size 30"):
        networks(30, 1)
    result = CliRunner().invoke(cli, ["info", "dcgan", "--image-size", "12"])
    assert result.exit_code == 2 and "image size 12" in result.output


def test_schedule_is_the_examples_adam_and_losses_are_named():
    registry = get_registry()
    config = make_config("dcgan", profile="paper")
    nets = networks(28, 1)
    schedule = registry.schedule(registry.variant("dcgan"), config, nets)
    assert [p.name for p in schedule.players] == ["discriminator", "generator"]
    for player in schedule.players:
        group = player.optimizer.param_groups[0]
        assert (group["lr"], group["betas"]) == (2e-4, (0.5, 0.999))
    assert all(player.lr_scheduler is None for player in schedule.players)  # the paper's constant step


def test_lr_decay_keeps_the_step_then_falls_linearly_to_zero():
    registry = get_registry()
    config = make_config("dcgan", profile="paper", steps=100, overrides={"model.lr_decay": "0.5"})
    schedule = registry.schedule(registry.variant("dcgan"), config, networks(28, 1))
    for player in schedule.players:
        rates = []
        for _ in range(config.steps):
            rates.append(player.optimizer.param_groups[0]["lr"])
            player.optimizer.step()
            player.lr_scheduler.step()
        assert rates[:50] == [2e-4] * 50
        assert all(a > b for a, b in zip(rates[49:-1], rates[50:], strict=True))
        assert 0 < rates[-1] < 1e-5
    with pytest.raises(UserError, match="model.lr_decay"):
        make_config("dcgan", overrides={"model.lr_decay": "1.5"})


@pytest.mark.slow
def test_dcgan_learns_confident_digits_of_every_class(tmp_path):
    from ganzoo.metrics.digits import classify_digits

    # narrow networks at 32 px and a larger step than the paper's 2e-4, so that a CPU run of a
    # minute learns; architecture, loss and schedule are the variant's own
    result = ganzoo.train("dcgan", profile="paper", steps=STEPS, batch_size=32, image_size=32, seed=0, log_every=250,
                          sample_every=STEPS, checkpoint_every=STEPS, out=tmp_path / "run",
                          overrides={"model.ngf": "16", "model.ndf": "16", "model.lr": "5e-4"})
    images = ganzoo.load(result.run_dir).sample(1000, seed=1)
    assert images.shape == (1000, 1, 32, 32)
    labels, confidence = classify_digits(images)
    confident = labels[confidence > 0.9]
    print(f"dcgan: mean confidence {confidence.mean():.3f}, {len(confident) / 10:.1f}% above 0.9, "
          f"classes {torch.bincount(confident, minlength=10).tolist()}")
    assert confidence.mean() > MIN_MEAN_CONFIDENCE
    assert set(confident.tolist()) == set(range(10))  # every digit, not one mode


def test_data_channels_turns_the_grey_digits_into_rgb_and_back():
    from ganzoo.data.mnist import convert_channels

    grey = torch.tensor([[[[0, 128], [255, 30]]]], dtype=torch.uint8)
    rgb = convert_channels(grey, 3)
    assert rgb.shape == (1, 3, 2, 2) and all(torch.equal(rgb[:, c : c + 1], grey) for c in range(3))
    assert torch.equal(convert_channels(rgb, 1), grey)  # luma of a grey pixel is itself
    red = torch.tensor([255, 0, 0], dtype=torch.uint8).view(1, 3, 1, 1)
    assert convert_channels(red, 1).item() == 76  # 0.299 · 255, ITU-R 601 as PIL's convert("L")
    assert convert_channels(grey, 0) is grey
    with pytest.raises(UserError, match="data.channels"):
        convert_channels(grey, 2)
