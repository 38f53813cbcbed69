"""Run one benchmark scenario: ganzoo's engine against the plain loop, interleaved.

For each scenario the harness builds the contenders on the same device and the same synthetic
batches: the plain reference loop (eager, fp32, no engine) and ganzoo's engine in each asked mode
(eager, fast), each through the real engine step (:meth:`Trainer.train_iteration`). After warm-up
it counts the FLOPs of one iteration, times them in alternating blocks, measures peak device
memory, and finally times ganzoo once more on the real data pipeline.
"""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganzoo.bench import timing
from ganzoo.bench.data import SyntheticSource, write_image_folder
from ganzoo.bench.flops import count_flops
from ganzoo.bench.scenarios import Scenario, load_reference
from ganzoo.spec import DataInfo


@dataclass
class Settings:
    """How to run the scenarios (the CLI's options)."""

    device: torch.device
    steps: int
    warmup: int
    repeats: int
    modes: tuple[str, ...]
    small: bool
    batch_size: int | None = None
    image_size: int | None = None
    pipeline: bool = True
    sets: dict[str, str] = field(default_factory=dict)
    #: Known dense bf16 peak of the device, TFLOP/s (None: unknown or not a GPU).
    peak_tflops: float | None = None


class MemoryMeter:
    """Peak device memory of one contender: what it keeps (networks, optimiser state, its batches)
    plus the most it allocates on top of that within an iteration. Other contenders' memory,
    resident at the same time, is not counted. CUDA only; None elsewhere."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.device = device
        self.resident = 0
        self.transient = 0
        #: False when memory that was not this contender's was freed during its build (resident < 0)
        self.measurable = True
        self._start = 0
        if self.cuda:
            import gc

            gc.collect()  # what an earlier contender left for the collector is not freed inside this one's build
        self._before_build = self.allocated()

    def allocated(self) -> int:
        return torch.cuda.memory_allocated(self.device) if self.cuda else 0

    def built(self) -> None:
        """Call once the contender is built and warm: what it allocated since is its own."""
        self.resident = self.allocated() - self._before_build
        self.measurable = self.resident >= 0

    def before_block(self) -> None:
        if self.cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = self.allocated()

    def after_block(self) -> None:
        if self.cuda:
            self.transient = max(self.transient, torch.cuda.max_memory_allocated(self.device) - self._start)

    @property
    def peak_bytes(self) -> int | None:
        return self.resident + self.transient if self.cuda and self.measurable else None


@dataclass
class Side:
    """One contender, built and warmed up."""

    name: str
    mode: str
    step: Callable[[], Any]
    memory: MemoryMeter
    applied: dict[str, Any] = field(default_factory=dict)
    parameters: int = 0
    images_per_iteration: int = 0
    dataset: str = ""
    #: The networks the contender trains, by name.
    networks: dict[str, torch.nn.Module] = field(default_factory=dict)


def _count_parameters(modules: Any) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def synthetic_info(scenario: Scenario, kind: str) -> DataInfo:
    shape = (2,) if kind == "points" else (scenario.channels, scenario.image_size, scenario.image_size)
    return DataInfo(kind=kind, shape=shape, num_classes=scenario.num_classes, size=0)


class Builder:
    """Builds the contenders of one scenario."""

    def __init__(self, scenario: Scenario, settings: Settings, registry: Any, workdir: Path, folder: Path | None) -> None:
        self.scenario = scenario
        self.folder = folder
        self.settings = settings
        self.registry = registry
        self.workdir = workdir
        self.variant = registry.variant(scenario.variant)
        self.sync = timing.device_sync(settings.device)
        #: Batches one iteration draws (WGAN-GP's critic takes a fresh one per repeat).
        self.draws_per_iteration = 1

    def config(self, mode: str, **options: Any) -> Any:
        from ganzoo.api import make_config

        overrides = {k: str(v) for k, v in self.scenario.overrides.items()}
        overrides.update(self.settings.sets)
        return make_config(
            self.scenario.variant, registry=self.registry, profile="paper", overrides=overrides,
            batch_size=self.scenario.batch_size or None, image_size=self.scenario.image_size or None,
            device=str(self.settings.device), speed=mode, **options,
        )

    def _warm(self, side: Side) -> Side:
        for _ in range(self.settings.warmup):
            side.step()
        self.sync()
        side.memory.built()
        return side

    def ganzoo(self, mode: str, info: DataInfo | None) -> Side:
        """ganzoo's engine on synthetic data (``info``) or, when None, on the configured dataset."""
        from ganzoo.engine.trainer import Trainer

        memory = MemoryMeter(self.settings.device)
        options: dict[str, Any] = {}
        if info is None and self.scenario.pipeline_dataset:
            options["dataset"] = self.scenario.pipeline_dataset
        if info is None and self.scenario.pipeline_folder:
            root = self.workdir / "images"
            if not root.exists():
                # one epoch longer than the whole measurement: a real dataset's epochs (and the
                # DataLoader's restart at each) are rare, a tiny folder would restart all the time
                s = self.settings
                per_iteration = self.scenario.batch_size * self.draws_per_iteration
                count = min(50_000, per_iteration * (s.warmup + s.steps * s.repeats + 2))
                write_image_folder(root, self.scenario.pipeline_folder, count, self.scenario.image_size, self.scenario.channels)
            options["data_root"] = str(root)
        config = self.config(mode, **options)
        trainer = Trainer(config, self.registry, run_dir=self.workdir / f"run-{mode}", quiet=True)
        trainer.build(source=None if info is None else SyntheticSource(info))
        ctx = trainer.context()
        log_every = config.log_every

        def step() -> None:  # the loop's own step: the iteration, its bookkeeping, the periodic sync
            trainer.record_losses(trainer.train_iteration(ctx), ctx)
            if trainer.step % log_every == 0:
                trainer.logged_losses()

        at = trainer.step  # a step-dependent count is timed as it is at the step the bench starts from
        images = config.batch_size * max(p.repeats_at(at) for p in trainer.schedule.players)
        self.draws_per_iteration = 1 + sum(p.repeats_at(at) - 1 for p in trainer.schedule.players if p.fresh_batch)
        side = Side(f"ganzoo-{mode}", mode, step, memory, dict(trainer.speed),
                    _count_parameters(trainer.networks.values()), images, config.dataset, dict(trainer.networks))
        return self._warm(side)

    def plain(self, info: DataInfo) -> Side | None:
        """The hand-written reference loop of the same model on the same synthetic batches."""
        module = load_reference(self.folder, self.scenario)
        if module is None:
            return None
        memory = MemoryMeter(self.settings.device)
        config = self.config("eager")
        torch.manual_seed(config.seed)
        step_fn, networks = module.make_loop(config, info, self.settings.device)
        batches: Iterator[dict[str, torch.Tensor]] = SyntheticSource(info).batches(config.batch_size, config.seed, self.settings.device)
        side = Side("plain", "eager", lambda: step_fn(batches), memory, {}, _count_parameters(networks.values()),
                    networks=dict(networks))
        return self._warm(side)


