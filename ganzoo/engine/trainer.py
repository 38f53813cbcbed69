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
import datetime as dt
import json
import math
import random
import re
import shlex
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganzoo import config as cfg
from ganzoo.addons import addon_records, run_plugins
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine import distributed, ema, run_folder, speed
from ganzoo.engine.device import seed_everything
from ganzoo.engine.images import save_grid, save_points, side_by_side
from ganzoo.engine.network_keys import check_network_keys, network_wrappers
from ganzoo.errors import ExitCode, GanzooError, UserError
from ganzoo.spec import DataInfo, Schedule, StepContext, VariantSpec

CHECKPOINT_FORMAT = 1


class Interrupted(GanzooError):
    """Training stopped by a signal after saving a checkpoint."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Diverged(GanzooError):
    """A loss (or a network's weights) became NaN or infinite."""


#: With ``on_nan = "skip"``, this many skipped iterations in a row stop the run anyway: the bad
#: values no longer come from one unlucky batch.
MAX_SKIPS_IN_A_ROW = 10
#: Held (``flock``) while a process trains into a run folder, so a job started twice is refused.
LOCK_NAME = run_folder.LOCK_NAME


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
    """One training iteration: every player, in order, ``repeats`` times. Returns detached terms.

    With ``on_nan = "skip"`` an update whose total loss is NaN or infinite is not applied (one sync
    per update, only in that mode); the skipped players are listed in ``ctx.cache["skipped"]``.
    """
    out: dict[str, torch.Tensor] = {}
    skip_bad = getattr(ctx.config, "on_nan", "stop") == "skip"
    for player in schedule.players:
        if ctx.step % player.interval:
            continue
        for repeat in range(player.repeats_at(ctx.step)):
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
            if skip_bad and not distributed.all_finite(ctx, total):  # all processes skip together
                ctx.cache.setdefault("skipped", []).append(player.name)
                continue
            total.backward()
            player.optimizer.step()
        for name, value in terms.items():
            out[f"{player.name}/{name}"] = value.detach()
        if player.lr_scheduler is not None:
            player.lr_scheduler.step()
    return out


def _sum_dtype(value: torch.Tensor) -> torch.dtype:
    """float64 where the device has it: a sum of finite float32 losses (even around 1e36) then
    stays finite whatever ``log_every`` is, so only a NaN or infinite *term* counts as divergence."""
    return torch.float32 if value.device.type == "mps" else torch.float64


def accumulate_losses(running: dict[str, torch.Tensor], terms: dict[str, torch.Tensor]) -> None:
    """Add one iteration's loss terms to the running sums, on the device (no sync per step)."""
    if running and running.keys() == terms.keys():
        # one multi-tensor kernel instead of one launch per term (it widens each term as it adds)
        torch._foreach_add_(list(running.values()), [terms[key] for key in running])
        return
    for key, value in terms.items():
        running[key] = running[key] + value if key in running else value.to(_sum_dtype(value), copy=True)


def rng_state() -> dict[str, Any]:
    """The global random states a step may draw from: Python, NumPy, torch CPU and CUDA."""
    import numpy as np

    _, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved (CUDA states only where CUDA is in use)."""
    import numpy as np

    random.setstate(state["python"])
    if "numpy" in state:
        saved = state["numpy"]
        np.random.set_state(("MT19937", saved["keys"].cpu().numpy().astype(np.uint32), saved["pos"],
                             saved["has_gauss"], saved["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        cuda = [s.cpu() for s in state["cuda"]][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda)


def _load_modules(modules: dict[str, torch.nn.Module], saved: dict[str, Any]) -> None:
    """Load every module's state strictly; a missing or extra network is a KeyError."""
    if set(saved) != set(modules):
        raise KeyError(f"networks {sorted(saved)} saved, {sorted(modules)} built")
    for name, state in saved.items():
        modules[name].load_state_dict(state)


_SHAPE_WORDS = re.compile(r"shape|size|dimension|must match|cannot be multiplied|Given groups|Expected .*input", re.I)


def looks_like_shape_error(exc: BaseException) -> bool:
    """Whether a RuntimeError of a first forward pass says the tensors do not fit the networks."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return False
    return bool(_SHAPE_WORDS.search(str(exc)))


def as_user_error(exc: BaseException) -> GanzooError | None:
    """The one-line UserError for a storage failure, or for a UserError a DataLoader worker raised
    (which the DataLoader re-raises with the worker's traceback in its message); else ``None``."""
    if isinstance(exc, OSError):
        return ckpt.storage_error(exc, exc.filename or "")
    if isinstance(exc, UserError) and "\n" in str(exc).strip():
        last = str(exc).strip().splitlines()[-1]
        return UserError(last.split("UserError: ", 1)[-1])
    return None


def check_new_run_dir(path: Path) -> None:
    """A new run goes into a folder that does not exist yet (or is empty): never over an old run.

    A quick check before the config is used; :func:`run_folder.claim_new` decides atomically."""
    # A folder holding only another process's claim under way is left to claim_new, which decides
    # atomically and names the holder; judged here it would look like a leftover of a stopped run.
    if path.exists() and (not path.is_dir() or any(not run_folder.is_claim_in_progress(e) for e in path.iterdir())):
        run_folder.refuse_if_in_use(path)
        if run_folder.leftover_variant(path) is not None:
            raise UserError(
                f"run folder {str(path)!r} holds a run that stopped before its first checkpoint; add --resume "
                "to start it afresh, delete it, or choose another --out"
            )
        raise UserError(
            f"run folder {str(path)!r} already exists; continue it with --resume {path} or choose another --out"
        )


def resumed_run_dir(path: Path) -> Path:
    """The run folder of a checkpoint file, a ``checkpoints`` folder or a run folder."""
    path = Path(path)
    if path.is_file():
        path = path.parent
    return path.parent if path.name == ckpt.CHECKPOINTS else path


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (what creating it would add)."""
    path = Path(path).absolute()
    if path.exists():
        return None
    while not path.parent.exists():
        path = path.parent
    return path


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
        self.resume_from = Path(resume_from) if resume_from is not None else None
        if run_dir is None and self.resume_from is not None:  # continue in the resumed run's folder
            run_dir = resumed_run_dir(self.resume_from)
        self._default_name = run_dir is None  # claimed as runs/NAME-DATE-TIME[-N], whichever is free
        self.run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config.variant)
        #: Start afresh in a folder holding only a run's start-up files (``--out D --resume``).
        self.restart_leftover = False
        self._stop_signal: int | None = None
        self.last_checkpoint: Path | None = None
        self._lock: Any = None
        # loss sums since the last logged step (saved in checkpoints), and the terms of those steps
        # (to name the first step that went NaN)
        self._running: dict[str, torch.Tensor] = {}
        self._count = 0
        self._recent: list[tuple[int, dict[str, torch.Tensor]]] = []
        self.skipped_steps = 0
        self._skips_in_a_row = 0

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
        self.ema_settings = {name: ema.as_settings(rule, name) for name, rule in self.schedule.ema.items()}
        self.ema = ema.make_copies(self.networks, self.ema_settings)
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
        if self.variant.is_conditional(self.config):
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
        n = self.config.grid_size if fixed["labels"] is None else len(fixed["labels"])  # whole rows per class
        samples = self.draw(n, fixed["labels"], fixed["seed"], fixed["inputs"])
        if self.data_info.kind == "points":
            ref = self.source.examples(2000, torch.device("cpu"))["real"]
            return save_points(samples, path, reference=ref)
        nrow = None
        if self.variant.is_conditional(self.config):
            nrow = max(1, self.config.grid_size // self.data_info.num_classes)
        if self.variant.joint_domains:  # pairs drawn from one z, side by side
            samples, nrow = side_by_side(self.variant.split_domains(samples))
        elif self.data_info.kind == "unpaired-images":
            nrow = samples.shape[0] // 3 if samples.shape[0] % 3 == 0 else None
        return save_grid(samples, path, nrow=nrow)

    # -- checkpoints ----------------------------------------------------------------------------

    def checkpoint_payload(self) -> dict[str, Any]:
        """Everything the run needs to continue bit for bit; see ``docs/reliability.md``."""
        return {
            "format": CHECKPOINT_FORMAT,
            "variant": self.variant.name,
            "package": self.variant.package,
            "step": self.step,
            "networks": {k: v.state_dict() for k, v in self.networks.items()},
            "ema": {k: v.state_dict() for k, v in self.ema.items()},
            "ema_settings": ema.record(self.ema_settings),
            "optimizers": {p.name: p.optimizer.state_dict() for p in self.schedule.players},
            "schedulers": {p.name: p.lr_scheduler.state_dict() for p in self.schedule.players if p.lr_scheduler is not None},
            "state": self.state,
            "rng": rng_state(),
            # the data order is a function of (seed, epoch, position): these two counters restore it
            "data": self.source.state_dict(),
            # the loss sums since the last logged step, so the next logged mean is the same
            "log": {"running": dict(self._running), "count": self._count, "skipped": self.skipped_steps},
            "config": cfg.to_dict(self.config),
            "plugins": run_plugins(self.registry, self.variant, self.config),
            "network_wrappers": network_wrappers(self.registry, self.config),
            "torch": str(torch.__version__),
        }

    def save_checkpoint(self) -> Path:
        """Check that losses and weights are finite, then write the checkpoint of this step."""
        self._check_finite()
        self._check_weights()
        if not self.ddp.is_main:  # rank 0 writes; the other processes name the file it writes
            self.last_checkpoint = self.run_dir / ckpt.CHECKPOINTS / ckpt.checkpoint_name(self.step)
            return self.last_checkpoint
        self.last_checkpoint = ckpt.save_checkpoint(
            self.run_dir / ckpt.CHECKPOINTS, self.step, self.checkpoint_payload(), self.config.keep_checkpoints
        )
        return self.last_checkpoint

    def restore(self, path: Path | str) -> None:
        """Continue from a checkpoint file, or from the latest checkpoint of a run folder."""
        path = ckpt.find_checkpoint(path)
        payload = ckpt.load_checkpoint(path, map_location=self.device)
        if payload["variant"] != self.variant.name:
            raise UserError(
                f"checkpoint {str(path)!r} is from variant {payload['variant']!r}, not {self.variant.name!r}; "
                f"pass a checkpoint of a {self.variant.name} run"
            )
        if int(payload["format"]) > CHECKPOINT_FORMAT:
            raise UserError(f"checkpoint {str(path)!r} was written by a newer ganzoo (format {payload['format']}); upgrade ganzoo")
        ckpt.check_resume_config(payload.get("config", {}), cfg.to_dict(self.config), path)
        for line in ckpt.plugin_warnings(payload.get("plugins", {}), plugin_versions(self.registry)):
            print(f"ganzoo: warning: {line}", file=sys.stderr)
        saved_ema = payload.get("ema_settings")
        if saved_ema is not None and saved_ema != ema.record(self.ema_settings):
            raise UserError(f"cannot change the EMA when resuming (the checkpoint {str(path)!r} has {saved_ema}, "
                            f"asked {ema.record(self.ema_settings)}); start a new run to change it")
        check_network_keys(self.networks, payload, path, self.registry, self.config)
        try:
            _load_modules(self.networks, payload["networks"])
            _load_modules(self.ema, payload["ema"])
            for player in self.schedule.players:
                player.optimizer.load_state_dict(payload["optimizers"][player.name])
                if player.lr_scheduler is not None:
                    player.lr_scheduler.load_state_dict(payload["schedulers"][player.name])
            self.source.load_state_dict(payload["data"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise UserError(
                f"checkpoint {str(path)!r} does not fit the {self.variant.name} run built from its config "
                f"({type(exc).__name__}: {detail}); it was written by another version of "
                f"{payload.get('package') or 'the plugin'} or with other settings"
            ) from None
        self.state.clear()
        self.state.update(payload["state"])
        set_rng_state(payload["rng"])
        log = payload.get("log", {})
        self._running = {key: value.to(_sum_dtype(value)) for key, value in log.get("running", {}).items()}
        self._count = int(log.get("count", 0))
        self.skipped_steps = int(log.get("skipped", 0))
        self.step = int(payload["step"])
        self.last_checkpoint = path
        if self.step > self.config.steps:
            raise UserError(f"the run is already at step {self.step}; pass --steps above that to train longer")

    def check_output_shape(self) -> None:
        """Draw two samples before anything is written: an image size the networks cannot take is
        then a one-line error, not a traceback after the run folder was created."""
        if self.data_info.kind not in ("images", "labelled-images", "points"):
            return
        labels = self.fixed["labels"]
        try:
            samples = self.draw(2, None if labels is None else labels[:2], self.fixed["seed"], None)
        except RuntimeError as exc:
            if looks_like_shape_error(exc):
                raise self._shape_error(exc) from None
            raise
        made, wanted = tuple(samples.shape[1:]), tuple(self.data_info.shape)
        if made != wanted:
            raise UserError(
                f"variant {self.variant.name!r} generates samples of shape {made} but the data are {wanted}; "
                "choose an image size its networks support with --image-size"
            )

    def _shape_error(self, exc: BaseException) -> UserError:
        detail = (str(exc).strip().splitlines() or [""])[0][:200]
        return UserError(
            f"variant {self.variant.name!r} cannot take data of shape {tuple(self.data_info.shape)} ({detail}); "
            "choose an image size its networks support with --image-size"
        )

    # -- the loop -------------------------------------------------------------------------------

    def _write_run_files(self) -> None:
        """``config.toml`` and, for a new run, ``run.json``; each written atomically, so a kill
        while resuming never leaves a run folder that cannot be resumed again."""
        import tomli_w

        self.run_dir.mkdir(parents=True, exist_ok=True)
        ckpt.atomic_write_text(self.run_dir / "config.toml", tomli_w.dumps(cfg.to_dict(self.config)))
        if self.resume_from is not None and (self.run_dir / "run.json").is_file():
            return
        info = {
            "variant": self.variant.name,
            "package": self.variant.package,
            "dataset": self.config.dataset,
            "data": {"kind": self.data_info.kind, "shape": list(self.data_info.shape), "num_classes": self.data_info.num_classes},
            "plugins": run_plugins(self.registry, self.variant, self.config),
            "addons": addon_records(self.config, self.registry),
            "torch": torch.__version__,
            "created": dt.datetime.now().isoformat(timespec="seconds"),
        }
        ckpt.atomic_write_text(self.run_dir / "run.json", json.dumps(info, indent=2) + "\n")

    def _lock_run_dir(self, new: bool) -> None:
        """Claim the run folder before anything slow happens (see :mod:`ganzoo.engine.run_folder`):
        a new run creates it exclusively, a resumed one locks it; a folder held by another process is
        a one-line error naming that process. The lock dies with the process, ``kill -9`` included."""
        if not new:
            self._lock = run_folder.lock_existing(self.run_dir)
        elif self.restart_leftover:
            self._lock = run_folder.claim_leftover(self.run_dir, self.variant.name)
        elif self._default_name:
            self._lock = run_folder.claim_default(self.run_dir)
            self.run_dir = self._lock.path.parent
        else:
            self._lock = run_folder.claim_new(self.run_dir)

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

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
        ctx.compute_losses = lambda player: self.registry.losses(self.variant, player, ctx)  # type: ignore[attr-defined]
        for net in self.networks.values():
            net.train()
        return ctx

    def train_iteration(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        """One training iteration as the loop runs it: a fresh batch, every player, the EMA."""
        ctx.step = self.step
        ctx.cache = {}
        ctx.batch = ctx.next_batch()
        terms = self.registry.train_step(self.variant, self.schedule, ctx)
        self._update_ema(ctx)
        self.step += 1
        return terms

    def train(self) -> RunResult:
        """Train to ``config.steps`` iterations (continuing from ``resume_from`` when given).

        A new run refuses a folder that already holds files. When bad input stops a new run before
        its first checkpoint (any :class:`UserError`, a full disk), the folders this call created
        are removed again: nothing is left half-written.
        """
        created = None
        forked = self.resume_from is not None and self.run_dir.absolute() != resumed_run_dir(self.resume_from).absolute()
        new = self.resume_from is None or forked
        try:
            if distributed.is_main_process():  # rank 0 claims the folder, before anything slow happens
                fresh = new and not self.restart_leftover
                if fresh and not self._default_name:
                    check_new_run_dir(self.run_dir)
                missing, existed = _first_missing(self.run_dir.parent), self.run_dir.exists() and not self._default_name
                self._lock_run_dir(new)
                if fresh:  # what the claim created (a default name may differ from the one checked)
                    created = missing or (None if existed else self.run_dir)
            return self._train()
        except BaseException as exc:
            error = as_user_error(exc)
            started = (self.run_dir / "run.json").exists()  # else only the claim's .lock is there
            bad_input = error is not None or isinstance(exc, UserError)
            if (bad_input or not started) and self._lock is not None and self.last_checkpoint is None:
                if created is not None:
                    shutil.rmtree(created, ignore_errors=True)
                elif self.resume_from is None:  # an empty folder given with --out: empty it again
                    for child in self.run_dir.iterdir():
                        shutil.rmtree(child) if child.is_dir() else child.unlink()
            if error is not None:
                raise error from None
            if isinstance(exc, KeyboardInterrupt) and self._stop_signal is not None:  # a second Ctrl-C
                raise Interrupted(
                    f"stopped at once by a second signal during step {self.step + 1}; {self._last_good()}; "
                    f"continue with: ganzoo run --resume {shlex.quote(str(self.run_dir))}",
                    ExitCode.INTERRUPTED,
                ) from None
            raise
        finally:
            self._unlock()
            if hasattr(self, "ddp"):
                self.ddp.close()

    def _train(self) -> RunResult:
        self.build()
        if self.resume_from is not None:
            self.restore(self.resume_from)
        self.check_output_shape()
        if self.ddp.is_main:  # rank 0 writes the run folder
            self._write_run_files()
        from ganzoo.engine.logging import MetricsLog, Progress

        log = MetricsLog(self.run_dir, resume_step=self.step) if self.ddp.is_main else distributed.NullLog()
        ctx = self.context()
        last_grid = None
        last_losses: dict[str, float] = {}
        previous = self._install_signal_handlers()
        batch = self.config.batch_size * self.ddp.world_size
        progress = Progress(self.config.steps, start=self.step, disabled=self.quiet or not self.ddp.is_main, title=f"{self.variant.name}")
        t_log = time.perf_counter()
        steps_at_log = first_step = self.step
        try:
            with progress:
                while self.step < self.config.steps:
                    try:
                        terms = self.train_iteration(ctx)
                    except RuntimeError as exc:  # the first batch through the networks: wrong sizes?
                        if self.step == first_step and looks_like_shape_error(exc):
                            raise self._shape_error(exc) from None
                        raise
                    self.record_losses(terms, ctx)
                    if self.step % self.config.log_every == 0 or self.step == self.config.steps:
                        now = time.perf_counter()
                        last_losses = self.logged_losses()
                        images = batch * ctx.batch_multiple * sum(self._updates_at(s) for s in range(steps_at_log, self.step))
                        rate = images / max(now - t_log, 1e-9)
                        record = {"step": self.step, **last_losses, "images_per_s": rate}
                        for player in self.schedule.players:
                            record[f"lr/{player.name}"] = player.optimizer.param_groups[0]["lr"]
                        if self.config.on_nan == "skip":
                            record["skipped_steps"] = self.skipped_steps
                        log.write(record)
                        progress.update(self.step, last_losses, rate)
                        t_log, steps_at_log = now, self.step
                    else:
                        progress.update(self.step)
                    if self.step % self.config.sample_every == 0 or self.step == self.config.steps:
                        last_grid = self.write_samples()
                        log.image(self.step, last_grid)
                    if self.step % self.config.checkpoint_every == 0 or self.step == self.config.steps:
                        self.save_checkpoint()
                    stop = self.ddp.agreed_stop(self._stop_signal, self.step)  # all processes stop together
                    if stop is not None:
                        self._stop_signal = stop
                        raise self._interrupted()
        finally:
            log.close()
            for signum, handler in previous:
                signal.signal(signum, handler)
        self.ddp.finish()  # every process leaves the group together (after rank 0's last writes)
        return RunResult(self.run_dir, self.step, last_grid, self.last_checkpoint, last_losses)

    def _updates_at(self, step: int) -> int:
        """The most updates a player makes in iteration ``step``: the batches counted in images/s."""
        return max(p.repeats_at(step) for p in self.schedule.players)

    def _update_ema(self, ctx: StepContext) -> None:
        images = self.config.batch_size * self.ddp.world_size * ctx.batch_multiple
        ema.update(self.ema, self.networks, self.ema_settings, self.step, images)

    # -- signals and divergence -----------------------------------------------------------------

    def _interrupted(self) -> Interrupted:
        """Checkpoint the finished step (unless just done) and say how to continue."""
        if self.last_checkpoint is None or ckpt.checkpoint_step(self.last_checkpoint) != self.step:
            self.save_checkpoint()
        name = signal.Signals(self._stop_signal).name
        code = ExitCode.INTERRUPTED if self._stop_signal == signal.SIGINT else ExitCode.TERMINATED
        return Interrupted(
            f"interrupted by {name} at step {self.step}; saved {self.last_checkpoint}; continue with: "
            f"ganzoo run --resume {shlex.quote(str(self.run_dir))}",
            code,
        )

    def record_losses(self, terms: dict[str, torch.Tensor], ctx: StepContext) -> None:
        """Add one iteration's terms to the sums of the next logged step (no sync per step)."""
        skipped = ctx.cache.get("skipped")
        if skipped:
            self._skip(terms, skipped)
            return
        self._skips_in_a_row = 0
        # a term made on the host (a logged scalar such as ADA's p) joins the device's sums
        terms = {key: value if value.device == self.device else value.to(self.device) for key, value in terms.items()}
        self._recent.append((self.step, terms))
        accumulate_losses(self._running, terms)
        self._count += 1

    def _skip(self, terms: dict[str, torch.Tensor], players: list[str]) -> None:
        """``on_nan = "skip"``: an update with a non-finite loss was not applied."""
        self.skipped_steps += 1
        self._skips_in_a_row += 1
        key, value = next(((k, v.item()) for k, v in terms.items() if not math.isfinite(v.item())), ("?", math.nan))
        if self._skips_in_a_row >= MAX_SKIPS_IN_A_ROW:
            raise Diverged(
                f"loss {key} was {value} for {self._skips_in_a_row} steps in a row up to step {self.step} "
                f"(on_nan=skip); {self._last_good()}; start a new run with a lower learning rate"
            )
        if self.skipped_steps == 1:
            print(f"ganzoo: warning: loss {key} became {value} at step {self.step}; skipped the update of "
                  f"{', '.join(players)} (on_nan=skip; metrics.jsonl counts skipped_steps)", file=sys.stderr)

    def logged_losses(self) -> dict[str, float]:
        """The mean of every term since the last logged step (one sync), checked to be finite."""
        keys = list(self._running)
        means = self.ddp.mean(torch.stack([self._running[k] for k in keys]) / max(self._count, 1)).tolist() if keys else []
        if not all(math.isfinite(m) for m in means):
            self._diverged()
        self._running, self._count, self._recent = {}, 0, []
        return dict(zip(keys, means, strict=True))

    def _check_finite(self) -> None:
        """Raise :class:`Diverged` if a loss since the last logged step was NaN or infinite."""
        if self._running and not self.ddp.all_finite(torch.stack(list(self._running.values()))):
            self._diverged()

    def _check_weights(self) -> None:
        """A checkpoint is only written while every weight is finite: it is then a good one."""
        for name, net in self.networks.items():
            params = [p.detach() for p in net.parameters()]
            if params and not bool(torch.stack([torch.isfinite(p).all() for p in params]).all()):
                raise Diverged(f"the weights of {name} became NaN or infinite by step {self.step}; "
                               f"{self._last_good()}; start a new run with a lower learning rate")

    def _diverged(self) -> None:
        """Name the first step and term that went NaN or infinite, the last good checkpoint, and
        advice that works from there (with no checkpoint yet there is nothing to resume)."""
        where = f"by step {self.step}"
        key, value = next(((k, v.item()) for k, v in self._running.items() if not math.isfinite(v.item())), ("?", math.nan))
        for at, terms in self._recent:
            bad = next(((k, v.item()) for k, v in terms.items() if not math.isfinite(v.item())), None)
            if bad is not None:
                where, (key, value) = f"at step {at}", bad
                break
        if self.last_checkpoint is None:
            advice = (f"run the same command again with --out {shlex.quote(str(self.run_dir))} --resume (it starts "
                      "afresh there) and --set on_nan=skip (skips such updates) or a lower learning rate")
        else:
            advice = (f"continue from it with --set on_nan=skip (ganzoo run --resume {shlex.quote(str(self.run_dir))} "
                      "--set on_nan=skip) or start a new run with a lower learning rate")
        raise Diverged(f"loss {key} became {value} {where}; {self._last_good()}; {advice}")

    def _last_good(self) -> str:
        if self.last_checkpoint is None:
            return "no checkpoint was written yet"
        return f"last good checkpoint: {self.last_checkpoint}"



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
    truncation: float | None = None,
    truncation_cutoff: int | None = None,
) -> torch.Tensor:
    """Draw ``n`` samples in eval mode with a private generator (the global RNG is untouched).

    ``inputs`` and ``direction`` are for translation variants, ``truncation`` and
    ``truncation_cutoff`` for variants that declare them (see the ``ganzoo_sample`` hook)."""
    from ganzoo.sampling import check_sample_options

    check_sample_options(variant, truncation=truncation, truncation_cutoff=truncation_cutoff)
    modes = {k: m.training for k, m in networks.items()}
    for m in networks.values():
        m.eval()
    try:
        generator = torch.Generator(device=device).manual_seed(seed)
        with torch.no_grad():
            out = registry.sample(
                variant=variant,
                networks=networks,
                config=config,
                n=n,
                labels=None if labels is None else labels.to(device),
                generator=generator,
                device=device,
                inputs=inputs,
                direction=direction,
                truncation=truncation,
                truncation_cutoff=truncation_cutoff,
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
