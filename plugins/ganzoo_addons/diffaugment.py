"""The ``diffaugment`` add-on: DiffAugment (Zhao et al. 2020) before every discriminator call.

Every discriminator the variant declares (``VariantSpec.roles``) gets a forward pre-hook that
augments its image input while the network trains: real and generated batches alike, and the
interpolates of a gradient penalty or the reals of an R1 penalty too, since they go through the same
call. The operations are differentiable (:mod:`ganzoo.parts.augment`), so the generator's gradient
passes through them; in fast mode a penalty's augmented input still takes the network's eager
(uncompiled) path, which its double backward needs. Sampling never calls a discriminator and networks are in eval mode there, so
samples are never augmented. Wrapping by hook keeps the checkpoint keys unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import AddonSpec, Paper, hookimpl

NAME = "diffaugment"


@dataclass
class DiffAugmentSettings:
    """The policy and ranges of the paper (section 3.2; the authors' ``DiffAugment_pytorch.py``)."""

    #: Comma-separated operations applied in order: any of color, translation, cutout. The paper
    #: uses all three with 100 % of the data's 10 % or less.
    policy: str = "color,translation,cutout"
    #: Largest shift as a share of the image size (1/8 in the paper).
    translation_ratio: float = 0.125
    #: Side of the cut-out square as a share of the image size (1/2 in the paper).
    cutout_ratio: float = 0.5


@hookimpl
def ganzoo_addons():
    return [
        AddonSpec(
            name=NAME,
            summary="DiffAugment: color, translation, cutout on every input of every discriminator (data-efficient GANs)",
            settings=DiffAugmentSettings,
            paper=Paper("Differentiable Augmentation for Data-Efficient GAN Training", "Zhao, Liu, Lin, Zhu & Han",
                        2020, "https://arxiv.org/abs/2006.10738"),
        )
    ]


def augment_input(settings: DiffAugmentSettings):
    """A forward pre-hook that augments the first (image) argument of a training discriminator."""
    from ganzoo.engine.speed import eager_next_call
    from ganzoo.parts import augment

    policy = augment.parse_policy(settings.policy)

    def hook(module, args):
        if not module.training or not args or getattr(args[0], "dim", lambda: 0)() != 4:
            return None
        if args[0].requires_grad and args[0].is_leaf:  # a penalty's input: it needs a double backward
            eager_next_call(module)
        images = augment.diff_augment(args[0], policy, translation_ratio=settings.translation_ratio,
                                      cutout_ratio=settings.cutout_ratio)
        return (images, *args[1:])

    return hook


@hookimpl(wrapper=True)
def ganzoo_networks(variant, config, data):
    networks = yield
    if NAME not in config.addons or networks is None:
        return networks
    from ganzoo.addons import networks_of
    from ganzoo.errors import UserError

    if data.kind == "points":
        raise UserError(f"add-on {NAME!r} augments images, but {variant.name!r} trains on 2-D points here; "
                        f"drop --with {NAME} or pick an image dataset")
    settings = config.addons[NAME]
    for name in networks_of(variant, networks, "discriminator", addon=NAME):
        networks[name].register_forward_pre_hook(augment_input(settings))
    return networks
