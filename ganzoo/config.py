"""Typed run configuration: defaults, then the variant's profile, then a TOML file, then ``--set``.

Every value has a declared type; an unknown key or a value of the wrong type is a
:class:`~ganzoo.errors.UserError` that names the key and what is allowed. The resolved configuration
is written to the run folder as ``config.toml`` and is all a later command needs to rebuild the run.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ganzoo import bounds
from ganzoo.bounds import NON_NEGATIVE, POSITIVE, bounded, in_range
from ganzoo.errors import UserError, closest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Precision = Literal["fp32", "bf16"]


@dataclass
class DataConfig:
    """Where the data comes from. Empty values mean "the dataset's default"."""

    #: A folder already holding the dataset (torchvision layout, an image folder, ...).
    root: str = ""
    #: ``train`` or ``test`` for torchvision datasets; the embedded MNIST is the test split.
    split: str = ""
    #: Download through torchvision when the files are not under ``root`` (needs internet).
    download: bool = False
    #: Image channels (1 = greyscale, 3 = RGB; grey images are repeated, colour ones turned grey);
    #: 0 keeps the dataset's own.
    channels: int = bounded(0, in_range(0, 3, "[]"))
    #: DataLoader worker processes for datasets read from disk.
    workers: int = bounded(2, NON_NEGATIVE)
    #: Keep the whole dataset as one tensor on the training device when it has at most this many
    #: samples (faster than a DataLoader for MNIST-sized data).
    max_in_memory: int = bounded(200_000, NON_NEGATIVE)
    #: Train on the first N samples only (0: all), to study data-scarce training (e.g. 500 digits);
    #: MNIST and the torchvision datasets (others refuse it). Metrics compare with the whole dataset.
    limit: int = bounded(0, NON_NEGATIVE)


#: ``auto`` is ``fast`` on CUDA and ``eager`` elsewhere.
Speed = Literal["auto", "eager", "fast"]


@dataclass
class FastConfig:
    """The speed options that fast mode applies (see :mod:`ganzoo.engine.speed`); each can be
    switched off alone, e.g. ``--set fast.compile=false``."""

    #: bfloat16 autocast of the forward passes and losses (weights and optimiser stay fp32).
    bf16: bool = True
    #: channels_last memory format for convolutional networks that hold no InstanceNorm.
    channels_last: bool = True
    #: fused Adam/AdamW kernels (one kernel for all parameters instead of a loop over them).
    fused_optimizer: bool = True
    #: ``torch.compile`` each network's forward; a call asking for gradients with respect to its
    #: input (a gradient penalty: double backward) runs the same network eagerly.
    compile: bool = True
    #: CUDA graphs through ``torch.compile(mode="reduce-overhead")``: for small, launch-bound models.
    cuda_graphs: bool = False


@dataclass
class DDPConfig:
    """Multi-process training under torchrun (ignored in one process); see ``docs/distributed.md``."""

    #: Convert BatchNorm to SyncBatchNorm: statistics over the global batch, not each process's
    #: shard (CUDA only).
    sync_bn: bool = False
    #: ``auto`` is nccl on CUDA and gloo on CPU.
    backend: Literal["auto", "nccl", "gloo"] = "auto"


@dataclass
class RunConfig:
    """One training run. ``model`` holds the variant's own hyper-parameters (its dataclass)."""

    variant: str = ""
    dataset: str = ""
    #: Named overrides declared by the variant (``demo``, ``paper``, ...); empty picks ``demo`` on
    #: the variant's embedded default dataset and ``paper`` otherwise.
    profile: str = ""
    steps: int = bounded(10_000, POSITIVE)
    batch_size: int = bounded(64, POSITIVE)
    #: Images are resized to this size (0 keeps the dataset's own size).
    image_size: int = bounded(0, NON_NEGATIVE)
    #: torch, NumPy and Python generators are all seeded from it.
    seed: int = bounded(0, in_range(0, 2**63, text="in [0, 2**63)"))
    #: ``auto`` picks cuda, then mps, then cpu.
    device: str = "auto"
    #: ``bf16`` turns on bfloat16 autocast on CUDA (ignored elsewhere).
    precision: Precision = "fp32"
    #: ``fast`` applies the ``[fast]`` options below; ``auto`` is fast on CUDA, eager elsewhere.
    speed: Speed = "auto"
    fast: FastConfig = field(default_factory=FastConfig)
    #: CUDA: deterministic kernels only (cuDNN without its benchmark search, cuBLAS with a fixed
    #: workspace), so that two runs with one seed, or a resumed run and one never stopped, agree bit
    #: for bit; slower. Off, cuDNN's fastest algorithms made two identical runs on an H200 differ by
    #: about 1e-7 after 3 steps. The CPU is deterministic either way.
    deterministic: bool = False
    log_every: int = bounded(50, POSITIVE)
    sample_every: int = bounded(500, POSITIVE)
    checkpoint_every: int = bounded(1000, POSITIVE)
    keep_checkpoints: int = bounded(3, POSITIVE)
    #: A NaN or infinite loss ``stop``s the run (naming the step, the term and the last good
    #: checkpoint), or ``skip``s that update and goes on (a sync per update).
    on_nan: Literal["stop", "skip"] = "stop"
    #: Number of images in the periodic sample grid (fixed noise, so grids are comparable).
    grid_size: int = bounded(64, POSITIVE)
    data: DataConfig = field(default_factory=DataConfig)
    ddp: DDPConfig = field(default_factory=DDPConfig)
    model: Any = None
    #: The add-ons this run enables (``--with NAME``), each with its settings dataclass by name. In
    #: ``config.toml`` this is ``addons = [names]`` plus a ``[<name>]`` section of settings per add-on;
    #: an add-on's hook implementations act only when their name is in it (see :mod:`ganzoo.addons`).
    addons: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


