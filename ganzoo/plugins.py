"""The plugin manager: loads the entry-point group ``ganzoo`` one plugin at a time.

``PluginManager.load_setuptools_entrypoints`` stops at the first entry point that fails to import,
which would take the whole CLI down with one broken package, including the command that diagnoses
it. Here every entry point is loaded on its own; a failure is recorded (shown by ``ganzoo plugins``),
warned about on stderr, and the others go on. ``GANZOO_STRICT_PLUGINS=1`` re-raises instead, for
plugin authors; ``GANZOO_DISABLE_PLUGINS=name,...`` blocks plugins by entry-point name.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

import pluggy

from ganzoo import hookspecs

GROUP = "ganzoo"
hookimpl = pluggy.HookimplMarker("ganzoo")


@dataclass
class PluginRecord:
    """What ``ganzoo plugins`` reports about one entry point."""

    name: str
    value: str
    package: str
    version: str
    status: str  # "loaded", "failed" or "disabled"
    error: str = ""
    variants: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    addons: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    #: Filled only once the adversarial losses were asked for (see ``Registry.adversarial_losses``).
    adversarial_losses: list[str] = field(default_factory=list)
    location: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _disabled_names() -> set[str]:
    raw = os.environ.get("GANZOO_DISABLE_PLUGINS", "")
    return {n.strip() for n in raw.split(",") if n.strip()}


def _strict() -> bool:
    return os.environ.get("GANZOO_STRICT_PLUGINS", "") not in ("", "0", "false")


def _entry_points() -> list[tuple[metadata.EntryPoint, metadata.Distribution | None]]:
    found = []
    seen = set()
    for dist in metadata.distributions():
        for ep in dist.entry_points:
            if ep.group != GROUP:
                continue
            key = (ep.name, ep.value)
            if key in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(key)
            found.append((ep, dist))
    found.sort(key=lambda pair: (pair[0].name != "core", pair[0].name))
    return found


def create_manager(load_entrypoints: bool = True) -> tuple[pluggy.PluginManager, list[PluginRecord]]:
    """Build a plugin manager with the hook specs and, optionally, every installed plugin."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    records: list[PluginRecord] = []
    if not load_entrypoints:
        return pm, records
    disabled = _disabled_names()
    for ep, dist in _entry_points():
        package = dist.metadata["Name"] if dist is not None else "?"
        version = dist.version if dist is not None else "?"
        record = PluginRecord(ep.name, ep.value, package, version, "loaded")
        records.append(record)
        if ep.name in disabled:
            pm.set_blocked(ep.name)
            record.status = "disabled"
            continue
        try:
            plugin = ep.load()
            record.location = getattr(plugin, "__file__", "") or ""
            pm.register(plugin, name=ep.name)
            pm.check_pending()  # a misspelled hook name is an error, not a silent no-op
        except Exception as exc:  # a broken plugin must not take the others down
            if pm.get_plugin(ep.name) is not None:
                pm.unregister(name=ep.name)  # registration is not atomic
            record.status = "failed"
            record.error = f"{type(exc).__name__}: {exc}".strip()
            if _strict():
                raise
            print(
                f"ganzoo: warning: plugin {ep.name!r} from {package} {version} failed to load "
                f"({record.error}); run 'ganzoo plugins' for details",
                file=sys.stderr,
            )
            if os.environ.get("GANZOO_DEBUG"):
                traceback.print_exc()
    return pm, records