def _stats_dict(ms: list[float], images: int, flops: int | None, peak: float | None) -> dict[str, Any]:
    stats = timing.Stats.of(ms)
    seconds = stats.median / 1000.0
    out: dict[str, Any] = {
        "ms_per_iteration": stats.as_dict(),
        "images_per_s": round(images / seconds, 2) if seconds > 0 else None,
    }
    if flops:
        tflops = flops / seconds / 1e12 if seconds > 0 else None
        out["tflops"] = None if tflops is None else round(tflops, 4)
        out["fraction_of_peak"] = None if (peak is None or tflops is None) else round(tflops / peak, 4)
    return out


def limiting_factor(host_ms: float, total_ms: float, fraction_of_peak: float | None) -> str:
    """A first diagnosis from a single-iteration probe (GPU): the device waits on Python when
    queueing the iteration takes nearly as long as running it; otherwise a high fraction of the
    tensor-core peak means compute-bound, a low one memory-bound (element-wise work dominates)."""
    if total_ms > 0 and host_ms >= 0.8 * total_ms:
        return "launch-bound"
    if fraction_of_peak is not None and fraction_of_peak >= 0.35:
        return "compute-bound"
    return "memory-bound"


def run_scenario(scenario: Scenario, settings: Settings, registry: Any, folder: Path | None) -> dict[str, Any]:
    """Benchmark one scenario; returns its result record (see docs/benchmarks.md)."""
    variants = registry.variants()
    record: dict[str, Any] = {"scenario": scenario.name, "variant": scenario.variant, "summary": scenario.summary}
    if scenario.variant not in variants:
        record["skipped"] = f"variant {scenario.variant!r} is not installed"
        return record
    scenario = scenario.sized(settings.small, settings.batch_size, settings.image_size)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ganzoo-bench-") as tmp:
        builder = Builder(scenario, settings, registry, Path(tmp), folder)
        kind = builder.variant.data_kind
        if not scenario.batch_size or not scenario.image_size:  # generic scenario: the dataset's sizes
            config = builder.config("eager")
            info = registry.dataset(config.dataset).build(config).info
            scenario = scenario.sized(False, config.batch_size, info.shape[-1] if len(info.shape) == 3 else 1)
            scenario = _with_info(scenario, info)
            builder.scenario = scenario
            kind = info.kind if info.kind in builder.variant.accepted_kinds() else kind
        info = synthetic_info(scenario, kind)
        record.update(batch_size=scenario.batch_size, image_size=scenario.image_size)

        sides: list[Side] = []
        plain = None if scenario.reference == "-" else builder.plain(info)
        if plain is None:
            notes.append("no reference loop for this variant: ganzoo alone, no ratio")
        else:
            sides.append(plain)
        for mode in settings.modes:
            sides.append(builder.ganzoo(mode, info))
        images = sides[-1].images_per_iteration
        record["images_per_iteration"] = images

        # FLOPs of one eager iteration (compiled graphs hide their ops from the counter, and the
        # arithmetic is the same in every mode)
        eager = next((s for s in sides if s.mode == "eager" and s is not plain), None)
        flops = count_flops((eager or builder.ganzoo("eager", info)).step)
        record["flops_per_iteration"] = flops
        plain_flops = None
        if plain is not None:
            plain_flops = count_flops(plain.step)
            record["plain_flops_per_iteration"] = plain_flops
            if plain_flops != flops:
                notes.append(f"FLOPs per iteration differ: plain loop {plain_flops:,}, ganzoo {flops:,}: "
                             "the two loops do different work")
        if plain is not None and sides[-1].parameters != plain.parameters:
            notes.append(f"parameter counts differ: plain {plain.parameters}, ganzoo {sides[-1].parameters}")

        contenders = [timing.Contender(s.name, s.step, s.memory.before_block, s.memory.after_block) for s in sides]
        times = timing.interleave(contenders, settings.steps, settings.repeats, builder.sync)

        record["parameters"] = sides[-1].parameters
        results: dict[str, Any] = {}
        for side in sides:
            entry = _stats_dict(times[side.name], images, plain_flops if side is plain else flops, settings.peak_tflops)
            entry["peak_memory_bytes"] = side.memory.peak_bytes
            if side is not plain:
                entry["settings"] = side.applied
            if plain is not None and side is not plain:
                ratios = timing.throughput_ratios(times[side.name], times[plain.name])
                entry["ratio_to_plain"] = timing.Stats.of(ratios).as_dict()
            if settings.device.type == "cuda":
                probes = [timing.probe_host_time(side.step, builder.sync) for _ in range(3)]
                host, total = (sorted(x)[1] * 1000.0 for x in zip(*probes, strict=True))
                entry["probe"] = {"host_ms": round(host, 4), "device_ms": round(total, 4)}
                entry["limit"] = limiting_factor(host, total, entry.get("fraction_of_peak"))
            results[side.name] = entry
        record["results"] = results

        if settings.pipeline:
            del sides, contenders, plain, eager
            _release(settings.device)
            record["pipeline"] = _pipeline(builder, settings, images, results, notes)
    if notes:
        record["notes"] = notes
    return record


