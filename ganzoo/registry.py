"""The one door to the plugin machinery: the rest of ganzoo never calls pluggy directly.

The registry loads the plugins on first use, collects the variants, datasets and metrics they
declare (refusing duplicate names), and wraps every per-run hook call.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING, Any

from ganzoo.errors import PluginError, unknown
from ganzoo.hook_results import check_answer, collected_items
from ganzoo.plugins import PluginRecord, create_manager
from ganzoo.spec import AddonSpec, DatasetSpec, MetricSpec, VariantSpec
from ganzoo.tables import TableSpec

if TYPE_CHECKING:  # pragma: no cover
    import pluggy


class Registry:
    """Plugins, and the variants, datasets and metrics they declared."""

    def __init__(self, load_entrypoints: bool = True) -> None:
        self.pm, self.records = create_manager(load_entrypoints)
        self._collected: dict[str, dict[str, Any]] | None = None
        self._adversarial_losses: dict[str, Any] | None = None

    # -- plugins ------------------------------------------------------------------------------

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object in-process (tests, notebooks) and forget collected names."""
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        self._collected = self._adversarial_losses = None

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._collected = self._adversarial_losses = None

    def _package_of(self, plugin: object) -> str:
        name = self.pm.get_name(plugin)
        for record in self.records:
            if record.name == name:
                return record.package
        return name or "?"

    def _record_of(self, plugin: object) -> PluginRecord | None:
        name = self.pm.get_name(plugin)
        return next((r for r in self.records if r.name == name), None)

    def _collect(self, hook_name: str, kind: str, spec_class: type, field: str = "") -> dict[str, Any]:
        """Every plugin's ``spec_class`` items from the collecting hook ``hook_name``. A plugin that
        raises or answers anything but a list of ``spec_class`` is recorded as failed (its items
        are all left out) and the others go on."""
        caller = getattr(self.pm.hook, hook_name)
        found: dict[str, Any] = {}
        for impl in reversed(caller.get_hookimpls()):  # registration order
            package = self._package_of(impl.plugin)
            record = self._record_of(impl.plugin)
            try:
                items = collected_items(hook_name, impl.function(), spec_class)
            except Exception as exc:  # isolate a plugin that raises or answers wrongly while declaring
                message = f"{type(exc).__name__}: {exc}"
                if record is not None:
                    record.status, record.error = "failed", message
                print(f"ganzoo: warning: {package} failed in {hook_name}: {message}", file=sys.stderr)
                continue
            for item in items:
                item = dataclasses.replace(item, package=package)
                if item.name in found:
                    raise PluginError(
                        f"{kind.replace('_', ' ')} name {item.name!r} is declared by both {found[item.name].package} "
                        f"and {package}; uninstall one or block it with GANZOO_DISABLE_PLUGINS"
                    )
                found[item.name] = item
                if record is not None:
                    getattr(record, field or kind + "s").append(item.name)
        return found

    def _all(self) -> dict[str, dict[str, Any]]:
        if self._collected is None:
            for record in self.records:
                record.variants, record.datasets, record.metrics, record.addons = [], [], [], []
                record.tables = []
            self._collected = {
                "variant": self._collect("ganzoo_variants", "variant", VariantSpec),
                "dataset": self._collect("ganzoo_datasets", "dataset", DatasetSpec),
                "metric": self._collect("ganzoo_metrics", "metric", MetricSpec),
                "addon": self._collect("ganzoo_addons", "addon", AddonSpec),
                "table": self._collect("ganzoo_tables", "table", TableSpec),
            }
        return self._collected

    # -- lookups ------------------------------------------------------------------------------

    def variants(self) -> dict[str, VariantSpec]:
        return self._all()["variant"]

    def datasets(self) -> dict[str, DatasetSpec]:
        return self._all()["dataset"]

    def metrics(self) -> dict[str, MetricSpec]:
        return self._all()["metric"]

    def addons(self) -> dict[str, AddonSpec]:
        return self._all()["addon"]

    def tables(self) -> dict[str, TableSpec]:
        """The published tables ``ganzoo reproduce`` can re-run (:mod:`ganzoo.tables`)."""
        return self._all()["table"]

    def table(self, name: str) -> TableSpec:
        found = self.tables()
        if name not in found:
            raise unknown("table", name, found)
        return found[name]

    def addon(self, name: str) -> AddonSpec:
        found = self.addons()
        if name not in found:
            raise unknown("add-on", name, found)
        return found[name]

    def adversarial_losses(self) -> dict[str, Any]:
        """The adversarial losses by name (:class:`ganzoo.parts.losses.AdversarialLoss`).

        Collected on first use only, apart from the other kinds: declaring them imports torch,
        which ``ganzoo list`` does not need.
        """
        if self._adversarial_losses is None:
            from ganzoo.parts.losses import AdversarialLoss

            self._all()
            for record in self.records:
                record.adversarial_losses = []
            self._adversarial_losses = self._collect(
                "ganzoo_adversarial_losses", "adversarial_loss", AdversarialLoss, "adversarial_losses"
            )
        return self._adversarial_losses

    def variant(self, name: str) -> VariantSpec:
        found = self.variants()
        if name not in found:
            raise unknown("variant", name, found)
        return found[name]

    def dataset(self, name: str) -> DatasetSpec:
        found = self.datasets()
        if name not in found:
            raise unknown("dataset", name, found)
        return found[name]

    def metric(self, name: str) -> MetricSpec:
        found = self.metrics()
        if name not in found:
            raise unknown("metric", name, found)
        return found[name]

    def plugin_records(self) -> list[PluginRecord]:
        self._all()
        return self.records

    # -- per-run hooks ------------------------------------------------------------------------

    @property
    def hook(self) -> pluggy.HookRelay:
        return self.pm.hook

    def _answer(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a first-result per-run hook and check the type of its answer (see
        :mod:`ganzoo.hook_results`): a wrong one is a PluginError naming the plugin and the hook."""
        answer = getattr(self.pm.hook, hook_name)(**kwargs)
        return check_answer(self.pm, self._package_of, hook_name, answer, kwargs)

    def losses(self, variant: VariantSpec, player: str, ctx: Any) -> Any:
        return self._answer("ganzoo_losses", variant=variant, player=player, ctx=ctx)

    def train_step(self, variant: VariantSpec, schedule: Any, ctx: Any) -> Any:
        return self._answer("ganzoo_train_step", variant=variant, schedule=schedule, ctx=ctx)

    def sample(self, **kwargs: Any) -> Any:
        return self._answer("ganzoo_sample", **kwargs)

    def networks(self, variant: VariantSpec, config: Any, data: Any) -> dict[str, Any]:
        nets = self._answer("ganzoo_networks", variant=variant, config=config, data=data)
        if not nets:
            raise PluginError(f"no plugin built networks for variant {variant.name!r}")
        from ganzoo.addons import check_roles

        check_roles(variant, nets)
        return nets

    def schedule(self, variant: VariantSpec, config: Any, networks: dict[str, Any]) -> Any:
        schedule = self._answer("ganzoo_schedule", variant=variant, config=config, networks=networks)
        if schedule is None:
            raise PluginError(f"no plugin declared a training schedule for {variant.name!r}")
        return schedule


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, created (and plugins loaded) on first use."""
    global _registry
    if _registry is None:
        _registry = Registry()
    return _registry


def reset_registry() -> None:
    """Forget the loaded plugins so the next use reloads entry points (tests)."""
    global _registry
    _registry = None
