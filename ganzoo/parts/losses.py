"""Adversarial losses by name: the D loss from real and fake logits, and the G loss from fake logits.

Every loss is an :class:`AdversarialLoss`: a pair of functions on the discriminator's raw outputs
(logits, before any sigmoid). The discriminator's loss comes back as its two terms, ``(real, fake)``,
so a variant logs them by name; the engine adds them. Options (LSGAN's targets ``a``, ``b``, ``c``)
are keyword arguments with the paper's defaults.

========================  ===============================================  =====================================
name                      discriminator minimises                          generator minimises
========================  ===============================================  =====================================
``minimax``               −log σ(D(x)) − log(1 − σ(D(G(z))))               log(1 − σ(D(G(z))))
``non-saturating``        the same                                         −log σ(D(G(z)))
``hinge``                 max(0, 1 − D(x)) + max(0, 1 + D(G(z)))           −D(G(z))
``wasserstein``           −D(x) + D(G(z))                                  −D(G(z))
``least-squares``         ½(D(x) − b)² + ½(D(G(z)) − a)²                   ½(D(G(z)) − c)²
========================  ===============================================  =====================================

(each averaged over the batch). References: minimax and non-saturating, Goodfellow et al. 2014,
"Generative Adversarial Nets", section 3; hinge, Lim & Ye 2017, "Geometric GAN", and Miyato et al.
2018, "Spectral Normalization for GANs", equation 16-17 of the code's ``loss_hinge_dis``/``gen``;
wasserstein, Arjovsky et al. 2017, "Wasserstein GAN", Algorithm 1; least-squares, Mao et al. 2017,
"Least Squares Generative Adversarial Networks", equation 2 (``a, b, c = 0, 1, 1``, equation 9).

A plugin adds a loss through the ``ganzoo_adversarial_losses`` hook; :func:`adversarial_loss` looks
one up by name (the built-in ones and the plugins' alike).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AdversarialLoss:
    """A named adversarial loss, declared through the ``ganzoo_adversarial_losses`` hook.

    ``discriminator(real_logits, fake_logits, **options)`` returns the D loss as its two terms
    ``(real, fake)``, scalar tensors to be added; ``generator(fake_logits, **options)`` returns the G
    loss. ``options`` holds the loss's own settings and their defaults (e.g. LSGAN's ``a, b, c``);
    the functions receive them as keyword arguments.
    """

    name: str
    summary: str
    discriminator: Callable[..., tuple[torch.Tensor, torch.Tensor]]
    generator: Callable[..., torch.Tensor]
    options: dict[str, Any] = field(default_factory=dict)
    #: Set by the registry: the distribution that declared the loss.
    package: str = ""

    def discriminator_terms(self, real_logits: torch.Tensor, fake_logits: torch.Tensor, **options: Any) -> dict[str, torch.Tensor]:
        """The D loss as ``{"real": ..., "fake": ...}``, the terms a variant logs."""
        real, fake = self.discriminator(real_logits, fake_logits, **{**self.options, **options})
        return {"real": real, "fake": fake}

    def generator_loss(self, fake_logits: torch.Tensor, **options: Any) -> torch.Tensor:
        return self.generator(fake_logits, **{**self.options, **options})


# -- the built-in losses ------------------------------------------------------------------------


def cross_entropy_discriminator(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """−E[log σ(D(x))] and −E[log(1 − σ(D(G(z))))]: the sigmoid cross-entropy of both halves."""
    return (
        F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)),
        F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)),
    )


def minimax_generator(fake_logits: torch.Tensor) -> torch.Tensor:
    """E[log(1 − σ(D(G(z))))], the generator's side of the zero-sum game (saturates early on)."""
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def non_saturating_generator(fake_logits: torch.Tensor) -> torch.Tensor:
    """−E[log σ(D(G(z)))]: "maximize log D(G(z))" (Goodfellow et al. 2014, section 3)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def hinge_discriminator(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """E[max(0, 1 − D(x))] and E[max(0, 1 + D(G(z)))]."""
    return F.relu(1.0 - real_logits).mean(), F.relu(1.0 + fake_logits).mean()


def mean_critic_generator(fake_logits: torch.Tensor) -> torch.Tensor:
    """−E[D(G(z))]: the generator of the hinge and Wasserstein losses."""
    return -fake_logits.mean()


def wasserstein_discriminator(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """−E[D(x)] and E[D(G(z))]: their sum estimates minus the Wasserstein-1 distance."""
    return -real_logits.mean(), fake_logits.mean()


def least_squares_discriminator(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, a: float = 0.0, b: float = 1.0, c: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """½E[(D(x) − b)²] and ½E[(D(G(z)) − a)²] (Mao et al. 2017, equation 2)."""
    return 0.5 * (real_logits - b).pow(2).mean(), 0.5 * (fake_logits - a).pow(2).mean()


def least_squares_generator(fake_logits: torch.Tensor, a: float = 0.0, b: float = 1.0, c: float = 1.0) -> torch.Tensor:
    """½E[(D(G(z)) − c)²] (Mao et al. 2017, equation 2)."""
    return 0.5 * (fake_logits - c).pow(2).mean()


BUILTIN_LOSSES: tuple[AdversarialLoss, ...] = (
    AdversarialLoss("minimax", "the original zero-sum game: D's cross-entropy, G minimises log(1 − D(G(z)))",
                    cross_entropy_discriminator, minimax_generator),
    AdversarialLoss("non-saturating", "D's cross-entropy, G maximises log D(G(z)) (Goodfellow et al. 2014, section 3)",
                    cross_entropy_discriminator, non_saturating_generator),
    AdversarialLoss("hinge", "D: max(0, 1 − D(x)) + max(0, 1 + D(G(z))); G: −D(G(z)) (Lim & Ye 2017; SNGAN, SAGAN)",
                    hinge_discriminator, mean_critic_generator),
    AdversarialLoss("wasserstein", "D: D(G(z)) − D(x); G: −D(G(z)) (Arjovsky et al. 2017); needs a Lipschitz critic",
                    wasserstein_discriminator, mean_critic_generator),
    AdversarialLoss("least-squares", "LSGAN: least squares to targets a (fake), b (real), c (G's wish); Mao et al. 2017",
                    least_squares_discriminator, least_squares_generator, options={"a": 0.0, "b": 1.0, "c": 1.0}),
)


# -- lookup -------------------------------------------------------------------------------------


def adversarial_losses(registry: Any = None) -> dict[str, AdversarialLoss]:
    """Every adversarial loss by name: the built-in ones and those plugins declare."""
    if registry is None:
        from ganzoo.registry import get_registry

        registry = get_registry()
    return registry.adversarial_losses()


def adversarial_loss(name: str, registry: Any = None) -> AdversarialLoss:
    """The loss called ``name``; an unknown name is a :class:`ganzoo.errors.UserError` listing the choices."""
    from ganzoo.errors import unknown

    found = adversarial_losses(registry)
    if name not in found:
        raise unknown("adversarial loss", name, found)
    return found[name]
