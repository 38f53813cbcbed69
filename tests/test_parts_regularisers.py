"""Regularisers against hand-computed values: on a linear critic D(x) = w·x every gradient is w."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganzoo.engine import speed
from ganzoo.errors import UserError
from ganzoo.parts import regularisers as reg


class LinearCritic(nn.Module):
    """D(x) = w·x (+ y when a condition is given), so ∇ₓD = w everywhere."""

    def __init__(self, w: list[float]) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x, labels=None):
        out = x.flatten(1) @ self.w
        return out if labels is None else out + labels


class QuadraticCritic(nn.Module):
    """D(x) = ½ Σ x², so ∇ₓD = x: a gradient that depends on where it is taken."""

    def forward(self, x):
        return 0.5 * x.pow(2).flatten(1).sum(1)


def test_one_centred_penalty_is_the_squared_distance_of_the_slope_from_one():
    critic = LinearCritic([3.0, 4.0])  # ‖w‖ = 5 → (5 − 1)² = 16
    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    assert reg.gradient_penalty(critic, real, fake).item() == pytest.approx(16.0)
    assert reg.gradient_penalty(critic, real, fake, centre=0.0).item() == pytest.approx(25.0)


def test_one_centred_penalty_is_taken_at_the_interpolates():
    real, fake = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    # x̂ = 0.5·real → ‖∇‖ = ‖x̂‖ = 1 → 0; ε = 1 → ‖real‖ = 2 → (2 − 1)² = 1
    assert reg.gradient_penalty(QuadraticCritic(), real, fake, epsilon=torch.tensor([0.5])).item() == 0.0
    assert reg.gradient_penalty(QuadraticCritic(), real, fake, epsilon=torch.tensor([1.0])).item() == 1.0


def test_penalties_train_the_critic():
    critic = LinearCritic([3.0, 4.0])
    reg.gradient_penalty(critic, torch.randn(2, 2), torch.randn(2, 2)).backward()
    # d/dw (‖w‖ − 1)² = 2(‖w‖ − 1)·w/‖w‖ = 2·4·(0.6, 0.8)
    assert critic.w.grad.tolist() == pytest.approx([4.8, 6.4])


def test_r1_and_r2_are_the_squared_gradient_norms_on_reals_and_fakes():
    real = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    fake = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    # ∇ₓD = x: ‖·‖² of the reals is 5 and 9 → 7; of the fakes 1 and 2 → 1.5
    assert reg.r1_penalty(QuadraticCritic(), real).item() == 7.0
    assert reg.r2_penalty(QuadraticCritic(), fake).item() == 1.5
    # conditions reach the critic; a constant shift of D changes no gradient
    assert reg.r1_penalty(LinearCritic([1.0, 2.0]), real, torch.ones(2)).item() == 5.0


def test_r1_trains_the_discriminator_not_the_data():
    critic = LinearCritic([1.0, 2.0])
    real = torch.randn(3, 2, requires_grad=True)
    reg.r1_penalty(critic, real).backward()
    assert critic.w.grad.tolist() == pytest.approx([2.0, 4.0])  # d/dw ‖w‖² = 2w
    assert real.grad is None


def test_penalties_run_eagerly_in_float32_under_bf16_autocast():
    critic = LinearCritic([3.0, 4.0])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gp = reg.gradient_penalty(critic, torch.randn(2, 2), torch.randn(2, 2))
        r1 = reg.r1_penalty(critic, torch.randn(2, 2).bfloat16())
    assert gp.dtype == torch.float32 and gp.item() == pytest.approx(16.0)
    assert r1.dtype == torch.float32 and r1.item() == pytest.approx(25.0)


def test_penalties_take_the_eager_path_of_a_network_compiled_by_fast_mode(monkeypatch):
    monkeypatch.setattr(speed, "COMPILE_BACKEND", "eager")
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    speed.compile_network(critic)
    x = torch.randn(3, 4)
    r1 = reg.r1_penalty(critic, x)
    r1.backward()  # double backward: fails if the compiled graph had been used
    assert r1.item() == pytest.approx(critic[1].weight.pow(2).sum().item(), rel=1e-6)


def test_drift_penalty_is_epsilon_times_the_mean_square():
    assert reg.drift_penalty(torch.tensor([1.0, -3.0])).item() == pytest.approx(0.001 * 5.0)
    assert reg.drift_penalty(torch.tensor([2.0]), epsilon=0.5).item() == 2.0


def test_lazy_regularisation_has_stylegan2s_gain_and_adam_rescaling():
    lazy = reg.LazyRegularisation(16)
    assert [s for s in range(40) if lazy.due(s)] == [0, 16, 32]
    assert lazy.gain == 16
    lr, betas = lazy.adam_settings(0.002, (0.0, 0.99))
    # StyleGAN2, appendix B: mb_ratio = 16/17; lr · r, β ** r
    assert lr == pytest.approx(0.002 * 16 / 17)
    assert betas == pytest.approx((0.0, 0.99 ** (16 / 17)))
    assert reg.LazyRegularisation(1).adam_settings(0.1, (0.5, 0.9)) == (0.1, (0.5, 0.9))
    with pytest.raises(UserError, match="at least 1"):
        reg.LazyRegularisation(0)


def test_orthogonal_regularisation_penalises_only_the_off_diagonal_of_matrices():
    net = nn.Module()
    net.linear = nn.Linear(2, 2)
    net.embedding = nn.Embedding(3, 2)
    with torch.no_grad():
        net.linear.weight.copy_(torch.tensor([[1.0, 1.0], [1.0, 0.0]]))  # WWᵀ = [[2, 1], [1, 1]]
        net.linear.bias.fill_(100.0)
        net.embedding.weight.fill_(100.0)
    # off-diagonal entries 1 and 1 → ‖·‖² = 2; bias (1-D) and embedding skipped
    assert reg.orthogonal_regularisation(net, beta=1.0).item() == 2.0
    assert reg.orthogonal_regularisation(net, beta=1e-4).item() == pytest.approx(2e-4)
    conv = nn.Conv2d(1, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, 0.0]).view(2, 1, 1, 1))  # orthogonal filters
    assert reg.orthogonal_regularisation(conv, beta=1.0).item() == 0.0


def test_weight_clipping_clamps_every_parameter():
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -0.005]]))
        layer.bias.fill_(-2.0)
    reg.clip_weights_(layer, 0.01)
    assert layer.weight[0].tolist() == pytest.approx([0.01, -0.005]) and layer.bias.item() == pytest.approx(-0.01)
