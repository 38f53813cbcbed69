"""The conformance kit: does a variant keep the plugin contract of :mod:`ganzoo.hookspecs`?

A plugin author calls :func:`check_variant` from a test (or uses the ``ganzoo_conformance`` pytest
fixture that ganzoo ships, see :mod:`ganzoo.testing`)::

    from ganzoo.conformance import check_variant

    def test_mygan_keeps_the_contract():
        check_variant("mygan")

It runs the variant the way the engine does, on CPU, for two training iterations, and checks:

``metadata``
    The :class:`~ganzoo.spec.VariantSpec` is complete: a lower-case name, a one-line summary, a
    paper with title, authors, year and link, a known data kind, a hyper-parameter dataclass whose
    defaults survive the trip through ``config.toml``, a registered default dataset of an accepted
    kind, and profiles that only set keys that exist.
``data``
    The dataset the check trains on builds (the default dataset when it needs no download).
``networks``
    ``ganzoo_networks`` returns a dict of named ``nn.Module`` that includes ``variant.generator``.
``schedule``
    ``ganzoo_schedule`` returns a :class:`~ganzoo.spec.Schedule` whose players own networks that
    exist and whose optimisers hold parameters of those networks only.
``losses``
    ``ganzoo_losses`` returns, for every player, a non-empty dict of named, finite, scalar tensors,
    at least one of them connected to the graph.
``training``
    Two training iterations run on CPU and change the parameters of every player.
``sampling``
    ``ganzoo_sample`` returns finite samples of the data's shape (images in [-1, 1]), depends on the
    ``generator`` it is given (same seed, same samples; another seed, other samples) and, for a
    conditional variant, on the labels.
``checkpoint``
    The run folder loads back (:func:`ganzoo.load`) into networks equal to the trained ones, which
    draw the same samples.

Every problem is reported with the check, what is wrong and, where it comes from plugin code, the
file and line; :class:`ConformanceError` (an ``AssertionError``) lists them all.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tempfile
import traceback
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.plugins import hookimpl
from ganzoo.spec import DATA_KINDS, Paper, Schedule, VariantSpec

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ganzoo.registry import Registry

CHECKS = ("metadata", "data", "networks", "schedule", "losses", "training", "sampling", "checkpoint")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
TERM_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")
PROBE_NAME = "ganzoo-conformance-probe"


@dataclass(frozen=True)
class Problem:
    """One broken promise: which check found it and a sentence saying what is wrong."""

    check: str
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}"


@dataclass
class ConformanceReport:
    """The outcome of :func:`conformance_report` for one variant."""

    variant: str
    package: str = ""
    passed: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def failed(self, check: str) -> bool:
        return any(p.check == check for p in self.problems)

    def summary(self) -> str:
        if self.ok:
            return f"variant {self.variant!r} ({self.package}) keeps the ganzoo contract: {', '.join(self.passed)}"
        lines = [f"variant {self.variant!r} ({self.package or '?'}) breaks the ganzoo plugin contract:"]
        lines += [f"  - {p}" for p in self.problems]
        skipped = [c for c in CHECKS if c not in self.passed and not self.failed(c)]
        if skipped:
            lines.append(f"  (not reached: {', '.join(skipped)})")
        return "\n".join(lines)


class ConformanceError(AssertionError):
    """A variant broke the contract; the message lists every problem found."""

    def __init__(self, report: ConformanceReport) -> None:
        super().__init__(report.summary())
        self.report = report


class _Violation(Exception):
    """Raised inside a hook wrapper when a hook's answer breaks the contract."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


# --------------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------------


def check_variant(name: str, **options: Any) -> ConformanceReport:
    """Check variant ``name`` against the contract; raise :class:`ConformanceError` on any problem.

    Options are those of :func:`conformance_report`. Returns the report when every check passes.
    """
    report = conformance_report(name, **options)
    if not report.ok:
        raise ConformanceError(report)
    return report


