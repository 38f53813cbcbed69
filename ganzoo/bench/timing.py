"""Timing whole training iterations on an asynchronous device, interleaved between contenders.

A CUDA call returns as soon as its kernel is queued, so a clock read after ``step()`` measures how
fast Python queues work, not how fast the GPU does it. Every timed block therefore starts *after* a
device synchronisation (work queued earlier, e.g. by warm-up or by the other contender, is not
billed to this block) and stops *after* one (the block's own work is finished). Contenders are timed
in alternating blocks, so drift in clock speed, temperature or a neighbour's load falls on both
alike; the ratio of each pair of adjacent blocks is the fairest comparison.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

Sync = Callable[[], None]
Clock = Callable[[], float]


def device_sync(device: torch.device) -> Sync:
    """The function that waits until all work queued on ``device`` is done."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    if device.type == "mps":
        return torch.mps.synchronize
    return lambda: None  # CPU ops run synchronously


def time_block(step: Callable[[], Any], steps: int, sync: Sync, clock: Clock = time.perf_counter) -> float:
    """Seconds for ``steps`` calls of ``step``, from an idle device to a finished one."""
    sync()
    start = clock()
    for _ in range(steps):
        step()
    sync()
    return clock() - start


def probe_host_time(step: Callable[[], Any], sync: Sync, clock: Clock = time.perf_counter) -> tuple[float, float]:
    """One iteration on an idle device: (seconds until Python queued it, seconds until it finished).

    When the two are nearly equal the device waits on the host: the step is launch-bound.
    """
    sync()
    start = clock()
    step()
    queued = clock()
    sync()
    return queued - start, clock() - start


@dataclass
class Stats:
    """Median and spread of per-iteration times (milliseconds) over repeats."""

    median: float
    min: float
    max: float
    #: Interquartile range (q75 - q25).
    iqr: float
    samples: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        values = [float(v) for v in values]
        if len(values) >= 2:
            q = statistics.quantiles(values, n=4, method="inclusive")
            iqr = q[2] - q[0]
        else:
            iqr = 0.0
        return cls(statistics.median(values), min(values), max(values), iqr, values)

    def as_dict(self, digits: int = 4) -> dict[str, Any]:
        def r(x: float) -> float:
            return round(x, digits)

        return {"median": r(self.median), "min": r(self.min), "max": r(self.max), "iqr": r(self.iqr),
                "samples": [r(v) for v in self.samples]}


@dataclass
class Contender:
    """One side of a comparison: a name and the callable that runs one training iteration."""

    name: str
    step: Callable[[], Any]
    #: Called before and after each timed block (peak-memory bookkeeping); may be ``None``.
    before_block: Callable[[], None] | None = None
    after_block: Callable[[], None] | None = None


def interleave(
    contenders: Sequence[Contender],
    steps: int,
    repeats: int,
    sync: Sync,
    clock: Clock = time.perf_counter,
) -> dict[str, list[float]]:
    """Time ``repeats`` blocks of ``steps`` iterations per contender, alternating between them.

    The order rotates every repeat so that no contender always runs right after another. Returns
    milliseconds per iteration, one value per repeat, by contender name.
    """
    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    for repeat in range(repeats):
        shift = repeat % len(contenders)
        for contender in [*contenders[shift:], *contenders[:shift]]:
            if contender.before_block is not None:
                contender.before_block()
            seconds = time_block(contender.step, steps, sync, clock)
            if contender.after_block is not None:
                contender.after_block()
            times[contender.name].append(seconds * 1000.0 / steps)
    return times


def throughput_ratios(times: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """Per-repeat throughput of one side relative to the baseline timed next to it
    (``baseline[i] / times[i]``; above 1: faster than the baseline)."""
    return [b / t for t, b in zip(times, baseline, strict=True) if t > 0]
