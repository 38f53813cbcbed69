"""Blocking plugins without uninstalling them, and ``ganzoo plugins`` saying where each came from."""

from __future__ import annotations

import json
from pathlib import Path

import ganzoo_gan
from click.testing import CliRunner

from ganzoo.cli.main import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def plugins_by_name() -> dict[str, dict]:
    result = invoke("plugins", "--json")
    assert result.exit_code == 0, result.output
    return {r["name"]: r for r in json.loads(result.output)}


def test_plugins_shows_where_each_plugin_was_loaded_from():
    plugins = plugins_by_name()
    assert Path(plugins["gan"]["location"]).resolve() == Path(ganzoo_gan.__file__).resolve()
    assert plugins["gan"]["package"] == "ganzoo" and plugins["gan"]["version"]
    assert all(r["location"] for r in plugins.values() if r["status"] == "loaded")
    table = invoke("plugins")
    assert table.exit_code == 0 and "location" in table.output  # the column, for people


def test_a_blocked_plugin_is_shown_as_disabled_and_its_variant_is_gone(monkeypatch):
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "gan")
    plugins = plugins_by_name()
    assert plugins["gan"]["status"] == "disabled"
    assert plugins["gan"]["variants"] == [] and plugins["gan"]["location"] == ""  # never imported
    assert plugins["core"]["status"] == "loaded"
    names = [row["name"] for row in json.loads(invoke("list", "--json").output)]
    assert "gan" not in names
    result = invoke("run", "gan", "--steps", "1")
    assert result.exit_code == 2 and "error: unknown variant 'gan'" in result.output


def test_several_plugins_are_blocked_by_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", " gan , core")
    plugins = plugins_by_name()
    assert plugins["gan"]["status"] == plugins["core"]["status"] == "disabled"
    assert all(r["status"] == "loaded" for name, r in plugins.items() if name not in ("gan", "core"))


def test_without_the_variable_every_installed_plugin_loads(monkeypatch):
    monkeypatch.delenv("GANZOO_DISABLE_PLUGINS", raising=False)
    plugins = plugins_by_name()
    assert plugins["gan"]["status"] == "loaded" and plugins["gan"]["variants"] == ["gan"]