def conformance_report(
    name: str,
    *,
    registry: Registry | None = None,
    dataset: str | None = None,
    profile: str | None = None,
    overrides: dict[str, Any] | None = None,
    data_root: str | Path | None = None,
    batch_size: int = 8,
    samples: int = 16,
    device: str = "cpu",
) -> ConformanceReport:
    """Run every check on variant ``name`` and return what passed and what is wrong.

    ``registry`` defaults to the process-wide one (so plugins registered in-process with
    :meth:`ganzoo.registry.Registry.register` are seen). The run uses ``dataset`` (default: the
    variant's default dataset), its resolved ``profile``, then ``overrides`` (dotted keys, e.g.
    ``{"model.width": 16}`` to keep a big variant quick), with ``steps=2`` and ``batch_size``.
    """
    from ganzoo.registry import get_registry

    registry = registry or get_registry()
    report = ConformanceReport(variant=name)
    variants = registry.variants()
    if name not in variants:
        report.problems.append(Problem("metadata", f"no installed plugin declares a variant named {name!r}; "
                                       f"installed: {', '.join(sorted(variants)) or 'none'}"))
        return report
    spec = variants[name]
    report.package = spec.package
    _check_metadata(spec, registry, report)
    if report.failed("metadata"):
        return report
    report.passed.append("metadata")
    probe = _Probe(name)
    registry.register(probe, name=PROBE_NAME)
    try:
        with tempfile.TemporaryDirectory(prefix="ganzoo-conformance-") as folder:
            _check_run(spec, registry, probe, report, Path(folder) / "run", dataset=dataset, profile=profile,
                       overrides=overrides or {}, data_root=data_root, batch_size=batch_size, samples=samples,
                       device=device)
    finally:
        registry.unregister(PROBE_NAME)
    return report


# --------------------------------------------------------------------------------------------------
# metadata
# --------------------------------------------------------------------------------------------------


def _check_metadata(spec: VariantSpec, registry: Registry, report: ConformanceReport) -> None:
    from ganzoo import config as cfg
    from ganzoo.errors import GanzooError

    def problem(message: str) -> None:
        report.problems.append(Problem("metadata", message))

    if not NAME_PATTERN.match(spec.name):
        problem(f"name {spec.name!r} should be lower-case letters and digits, words joined by '-' (e.g. 'wgan-gp')")
    if not spec.summary.strip() or "\n" in spec.summary:
        problem("summary should be one non-empty line saying what the variant is")
    paper = spec.paper
    if not isinstance(paper, Paper):
        problem(f"paper should be a ganzoo.Paper(title, authors, year, url), not {type(paper).__name__}")
    else:
        if not str(paper.title).strip() or not str(paper.authors).strip():
            problem("paper needs its title and authors")
        if not isinstance(paper.year, int) or not 1900 <= paper.year <= 2100:
            problem(f"paper year should be the publication year as an integer, not {paper.year!r}")
        if not str(paper.url).startswith(("http://", "https://")):
            problem(f"paper url should be a link (https://...) to the paper, not {paper.url!r}")
    if spec.data_kind not in DATA_KINDS:
        problem(f"data_kind {spec.data_kind!r} is unknown; use one of {', '.join(DATA_KINDS)}")
    unknown_kinds = [k for k in spec.accepts if k not in DATA_KINDS]
    if unknown_kinds:
        problem(f"accepts lists unknown data kinds {unknown_kinds}; use some of {', '.join(DATA_KINDS)}")
    if not spec.generator:
        problem("generator should name the network that ganzoo sample draws from")
    if not (isinstance(spec.params, type) and dataclasses.is_dataclass(spec.params)):
        problem(f"params should be a dataclass type holding the hyper-parameters, not {spec.params!r}")
        return
    try:
        params = spec.default_params()
        typing.get_type_hints(spec.params)
    except Exception as exc:
        problem(f"params {spec.params.__name__} cannot be built from its defaults ({_describe(exc)}); "
                "give every field a default and an importable type hint")
        return
    datasets = registry.datasets()
    if spec.default_dataset not in datasets:
        problem(f"default_dataset {spec.default_dataset!r} is not registered by any plugin; "
                f"choose one of {', '.join(sorted(datasets))} or declare it with ganzoo_datasets")
    elif datasets[spec.default_dataset].kind not in spec.accepted_kinds():
        problem(f"default_dataset {spec.default_dataset!r} provides {datasets[spec.default_dataset].kind} data, "
                f"which the variant does not accept ({', '.join(spec.accepted_kinds())})")
    # The saved config.toml is all that ganzoo sample/eval have to rebuild the networks from.
    try:
        config = cfg.RunConfig(variant=spec.name, model=params)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "config.toml"
            cfg.write_toml(config, path)
            back = cfg.load_run_config(path, spec)
        if cfg.to_dict(back) != cfg.to_dict(config):
            changed = sorted(k for k, v in cfg.flatten(cfg.to_dict(config)).items()
                             if cfg.flatten(cfg.to_dict(back)).get(k) != v)
            problem(f"hyper-parameters {changed} do not survive config.toml (saved and read back differ); "
                    "use int, float, bool, str, Literal or tuples of them")
    except Exception as exc:
        problem(f"hyper-parameters of {spec.params.__name__} cannot be written to config.toml and read back "
                f"({_describe(exc)}); use int, float, bool, str, Literal or tuples of them, with defaults")
    for profile in spec.profiles:
        try:
            cfg.resolve(spec, cli_values={"profile": profile})
        except GanzooError as exc:
            problem(f"profile {profile!r} does not resolve: {exc}")


