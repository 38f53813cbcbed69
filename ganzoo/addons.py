"""Add-ons: cross-cutting plugins that act on any variant, but only in the runs that name them.

An add-on is declared through the ``ganzoo_addons`` hook (:class:`ganzoo.spec.AddonSpec`: name,
summary, paper, settings dataclass) and does its work in ordinary hook implementations, usually
wrappers. Installing one changes nothing: a run enables it with ``--with NAME`` (or ``addons =
[...]`` in a config file), which puts its settings into ``config.addons[NAME]`` and the ``[NAME]``
section of the run's ``config.toml``. Resume, sample and eval enable the add-ons the run recorded,
and refuse to go on without them.

This module holds what the engine and add-on authors share: enabling add-ons in a config, finding
the networks of a role (``networks_of(variant, networks, "discriminator")``), checking the roles a
variant declares, and what a run folder records about its add-ons.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ganzoo.errors import PluginError, UserError, closest
from ganzoo.spec import ROLES, AddonSpec, VariantSpec


def enable(config: Any, names: Iterable[str], specs: Mapping[str, AddonSpec]) -> None:
    """Enable the add-ons ``names`` (in order, each once) in ``config`` with their default settings.

    An add-on that is not installed is a one-line error naming the installed ones; one whose name
    would shadow a config section (``model``, ``data``, ...) is the add-on author's error.
    """
    if isinstance(names, str):
        raise UserError(f"bad addons {names!r}: expected a list of add-on names, e.g. addons = [{names!r}]")
    reserved = {f.name for f in dataclasses.fields(config)}
    for name in names:
        if not isinstance(name, str):
            raise UserError(f"bad add-on {name!r} in addons: expected add-on names, e.g. addons = [\"ema\"]")
        if name in config.addons:
            continue
        if name not in specs:
            hint = closest(name, specs) if specs else "no add-on is installed"
            raise UserError(f"unknown add-on {name!r}; {hint} (ganzoo plugins lists them)")
        if name in reserved:
            raise PluginError(f"add-on {name!r} from {specs[name].package} shadows the config section {name!r}; rename it")
        config.addons[name] = specs[name].default_settings()


def check_sections(keys: Iterable[str], config: Any, specs: Mapping[str, AddonSpec]) -> None:
    """A setting of an installed add-on the run does not enable says so, with the fix."""
    for key in keys:
        section = key.split(".", 1)[0]
        if "." in key and section in specs and section not in config.addons:
            raise UserError(f"{key} is a setting of add-on {section!r}, which this run does not enable; "
                            f"add --with {section}")


# --------------------------------------------------------------------------------------------------
# Network roles
# --------------------------------------------------------------------------------------------------


def check_roles(variant: VariantSpec, networks: Mapping[str, Any]) -> None:
    """Every network a variant declares in ``roles`` must be one its networks hook built."""
    for role, names in variant.roles.items():
        if role not in ROLES:
            raise PluginError(f"variant {variant.name!r} ({variant.package}) declares an unknown role {role!r}; "
                              f"roles are {', '.join(ROLES)}")
        if isinstance(names, str):
            raise PluginError(f"variant {variant.name!r} ({variant.package}) gives role {role!r} a string; "
                              f"give a tuple of network names, e.g. ({names!r},)")
        missing = [name for name in names if name not in networks]
        if missing:
            raise PluginError(
                f"variant {variant.name!r} ({variant.package}) declares {role} network(s) {missing} but its "
                f"networks hook built {sorted(networks)}; fix VariantSpec.roles or the networks"
            )


def networks_of(variant: VariantSpec, networks: Mapping[str, Any], role: str, addon: str = "") -> tuple[str, ...]:
    """The names of ``variant``'s networks of ``role`` that ``networks`` holds.

    With ``addon`` given, a variant that declares no network of that role is a one-line error
    saying that this add-on cannot act on it (instead of guessing from network names)."""
    names = tuple(name for name in variant.networks_of(role) if name in networks)
    if not names and addon:
        raise UserError(f"add-on {addon!r} acts on the {role} networks, but variant {variant.name!r} "
                        f"({variant.package}) declares none (VariantSpec.roles); run it without --with {addon}")
    return names


# --------------------------------------------------------------------------------------------------
# What a run folder records
# --------------------------------------------------------------------------------------------------


def addon_records(config: Any, registry: Any) -> dict[str, dict[str, str]]:
    """``{name: {"package": ..., "version": ...}}`` of the run's enabled add-ons, for ``run.json``."""
    versions = {r.package: r.version for r in registry.records}
    specs = registry.addons()
    out = {}
    for name in config.addons:
        package = specs[name].package
        out[name] = {"package": package, "version": versions.get(package, "?")}
    return out


def recorded_addons(run_dir: Path | str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The add-ons a run folder's ``config.toml`` enables, and the packages ``run.json`` names."""
    from ganzoo import config as cfg

    run_dir = Path(run_dir)
    names = list(cfg.read_toml(run_dir / "config.toml").get("addons", []))
    records: dict[str, dict[str, str]] = {}
    try:
        records = json.loads((run_dir / "run.json").read_text()).get("addons", {}) or {}
    except (OSError, ValueError):
        pass
    return names, records


def run_addon_specs(run_dir: Path | str, registry: Any) -> dict[str, AddonSpec]:
    """The installed specs of the add-ons a run recorded; a missing one is a one-line error naming
    the package to install (or why its installed package did not load)."""
    names, records = recorded_addons(run_dir)
    installed = registry.addons()
    for name in names:
        if name in installed:
            continue
        package = records.get(name, {}).get("package") or "the package that provides it"
        broken = [r for r in getattr(registry, "records", []) if r.package == package and r.status != "loaded"]
        if broken:
            raise UserError(
                f"run {str(run_dir)!r} uses add-on {name!r} from package {package!r}, which is installed but "
                f"{broken[0].status} ({broken[0].error or 'blocked by GANZOO_DISABLE_PLUGINS'}); see ganzoo plugins"
            )
        raise UserError(
            f"run {str(run_dir)!r} uses add-on {name!r} from package {package!r}, which is not installed; "
            f"install it (pip install {package}) and try again"
        )
    return {name: installed[name] for name in names}


def run_plugins(registry: Any, variant: VariantSpec, config: Any) -> dict[str, str]:
    """``{package: version}`` of the plugin packages a run depends on, for ``run.json``: ganzoo's
    core, the variant's, the dataset's, the enabled add-ons' and any that wraps the variant's
    networks. Installed packages that play no part in the run are left out."""
    from ganzoo.engine.network_keys import network_wrappers

    versions = {r.package: r.version for r in registry.records if r.status == "loaded"}
    packages = {r.package for r in registry.records if r.name == "core"}
    packages.add(variant.package)
    datasets = registry.datasets()
    if config.dataset in datasets:
        packages.add(datasets[config.dataset].package)
    specs = registry.addons()
    packages.update(specs[name].package for name in config.addons if name in specs)
    packages.update(network_wrappers(registry, config))
    return {package: versions[package] for package in sorted(packages) if package in versions}
