"""The plain records that plugins hand to the engine.

These classes are the vocabulary of the hook contract (see :mod:`ganzoo.hookspecs`). They import
no torch at module level so that ``ganzoo list`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

#: What kind of data a variant trains on, or a dataset provides.
#:
#: - ``images``: unconditional images (labels, if present, are ignored)
#: - ``labelled-images``: images with class labels (conditional variants)
#: - ``unpaired-images``: two unpaired image domains A and B (image-to-image translation)
#: - ``points``: 2-D points (toy mixtures)
DataKind = Literal["images", "labelled-images", "unpaired-images", "points"]
DATA_KINDS: tuple[str, ...] = ("images", "labelled-images", "unpaired-images", "points")


@dataclass(frozen=True)
class Paper:
    """The publication a variant implements."""

    title: str
    authors: str
    year: int
    url: str


@dataclass(frozen=True)
class VariantSpec:
    """Everything the engine and the CLI know about a variant before building it.

    ``params`` is a dataclass *type* holding the variant's hyper-parameters with the paper's values as
    defaults; it becomes the ``[model]`` section of the run configuration. ``profiles`` maps a name
    to overrides of the whole run configuration (dotted keys, e.g. ``{"steps": 3000,
    "model.width": 32}``). The engine applies the ``demo`` profile when a variant runs on its
    ``default_dataset`` unless the user names another profile, so ``ganzoo run NAME`` finishes in
    minutes on a laptop CPU; ``paper`` (no overrides) is the published setting.
    """

    name: str
    summary: str
    paper: Paper
    data_kind: DataKind
    params: type
    default_dataset: str
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: One line per profile saying where it deviates from the paper and why (``ganzoo info`` shows
    #: them), e.g. ``{"demo": "RMSProp at 2e-4, not the paper's 5e-5, to learn digits in minutes"}``.
    profile_notes: Mapping[str, str] = field(default_factory=dict)
    #: Datasets of these kinds are accepted besides ``data_kind`` (e.g. an image GAN also trains on
    #: labelled images by ignoring labels). Filled in by the engine from ``data_kind`` when empty.
    accepts: tuple[str, ...] = ()
    #: The network the core's default sampler calls (``ganzoo_sample``): ``networks[generator](z)``.
    generator: str = "generator"
    #: The networks of each role, e.g. ``{"generator": ("generator_AB", "generator_BA"),
    #: "discriminator": ("discriminator_A", "discriminator_B")}``. The engine checks every name
    #: against the networks hook's answer; add-ons use them to find "every discriminator" of any
    #: variant (:func:`ganzoo.addons.networks_of`). Empty: only ``generator`` is known, as a generator.
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The sampling options this variant's ``ganzoo_sample`` understands, of ``truncation`` and
    #: ``truncation_cutoff`` (``ganzoo sample --truncation``); the variant decides what they mean
    #: (StyleGAN2: w = w_avg + ψ(w − w_avg); BigGAN: z redrawn above a threshold). Others refuse
    #: them with one line.
    sample_options: tuple[str, ...] = ()
    #: What ``ganzoo sample --truncation`` means for this variant, in one line (``ganzoo info``
    #: prints it), e.g. BigGAN's "z entries with |z| > T are redrawn".
    truncation: str = ""
    #: Where the variant departs from its paper or the authors' code, and which profile follows
    #: which, in a few lines; ``ganzoo info`` prints it.
    notes: str = ""
    #: A variant that draws every domain of unpaired data from one z (CoGAN: ``("A", "B")``) names
    #: the domains here. Its ``ganzoo_sample`` returns them stacked along the channels in this order
    #: (N×(k·C)×H×W, row i of every domain from the same z); grids show each row's domains side by
    #: side and ``ganzoo sample --out F.npz`` writes ``images_<domain>``. Empty: a translation
    #: variant (unpaired data) or a single-domain one.
    joint_domains: tuple[str, ...] = ()
    #: A bool field of ``params`` that makes an ``images`` variant class-conditional when set
    #: (SNGAN's ``conditional``: ``--set model.conditional=true`` with labelled data). Such a run
    #: samples, draws its grids and is scored per class like a ``labelled-images`` variant
    #: (:meth:`is_conditional`). Empty: the data kind alone decides.
    conditional_option: str = ""
    #: Set by the plugin manager: the distribution that registered the variant.
    package: str = ""

    @property
    def conditional(self) -> bool:
        return self.data_kind == "labelled-images"

    def is_conditional(self, config: Any) -> bool:
        """Whether a run of ``config`` is class-conditional: always for ``labelled-images``, else
        when ``conditional_option`` names a model setting that is true."""
        if self.conditional:
            return True
        return bool(self.conditional_option) and bool(getattr(config.model, self.conditional_option, False))

    def accepted_kinds(self) -> tuple[str, ...]:
        if self.accepts:
            return (self.data_kind, *self.accepts)
        if self.data_kind == "images":
            return ("images", "labelled-images")
        return (self.data_kind,)

    def default_params(self) -> Any:
        return self.params()

    def split_domains(self, samples: torch.Tensor) -> dict[str, torch.Tensor]:
        """A joint variant's samples (see ``joint_domains``) as one N×C×H×W tensor per domain."""
        return dict(zip(self.joint_domains, samples.chunk(len(self.joint_domains), dim=1), strict=True))

    def networks_of(self, role: str) -> tuple[str, ...]:
        """The names of the networks of ``role`` (``generator`` or ``discriminator``)."""
        if role in self.roles:
            return tuple(self.roles[role])
        return (self.generator,) if role == "generator" else ()


