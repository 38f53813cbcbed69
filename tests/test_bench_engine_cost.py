"""Eager ganzoo costs nothing over a hand-written loop: the engine's step asks the device for the
same work as the plain reference loop of the same model, and never waits for it."""

from __future__ import annotations

import collections

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ganzoo.bench import harness
from ganzoo.bench.scenarios import benchmarks_dir, load_scenarios
from ganzoo.registry import get_registry

#: Ops that launch no kernel: views, detaching, profiler markers.
FREE = ("aten.detach", "aten.view", "aten._unsafe_view", "aten.t.", "aten.expand", "aten.as_strided",
        "aten.alias", "aten.unsqueeze", "aten.squeeze", "aten.slice", "aten.select", "aten.permute",
        "aten.transpose", "aten.reshape", "profiler.")


class OpCounter(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[str(func)] += 1
        return func(*args, **(kwargs or {}))

    def launches(self) -> int:
        return sum(n for op, n in self.ops.items() if not op.startswith(FREE))


def contenders(name: str, tmp_path, **overrides):
    folder = benchmarks_dir()
    (scenario,) = [s for s in load_scenarios(folder) if s.name == name]
    scenario = scenario.sized(True, **overrides)
    settings = harness.Settings(device=torch.device("cpu"), steps=1, warmup=2, repeats=1, modes=("eager",), small=True)
    registry = get_registry()
    builder = harness.Builder(scenario, settings, registry, tmp_path, folder)
    info = harness.synthetic_info(scenario, builder.variant.data_kind)
    return builder.plain(info), builder.ganzoo("eager", info)


def counted(step) -> OpCounter:
    counter = OpCounter()
    with counter:
        step()
    return counter


@pytest.mark.parametrize(("scenario", "sizes"), [("gan-overhead", {}), ("dcgan-64", {"batch_size": 4, "image_size": 16})])
def test_the_engine_step_launches_no_more_work_than_the_plain_loop(scenario, sizes, tmp_path):
    plain, ganzoo = contenders(scenario, tmp_path, **sizes)
    plain_ops, ganzoo_ops = counted(plain.step), counted(ganzoo.step)
    # The engine sums the discriminator's two terms and back-propagates once where the reference
    # calls backward twice; the kernels differ in kind, not in number (a couple either way).
    assert ganzoo_ops.launches() <= plain_ops.launches() + 2, (ganzoo_ops.ops - plain_ops.ops, plain_ops.ops - ganzoo_ops.ops)


def test_the_engine_step_reads_no_values_back_from_the_device(tmp_path):
    """A value read back (``.item()``, ``bool(tensor)``) makes the host wait for the device. Adam
    reads its own step counter, a host tensor, in both loops; the engine must add no read of its own."""
    plain, ganzoo = contenders("gan-overhead", tmp_path)

    def reads(step) -> int:
        return sum(n for op, n in counted(step).ops.items() if "_local_scalar_dense" in op)

    assert reads(ganzoo.step) == reads(plain.step)
