"""``ganzoo new-plugin NAME``: write a complete, installable variant plugin package to start from.

The package (``ganzoo-NAME``: pyproject with the entry point, the variant module, README, tests)
is rendered from the templates in ``ganzoo/scaffold/template`` and passes its own tests right
after ``pip install -e``. It is written to a temporary folder and renamed into place, so a failure
leaves nothing half-written.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ganzoo import __version__
from ganzoo.cli.console import print_json, status
from ganzoo.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from importlib.resources.abc import Traversable

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
TEMPLATE_SUFFIX = ".tmpl"


def names_for(name: str) -> dict[str, str]:
    """The names derived from the variant name: distribution, module, class prefix."""
    words = name.split("-")
    return {
        "name": name,
        "dist": f"ganzoo-{name}",
        "module": "ganzoo_" + "_".join(words),
        "class_prefix": "".join(w.capitalize() for w in words),
        "summary": f"the {name} GAN variant (edit this line: what your idea changes)",
        "ganzoo_version": ".".join(__version__.split(".")[:2]),
    }


def _canonical(package: str) -> str:
    """A distribution name as pip compares them (PEP 503): ``Ganzoo_EMA`` is ``ganzoo-ema``."""
    return re.sub(r"[-_.]+", "-", package).lower()


def installed_packages() -> set[str]:
    """The canonical names of every installed distribution."""
    import importlib.metadata as metadata

    return {_canonical(dist.metadata["Name"] or "") for dist in metadata.distributions()}


def check_name(name: str, installed: set[str], packages: set[str] = frozenset()) -> None:
    if name.startswith("ganzoo-"):
        raise UserError(f"give the variant name, not the package name: ganzoo new-plugin {name[len('ganzoo-'):]} "
                        f"(the package will be called {name})")
    if not NAME_PATTERN.match(name):
        raise UserError(f"bad plugin name {name!r}: use lower-case letters and digits, words joined by '-' "
                        "(e.g. ganzoo new-plugin my-gan)")
    if name in installed:
        raise UserError(f"a variant or add-on named {name!r} is already installed (ganzoo list); choose another name")
    if _canonical(f"ganzoo-{name}") in packages:
        raise UserError(f"a package named ganzoo-{name} is already installed (pip show ganzoo-{name}); "
                        "choose another name")


def render(text: str, names: dict[str, str]) -> str:
    for key, value in names.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _copy_tree(source: Traversable, target: Path, names: dict[str, str]) -> list[Path]:
    written = []
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        name = render(entry.name, names)
        if entry.is_dir():
            (target / name).mkdir()
            written += _copy_tree(entry, target / name, names)
        elif name.endswith(TEMPLATE_SUFFIX):
            path = target / name[: -len(TEMPLATE_SUFFIX)]
            path.write_text(render(entry.read_text(encoding="utf-8"), names), encoding="utf-8")
            written.append(path)
    return written


def create_plugin(name: str, directory: Path, installed: set[str] = frozenset(),
                  packages: set[str] = frozenset()) -> tuple[Path, list[Path]]:
    """Write the package ``ganzoo-NAME`` into ``directory``; return its folder and files.

    Raises :class:`UserError` for a bad or taken name, an existing non-empty target folder, or a
    folder that cannot be written; nothing is left behind in those cases.
    """
    check_name(name, installed, packages)
    names = names_for(name)
    target = directory / names["dist"]
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UserError(f"{str(target)!r} already exists; remove it or choose another --dir")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        staging = directory / f".{names['dist']}.{uuid.uuid4().hex[:8]}.tmp"
        staging.mkdir()  # with the user's umask, unlike tempfile.mkdtemp's private mode
    except OSError as exc:
        raise UserError(f"cannot write into {str(directory)!r} ({exc.strerror}); choose another --dir") from None
    try:
        template = resources.files("ganzoo").joinpath("scaffold", "template")
        files = _copy_tree(template, staging, names)
        if target.exists():  # an empty folder
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target, [target / f.relative_to(staging) for f in files]


@click.command("new-plugin")
@click.argument("name")
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder in which to create the package folder ganzoo-NAME.")
@click.option("--json", "as_json", is_flag=True, help="Print the created files as JSON.")
def command(name: str, directory: str, as_json: bool) -> None:
    """Create ganzoo-NAME, a plugin package with a working variant NAME, tests and a README.

    \b
    ganzoo new-plugin my-gan --dir ~/code
    cd ~/code/ganzoo-my-gan && pip install -e ".[test]" && pytest && ganzoo run my-gan
    """
    from ganzoo.registry import get_registry

    registry = get_registry()
    installed = set(registry.variants()) | set(registry.addons())
    target, files = create_plugin(name, Path(directory), installed, installed_packages())
    if as_json:
        print_json({"name": name, "package": target.name, "path": str(target), "files": [str(f) for f in files]})
        return
    click.echo(f"created {target}")
    for path in files:
        click.echo(f"  {path.relative_to(target)}")
    status(f"next: cd {target} && pip install -e \".[test]\" && pytest && ganzoo run {name}")