#: The roles a variant may declare in :attr:`VariantSpec.roles`.
ROLES: tuple[str, ...] = ("generator", "discriminator")


@dataclass(frozen=True)
class AddonSpec:
    """A cross-cutting plugin, registered through ``ganzoo_addons``, that changes any variant's run
    only when the run names it (``ganzoo run NAME --with ADDON`` or ``addons = [...]`` in a config
    file).

    ``settings`` is a dataclass *type* whose defaults are the add-on's settings; an enabled add-on's
    settings are the ``[<name>]`` section of ``config.toml`` (``--set <name>.<key>=...``), so they are
    recorded with the run and checked on resume. The add-on's hook implementations see
    ``config.addons`` (a dict of the enabled add-ons' settings by name) and pass through untouched
    when their name is not in it. ``paper`` may be ``None`` for an add-on that implements no paper.
    """

    name: str
    summary: str
    settings: type
    paper: Paper | None = None
    #: Set by the plugin manager: the distribution that registered the add-on.
    package: str = ""

    def default_settings(self) -> Any:
        return self.settings()


@dataclass(frozen=True)
class DataInfo:
    """What a built data source tells the networks hook about its samples."""

    kind: DataKind
    #: ``(C, H, W)`` for images, ``(2,)`` for points.
    shape: tuple[int, ...]
    num_classes: int = 0
    size: int = 0


@dataclass(frozen=True)
class DatasetSpec:
    """A named data provider, registered through ``ganzoo_datasets``.

    ``build(config)`` returns a :class:`ganzoo.data.source.DataSource`. It must raise
    :class:`ganzoo.errors.UserError` with one clear line for a missing or unreadable source.
    ``embedded`` marks a dataset that needs no download or path (the demo profile applies to it).
    ``shape`` (``(C, H, W)`` at the data's own size, ``(2,)`` for points) and ``num_classes`` (0:
    no labels; -1: known only from the files) let ``ganzoo info`` and ``ganzoo bench`` size
    networks without reading the data (:mod:`ganzoo.data.declared`); a dataset that leaves
    ``shape`` empty is opened to find out.
    """

    name: str
    summary: str
    kind: DataKind
    build: Callable[..., Any]
    embedded: bool = False
    package: str = ""
    shape: tuple[int, ...] = ()
    num_classes: int = 0