# --------------------------------------------------------------------------------------------------
# Typed access by dotted key
# --------------------------------------------------------------------------------------------------


def _hints(obj: Any) -> dict[str, Any]:
    return typing.get_type_hints(type(obj))


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        return "a list"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(key: str, value: Any, tp: Any, from_text: bool) -> Any:
    """Return ``value`` as type ``tp`` or raise a UserError naming ``key`` and what is allowed."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value in (None, "none", "None") :
            return None
        return _coerce(key, value, args[0], from_text)
    bad = UserError(f"bad value {value!r} for {key}: expected {_describe(tp)}")
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise bad
        return value
    if origin in (tuple, list):
        (item_type, *_) = typing.get_args(tp) or (str,)
        if from_text and isinstance(value, str):
            text = value.strip().strip("[]()")
            value = [v.strip() for v in text.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise bad
        items = [_coerce(key, v, item_type, from_text) for v in value]
        return tuple(items) if origin is tuple else items
    if tp is bool:
        if isinstance(value, bool):
            return value
        if from_text and str(value).lower() in ("true", "1", "yes", "on"):
            return True
        if from_text and str(value).lower() in ("false", "0", "no", "off"):
            return False
        raise bad
    if tp is int:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int):
            return value
        if from_text:
            try:
                return int(str(value).replace("_", ""))
            except ValueError:
                raise bad from None
        raise bad
    if tp is float:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, (int, float)):
            return float(value)
        if from_text:
            try:
                return float(value)
            except ValueError:
                raise bad from None
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    return value


def set_value(config: RunConfig, key: str, value: Any, from_text: bool = False) -> None:
    """Set the dotted ``key`` of ``config`` to ``value``, checking the key and the type.

    ``<addon>.<setting>`` sets a setting of an enabled add-on; the add-ons themselves are chosen
    with :func:`ganzoo.addons.enable`, not here."""
    parts = key.split(".")
    target: Any = config
    if key == "addons":
        raise UserError("add-ons are chosen with --with NAME or addons = [...] in a config file, not --set")
    if len(parts) > 1 and parts[0] in config.addons:
        target, parts = config.addons[parts[0]], parts[1:]
        if len(parts) > 1 or not dataclasses.is_dataclass(target) or parts[0] not in _field_names(target):
            raise _unknown_key(key, config)
        setattr(target, parts[0], _coerce(key, value, _hints(target)[parts[0]], from_text))
        return
    path = []
    for part in parts[:-1]:
        path.append(part)
        if not dataclasses.is_dataclass(target) or part not in _field_names(target):
            raise _unknown_key(key, config)
        target = getattr(target, part)
        if not dataclasses.is_dataclass(target):
            raise _unknown_key(key, config)
    last = parts[-1]
    if not dataclasses.is_dataclass(target) or last not in _field_names(target):
        raise _unknown_key(key, config)
    tp = _hints(target)[last]
    current = getattr(target, last)
    if dataclasses.is_dataclass(current):
        if not isinstance(value, dict):
            raise UserError(f"bad value for {key}: expected a table of keys")
        for sub, subvalue in value.items():
            set_value(config, f"{key}.{sub}", subvalue, from_text)
        return
    setattr(target, last, _coerce(key, value, tp, from_text))


def _field_names(obj: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(obj)]


def all_keys(config: RunConfig) -> list[str]:
    """Every settable dotted key of ``config``."""
    keys: list[str] = []

    def walk(obj: Any, prefix: str) -> None:
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                walk(value, prefix + f.name + ".")
            else:
                keys.append(prefix + f.name)

    walk(config, "")
    keys.remove("addons")
    for name, settings in config.addons.items():
        walk(settings, name + ".")
    return keys


def _unknown_key(key: str, config: RunConfig) -> UserError:
    if key == "model.loss":  # a variant whose loss is part of its method (cyclegan, wgan-gp, ...)
        return UserError(f"{config.variant} takes no model.loss: its adversarial loss is fixed by its method; "
                         f"'ganzoo info {config.variant}' shows its settings")
    return UserError(f"unknown config key {key!r}; {closest(key, all_keys(config))}")


def to_dict(obj: Any) -> dict[str, Any]:
    """Nested dict of a config dataclass, tuples as lists (TOML-ready)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out[f.name] = to_dict(value)
        elif f.name == "addons" and isinstance(obj, RunConfig):
            out["addons"] = list(value)
            out.update({name: to_dict(settings) for name, settings in value.items()})
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        elif value is not None:
            out[f.name] = value
    return out


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def parse_sets(items: typing.Iterable[str]) -> dict[str, str]:
    """``["a.b=1", ...]`` to ``{"a.b": "1"}``; a malformed item is a one-line error."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"bad --set {item!r}: expected key=value, e.g. --set model.lr=1e-4")
        out[key.strip()] = value.strip()
    return out


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file {str(path)!r} does not exist; pass an existing TOML file")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"config file {str(path)!r} is not valid TOML: {exc}") from None


def write_toml(config: RunConfig, path: str | Path) -> None:
    import tomli_w

    Path(path).write_text(tomli_w.dumps(to_dict(config)))


# --------------------------------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------------------------------


def resolve(
    variant: Any,
    *,
    file_values: dict[str, Any] | None = None,
    set_values: dict[str, str] | None = None,
    cli_values: dict[str, Any] | None = None,
    embedded_datasets: typing.Container[str] = (),
    addon_specs: typing.Mapping[str, Any] | None = None,
) -> RunConfig:
    """Resolve a run configuration for ``variant`` (a :class:`ganzoo.spec.VariantSpec`).

    Precedence, lowest first: the dataclass defaults (the paper's values), the chosen profile, the
    TOML file, ``--set`` values, then the explicit CLI options (``--steps``, ``--batch-size``, ...).
    The add-ons named by the profile, the file's ``addons = [...]`` and ``cli_values["addons"]``
    (``--with``) are enabled first, from ``addon_specs`` (the installed :class:`AddonSpec` by name).
    """
    from ganzoo import addons as addon_tools

    file_values = flatten(file_values or {})
    cli_values = dict(cli_values or {})
    addon_names = [*file_values.pop("addons", ()), *(cli_values.pop("addons", None) or ())]
    set_values = dict(set_values or {})
    cli_values = {k: v for k, v in (cli_values or {}).items() if v is not None}

    def user_value(key: str) -> Any:
        for source in (cli_values, set_values, file_values):
            if key in source:
                return source[key]
        return None

    dataset = user_value("dataset") or variant.default_dataset
    profile = user_value("profile")
    if not profile:
        on_demo_data = dataset == variant.default_dataset and dataset in embedded_datasets
        profile = "demo" if on_demo_data and "demo" in variant.profiles else "paper"
    if profile != "paper" and profile not in variant.profiles:
        choices = sorted({"paper", *variant.profiles})
        raise UserError(f"unknown profile {profile!r} for {variant.name}; {closest(profile, choices)}")

    config = RunConfig(variant=variant.name, model=variant.default_params())
    profile_values = dict(variant.profiles.get(profile, {}))
    addon_names = [*profile_values.pop("addons", ()), *addon_names]
    addon_tools.enable(config, addon_names, addon_specs or {})
    addon_tools.check_sections([*file_values, *set_values], config, addon_specs or {})
    for key, value in profile_values.items():
        set_value(config, key, value)
    for key, value in file_values.items():
        if key == "variant":
            continue
        set_value(config, key, value)
    for key, value in set_values.items():
        if key == "variant":
            raise UserError("the variant cannot be changed with --set; name it on the command line")
        set_value(config, key, value, from_text=True)
    for key, value in cli_values.items():
        set_value(config, key, value)
    config.dataset = dataset
    config.profile = profile
    validate(config)
    return config


def validate(config: RunConfig) -> None:
    """Check what types alone cannot: the bounds declared on the fields of the core config and of
    the variant's params (see :mod:`ganzoo.bounds`), then the values that name things."""
    bounds.check(config)
    for name, settings in config.addons.items():  # add-on settings declare their bounds the same way
        if dataclasses.is_dataclass(settings):
            bounds.check(settings, prefix=f"{name}.")
    if config.data.split not in ("", "train", "test"):
        raise UserError(f"bad value {config.data.split!r} for data.split: expected 'train' or 'test'")
    device = config.device
    if not (device in ("auto", "cpu", "cuda", "mps") or device.startswith("cuda:")):
        raise UserError(f"bad value {device!r} for device: expected auto, cpu, cuda, cuda:N or mps")


def load_run_config(path: str | Path, variant: Any, addon_specs: typing.Mapping[str, Any] | None = None) -> RunConfig:
    """Rebuild the resolved configuration saved in a run folder's ``config.toml``; the add-ons it
    names are enabled from ``addon_specs`` (see :func:`ganzoo.addons.run_addon_specs`)."""
    from ganzoo import addons as addon_tools

    values = flatten(read_toml(path))
    config = RunConfig(variant=variant.name, model=variant.default_params())
    addon_tools.enable(config, values.pop("addons", ()), addon_specs or {})
    for key, value in values.items():
        if key == "variant":
            continue
        set_value(config, key, value)
    bounds.check(config)  # an edited config.toml: one line, not an error from torch later
    return config
