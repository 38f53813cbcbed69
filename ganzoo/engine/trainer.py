"""The one training loop for every variant.

The loop owns the order of events; variants supply networks, a schedule and loss terms through the
hooks. A run is a folder::

    config.toml        the resolved configuration
    run.json           variant, data shape, plugin versions
    metrics.jsonl      one JSON object per logged step (every loss term by name, images/s, lr)
    samples/step-N.png grids of a fixed noise batch
    checkpoints/       step-N.pt files and a ``latest`` pointer
    tensorboard/       event files (when tensorboard is installed)
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import math
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganzoo import config as cfg
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine import distributed, speed
from ganzoo.engine.device import seed_everything
from ganzoo.engine.images import save_grid, save_points
from ganzoo.errors import ExitCode, GanzooError, UserError
from ganzoo.spec import DataInfo, Schedule, StepContext, VariantSpec

CHECKPOINT_FORMAT = 1


class Interrupted(GanzooError):
    """Training stopped by a signal after saving a checkpoint."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Diverged(GanzooError):
    """A loss became NaN or infinite."""


@dataclass
class RunResult:
    run_dir: Path
    step: int
    last_grid: Path | None
    last_checkpoint: Path | None
    losses: dict[str, float] = field(default_factory=dict)


def default_run_dir(variant: str, root: str | Path = "runs") -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{variant}-{stamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = Path(f"{base}-{n}")
    return candidate


def plugin_versions(registry: Any) -> dict[str, str]:
    return {r.package: r.version for r in registry.records if r.status == "loaded"}


def autocast_for(config: cfg.RunConfig, device: torch.device):
    if speed.bf16_enabled(config, device):
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def run_schedule(schedule: Schedule, ctx: StepContext) -> dict[str, torch.Tensor]:
    """One training iteration: every player, in order, ``repeats`` times. Returns detached terms."""
    out: dict[str, torch.Tensor] = {}
    for player in schedule.players:
        for repeat in range(player.repeats):
            distributed.begin_update(ctx, player)  # several processes: all-reduce this player's gradients only
            if repeat > 0 and player.fresh_batch:
                ctx.next_batch()
            with ctx.autocast():
                terms = ctx.compute_losses(player.name)
            if not terms:
                raise GanzooError(f"no plugin computed losses for player {player.name!r} of {ctx.variant.name!r}")
            first, *rest = terms.values()
            total = sum(rest, first)  # not sum(terms.values()): 0 + first would be one more kernel
            player.optimizer.zero_grad(set_to_none=True)
            total.backward()
            player.optimizer.step()
        for name, value in terms.items():
            out[f"{player.name}/{name}"] = value.detach()
        if player.lr_scheduler is not None:
            player.lr_scheduler.step()
    return out


def accumulate_losses(running: dict[str, torch.Tensor], terms: dict[str, torch.Tensor]) -> None:
    """Add one iteration's loss terms to the running sums, on the device (no sync per step)."""
    if running and running.keys() == terms.keys():
        # one multi-tensor kernel instead of one launch per term
        torch._foreach_add_(list(running.values()), [terms[key].float() for key in running])
        return
    for key, value in terms.items():
        running[key] = running[key] + value if key in running else value.float().clone()


class Trainer:
    """Builds a run from a resolved config and trains it."""

    def __init__(
        self,
        config: cfg.RunConfig,
        registry: Any,
        run_dir: Path | None = None,
        quiet: bool = False,
        resume_from: Path | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.quiet = quiet
        self.variant: VariantSpec = registry.variant(config.variant)
        self.run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config.variant)
        self.resume_from = resume_from
        self._stop_signal: int | None = None

    # -- building -----------------------------------------------------------------------------

    def build(self, source: Any = None) -> None:
        """Build everything a run needs without training; ``source`` (a DataSource) replaces the
        configured dataset's (the benchmark feeds synthetic batches this way)."""
        config, registry = self.config, self.registry
        dataset = registry.dataset(config.dataset)
        if dataset.kind not in self.variant.accepted_kinds():
            raise UserError(
                f"variant {self.variant.name!r} needs {self.variant.data_kind} data but dataset "
                f"{dataset.name!r} provides {dataset.kind}; pick a dataset of that kind (ganzoo list)"
            )
        self.ddp = distributed.Distributed.setup(config)  # torchrun: process group, one device per process
        self.device = self.ddp.device
        seed_everything(config.seed)
        self.source = dataset.build(config) if source is None else source
        self.ddp.shard(self.source)
        self.data_info: DataInfo = self.source.info
        if self.variant.conditional and self.data_info.num_classes < 2:
            raise UserError(
                f"variant {self.variant.name!r} is conditional but dataset {dataset.name!r} has no class "
                "labels; use a labelled dataset such as mnist or folder with class sub-folders"
            )
        self.networks = registry.networks(self.variant, config, self.data_info)
        self.networks = self.ddp.convert_batchnorm(self.networks, config.ddp.sync_bn)
        for net in self.networks.values():
            net.to(self.device)
        self.schedule = registry.schedule(self.variant, config, self.networks)
        self.ema = {name: copy.deepcopy(self.networks[name]).requires_grad_(False) for name in self.schedule.ema}
        self.speed = speed.apply(config, self.device, self.networks, self.schedule, self.ema)
        # what the loss hooks see: DDP-wrapped where several processes train; self.networks stays
        # unwrapped for sampling, the EMA and checkpoints (which so load in one process)
        self.train_networks = self.ddp.wrap(self.networks, self.schedule)
        self.autocast = autocast_for(config, self.device)
        self.state: dict[str, Any] = {}
        self.step = 0
        gen = torch.Generator().manual_seed(config.seed + 1)
        self.fixed = self._fixed_inputs(gen)

    def _fixed_inputs(self, gen: torch.Generator) -> dict[str, Any]:
        """The fixed noise (and labels) of the periodic sample grids."""
        n = self.config.grid_size
        labels = None
        if self.variant.conditional:
            k = self.data_info.num_classes
            labels = torch.arange(k).repeat_interleave(max(1, n // k))[:n]
        inputs = None
        if self.data_info.kind == "unpaired-images":
            inputs = self.source.examples(min(n, 8), torch.device("cpu"))
        return {"labels": labels, "seed": int(torch.randint(0, 2**31 - 1, (1,), generator=gen)), "inputs": inputs}

    # -- sampling -----------------------------------------------------------------------------

    def sample_networks(self) -> dict[str, torch.nn.Module]:
        nets = dict(self.networks)
        nets.update(self.ema)
        return nets

    def draw(self, n: int, labels: torch.Tensor | None, seed: int, inputs: Any = None) -> torch.Tensor:
        return draw_samples(self.registry, self.variant, self.sample_networks(), self.config, n, labels, seed, self.device, inputs)

    def write_samples(self) -> Path | None:
        if not self.ddp.is_main:  # rank 0 writes
            return None
        path = self.run_dir / "samples" / f"step-{self.step}.png"
        fixed = self.fixed
        samples = self.draw(self.config.grid_size, fixed["labels"], fixed["seed"], fixed["inputs"])
        if self.data_info.kind == "points":
            ref = self.source.examples(2000, torch.device("cpu"))["real"]
            return save_points(samples, path, reference=ref)
        nrow = None
        if self.variant.conditional:
            nrow = max(1, self.config.grid_size // self.data_info.num_classes)
        if self.data_info.kind == "unpaired-images":
            nrow = samples.shape[0] // 3 if samples.shape[0] % 3 == 0 else None
        return save_grid(samples, path, nrow=nrow)

    # -- checkpoints ----------------------------------------------------------------------------

    def checkpoint_payload(self) -> dict[str, Any]:
        rng = {"python": random.getstate(), "torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "format": CHECKPOINT_FORMAT,
            "variant": self.variant.name,
            "package": self.variant.package,
            "step": self.step,
            "networks": {k: v.state_dict() for k, v in self.networks.items()},
            "ema": {k: v.state_dict() for k, v in self.ema.items()},
            "optimizers": {p.name: p.optimizer.state_dict() for p in self.schedule.players},
            "schedulers": {p.name: p.lr_scheduler.state_dict() for p in self.schedule.players if p.lr_scheduler is not None},
            "state": self.state,
            "rng": rng,
            "data": self.source.state_dict(),
            "config": cfg.to_dict(self.config),
            "plugins": plugin_versions(self.registry),
        }

    def save_checkpoint(self) -> Path:
        if not self.ddp.is_main:  # rank 0 writes; the other processes name the file it writes
            return self.run_dir / "checkpoints" / ckpt.checkpoint_name(self.step)
        return ckpt.save_checkpoint(self.run_dir / "checkpoints", self.step, self.checkpoint_payload(), self.config.keep_checkpoints)

    def restore(self, path: Path) -> None:
        payload = ckpt.load_checkpoint(path, map_location=self.device)
        if payload["variant"] != self.variant.name:
            raise UserError(f"checkpoint {str(path)!r} is from variant {payload['variant']!r}, not {self.variant.name!r}")
        for name, sd in payload["networks"].items():
            self.networks[name].load_state_dict(sd)
        for name, sd in payload["ema"].items():
            self.ema[name].load_state_dict(sd)
        for player in self.schedule.players:
            player.optimizer.load_state_dict(payload["optimizers"][player.name])
            if player.lr_scheduler is not None:
                player.lr_scheduler.load_state_dict(payload["schedulers"][player.name])
        self.state.clear()
        self.state.update(payload["state"])
        self.source.load_state_dict(payload["data"])
        rng = payload["rng"]
        random.setstate(rng["python"])
        torch.set_rng_state(rng["torch"].cpu())
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in rng["cuda"]])
        self.step = int(payload["step"])

    # -- the loop -------------------------------------------------------------------------------

    def _write_run_files(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        cfg.write_toml(self.config, self.run_dir / "config.toml")
        info = {
            "variant": self.variant.name,
            "package": self.variant.package,
            "dataset": self.config.dataset,
            "data": {"kind": self.data_info.kind, "shape": list(self.data_info.shape), "num_classes": self.data_info.num_classes},
            "plugins": plugin_versions(self.registry),
            "torch": torch.__version__,
            "created": dt.datetime.now().isoformat(timespec="seconds"),
        }
        (self.run_dir / "run.json").write_text(json.dumps(info, indent=2) + "\n")

    def _install_signal_handlers(self) -> list[tuple[int, Any]]:
        previous = []

        def handler(signum, frame):
            if self._stop_signal is not None:  # second signal: stop now
                raise KeyboardInterrupt
            self._stop_signal = signum

        with contextlib.suppress(ValueError):  # not the main thread
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous.append((signum, signal.signal(signum, handler)))
        return previous

    def context(self) -> StepContext:
        """The step context of the built run, drawing batches from ``self.source`` (networks in
        train mode). With :meth:`train_iteration` it runs the loop's steps without the loop."""
        hook = self.registry.hook
        batches = self.source.batches(self.config.batch_size, self.config.seed, self.device)
        ctx = StepContext(
            variant=self.variant,
            config=self.config,
            networks=self.train_networks,
            batch={},
            step=self.step,
            device=self.device,
            state=self.state,
            draw_batch=lambda: next(batches),
        )
        ctx.autocast = self.autocast  # type: ignore[attr-defined]
        ctx.distributed = self.ddp  # type: ignore[attr-defined]
        ctx.compute_losses = lambda player: hook.ganzoo_losses(variant=self.variant, player=player, ctx=ctx)  # type: ignore[attr-defined]
        for net in self.networks.values():
            net.train()
        return ctx

    def train_iteration(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        """One training iteration as the loop runs it: a fresh batch, every player, the EMA."""
        ctx.step = self.step
        ctx.cache = {}
        ctx.batch = ctx.next_batch()
        terms = self.registry.hook.ganzoo_train_step(variant=self.variant, schedule=self.schedule, ctx=ctx)
        self._update_ema()
        self.step += 1
        return terms

    def train(self) -> RunResult:
        """Train to ``config.steps`` iterations (continuing from ``resume_from`` when given)."""
        self.build()
        if self.resume_from is not None:
            self.restore(self.resume_from)
        if self.ddp.is_main:  # rank 0 writes the run folder
            self._write_run_files()
        from ganzoo.engine.logging import MetricsLog, Progress

        log = MetricsLog(self.run_dir, resume_step=self.step) if self.ddp.is_main else distributed.NullLog()
        ctx = self.context()
        running: dict[str, torch.Tensor] = {}
        count = 0
        last_grid = last_ckpt = None
        last_losses: dict[str, float] = {}
        previous = self._install_signal_handlers()
        images_per_iteration = self.config.batch_size * self.ddp.world_size * max(p.repeats for p in self.schedule.players)
        progress = Progress(self.config.steps, start=self.step, disabled=self.quiet or not self.ddp.is_main, title=f"{self.variant.name}")
        t_log = time.perf_counter()
        steps_at_log = self.step
        try:
            with progress:
                while self.step < self.config.steps:
                    terms = self.train_iteration(ctx)
                    accumulate_losses(running, terms)
                    count += 1
                    if self.step % self.config.log_every == 0 or self.step == self.config.steps:
                        now = time.perf_counter()
                        last_losses = {k: self.ddp.mean(v / count).item() for k, v in running.items()}
                        self._check_finite(last_losses, last_ckpt)
                        rate = (self.step - steps_at_log) * images_per_iteration / max(now - t_log, 1e-9)
                        record = {"step": self.step, **last_losses, "images_per_s": rate}
                        for player in self.schedule.players:
                            record[f"lr/{player.name}"] = player.optimizer.param_groups[0]["lr"]
                        log.write(record)
                        progress.update(self.step, last_losses, rate)
                        running, count, t_log, steps_at_log = {}, 0, now, self.step
                    else:
                        progress.update(self.step)
                    if self.step % self.config.sample_every == 0 or self.step == self.config.steps:
                        last_grid = self.write_samples()
                        log.image(self.step, last_grid)
                    if self.step % self.config.checkpoint_every == 0 or self.step == self.config.steps:
                        last_ckpt = self.save_checkpoint()
                    stop = self.ddp.agreed_stop(self._stop_signal, self.step)  # all processes stop together
                    if stop is not None:
                        self._stop_signal = stop
                        last_ckpt = self.save_checkpoint()
                        code = ExitCode.INTERRUPTED if self._stop_signal == signal.SIGINT else ExitCode.TERMINATED
                        raise Interrupted(
                            f"stopped at step {self.step}; checkpoint {last_ckpt}; continue with: "
                            f"ganzoo run {self.variant.name} --resume {self.run_dir}",
                            code,
                        )
        finally:
            log.close()
            for signum, handler in previous:
                signal.signal(signum, handler)
            self.ddp.close()
        return RunResult(self.run_dir, self.step, last_grid, last_ckpt, last_losses)

    def _update_ema(self) -> None:
        for name, ema_net in self.ema.items():
            decay = self.schedule.ema[name]
            with torch.no_grad():
                src = list(self.networks[name].parameters())
                dst = list(ema_net.parameters())
                torch._foreach_lerp_(dst, src, 1.0 - decay)
                for b_dst, b_src in zip(ema_net.buffers(), self.networks[name].buffers()):
                    b_dst.copy_(b_src)

    def _check_finite(self, losses: dict[str, float], last_ckpt: Path | None) -> None:
        for key, value in losses.items():
            if not math.isfinite(value):
                where = f"last good checkpoint: {last_ckpt}" if last_ckpt else "no checkpoint was written yet"
                raise Diverged(
                    f"loss {key} became {value} by step {self.step}; {where}. "
                    "Lower the learning rate (--set model.lr=...) or resume from that checkpoint"
                )


def draw_samples(
    registry: Any,
    variant: VariantSpec,
    networks: dict[str, torch.nn.Module],
    config: cfg.RunConfig,
    n: int,
    labels: torch.Tensor | None,
    seed: int,
    device: torch.device,
    inputs: Any = None,
    direction: str | None = None,
) -> torch.Tensor:
    """Draw ``n`` samples in eval mode with a private generator (the global RNG is untouched).

    ``inputs`` and ``direction`` are for translation variants (see the ``ganzoo_sample`` hook)."""
    modes = {k: m.training for k, m in networks.items()}
    for m in networks.values():
        m.eval()
    try:
        generator = torch.Generator(device=device).manual_seed(seed)
        with torch.no_grad():
            out = registry.hook.ganzoo_sample(
                variant=variant,
                networks=networks,
                config=config,
                n=n,
                labels=None if labels is None else labels.to(device),
                generator=generator,
                device=device,
                inputs=inputs,
                direction=direction,
            )
    finally:
        for k, m in networks.items():
            m.train(modes[k])
    if out is None:
        raise GanzooError(f"no plugin can draw samples from variant {variant.name!r}")
    return out.float()


def train(config: cfg.RunConfig, registry: Any, run_dir: Path | None = None, quiet: bool = False,
          resume_from: Path | None = None) -> RunResult:
    return Trainer(config, registry, run_dir=run_dir, quiet=quiet, resume_from=resume_from).train()


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: ganzoo run NAME")