# --------------------------------------------------------------------------------------------------
# the run: networks, schedule, losses, training, sampling, checkpoint
# --------------------------------------------------------------------------------------------------


class _Probe:
    """Hook wrappers that watch the variant under test as the engine runs it.

    They record which check is running (so an exception from plugin code is reported under the
    right name), check every answer, and snapshot the parameters before the first update.
    """

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.check = "data"
        self.data: Any = None
        self.initial: dict[str, dict[str, torch.Tensor]] = {}
        self.players_seen: dict[str, list[str]] = {}

    @hookimpl(wrapper=True)
    def ganzoo_networks(self, variant: VariantSpec, data: Any):
        if variant.name != self.variant:
            return (yield)
        self.check = "networks"
        self.data = data
        networks = yield
        _validate_networks(variant, networks)
        return networks

    @hookimpl(wrapper=True)
    def ganzoo_schedule(self, variant: VariantSpec, networks: dict[str, Any]):
        if variant.name != self.variant:
            return (yield)
        self.check = "schedule"
        schedule = yield
        _validate_schedule(schedule, networks)
        self.initial = {key: {n: p.detach().clone() for n, p in net.named_parameters()} for key, net in networks.items()}
        self.check = "training"
        return schedule

    @hookimpl(wrapper=True)
    def ganzoo_losses(self, variant: VariantSpec, player: str):
        if variant.name != self.variant:
            return (yield)
        previous, self.check = self.check, "losses"
        terms = yield
        _validate_losses(player, terms)
        self.players_seen.setdefault(player, list(terms))
        self.check = previous
        return terms

    @hookimpl(wrapper=True)
    def ganzoo_sample(self, variant: VariantSpec, n: int):
        if variant.name != self.variant:
            return (yield)
        previous, self.check = self.check, "sampling"
        samples = yield
        message = _sample_shape_problem(samples, self.data, n, len(variant.joint_domains))
        if message:
            raise _Violation("sampling", message)
        self.check = previous
        return samples


def _validate_networks(variant: VariantSpec, networks: Any) -> None:
    from torch import nn

    if not isinstance(networks, dict) or not networks:
        raise _Violation("networks", f"ganzoo_networks should return a non-empty dict of named nn.Module, "
                         f"not {type(networks).__name__}")
    for key, net in networks.items():
        if not isinstance(key, str) or not key:
            raise _Violation("networks", f"network names should be non-empty strings, not {key!r}")
        if not isinstance(net, nn.Module):
            raise _Violation("networks", f"network {key!r} should be an nn.Module, not {type(net).__name__}")
    if variant.generator not in networks:
        raise _Violation("networks", f"variant.generator is {variant.generator!r} but ganzoo_networks returned "
                         f"only {sorted(networks)}; return it or set VariantSpec(generator=...)")


