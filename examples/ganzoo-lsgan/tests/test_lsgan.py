"""LSGAN as an installed plugin: the paper's losses, ganzoo's contract, learning, and discovery."""

from __future__ import annotations

import json
import subprocess
import sys

import ganzoo
import pytest
import torch
from ganzoo.data.toy import mixture
from ganzoo.metrics.modes import mode_coverage

from ganzoo_lsgan import LSGANParams, discriminator_loss, generator_loss
from ganzoo_lsgan.networks import ConvDiscriminator, ConvGenerator

# Small networks train fastest on one thread, and a shared CI machine is not slowed down.
torch.set_num_threads(1)


def test_losses_are_the_least_squares_of_equation_2():
    p = LSGANParams()
    assert (p.a, p.b, p.c) == (0.0, 1.0, 1.0)  # the 0-1 coding of equation 9, used in the paper's experiments
    real, fake = torch.tensor([1.0, 0.5]), torch.tensor([0.0, 2.0])
    d = discriminator_loss(real, fake, a=p.a, b=p.b)
    assert d["real"].item() == pytest.approx(0.5 * ((1 - 1) ** 2 + (0.5 - 1) ** 2) / 2)
    assert d["fake"].item() == pytest.approx(0.5 * (0**2 + 2**2) / 2)
    # equation 8 (a, b, c = -1, 1, 0): the generator is pushed towards the decision boundary c = 0
    assert generator_loss(torch.tensor([0.0, 0.0]), c=0.0)["adv"].item() == 0.0
    assert generator_loss(torch.tensor([-1.0, 1.0]), c=0.0)["adv"].item() == pytest.approx(0.5)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64)])
def test_convolutional_networks_fit_the_image_sizes_ganzoo_trains_on(shape):
    G, D = ConvGenerator(16, shape, width=8), ConvDiscriminator(shape, width=8)
    images = G(torch.randn(4, 16))
    assert images.shape == (4, *shape) and images.abs().max() <= 1
    assert D(images).shape == (4,)  # one linear score per image: no sigmoid before a least squares loss


def test_keeps_the_ganzoo_contract_on_images_and_points(ganzoo_conformance):
    ganzoo_conformance("lsgan", overrides={"model.width": 8})
    ganzoo_conformance("lsgan", dataset="ring8")


def test_learns_every_mode_of_the_ring_of_eight_gaussians(tmp_path):
    means, std = mixture("ring8")
    result = ganzoo.train("lsgan", dataset="ring8", profile="points", device="cpu", seed=0, out=tmp_path / "run")
    assert result.step == 2000
    coverage = mode_coverage(ganzoo.load(result.run_dir, device="cpu").sample(2500, seed=0), means, std)
    # before training no sample lies within 3 standard deviations of a mode (0 of 8 modes covered)
    assert coverage["modes_covered"] >= 7, coverage
    assert coverage["high_quality_pct"] >= 5.0, coverage
    assert coverage["reverse_kl"] < 1.0, coverage


def test_ganzoo_lists_the_variant_with_its_package_name():
    listed = subprocess.run([sys.executable, "-m", "ganzoo", "list", "--json"], capture_output=True, text=True,
                            check=True)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["lsgan"]["package"] == "ganzoo-lsgan"
    assert rows["lsgan"]["paper"]["year"] == 2017
