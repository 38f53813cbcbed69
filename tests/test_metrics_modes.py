"""Mode coverage on hand-made point sets with known modes, high-quality share and reverse KL."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.data.toy import mixture, sample_mixture
from ganzoo.metrics.modes import mode_coverage


def test_hand_made_points_give_known_modes_quality_and_kl():
    means, std = mixture("ring8")
    # 10 points on each of modes 0..5 (inside 3 std), 5 points off every mode (beyond 3 std).
    near = torch.cat([means[k] + torch.tensor([2 * std, -std]) for k in range(6) for _ in range(10)]).reshape(-1, 2)
    far = torch.tensor([[0.0, 0.0], [0.5, 0.5], [2.0, 2.0], [-0.5, 0.1], [1.0 + 4 * std, 0.0]])
    result = mode_coverage(torch.cat([near, far]), means, std)
    assert result["modes_covered"] == 6
    assert result["modes_total"] == 8
    assert result["high_quality_pct"] == pytest.approx(100 * 60 / 65)
    assert result["reverse_kl"] == pytest.approx(math.log(8 / 6), abs=1e-6)


def test_real_mixture_samples_cover_every_mode_with_almost_all_high_quality():
    for name in ("ring8", "grid25"):
        means, std = mixture(name)
        points, _ = sample_mixture(name, 2500, torch.Generator().manual_seed(0))
        result = mode_coverage(points, means, std)
        assert result["modes_covered"] == len(means)
        assert result["high_quality_pct"] > 98.5  # 3 std in 2-D holds 98.9 % of a Gaussian
        assert result["reverse_kl"] < 0.02


def test_a_collapsed_generator_covers_one_mode_with_kl_log_k():
    means, std = mixture("grid25")
    result = mode_coverage(means[7] + std * 0.1 * torch.randn(2500, 2), means, std)
    assert result["modes_covered"] == 1
    assert result["reverse_kl"] == pytest.approx(math.log(25), abs=1e-5)


def test_no_high_quality_sample_gives_infinite_kl_and_zero_coverage():
    means, std = mixture("ring8")
    result = mode_coverage(torch.full((100, 2), 5.0), means, std)
    assert result["modes_covered"] == 0 and result["high_quality_pct"] == 0
    assert math.isinf(result["reverse_kl"])