def _with_info(scenario: Scenario, info: DataInfo) -> Scenario:
    from dataclasses import replace

    channels = info.shape[0] if len(info.shape) == 3 else scenario.channels
    return replace(scenario, channels=channels, num_classes=info.num_classes)


def _release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _pipeline(builder: Builder, settings: Settings, images: int, results: dict[str, Any], notes: list[str]) -> dict[str, Any] | None:
    """ganzoo once more, reading the real dataset (in memory on the device, or a folder of images
    through the DataLoader's workers), timed alone: interleaving would let the workers prefetch while
    the other contender runs."""
    mode = "fast" if "fast" in settings.modes else settings.modes[0]
    try:
        side = builder.ganzoo(mode, None)
    except Exception as exc:  # a dataset that needs files we cannot make: say so, keep the rest
        notes.append(f"no real-pipeline figure: {exc}")
        return None
    ms = [timing.time_block(side.step, settings.steps, builder.sync) * 1000.0 / settings.steps for _ in range(settings.repeats)]
    stats = timing.Stats.of(ms)
    out: dict[str, Any] = {"mode": mode, "dataset": side.dataset}
    out.update(_stats_dict(ms, images, None, None))
    synthetic = results.get(f"ganzoo-{mode}")
    if synthetic:
        out["ratio_to_synthetic"] = round(synthetic["ms_per_iteration"]["median"] / stats.median, 4)
    return out