def _validate_schedule(schedule: Any, networks: dict[str, Any]) -> None:
    import torch

    if not isinstance(schedule, Schedule):
        raise _Violation("schedule", f"ganzoo_schedule should return a ganzoo.Schedule, not {type(schedule).__name__}")
    if not schedule.players:
        raise _Violation("schedule", "the schedule has no players; add a Player per optimiser")
    names = [p.name for p in schedule.players]
    if len(set(names)) != len(names):
        raise _Violation("schedule", f"player names repeat ({names}); give every player its own name")
    for player in schedule.players:
        missing = [n for n in player.networks if n not in networks]
        if missing:
            raise _Violation("schedule", f"player {player.name!r} owns networks {missing} that ganzoo_networks did "
                             f"not build (built: {sorted(networks)})")
        if not isinstance(player.optimizer, torch.optim.Optimizer):
            raise _Violation("schedule", f"player {player.name!r} needs a torch.optim.Optimizer, "
                             f"not {type(player.optimizer).__name__}")
        counts = [player.repeats_at(step) for step in (0, 1, 1000)] if callable(player.repeats) else [player.repeats]
        if not all(isinstance(count, int) and count >= 1 for count in counts):
            raise _Violation("schedule", f"player {player.name!r} has repeats={player.repeats!r} (giving {counts}); "
                             "use an integer >= 1 or a function of the step returning one")
        owned = {id(p) for n in player.networks for p in networks[n].parameters()}
        optimised = [p for group in player.optimizer.param_groups for p in group["params"]]
        if not optimised:
            raise _Violation("schedule", f"the optimiser of player {player.name!r} holds no parameters")
        if any(id(p) not in owned for p in optimised):
            raise _Violation("schedule", f"the optimiser of player {player.name!r} holds parameters outside its "
                             f"networks {list(player.networks)}; list every network it updates in Player.networks")
    for key, decay in schedule.ema.items():
        if key not in networks:
            raise _Violation("schedule", f"ema names network {key!r}, which ganzoo_networks did not build")
        decay = getattr(decay, "decay", decay)  # a constant, or the decay of an EMASettings
        if not 0.0 < float(decay) < 1.0:
            raise _Violation("schedule", f"ema decay of {key!r} is {decay}; use a number between 0 and 1 (e.g. 0.999)")


def _validate_losses(player: str, terms: Any) -> None:
    import torch

    if not isinstance(terms, dict) or not terms:
        raise _Violation("losses", f"ganzoo_losses for player {player!r} should return a non-empty dict of named "
                         f"scalar tensors (e.g. {{'adv': loss}}), not {type(terms).__name__}")
    for key, value in terms.items():
        if not isinstance(key, str) or not TERM_PATTERN.match(key):
            raise _Violation("losses", f"loss term name {key!r} of player {player!r} should be a short name "
                             "(letters, digits, '_', '-', '.'; no '/' or spaces)")
        if not isinstance(value, torch.Tensor):
            raise _Violation("losses", f"loss term {key!r} of player {player!r} is a {type(value).__name__}, "
                             "not a tensor; return the tensor so the engine can back-propagate it")
        if value.numel() != 1:
            raise _Violation("losses", f"loss term {key!r} of player {player!r} has shape {tuple(value.shape)}; "
                             "reduce it to a scalar (e.g. .mean())")
        if not value.is_floating_point():
            raise _Violation("losses", f"loss term {key!r} of player {player!r} has dtype {value.dtype}; "
                             "losses are floating point")
        number = float(value.detach().float().cpu())
        if not math.isfinite(number):
            raise _Violation("losses", f"loss term {key!r} of player {player!r} is {number} on the first batch; "
                             "check for log(0), division by zero or a missing sigmoid/logits convention")
    if not any(v.requires_grad for v in terms.values()):
        raise _Violation("losses", f"no loss term of player {player!r} is connected to the networks "
                         f"(all of {sorted(terms)} are detached), so the player cannot learn")


