"""The ``minibatch-discrimination`` add-on (Salimans et al. 2016, section 3.2).

A minibatch layer goes in before the last layer of every discriminator the variant declares
(``VariantSpec.roles``): the features ``f(x_i)`` (A of them) entering that last linear layer are
multiplied by a learned tensor ``T`` (A × B × C) into B rows ``M_{i,b}`` of C numbers; the layer
appends, for each of the B kernels, ``o(x_i)_b = Σ_j exp(-‖M_{i,b} − M_{j,b}‖₁)`` over the other
samples j of the batch the discriminator is called with, so the last layer sees how close each
sample is to the rest of its batch, and a collapsed generator's batch looks unlike a real one.

The sum leaves out j = i as the authors' code does (``improved-gan``'s ``MinibatchLayer`` adds 1e6
to the diagonal): with it every output would carry a constant 1, which the next layer's bias
absorbs. The last layer is the discriminator's last ``nn.Linear`` (by registration order); it is
rebuilt A + B wide, keeping its weights for the A old inputs. A discriminator with no linear layer
(a convolution as its last layer) is a one-line error.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import AddonSpec, Paper, hookimpl
from ganzoo.bounds import POSITIVE, bounded

NAME = "minibatch-discrimination"


@dataclass
class MinibatchDiscriminationSettings:
    """B and C of the paper; the defaults are the authors' code's (``num_kernels=100``,
    ``dim_per_kernel=5`` in ``improved-gan``'s ``nn.MinibatchLayer``)."""

    #: B: the number of kernels, i.e. the closeness features appended to each sample.
    B: int = bounded(100, POSITIVE)
    #: C: the size of each kernel's row ``M_{i,b}``.
    C: int = bounded(5, POSITIVE)
    #: Standard deviation of the normal initialisation of T (the code's ``Normal(0.05)``).
    init_std: float = bounded(0.05, POSITIVE)


@hookimpl
def ganzoo_addons():
    return [
        AddonSpec(
            name=NAME,
            summary="minibatch discrimination: a layer before each discriminator's last that sees the whole batch",
            settings=MinibatchDiscriminationSettings,
            paper=Paper("Improved Techniques for Training GANs", "Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen",
                        2016, "https://arxiv.org/abs/1606.03498"),
        )
    ]


def minibatch_layer_class():
    """:class:`MinibatchLayer`, built on first use so that declaring the add-on imports no torch."""
    import torch
    from torch import nn

    class MinibatchLayer(nn.Module):
        """``f (N × A) → [f, o(f)] (N × (A + B))`` with ``o`` as the paper's section 3.2 defines it."""

        def __init__(self, in_features: int, B: int, C: int, init_std: float = 0.05) -> None:
            super().__init__()
            self.B, self.C = B, C
            self.T = nn.Parameter(torch.randn(in_features, B * C) * init_std)

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            M = (features @ self.T).view(-1, self.B, self.C)  # N × B × C
            l1 = (M.unsqueeze(0) - M.unsqueeze(1)).abs().sum(dim=3)  # N × N × B: ‖M_{i,b} − M_{j,b}‖₁
            closeness = torch.exp(-l1)
            # leave out j = i (exp(0) = 1 for every sample), as the authors' code does
            o = closeness.sum(dim=1) - 1.0
            return torch.cat([features, o], dim=1)

    return MinibatchLayer


def last_linear(module) -> tuple[object, str, object] | None:
    """``(parent, attribute, layer)`` of the last ``nn.Linear`` in ``module``'s registration order."""
    from torch import nn

    names = [name for name, child in module.named_modules() if isinstance(child, nn.Linear) and name]
    if not names:
        return None
    parent_name, _, attribute = names[-1].rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    return parent, attribute, getattr(parent, attribute)


def insert_minibatch_layer(module, settings: MinibatchDiscriminationSettings, where: str = "discriminator") -> None:
    """Replace ``module``'s last linear layer L by ``Sequential(MinibatchLayer, L')``, with L' the
    same layer widened by B inputs (its old weights kept, the B new columns initialised as torch
    initialises a new linear layer)."""
    import torch
    from torch import nn

    from ganzoo.errors import UserError

    found = last_linear(module)
    if found is None:
        raise UserError(f"add-on {NAME!r} goes before the last linear layer of {where}, which has none "
                        f"(its last layer is a convolution); run it without --with {NAME}")
    parent, attribute, last = found
    wider = nn.Linear(last.in_features + settings.B, last.out_features, bias=last.bias is not None)
    wider = wider.to(device=last.weight.device, dtype=last.weight.dtype)
    with torch.no_grad():
        wider.weight[:, : last.in_features] = last.weight
        if last.bias is not None:
            wider.bias.copy_(last.bias)
    layer = minibatch_layer_class()(last.in_features, settings.B, settings.C, settings.init_std)
    setattr(parent, attribute, nn.Sequential(layer, wider))


@hookimpl(wrapper=True)
def ganzoo_networks(variant, config, data):
    networks = yield
    if NAME not in config.addons or networks is None:
        return networks
    from ganzoo.addons import networks_of

    for name in networks_of(variant, networks, "discriminator", addon=NAME):
        insert_minibatch_layer(networks[name], config.addons[NAME], f"the {name} of {variant.name!r}")
    return networks
