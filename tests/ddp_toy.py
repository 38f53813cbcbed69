"""A two-player toy variant whose randomness the tests control, and the torchrun script that trains it.

The variant has every feature that makes data parallelism hard for a GAN schedule: the generator's
fakes are made once, inside the critic's update, and reused by the second critic update and by the
generator's update (whose backward runs through the critic); the critic updates twice per iteration
(each on a fresh batch) with a gradient penalty (a double backward). Its "noise" is a fixed
function of the data rows instead of ``torch.randn``, so the rows of a global batch get the same
noise whether one process draws them or several processes draw shards of them: one process with
batch ``2b`` and two processes with batch ``b`` must then end with the same weights.

Run as a script under torchrun it trains the variant with the given options and writes, from rank 0,
``report.json``: how many gradients each network had all-reduced, and the error a run with an unused
critic parameter stops with.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import torch
from torch import nn

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl

NAME = "ddp-toy"


@dataclass
class ToyParams:
    lambda_gp: float = 1.0
    n_critic: int = 2
    lr: float = 0.05
    #: Give the critic a layer its loss never uses (DDP cannot finish reducing its gradients).
    unused_layer: bool = False


class ToyGenerator(nn.Module):
    latent_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ToyCritic(nn.Module):
    def __init__(self, unused_layer: bool) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
        self.unused = nn.Linear(2, 2) if unused_layer else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


@hookimpl
def ganzoo_variants():
    return [VariantSpec(name=NAME, summary="a toy for data-parallel tests", data_kind="points",
                        paper=Paper("Toy", "Tester", 2024, "https://example.org"), params=ToyParams,
                        default_dataset="ring8")]


@hookimpl
def ganzoo_networks(variant, config):
    if variant.name != NAME:
        return None
    return {"generator": ToyGenerator(), "critic": ToyCritic(config.model.unused_layer)}


@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != NAME:
        return None
    p = config.model
    return Schedule([
        Player("critic", ("critic",), torch.optim.SGD(networks["critic"].parameters(), lr=p.lr), repeats=p.n_critic),
        Player("generator", ("generator",), torch.optim.SGD(networks["generator"].parameters(), lr=p.lr)),
    ])


@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != NAME:
        return None
    G, D = ctx.networks["generator"], ctx.networks["critic"]
    real = ctx.batch["real"]
    if "fake" not in ctx.cache:  # made in the critic's first update, reused by all later ones
        z = torch.sin(7.0 * real + 1.0)[:, : G.latent_dim]  # a function of the rows, not torch.randn
        ctx.cache["fake"] = G(z)
    fake = ctx.cache["fake"]
    if player == "critic":
        epsilon = torch.sigmoid(5.0 * real[:, :1])
        interpolates = (epsilon * real + (1 - epsilon) * fake.detach()).requires_grad_(True)
        (gradients,) = torch.autograd.grad(D(interpolates).sum(), interpolates, create_graph=True)
        penalty = ((gradients.norm(dim=1) - 1) ** 2).mean()
        return {"adv": D(fake.detach()).mean() - D(real).mean(), "gp": ctx.config.model.lambda_gp * penalty}
    return {"adv": -D(fake).mean()}


@hookimpl
def ganzoo_sample(variant, networks, n, generator, device):
    if variant.name != NAME:
        return None
    return networks["generator"](torch.randn(n, 2, generator=generator, device=device))


def make_config(registry, **options):
    from ganzoo.api import make_config as resolve

    sets = {"log_every": "1", "sample_every": "1000", "checkpoint_every": "1000", "device": "cpu", "speed": "eager"}
    sets.update({k: str(v) for k, v in options.pop("sets", {}).items()})
    return resolve(NAME, registry=registry, overrides=sets, dataset="ring8", **options)


def registry_with_toy():
    from ganzoo.registry import Registry

    registry = Registry()
    registry.register(sys.modules[__name__], name="ddp-toy")
    return registry


def main(out: str, batch_size: int, steps: int) -> None:
    """Under torchrun: train the toy into ``out/run``, then try the unused-layer toy."""
    from pathlib import Path

    from ganzoo.engine.trainer import Trainer
    from ganzoo.errors import GanzooError

    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo")
    registry = registry_with_toy()
    trainer = Trainer(make_config(registry, batch_size=batch_size, steps=steps), registry, run_dir=Path(out) / "run", quiet=True)
    trainer.train()
    report = {"reduced": trainer.ddp.reduced_parameters(), "world_size": trainer.ddp.world_size}
    broken = Trainer(make_config(registry, batch_size=batch_size, steps=steps, sets={"model.unused_layer": "true"}),
                     registry, run_dir=Path(out) / "broken", quiet=True)
    try:
        broken.train()
        report["unused_layer_error"] = None
    except GanzooError as exc:
        report["unused_layer_error"] = str(exc)
    if torch.distributed.get_rank() == 0:
        (Path(out) / "report.json").write_text(json.dumps(report))
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
