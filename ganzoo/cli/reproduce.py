"""``ganzoo reproduce TABLE``: re-run a published table and print ours beside the paper's."""

from __future__ import annotations

from pathlib import Path

import click

from ganzoo.cli.console import err, out, print_json
from ganzoo.cli.options import device_option


def _rows(value: str | None) -> list[str] | None:
    return [name.strip() for name in value.split(",") if name.strip()] if value else None


@click.command("reproduce")
@click.argument("table_name", metavar="TABLE", required=False)
@click.option("--runs", type=click.IntRange(min=1), default=None,
              help="Runs (seeds 0 … N−1) per row and dataset (default: the paper's number).")
@click.option("--rows", default=None, metavar="ROW,...", help="Rows to run, e.g. gan,pacgan2 (default: all).")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Train this many steps instead of the protocol's (a quick look, not comparable to the paper).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the runs, results.json and table.md (default: runs/reproduce-TABLE).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--list", "list_tables", is_flag=True, help="List the tables that can be reproduced and exit.")
@device_option
def command(table_name, runs, rows, steps, out_dir, as_json, list_tables, device) -> None:
    """Re-run the published TABLE and print it beside the paper's values.

    \b
    ganzoo reproduce pacgan-table1                       every row, the paper's 10 runs
    ganzoo reproduce pacgan-table1 --rows gan,pacgan4 --runs 3

    Each cell is our mean ± standard error over the runs, the published value, and whether that lies
    within two of our standard errors. Finished runs in the output folder are reused.
    """
    from ganzoo.registry import get_registry
    from ganzoo.reproduce import reproduce
    from ganzoo.tables import read_table

    registry = get_registry()
    if list_tables:
        for spec in registry.tables().values():
            out.print(f"{spec.name}\t{spec.summary}", markup=False)
        return
    if not table_name:
        raise click.UsageError("name the table to reproduce, e.g. ganzoo reproduce pacgan-table1 (--list lists them)")
    table = read_table(registry.table(table_name))
    chosen = _rows(rows)
    for name in chosen or ():
        table.row(name)  # an unknown row: one line now, before any training
    out_path = Path(out_dir) if out_dir else Path("runs") / f"reproduce-{table.spec.name}"
    total = len(chosen or table.rows) * len(table.datasets()) * (runs or table.runs)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        task = progress.add_task(table.spec.name, total=total)
        started = [False]

        def advance(name: str) -> None:
            if started[0]:
                progress.advance(task)
            started[0] = True
            progress.update(task, description=f"{table.spec.name}: {name}")

        document = reproduce(table, chosen, runs, out_path, registry, steps=steps, device=device, progress=advance)
        progress.advance(task)
    if as_json:
        print_json(document)
        return
    _print(table, document)
    err.print(f"wrote {out_path / 'results.json'} and {out_path / 'table.md'}", markup=False)


def _print(table, document) -> None:
    from rich.table import Table as RichTable
    from rich.text import Text

    from ganzoo.reproduce import fmt

    view = RichTable(title=Text(f"{table.spec.name}: ours (mean ± standard error over {document['runs']} runs); below: the paper's, ✓ within two standard errors of ours"))
    view.add_column("method")
    for column in table.columns:
        view.add_column(Text(column.label))
    for row in document["rows"]:
        cells = [Text(row["label"])]
        for column in table.columns:
            cell = row["columns"][column.key]
            paper = fmt(*cell["published"]) if cell["published"] else "–"
            mark = {True: "✓", False: "✗", None: "·"}[cell["within_two_se"]]
            cells.append(Text(f"{fmt(cell['mean'], cell['se'])}\n{paper} {mark}"))
        view.add_row(*cells)
    out.print(view, markup=False)
