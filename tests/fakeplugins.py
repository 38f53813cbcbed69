"""Build small plugin distributions on disk, as pip would install them, for discovery tests."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

TOY_VARIANT = '''
from dataclasses import dataclass
from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl

@dataclass
class Params:
    latent_dim: int = 4

@hookimpl
def ganzoo_variants():
    return [VariantSpec(name={name!r}, summary="a toy variant for tests", data_kind="points",
                        paper=Paper("Toy", "Tester", 2024, "https://example.org"),
                        params=Params, default_dataset="ring8")]

@hookimpl
def ganzoo_networks(variant, config, data):
    if variant.name != {name!r}:
        return None
    from torch import nn
    return {{"generator": nn.Linear(config.model.latent_dim, 2), "discriminator": nn.Linear(2, 1)}}

@hookimpl
def ganzoo_schedule(variant, config, networks):
    if variant.name != {name!r}:
        return None
    from ganzoo.engine.schedules import adam
    return Schedule([Player("discriminator", ("discriminator",), adam(networks, ["discriminator"], 1e-3, (0.5, 0.999))),
                     Player("generator", ("generator",), adam(networks, ["generator"], 1e-3, (0.5, 0.999)))])

@hookimpl
def ganzoo_losses(variant, player, ctx):
    if variant.name != {name!r}:
        return None
    import torch
    G, D = ctx.networks["generator"], ctx.networks["discriminator"]
    fake = G(torch.randn(ctx.batch["real"].shape[0], 4))
    if player == "discriminator":
        return {{"adv": D(fake.detach()).mean() - D(ctx.batch["real"]).mean()}}
    return {{"adv": -D(fake).mean()}}
'''


def toy_variant_source(name: str) -> str:
    return TOY_VARIANT.format(name=name)


def install_fake_distribution(
    site: Path,
    dist: str,
    version: str,
    modules: dict[str, str],
    entry_points: dict[str, str],
) -> None:
    """Write modules and a ``.dist-info`` with ``ganzoo`` entry points into ``site`` (on sys.path)."""
    site.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[ganzoo]\n{lines}\n")
    importlib.invalidate_caches()
