"""WGAN-GP: the gradient penalty against hand-computed cases, Algorithm 1 as an engine schedule, the
paper's networks, and learning (digits on the embedded MNIST, every mode of ring8 and grid25)."""

from __future__ import annotations

import pytest
import torch
from ganzoo_wgan_gp.penalty import gradient_penalty
from torch import nn

import ganzoo
from ganzoo.api import make_config
from ganzoo.data.toy import mixture
from ganzoo.metrics.modes import mode_coverage
from ganzoo.registry import get_registry

#: Generator iterations of the short MNIST run (each with five critic updates).
DIGIT_STEPS = 500
#: Random images score about 0.1; the shipped classifier gives real digits 0.99.
MIN_MEAN_CONFIDENCE = 0.65


class HalfSquaredNorm(nn.Module):
    """D(x) = a · ½‖x‖²: its input gradient is a·x, so the penalty has a closed form."""

    def __init__(self, a: float) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * 0.5 * x.flatten(1).pow(2).sum(1)


def test_penalty_of_a_linear_critic_is_the_squared_distance_of_its_weight_norm_from_one():
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))
    gp = gradient_penalty(critic, torch.randn(8, 2), torch.randn(8, 2))
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2)
    gp.backward()
    # d/dw (‖w‖ - 1)² = 2 (‖w‖ - 1) w / ‖w‖ = 2 · 4 · (3, 4) / 5
    assert torch.allclose(critic.weight.grad, torch.tensor([[4.8, 6.4]]))


def test_penalty_and_its_parameter_gradient_match_a_hand_computed_case():
    critic = HalfSquaredNorm(3.0)
    real = torch.tensor([[2.0, 0.0], [0.0, 4.0]])
    fake = torch.tensor([[0.0, 0.0], [0.0, 2.0]])
    epsilon = torch.tensor([0.5, 0.25])
    # x̂ = ε·real + (1-ε)·fake = (1, 0) and (0, 2.5); slopes a‖x̂‖ = 3 and 7.5
    gp = gradient_penalty(critic, real, fake, epsilon)
    assert gp.item() == pytest.approx(((3 - 1) ** 2 + (7.5 - 1) ** 2) / 2)  # 23.125
    gp.backward()
    # d/da mean (a‖x̂‖ - 1)² = mean 2 (a‖x̂‖ - 1) ‖x̂‖ = (2·2·1 + 2·6.5·2.5) / 2: the double backward
    assert critic.a.grad.item() == pytest.approx((4.0 + 32.5) / 2)


def test_penalty_draws_one_epsilon_per_sample_uniform_in_0_1():
    seen = []

    class Recorder(nn.Module):
        def forward(self, x):
            seen.append(x.detach().clone())
            return x.flatten(1).sum(1)

    torch.manual_seed(0)
    real, fake = torch.zeros(256, 1, 4, 4), torch.ones(256, 1, 4, 4)
    gradient_penalty(Recorder(), real, fake)
    epsilon = 1 - seen[0]  # x̂ = ε·0 + (1-ε)·1
    per_sample = epsilon.flatten(1)
    assert torch.equal(per_sample.min(1).values, per_sample.max(1).values)  # one ε for all pixels of a sample
    values = per_sample[:, 0]
    assert 0 <= values.min() and values.max() <= 1
    assert abs(values.mean().item() - 0.5) < 0.06 and abs(values.var().item() - 1 / 12) < 0.02  # U[0, 1]


def _critic_and_batch():
    torch.manual_seed(1)
    critic = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 8 * 8, 1))
    return critic, torch.randn(6, 1, 8, 8), torch.randn(6, 1, 8, 8), torch.rand(6)


def _penalty_and_grads(critic, real, fake, epsilon, params):
    gp = gradient_penalty(critic, real, fake, epsilon)
    grads = torch.autograd.grad(gp, params, allow_unused=True)  # the last bias has no input gradient
    return gp.detach(), [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]


def test_penalty_stays_eager_and_exact_under_torch_compile_and_bf16_autocast():
    critic, real, fake, epsilon = _critic_and_batch()
    params = list(critic.parameters())
    expected, expected_grads = _penalty_and_grads(critic, real, fake, epsilon, params)
    # a compiled critic cannot double-backward; the penalty runs the module behind the wrapper
    compiled = torch.compile(critic, backend="aot_eager")
    gp, grads = _penalty_and_grads(compiled, real, fake, epsilon, params)
    assert torch.allclose(gp, expected) and all(torch.allclose(a, b) for a, b in zip(grads, expected_grads, strict=True))
    # under bf16 autocast the penalty's pass runs in float32: the same value, not a bf16 approximation
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gp = gradient_penalty(critic, real.bfloat16(), fake.bfloat16(), epsilon)
    # backward outside autocast, as the engine runs it (and as PyTorch's autocast guide asks)
    grads = torch.autograd.grad(gp, params[:-1])  # the last bias has no input gradient
    assert gp.dtype == torch.float32
    real_b, fake_b = real.bfloat16().float(), fake.bfloat16().float()
    expected_b, expected_grads_b = _penalty_and_grads(critic, real_b, fake_b, epsilon, params)
    assert torch.allclose(gp, expected_b) and all(torch.allclose(a, b) for a, b in zip(grads, expected_grads_b[:-1], strict=True))


