"""Shared pieces of the reliability tests (resume, crash safety, safe loading, bad input).

Tiny per-variant settings, a plugin that sends the trainer a signal after a given step, in-process
test variants (a conditional one and one whose generator only makes 16 px images), and helpers that
compare checkpoints and snapshot folders.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganzoo import Paper, Player, Schedule, VariantSpec, hookimpl

#: Small, fast settings per variant: what the resume tests train (a few steps each on CPU). A variant
#: not listed trains with its own defaults at batch size 4.
TINY: dict[str, dict[str, Any]] = {
    "gan": {"dataset": "mnist", "batch_size": 8, "model.latent_dim": 8,
            "model.generator_widths": "16,32", "model.discriminator_widths": "32,16"},
    "dcgan": {"dataset": "mnist", "image_size": 16, "batch_size": 4, "model.latent_dim": 8,
              "model.ngf": 4, "model.ndf": 4},
    "wgan-gp": {"dataset": "mnist", "image_size": 16, "batch_size": 4, "model.latent_dim": 8,
                "model.ngf": 4, "model.ndf": 4},
    # the critic's warm-up (2 updates in the first 2 iterations and every 3rd) is a function of the
    # step, so a resumed run must continue it where it stopped; clipping keeps the critic in its box
    "wgan": {"dataset": "mnist", "image_size": 16, "batch_size": 4, "model.latent_dim": 8,
             "model.ngf": 4, "model.ndf": 4, "model.warmup_critic_steps": 2,
             "model.warmup_generator_steps": 2, "model.warmup_every": 3},
    "cogan": {"batch_size": 4, "model.latent_dim": 8, "model.width": 4},
    # phases of two steps: a resumed run crosses a fade-in, a new level and Adam's resets
    "progan": {"dataset": "mnist", "image_size": 16, "batch_size": 4, "model.latent_dim": 8, "model.fmap_base": 32,
               "model.fmap_max": 8, "model.stable_images": 8, "model.fade_images": 8},
    # a pool of 6 fills within the first steps, so resumed steps exercise its random swaps
    "cyclegan": {"image_size": 24, "batch_size": 2, "model.generator_width": 4,
                 "model.discriminator_width": 4, "model.residual_blocks": 1, "model.pool_size": 6},
    # spectral norm's u and v must resume with the weights (sagan: in both networks, with attention)
    "sngan": {"dataset": "mnist", "image_size": 16, "batch_size": 4, "model.latent_dim": 8,
              "model.g_channels": 8, "model.d_channels": 8, "model.n_dis": 2},
    "sagan": {"dataset": "mnist", "image_size": 16, "batch_size": 4, "model.latent_dim": 8,
              "model.g_channels": 8, "model.d_channels": 8},
    # biggan: the smallest 32 px networks with every part (shared embedding, hierarchical z,
    # attention, EMA averaging from step 1, two accumulated D micro-batches through its own step)
    "biggan": {"dataset": "mnist", "image_size": 32, "batch_size": 4, "model.g_ch": 4, "model.d_ch": 4, "model.latent_dim": 8,
               "model.shared_dim": 4, "model.g_attention": "16", "model.d_attention": "16",
               "model.ema_start": 1, "model.d_accumulations": 2},
    # ADA's p and its sign sums (stop mid-interval), the path-length mean and both lazy players resume exactly
    "stylegan2": {"dataset": "mnist", "image_size": 8, "batch_size": 4, "model.latent_dim": 8, "model.w_dim": 8,
                  "model.mapping_layers": 2, "model.channel_base": 64, "model.channel_max": 8,
                  "model.r1_interval": 2, "model.pl_interval": 2, "model.ada_interval": 3,
                  "model.ada_kimg": 0.1, "model.augment_p": 0.2, "model.ema_kimg": 0.01,
                  # every lazy player, ADA and style mixing on (the demo profile turns them off)
                  "model.augment": "ada", "model.pl_weight": 2.0, "model.style_mixing_prob": 0.9,
                  "model.d_architecture": "resnet"},
    # the example third-party plugin (examples/ganzoo-lsgan), when installed
    "lsgan": {"dataset": "mnist", "batch_size": 4, "model.latent_dim": 8, "model.width": 4},
    "cgan": {"dataset": "mnist", "batch_size": 10, "model.latent_dim": 8, "model.z_hidden": 8,
             "model.y_hidden": 8, "model.joint_hidden": 16, "model.x_units": 8, "model.x_pieces": 2,
             "model.y_units": 4, "model.y_pieces": 2, "model.joint_units": 8, "model.joint_pieces": 2},
}

#: Settings that only quieten a test run: no periodic grids or checkpoints besides the last. The
#: device is the CPU unless ``GANZOO_TEST_DEVICE`` names another (``cuda``: the resume tests on a GPU,
#: with deterministic kernels, without which two identical CUDA runs differ).
QUIET_RUN = {"device": os.environ.get("GANZOO_TEST_DEVICE", "cpu"), "deterministic": "true", "grid_size": 4, "sample_every": 10_000, "checkpoint_every": 10_000, "speed": "eager"}


def tiny_config(variant: str, registry: Any, steps: int, **extra: Any):
    """The resolved config of a tiny run of ``variant`` (``extra`` are dotted keys, as text)."""
    from ganzoo.api import make_config

    values = {**QUIET_RUN, **TINY.get(variant, {"batch_size": 4}), "steps": steps, **extra}
    options = {k: values.pop(k) for k in ("dataset", "image_size", "batch_size") if k in values}
    return make_config(variant, registry=registry, overrides={k: str(v) for k, v in values.items()}, **options)


class SignalAfterStep:
    """A plugin whose ``ganzoo_train_step`` wrapper sends this process ``signum`` after step ``step``.

    The wrapper is how cross-cutting work attaches to the step (see ``ganzoo_train_step``); here it
    plays the user pressing Ctrl-C in the middle of a run.
    """

    def __init__(self, step: int, signum: int = signal.SIGINT) -> None:
        self.step, self.signum = step, signum

    @hookimpl(wrapper=True)
    def ganzoo_train_step(self, ctx):
        terms = yield
        if ctx.step + 1 == self.step:
            signal.raise_signal(self.signum)
        return terms


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The logged records of a run without the wall-clock rate (the only value allowed to differ)."""
    import json

    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "images_per_s"} for line in lines]


