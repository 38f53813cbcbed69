"""The Python API, mirroring the CLI so that a notebook never shells out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo import config as cfg
from ganzoo.errors import UserError
from ganzoo.registry import get_registry
from ganzoo.sampling import check_sample_options
from ganzoo.spec import DataInfo, VariantSpec


def list_variants() -> list[VariantSpec]:
    """Every installed variant, sorted by name."""
    return sorted(get_registry().variants().values(), key=lambda v: v.name)


def embedded_datasets(registry: Any) -> set[str]:
    return {name for name, spec in registry.datasets().items() if spec.embedded}


def make_config(
    variant: str,
    *,
    config_file: str | Path | None = None,
    overrides: dict[str, str] | None = None,
    registry: Any = None,
    **options: Any,
) -> cfg.RunConfig:
    """Resolve a run configuration as ``ganzoo run`` does.

    ``options`` are the explicit settings (``steps=``, ``batch_size=``, ``dataset=``, ``seed=``,
    ``device=``, ...), ``overrides`` the ``--set`` pairs as text, ``config_file`` a TOML file.
    ``addons=["ema", ...]`` enables add-ons as ``--with`` does (their settings then come from
    ``overrides`` such as ``{"ema.decay": "0.9999"}``).
    """
    registry = registry or get_registry()
    spec = registry.variant(variant)
    data_root = options.pop("data_root", None)
    if data_root is not None:
        options["data.root"] = str(data_root)
    file_values = cfg.read_toml(config_file) if config_file else None
    config = cfg.resolve(
        spec,
        file_values=file_values,
        set_values=overrides,
        cli_values=options,
        embedded_datasets=embedded_datasets(registry),
        addon_specs=registry.addons(),
    )
    registry.dataset(config.dataset)  # unknown dataset: a clear error now, not mid-build
    if isinstance(getattr(config.model, "loss", None), str):  # an adversarial loss by name
        from ganzoo.parts.losses import adversarial_loss

        adversarial_loss(config.model.loss, registry)
    return config


def train(variant: str, *, out: str | Path | None = None, quiet: bool = True, resume: str | Path | None = None,
          registry: Any = None, config: cfg.RunConfig | None = None, **options: Any):
    """Train ``variant`` and return a :class:`ganzoo.engine.trainer.RunResult`.

    ``ganzoo.train("gan", dataset="ring8", steps=2000)``; options as in :func:`make_config`.
    ``resume`` (a run folder or a checkpoint) continues that run with its saved config, ``options``
    applied on top (e.g. ``steps=`` to train longer).
    """
    from ganzoo.engine import checkpoint as ckpt
    from ganzoo.engine.trainer import Trainer, resumed_run_dir

    registry = registry or get_registry()
    if config is None and resume:
        config = ckpt.resume_config(resumed_run_dir(Path(resume)), registry)
        for key, value in options.items():
            cfg.set_value(config, "data.root" if key == "data_root" else key, value)
    if config is None:
        config = make_config(variant, registry=registry, **options)
    return Trainer(config, registry, run_dir=Path(out) if out else None, quiet=quiet,
                   resume_from=Path(resume) if resume else None).train()


@dataclass
class LoadedRun:
    """A trained run, loaded for sampling and evaluation.

    ``networks`` are the ones :meth:`sample` and the metrics use: with ``weights == "ema"`` (the
    default when the run kept an average) the averaged copies replace the networks they average;
    with ``"raw"`` they are the trained weights as the optimisers left them. Both are always at
    hand: ``raw_networks`` holds the trained weights of every network, ``ema_networks`` the averaged
    copies (empty when the run kept no EMA).
    """

    run_dir: Path
    variant: VariantSpec
    config: cfg.RunConfig
    data_info: DataInfo
    networks: dict[str, Any]
    device: Any
    step: int
    registry: Any
    #: ``"ema"`` or ``"raw"``: which weights ``networks`` holds.
    weights: str = "raw"
    raw_networks: dict[str, Any] = field(default_factory=dict)
    ema_networks: dict[str, Any] = field(default_factory=dict)

    @property
    def conditional(self) -> bool:
        """Whether this run draws samples per class (:meth:`VariantSpec.is_conditional`)."""
        return self.variant.is_conditional(self.config)

    def sample(self, n: int, labels: Any = None, seed: int = 0, inputs: Any = None, direction: str | None = None,
               truncation: float | None = None, truncation_cutoff: int | None = None):
        """``n`` samples (images in [-1, 1] NCHW, or N×2 points) as a CPU tensor.

        Translation variants take ``inputs`` (N source images, or a dict ``{"A": ..., "B": ...}``) and
        ``direction`` (``"AtoB"`` or ``"BtoA"``), as the ``ganzoo_sample`` hook describes.
        ``truncation`` (ψ or a threshold) and ``truncation_cutoff`` are for variants that list them in
        ``VariantSpec.sample_options`` (e.g. StyleGAN2, BigGAN); others refuse them with a
        :class:`ganzoo.errors.UserError`.
        """
        from ganzoo.engine.trainer import draw_samples

        check_sample_options(self.variant, truncation=truncation, truncation_cutoff=truncation_cutoff)

        def part(value: Any, start: int, stop: int) -> Any:
            if isinstance(value, dict):
                return {key: v[start:stop] for key, v in value.items()}
            return None if value is None else value[start:stop]

        out = []
        batch = 500
        for start in range(0, n, batch):
            k = min(batch, n - start)
            out.append(draw_samples(self.registry, self.variant, self.networks, self.config, k,
                                    part(labels, start, start + k), seed + start, self.device,
                                    part(inputs, start, start + k), direction, truncation,
                                    truncation_cutoff).cpu())
        import torch

        return torch.cat(out)


#: ``weights=`` of :func:`load` and ``ganzoo sample --weights``.
WEIGHTS = ("ema", "raw")


def load(run_dir: str | Path, checkpoint: str | Path | None = None, device: str = "auto", registry: Any = None,
         weights: str | None = None) -> LoadedRun:
    """Load a run folder's networks from its latest checkpoint (or ``checkpoint``).

    ``weights`` picks what :attr:`LoadedRun.networks` samples from: ``"ema"`` (the averaged copies
    the run kept; the default when it kept any) or ``"raw"`` (the trained weights). The add-ons the
    run recorded are enabled again; a missing one is a one-line error naming its package.
    """
    import copy

    from ganzoo.addons import run_addon_specs
    from ganzoo.engine import checkpoint as ckpt
    from ganzoo.engine.device import pick_device
    from ganzoo.engine.network_keys import check_network_keys

    registry = registry or get_registry()
    run_dir = Path(run_dir)
    if weights is not None and weights not in WEIGHTS:
        raise UserError(f"bad weights {weights!r}: expected 'ema' or 'raw'")
    spec = ckpt.run_variant(run_dir, registry)  # a missing, damaged or truncated run.json: one line
    name = spec.name
    try:
        data = json.loads((run_dir / "run.json").read_text())["data"]
        data_info = DataInfo(kind=data["kind"], shape=tuple(data["shape"]), num_classes=data["num_classes"])
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{str(run_dir / 'run.json')!r} is damaged (not the JSON ganzoo wrote); the run cannot be loaded") from None
    config = cfg.load_run_config(run_dir / "config.toml", spec, run_addon_specs(run_dir, registry))
    path = Path(checkpoint) if checkpoint else ckpt.latest_checkpoint(run_dir / "checkpoints")
    if path is None:
        raise UserError(f"run {str(run_dir)!r} has no checkpoint yet; train longer or pass --checkpoint FILE")
    dev = pick_device(device)
    payload = ckpt.load_checkpoint(path, map_location=dev)
    if payload["variant"] != name:
        raise UserError(f"checkpoint {str(path)!r} is from variant {payload['variant']!r}, not {name!r}")
    _warn_versions(payload.get("plugins", {}), registry)
    networks = registry.networks(spec, config, data_info)
    check_network_keys(networks, payload, path, registry, config)
    averages = {}
    try:
        for key, net in networks.items():
            net.load_state_dict(payload["networks"][key])
            net.to(dev).eval()
        for key, state in payload.get("ema", {}).items():
            averages[key] = copy.deepcopy(networks[key])
            averages[key].load_state_dict(state)
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise UserError(
            f"checkpoint {str(path)!r} does not fit the networks built from {str(run_dir / 'config.toml')!r} "
            f"({type(exc).__name__}: {detail}); pass a checkpoint of this run, or undo the edits to its config.toml"
        ) from None
    if weights == "ema" and not averages:
        raise UserError(f"run {str(run_dir)!r} kept no EMA of its weights; use --weights raw "
                        "(or train with --with ema)")
    chosen = weights or ("ema" if averages else "raw")
    sampled = {**networks, **averages} if chosen == "ema" else dict(networks)
    return LoadedRun(run_dir, spec, config, data_info, sampled, dev, int(payload["step"]), registry,
                     weights=chosen, raw_networks=networks, ema_networks=averages)


def _warn_versions(saved: dict[str, str], registry: Any) -> None:
    import sys

    now = {r.package: r.version for r in registry.records if r.status == "loaded"}
    for package, version in saved.items():
        if package in now and now[package] != version:
            print(f"ganzoo: warning: run was trained with {package} {version}, now {now[package]} is installed",
                  file=sys.stderr)
