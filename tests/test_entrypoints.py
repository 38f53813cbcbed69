"""Plugin discovery through the ``ganzoo`` entry-point group: installed packages, broken ones,
name clashes, blocking, and the same through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fakeplugins import install_fake_distribution, toy_variant_source

from ganzoo.errors import PluginError
from ganzoo.registry import Registry


def run_cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=env, timeout=120)


def test_builtin_variant_and_datasets_come_from_entry_points():
    registry = Registry()
    records = {r.name: r for r in registry.plugin_records()}
    assert records["gan"].package == "ganzoo" and records["gan"].status == "loaded"
    assert "gan" in records["gan"].variants
    assert {"mnist", "ring8", "grid25", "folder"} <= set(records["core"].datasets)
    assert registry.variant("gan").package == "ganzoo"


def test_installed_third_party_plugin_is_discovered(site):
    install_fake_distribution(site, "ganzoo-toy", "1.2.3", {"toy_plugin": toy_variant_source("toy")}, {"toy": "toy_plugin"})
    registry = Registry()
    spec = registry.variant("toy")
    assert spec.package == "ganzoo-toy"
    record = next(r for r in registry.plugin_records() if r.name == "toy")
    assert (record.version, record.status, record.variants) == ("1.2.3", "loaded", ["toy"])


def test_installed_plugin_trains_through_the_engine(site, tmp_path):
    import ganzoo

    install_fake_distribution(site, "ganzoo-toy", "1.0", {"toy_plugin": toy_variant_source("toy")}, {"toy": "toy_plugin"})
    result = ganzoo.train("toy", registry=Registry(), steps=5, log_every=1, out=tmp_path / "run")
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert result.step == 5 and len(lines) == 5
    assert {"discriminator/adv", "generator/adv"} <= set(json.loads(lines[-1]))


def test_broken_plugin_is_isolated_and_reported(site, capsys):
    install_fake_distribution(site, "ganzoo-broken", "0.1", {"broken_plugin": "raise ImportError('no module named quux')"}, {"broken": "broken_plugin"})
    registry = Registry()
    assert "gan" in registry.variants()  # the others keep working
    record = next(r for r in registry.plugin_records() if r.name == "broken")
    assert record.status == "failed" and record.package == "ganzoo-broken" and record.version == "0.1"
    assert "no module named quux" in record.error
    assert "broken" in capsys.readouterr().err


def test_plugin_raising_while_declaring_is_isolated(site):
    source = "from ganzoo import hookimpl\n@hookimpl\ndef ganzoo_variants():\n    raise RuntimeError('boom')\n"
    install_fake_distribution(site, "ganzoo-raiser", "0.2", {"raiser": source}, {"raiser": "raiser"})
    registry = Registry()
    assert "gan" in registry.variants()
    record = next(r for r in registry.plugin_records() if r.name == "raiser")
    assert record.status == "failed" and "boom" in record.error


def test_misspelled_hook_is_an_error_not_a_silent_no_op(site):
    source = "from ganzoo import hookimpl\n@hookimpl\ndef ganzoo_varients():\n    return []\n"
    install_fake_distribution(site, "ganzoo-typo", "0.1", {"typo": source}, {"typo": "typo"})
    registry = Registry()
    record = next(r for r in registry.plugin_records() if r.name == "typo")
    assert record.status == "failed" and "ganzoo_varients" in record.error
    assert "typo" not in [registry.pm.get_name(p) for p in registry.pm.get_plugins()]


def test_two_packages_claiming_one_variant_name_are_refused(site):
    install_fake_distribution(site, "ganzoo-copycat", "0.3", {"copycat": toy_variant_source("gan")}, {"copycat": "copycat"})
    with pytest.raises(PluginError) as info:
        Registry().variants()
    message = str(info.value)
    assert "'gan'" in message and "ganzoo-copycat" in message and "ganzoo " in message + " "


def test_disabled_plugin_is_blocked_without_uninstalling(site, monkeypatch):
    install_fake_distribution(site, "ganzoo-toy", "1.0", {"toy_plugin": toy_variant_source("toy")}, {"toy": "toy_plugin"})
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "toy")
    registry = Registry()
    assert "toy" not in registry.variants()
    assert next(r for r in registry.plugin_records() if r.name == "toy").status == "disabled"


def test_strict_mode_reraises_for_plugin_authors(site, monkeypatch):
    install_fake_distribution(site, "ganzoo-broken", "0.1", {"broken_plugin": "raise ImportError('nope')"}, {"broken": "broken_plugin"})
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    with pytest.raises(ImportError, match="nope"):
        Registry()


def test_command_line_lists_installed_plugin_and_reports_broken_one(site):
    install_fake_distribution(site, "ganzoo-toy", "1.0", {"toy_plugin": toy_variant_source("toy")}, {"toy": "toy_plugin"})
    install_fake_distribution(site, "ganzoo-broken", "0.1", {"broken_plugin": "import does_not_exist_xyz"}, {"broken": "broken_plugin"})
    listed = run_cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["toy"]["package"] == "ganzoo-toy" and "gan" in rows
    assert "broken" in listed.stderr  # a warning, not a crash
    plugins = run_cli("plugins", "--json")
    assert plugins.returncode == 0
    broken = next(p for p in json.loads(plugins.stdout) if p["name"] == "broken")
    assert broken["status"] == "failed" and "does_not_exist_xyz" in broken["error"] and broken["version"] == "0.1"
