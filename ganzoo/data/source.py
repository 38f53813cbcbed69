"""Data sources: endless, seeded, resumable streams of batches on the training device.

Small datasets (MNIST, the 2-D mixtures, CIFAR-10) are held as one tensor on the device and sliced
by a per-epoch permutation: no DataLoader, no host-to-device copy per step. Folders on disk go
through a DataLoader with worker processes. Either way the order is a function of ``(seed, epoch)``
and the position in the epoch, so a resumed run sees exactly the batches it would have seen.

Under torchrun every process holds the same permutation and takes its shard of each global batch
(:meth:`DataSource.shard`); see ``docs/distributed.md``.
"""

from __future__ import annotations

import contextlib
import random
import signal
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ganzoo.spec import DataInfo


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    # modulo 2**63: any seed ganzoo accepts (< 2**63) stays within what manual_seed takes
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**63)


class DataSource:
    """Base class. ``info`` describes the samples; ``batches`` yields dicts of device tensors."""

    info: DataInfo
    #: This process's shard of every global batch (see :meth:`shard`); one process takes it all.
    rank: int = 0
    world_size: int = 1
    _global_batch = 0  # batch_size × world_size of the running stream
    _resumed_global_batch = 0  # the global batch size a loaded state counted its position in

    def __init__(self) -> None:
        self.epoch = 0
        self.position = 0  # (global) batches already drawn in the current epoch

    def shard(self, rank: int, world_size: int) -> None:
        """Draw process ``rank``'s share of every global batch of ``world_size × batch_size``: rows
        ``[rank·b, (rank+1)·b)`` of it. The shards of one global batch are then exactly the batch a
        single process draws with ``batch_size × world_size`` (the same permutation, sliced)."""
        self.rank, self.world_size = rank, world_size

    def _start(self, batch_size: int, n: int) -> int:
        """Begin a stream of ``batch_size`` per process over ``n`` samples; return the global batch.

        A position loaded from a run with another global batch (another number of processes)
        continues at the same sample offset of the epoch, rounded down to a whole global batch.
        """
        global_batch = batch_size * self.world_size
        if global_batch > n:
            from ganzoo.errors import UserError

            size = f"batch_size {batch_size}" if self.world_size == 1 else (
                f"the global batch ({batch_size} × {self.world_size} processes = {global_batch})")
            raise UserError(f"{size} is larger than the dataset ({n} samples); lower --batch-size")
        saved, self._resumed_global_batch = self._resumed_global_batch, 0
        if saved and saved != global_batch:
            self.position = self.position * saved // global_batch
        self._global_batch = global_batch
        return global_batch

    def _rows(self, position: int, batch_size: int) -> slice:
        """This process's rows of global batch ``position`` in the epoch's permutation."""
        start = (position * self.world_size + self.rank) * batch_size
        return slice(start, start + batch_size)

    def batches(self, batch_size: int, seed: int, device: torch.device) -> Iterator[dict[str, torch.Tensor]]:
        raise NotImplementedError

    def examples(self, n: int, device: torch.device) -> dict[str, torch.Tensor]:
        """The first ``n`` samples (deterministic; used for grids of real data and tests)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position, "global_batch": self._global_batch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self._resumed_global_batch = int(state.get("global_batch", 0))


def refuse_limit(config: Any, dataset: str) -> None:
    """``data.limit`` is honoured by the image tensors of MNIST and the torchvision datasets; any
    other dataset says so instead of silently training on all of its data."""
    if getattr(config.data, "limit", 0):
        from ganzoo.errors import UserError

        raise UserError(f"data.limit is not supported by dataset {dataset!r}; use it with mnist, fashion-mnist "
                        "or cifar10, or drop --set data.limit")


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] to float in [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


def resize_uint8(images: torch.Tensor, size: int, chunk: int = 2048) -> torch.Tensor:
    """Resize a uint8 NCHW tensor to ``size``×``size`` (bilinear, antialiased), staying uint8."""
    import torch.nn.functional as F

    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = []
    for start in range(0, images.shape[0], chunk):
        part = images[start : start + chunk].float()
        part = F.interpolate(part, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out.append(part.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)


class TensorSource(DataSource):
    """A dataset held as tensors (images as uint8, points as float32) on the training device."""

    def __init__(self, tensors: dict[str, torch.Tensor], info: DataInfo, **extra: Any) -> None:
        super().__init__()
        self.tensors = tensors
        self.info = info
        self.extra = extra
        self._on: torch.device | None = None

    def __len__(self) -> int:
        return next(iter(self.tensors.values())).shape[0]

    def to(self, device: torch.device) -> TensorSource:
        if self._on != device:
            self.tensors = {k: v.to(device) for k, v in self.tensors.items()}
            self._on = device
        return self

    def _convert(self, key: str, value: torch.Tensor) -> torch.Tensor:
        if value.dtype == torch.uint8 and key != "label":
            return to_unit_range(value)
        return value

    def batches(self, batch_size: int, seed: int, device: torch.device) -> Iterator[dict[str, torch.Tensor]]:
        self.to(device)
        n = len(self)
        per_epoch = n // self._start(batch_size, n)
        while True:
            order = torch.randperm(n, generator=_epoch_generator(seed, self.epoch)).to(device)
            while self.position < per_epoch:
                index = order[self._rows(self.position, batch_size)]
                self.position += 1
                yield {k: self._convert(k, v.index_select(0, index)) for k, v in self.tensors.items()}
            self.epoch += 1
            self.position = 0

    def examples(self, n: int, device: torch.device) -> dict[str, torch.Tensor]:
        return {k: self._convert(k, v[:n].to(device)) for k, v in self.tensors.items()}


class SeededItems(torch.utils.data.Dataset):
    """The items of ``dataset``, each read with torch's, Python's and NumPy's global RNGs seeded from
    ``(seed, epoch, index)`` and restored afterwards.

    Random augmentations (crops, flips, CycleGAN's random B image) are then a function of the place
    in the data order: the same with any number of workers and after resuming mid-epoch, and reading
    data never moves the training's own random state.
    """

    def __init__(self, dataset: Any, seed: int, epoch: int) -> None:
        self.dataset, self.seed, self.epoch = dataset, seed, epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        item_seed = ((self.seed * 1_000_003 + self.epoch) * 1_000_033 + index) % 2**63
        python_state, numpy_state = random.getstate(), np.random.get_state()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(item_seed)
            random.seed(item_seed)
            np.random.seed(item_seed % 2**32)
            try:
                return self.dataset[index]
            finally:
                random.setstate(python_state)
                np.random.set_state(numpy_state)


def ignore_stop_signals(worker_id: int) -> None:
    """DataLoader workers ignore SIGINT and SIGTERM from anyone but their main process.

    ``kill -TERM -- -PGID`` (systemd, Slurm) and Ctrl-C reach every process of the group. A worker
    killed by it would make the DataLoader raise in the main process before that process can finish
    its step and checkpoint. So a worker ignores SIGINT, and takes SIGTERM (blocked since it was
    forked, see :func:`stop_signals_blocked`) in a thread that exits only when the main process sent
    it (as the DataLoader's and multiprocessing's own shutdown do). Without ``sigwaitinfo``
    (macOS, Windows) only SIGINT is ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        return
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if not hasattr(signal, "sigwaitinfo"):  # pragma: no cover - macOS: SIGTERM as torch handles it
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        return
    import os
    import threading

    parent = os.getppid()

    def wait_for_parents_sigterm() -> None:
        while True:
            if signal.sigwaitinfo({signal.SIGTERM}).si_pid == parent:
                os._exit(0)

    threading.Thread(target=wait_for_parents_sigterm, name="ganzoo-sigterm", daemon=True).start()


#: The signals that stop a run (the trainer checkpoints on either).
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextlib.contextmanager
def stop_signals_blocked(active: bool) -> Iterator[None]:
    """Block SIGINT and SIGTERM while DataLoader workers start: a worker inherits the mask, so a
    stop signal sent to the process group in that moment waits until :func:`ignore_stop_signals`
    has run in the worker (and is then ignored there); the main process gets it on unblocking."""
    if not active or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class LoaderSource(DataSource):
    """A map-style torch Dataset read through a DataLoader with workers (folders on disk).

    The dataset's items are ``(image, label)`` with images already in [-1, 1] (its transform's
    job), or a dict of tensors.
    """

    def __init__(self, dataset: Any, info: DataInfo, workers: int = 2, keys: tuple[str, ...] = ("real", "label")) -> None:
        super().__init__()
        self.dataset = dataset
        self.info = info
        self.workers = workers
        self.keys = keys

    def _as_dict(self, item: Any) -> dict[str, torch.Tensor]:
        if isinstance(item, dict):
            return item
        return dict(zip(self.keys, item, strict=False))

    def batches(self, batch_size: int, seed: int, device: torch.device) -> Iterator[dict[str, torch.Tensor]]:
        from torch.utils.data import DataLoader

        n = len(self.dataset)
        per_epoch = n // self._start(batch_size, n)
        pin = device.type == "cuda"
        while True:
            # the order RandomSampler would give; this process's rows of each global batch, from
            # the current position (a resumed epoch skips what was seen without loading it)
            order = torch.randperm(n, generator=_epoch_generator(seed, self.epoch))
            shard = [order[self._rows(p, batch_size)].tolist() for p in range(self.position, per_epoch)]
            loader = DataLoader(
                SeededItems(self.dataset, seed, self.epoch),
                batch_sampler=shard,
                num_workers=self.workers,
                pin_memory=pin,
                persistent_workers=False,
                worker_init_fn=ignore_stop_signals if self.workers > 0 else None,
                generator=_epoch_generator(seed, self.epoch),  # its base seed: not from the global RNG
            )
            with stop_signals_blocked(self.workers > 0):
                items = iter(loader)  # starts the workers
            for item in items:
                self.position += 1
                yield {k: v.to(device, non_blocking=pin) for k, v in self._as_dict(item).items()}
            self.epoch += 1
            self.position = 0

    def examples(self, n: int, device: torch.device) -> dict[str, torch.Tensor]:
        items = [self._as_dict(self.dataset[i]) for i in range(min(n, len(self.dataset)))]
        return {k: torch.stack([torch.as_tensor(it[k]) for it in items]).to(device) for k in items[0]}
