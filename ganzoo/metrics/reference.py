"""The reference side of a comparison: real samples of a run's dataset and their cached features.

Reference features depend only on the dataset (name, split, root, image size), the number of
samples, the seed that picks them and the extractor, so they are computed once and kept in a
safetensors file: under ``<data root>/.ganzoo-reference/`` when the run reads its data from a
folder (shared by every run on that data), else in the run folder's ``eval/``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

CACHE_FOLDER = ".ganzoo-reference"


def build_source(run):
    """The run's data source, built from its resolved config as training built it (once per run),
    but whole: a run trained on ``data.limit`` samples is compared with the full dataset, as
    data-efficient GAN papers measure (Zhao et al. 2020, section 4; Karras et al. 2020, section 3)."""
    source = getattr(run, "_metric_source", None)
    if source is None:
        config = run.config
        if getattr(config.data, "limit", 0):
            config = copy.deepcopy(config)
            config.data.limit = 0
        source = run.registry.dataset(config.dataset).build(config)
        run._metric_source = source
    return source


def dataset_size(source) -> int:
    if hasattr(source, "tensors"):
        return len(source)
    if hasattr(source, "dataset"):
        return len(source.dataset)
    return source.info.size


def real_samples(source, n: int, seed: int = 0, keys: tuple[str, ...] = ("real",)) -> dict[str, Tensor]:
    """``n`` samples (fewer if the dataset is smaller) drawn without replacement by ``seed``, on the CPU,
    and under ``index`` their positions in the dataset.

    A random subset rather than the first ``n``: image folders are sorted by class.
    """
    total = dataset_size(source)
    index = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[: min(n, total)]
    if hasattr(source, "tensors"):
        return {"index": index, **{k: source._convert(k, source.tensors[k].cpu()[index]) for k in keys}}
    if hasattr(source, "dataset"):
        items = [source._as_dict(source.dataset[int(i)]) for i in index]
        return {"index": index, **{k: torch.stack([torch.as_tensor(it[k]) for it in items]).cpu() for k in keys}}
    examples = source.examples(n, torch.device("cpu"))
    return {"index": torch.arange(len(examples[keys[0]])), **{k: examples[k] for k in keys}}


def cache_folder(run, cache_dir: str | Path | None = None) -> Path:
    """Where reference features of ``run``'s data are kept (see the module docstring)."""
    if cache_dir:
        return Path(cache_dir)
    root = run.config.data.root
    if root and os.access(root, os.W_OK):
        return Path(root) / CACHE_FOLDER
    return Path(run.run_dir) / "eval"


def cache_key(run, what: str, n: int, seed: int) -> str:
    """A file stem naming the extractor and hashing everything the reference features depend on."""
    config = run.config
    identity = {"dataset": config.dataset, "root": str(config.data.root), "split": config.data.split,
                "image_size": config.image_size, "channels": config.data.channels, "n": n, "seed": seed,
                "what": what}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return f"{what}-{config.dataset}-{digest}"


def cached(path: Path, compute: Callable[[], dict[str, Tensor]]) -> dict[str, Tensor]:
    """Read the tensors in ``path``, or compute and write them (atomically) first."""
    from safetensors.torch import load_file, save_file

    if path.is_file():
        return load_file(str(path))
    tensors = {k: v.contiguous() for k, v in compute().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    save_file(tensors, str(partial))
    os.replace(partial, path)
    return tensors


def reference_features(run, what: str, n: int, seed: int, extract: Callable[[Tensor], dict[str, Tensor]],
                       key: str = "real", cache_dir: str | Path | None = None) -> dict[str, Tensor]:
    """Features ``extract(images)`` of ``n`` real images (data key ``key``) of the run's dataset, cached."""
    path = cache_folder(run, cache_dir) / f"{cache_key(run, f'{what}-{key}', n, seed)}.safetensors"

    def compute() -> dict[str, Tensor]:
        images = real_samples(build_source(run), n, seed, keys=(key,))[key]
        return extract(images)

    return cached(path, compute)
