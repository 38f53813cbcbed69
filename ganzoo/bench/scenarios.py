"""Benchmark scenarios and the plain reference loops they are compared with.

The scenarios and the hand-written reference loops live in the source tree's ``benchmarks/``
folder (``scenarios.py`` and ``reference/<variant>.py``), beside the recorded results; the
``GANZOO_BENCHMARKS`` environment variable points elsewhere. Without that folder (an installed
wheel) or for a variant that has no scenario (a third-party plugin), ``ganzoo bench NAME`` still
times the variant at its paper settings, without a baseline.

A reference module defines ``make_loop(config, data, device)``: it builds the variant's networks
from the variant's own classes (so the model is identical), its own optimisers and losses, and
returns ``(step, networks)``, where ``step(batches)`` is one training iteration that draws what it
needs with ``next(batches)``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ganzoo.errors import UserError, closest


@dataclass(frozen=True)
class Scenario:
    """One benchmark: a variant at a batch and image size, as a paper or a common recipe sets it."""

    name: str
    variant: str
    summary: str
    batch_size: int
    image_size: int
    #: Image channels of the synthetic data (1 for MNIST, 3 for colour datasets).
    channels: int = 3
    #: Classes of the synthetic labels (conditional variants).
    num_classes: int = 0
    #: Dotted config keys applied to every run of the scenario (e.g. ``model.n_critic``).
    overrides: Mapping[str, Any] = field(default_factory=dict)
    #: What a small run (the default on CPU, and CI) changes: ``batch_size``, ``image_size`` and
    #: dotted config keys.
    small: Mapping[str, Any] = field(default_factory=dict)
    #: The dataset of the real-pipeline figure ("" for the variant's default dataset).
    pipeline_dataset: str = ""
    #: For datasets read from a folder: the layout of the generated folder (``classes`` or
    #: ``unpaired``); empty for datasets that need no files.
    pipeline_folder: str = ""
    #: The reference loop's module in ``benchmarks/reference/`` ("" for the variant's name).
    reference: str = ""

    def sized(self, small: bool, batch_size: int | None = None, image_size: int | None = None) -> Scenario:
        """This scenario at the small size (when ``small``) and at explicit sizes (when given)."""
        from dataclasses import replace

        overrides = dict(self.overrides)
        batch, size = self.batch_size, self.image_size
        if small:
            for key, value in self.small.items():
                if key == "batch_size":
                    batch = value
                elif key == "image_size":
                    size = value
                else:
                    overrides[key] = value
        return replace(self, batch_size=batch_size or batch, image_size=image_size or size, overrides=overrides)

    @property
    def reference_name(self) -> str:
        return self.reference or self.variant.replace("-", "_")


def benchmarks_dir() -> Path | None:
    """The ``benchmarks/`` folder: ``$GANZOO_BENCHMARKS``, else the one beside the ganzoo package."""
    env = os.environ.get("GANZOO_BENCHMARKS")
    if env:
        path = Path(env)
        if not (path / "scenarios.py").is_file():
            raise UserError(f"GANZOO_BENCHMARKS={env!r} holds no scenarios.py; point it at a benchmarks/ folder")
        return path
    import ganzoo

    path = Path(ganzoo.__file__).resolve().parent.parent / "benchmarks"
    return path if (path / "scenarios.py").is_file() else None


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_scenarios(folder: Path | None) -> list[Scenario]:
    if folder is None:
        return []
    module = _load_module(folder / "scenarios.py", "ganzoo_benchmarks_scenarios")
    return list(module.SCENARIOS)


def load_reference(folder: Path | None, scenario: Scenario) -> ModuleType | None:
    """The reference-loop module of ``scenario``, or None when there is none."""
    if folder is None:
        return None
    path = folder / "reference" / f"{scenario.reference_name}.py"
    if not path.is_file():
        return None
    return _load_module(path, f"ganzoo_benchmarks_reference_{scenario.reference_name}")


def generic_scenario(variant: Any) -> Scenario:
    """A variant without a scenario: its paper settings on its default dataset, no baseline."""
    return Scenario(
        name=variant.name,
        variant=variant.name,
        summary=f"{variant.name} at its paper settings (no scenario in benchmarks/scenarios.py)",
        batch_size=0,
        image_size=0,
        reference="-",
    )


def select(scenarios: Sequence[Scenario], names: Sequence[str], installed: Mapping[str, Any]) -> list[Scenario]:
    """The scenarios named (by scenario or variant name), all when ``names`` is empty.

    A name that is neither a scenario nor a variant with scenarios, but an installed variant, gets
    a generic scenario; anything else is a user error naming the choices.
    """
    if not names:
        return list(scenarios)
    chosen: list[Scenario] = []
    for name in names:
        matches = [s for s in scenarios if name in (s.name, s.variant)]
        if not matches and name in installed:
            matches = [generic_scenario(installed[name])]
        if not matches:
            choices = [s.name for s in scenarios] + [s.variant for s in scenarios] + list(installed)
            raise UserError(f"no benchmark scenario or variant named {name!r}; {closest(name, choices)}")
        chosen += [m for m in matches if m not in chosen]
    return chosen
