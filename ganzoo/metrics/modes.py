"""Mode coverage of 2-D Gaussian mixtures, with the protocol of VEEGAN and PacGAN.

Draw 2,500 samples. A sample is *high quality* when it lies within 3 standard deviations of its
nearest mode; a mode is *covered* when it is the nearest mode of at least one high-quality sample.
The reverse KL is KL(q || uniform) between the histogram q of nearest modes of the high-quality
samples and the uniform distribution over modes (Srivastava et al. 2017; Lin et al. 2018).
"""

from __future__ import annotations

import math

import torch

DEFAULT_SAMPLES = 2500


def mode_coverage(points: torch.Tensor, means: torch.Tensor, std: float) -> dict[str, float]:
    points = points.detach().float().cpu()
    means = means.float().cpu()
    distances = torch.cdist(points, means)
    nearest_distance, nearest = distances.min(dim=1)
    good = nearest_distance <= 3 * std
    counts = torch.bincount(nearest[good], minlength=len(means)).float()
    covered = int((counts > 0).sum())
    total = float(counts.sum())
    if total > 0:
        q = counts / total
        nz = q > 0
        reverse_kl = float((q[nz] * (q[nz] * len(means)).log()).sum())
    else:
        reverse_kl = math.inf
    return {
        "modes_covered": float(covered),
        "modes_total": float(len(means)),
        "high_quality_pct": 100.0 * float(good.float().mean()),
        "reverse_kl": reverse_kl,
    }


def compute(run, n: int = DEFAULT_SAMPLES, seed: int = 0, **_: object) -> dict[str, float]:
    """Mode coverage of a trained run on ring8 or grid25."""
    from ganzoo.data.toy import mixture
    from ganzoo.errors import UserError

    try:
        means, std = mixture(run.config.dataset)
    except KeyError:
        raise UserError(f"mode coverage needs a 2-D mixture dataset (ring8, grid25), not {run.config.dataset!r}") from None
    return mode_coverage(run.sample(n, seed=seed), means, std)
