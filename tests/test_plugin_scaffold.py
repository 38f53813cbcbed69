"""``ganzoo new-plugin`` writes a package that installs, passes its own tests and shows in ``ganzoo list``.

The package is generated into a temporary folder, pip-installed (editable, offline: no build
isolation, no dependencies) once for this module, and uninstalled afterwards so the environment
is left as it was.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ganzoo.cli.main import cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NAME = "scaffold-probe"
DIST = "ganzoo-scaffold-probe"
MODULE = "ganzoo_scaffold_probe"


def pip(*args: str) -> subprocess.CompletedProcess:
    """Run pip in this interpreter's environment, retrying when another install holds it."""
    for attempt in range(3):
        done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                              capture_output=True, text=True)
        if done.returncode == 0 or attempt == 2:
            return done
        time.sleep(3)
    return done


def ganzoo(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """The package written by the command line, as a user would run it."""
    folder = tmp_path_factory.mktemp("plugins")
    done = ganzoo("new-plugin", NAME, "--dir", str(folder))
    assert done.returncode == 0, done.stderr
    return folder / DIST


def offline_build_flags() -> list[str]:
    """Build with the environment's own setuptools when it has one (fast, no download)."""
    import importlib.util

    return ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []


@pytest.fixture(scope="module")
def installed(generated: Path):
    done = pip("install", *offline_build_flags(), "--no-deps", "-e", str(generated))
    assert done.returncode == 0, done.stderr
    try:
        yield generated
    finally:
        pip("uninstall", "-y", DIST)


def test_new_plugin_writes_a_package_with_the_entry_point_variant_readme_and_tests(generated):
    files = sorted(str(p.relative_to(generated)) for p in generated.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", f"src/{MODULE}/__init__.py", f"tests/test_{MODULE}.py"]
    project = tomllib.loads((generated / "pyproject.toml").read_text())
    assert project["project"]["name"] == DIST
    assert project["project"]["entry-points"]["ganzoo"] == {NAME: MODULE}
    assert not list(generated.parent.glob(".*"))  # no staging folder left behind
    assert "{{" not in "".join(p.read_text() for p in generated.rglob("*") if p.is_file())


def test_the_generated_plugin_passes_its_own_tests_after_pip_install(installed):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=installed,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout


def test_ganzoo_list_and_plugins_show_the_installed_plugin_and_where_it_loads_from(installed):
    listed = ganzoo("list", "--json", check=True)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows[NAME]["package"] == DIST
    plugins = {r["name"]: r for r in json.loads(ganzoo("plugins", "--json", check=True).stdout)}
    assert plugins[NAME]["status"] == "loaded" and plugins[NAME]["variants"] == [NAME]
    assert Path(plugins[NAME]["location"]).resolve() == (installed / "src" / MODULE / "__init__.py").resolve()


@pytest.mark.parametrize(("name", "says"), [
    ("My_GAN", "bad plugin name 'My_GAN': use lower-case letters and digits"),
    ("ganzoo-mine", "give the variant name, not the package name: ganzoo new-plugin mine"),
    ("gan", "a variant or add-on named 'gan' is already installed"),
    ("ema", "a variant or add-on named 'ema' is already installed"),
])
def test_a_bad_or_taken_name_is_one_line_exit_2_and_nothing_written(tmp_path, name, says):
    result = CliRunner().invoke(cli, ["new-plugin", name, "--dir", str(tmp_path / "out")])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and says in errors[0] and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_name_whose_package_is_installed_is_refused(site, tmp_path):
    from fakeplugins import install_fake_distribution

    install_fake_distribution(site, "ganzoo_Sharpen", "1.0", {"sharpen_plugin": '"""declares nothing"""\n'},
                              {"sharp": "sharpen_plugin"})
    result = CliRunner().invoke(cli, ["new-plugin", "sharpen", "--dir", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "error: a package named ganzoo-sharpen is already installed (pip show ganzoo-sharpen)" in result.output
    assert not (tmp_path / "out").exists()


def test_an_existing_package_folder_is_never_overwritten(tmp_path):
    target = tmp_path / "ganzoo-mine"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["new-plugin", "mine", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert f"error: {str(target)!r} already exists; remove it or choose another --dir" in result.output
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ganzoo-mine"]
