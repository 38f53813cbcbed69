"""Instance noise for every discriminator of any ganzoo variant, as an add-on.

Sønderby, Caballero, Theis, Shi & Huszár 2017, "Amortised MAP Inference for Image
Super-resolution" (ICLR 2017, section 3.3 and appendix C): when the data and the generator's
distribution do not overlap, the discriminator separates them perfectly and its gradient tells the
generator little. Adding Gaussian noise of the same scale to *both* real and generated samples
before the discriminator makes the two distributions overlap; the noise is annealed towards zero
as training proceeds (the paper: linearly to zero over the first half of training).

Installed, the add-on does nothing. A run enables it by name::

    ganzoo run dcgan --with instance-noise --set instance-noise.std=0.1 --set instance-noise.anneal_steps=2000

Every discriminator the variant declares (``VariantSpec.roles``) then gets a forward pre-hook that
adds the noise to its first input while the network trains; sampling never calls a discriminator
and networks are in eval mode there. The add-on needs nothing from a variant but its roles, so it
works for any variant, CycleGAN's two discriminators included.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from ganzoo import AddonSpec, Paper, hookimpl
from ganzoo.addons import networks_of
from ganzoo.errors import UserError

NAME = "instance-noise"


@dataclass
class InstanceNoiseSettings:
    """The add-on's settings: the ``[instance-noise]`` section of a run's ``config.toml``."""

    #: Standard deviation of the noise at the first step (data in [-1, 1]).
    std: float = 0.1
    #: Steps over which the standard deviation falls linearly to zero; 0 keeps it constant.
    anneal_steps: int = 0


@hookimpl
def ganzoo_addons():
    return [
        AddonSpec(
            name=NAME,
            summary="Gaussian noise on every discriminator input, annealed to zero (instance noise)",
            settings=InstanceNoiseSettings,
            paper=Paper("Amortised MAP Inference for Image Super-resolution",
                        "Sønderby, Caballero, Theis, Shi & Huszár", 2017, "https://arxiv.org/abs/1610.04490"),
        )
    ]


def noise_std(settings: InstanceNoiseSettings, step: int) -> float:
    """The standard deviation at iteration ``step``: linear annealing to zero over ``anneal_steps``."""
    if settings.anneal_steps <= 0:
        return settings.std
    return settings.std * max(0.0, 1.0 - step / settings.anneal_steps)


class NoisyInput:
    """A forward pre-hook adding noise to a training discriminator's first input. ``step`` is set by
    the training-step wrapper below before every iteration."""

    def __init__(self, settings: InstanceNoiseSettings) -> None:
        self.settings = settings
        self.step = 0

    def __call__(self, module, args):
        std = noise_std(self.settings, self.step)
        if not module.training or std == 0.0 or not args:
            return None
        import torch

        return (args[0] + std * torch.randn_like(args[0]), *args[1:])


#: The hook of every discriminator this add-on acts on, by network (forgotten with the network).
_hooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@hookimpl(wrapper=True)
def ganzoo_networks(variant, config, data):
    networks = yield
    if NAME not in config.addons or networks is None:  # not named by this run: pass through untouched
        return networks
    settings = config.addons[NAME]
    if settings.std < 0 or settings.anneal_steps < 0:
        raise UserError(f"bad {NAME} settings: std and anneal_steps must be 0 or more")
    for name in networks_of(variant, networks, "discriminator", addon=NAME):
        hook = NoisyInput(settings)
        networks[name].register_forward_pre_hook(hook)
        _hooks[networks[name]] = hook
    return networks


@hookimpl(wrapper=True)
def ganzoo_train_step(ctx):
    if NAME in ctx.config.addons:
        for name in networks_of(ctx.variant, ctx.networks, "discriminator"):
            network = getattr(ctx.networks[name], "module", ctx.networks[name])  # unwrap DistributedDataParallel
            if network in _hooks:
                _hooks[network].step = ctx.step
    return (yield)
