"""ganzoo: a GAN variant zoo for PyTorch in which every variant is a plugin.

The engine knows no variant by name; variants arrive through the ``ganzoo`` entry-point group
(see :mod:`ganzoo.hookspecs`). Importing ganzoo does not import torch.
"""

from __future__ import annotations

from typing import Any

from ganzoo.plugins import hookimpl
from ganzoo.spec import (
    AddonSpec,
    DataInfo,
    DatasetSpec,
    MetricSpec,
    Paper,
    Player,
    Schedule,
    StepContext,
    VariantSpec,
)

__version__ = "0.1.0"

__all__ = [
    "AddonSpec",
    "DataInfo",
    "DatasetSpec",
    "MetricSpec",
    "Paper",
    "Player",
    "Schedule",
    "StepContext",
    "VariantSpec",
    "hookimpl",
    "list_variants",
    "load",
    "train",
    "__version__",
]


def list_variants() -> list[VariantSpec]:
    """Every installed variant, sorted by name."""
    from ganzoo.api import list_variants as _list

    return _list()


def train(variant: str, **options: Any):
    """Train a variant; see :func:`ganzoo.api.train`."""
    from ganzoo.api import train as _train

    return _train(variant, **options)


def load(run_dir: Any, **options: Any):
    """Load a trained run for sampling; see :func:`ganzoo.api.load`."""
    from ganzoo.api import load as _load

    return _load(run_dir, **options)
