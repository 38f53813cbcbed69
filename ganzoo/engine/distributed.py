"""Multi-process training: torchrun's environment, DistributedDataParallel, rank-0-only writing.

``torchrun --nproc_per_node N -m ganzoo run NAME ...`` starts N copies of the ordinary command;
torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address, and this module
turns them into a process group (NCCL on CUDA, gloo on CPU), one GPU per process and a
:class:`~torch.nn.parallel.DistributedDataParallel` wrapper around every network a player trains.
Without those variables (or with ``WORLD_SIZE=1``) every function here is a no-op, so one process
runs exactly the code it always ran.

The game: several players, each its own update
----------------------------------------------
DDP prepares a network's gradient all-reduce when the network's *forward* runs, and reduces during
the next backward that reaches its parameters. A GAN schedule breaks that pairing: the generator's
forward usually runs inside the discriminator's update (its fakes are cached and reused by the
generator's update, as the reference loops do), and the generator's backward runs through the
discriminator. So the engine says, at the start of each player's update, which networks are to be
all-reduced (:meth:`Distributed.begin_update`):

- the player's own networks are prepared for reduction then, whenever their forward ran;
- every other network is in ``no_sync`` mode: the gradients that reach it (the generator's backward
  through the discriminator) stay local and are discarded by its optimiser's ``zero_grad``.

Each player's gradients are therefore all-reduced exactly once per update, gradients reaching
another player's network are never communicated, and DDP needs neither
``find_unused_parameters`` nor ``static_graph`` (both route outputs through an autograd function
without double backward, which the gradient penalty of WGAN-GP needs). A comm hook counts what
each update reduced, so a parameter that got no gradient is named in a clear error instead of
DDP's "Expected to have finished reduction in the prior iteration".

Data and randomness
-------------------
``batch_size`` is per process: the global batch is ``batch_size × world_size``. Process ``r``
takes rows ``[r·b, (r+1)·b)`` of every global batch of the shared per-epoch permutation
(:meth:`ganzoo.data.source.DataSource.shard`), so the shards of one global batch are exactly the
batch one process would draw with ``batch_size × world_size``. Rank 0 draws its noise from the
run's seed exactly as a one-process run does; rank ``r > 0`` reseeds every iteration from
``(seed, r, step)``, so the ranks' noise is independent and a resumed run draws the same noise.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import random
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ganzoo.errors import GanzooError, UserError

#: How often (in iterations) the processes agree on whether a signal asked them to stop: one tiny
#: all-reduce every so many iterations, so that all ranks stop after the same step.
STOP_CHECK_EVERY = 10


def env_world_size() -> int:
    """The number of processes torchrun started (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def env_rank() -> int:
    """This process's global rank as torchrun set it (0 without torchrun)."""
    return int(os.environ.get("RANK", "0") or 0)


def is_main_process() -> bool:
    """Whether this process prints and writes: rank 0, or the only process.

    Readable before the process group exists (the CLI checks it before training starts).
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank() == 0
    return env_rank() == 0


def rank_seed(seed: int, rank: int, step: int) -> int:
    """The seed of rank ``rank``'s random streams at iteration ``step`` (ranks other than 0)."""
    digest = hashlib.blake2b(f"ganzoo/{seed}/{rank}/{step}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def _ddp_class() -> type:
    from torch.nn.parallel import DistributedDataParallel

    class PlayerDDP(DistributedDataParallel):
        """DDP that lets a loss hook read its network's attributes (``G.latent_dim``, ``G.model``)."""

        def __getattr__(self, name: str) -> Any:
            try:
                return super().__getattr__(name)
            except AttributeError:
                inner = self.__dict__.get("_modules", {}).get("module")
                if inner is None or name == "module":
                    raise
                return getattr(inner, name)

    return PlayerDDP


def _ddp_options() -> dict[str, Any]:
    """No buffer broadcast before every forward: each rank keeps its own BatchNorm statistics
    (rank 0's are the ones saved); with ``ddp.sync_bn`` they are the same on every rank anyway.
    Newer torch names the switch ``forward_sync_buffers``."""
    from torch.nn.parallel import DistributedDataParallel

    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters:
        return {"forward_sync_buffers": False}
    return {"broadcast_buffers": False}


@dataclass
class _Reduced:
    """Comm-hook state: how many parameters of one network the current update (and the whole
    run) all-reduced."""

    group: Any = None
    parameters: int = 0
    total: int = 0


def _counting_allreduce(state, bucket):  # unannotated: DDP checks a hook's annotations as objects
    """DDP's own all-reduce (average over the ranks), counting the parameters it reduced."""
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

    count = len(bucket.parameters())
    state.parameters += count
    state.total += count
    return allreduce_hook(state.group, bucket)


@dataclass
class Distributed:
    """This process's place in a run. With ``world_size == 1`` every method is a no-op."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    #: Whether this object created the process group (and so destroys it in :meth:`close`).
    owns_group: bool = False
    seed: int = 0
    _wrapped: dict[str, nn.Module] = field(default_factory=dict)
    _reduced: dict[str, _Reduced] = field(default_factory=dict)
    _trainable: dict[str, int] = field(default_factory=dict)
    _owners: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _last_update: str | None = None
    _seeded_step: int | None = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- setting up ---------------------------------------------------------------------------

    @classmethod
    def setup(cls, config: Any) -> Distributed:
        """Join the process group torchrun describes (or the one already initialised) and pick
        this process's device: ``cuda:LOCAL_RANK`` for CUDA runs, else the configured device."""
        from ganzoo.engine.device import pick_device

        dist = torch.distributed
        initialised = dist.is_available() and dist.is_initialized()
        world = dist.get_world_size() if initialised else env_world_size()
        if world <= 1:
            return cls(device=pick_device(config.device), seed=config.seed)
        if not dist.is_available():
            raise UserError("this torch build has no torch.distributed; run one process or install a torch with it")
        local_rank = int(os.environ.get("LOCAL_RANK", "0") or 0)
        device = _process_device(config.device, local_rank)
        backend = config.ddp.backend
        if backend == "auto":
            backend = "nccl" if device.type == "cuda" else "gloo"
        if backend == "nccl" and device.type != "cuda":
            raise UserError(f"ddp.backend nccl needs CUDA devices but this run trains on {device.type}; use --set ddp.backend=gloo or auto")
        if config.ddp.sync_bn and device.type != "cuda":
            raise UserError(
                "ddp.sync_bn needs CUDA devices (torch's SyncBatchNorm has no CPU kernel); "
                "drop --set ddp.sync_bn=true or train on GPUs"
            )
        if device.type == "cuda":
            torch.cuda.set_device(device)
        owns = False
        if not initialised:
            dist.init_process_group(backend=backend)
            owns = True
        else:
            backend = str(dist.get_backend())
        return cls(
            rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank,
            backend=backend, device=device, owns_group=owns, seed=config.seed,
        )

    def convert_batchnorm(self, networks: dict[str, nn.Module], sync: bool) -> dict[str, nn.Module]:
        """With ``ddp.sync_bn``, BatchNorm layers become SyncBatchNorm: batch statistics over the
        global batch instead of each process's shard (state_dict keys stay the same)."""
        if not (self.enabled and sync):
            return networks
        return {name: nn.SyncBatchNorm.convert_sync_batchnorm(net) for name, net in networks.items()}

    def shard(self, source: Any) -> None:
        """Give ``source`` this process's share of every global batch."""
        if not self.enabled:
            return
        shard = getattr(source, "shard", None)
        if shard is None:
            if self.is_main:
                warnings.warn(
                    f"data source {type(source).__name__} cannot be sharded across processes; every process "
                    "trains on the same batches", stacklevel=2,
                )
            return
        shard(self.rank, self.world_size)

    def wrap(self, networks: Mapping[str, nn.Module], schedule: Any) -> dict[str, nn.Module]:
        """The networks the loss hooks see: each network a player trains wrapped in DDP (which
        also makes every rank start from rank 0's weights); the others as they are."""
        view = dict(networks)
        if not self.enabled:
            return view
        ddp_class, options = _ddp_class(), _ddp_options()
        owned = {name for player in schedule.players for name in player.networks}
        for name in sorted(owned):
            net = networks.get(name)
            if net is None:
                continue
            trainable = sum(1 for p in net.parameters() if p.requires_grad)
            if trainable == 0:
                continue
            ids = [self.device.index] if self.device.type == "cuda" else None
            wrapped = ddp_class(net, device_ids=ids, output_device=ids[0] if ids else None, **options)
            state = _Reduced()
            wrapped.register_comm_hook(state, _counting_allreduce)
            view[name] = self._wrapped[name] = wrapped
            self._reduced[name], self._trainable[name] = state, trainable
        self._owners = {p.name: tuple(n for n in p.networks if n in self._wrapped) for p in schedule.players}
        return view

    # -- every update ---------------------------------------------------------------------------

    def begin_update(self, player: str, step: int) -> None:
        """Before one update of ``player``: all-reduce its networks' gradients in the coming
        backward, and only theirs. Also reseeds ranks > 0 at the first update of an iteration."""
        if not self.enabled:
            return
        if step != self._seeded_step:
            self._seeded_step = step
            if self.rank > 0:
                self._reseed(step)
        self.check_last_update()
        mine = self._owners.get(player, ())
        for name, wrapped in self._wrapped.items():
            ours = name in mine
            wrapped.require_backward_grad_sync = ours
            if ours:
                # What DDP's forward does before preparing: the one-time rebuild of the gradient
                # buckets in the order the first backward produced them (it must precede prepare).
                if torch.is_grad_enabled():
                    wrapped.reducer._rebuild_buckets()
                wrapped.reducer.prepare_for_backward([])
                self._reduced[name].parameters = 0
        self._last_update = player

    def check_last_update(self) -> None:
        """Raise a clear error if the previous update left a parameter of its player without a
        gradient (DDP then cannot finish the all-reduce). An update skipped as a whole is fine."""
        player, self._last_update = self._last_update, None
        if player is None:
            return
        for name in self._owners.get(player, ()):
            done, expected = self._reduced[name].parameters, self._trainable[name]
            if done == expected:
                continue
            module = self._wrapped[name].module
            missing = [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None]
            if done == 0 and len(missing) == expected:  # no backward at all: a skipped update
                continue
            if not missing:  # every parameter got a gradient, yet DDP reduced none of them
                raise GanzooError(
                    f"the gradients of {name!r} in an update of player {player!r} were not all-reduced across "
                    "processes; a custom ganzoo_train_step must call "
                    "ganzoo.engine.distributed.begin_update(ctx, player) before each update"
                )
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise GanzooError(
                f"in an update of player {player!r}, parameters of {name!r} received no gradient ({shown}); "
                "with several processes every trainable parameter of a player's networks must take part in "
                "its loss: use them, or set requires_grad_(False) on them when building the network"
            )

    def _reseed(self, step: int) -> None:
        seed = rank_seed(self.seed, self.rank, step)
        random.seed(seed)
        torch.manual_seed(seed)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(seed % 2**32)

    def reduced_parameters(self) -> dict[str, int]:
        """Per wrapped network, how many parameter gradients this run has all-reduced (a network
        of ``k`` trainable parameters whose player updated ``u`` times: ``k·u``)."""
        return {name: state.total for name, state in self._reduced.items()}

    # -- agreeing across ranks ------------------------------------------------------------------

    def all_finite(self, tensor: torch.Tensor) -> bool:
        """Whether ``tensor`` is finite on every rank (so all ranks skip an update together)."""
        finite = torch.isfinite(tensor.detach()).all()
        if self.enabled:
            flag = finite.to(torch.int32).reshape(1)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
            finite = flag[0]
        return bool(finite)

    def mean(self, tensor: torch.Tensor) -> torch.Tensor:
        """The mean of ``tensor`` over the ranks (logged losses are those of the global batch)."""
        if not self.enabled:
            return tensor
        total = tensor.detach().float().clone()
        torch.distributed.all_reduce(total)
        return total / self.world_size

    def agreed_stop(self, signal_number: int | None, step: int) -> int | None:
        """The stop signal all ranks act on at ``step``: every :data:`STOP_CHECK_EVERY`
        iterations the ranks share theirs, so that every rank stops after the same step."""
        if not self.enabled:
            return signal_number
        if step % STOP_CHECK_EVERY:
            return None
        flag = torch.tensor([signal_number or 0], dtype=torch.int64, device=self._collective_device())
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        return int(flag.item()) or None

    def _collective_device(self) -> torch.device:
        return self.device if self.backend == "nccl" else torch.device("cpu")

    def finish(self) -> None:
        """Wait for every process at the end of a run that finished normally, so that no process
        leaves the group while another still writes its last checkpoint: gloo may abort a process
        that tears its group down while a peer is still connected ("terminate called without an
        active exception", exit -6)."""
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.barrier()

    def close(self) -> None:
        """Leave the process group if this process created it."""
        if self.owns_group and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
            self.owns_group = False


def _process_device(name: str, local_rank: int) -> torch.device:
    """One device per process: ``cuda:LOCAL_RANK`` when the run trains on CUDA, else CPU."""
    from ganzoo.engine.device import pick_device

    if name.startswith("cuda:"):
        raise UserError(
            f"device {name!r} cannot be used with torchrun: each process takes the GPU of its LOCAL_RANK; "
            "use --device cuda (or auto)"
        )
    if name == "mps":
        raise UserError("distributed training runs on CUDA (nccl) or CPU (gloo), not mps; use --device cuda or cpu")
    device = pick_device(name)
    if device.type == "mps":  # auto picked mps: train on the CPU with gloo instead
        device = torch.device("cpu")
    if device.type != "cuda":
        return device
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise UserError(
            f"process with LOCAL_RANK {local_rank} has no GPU: this node has {count}; "
            f"start at most {count} processes per node (torchrun --nproc_per_node {count})"
        )
    return torch.device("cuda", local_rank)


def begin_update(ctx: Any, player: Any) -> None:
    """Call before each update of ``player`` in a training step (no-op in one process)."""
    run = getattr(ctx, "distributed", None)
    if run is not None:
        run.begin_update(player.name, ctx.step)


def all_finite(ctx: Any, tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` is finite on every process of the run ``ctx`` belongs to."""
    run = getattr(ctx, "distributed", None)
    if run is None:
        return bool(torch.isfinite(tensor.detach()).all())
    return run.all_finite(tensor)


class NullLog:
    """What ranks other than 0 log to: nothing (rank 0 writes metrics.jsonl and TensorBoard)."""

    def write(self, record: dict[str, Any]) -> None:
        pass

    def image(self, step: int, path: Any) -> None:
        pass

    def close(self) -> None:
        pass
