"""Sizing networks without data: the sample shape and class count a dataset declares.

Every built-in dataset declares, in its :class:`ganzoo.spec.DatasetSpec`, the shape of its samples
at their own size (``shape``) and its number of classes (``num_classes``), so ``ganzoo info`` and
``ganzoo bench`` can build a variant's networks for it on a machine that does not hold its files.
The run's ``image_size`` and ``data.channels`` apply as they do when the data is read. An explicit
shape and class count (``--shape C,H,W``, ``--classes K``) replace the declared ones.
"""

from __future__ import annotations

from typing import Any

from ganzoo.errors import UserError
from ganzoo.spec import DataInfo, DatasetSpec

#: ``num_classes`` of a dataset whose classes are known only from its files (an image folder).
CLASSES_FROM_FILES = -1


def parse_shape(text: str) -> tuple[int, ...]:
    """``"3,32,32"`` → ``(3, 32, 32)``; also ``"2"`` for points. A clear error for anything else."""
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        shape = ()
    if len(shape) not in (1, 3) or any(n < 1 for n in shape):
        raise UserError(f"bad --shape {text!r}: expected C,H,W for images (e.g. 3,32,32) or 2 for points")
    return shape


def declared_info(spec: DatasetSpec, config: Any) -> DataInfo | None:
    """The samples ``spec`` gives under ``config``, without reading a file; None when it declares none."""
    if not spec.shape or spec.num_classes == CLASSES_FROM_FILES:
        return None
    if spec.kind == "points":
        return DataInfo(kind="points", shape=tuple(spec.shape))
    channels, height, width = spec.shape
    if config.data.channels:
        if config.data.channels not in (1, 3):
            raise UserError(f"bad value {config.data.channels} for data.channels: expected 1 or 3 (or 0 for the dataset's own)")
        channels = config.data.channels
    if config.image_size:
        height = width = config.image_size
    return DataInfo(kind=spec.kind, shape=(channels, height, width), num_classes=spec.num_classes)


def data_info(registry: Any, config: Any, shape: tuple[int, ...] | None = None, classes: int | None = None) -> DataInfo:
    """What the networks of a run of ``config`` are sized for.

    An explicit ``shape``/``classes`` wins; then what the dataset declares; only a dataset that
    declares nothing (a third-party one, or an image folder's classes) is opened to find out.
    """
    spec = registry.dataset(config.dataset)
    if classes is not None and classes < 0:
        raise UserError(f"bad --classes {classes}: expected 0 (unlabelled) or more")
    if shape is not None:
        kind = "points" if len(shape) == 1 else spec.kind if spec.kind != "points" else "images"
        if kind == "labelled-images" and classes == 0:
            kind = "images"
        declared = spec.num_classes if spec.num_classes > 0 else 0
        return DataInfo(kind=kind, shape=tuple(shape), num_classes=declared if classes is None else classes)
    info = declared_info(spec, config)
    if info is None and classes is not None and spec.shape:
        info = declared_info(_with_classes(spec, classes), config)
    if info is None:
        info = spec.build(config).info
    if classes is not None:
        from dataclasses import replace

        info = replace(info, num_classes=classes, kind="images" if classes == 0 and info.kind == "labelled-images" else info.kind)
    return info


def _with_classes(spec: DatasetSpec, classes: int) -> DatasetSpec:
    from dataclasses import replace

    return replace(spec, num_classes=classes)
