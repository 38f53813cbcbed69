"""The plugin contract of ganzoo: every hook a plugin can implement, in the order the engine uses them.

A plugin is any importable module or object with functions decorated by :data:`ganzoo.hookimpl`
and named after a hook below. A distribution makes its plugin visible by declaring an entry point
in the group ``ganzoo``::

    [project.entry-points.ganzoo]
    mygan = "mygan_plugin"

The built-in variants are registered the same way by ganzoo's own ``pyproject.toml``.

Conventions that hold for every hook:

- Hooks are called with keyword arguments; an implementation may accept any subset of them.
- Per-variant hooks receive ``variant`` (a :class:`ganzoo.spec.VariantSpec`). An implementation
  that does not handle that variant returns ``None`` so the next one is asked; the first non-``None``
  answer wins (``firstresult``).
- Implementations run last-registered-first. Use ``@hookimpl(tryfirst=True)`` to override another
  plugin's answer, or ``@hookimpl(wrapper=True)`` to receive and change it (e.g. swap one network
  of an existing variant for your own without forking the variant).
- Collecting hooks (``ganzoo_variants``, ``ganzoo_datasets``, ``ganzoo_metrics``, ``ganzoo_addons``,
  ``ganzoo_tables``, ``ganzoo_adversarial_losses``) gather the lists of all plugins; a name claimed twice is an error
  that names both packages. A plugin whose answer is not a list of its kind's spec class (or that
  raises) is recorded as failed, shown by ``ganzoo plugins`` with its error, and left out; the other
  plugins keep working.
- Answers of the per-run hooks are checked by type (a dict of modules, a ``Schedule``, a dict of
  tensors, a tensor); a wrong one stops with one line naming the plugin and the hook.
- An add-on (declared through ``ganzoo_addons``) implements the per-run hooks below like any plugin,
  but acts only when the run names it: its implementations look for their name in
  ``config.addons`` (``ctx.config.addons`` in the training hooks) and otherwise pass through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

    from ganzoo.parts.losses import AdversarialLoss
    from ganzoo.spec import (
        AddonSpec,
        DataInfo,
        DatasetSpec,
        MetricSpec,
        Schedule,
        StepContext,
        VariantSpec,
    )
    from ganzoo.tables import TableSpec

hookspec = pluggy.HookspecMarker("ganzoo")


# --------------------------------------------------------------------------------------------------
# Registration: called once when the plugin manager loads, and again by ``ganzoo list``/``plugins``.
# --------------------------------------------------------------------------------------------------


@hookspec
def ganzoo_variants() -> list[VariantSpec]:
    """Declare the variants this plugin provides.

    Called when the registry is first used. Returns a list of :class:`ganzoo.spec.VariantSpec`
    (name, one-line summary, paper, data kind, hyper-parameter dataclass with the paper's defaults,
    default dataset and named profiles such as ``demo``). All answers are collected; two plugins
    declaring the same name is an error naming both packages.

    Arrived in 0.1.
    """


@hookspec
def ganzoo_datasets() -> list[DatasetSpec]:
    """Declare named data providers.

    Called when the registry is first used. Returns a list of :class:`ganzoo.spec.DatasetSpec`
    whose ``build(config)`` returns a :class:`ganzoo.data.DataSource`. The built-in
    ``mnist``, ``fashion-mnist``, ``cifar10``, ``folder``, ``unpaired-folder``, ``digits-styles``,
    ``ring8`` and ``grid25`` are declared through this hook by ganzoo's core plugin. All answers are
    collected; duplicate names are an error.

    Arrived in 0.1.
    """


@hookspec
def ganzoo_metrics() -> list[MetricSpec]:
    """Declare named evaluation metrics used by ``ganzoo eval``.

    Called when the registry is first used. Returns a list of :class:`ganzoo.spec.MetricSpec`
    whose ``compute(run, n=..., seed=..., **options)`` receives a :class:`ganzoo.api.LoadedRun` and
    returns a flat ``dict[str, float]``; ``ganzoo eval`` merges it into ``RUN/eval.json``. The
    built-in ``modes``, ``fid``, ``kid``, ``is`` and the digit metrics are declared through this hook
    by ganzoo's core plugin (see ``docs/evaluation.md``). All answers are collected; duplicate names
    are an error.

    Arrived in 0.1.
    """


@hookspec
def ganzoo_addons() -> list[AddonSpec]:
    """Declare add-ons: cross-cutting plugins that change any variant's run when the run asks.

    Called when the registry is first used. Returns a list of :class:`ganzoo.spec.AddonSpec` (name,
    one-line summary, paper, settings dataclass). An installed add-on does nothing until a run names
    it (``ganzoo run dcgan --with diffaugment``, or ``addons = ["diffaugment"]`` in a config file);
    its settings are then the ``[<name>]`` section of the run's ``config.toml``. The add-on does its
    work in its implementations of the per-run hooks below (usually ``wrapper=True``), which find
    the enabled add-ons' settings in ``config.addons`` and pass through untouched when their name is
    not there::

        @hookimpl(wrapper=True)
        def ganzoo_networks(variant, config, data):
            networks = yield
            if "my-addon" in config.addons:
                for name in ganzoo.addons.networks_of(variant, networks, "discriminator"):
                    ...
            return networks

    The built-in ``ema``, ``diffaugment`` and ``spectral-norm`` are declared through this hook. All
    answers are collected; duplicate names are an error.

    Arrived in 0.2.
    """


@hookspec
def ganzoo_tables() -> list[TableSpec]:
    """Declare published tables that ``ganzoo reproduce NAME`` re-runs and compares against.

    Called when the registry is first used. Returns a list of :class:`ganzoo.tables.TableSpec`
    (name, one-line summary, paper, path of a JSON data file). The data file holds the protocol
    (variant, profile, metric, samples per run, the paper's number of runs), the columns (dataset
    and metric value of each) and the rows (add-ons and ``--set`` values of each, with the published
    mean and standard error per column); :mod:`ganzoo.tables` documents the format. The built-in
    ``pacgan-table1`` (PacGAN's Table 1, Lin et al. 2018) is declared through this hook by the
    ``pacgan`` add-on's module. Example::

        @hookimpl
        def ganzoo_tables():
            from pathlib import Path

            from ganzoo.tables import TableSpec

            return [TableSpec("veegan-table1", "VEEGAN's 2-D mode coverage",
                              Path(__file__).with_name("veegan_table1.json"))]

    All answers are collected; duplicate names are an error naming both packages.

    Arrived in 0.3.
    """


@hookspec
def ganzoo_adversarial_losses() -> list[AdversarialLoss]:
    """Declare named adversarial losses, which variants offer as ``--set model.loss=NAME``.

    Called the first time a loss is looked up (not by ``ganzoo list``: declaring one imports torch).
    Returns a list of :class:`ganzoo.parts.losses.AdversarialLoss`: a name, a one-line summary,
    ``discriminator(real_logits, fake_logits, **options)`` returning the D loss as its two terms
    ``(real, fake)``, ``generator(fake_logits, **options)`` returning the G loss, and ``options``
    with their defaults. The built-in ``minimax``, ``non-saturating``, ``hinge``, ``wasserstein`` and
    ``least-squares`` are declared through this hook by ganzoo's core plugin. All answers are
    collected; duplicate names are an error naming both packages. Example::

        @hookimpl
        def ganzoo_adversarial_losses():
            from ganzoo.parts.losses import AdversarialLoss
    from ganzoo.tables import TableSpec

            def softplus_d(real, fake):
                return F.softplus(-real).mean(), F.softplus(fake).mean()

            return [AdversarialLoss("logistic", "StyleGAN's logistic loss", softplus_d,
                                    lambda fake: F.softplus(-fake).mean())]

    Arrived in 0.2.
    """


# --------------------------------------------------------------------------------------------------
# Building a run: called once per run (and when a run is loaded for sampling), in this order.
# --------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def ganzoo_networks(variant: VariantSpec, config: Any, data: DataInfo) -> dict[str, nn.Module]:
    """Build the variant's networks.

    Called once per run, and when a run is loaded for sampling or evaluation, before anything is
    moved to the device. ``config`` is the resolved :class:`ganzoo.config.RunConfig` (the variant's
    hyper-parameters are ``config.model``); ``data`` gives the sample shape and number of classes.
    Returns a dict of named modules (e.g. ``{"generator": G, "discriminator": D}``); the names are
    used in checkpoints, in the schedule and by ``ganzoo info``. Every name the variant declares in
    ``VariantSpec.roles`` must be a key of the answer (the engine checks). First answer wins.

    To replace one network of another plugin's variant, implement this hook with
    ``@hookimpl(wrapper=True)``: ``networks = yield``, change the entry, ``return networks``.

    Arrived in 0.1.
    """


@hookspec(firstresult=True)
def ganzoo_schedule(
    variant: VariantSpec, config: Any, networks: dict[str, nn.Module]
) -> Schedule:
    """Declare the order of play: players, their optimisers, repeats and learning-rate schedules.

    Called once per run after the networks are on the device. Returns a
    :class:`ganzoo.spec.Schedule`; the engine runs it for every training iteration (one iteration =
    one pass over all players; ``config.steps`` counts iterations). A player's ``repeats`` may be a
    function of the step (WGAN's critic warm-up), called at the start of each iteration. The variant
    never writes its own loop. Helpers for common pieces (Adam with the paper's betas, constant-then-linear decay) live in
    :mod:`ganzoo.engine.schedules`. First answer wins.

    Arrived in 0.1.
    """


# --------------------------------------------------------------------------------------------------
# Training: called every iteration.
# --------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def ganzoo_losses(variant: VariantSpec, player: str, ctx: StepContext) -> dict[str, torch.Tensor]:
    """Compute the named loss terms of one player for one update.

    Called for each update of each player, in schedule order. ``ctx`` holds the networks, the
    current batch, a per-iteration ``cache`` (to reuse the fakes generated for the previous player)
    and the run-long ``state``. Returns a dict of scalar tensors (e.g. ``{"adv": ..., "gp": ...}``);
    the engine back-propagates their sum through the player's optimiser and logs every term as
    ``<player>/<term>``. First answer wins.

    Arrived in 0.1.
    """


@hookspec(firstresult=True)
def ganzoo_train_step(
    variant: VariantSpec, schedule: Schedule, ctx: StepContext
) -> dict[str, torch.Tensor]:
    """Run one training iteration and return the loss terms it produced (tensors, not synced).

    Called once per iteration with a fresh batch in ``ctx``. Returns ``{"<player>/<term>": tensor}``.
    The engine's core plugin implements it (all players in schedule order). Cross-cutting work such
    as profiling, NaN checks or extra logging attaches here with ``@hookimpl(wrapper=True)``::

        @hookimpl(wrapper=True)
        def ganzoo_train_step(ctx):
            start = time.perf_counter()
            losses = yield
            ...
            return losses

    First answer wins (the core's implementation answers last). An implementation that replaces the
    core's step must call ``ganzoo.engine.distributed.begin_update(ctx, player)`` before each
    player's update: under torchrun that is where the engine chooses which gradients to all-reduce
    (see ``docs/distributed.md``).

    Arrived in 0.1.
    """


# --------------------------------------------------------------------------------------------------
# Using a trained run.
# --------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def ganzoo_sample(
    variant: VariantSpec,
    networks: dict[str, nn.Module],
    config: Any,
    n: int,
    labels: torch.Tensor | None,
    generator: torch.Generator,
    device: torch.device,
    inputs: torch.Tensor | dict[str, torch.Tensor] | None,
    direction: str | None,
    truncation: float | None,
    truncation_cutoff: int | None,
) -> torch.Tensor:
    """Draw ``n`` samples from a trained variant, in data space (images in [-1, 1], NCHW).

    Called by sample grids during training, ``ganzoo sample`` and the metrics, with the networks in
    eval mode under ``torch.no_grad``. ``labels`` is given for conditional variants; ``inputs`` for
    translation variants: images of the source domain (a tensor) translated in ``direction``
    (``"AtoB"`` or ``"BtoA"``), or, for the sample grids of unpaired data, a dict ``{"A": ..., "B":
    ...}`` of test images with ``direction`` ``None`` (both ways) or the one way to show; a
    translation variant then returns the grid's rows: inputs, translated, reconstructed. ``inputs``
    may be on the CPU. The core answers last with the common case:
    ``networks[variant.generator](z)`` (or ``(z, labels)`` when conditional) for
    ``z ~ N(0, I)`` of ``config.model.latent_dim``. A variant that declares ``joint_domains`` (CoGAN)
    draws every domain from one z and returns them stacked along the channels, in that order.
    Returns the samples as one tensor.

    ``truncation`` and ``truncation_cutoff`` are ``ganzoo sample --truncation/--truncation-cutoff``;
    they are ``None`` unless the variant lists them in ``VariantSpec.sample_options`` (the engine
    refuses them for other variants), and the variant decides what they mean (StyleGAN2: w =
    w_avg + ψ(w − w_avg) on the first ``truncation_cutoff`` layers; BigGAN: z entries above the
    threshold redrawn). First answer wins.

    Arrived in 0.1; ``truncation`` and ``truncation_cutoff`` arrived in 0.2.
    """
