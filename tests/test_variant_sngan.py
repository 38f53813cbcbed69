"""SNGAN: the authors' CIFAR-10 ResNet networks, their training settings, the conditional projection
option, the standard CNN, and learning confident digits of every class on the embedded MNIST."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.api import make_config
from ganzoo.errors import UserError
from ganzoo.parts.layers import ConditionalBatchNorm2d, is_spectrally_normalised
from ganzoo.registry import get_registry

#: A short CPU run: the demo profile's networks and settings (28 px, blocks of 32 channels, batch 32,
#: one D step per G step, Adam at 1e-3) with a constant step, cut to 200 steps; architecture, loss and
#: order of play are the variant's own. 28 px, since at 16 px the classifier reads even real digits
#: with a confidence of only 0.66. In a trial run (seed 0, one thread) this gave a mean confidence of
#: 0.83 and all 10 digits confidently; with the step set to 1e-9 (no learning) 0.10 and no digit.
STEPS = 200
LEARNING = {"model.g_channels": "32", "model.d_channels": "32", "model.n_dis": "1",
            "model.generator_batch_ratio": "1", "model.lr": "1e-3", "model.lr_decay": "false"}
MIN_MEAN_CONFIDENCE = 0.7
MIN_CLASSES = 8


def networks(shape=(3, 32, 32), classes=0, kind="images", **sets: str):
    registry = get_registry()
    config = make_config("sngan", profile="paper", overrides=sets)
    return registry.networks(registry.variant("sngan"), config, ganzoo.DataInfo(kind, shape, classes))


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_cifar10_resnets_have_the_reference_codes_parameter_counts():
    # resnet_32.py (ch = 256, dim_z = 128) and snresnet_32.py (ch = 128, l5 without bias), counted by
    # hand: G = 528,384 + 3 × 1,246,976 + 512 + 6,915; D = 151,680 + 311,680 + 2 × 295,168 + 128
    nets = networks()
    assert count(nets["generator"]) == 4_276_739
    assert count(nets["discriminator"]) == 1_053_824


def test_only_the_discriminator_is_spectrally_normalised():
    nets = networks()
    layers = {name: [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
              for name, net in nets.items()}
    assert all(is_spectrally_normalised(m) for m in layers["discriminator"])
    assert not any(is_spectrally_normalised(m) for m in layers["generator"])


def test_schedule_is_the_codes_adam_n_dis_and_linear_decay():
    registry = get_registry()
    config = make_config("sngan", profile="paper", steps=10)
    nets = networks((1, 16, 16), **{"model.g_channels": "16", "model.d_channels": "16"})
    schedule = registry.schedule(registry.variant("sngan"), config, nets)
    assert [(p.name, p.repeats) for p in schedule.players] == [("generator", 1), ("discriminator", 5)]
    for player in schedule.players:
        group = player.optimizer.param_groups[0]
        assert group["betas"] == (0.0, 0.9) and group["lr"] == pytest.approx(2e-4 * 10 / 11)
        for _ in range(10):
            player.optimizer.step()
            player.lr_scheduler.step()
        assert player.optimizer.param_groups[0]["lr"] == 0.0  # linearly down to zero over the run


def test_conditional_uses_conditional_batchnorm_and_the_projection():
    nets = networks((1, 16, 16), 10, "labelled-images", **{"model.conditional": "true", "model.g_channels": "16",
                                                           "model.d_channels": "16"})
    G, D = nets["generator"], nets["discriminator"]
    assert sum(isinstance(m, ConditionalBatchNorm2d) for m in G.modules()) == 4
    labels = torch.tensor([1, 2])
    images = G(torch.randn(2, 128), labels)
    assert images.shape == (2, 1, 16, 16)
    assert not torch.equal(D(images, labels), D(images, torch.tensor([3, 4])))  # the class changes the score
    with pytest.raises(UserError, match="needs class labels"):
        networks((1, 16, 16), 0, **{"model.conditional": "true"})


def test_the_standard_cnn_is_table_3():
    nets = networks(**{"model.architecture": "cnn"})
    G, D = nets["generator"], nets["discriminator"]
    deconvs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in deconvs] == [
        (512, 256, (4, 4), (2, 2)), (256, 128, (4, 4), (2, 2)), (128, 64, (4, 4), (2, 2))]
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == [64, 64, 128, 128, 256, 256, 512]
    assert all(is_spectrally_normalised(m) for m in convs)
    assert G(torch.randn(2, 128)).shape == (2, 3, 32, 32) and D(torch.zeros(2, 3, 32, 32)).shape == (2,)


def test_the_resnet_starts_at_7_pixels_for_28_pixel_digits():
    nets = networks((1, 28, 28), **{"model.g_channels": "8", "model.d_channels": "8"})
    assert nets["generator"].bottom == 7 and len(nets["generator"].blocks) == 2
    assert nets["generator"](torch.randn(2, 128)).shape == (2, 1, 28, 28)
    assert networks()["generator"].bottom == 4


def test_a_size_the_resnet_cannot_make_is_a_clear_error():
    with pytest.raises(UserError, match="sngan cannot take image size 30"):
        networks((1, 30, 30))


@pytest.mark.slow
def test_sngan_learns_confident_digits_of_every_class(tmp_path):
    from ganzoo.metrics.digits import classify_digits

    result = ganzoo.train("sngan", profile="paper", steps=STEPS, batch_size=32, image_size=28, seed=0, log_every=200,
                          sample_every=STEPS, checkpoint_every=STEPS, out=tmp_path / "run", overrides=LEARNING)
    images = ganzoo.load(result.run_dir).sample(500, seed=1)
    labels, confidence = classify_digits(images)
    confident = labels[confidence > 0.9]
    print(f"sngan: mean confidence {confidence.mean():.3f}, classes {torch.bincount(confident, minlength=10).tolist()}")
    assert confidence.mean() > MIN_MEAN_CONFIDENCE
    assert len(set(confident.tolist())) >= MIN_CLASSES  # several digits, not one mode


def test_ganzoo_sample_draws_the_asked_class_of_a_conditional_run(tmp_path):
    import numpy as np
    from click.testing import CliRunner

    from ganzoo.cli.main import cli

    tiny = {"model.g_channels": "8", "model.d_channels": "8"}
    conditional, plain = tmp_path / "conditional", tmp_path / "plain"
    for out, sets in ((conditional, {**tiny, "model.conditional": "true"}), (plain, tiny)):
        ganzoo.train("sngan", profile="paper", steps=1, batch_size=4, image_size=16, out=out, sample_every=1,
                     checkpoint_every=1, overrides=sets)
    run = ganzoo.load(conditional)
    assert run.conditional and not ganzoo.load(plain).conditional
    # the class reaches the generator: the same noise drawn for two classes gives two images
    assert not torch.equal(run.sample(2, labels=torch.tensor([7, 7]), seed=3),
                           run.sample(2, labels=torch.tensor([3, 3]), seed=3))
    result = CliRunner().invoke(cli, ["sample", str(conditional), "--class", "7", "--n", "5",
                                      "--out", str(tmp_path / "s.npz")])
    assert result.exit_code == 0, result.output
    saved = np.load(tmp_path / "s.npz")
    assert saved["labels"].tolist() == [7] * 5 and saved["images"].shape == (5, 16, 16, 1)
    refused = CliRunner().invoke(cli, ["sample", str(plain), "--class", "7", "--n", "5"])
    assert refused.exit_code == 2 and "--set model.conditional=true" in refused.output
