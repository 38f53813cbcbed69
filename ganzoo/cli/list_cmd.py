"""``ganzoo list``: the installed variants."""

from __future__ import annotations

import click
from rich.table import Table

from ganzoo.cli.console import out, print_json
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
    }


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def command(as_json: bool) -> None:
    """List the installed variants."""
    specs = sorted(get_registry().variants().values(), key=lambda s: s.name)
    if as_json:
        print_json([variant_row(s) for s in specs])
        return
    table = Table(title="ganzoo variants", title_justify="left")
    for column in ("name", "summary", "data", "paper", "package"):
        table.add_column(column, overflow="fold")
    for s in specs:
        table.add_row(s.name, s.summary, s.data_kind, f"{s.paper.authors} {s.paper.year}", s.package)
    out.print(table, markup=False)
