"""``ganzoo list``: the installed variants and add-ons."""

from __future__ import annotations

import click
from rich.table import Table

from ganzoo.cli.console import out, print_json
from ganzoo.config import to_dict
from ganzoo.registry import get_registry


def variant_row(spec) -> dict:
    return {
        "name": spec.name,
        "summary": spec.summary,
        "data": spec.data_kind,
        "default_dataset": spec.default_dataset,
        "paper": {"title": spec.paper.title, "authors": spec.paper.authors, "year": spec.paper.year, "url": spec.paper.url},
        "package": spec.package,
        "profiles": sorted({"paper", *spec.profiles}),
        "roles": {role: list(spec.networks_of(role)) for role in ("generator", "discriminator")},
    }


def addon_row(spec) -> dict:
    paper = spec.paper
    return {
        "name": spec.name,
        "summary": spec.summary,
        "paper": None if paper is None else {"title": paper.title, "authors": paper.authors, "year": paper.year, "url": paper.url},
        "package": spec.package,
        "settings": to_dict(spec.default_settings()),
    }


def print_addons(specs) -> None:
    table = Table(title="ganzoo add-ons (enable with --with NAME)", title_justify="left")
    for column in ("name", "summary", "paper", "package"):
        table.add_column(column, overflow="fold")
    for s in specs:
        paper = f"{s.paper.authors} {s.paper.year}" if s.paper else "-"
        table.add_row(s.name, s.summary, paper, s.package)
    out.print(table, markup=False)


@click.command("list")
@click.option("--addons", "only_addons", is_flag=True, help="List the add-ons only (with --json: their rows).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (the variants, or the add-ons with --addons).")
def command(only_addons: bool, as_json: bool) -> None:
    """List the installed variants and add-ons."""
    registry = get_registry()
    specs = sorted(registry.variants().values(), key=lambda s: s.name)
    addons = sorted(registry.addons().values(), key=lambda s: s.name)
    if only_addons:
        if as_json:
            print_json([addon_row(s) for s in addons])
        else:
            print_addons(addons)
        return
    if as_json:
        print_json([variant_row(s) for s in specs])
        return
    table = Table(title="ganzoo variants", title_justify="left")
    for column in ("name", "summary", "data", "paper", "package"):
        table.add_column(column, overflow="fold")
    for s in specs:
        table.add_row(s.name, s.summary, s.data_kind, f"{s.paper.authors} {s.paper.year}", s.package)
    out.print(table, markup=False)
    if addons:
        print_addons(addons)
