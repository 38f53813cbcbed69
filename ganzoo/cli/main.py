"""The ``ganzoo`` command group and its error handling.

Every :class:`~ganzoo.errors.GanzooError` a command raises becomes one line on stderr and its exit
code (1 failure, 2 usage); click's own usage errors exit 2.
"""

from __future__ import annotations

import click

from ganzoo import __version__
from ganzoo.cli.console import fail
from ganzoo.errors import GanzooError


class GanzooGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GanzooError as exc:
            fail(exc)


@click.group(cls=GanzooGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ganzoo")
def cli() -> None:
    """ganzoo: a GAN variant zoo for PyTorch in which every variant is a plugin.

    \b
    ganzoo list                 the installed variants
    ganzoo run gan              train on the MNIST digits that ship with ganzoo
    ganzoo sample RUN_DIR       draw images from a trained run
    """


#: One module per command, each exposing ``command``; imported lazily by click's loader below.
COMMANDS = {
    "list": "ganzoo.cli.list_cmd",
    "info": "ganzoo.cli.info",
    "plugins": "ganzoo.cli.plugins_cmd",
    "run": "ganzoo.cli.run",
    "sample": "ganzoo.cli.sample",
    "eval": "ganzoo.cli.eval",
    "new-plugin": "ganzoo.cli.new_plugin",
    "bench": "ganzoo.cli.bench",
    "reproduce": "ganzoo.cli.reproduce",
}


def _register_commands() -> None:
    import importlib

    for module_name in COMMANDS.values():
        cli.add_command(importlib.import_module(module_name).command)


_register_commands()


def main() -> None:
    cli(prog_name="ganzoo")


if __name__ == "__main__":  # pragma: no cover
    main()
