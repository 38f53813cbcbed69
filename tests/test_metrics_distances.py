"""Fréchet distance, KID and Inception Score on feature sets with known answers."""

from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("torchmetrics")

from ganzoo.metrics import distances  # noqa: E402


def gaussian(n: int, d: int, seed: int, mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    return mean + std * torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_identical_sets_have_frechet_distance_zero():
    x = gaussian(2000, 16, seed=0)
    assert distances.frechet_distance(x, x.clone()) == pytest.approx(0.0, abs=1e-6)


def test_shifted_and_scaled_gaussians_match_the_closed_form():
    # N(0, I) vs N(m·1, s²I) in d dimensions: ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) = d·m² + d·(1 − s)².
    d, m, s = 8, 0.5, 2.0
    expected = d * m**2 + d * (1 - s) ** 2
    fd = distances.frechet_distance(gaussian(20_000, d, seed=1), gaussian(20_000, d, seed=2, mean=m, std=s))
    assert fd == pytest.approx(expected, rel=0.03)


def test_frechet_distance_grows_with_the_shift():
    base = gaussian(3000, 4, seed=3)
    shifts = [distances.frechet_distance(base, gaussian(3000, 4, seed=4, mean=m)) for m in (0.0, 0.5, 1.0)]
    assert shifts[0] < 0.05 < shifts[1] < shifts[2]
    assert shifts[2] == pytest.approx(4.0, rel=0.1)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_shifted_ones():
    same, _ = distances.kernel_distance(gaussian(600, 8, seed=5), gaussian(600, 8, seed=6), subsets=10, subset_size=300)
    shifted, std = distances.kernel_distance(gaussian(600, 8, seed=5), gaussian(600, 8, seed=6, mean=0.5),
                                             subsets=10, subset_size=300)
    assert abs(same) < 0.01
    assert shifted > 0.1 and std < shifted


def test_kid_is_deterministic_for_a_seed():
    a, b = gaussian(600, 4, seed=7), gaussian(600, 4, seed=8, mean=0.2)
    assert distances.kernel_distance(a, b, subsets=5, subset_size=100, seed=3) == \
        distances.kernel_distance(a, b, subsets=5, subset_size=100, seed=3)


def test_inception_score_counts_confident_balanced_classes():
    k = 10
    confident_balanced = 50.0 * torch.nn.functional.one_hot(torch.arange(1000) % k, k).double()
    score, _ = distances.inception_score(confident_balanced, splits=1)
    assert score == pytest.approx(k, rel=1e-3)
    split_scores, _ = distances.inception_score(confident_balanced)  # ten random splits: near k, not above
    assert 0.9 * k < split_scores <= k
    one_class = 50.0 * torch.nn.functional.one_hot(torch.zeros(1000, dtype=torch.long), k).double()
    assert distances.inception_score(one_class)[0] == pytest.approx(1.0, rel=1e-3)
    unsure = torch.zeros(1000, k, dtype=torch.float64)
    assert distances.inception_score(unsure)[0] == pytest.approx(1.0, rel=1e-6)
    assert math.isfinite(distances.inception_score(torch.randn(100, k))[1])


def test_too_few_samples_are_a_user_error():
    from ganzoo.errors import UserError

    with pytest.raises(UserError, match="at least 2 samples"):
        distances.frechet_distance(torch.zeros(1, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="same D"):
        distances.frechet_distance(torch.zeros(4, 3), torch.zeros(4, 2))
