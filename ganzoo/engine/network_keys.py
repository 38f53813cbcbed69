"""Checkpoint keys that no longer fit the networks built now, said in one line with the plugin to blame.

Wrapping a network changes the names of its weights in ``state_dict``: torch's spectral-norm
parametrisation turns ``weight`` into ``parametrizations.weight.original``, a wrapper module adds a
prefix. A run trained with such a wrapper (an add-on it enabled, or a plugin that overrides another
variant's networks) then no longer loads without it, and the other way round. PyTorch says so in a
long ``RuntimeError: Missing key(s) in state_dict``; here the run gets one line naming the add-on or
plugin package whose wrapping differs between the checkpoint and now.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ganzoo.errors import UserError


def network_wrappers(registry: Any, config: Any) -> dict[str, str]:
    """``{package: version}`` of the plugins that may change this run's networks after the variant
    built them: implementations of ``ganzoo_networks`` that wrap (or answer first for) another
    plugin's, counting an add-on's package only when the run enables one of its add-ons."""
    specs = registry.addons()
    addon_packages = {spec.package for spec in specs.values()}
    enabled = {specs[name].package for name in getattr(config, "addons", {}) if name in specs}
    versions = {r.package: r.version for r in registry.records}
    found: dict[str, str] = {}
    for impl in registry.hook.ganzoo_networks.get_hookimpls():
        if not (getattr(impl, "wrapper", False) or impl.hookwrapper or impl.tryfirst):
            continue
        package = registry._package_of(impl.plugin)
        if package in addon_packages and package not in enabled:
            continue
        found[package] = versions.get(package, "?")
    return found


def _addons_of(registry: Any, package: str) -> list[str]:
    return sorted(name for name, spec in registry.addons().items() if spec.package == package)


def check_network_keys(networks: Mapping[str, Any], payload: Mapping[str, Any], path: Path | str,
                       registry: Any, config: Any) -> None:
    """Raise a one-line :class:`UserError` when a saved network's keys differ from the built one's."""
    saved = payload.get("networks", {})
    for name, net in networks.items():
        if name not in saved:
            continue
        now, then = set(net.state_dict()), set(saved[name])
        if now == then:
            continue
        missing, unexpected = sorted(now - then), sorted(then - now)
        detail = ", ".join(part for part in (
            f"{len(missing)} missing such as {missing[0]!r}" if missing else "",
            f"{len(unexpected)} unexpected such as {unexpected[0]!r}" if unexpected else "",
        ) if part)
        before = payload.get("network_wrappers")
        current = network_wrappers(registry, config)
        if before is None:  # a checkpoint from before wrappers were recorded
            suspects, trained_with = sorted(current), False
        else:
            suspects = sorted(set(before) ^ set(current))
            trained_with = bool(suspects) and suspects[0] in before
        if suspects:
            package = suspects[0]
            addons = _addons_of(registry, package)
            what = f"add-on {', '.join(addons)} ({package})" if addons else f"plugin package {package}"
            cause = (f"the run was trained with {what} wrapping them, which does not now: install and enable it again"
                     if trained_with else
                     f"{what} wraps them now but did not when the run was trained: block it with "
                     "GANZOO_DISABLE_PLUGINS or uninstall it")
        else:
            cause = (f"no wrapping plugin changed between then and now; the checkpoint was written by another "
                     f"version of {payload.get('package') or 'the variant'}")
        raise UserError(f"checkpoint {str(path)!r} does not fit network {name!r} built now ({detail} keys): {cause}")
