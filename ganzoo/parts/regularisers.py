"""Regularisers of the discriminator (and one of any network): penalties, lazy intervals, clipping.

- :func:`gradient_penalty`: one-centred, on interpolates (WGAN-GP; Gulrajani et al. 2017,
  "Improved Training of Wasserstein GANs", Algorithm 1, lines 6-8).
- :func:`r1_penalty` / :func:`r2_penalty`: zero-centred, on reals / on fakes (Mescheder et al. 2018,
  "Which Training Methods for GANs do actually Converge?", section 4.1, equations 9 and 10).
- :class:`LazyRegularisation`: a penalty applied every ``k`` minibatches and multiplied by ``k``,
  with Adam's learning rate and betas rescaled by ``k / (k + 1)`` (Karras et al. 2020, "Analyzing
  and Improving the Image Quality of StyleGAN", section 3.1 and appendix B).
- :func:`drift_penalty`: ε·E[D(x)²] with ε = 0.001 (Karras et al. 2018, "Progressive Growing of
  GANs", appendix A.1).
- :func:`orthogonal_regularisation`: β‖WᵀW ⊙ (1 − I)‖²_F over every weight matrix, skipping 1-D
  parameters and embeddings (Brock et al. 2019, "Large Scale GAN Training", section 3.1, equation 3).
- :func:`clip_weights_`: every parameter clamped to [−c, c] after each critic update (Arjovsky et
  al. 2017, "Wasserstein GAN", Algorithm 1, line 7).

Packed discriminators: a discriminator that judges packs of m samples (PacGAN; the ``pacgan``
add-on marks it with :data:`PACK_SIZE_ATTRIBUTE`) is a function of the whole pack, so the gradient
penalties treat a pack as one input: one interpolation weight per pack, and the gradient norm over
the pack's m samples together (:func:`pack_size`).

Fast mode: the gradient penalties differentiate a gradient (double backward), which
``torch.compile`` does not support, and a bfloat16 gradient norm would bias them. They therefore
run eagerly and in float32: the input they differentiate is a leaf that requires grad, so a network
compiled by fast mode takes its eager path (:mod:`ganzoo.engine.speed`), and a network wrapped by
``torch.compile`` itself is unwrapped for that pass.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

#: ProGAN's ε of the drift penalty ("ε_drift = 0.001", Karras et al. 2018, appendix A.1).
DRIFT_EPSILON = 0.001


def _full_precision(device_type: str):
    if device_type in ("cuda", "cpu"):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


#: The attribute (an int m) of a discriminator that judges packs of m consecutive samples at once.
PACK_SIZE_ATTRIBUTE = "ganzoo_pack_size"


def pack_size(discriminator: nn.Module) -> int:
    """m for a discriminator that judges packs of m samples (see :data:`PACK_SIZE_ATTRIBUTE`), else 1.

    Looks through a ``torch.compile`` wrapper and a ``DistributedDataParallel`` one."""
    module: Any = discriminator
    while module is not None:
        if hasattr(module, PACK_SIZE_ATTRIBUTE):
            return int(getattr(module, PACK_SIZE_ATTRIBUTE))
        module = getattr(module, "_orig_mod", None) or getattr(module, "module", None)
    return 1


def _per_input(values: torch.Tensor, m: int) -> torch.Tensor:
    """Per-sample values (gradients) grouped into one row per discriminator input (pack of m)."""
    if values.shape[0] % m:
        from ganzoo.errors import UserError

        raise UserError(f"a discriminator that packs {m} samples got {values.shape[0]}, not a multiple of {m}")
    return values.reshape(values.shape[0] // m, -1)


def eager(module: nn.Module) -> nn.Module:
    """The module itself, or the original module behind a ``torch.compile`` wrapper.

    A network compiled in place by fast mode needs no unwrapping: called on a leaf input that
    requires grad, it runs its eager forward by itself.
    """
    return getattr(module, "_orig_mod", module)


def input_gradients(discriminator: nn.Module, inputs: torch.Tensor, *conditions: Any) -> torch.Tensor:
    """∇ₓ ΣD(x) at ``inputs``, kept differentiable (``create_graph=True``), eagerly and in float32.

    ``conditions`` (e.g. class labels) are passed to the discriminator after the input.
    """
    with _full_precision(inputs.device.type):
        inputs = inputs.detach().float().requires_grad_(True)
        scores = eager(discriminator)(inputs, *conditions)
        (gradients,) = torch.autograd.grad(scores.float().sum(), inputs, create_graph=True)
    return gradients


@torch.compiler.disable
def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    *conditions: Any,
    epsilon: torch.Tensor | None = None,
    centre: float = 1.0,
) -> torch.Tensor:
    """E[(‖∇D(x̂)‖₂ − centre)²] at x̂ = ε·x + (1 − ε)·x̃, ε ~ U[0, 1] drawn once per sample.

    ``fake`` should be detached (the penalty trains the critic only). ``epsilon`` (one value per
    discriminator input: shape ``(N,)``, or ``(N / m,)`` for a critic that packs m samples) is drawn
    when not given; tests pass it to check known cases. Multiply by λ = 10 for WGAN-GP.

    For a packing critic (:func:`pack_size` m > 1) each pack of m consecutive samples is one input:
    its m samples share one ε, and the norm is taken over the gradient of the whole pack.
    """
    m = pack_size(critic)
    n = real.shape[0]
    if epsilon is None:
        epsilon = torch.rand(n // m, device=real.device)
    epsilon = epsilon.to(device=real.device, dtype=torch.float32)
    if m > 1 and epsilon.shape[0] * m == n:
        epsilon = epsilon.repeat_interleave(m)
    epsilon = epsilon.view(n, *([1] * (real.dim() - 1)))
    with _full_precision(real.device.type):
        interpolates = epsilon * real.detach().float() + (1 - epsilon) * fake.detach().float()
        gradients = input_gradients(critic, interpolates, *conditions)
        slopes = _per_input(gradients, m).norm(2, dim=1)
        return ((slopes - centre) ** 2).mean()


@torch.compiler.disable
def zero_centred_penalty(discriminator: nn.Module, inputs: torch.Tensor, *conditions: Any) -> torch.Tensor:
    """E[‖∇ₓD(x)‖²] at ``inputs``: the squared gradient norm, summed over a sample (over a pack, for a
    discriminator that packs m samples), averaged over the batch.

    Mescheder et al. (2018) weight it by γ/2; StyleGAN2 by γ/2 and by its lazy interval.
    """
    m = pack_size(discriminator)
    with _full_precision(inputs.device.type):
        gradients = input_gradients(discriminator, inputs, *conditions)
        return _per_input(gradients.pow(2), m).sum(1).mean()


def r1_penalty(discriminator: nn.Module, real: torch.Tensor, *conditions: Any) -> torch.Tensor:
    """R1: the zero-centred penalty on real data (Mescheder et al. 2018, equation 9, without γ/2)."""
    return zero_centred_penalty(discriminator, real, *conditions)


def r2_penalty(discriminator: nn.Module, fake: torch.Tensor, *conditions: Any) -> torch.Tensor:
    """R2: the zero-centred penalty on generated data (Mescheder et al. 2018, equation 10, without γ/2)."""
    return zero_centred_penalty(discriminator, fake, *conditions)


def drift_penalty(real_logits: torch.Tensor, epsilon: float = DRIFT_EPSILON) -> torch.Tensor:
    """ε·E[D(x)²]: keeps the critic's output near zero (ProGAN, appendix A.1)."""
    return epsilon * real_logits.float().pow(2).mean()


