"""``--set model.loss=NAME``: the image variants whose paper's loss is a choice train with any
adversarial loss by name, default to the paper's, and ``ganzoo info`` lists the choices."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

import ganzoo
from ganzoo.api import make_config
from ganzoo.cli.main import cli
from ganzoo.errors import UserError
from ganzoo.registry import get_registry
from ganzoo.spec import StepContext

LOSS_VARIANTS = ["gan", "dcgan", "cgan"]


def hand_computed(name: str, real: torch.Tensor, fake: torch.Tensor) -> tuple[float, float]:
    if name == "hinge":
        return F.relu(1 - real).mean().item(), F.relu(1 + fake).mean().item()
    if name == "wasserstein":
        return -real.mean().item(), fake.mean().item()
    if name == "least-squares":
        return 0.5 * (real - 1).pow(2).mean().item(), 0.5 * fake.pow(2).mean().item()
    return F.softplus(-real).mean().item(), F.softplus(fake).mean().item()  # cross-entropy


@pytest.mark.parametrize("variant", LOSS_VARIANTS)
def test_the_papers_loss_is_the_default(variant):
    assert make_config(variant, profile="paper").model.loss == "non-saturating"


@pytest.mark.parametrize("variant", LOSS_VARIANTS)
@pytest.mark.parametrize("loss", ["hinge", "wasserstein", "least-squares", "non-saturating"])
def test_the_discriminators_terms_are_the_named_losses(variant, loss):
    torch.manual_seed(0)
    registry = get_registry()
    spec = registry.variant(variant)
    widths = {} if variant == "gan" else {"model.ngf": "8", "model.ndf": "8"}
    config = make_config(variant, profile="paper", overrides={"model.loss": loss, **widths})
    data = ganzoo.DataInfo("labelled-images", (1, 28, 28), num_classes=10)
    nets = registry.networks(spec, config, data)
    real, labels = torch.rand(6, 1, 28, 28) * 2 - 1, torch.arange(6) % 10
    ctx = StepContext(spec, config, nets, {"real": real, "label": labels}, step=0, device=torch.device("cpu"))
    terms = registry.hook.ganzoo_losses(variant=spec, player="discriminator", ctx=ctx)
    D, fake = nets["discriminator"], ctx.cache["fake"].detach()
    conditions = (labels,) if spec.conditional else ()
    with torch.no_grad():
        expected = hand_computed(loss, D(real, *conditions), D(fake, *conditions))
    assert (terms["real"].item(), terms["fake"].item()) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_ganzoo_run_dcgan_with_the_hinge_loss_trains(tmp_path):
    result = CliRunner().invoke(cli, ["run", "dcgan", "--set", "model.loss=hinge", "--steps", "2", "--batch-size", "8",
                                      "--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "log_every=1",
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    first = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert first["discriminator/fake"] > 0.69  # hinge's max(0, 1 + D) near 1 at the start; not BCE's log 2
    assert "model" in (tmp_path / "run" / "config.toml").read_text() and 'loss = "hinge"' in (tmp_path / "run" / "config.toml").read_text()


def test_an_unknown_loss_is_a_usage_error_before_anything_is_written(tmp_path):
    result = CliRunner().invoke(cli, ["run", "dcgan", "--set", "model.loss=hing", "--steps", "2", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "unknown adversarial loss 'hing'; did you mean: hinge?" in result.output
    assert not (tmp_path / "run").exists()
    with pytest.raises(UserError):
        make_config("cgan", overrides={"model.loss": "nope"})


def test_ganzoo_info_lists_the_loss_choices():
    result = CliRunner().invoke(cli, ["info", "dcgan", "--json"])
    info = json.loads(result.output)
    assert info["loss"] == "non-saturating"
    assert {"minimax", "non-saturating", "hinge", "wasserstein", "least-squares"} <= set(info["loss_choices"])
    text = CliRunner().invoke(cli, ["info", "gan"]).output
    assert "--set model.loss=NAME" in text and "least-squares" in text
    assert "loss_choices" not in json.loads(CliRunner().invoke(cli, ["info", "wgan-gp", "--json"]).output)
