"""FLOPs of a training iteration, and the hardware's limit to compare them with.

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` while one eager iteration runs:
matrix multiplications and convolutions, forward and backward, a multiply-add counted as two.
Element-wise work (activations, normalisation, the optimiser) is not counted: it is memory traffic,
not arithmetic, and the usual "model FLOPs" of papers leave it out too.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Callable
from typing import Any

import torch

#: Dense (no sparsity) bf16 tensor-core peaks in TFLOP/s, from the vendors' data sheets. Matched in
#: order against ``torch.cuda.get_device_name()``, so the more specific names come first.
PEAK_BF16_TFLOPS: tuple[tuple[str, str, float], ...] = (
    (r"GH200", "GH200", 989.0),
    (r"H200.*NVL", "H200 NVL", 835.0),
    (r"H200", "H200", 989.0),
    (r"H100.*PCIe", "H100 PCIe", 756.0),
    (r"H100.*NVL", "H100 NVL", 835.0),
    (r"H100|H800", "H100 SXM", 989.0),
    (r"B200", "B200", 2250.0),
    (r"A100|A800", "A100", 312.0),
    (r"L40S", "L40S", 362.0),
    (r"\bL4\b", "L4", 121.0),
    (r"\bA10\b", "A10", 125.0),
)


def peak_bf16_tflops(device_name: str) -> tuple[str, float] | None:
    """The known GPU behind ``device_name`` and its dense bf16 peak, or None when unknown."""
    for pattern, label, peak in PEAK_BF16_TFLOPS:
        if re.search(pattern, device_name):
            return label, peak
    return None


def device_name(device: torch.device) -> str:
    """A human name of the device: the GPU's model, or the CPU's from the operating system."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        try:
            with open("/proc/cpuinfo") as fh:
                for line in fh:
                    if line.startswith("model name"):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor() or platform.machine() or "cpu"
    return device.type


class _GlobalOnly:
    """Stands in for FlopCounterMode's module tracker: totals need no per-module attribution, and the
    tracker's backward hooks break ``torch.autograd.grad`` (the gradient penalty of WGAN-GP)."""

    parents = frozenset({"Global"})

    def __enter__(self) -> _GlobalOnly:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of one call of ``fn`` (forward and backward matmuls/convolutions it runs)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    with counter:
        fn()
    return int(counter.get_total_flops())
