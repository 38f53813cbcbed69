"""The standard Inception-v3 of FID, KID and IS: its weights, online or offline, and its features.

The network and its input pipeline are torch-fidelity's ``FeatureExtractorInceptionV3`` (the one
torchmetrics uses): the TensorFlow 2015-12-05 Inception weights of the original FID code, uint8
RGB input resized to 299×299 with TensorFlow 1.x's bilinear resize. Matching that pipeline is what
makes numbers comparable with published ones (see ``docs/evaluation.md``).

Weights, in order: ``--weights PATH`` (``weights=`` option), the ``GANZOO_INCEPTION_WEIGHTS``
environment variable, the file torch-fidelity downloads into torch's hub cache, and finally a
download from torch-fidelity's release page. Files are read with ``torch.load(weights_only=True)``
or safetensors, never as a pickle.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.errors import UserError

ENV = "GANZOO_INCEPTION_WEIGHTS"
URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
FEATURES = ("2048", "logits_unbiased")
BATCH = 100


def _missing(reason: str) -> UserError:
    return UserError(f"Inception weights unavailable ({reason}); pass --weights PATH or set {ENV}=PATH "
                     f"to a local copy of {URL.rsplit('/', 1)[-1]} (from {URL})")


def hub_cache_file() -> Path:
    """Where torch's hub (and torch-fidelity) keep the downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / URL.rsplit("/", 1)[-1]


def resolve_weights(weights: str | Path | None = None, download: bool = True) -> Path:
    """The weights file to use; downloads it into the hub cache when none is given or cached."""
    chosen = weights or os.environ.get(ENV)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            source = "--weights" if weights else ENV
            raise UserError(f"Inception weights file {str(path)!r} (from {source}) does not exist; "
                            f"pass --weights PATH or set {ENV}=PATH to an existing file")
        return path
    cached = hub_cache_file()
    if cached.is_file():
        return cached
    if not download:
        raise _missing("not cached and downloading is off")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(URL, str(cached), hash_prefix="6726825d", progress=False)
    except Exception as exc:  # network errors come in many types (URLError, OSError, HTTPError, ...)
        raise _missing(f"download failed: {type(exc).__name__}") from None
    return cached


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """Tensors only: safetensors for ``.safetensors`` files, else ``torch.load(weights_only=True)``."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"cannot read Inception weights {str(path)!r} ({type(exc).__name__}: {exc}); "
                        "pass a state-dict file (.pth or .safetensors)") from None
    if not isinstance(state, dict):
        raise UserError(f"Inception weights {str(path)!r} hold a {type(state).__name__}, not a state dict")
    return state


def build_extractor(weights: str | Path | None = None, device: str | torch.device = "cpu") -> torch.nn.Module:
    """torch-fidelity's Inception-v3 returning (2048-d pool features, unbiased logits), in eval mode."""
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError:
        raise UserError("FID, KID and IS need torch-fidelity; install the metrics extra: "
                        "pip install 'ganzoo[metrics]' (torchmetrics[image])") from None
    state = read_state_dict(resolve_weights(weights))
    # torch-fidelity reads its file with a full unpickler; hand it only the tensors read safely above.
    with tempfile.TemporaryDirectory() as tmp:
        safe_copy = Path(tmp) / "inception.pth"
        torch.save(state, safe_copy)
        try:
            model = FeatureExtractorInceptionV3("inception-v3-compat", list(FEATURES), str(safe_copy))
        except RuntimeError as exc:  # wrong keys or shapes
            raise UserError(f"the Inception weights do not fit Inception-v3 ({str(exc).splitlines()[0]}); "
                            f"use {URL.rsplit('/', 1)[-1]}") from None
    return model.to(device).eval()


def to_inception_input(images: Tensor) -> Tensor:
    """Images in [-1, 1] (N×C×H×W, C = 1 or 3) as uint8 RGB, the extractor's input (it resizes)."""
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def inception_features(model: torch.nn.Module, images: Tensor, device: str | torch.device | None = None) -> tuple[Tensor, Tensor]:
    """Pool features (N×2048) and unbiased logits (N×1008) of images in [-1, 1], on the CPU."""
    device = device or next(model.parameters()).device
    pools, logits = [], []
    with torch.no_grad():
        for start in range(0, len(images), BATCH):
            pool, logit = model(to_inception_input(images[start : start + BATCH]).to(device))
            pools.append(pool.cpu())
            logits.append(logit.cpu())
    return torch.cat(pools), torch.cat(logits)