def _check_run(spec: VariantSpec, registry: Registry, probe: _Probe, report: ConformanceReport, run_dir: Path,
               *, dataset: str | None, profile: str | None, overrides: dict[str, Any], data_root: str | Path | None,
               batch_size: int, samples: int, device: str) -> None:
    import torch

    from ganzoo import config as cfg
    from ganzoo.api import load, make_config
    from ganzoo.engine.trainer import Trainer

    def fail(check: str, message: str) -> None:
        report.problems.append(Problem(check, message))

    try:
        options: dict[str, Any] = {"dataset": dataset or _pick_dataset(spec, registry), "profile": profile,
                                   "data_root": data_root}
        config = make_config(spec.name, registry=registry, overrides={k: str(v) for k, v in overrides.items()},
                             **options)
        for key, value in {"steps": 2, "batch_size": batch_size, "device": device, "log_every": 1,
                           "sample_every": 2, "checkpoint_every": 2, "keep_checkpoints": 1,
                           "grid_size": samples, "data.workers": 0}.items():
            cfg.set_value(config, key, value)
    except Exception as exc:
        fail("data", f"could not resolve a run configuration: {_describe(exc)}")
        return

    trainer = Trainer(config, registry, run_dir=run_dir, quiet=True)
    try:
        trainer.build()  # dataset, networks, schedule
    except Exception as exc:
        fail(_check_of(exc, probe, "data"), _describe(exc))
        return
    report.passed += ["data", "networks", "schedule"]
    info = trainer.data_info
    if spec.conditional:  # a grid row per class, so the fixed labels match the grid size
        config.grid_size = info.num_classes * max(1, math.ceil(samples / info.num_classes))

    try:
        trainer.train()
    except Exception as exc:
        fail(_check_of(exc, probe, "training"), _describe(exc))
        return
    report.passed.append("losses")
    missing = [p.name for p in trainer.schedule.players if p.name not in probe.players_seen]
    if missing:
        fail("losses", f"ganzoo_losses was never called for players {missing}")
        return
    frozen = [player.name for player in trainer.schedule.players
              if not _changed(probe.initial, trainer.networks, player.networks)]
    if frozen:
        fail("training", f"two training iterations left the parameters of players {frozen} unchanged; "
             "their loss terms must depend on the networks their optimiser holds")
        return
    report.passed.append("training")

    n = config.grid_size
    labels = torch.arange(n) % info.num_classes if spec.conditional else None
    inputs = trainer.fixed["inputs"]
    try:
        first = trainer.draw(n, labels, seed=0, inputs=inputs)
        again = trainer.draw(n, labels, seed=0, inputs=inputs)
        # a translation (unpaired images) may be a deterministic function of its inputs
        other = trainer.draw(n, labels, seed=1, inputs=inputs) if info.kind != "unpaired-images" else None
        relabelled = trainer.draw(n, (labels + 1) % info.num_classes, seed=0, inputs=inputs) if labels is not None else None
    except Exception as exc:
        fail(_check_of(exc, probe, "sampling"), _describe(exc))
        return
    message = _sample_problem(first, again, other, relabelled)
    if message:
        fail("sampling", message)
        return
    report.passed.append("sampling")

    try:
        loaded = load(run_dir, device=device, registry=registry)
        trained = trainer.sample_networks()
        for key, net in loaded.networks.items():
            saved = trained[key].state_dict()
            for tensor_name, value in net.state_dict().items():
                if not torch.equal(value.cpu(), saved[tensor_name].cpu()):
                    fail("checkpoint", f"network {key!r} tensor {tensor_name!r} differs after loading the checkpoint")
                    return
        reloaded = loaded.sample(n, labels=labels, seed=0, inputs=inputs)
    except Exception as exc:
        fail(_check_of(exc, probe, "checkpoint"), _describe(exc))
        return
    if tuple(reloaded.shape) != tuple(first.shape) or not torch.allclose(reloaded, first.cpu(), atol=1e-5):
        fail("checkpoint", "a reloaded run draws other samples than the trained networks with the same seed; "
             "keep every tensor the networks need in parameters or registered buffers (nn.Module.register_buffer)")
        return
    report.passed.append("checkpoint")


