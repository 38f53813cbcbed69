"""FID, KID and Inception Score of a run, with the standard Inception-v3 (see ``inception.py``).

Protocol (``docs/evaluation.md``): ``n`` generated images against ``n`` real images of the run's
dataset (all of it when smaller), the real ones picked once by a fixed seed and their features
cached; grey images are repeated to three channels; the extractor resizes to 299×299 itself.
"""

from __future__ import annotations

import functools
import hashlib

from ganzoo.metrics import distances, inception
from ganzoo.metrics.reference import reference_features
from ganzoo.metrics.samples import generated, reference_key

DEFAULT_SAMPLES = 10_000
#: The real images are always the same pick, whatever the evaluation seed, so their features are cached once.
REFERENCE_SEED = 0


@functools.lru_cache(maxsize=2)
def _extractor(weights: str | None, device: str):
    return inception.build_extractor(weights, device)


def _weights_label(weights: str | None) -> str:
    """Names the extractor in cache keys, so features of other weights are never mixed in."""
    if not weights:
        return "inception"
    path = inception.resolve_weights(weights)
    stamp = f"{path.resolve()}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
    return "inception-" + hashlib.sha256(stamp.encode()).hexdigest()[:8]


def _memo(shared: dict | None, key: tuple, compute):
    if shared is None:
        return compute()
    if key not in shared:
        shared[key] = compute()
    return shared[key]


def _extract(run, weights: str | None):
    model = _extractor(weights, str(run.device))

    def extract(images):
        pool, logits = inception.inception_features(model, images, run.device)
        return {"pool": pool, "logits": logits}

    return extract


def _fake_features(run, n: int, seed: int, weights: str | None, shared: dict | None) -> dict:
    """Features of ``n`` generated images; ``shared`` (one evaluation's scratch dict) lets FID, KID
    and IS extract them once."""
    weights = str(weights) if weights else None
    return _memo(shared, ("inception-fake", n, seed, weights),
                 lambda: _extract(run, weights)(generated(run, n, seed)[0]))


def _real_features(run, n: int, weights: str | None, cache_dir: str | None, shared: dict | None) -> dict:
    weights = str(weights) if weights else None
    return _memo(shared, ("inception-real", n, weights), lambda: reference_features(
        run, _weights_label(weights), n, REFERENCE_SEED, _extract(run, weights), key=reference_key(run),
        cache_dir=cache_dir))


def fid(run, n: int = DEFAULT_SAMPLES, seed: int = 0, weights: str | None = None, cache_dir: str | None = None,
        shared: dict | None = None, **_: object) -> dict[str, float]:
    """Fréchet Inception Distance (Heusel et al. 2017) of ``n`` samples against the dataset."""
    real, fake = _real_features(run, n, weights, cache_dir, shared), _fake_features(run, n, seed, weights, shared)
    return {"fid": distances.frechet_distance(real["pool"], fake["pool"])}


def kid(run, n: int = DEFAULT_SAMPLES, seed: int = 0, weights: str | None = None, cache_dir: str | None = None,
        shared: dict | None = None, **_: object) -> dict[str, float]:
    """Kernel Inception Distance (Bińkowski et al. 2018): mean and std over 100 subsets of 1,000."""
    real, fake = _real_features(run, n, weights, cache_dir, shared), _fake_features(run, n, seed, weights, shared)
    mean, std = distances.kernel_distance(real["pool"], fake["pool"], seed=seed)
    return {"kid": mean, "kid_std": std}


def inception_score(run, n: int = DEFAULT_SAMPLES, seed: int = 0, weights: str | None = None,
                    shared: dict | None = None, **_: object) -> dict[str, float]:
    """Inception Score (Salimans et al. 2016) over 10 splits of the generated images."""
    mean, std = distances.inception_score(_fake_features(run, n, seed, weights, shared)["logits"], seed=seed)
    return {"inception_score": mean, "inception_score_std": std}