def assert_same(a: Any, b: Any, where: str = "checkpoint") -> None:
    """Assert two checkpoint payloads (or parts) are equal, tensors bit for bit."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a, b), f"{where} differs"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where} keys differ: {sorted(a)} vs {sorted(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{where} lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (folders as empty entries), to show nothing changed.

    A run folder's ``.lock`` is left out: it names the process that held the folder last, which a
    refused resume also was."""
    out: dict[str, bytes] = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.name == ".lock":
            continue
        out[str(path.relative_to(folder))] = path.read_bytes() if path.is_file() else b"<dir>"
    return out


# --------------------------------------------------------------------------------------------------
# In-process test variants
# --------------------------------------------------------------------------------------------------


@dataclass
class SmallParams:
    latent_dim: int = 8
    lr: float = 2e-4


class Fixed16Generator(nn.Module):
    """Always makes 1×16×16 images, whatever the data size: an architecture with one output size."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(latent_dim, 8 * 4 * 4)
        self.up = nn.Sequential(nn.ConvTranspose2d(8, 4, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(4, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.fc(z).view(-1, 8, 4, 4))


class LabelledGenerator(nn.Module):
    def __init__(self, latent_dim: int, shape: tuple[int, ...], classes: int) -> None:
        super().__init__()
        self.shape = shape
        self.embed = nn.Embedding(classes, latent_dim)
        self.fc = nn.Linear(latent_dim, int(torch.tensor(shape).prod()))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z * self.embed(labels))).view(-1, *self.shape)


class AnySizeGenerator(nn.Module):
    def __init__(self, latent_dim: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape
        self.fc = nn.Linear(latent_dim, int(torch.tensor(shape).prod()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, *self.shape)


class ReliabilityVariants:
    """In-process variants: ``fixed16`` (its generator only makes 16 px images), ``critic16`` (its
    critic only takes 16 px images, so the first training step fails on other sizes) and
    ``tiny-cond`` (conditional)."""

    names = ("fixed16", "critic16", "tiny-cond")

    @hookimpl
    def ganzoo_variants(self):
        paper = Paper("A test variant", "ganzoo tests", 2024, "https://example.org")
        return [
            VariantSpec("fixed16", "test: fixed 16 px generator", paper, "images", SmallParams, "mnist"),
            VariantSpec("critic16", "test: fixed 16 px critic", paper, "images", SmallParams, "mnist"),
            VariantSpec("tiny-cond", "test: conditional", paper, "labelled-images", SmallParams, "mnist"),
        ]

    @hookimpl
    def ganzoo_networks(self, variant, config, data):
        if variant.name not in self.names:
            return None
        p = config.model
        features = int(torch.tensor(data.shape).prod())
        discriminator = nn.Sequential(nn.Flatten(), nn.Linear(features, 1))
        if variant.name == "fixed16":
            return {"generator": Fixed16Generator(p.latent_dim), "discriminator": discriminator}
        if variant.name == "critic16":
            critic = nn.Sequential(nn.Flatten(), nn.Linear(16 * 16, 1))
            return {"generator": AnySizeGenerator(p.latent_dim, data.shape), "discriminator": critic}
        return {"generator": LabelledGenerator(p.latent_dim, data.shape, data.num_classes), "discriminator": discriminator}

    @hookimpl
    def ganzoo_schedule(self, variant, config, networks):
        if variant.name not in self.names:
            return None
        from ganzoo.engine.schedules import adam

        lr = config.model.lr
        return Schedule(players=[
            Player("discriminator", ("discriminator",), adam(networks, ["discriminator"], lr, (0.5, 0.999))),
            Player("generator", ("generator",), adam(networks, ["generator"], lr, (0.5, 0.999))),
        ])

    @hookimpl
    def ganzoo_losses(self, variant, player, ctx):
        if variant.name not in self.names:
            return None
        real = ctx.batch["real"]
        z = torch.randn(real.shape[0], ctx.config.model.latent_dim)
        generator = ctx.networks["generator"]
        fake = generator(z, ctx.batch["label"]) if variant.name == "tiny-cond" else generator(z)
        score = ctx.networks["discriminator"]
        if player == "discriminator":
            return {"wasserstein": score(fake.detach()).mean() - score(real).mean()}
        return {"adv": -score(fake).mean()}