@dataclass(frozen=True)
class LazyRegularisation:
    """A regulariser computed every ``interval`` minibatches only (StyleGAN2's lazy regularisation).

    The penalty is multiplied by :attr:`gain` (= ``interval``) so that its expected strength is
    unchanged, and the optimiser of a player whose loss includes it is rescaled by
    :meth:`adam_settings` (section 3.1 and appendix B of Karras et al. 2020; ``mb_ratio`` in
    their code). ``interval = 1`` is the eager, every-step regularisation and changes nothing.
    """

    interval: int

    def __post_init__(self) -> None:
        if self.interval < 1:
            from ganzoo.errors import UserError

            raise UserError(f"a lazy regularisation interval must be at least 1, got {self.interval}")

    def due(self, step: int) -> bool:
        """Whether the regulariser runs at ``step`` (counted from 0)."""
        return step % self.interval == 0

    @property
    def gain(self) -> int:
        return self.interval

    @property
    def ratio(self) -> float:
        """k / (k + 1): the share of the optimiser's updates that are not regularisation updates."""
        return 1.0 if self.interval == 1 else self.interval / (self.interval + 1)

    def adam_settings(self, lr: float, betas: tuple[float, float]) -> tuple[float, tuple[float, float]]:
        """Adam's ``lr · r`` and ``(β1^r, β2^r)`` with ``r = k / (k + 1)``."""
        r = self.ratio
        return lr * r, (betas[0] ** r, betas[1] ** r)


def orthogonal_regularisation(module: nn.Module, beta: float = 1e-4) -> torch.Tensor:
    """β Σ_W ‖WWᵀ ⊙ (1 − I)‖²_F over the weights of ``module`` with two or more dimensions.

    Each weight is flattened to one row per output unit (a convolution's filters), so WWᵀ compares
    filters with each other; its diagonal is left free (BigGAN's relaxation of orthogonality).
    1-D parameters (biases, gains) and embeddings are skipped, as BigGAN skips them. The paper
    writes WᵀW for W with one column per filter, the same product. BigGAN-PyTorch adds the gradient
    2β(WWᵀ ⊙ (1 − I))W to the weights directly, which is this loss's gradient at β/2.
    """
    embeddings = {id(p) for m in module.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    total: torch.Tensor | None = None
    for parameter in module.parameters():
        if parameter.dim() < 2 or id(parameter) in embeddings or not parameter.requires_grad:
            continue
        w = parameter.flatten(1)
        gram = w @ w.t()
        off_diagonal = gram * (1.0 - torch.eye(w.shape[0], device=w.device, dtype=w.dtype))
        term = off_diagonal.pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        return torch.zeros((), device=next(module.parameters()).device)
    return beta * total


@torch.no_grad()
def clip_weights_(module: nn.Module, clip: float = 0.01) -> None:
    """Clamp every parameter of ``module`` to [−clip, clip] in place (WGAN, Algorithm 1, c = 0.01)."""
    for parameter in module.parameters():
        parameter.clamp_(-clip, clip)
