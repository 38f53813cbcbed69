"""The adversarial losses against values computed by hand, and the hook through which plugins add more."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo import hookimpl
from ganzoo.errors import PluginError, UserError
from ganzoo.parts.losses import AdversarialLoss, adversarial_loss
from ganzoo.registry import Registry

REAL = torch.tensor([2.0, -0.5])
FAKE = torch.tensor([0.0, 1.5])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def values(pair):
    return tuple(round(t.item(), 6) for t in pair)


def test_the_five_losses_are_declared_by_name():
    names = set(Registry().adversarial_losses())
    assert {"minimax", "non-saturating", "hinge", "wasserstein", "least-squares"} <= names


def test_cross_entropy_losses_match_hand_computed_values():
    # −log σ(r) = softplus(−r); −log(1 − σ(f)) = softplus(f)
    real = (softplus(-2.0) + softplus(0.5)) / 2
    fake = (softplus(0.0) + softplus(1.5)) / 2
    for name in ("minimax", "non-saturating"):
        terms = adversarial_loss(name).discriminator_terms(REAL, FAKE)
        assert values(terms.values()) == (round(real, 6), round(fake, 6))
    # minimax G: E[log(1 − σ(f))] = −fake; non-saturating G: E[−log σ(f)] = E[softplus(−f)]
    assert adversarial_loss("minimax").generator_loss(FAKE).item() == pytest.approx(-fake, abs=1e-6)
    ns = (softplus(-0.0) + softplus(-1.5)) / 2
    assert adversarial_loss("non-saturating").generator_loss(FAKE).item() == pytest.approx(ns, abs=1e-6)


def test_hinge_matches_hand_computed_values():
    terms = adversarial_loss("hinge").discriminator_terms(REAL, FAKE)
    # real: max(0, 1 − 2) = 0, max(0, 1 + 0.5) = 1.5 → 0.75; fake: max(0, 1) = 1, max(0, 2.5) = 2.5 → 1.75
    assert values(terms.values()) == (0.75, 1.75)
    assert adversarial_loss("hinge").generator_loss(FAKE).item() == -0.75


def test_wasserstein_matches_hand_computed_values():
    terms = adversarial_loss("wasserstein").discriminator_terms(REAL, FAKE)
    assert values(terms.values()) == (-0.75, 0.75)
    assert adversarial_loss("wasserstein").generator_loss(FAKE).item() == -0.75


def test_least_squares_uses_lsgans_targets():
    loss = adversarial_loss("least-squares")
    # a, b, c = 0, 1, 1: real ½·((2−1)² + (−0.5−1)²)/2 = ½·(1 + 2.25)/2 = 0.8125; fake ½·(0 + 2.25)/2
    assert values(loss.discriminator_terms(REAL, FAKE).values()) == (0.8125, 0.5625)
    assert loss.generator_loss(FAKE).item() == pytest.approx(0.5 * (1 + 0.25) / 2)
    # equation 8's coding a, b, c = −1, 1, 0
    terms = loss.discriminator_terms(REAL, FAKE, a=-1.0, b=1.0, c=0.0)
    assert values(terms.values()) == (0.8125, round(0.5 * (1 + 6.25) / 2, 6))
    assert loss.generator_loss(FAKE, a=-1.0, b=1.0, c=0.0).item() == pytest.approx(0.5 * 2.25 / 2)


def test_the_losses_give_gradients_of_the_right_sign():
    fake = torch.tensor([-1.0, 0.5], requires_grad=True)  # below every target c
    for name in ("minimax", "non-saturating", "hinge", "wasserstein", "least-squares"):
        fake.grad = None
        adversarial_loss(name).generator_loss(fake).backward()
        assert (fake.grad <= 0).all(), name  # the generator wants D to rate its samples higher


def test_an_unknown_loss_is_a_user_error_naming_the_choices():
    with pytest.raises(UserError, match="unknown adversarial loss 'hing'.*hinge"):
        adversarial_loss("hing")


class LogisticLossPlugin:
    @hookimpl
    def ganzoo_adversarial_losses(self):
        return [AdversarialLoss("logistic", "StyleGAN's logistic loss",
                                lambda r, f: (torch.nn.functional.softplus(-r).mean(), torch.nn.functional.softplus(f).mean()),
                                lambda f: torch.nn.functional.softplus(-f).mean())]


class ClashingLossPlugin:
    @hookimpl
    def ganzoo_adversarial_losses(self):
        return [AdversarialLoss("hinge", "another hinge", lambda r, f: (r.mean(), f.mean()), lambda f: f.mean())]


def test_a_plugin_adds_a_loss_through_the_hook():
    registry = Registry()
    registry.register(LogisticLossPlugin(), name="logistic-plugin")
    loss = adversarial_loss("logistic", registry)
    assert loss.package == "logistic-plugin"
    assert loss.generator_loss(torch.tensor([0.0])).item() == pytest.approx(math.log(2))


def test_a_loss_name_claimed_twice_is_an_error_naming_both_packages():
    registry = Registry()
    registry.register(ClashingLossPlugin(), name="clashing-plugin")
    with pytest.raises(PluginError, match="adversarial loss name 'hinge' is declared by both") as caught:
        registry.adversarial_losses()
    assert "ganzoo" in str(caught.value) and "clashing-plugin" in str(caught.value)
