"""Options shared by several commands."""

from __future__ import annotations

import click

set_option = click.option(
    "--set", "sets", multiple=True, metavar="KEY=VALUE",
    help="Override one config key, e.g. --set model.lr=1e-4 (repeatable).",
)
device_option = click.option("--device", default=None, help="cuda, cuda:N, mps or cpu (default: auto).")
with_option = click.option(
    "--with", "addons", multiple=True, metavar="ADDON",
    help="Enable an installed add-on, e.g. --with ema (repeatable; its settings: --set ADDON.KEY=VALUE).",
)
