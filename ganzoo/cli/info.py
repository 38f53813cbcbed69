"""``ganzoo info NAME``: a variant's paper, networks (with parameter counts) and default config."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from ganzoo import config as cfg
from ganzoo.api import make_config
from ganzoo.bounds import describe as describe_bounds
from ganzoo.bounds import field_bounds
from ganzoo.cli.console import out, print_json
from ganzoo.cli.options import set_option
from ganzoo.registry import get_registry


def describe(name: str, dataset: str | None, profile: str | None, image_size: int | None, sets: tuple[str, ...]) -> dict:
    registry = get_registry()
    spec = registry.variant(name)
    config = make_config(name, registry=registry, dataset=dataset, profile=profile or "paper",
                         image_size=image_size, overrides=cfg.parse_sets(sets))
    data = registry.dataset(config.dataset).build(config).info
    networks = registry.networks(spec, config, data)
    return {
        "name": spec.name,
        "summary": spec.summary,
        "package": spec.package,
        "paper": {"title": spec.paper.title, "authors": spec.paper.authors, "year": spec.paper.year, "url": spec.paper.url},
        "data": spec.data_kind,
        "dataset": config.dataset,
        "sample_shape": list(data.shape),
        "profiles": sorted({"paper", *spec.profiles}),
        "networks": {
            key: {"class": type(net).__name__, "parameters": sum(p.numel() for p in net.parameters())}
            for key, net in networks.items()
        },
        "config": cfg.to_dict(config),
        "bounds": {key: describe_bounds(found) for key, found in field_bounds(config).items()},
    }


@click.command("info")
@click.argument("name")
@click.option("--dataset", default=None, help="Dataset whose sample shape sizes the networks.")
@click.option("--profile", default=None, help="Profile to resolve the config with (default: paper).")
@click.option("--image-size", type=int, default=None, help="Image size to build the networks at.")
@set_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def command(name: str, dataset: str | None, profile: str | None, image_size: int | None, sets: tuple[str, ...], as_json: bool) -> None:
    """Show a variant's paper, networks and default configuration."""
    info = describe(name, dataset, profile, image_size, sets)
    if as_json:
        print_json(info)
        return
    paper = info["paper"]
    out.print(Text(f"{info['name']}: {info['summary']}", style="bold"))
    out.print(Text(f"paper:   {paper['title']} ({paper['authors']}, {paper['year']}) {paper['url']}"))
    out.print(Text(f"package: {info['package']}    data: {info['data']}    profiles: {', '.join(info['profiles'])}"))
    out.print(Text(f"dataset: {info['dataset']}    sample shape: {tuple(info['sample_shape'])}"))
    table = Table(title="networks", title_justify="left")
    table.add_column("network")
    table.add_column("class")
    table.add_column("parameters", justify="right")
    for key, net in info["networks"].items():
        table.add_row(Text(key), Text(net["class"]), f"{net['parameters']:,}")
    out.print(table)
    table = Table(title="config (paper profile unless --profile)", title_justify="left")
    table.add_column("key")
    table.add_column("value")
    table.add_column("allowed")
    for key, value in cfg.flatten(info["config"]).items():
        table.add_row(Text(key), Text(repr(value)), Text(info["bounds"].get(key, "")))
    out.print(table)
