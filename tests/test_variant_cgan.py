"""cGAN: the paper's conditional networks (the MLPs of section 4.1 and the conditional DCGAN),
refusal of unlabelled data, and learning (samples of class K are classified as K by the shipped
digit classifier, also through ``ganzoo sample --class``)."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner
from ganzoo_cgan.networks import Maxout
from torch import nn

import ganzoo
from ganzoo.api import make_config
from ganzoo.cli.main import cli
from ganzoo.errors import UserError
from ganzoo.registry import get_registry

#: A short CPU run (about a minute): narrow networks at 28 px.
STEPS = 2000
#: Chance is 0.1.
MIN_ACCURACY = 0.7
MIN_CLASS_ACCURACY = 0.3


def build(architecture: str, shape=(1, 28, 28), **sets: str) -> dict[str, nn.Module]:
    registry = get_registry()
    config = make_config("cgan", profile="paper", overrides={"model.architecture": architecture, **sets})
    return registry.networks(registry.variant("cgan"), config, ganzoo.DataInfo("labelled-images", shape, num_classes=10))


def test_mlp_networks_have_the_layer_sizes_of_section_4_1():
    nets = build("mlp")
    G, D = nets["generator"], nets["discriminator"]
    assert (G.z_path[0].in_features, G.z_path[0].out_features) == (100, 200)
    assert tuple(G.y_path[0].weight.shape) == (10, 1000)  # y, one-hot, → 1000 ReLU units
    assert (G.joint[0].in_features, G.joint[0].out_features, G.joint[3].out_features) == (1200, 1200, 784)
    assert isinstance(G.joint[-1], nn.Tanh)
    assert (D.x_path[0].units, D.x_path[0].pieces, D.x_path[0].linear.in_features) == (240, 5, 784)
    assert (D.y_path[0].units, D.y_path[0].pieces) == (50, 5)
    assert (D.joint[0].units, D.joint[0].pieces, D.joint[0].linear.in_features) == (240, 4, 290)
    assert D.out.in_features == 240
    dropouts = [m.p for net in (G, D) for m in net.modules() if isinstance(m, nn.Dropout)]
    assert dropouts and set(dropouts) == {0.5}
    labels = torch.tensor([0, 3, 9])
    images = G(torch.rand(3, 100), labels)
    assert images.shape == (3, 1, 28, 28) and D(images, labels).shape == (3,)


def test_conv_networks_are_dcgan_with_the_label_as_an_extra_input_of_both_players():
    nets = build("conv", shape=(3, 32, 32), **{"model.ngf": "8", "model.ndf": "8"})
    G, D = nets["generator"], nets["discriminator"]
    assert G.body.main[0].in_channels == 100 + 10  # [z, embedding(y)]
    assert D.body.main[0].in_channels == 3 + 10  # image and one-hot planes of y
    labels = torch.tensor([0, 3, 9])
    images = G(torch.rand(3, 100), labels)
    assert images.shape == (3, 3, 32, 32) and D(images, labels).shape == (3,)


@pytest.mark.parametrize("architecture", ["conv", "mlp"])
def test_the_label_changes_both_players_outputs(architecture):
    torch.manual_seed(0)
    G, D = build(architecture).values()
    G.eval(), D.eval()
    z = torch.rand(1, 100).repeat(2, 1)
    labels = torch.tensor([1, 7])
    images = G(z, labels)
    assert not torch.allclose(images[0], images[1])
    same_image = images[:1].repeat(2, 1, 1, 1)
    scores = D(same_image, labels)
    assert scores[0] != scores[1]


def test_maxout_takes_the_largest_of_its_pieces():
    layer = Maxout(2, units=1, pieces=3)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
        layer.linear.bias.zero_()
    x = torch.tensor([[2.0, 5.0], [-3.0, -1.0]])
    assert layer(x).flatten().tolist() == [5.0, 4.0]


def test_schedule_is_adam_and_the_noise_is_gaussian():
    registry = get_registry()
    config = make_config("cgan", profile="paper")
    assert config.model.noise == "normal" and config.model.architecture == "conv"
    schedule = registry.schedule(registry.variant("cgan"), config, build("conv"))
    assert [p.name for p in schedule.players] == ["discriminator", "generator"]
    for player in schedule.players:
        group = player.optimizer.param_groups[0]
        assert (group["lr"], group["betas"]) == (2e-4, (0.5, 0.999))


def test_data_without_class_labels_is_refused_with_one_clear_line(tmp_path):
    from PIL import Image

    folder = tmp_path / "flat"
    folder.mkdir()
    for i in range(4):
        Image.new("RGB", (16, 16), (i * 60, 0, 0)).save(folder / f"{i}.png")
    with pytest.raises(UserError, match="conditional but dataset 'folder' has no class labels"):
        ganzoo.train("cgan", dataset="folder", data_root=folder, steps=1, batch_size=2, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    result = CliRunner().invoke(cli, ["run", "cgan", "--dataset", "ring8", "--steps", "1", "--out", str(tmp_path / "r2")])
    assert result.exit_code == 2 and "needs labelled-images data" in result.output


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    # narrow DCGAN networks and a larger step than 2e-4 so that a CPU run of a minute learns the
    # classes; conditioning, loss and schedule are the variant's own
    out = tmp_path_factory.mktemp("cgan") / "run"
    ganzoo.train("cgan", profile="paper", steps=STEPS, batch_size=32, seed=0, log_every=250, sample_every=STEPS,
                 checkpoint_every=STEPS, out=out, overrides={"model.ngf": "16", "model.ndf": "16", "model.lr": "5e-4"})
    return out


@pytest.mark.slow
def test_cgan_samples_of_class_k_are_classified_as_k(trained_run):
    from ganzoo.metrics.digits import classify_digits

    labels = torch.arange(10).repeat_interleave(100)
    images = ganzoo.load(trained_run).sample(1000, labels=labels, seed=1)
    predicted, _ = classify_digits(images)
    hits = (predicted == labels).float()
    per_class = [round(hits[labels == k].mean().item(), 2) for k in range(10)]
    print(f"cgan: class accuracy {hits.mean():.3f}, per class {per_class}")
    assert hits.mean() > MIN_ACCURACY
    assert min(per_class) > MIN_CLASS_ACCURACY  # every class is drawn, none is left to chance


@pytest.mark.slow
def test_ganzoo_sample_class_k_draws_that_digit(trained_run, tmp_path):
    import numpy as np

    from ganzoo.metrics.digits import classify_digits

    out = tmp_path / "sevens.npz"
    result = CliRunner().invoke(cli, ["sample", str(trained_run), "--class", "7", "--n", "50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    arrays = np.load(out)
    assert arrays["labels"].tolist() == [7] * 50
    images = torch.from_numpy(arrays["images"]).permute(0, 3, 1, 2).float() / 127.5 - 1
    predicted, _ = classify_digits(images)
    assert (predicted == 7).float().mean() > MIN_CLASS_ACCURACY
    grid = tmp_path / "all.png"
    result = CliRunner().invoke(cli, ["sample", str(trained_run), "--class", "all", "--n", "30", "--out", str(grid)])
    assert result.exit_code == 0 and grid.is_file()
