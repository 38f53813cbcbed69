"""The ``ema`` add-on: keep an exponential moving average of every generator of any variant.

Samples, ``ganzoo sample`` and ``ganzoo eval`` then use the average (``--weights raw`` the trained
weights). The settings are :class:`ganzoo.engine.ema.EMASettings`: a constant decay with a start
step as BigGAN specifies it, or a half-life in images with a ramp-up as StyleGAN2 does, e.g.::

    ganzoo run dcgan --with ema --set ema.decay=0.999 --set ema.start_step=100
    ganzoo run dcgan --with ema --set ema.half_life_kimg=10 --set ema.rampup=0.05
"""

from __future__ import annotations

from ganzoo import AddonSpec, Paper, hookimpl
from ganzoo.engine.ema import EMASettings

NAME = "ema"


@hookimpl
def ganzoo_addons():
    return [
        AddonSpec(
            name=NAME,
            summary="exponential moving average of every generator; samples and metrics use it (--weights raw: not)",
            settings=EMASettings,
            paper=Paper("The Unusual Effectiveness of Averaging in GAN Training", "Yazıcı et al.", 2019,
                        "https://arxiv.org/abs/1806.04498"),
        )
    ]


@hookimpl(wrapper=True)
def ganzoo_schedule(variant, config, networks):
    schedule = yield
    if NAME not in config.addons or schedule is None:
        return schedule
    from ganzoo.addons import networks_of

    for name in networks_of(variant, networks, "generator", addon=NAME):
        schedule.ema[name] = config.addons[NAME]  # replaces a variant's own average of that network
    return schedule