def test_schedule_is_algorithm_1_five_critic_updates_on_fresh_batches_then_one_generator_update(tmp_path):
    calls: list[tuple[str, float]] = []

    class Spy:
        @ganzoo.hookimpl(wrapper=True)
        def ganzoo_losses(self, variant, player, ctx):
            calls.append((player, ctx.batch["real"].sum().item()))
            return (yield)

    registry = get_registry()
    registry.register(Spy(), name="spy")
    ganzoo.train("wgan-gp", dataset="ring8", steps=2, batch_size=32, log_every=1, sample_every=2,
                 checkpoint_every=2, out=tmp_path / "run", registry=registry,
                 overrides={"model.point_width": "16"})
    players = [player for player, _ in calls]
    assert players == (["critic"] * 5 + ["generator"]) * 2
    critic_batches = [total for player, total in calls[:5]]
    assert len(set(critic_batches)) == 5  # a fresh real batch for every critic update
    run = ganzoo.load(tmp_path / "run")
    schedule = registry.schedule(run.variant, run.config, run.networks)
    critic, generator = schedule.players
    assert (critic.name, critic.repeats, critic.fresh_batch) == ("critic", 5, True)
    for player in (critic, generator):
        group = player.optimizer.param_groups[0]
        assert isinstance(player.optimizer, torch.optim.Adam)
        assert (group["lr"], group["betas"]) == (1e-4, (0.0, 0.9))
    assert run.config.model.lambda_gp == 10.0


def test_image_critic_has_no_batchnorm_and_toy_networks_are_the_papers_mlps():
    registry = get_registry()
    spec = registry.variant("wgan-gp")
    for norm in ("layer", "none"):
        config = make_config("wgan-gp", profile="paper", overrides={"model.critic_norm": norm})
        nets = registry.networks(spec, config, ganzoo.DataInfo("images", (3, 64, 64)))
        assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in nets["critic"].modules())
        assert nets["critic"](torch.randn(2, 3, 64, 64)).shape == (2,)
        assert nets["generator"](torch.randn(2, 128)).shape == (2, 3, 64, 64)
    config = make_config("wgan-gp", dataset="ring8", profile="paper")
    nets = registry.networks(spec, config, ganzoo.DataInfo("points", (2,)))
    for name, out in (("generator", 2), ("critic", 1)):
        linears = [m for m in nets[name].modules() if isinstance(m, nn.Linear)]
        assert [(m.in_features, m.out_features) for m in linears] == [(2, 512), (512, 512), (512, 512), (512, out)]
        assert sum(isinstance(m, nn.ReLU) for m in nets[name].modules()) == 3


@pytest.mark.slow
def test_wgan_gp_learns_confident_digits_of_every_class(tmp_path):
    from ganzoo.metrics.digits import classify_digits

    # Algorithm 1 as published (λ = 10, five critic updates, β = (0, 0.9)) with narrow networks and a
    # larger step than 1e-4, so that a CPU run of about a minute learns
    result = ganzoo.train("wgan-gp", profile="paper", steps=DIGIT_STEPS, batch_size=32, seed=0, log_every=100,
                          sample_every=DIGIT_STEPS, checkpoint_every=DIGIT_STEPS, out=tmp_path / "run",
                          overrides={"model.ngf": "16", "model.ndf": "16", "model.lr": "5e-4"})
    images = ganzoo.load(result.run_dir).sample(1000, seed=1)
    labels, confidence = classify_digits(images)
    confident = labels[confidence > 0.9]
    print(f"wgan-gp: mean confidence {confidence.mean():.3f}, {len(confident) / 10:.1f}% above 0.9, "
          f"classes {torch.bincount(confident, minlength=10).tolist()}")
    assert confidence.mean() > MIN_MEAN_CONFIDENCE
    assert set(confident.tolist()) == set(range(10))


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "steps", "batch_size", "min_modes"), [("ring8", 1000, 256, 8), ("grid25", 1000, 256, 18)])
def test_wgan_gp_covers_the_modes_of_the_2d_mixtures(tmp_path, dataset, steps, batch_size, min_modes):
    # the paper's toy code (profile "toy"), with 128 instead of 512 hidden units for speed
    result = ganzoo.train("wgan-gp", dataset=dataset, profile="toy", steps=steps, batch_size=batch_size, seed=0,
                          log_every=250, sample_every=steps, checkpoint_every=steps, out=tmp_path / "run",
                          overrides={"model.point_width": "128"})
    means, std = mixture(dataset)
    coverage = mode_coverage(ganzoo.load(result.run_dir).sample(2500, seed=1), means, std)
    print(f"wgan-gp on {dataset}: {coverage}")
    assert coverage["modes_covered"] >= min_modes, coverage
