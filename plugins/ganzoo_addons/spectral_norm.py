"""The ``spectral-norm`` add-on: spectral normalisation of every discriminator of any variant.

Miyato, Kataoka, Koyama & Yoshida 2018, "Spectral Normalization for Generative Adversarial
Networks" (section 2.1): each layer's weight is divided by its largest singular value, estimated by
power iteration (one per training step, as the paper does), which bounds the discriminator's
Lipschitz constant. Every convolution, linear and embedding layer of each declared discriminator is
parametrised with torch's ``torch.nn.utils.parametrizations.spectral_norm``. That renames the
layer's weight in the checkpoint (``weight`` becomes ``parametrizations.weight.original``), which
is why the run records the add-on and needs it to load again.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import AddonSpec, Paper, hookimpl

NAME = "spectral-norm"


@dataclass
class SpectralNormSettings:
    #: Power iterations per training forward pass (the paper uses 1).
    n_power_iterations: int = 1
    #: Added to norms in the power iteration, for numerical stability.
    eps: float = 1e-12


@hookimpl
def ganzoo_addons():
    return [
        AddonSpec(
            name=NAME,
            summary="spectral normalisation of every layer of every discriminator (torch parametrisation)",
            settings=SpectralNormSettings,
            paper=Paper("Spectral Normalization for Generative Adversarial Networks", "Miyato, Kataoka, Koyama & Yoshida",
                        2018, "https://arxiv.org/abs/1802.05957"),
        )
    ]


def normalise(module, settings: SpectralNormSettings) -> int:
    """Parametrise every convolution, linear and embedding layer of ``module``; returns how many."""
    from torch import nn
    from torch.nn.utils import parametrize
    from torch.nn.utils.parametrizations import spectral_norm

    if settings.n_power_iterations < 1:
        from ganzoo.errors import UserError

        raise UserError(f"bad value {settings.n_power_iterations} for {NAME}.n_power_iterations: expected 1 or more")
    kinds = (nn.Linear, nn.Embedding, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
             nn.ConvTranspose3d)
    count = 0
    for layer in list(module.modules()):
        if isinstance(layer, kinds) and not parametrize.is_parametrized(layer, "weight"):
            spectral_norm(layer, n_power_iterations=settings.n_power_iterations, eps=settings.eps)
            count += 1
    return count


@hookimpl(wrapper=True)
def ganzoo_networks(variant, config, data):
    networks = yield
    if NAME not in config.addons or networks is None:
        return networks
    from ganzoo.addons import networks_of

    for name in networks_of(variant, networks, "discriminator", addon=NAME):
        normalise(networks[name], config.addons[NAME])
    return networks
