"""The conformance kit passes a variant that keeps the contract and names what a broken one breaks.

Each broken plugin below differs from the correct toy variant by one mistake a plugin author could
make; the kit must fail it under the right check with a message that says what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl
from ganzoo.conformance import ConformanceError, check_variant, conformance_report
from ganzoo.engine.schedules import adam


@dataclass
class ToyParams:
    latent_dim: int = 2
    width: int = 32
    lr: float = 1e-3


class ToyGAN:
    """A correct 2-D variant on ring8 (non-saturating GAN with small MLPs)."""

    name = "conformance-toy"

    @hookimpl
    def ganzoo_variants(self):
        return [VariantSpec(name=self.name, summary="a correct toy variant", data_kind="points",
                            paper=Paper("Generative Adversarial Networks", "Goodfellow et al.", 2014,
                                        "https://arxiv.org/abs/1406.2661"),
                            params=ToyParams, default_dataset="ring8")]

    def build(self, p):
        G = nn.Sequential(nn.Linear(p.latent_dim, p.width), nn.ReLU(), nn.Linear(p.width, 2))
        D = nn.Sequential(nn.Linear(2, p.width), nn.ReLU(), nn.Linear(p.width, 1), nn.Flatten(0))
        return {"generator": G, "discriminator": D}

    @hookimpl
    def ganzoo_networks(self, variant, config, data):
        if variant.name != self.name:
            return None
        return self.build(config.model)

    def players(self, networks, lr):
        return [Player("discriminator", ("discriminator",), adam(networks, ["discriminator"], lr, (0.5, 0.999))),
                Player("generator", ("generator",), adam(networks, ["generator"], lr, (0.5, 0.999)))]

    @hookimpl
    def ganzoo_schedule(self, variant, config, networks):
        if variant.name != self.name:
            return None
        return Schedule(self.players(networks, config.model.lr))

    def losses(self, player, ctx):
        import torch.nn.functional as F

        G, D = ctx.networks["generator"], ctx.networks["discriminator"]
        real = ctx.batch["real"]
        if "fake" not in ctx.cache:
            ctx.cache["fake"] = G(torch.randn(real.shape[0], ctx.config.model.latent_dim))
        fake = ctx.cache["fake"]
        if player == "discriminator":
            return {"real": F.softplus(-D(real)).mean(), "fake": F.softplus(D(fake.detach())).mean()}
        return {"adv": F.softplus(-D(fake)).mean()}

    @hookimpl
    def ganzoo_losses(self, variant, player, ctx):
        if variant.name != self.name:
            return None
        return self.losses(player, ctx)

    def sample(self, networks, config, n, generator, device):
        z = torch.randn(n, config.model.latent_dim, generator=generator, device=device)
        return networks["generator"](z)

    @hookimpl
    def ganzoo_sample(self, variant, networks, config, n, generator, device):
        if variant.name != self.name:
            return None
        return self.sample(networks, config, n, generator, device)


# -- one mistake each ------------------------------------------------------------------------------


class UndatedPaper(ToyGAN):
    @hookimpl
    def ganzoo_variants(self):
        return [VariantSpec(name=self.name, summary="two\nlines", data_kind="points",
                            paper=Paper("A paper", "Someone", "2017", "arxiv 1611.04076"),  # type: ignore[arg-type]
                            params=ToyParams, default_dataset="ring-of-eight")]


class GeneratorUnderAnotherName(ToyGAN):
    def build(self, p):
        nets = super().build(p)
        return {"G": nets["generator"], "D": nets["discriminator"]}


class OptimiserOfTheWrongNetwork(ToyGAN):
    def players(self, networks, lr):
        players = super().players(networks, lr)
        players[1].optimizer = adam(networks, ["discriminator"], lr, (0.5, 0.999))
        return players


class LossAsList(ToyGAN):
    def losses(self, player, ctx):
        return list(super().losses(player, ctx).values())


class NaNLoss(ToyGAN):
    def losses(self, player, ctx):
        terms = super().losses(player, ctx)
        if player == "generator":
            terms["adv"] = terms["adv"] * float("nan")
        return terms


class DetachedGeneratorLoss(ToyGAN):
    def losses(self, player, ctx):
        terms = super().losses(player, ctx)
        return {k: v.detach() for k, v in terms.items()} if player == "generator" else terms


class RaisingLoss(ToyGAN):
    def losses(self, player, ctx):
        if player == "generator":
            raise ZeroDivisionError("the author divided by zero")
        return super().losses(player, ctx)


class GeneratorNeverLearns(ToyGAN):
    def losses(self, player, ctx):
        terms = super().losses(player, ctx)
        if player == "generator":  # a loss that does not reach the generator's parameters
            return {"adv": ctx.networks["discriminator"](ctx.batch["real"]).mean()}
        return terms


class ThreeDimensionalPoints(ToyGAN):
    def sample(self, networks, config, n, generator, device):
        return torch.cat([super().sample(networks, config, n, generator, device), torch.zeros(n, 1)], dim=1)


class GlobalRandomState(ToyGAN):
    def sample(self, networks, config, n, generator, device):
        return networks["generator"](torch.randn(n, config.model.latent_dim))


class ScaleNotInStateDict(ToyGAN):
    """The generator keeps a random tensor as a plain attribute, which checkpoints do not save."""

    def build(self, p):
        nets = super().build(p)
        nets["generator"].scale = torch.rand(1) + 0.5
        return nets

    def sample(self, networks, config, n, generator, device):
        return super().sample(networks, config, n, generator, device) * networks["generator"].scale


BROKEN = [
    (UndatedPaper, "metadata", "paper year should be the publication year as an integer"),
    (UndatedPaper, "metadata", "default_dataset 'ring-of-eight' is not registered"),
    (UndatedPaper, "metadata", "summary should be one non-empty line"),
    (GeneratorUnderAnotherName, "networks", "variant.generator is 'generator' but ganzoo_networks returned only ['D', 'G']"),
    (OptimiserOfTheWrongNetwork, "schedule", "the optimiser of player 'generator' holds parameters outside its networks"),
    (LossAsList, "losses", "should return a non-empty dict of named scalar tensors"),
    (NaNLoss, "losses", "loss term 'adv' of player 'generator' is nan"),
    (DetachedGeneratorLoss, "losses", "no loss term of player 'generator' is connected to the networks"),
    (RaisingLoss, "losses", "ZeroDivisionError: the author divided by zero (raised at tests/test_conformance.py:"),
    (GeneratorNeverLearns, "training", "left the parameters of players ['generator'] unchanged"),
    (ThreeDimensionalPoints, "sampling", "samples of shape (2,), got a tensor of shape ("),
    (GlobalRandomState, "sampling", "two draws with the same seed differ"),
    (ScaleNotInStateDict, "checkpoint", "register_buffer"),
]


def test_a_variant_that_keeps_the_contract_passes_every_check(ganzoo_registry):
    ganzoo_registry.register(ToyGAN(), name="toy")
    report = check_variant(ToyGAN.name, registry=ganzoo_registry)
    assert report.ok
    assert report.passed == ["metadata", "data", "networks", "schedule", "losses", "training", "sampling", "checkpoint"]
    assert "conformance-probe" not in str(ganzoo_registry.pm.list_name_plugin())  # the kit cleans up


@pytest.mark.parametrize(("plugin", "check", "says"), BROKEN, ids=[f"{p.__name__}-{c}" for p, c, _ in BROKEN])
def test_a_broken_plugin_fails_with_a_message_naming_the_mistake(ganzoo_registry, plugin, check, says):
    ganzoo_registry.register(plugin(), name="broken")
    with pytest.raises(ConformanceError) as caught:
        check_variant(ToyGAN.name, registry=ganzoo_registry)
    message = str(caught.value)
    assert message.startswith(f"variant {ToyGAN.name!r} (broken) breaks the ganzoo plugin contract:")
    assert f"[{check}] " in message and says in message, message
    assert caught.value.report.failed(check)
    assert isinstance(caught.value, AssertionError)  # pytest shows the list as the failure


def test_checks_after_a_failure_are_reported_as_not_reached(ganzoo_registry):
    ganzoo_registry.register(NaNLoss(), name="broken")
    report = conformance_report(ToyGAN.name, registry=ganzoo_registry)
    assert report.passed == ["metadata", "data", "networks", "schedule"]
    assert "(not reached: training, sampling, checkpoint)" in report.summary()


def test_an_unknown_variant_is_reported_with_what_is_installed(ganzoo_registry):
    report = conformance_report("no-such-gan", registry=ganzoo_registry)
    assert not report.ok
    assert "no installed plugin declares a variant named 'no-such-gan'; installed: " in report.summary()
    assert "gan" in report.summary()


def test_the_pytest_fixture_checks_in_process_plugins(ganzoo_registry, ganzoo_conformance):
    ganzoo_registry.register(ToyGAN(), name="toy")
    assert ganzoo_conformance(ToyGAN.name).ok
    ganzoo_registry.unregister("toy")
    ganzoo_registry.register(NaNLoss(), name="broken")
    with pytest.raises(ConformanceError, match=r"\[losses\] loss term 'adv' of player 'generator' is nan"):
        ganzoo_conformance(ToyGAN.name)