def _pick_dataset(spec: VariantSpec, registry: Registry) -> str:
    """The default dataset when it needs no download, else an embedded one of an accepted kind."""
    datasets = registry.datasets()
    if datasets[spec.default_dataset].embedded:
        return spec.default_dataset
    for kind in spec.accepted_kinds():
        for name, dataset in sorted(datasets.items()):
            if dataset.embedded and dataset.kind == kind:
                return name
    return spec.default_dataset  # needs data_root; make_config / the dataset say so in one line


def _changed(initial: dict[str, dict[str, Any]], networks: dict[str, Any], names: tuple[str, ...]) -> bool:
    import torch

    for name in names:
        before = initial.get(name, {})
        for key, param in networks[name].named_parameters():
            if key in before and not torch.equal(before[key], param.detach()):
                return True
    return False


def _sample_shape_problem(samples: Any, info: Any, n: int, joint_domains: int = 0) -> str:
    """What is wrong with one answer of ``ganzoo_sample`` for ``n`` samples of ``info``'s data
    (a joint variant stacks its ``joint_domains`` domains along the channels)."""
    import torch

    if not isinstance(samples, torch.Tensor):
        return f"ganzoo_sample should return a tensor, not {type(samples).__name__}"
    if info is None:
        return ""
    shape = tuple(info.shape)
    if joint_domains:
        shape = (shape[0] * joint_domains, *shape[1:])
        if tuple(samples.shape) != (n, *shape):
            return (f"asked for {n} samples of {joint_domains} domains stacked along the channels, shape {(n, *shape)}, "
                    f"got a tensor of shape {tuple(samples.shape)}")
    elif info.kind == "unpaired-images":
        if samples.dim() != len(shape) + 1 or tuple(samples.shape[1:]) != shape:
            return f"samples have shape {tuple(samples.shape)}; expected (N, {', '.join(map(str, shape))})"
    elif tuple(samples.shape) != (n, *shape):
        return f"asked for {n} samples of shape {shape}, got a tensor of shape {tuple(samples.shape)}"
    if not torch.isfinite(samples).all():
        return "samples contain NaN or infinite values"
    if info.kind != "points" and (samples.min() < -1.001 or samples.max() > 1.001):
        return (f"image samples span [{float(samples.min()):.3f}, {float(samples.max()):.3f}]; images are in "
                "[-1, 1] (end the generator with tanh)")
    return ""


def _sample_problem(first: Any, again: Any, other: Any, relabelled: Any) -> str:
    """What is wrong with how samples depend on the seed and the labels."""
    import torch

    if not torch.equal(first, again):
        return ("two draws with the same seed differ: draw noise with the generator= argument of "
                "ganzoo_sample (torch.randn(..., generator=generator)), not the global random state")
    if other is not None and torch.equal(first, other):
        return "draws with different seeds are identical: the samples must depend on the noise from generator="
    if relabelled is not None and torch.equal(first, relabelled):
        return "samples do not depend on the labels, but the variant is conditional (labelled-images)"
    return ""


def _check_of(exc: BaseException, probe: _Probe, default: str) -> str:
    if isinstance(exc, _Violation):
        return exc.check
    return probe.check or default


def _describe(exc: BaseException) -> str:
    """One line for an exception: its text and, for plugin code, the file and line it came from."""
    if isinstance(exc, _Violation):
        return str(exc)
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    where = _plugin_frame(exc)
    return f"{text} (raised at {where})" if where else text


def _plugin_frame(exc: BaseException) -> str:
    """The innermost traceback frame outside torch, pluggy and the ganzoo engine, if any."""
    import ganzoo

    engine = str(Path(ganzoo.__file__).parent) + os.sep
    skip = ("torch", "pluggy", "click")
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if frame.filename.startswith(engine) or any(part in skip for part in path.parts):
            continue
        found = f"{path.parent.name}/{path.name}:{frame.lineno}"
    return found
