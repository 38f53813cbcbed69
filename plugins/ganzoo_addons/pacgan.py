"""The ``pacgan`` add-on: packing (Lin, Khetan, Fanti & Oh 2018, "PacGAN: The power of two samples
in generative adversarial networks", section 3).

Every discriminator the variant declares (``VariantSpec.roles``) judges m samples at once: its
input of N·m samples is regrouped into N packs of m consecutive samples, concatenated along the
feature axis (points: ``N·m × D → N × m·D``) or the channel axis (images: ``N·m × C × H × W → N ×
m·C × H × W``), and its first layer is widened m times to take them. The variant calls the
discriminator on real and generated batches separately, so a pack holds reals only or fakes only
("real with real, fake with fake"), and every pack gets one decision. The batch is drawn m times
larger (``batch_size`` packs of m samples per discriminator call, as the authors' code draws
``batch_size`` packed rows from ``create_packing_gaussian_mixture_data_streams`` and m latent
batches), so the discriminator still makes ``batch_size`` decisions per call.

The widened layer keeps the variant's initial weights for the first sample of a pack and draws
those of the other m − 1 samples from the same values (shuffled), so the initial scale is the
variant's own. The gradient penalties of :mod:`ganzoo.parts.regularisers` see the packing (one
interpolation weight and one gradient norm per pack), and the engine's image clock counts the m
times larger batches (``StepContext.batch_multiple``). A discriminator called with labels (a conditional variant) or whose first layer is
neither linear nor a 2-D convolution is a one-line error.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import AddonSpec, Paper, hookimpl
from ganzoo.bounds import bounded, in_range

NAME = "pacgan"


@dataclass
class PacGANSettings:
    #: m: the number of samples packed into one discriminator input (the paper's PacGAN2/3/4).
    m: int = bounded(2, in_range(2, 4, "[]"))


@hookimpl
def ganzoo_addons():
    return [
        AddonSpec(
            name=NAME,
            summary="packing: every discriminator judges m samples at once, real with real, fake with fake",
            settings=PacGANSettings,
            paper=Paper("PacGAN: The power of two samples in generative adversarial networks",
                        "Lin, Khetan, Fanti & Oh", 2018, "https://arxiv.org/abs/1712.04086"),
        )
    ]


def pack(x, m: int):
    """``N·m`` samples → ``N`` packs of ``m`` consecutive samples joined on axis 1 (the feature or
    channel axis): pack i holds samples ``i·m, ..., i·m + m − 1``, in that order."""
    if x.shape[0] % m:
        from ganzoo.errors import UserError

        raise UserError(f"add-on {NAME!r} packs {m} samples per discriminator input, but a discriminator got "
                        f"{x.shape[0]}, not a multiple of {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


def first_layer(module):
    """``(parent, attribute, layer)`` of the first linear or 2-D convolution in ``module``."""
    from torch import nn

    for name, child in module.named_modules():
        if name and isinstance(child, (nn.Linear, nn.Conv2d)):
            parent_name, _, attribute = name.rpartition(".")
            parent = module.get_submodule(parent_name) if parent_name else module
            return parent, attribute, child
        if name and len(list(child.children())) == 0 and any(True for _ in child.parameters(recurse=False)):
            return None  # the first layer with weights is of another kind
    return None


def widen(layer, m: int):
    """A copy of ``layer`` taking m times its inputs (features or channels): the old weights for
    the first sample of a pack, each other sample's a shuffle of the same values."""
    import torch
    from torch import nn

    weight = layer.weight.detach()
    axis_size = weight.shape[1]
    blocks = [weight]
    for _ in range(m - 1):
        blocks.append(weight.flatten()[torch.randperm(weight.numel(), device=weight.device)].view_as(weight))
    if isinstance(layer, nn.Linear):
        wider = nn.Linear(axis_size * m, layer.out_features, bias=layer.bias is not None)
    else:
        wider = nn.Conv2d(axis_size * m, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                          layer.dilation, layer.groups, bias=layer.bias is not None, padding_mode=layer.padding_mode)
        if layer.groups != 1:
            return None
    wider = wider.to(device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        wider.weight.copy_(torch.cat(blocks, dim=1))
        if layer.bias is not None:
            wider.bias.copy_(layer.bias)
    return wider


def packing_hook(m: int, where: str):
    """A forward pre-hook that packs a discriminator's sample input."""
    import torch

    def hook(module, args):
        if not args:
            return None
        if any(isinstance(a, torch.Tensor) for a in args[1:]):
            from ganzoo.errors import UserError

            raise UserError(f"add-on {NAME!r} cannot pack {where}: it is called with labels as well as samples "
                            f"(a conditional variant); run it without --with {NAME}")
        return (pack(args[0], m), *args[1:])

    return hook


def pack_discriminator(module, m: int, where: str = "discriminator") -> None:
    """Widen ``module``'s first layer m times and pack every input it is called with."""
    from ganzoo.errors import UserError

    found = first_layer(module)
    wider = widen(found[2], m) if found is not None else None
    if wider is None:
        raise UserError(f"add-on {NAME!r} widens the first layer of {where}, which is not a linear layer or "
                        f"an ungrouped 2-D convolution; run it without --with {NAME}")
    from ganzoo.parts.regularisers import PACK_SIZE_ATTRIBUTE

    parent, attribute, _ = found
    setattr(parent, attribute, wider)
    module.register_forward_pre_hook(packing_hook(m, where))
    setattr(module, PACK_SIZE_ATTRIBUTE, m)  # the gradient penalties then take one norm per pack


@hookimpl(wrapper=True)
def ganzoo_networks(variant, config, data):
    networks = yield
    if NAME not in config.addons or networks is None:
        return networks
    from ganzoo.addons import networks_of

    m = config.addons[NAME].m
    if variant.conditional:
        from ganzoo.errors import UserError

        raise UserError(f"add-on {NAME!r} packs samples, but {variant.name!r} is conditional: its discriminator "
                        f"judges each sample with its label; run it without --with {NAME}")
    for name in networks_of(variant, networks, "discriminator", addon=NAME):
        pack_discriminator(networks[name], m, f"the {name} of {variant.name!r}")
    return networks


def draw_packed(draw, m: int):
    """A batch drawer returning m batches of the source joined along the sample axis."""
    import torch

    def draw_m() -> dict:
        batches = [draw() for _ in range(m)]
        return {key: torch.cat([b[key] for b in batches]) for key in batches[0]}

    return draw_m


@hookimpl(wrapper=True)
def ganzoo_train_step(variant, schedule, ctx):
    if NAME in ctx.config.addons and not getattr(ctx, "_pacgan_draws", False):
        # from now on every batch the context draws is m times larger; this iteration's batch was
        # drawn before the step, so it gets its m − 1 more here
        m = ctx.config.addons[NAME].m
        original = ctx.draw_batch
        ctx.draw_batch = draw_packed(original, m)
        more = draw_packed(original, m - 1)()
        import torch

        ctx.batch = {key: torch.cat([value, more[key]]) for key, value in ctx.batch.items()}
        ctx.batch_multiple = m  # the engine's image clock (images/s, an EMA's kimg) counts m × batch
        ctx._pacgan_draws = True
    return (yield)


@hookimpl
def ganzoo_tables():
    from pathlib import Path

    from ganzoo.tables import TableSpec

    return [
        TableSpec(
            name="pacgan-table1",
            summary="PacGAN Table 1: modes, % high quality and reverse KL on ring8 and grid25, GAN vs packing",
            data=Path(__file__).with_name("pacgan_table1.json"),
            paper=Paper("PacGAN: The power of two samples in generative adversarial networks",
                        "Lin, Khetan, Fanti & Oh", 2018, "https://arxiv.org/abs/1712.04086"),
        )
    ]
