"""A plugin that wraps dcgan's networks hook changes dcgan without forking it, and can be blocked.

The plugin is the spectral-norm example of ``docs/writing-plugins.md`` (section 4), taken from the
guide itself so that the guide shows code that works. It is installed as a distribution with an
entry point, as pip would install it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakeplugins import install_fake_distribution

from ganzoo.cli.main import cli
from ganzoo.conformance import check_variant
from ganzoo.registry import get_registry, reset_registry

GUIDE = Path(__file__).parents[1] / "docs" / "writing-plugins.md"


def guide_example(module: str) -> str:
    """The python block that follows ``<!-- example: MODULE -->`` in the guide."""
    found = re.search(rf"<!-- example: {module} -->\n```python\n(.*?)```", GUIDE.read_text(), re.S)
    assert found, f"docs/writing-plugins.md has no example marked {module}"
    return found.group(1)


@pytest.fixture
def sn_dcgan(site):
    if "dcgan" not in get_registry().variants():
        pytest.skip("the built-in dcgan variant is not installed")
    install_fake_distribution(site, "ganzoo-sn-dcgan", "0.1.0", {"ganzoo_sn_dcgan": guide_example("ganzoo_sn_dcgan")},
                              {"sn-dcgan": "ganzoo_sn_dcgan"})
    reset_registry()
    return site


def info_networks_in_process() -> dict:
    reset_registry()
    result = CliRunner().invoke(cli, ["info", "dcgan", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["networks"]


def test_a_spectral_norm_plugin_changes_what_ganzoo_info_dcgan_reports(site, monkeypatch):
    before = info_networks_in_process()
    assert before["discriminator"]["class"] == "DCGANDiscriminator"
    install_fake_distribution(site, "ganzoo-sn-dcgan", "0.1.0", {"ganzoo_sn_dcgan": guide_example("ganzoo_sn_dcgan")},
                              {"sn-dcgan": "ganzoo_sn_dcgan"})
    # the real command, in a new process that discovers the installed entry point
    done = subprocess.run([sys.executable, "-m", "ganzoo", "info", "dcgan", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after = json.loads(done.stdout)["networks"]
    assert after["discriminator"]["class"] == "SpectralNormDiscriminator"
    assert after["discriminator"]["parameters"] == before["discriminator"]["parameters"]  # same layers, normalised
    assert after["generator"] == before["generator"]  # only the discriminator was replaced

    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "sn-dcgan")
    assert info_networks_in_process() == before
    plugins = {r["name"]: r for r in json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).output)}
    assert plugins["sn-dcgan"]["status"] == "disabled" and plugins["sn-dcgan"]["package"] == "ganzoo-sn-dcgan"


def test_dcgan_with_the_spectral_norm_discriminator_still_keeps_the_contract(sn_dcgan):
    registry = get_registry()
    report = check_variant("dcgan", registry=registry, overrides={"model.ngf": 8, "model.ndf": 8})
    assert report.ok
    loaded = {r.name: r.status for r in registry.plugin_records()}
    assert loaded["sn-dcgan"] == "loaded"