@dataclass(frozen=True)
class MetricSpec:
    """A named metric, registered through ``ganzoo_metrics``.

    ``compute(run, n=..., seed=..., **options)`` returns a flat ``dict[str, float]`` of results;
    ``run`` is a :class:`ganzoo.api.LoadedRun`, ``n`` the number of samples (omitted: the metric's own
    default), ``seed`` the seed of the samples. ``options`` may hold ``weights`` (a feature
    extractor's weights file), ``cache_dir`` (where to cache reference statistics) and ``shared``
    (a dict that lives for one evaluation, so metrics can reuse each other's samples); accept
    ``**options`` and ignore what you do not use. Raise :class:`ganzoo.errors.UserError` when the run
    does not fit the metric. ``kinds`` lists the data kinds it applies to; ``datasets``, when not
    empty, the datasets it is meant for; ``default`` whether ``ganzoo eval`` runs it when no
    ``--metric`` is named (off for slow or downloading metrics).
    """

    name: str
    summary: str
    kinds: tuple[str, ...]
    compute: Callable[..., dict[str, float]]
    package: str = ""
    datasets: tuple[str, ...] = ()
    default: bool = True


@dataclass
class Player:
    """One optimiser-driven participant of the game, updated in schedule order.

    ``networks`` are the keys of the networks dict this player's optimiser owns. ``repeats`` is how
    many updates it makes per training iteration (WGAN-GP's ``n_critic``): an integer, or a function
    of the iteration's step (the number of iterations done before it) returning one, for counts that
    change during a run (WGAN's code gives the critic 100 updates during the first 25 generator
    steps). A function must depend on the step alone, so a resumed run repeats as the unbroken one.
    ``fresh_batch`` draws a new real batch before every repeat after the first. ``lr_scheduler`` is
    optional and is stepped once per iteration. ``interval`` > 1 makes the player update only on
    iterations whose index (from 0) is a multiple of it: StyleGAN2's lazy regularisation is such a
    player, sharing the main player's optimiser (Karras et al. 2020, section 3.1).
    """

    name: str
    networks: tuple[str, ...]
    optimizer: torch.optim.Optimizer
    repeats: int | Callable[[int], int] = 1
    fresh_batch: bool = True
    lr_scheduler: Any = None
    interval: int = 1

    def repeats_at(self, step: int) -> int:
        """How many updates this player makes in the iteration that starts after ``step`` iterations."""
        return self.repeats(step) if callable(self.repeats) else self.repeats


@dataclass
class Schedule:
    """The order of play for one training iteration, and the optimisers behind it.

    The engine runs, for every iteration: for each player in order, ``repeats`` times: draw a batch
    (when needed), call ``ganzoo_losses`` for that player, sum the terms, backward, step.
    ``ema`` optionally names networks whose exponential moving average the engine keeps, each with a
    constant decay (``{"generator": 0.999}``) or a :class:`ganzoo.engine.ema.EMASettings` (decay,
    start step, ramp-up or half-life in images, as BigGAN and StyleGAN2 specify them); samples are
    then drawn from the averaged copy unless ``--weights raw`` asks for the trained weights.
    """

    players: list[Player]
    ema: dict[str, Any] = field(default_factory=dict)

    def player(self, name: str) -> Player:
        for p in self.players:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass
class StepContext:
    """What a loss hook sees while one player updates.

    ``batch`` holds tensors already on the device: ``real`` (and ``label``) for image and point
    data, ``A`` and ``B`` for unpaired data. ``cache`` lives for one training iteration, so that
    a variant can compute its fakes once in the first player's loss and reuse them in the next
    (as the reference implementations do). ``state`` lives for the whole run and is saved in
    checkpoints (tensors or plain values only), e.g. CycleGAN's image pools. ``config.addons`` holds
    the settings of the add-ons the run enabled, by name.
    """

    variant: VariantSpec
    config: Any
    networks: Mapping[str, nn.Module]
    batch: dict[str, torch.Tensor]
    step: int
    device: torch.device
    generator: torch.Generator | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    draw_batch: Callable[[], dict[str, torch.Tensor]] | None = None
    #: Samples per draw as a multiple of ``config.batch_size``: an add-on that draws m batches at
    #: once (``pacgan``) sets m, and the engine's image clock (images/s in the log, an EMA's
    #: half-life in kimg) counts what was drawn.
    batch_multiple: int = 1

    def next_batch(self) -> dict[str, torch.Tensor]:
        """Replace ``batch`` with a fresh one from the data source and return it."""
        assert self.draw_batch is not None
        self.batch = self.draw_batch()
        return self.batch

