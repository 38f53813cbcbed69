"""The benchmark's clock: synchronised blocks, interleaving, statistics (no real timing here)."""

from __future__ import annotations

import pytest
import torch

from ganzoo.bench import harness, timing


class FakeDevice:
    """An asynchronous device: a step only queues work; the work runs (and the clock advances) when
    the host synchronises, as a CUDA kernel's time is only visible after ``synchronize``."""

    def __init__(self) -> None:
        self.now = 0.0
        self.queue: list[float] = []
        self.syncs = 0

    def clock(self) -> float:
        return self.now

    def launch(self, seconds: float) -> None:
        self.now += 1e-6  # queueing costs the host almost nothing
        self.queue.append(seconds)

    def synchronize(self) -> None:
        self.syncs += 1
        self.now += sum(self.queue)
        self.queue.clear()


def test_a_timed_block_includes_its_queued_work_and_excludes_earlier_work():
    device = FakeDevice()
    device.launch(5.0)  # warm-up work still queued when timing starts: not this block's
    seconds = timing.time_block(lambda: device.launch(0.25), 4, device.synchronize, device.clock)
    assert seconds == pytest.approx(4 * 0.25, abs=1e-3)
    assert not device.queue


def test_without_the_final_sync_the_block_would_look_free():
    """The failure the harness guards against: reading the clock before the device finished."""
    device = FakeDevice()
    start = device.clock()
    for _ in range(4):
        device.launch(0.25)
    assert device.clock() - start < 1e-3


def test_contenders_alternate_in_rotating_order_with_syncs_around_every_block():
    device, order = FakeDevice(), []

    def contender(name: str, cost: float) -> timing.Contender:
        return timing.Contender(name, lambda: device.launch(cost), before_block=lambda: order.append(name))

    times = timing.interleave([contender("a", 0.01), contender("b", 0.03)], 5, 4, device.synchronize, device.clock)
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert device.syncs == 2 * 8
    assert times["a"] == pytest.approx([10.0] * 4, abs=1e-2)  # ms per iteration
    assert times["b"] == pytest.approx([30.0] * 4, abs=1e-2)
    assert timing.throughput_ratios(times["b"], times["a"]) == pytest.approx([1 / 3] * 4, rel=1e-3)


def test_stats_report_median_and_spread():
    stats = timing.Stats.of([4.0, 1.0, 3.0, 2.0, 100.0])
    assert (stats.median, stats.min, stats.max) == (3.0, 1.0, 100.0)
    assert stats.iqr == pytest.approx(2.0)
    assert stats.as_dict()["samples"] == [4.0, 1.0, 3.0, 2.0, 100.0]


def test_cuda_timing_synchronises_the_cuda_device(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append(device))
    sync = timing.device_sync(torch.device("cuda:1"))
    timing.time_block(lambda: None, 3, sync)
    assert calls == [torch.device("cuda:1")] * 2
    timing.time_block(lambda: None, 3, timing.device_sync(torch.device("cpu")))
    assert len(calls) == 2  # the CPU runs synchronously: nothing to wait for


def test_the_probe_tells_launch_bound_from_device_bound_steps():
    device = FakeDevice()
    host, total = timing.probe_host_time(lambda: device.launch(0.01), device.synchronize, device.clock)
    assert host < 1e-3 and total == pytest.approx(0.01, abs=1e-3)
    assert harness.limiting_factor(host * 1e3, total * 1e3, 0.05) == "memory-bound"
    assert harness.limiting_factor(host * 1e3, total * 1e3, 0.6) == "compute-bound"
    assert harness.limiting_factor(0.95, 1.0, 0.6) == "launch-bound"
