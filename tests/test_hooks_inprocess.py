"""Each hook, exercised by a plugin object registered in-process (as a notebook or a test would)."""

from __future__ import annotations

import json

import torch

import ganzoo
from ganzoo import DatasetSpec, MetricSpec, hookimpl
from ganzoo.registry import Registry


def train_ring(registry, tmp_path, steps=4, **options):
    return ganzoo.train("gan", registry=registry, dataset="ring8", steps=steps, log_every=1,
                        batch_size=32, out=tmp_path / "run", **options)


def test_ganzoo_networks_wrapper_replaces_one_network_without_forking(tmp_path):
    class SpectralNormDiscriminator:
        @hookimpl(wrapper=True)
        def ganzoo_networks(self, variant):
            networks = yield
            if variant.name == "gan":
                networks["discriminator"] = torch.nn.Sequential(
                    torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(2, 16)),
                    torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 1), torch.nn.Flatten(0))
            return networks

    registry = Registry()
    registry.register(SpectralNormDiscriminator(), name="sn")
    result = train_ring(registry, tmp_path)
    run = ganzoo.load(result.run_dir, registry=registry)
    assert isinstance(run.networks["discriminator"], torch.nn.Sequential)


def test_ganzoo_train_step_wrapper_sees_every_iteration_and_its_losses(tmp_path):
    seen = []

    class Counter:
        @hookimpl(wrapper=True)
        def ganzoo_train_step(self, ctx):
            losses = yield
            seen.append((ctx.step, sorted(losses)))
            return losses

    registry = Registry()
    registry.register(Counter(), name="counter")
    train_ring(registry, tmp_path, steps=3)
    assert seen == [(i, ["discriminator/fake", "discriminator/real", "generator/adv"]) for i in range(3)]


def test_ganzoo_losses_tryfirst_overrides_and_adds_named_terms(tmp_path):
    class ExtraTerm:
        @hookimpl(tryfirst=True)
        def ganzoo_losses(self, variant, player, ctx):
            if player != "generator":
                return None
            fake = ctx.networks["generator"](torch.randn(8, 2))
            return {"adv": -ctx.networks["discriminator"](fake).mean(), "spread": -fake.std()}

    registry = Registry()
    registry.register(ExtraTerm(), name="extra")
    train_ring(registry, tmp_path, steps=2)
    last = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert "generator/spread" in last and "discriminator/real" in last


def test_ganzoo_schedule_override_changes_the_order_of_play(tmp_path):
    from ganzoo import Player, Schedule
    from ganzoo.engine.schedules import adam

    class TwoCriticSteps:
        @hookimpl(tryfirst=True)
        def ganzoo_schedule(self, variant, networks):
            return Schedule([
                Player("discriminator", ("discriminator",), adam(networks, ["discriminator"], 1e-3, (0.5, 0.9)), repeats=2),
                Player("generator", ("generator",), adam(networks, ["generator"], 1e-3, (0.5, 0.9))),
            ])

    calls = []

    class Spy:
        @hookimpl(wrapper=True)
        def ganzoo_losses(self, player):
            calls.append(player)
            return (yield)

    registry = Registry()
    registry.register(TwoCriticSteps(), name="two")
    registry.register(Spy(), name="spy")
    train_ring(registry, tmp_path, steps=2)
    assert calls == ["discriminator", "discriminator", "generator"] * 2


def test_a_schedule_whose_repeats_depend_on_the_step_is_run_as_it_asks_and_resumes_so(tmp_path):
    from ganzoo import Player, Schedule
    from ganzoo.engine.schedules import adam

    class WarmUp:  # three discriminator updates in the first two iterations, then one
        @hookimpl(tryfirst=True)
        def ganzoo_schedule(self, variant, networks):
            return Schedule([
                Player("discriminator", ("discriminator",), adam(networks, ["discriminator"], 1e-3, (0.5, 0.9)),
                       repeats=lambda step: 3 if step < 2 else 1),
                Player("generator", ("generator",), adam(networks, ["generator"], 1e-3, (0.5, 0.9))),
            ])

    calls = []

    class Spy:
        @hookimpl(wrapper=True)
        def ganzoo_losses(self, player, ctx):
            calls.append((ctx.step, player))
            return (yield)

    registry = Registry()
    registry.register(WarmUp(), name="warm-up")
    registry.register(Spy(), name="spy")
    train_ring(registry, tmp_path, steps=2, checkpoint_every=2)
    ganzoo.train("gan", registry=registry, resume=tmp_path / "run", steps=4, log_every=1)
    d, g = "discriminator", "generator"
    assert calls == [(0, d)] * 3 + [(0, g)] + [(1, d)] * 3 + [(1, g)] + [(2, d), (2, g), (3, d), (3, g)]


def test_ganzoo_sample_override_is_used_by_load_and_sample(tmp_path):
    class Zeros:
        @hookimpl(tryfirst=True)
        def ganzoo_sample(self, n):
            return torch.zeros(n, 2)

    registry = Registry()
    result = train_ring(registry, tmp_path, steps=2)
    registry.register(Zeros(), name="zeros")
    run = ganzoo.load(result.run_dir, registry=registry)
    assert torch.equal(run.sample(5), torch.zeros(5, 2))


def test_ganzoo_datasets_and_ganzoo_metrics_from_a_plugin(tmp_path):
    from ganzoo.data.source import TensorSource
    from ganzoo.spec import DataInfo

    def build(config):
        points = torch.randn(512, 2, generator=torch.Generator().manual_seed(0)) * 0.1 + 3
        return TensorSource({"real": points}, DataInfo("points", (2,), size=512))

    class Plugin:
        @hookimpl
        def ganzoo_datasets(self):
            return [DatasetSpec("blob", "one Gaussian blob at (3, 3)", "points", build)]

        @hookimpl
        def ganzoo_metrics(self):
            return [MetricSpec("mean-x", "mean of the x coordinate", ("points",), lambda run, n=100, **_: {"mean_x": float(run.sample(n)[:, 0].mean())})]

    registry = Registry()
    registry.register(Plugin(), name="blob")
    result = ganzoo.train("gan", registry=registry, dataset="blob", steps=3, batch_size=16, out=tmp_path / "r")
    run = ganzoo.load(result.run_dir, registry=registry)
    value = registry.metric("mean-x").compute(run, n=50)
    assert set(value) == {"mean_x"} and registry.dataset("blob").package == "blob"
