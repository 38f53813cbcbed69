"""Consoles and output helpers: data to stdout, status and errors to stderr, plugin text unmarked."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console

from ganzoo.errors import GanzooError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def status(message: str) -> None:
    err.print(message, markup=False)


def fail(exc: GanzooError) -> None:
    """Print the one-line error for ``exc`` (no traceback) and exit with its code."""
    err.print(f"error: {exc}", markup=False)
    sys.stderr.flush()
    raise click.exceptions.Exit(int(exc.exit_code))
