"""``ganzoo info NAME``: a variant's paper, networks (with roles and parameter counts) and default
config; ``--with ADDON`` shows them as that add-on changes them."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from ganzoo import config as cfg
from ganzoo.api import make_config
from ganzoo.bounds import describe as describe_bounds
from ganzoo.bounds import field_bounds
from ganzoo.cli.console import out, print_json
from ganzoo.cli.options import set_option, with_option
from ganzoo.errors import UserError
from ganzoo.registry import get_registry


def loss_choices(config, registry) -> dict[str, str] | None:
    """The adversarial losses a variant's ``model.loss`` can name, or None when it has no such key."""
    if not isinstance(getattr(config.model, "loss", None), str):
        return None
    from ganzoo.parts.losses import adversarial_losses

    return {name: loss.summary for name, loss in sorted(adversarial_losses(registry).items())}


def describe(name: str, dataset: str | None, profile: str | None, image_size: int | None, sets: tuple[str, ...],
             addons: tuple[str, ...] = (), shape: str | None = None, classes: int | None = None) -> dict:
    from ganzoo.data.declared import data_info, parse_shape

    registry = get_registry()
    spec = registry.variant(name)
    config = make_config(name, registry=registry, dataset=dataset, profile=profile or "paper",
                         image_size=image_size, overrides=cfg.parse_sets(sets), addons=list(addons))
    data = data_info(registry, config, parse_shape(shape) if shape else None, classes)
    networks_note = None
    try:
        networks = registry.networks(spec, config, data)
    except UserError as exc:
        if image_size is not None or shape is not None:
            raise  # the size the user asked for cannot be built: that is the answer
        # the dataset's own size is not one the variant builds (BigGAN at 28 px): the config and
        # the profiles are still worth showing, with the size to ask for
        networks, networks_note = {}, str(exc)
    roles = {key: role for role in ("generator", "discriminator") for key in spec.networks_of(role)}
    losses = loss_choices(config, registry)
    return {
        "name": spec.name,
        "summary": spec.summary,
        "package": spec.package,
        "paper": {"title": spec.paper.title, "authors": spec.paper.authors, "year": spec.paper.year, "url": spec.paper.url},
        "data": spec.data_kind,
        "dataset": config.dataset,
        "sample_shape": list(data.shape),
        "classes": data.num_classes,
        "profiles": sorted({"paper", *spec.profiles}),
        "truncation": spec.truncation,
        "notes": spec.notes,
        "profile_notes": dict(spec.profile_notes),
        "networks": {
            key: {"class": type(net).__name__, "role": roles.get(key, ""),
                  "parameters": sum(p.numel() for p in net.parameters())}
            for key, net in networks.items()
        },
        **({"networks_note": networks_note} if networks_note else {}),
        "addons": list(config.addons),
        "config": cfg.to_dict(config),
        "bounds": {key: describe_bounds(found) for key, found in field_bounds(config).items()},
        **({"loss": config.model.loss, "loss_choices": losses} if losses is not None else {}),
    }


@click.command("info")
@click.argument("name")
@click.option("--dataset", default=None, help="Dataset whose sample shape sizes the networks.")
@click.option("--profile", default=None, help="Profile to resolve the config with (default: paper).")
@click.option("--image-size", type=int, default=None, help="Image size to build the networks at.")
@click.option("--shape", default=None, metavar="C,H,W",
              help="Sample shape to size the networks for, instead of the dataset's (no data needed).")
@click.option("--classes", type=int, default=None, metavar="K", help="Number of classes, instead of the dataset's.")
@set_option
@with_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def command(name: str, dataset: str | None, profile: str | None, image_size: int | None, shape: str | None,
            classes: int | None, sets: tuple[str, ...], addons: tuple[str, ...], as_json: bool) -> None:
    """Show a variant's paper, networks (with their roles), loss choices and default configuration.

    The networks are sized for the dataset's declared sample shape and classes, so no data needs to
    be on disk; --shape and --classes size them for others.
    """
    info = describe(name, dataset, profile, image_size, sets, addons, shape, classes)
    if as_json:
        print_json(info)
        return
    paper = info["paper"]
    out.print(Text(f"{info['name']}: {info['summary']}", style="bold"))
    out.print(Text(f"paper:   {paper['title']} ({paper['authors']}, {paper['year']}) {paper['url']}"))
    out.print(Text(f"package: {info['package']}    data: {info['data']}    profiles: {', '.join(info['profiles'])}"))
    for profile, note in info["profile_notes"].items():
        out.print(Text(f"  {profile} profile: {note}"))
    out.print(Text(f"dataset: {info['dataset']}    sample shape: {tuple(info['sample_shape'])}    classes: {info['classes']}"))
    if "loss_choices" in info:
        out.print(Text(f"loss:    {info['loss']} (--set model.loss=NAME; choices: {', '.join(info['loss_choices'])})"))
    if info["truncation"]:
        out.print(Text(f"--truncation T (ganzoo sample): {info['truncation']}"))
    if info["notes"]:
        out.print(Text(f"notes:   {info['notes']}"))
    if info.get("networks_note"):
        out.print(Text(f"networks: not built at {info['dataset']}'s own size: {info['networks_note']}"))
    if info["networks"]:
        table = Table(title="networks", title_justify="left")
        table.add_column("network")
        table.add_column("role")
        table.add_column("class")
        table.add_column("parameters", justify="right")
        for key, net in info["networks"].items():
            table.add_row(Text(key), Text(net["role"] or "-"), Text(net["class"]), f"{net['parameters']:,}")
        out.print(table)
    if info["addons"]:
        out.print(Text(f"add-ons: {', '.join(info['addons'])}"))
    table = Table(title="config (paper profile unless --profile)", title_justify="left")
    table.add_column("key")
    table.add_column("value")
    table.add_column("allowed")
    for key, value in cfg.flatten(info["config"]).items():
        table.add_row(Text(key), Text(repr(value)), Text(info["bounds"].get(key, "")))
    out.print(table)
