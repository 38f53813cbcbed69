"""Plugins registered in-process (tests, notebooks) reach the API and the CLI like installed ones."""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch
from click.testing import CliRunner
from torch import nn

import ganzoo
from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.cli.main import cli
from ganzoo.engine.schedules import adam


@dataclass
class LineParams:
    latent_dim: int = 2
    lr: float = 1e-2


class LineGAN:
    """A linear generator against a small critic on ring8: a plugin object, not a module."""

    name = "inprocess-line"

    @hookimpl
    def ganzoo_variants(self):
        return [VariantSpec(self.name, "a plugin object registered in-process", Paper("T", "A", 2024, "https://example.org"),
                            "points", LineParams, "ring8")]

    @hookimpl
    def ganzoo_networks(self, variant, config):
        if variant.name == self.name:
            return {"generator": nn.Linear(config.model.latent_dim, 2),
                    "discriminator": nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1), nn.Flatten(0))}

    @hookimpl
    def ganzoo_schedule(self, variant, config, networks):
        if variant.name == self.name:
            lr = config.model.lr
            return Schedule([Player("discriminator", ("discriminator",), adam(networks, ["discriminator"], lr, (0.5, 0.9))),
                             Player("generator", ("generator",), adam(networks, ["generator"], lr, (0.5, 0.9)))])

    @hookimpl
    def ganzoo_losses(self, variant, player, ctx):
        if variant.name != self.name:
            return None
        G, D = ctx.networks["generator"], ctx.networks["discriminator"]
        fake = G(torch.randn(ctx.batch["real"].shape[0], 2))
        if player == "discriminator":
            return {"real": nn.functional.softplus(-D(ctx.batch["real"])).mean(),
                    "fake": nn.functional.softplus(D(fake.detach())).mean()}
        return {"adv": nn.functional.softplus(-D(fake)).mean()}


def listed() -> dict[str, dict]:
    result = CliRunner().invoke(cli, ["list", "--json"])
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.output)}


def test_a_registered_object_is_listed_trained_and_sampled_then_forgotten(ganzoo_registry, tmp_path):
    assert LineGAN.name not in listed()
    ganzoo_registry.register(LineGAN(), name="line-plugin")
    rows = listed()
    assert rows[LineGAN.name]["package"] == "line-plugin"  # in-process plugins are named by registration
    assert LineGAN.name in [v.name for v in ganzoo.list_variants()]

    result = ganzoo.train(LineGAN.name, steps=3, batch_size=16, device="cpu", out=tmp_path / "run")
    assert result.step == 3
    samples = ganzoo.load(result.run_dir, device="cpu").sample(5)  # through the core's default sampler
    assert samples.shape == (5, 2)

    ganzoo_registry.unregister("line-plugin")
    assert LineGAN.name not in listed()


def test_the_registry_fixture_is_the_one_the_api_and_cli_use(ganzoo_registry):
    from ganzoo.registry import get_registry

    assert get_registry() is ganzoo_registry
    assert {r.name for r in ganzoo_registry.plugin_records()} >= {"core", "gan"}
