"""``ganzoo plugins``: installed plugin packages, their versions, what they add, and load errors."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from ganzoo.cli.console import out, print_json
from ganzoo.registry import get_registry


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def command(as_json: bool) -> None:
    """List plugin packages, what each provides, where it loads from, and any load error."""
    records = get_registry().plugin_records()
    if as_json:
        print_json([r.as_dict() for r in records])
        return
    table = Table(title="ganzoo plugins", title_justify="left")
    for column in ("plugin", "package", "version", "status", "provides", "location / error"):
        table.add_column(column, overflow="fold")
    for r in records:
        provides = ", ".join(
            part for part in (
                "variants: " + ", ".join(r.variants) if r.variants else "",
                "datasets: " + ", ".join(r.datasets) if r.datasets else "",
                "metrics: " + ", ".join(r.metrics) if r.metrics else "",
                "add-ons: " + ", ".join(r.addons) if r.addons else "",
                "tables: " + ", ".join(r.tables) if r.tables else "",
            ) if part
        )
        style = {"loaded": "green", "failed": "red", "disabled": "yellow"}[r.status]
        cells = (r.name, r.package, r.version, provides or "-", r.error or r.location)
        name, package, version, provided, detail = (Text(c) for c in cells)
        table.add_row(name, package, version, Text(r.status, style=style), provided, detail)
    out.print(table)
