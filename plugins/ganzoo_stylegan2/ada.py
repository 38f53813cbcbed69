"""Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial Networks
with Limited Data", sections 2-3), as NVlabs' ``training/augment.py`` and ``training_loop.py`` do it.

Every image D sees (reals, fakes, and the reals of the R1 pass) goes through a differentiable
pipeline whose transforms each fire independently per sample with probability ``p``. ``p`` adapts:
every ``ada_interval`` iterations, r_t = E[sign(D(x_real))] over those iterations, and
p ← clamp(p + sign(r_t − target)·(batch·interval)/(ada_kimg·1000), 0, 1) (section 3, target 0.6,
ada_kimg 500).

The pipeline is the paper's 'bgc' (appendix B): xflip, rotate90 and integer translation (pixel
blitting), then isotropic scaling, rotation, anisotropic scaling, rotation and fractional
translation (one 3×3 matrix per sample), then brightness, contrast, luma flip, hue rotation and
saturation (one 4×4 colour matrix per sample), each in NVlabs' order and strengths. Deviation: the
geometric matrix is applied by bilinear ``grid_sample`` with reflection at the borders, without
NVlabs' 2× upsampling through a wavelet filter before it (their guard against aliasing).

R1 differentiates D's gradient with respect to the augmented reals, so the warp needs a second
derivative. Some torch releases have none for ``grid_sampler_2d_backward`` ("derivative for
aten::grid_sampler_2d_backward is not implemented", seen on CUDA with torch 2.11), so the warp
goes through :func:`grid_sample_reflect`, which supplies it as NVlabs' ``grid_sample_gradfix`` does:
the backward is linear in the incoming gradient, and its own derivative is the warp itself.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: NVlabs' default strengths (``AugmentPipe`` arguments).
XINT_MAX, BRIGHTNESS_STD, CONTRAST_STD, HUE_MAX, SATURATION_STD = 0.125, 0.2, 0.5, 1.0, 1.0
SCALE_STD, ROTATE_MAX, ANISO_STD, XFRAC_STD = 0.2, 1.0, 0.2, 0.125


_BILINEAR, _REFLECTION = 0, 2  # the enums of aten::grid_sampler_2d


def grid_sample_reflect(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """``F.grid_sample(x, grid)``, bilinear with reflection, twice differentiable in ``x`` on every
    torch release (the grid is a constant of the augmentation and gets no gradient)."""
    if not x.requires_grad or grid.requires_grad:
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return _GridSample.apply(x, grid)


class _GridSample(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        # in float32 under mixed precision, as autocast runs grid_sample, and as one dtype for the backward op
        dtype = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
        x, grid = x.to(dtype), grid.to(dtype)
        ctx.save_for_backward(x, grid)
        with torch.autocast(x.device.type, enabled=False):
            return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        x, grid = ctx.saved_tensors
        return _GridSampleBackward.apply(grad_output.to(x.dtype), x, grid), None


class _GridSampleBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, grad_output: torch.Tensor, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        grad_x, _ = torch.ops.aten.grid_sampler_2d_backward(grad_output, x, grid, _BILINEAR, _REFLECTION, False,
                                                             [True, False])
        ctx.save_for_backward(grid)
        return grad_x

    @staticmethod
    def backward(ctx, grad_grad_x: torch.Tensor):
        (grid,) = ctx.saved_tensors
        # grad_x = Aᵀ·grad_output for the warp's sampling matrix A, so its derivative is A: the warp
        return _GridSample.apply(grad_grad_x, grid), None, None


def _fires(n: int, p: float, device, generator=None) -> torch.Tensor:
    """A (n,) float mask: 1 where a transform fires (probability p per sample)."""
    return (torch.rand(n, device=device, generator=generator) < p).to(torch.float32)


def _xflip(x: torch.Tensor, p: float, generator=None) -> torch.Tensor:
    flip = _fires(x.shape[0], p, x.device, generator) * torch.randint(0, 2, (x.shape[0],), device=x.device,
                                                                       generator=generator)
    flip = flip.view(-1, 1, 1, 1).to(x.dtype)
    return x * (1 - flip) + x.flip(3) * flip


def _rotate90(x: torch.Tensor, p: float, generator=None) -> torch.Tensor:
    if x.shape[2] != x.shape[3]:
        return x
    turns = (_fires(x.shape[0], p, x.device, generator)
             * torch.randint(0, 4, (x.shape[0],), device=x.device, generator=generator)).long()
    out = x
    for k in (1, 2, 3):
        chosen = (turns == k).view(-1, 1, 1, 1).to(x.dtype)
        out = out * (1 - chosen) + torch.rot90(x, k, dims=(2, 3)) * chosen
    return out


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Reflect indices into [0, size) (reflection without repeating the edge pixel)."""
    period = 2 * (size - 1)
    index = index.remainder(period)
    return torch.where(index >= size, period - index, index)


def _integer_translation(x: torch.Tensor, p: float, generator=None) -> torch.Tensor:
    n, c, h, w = x.shape
    fires = _fires(n, p, x.device, generator)
    t = (torch.rand(n, 2, device=x.device, generator=generator) * 2 - 1) * XINT_MAX
    tx = torch.round(t[:, 0] * w * fires).long()
    ty = torch.round(t[:, 1] * h * fires).long()
    cols = _reflect(torch.arange(w, device=x.device).view(1, -1) - tx.view(-1, 1), w)  # (n, w)
    rows = _reflect(torch.arange(h, device=x.device).view(1, -1) - ty.view(-1, 1), h)  # (n, h)
    x = x.gather(3, cols.view(n, 1, 1, w).expand(n, c, h, w))
    return x.gather(2, rows.view(n, 1, h, 1).expand(n, c, h, w))


def geometric_matrices(n: int, p: float, device, generator=None) -> torch.Tensor:
    """(n, 3, 3) maps from output to input coordinates in [-1, 1]: isotropic scale, rotation,
    anisotropic scale, rotation, fractional translation (NVlabs' order and strengths; each rotation
    fires with 1 − √(1 − p) so that one of the two fires with about p)."""
    eye = torch.eye(3, device=device).repeat(n, 1, 1)

    def gate(values: torch.Tensor, neutral: float, probability: float = p) -> torch.Tensor:
        fires = _fires(n, probability, device, generator)
        return values * fires + neutral * (1 - fires)

    def scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
        m = eye.clone()
        m[:, 0, 0], m[:, 1, 1] = sx, sy
        return m

    def rotate(theta: torch.Tensor) -> torch.Tensor:
        m = eye.clone()
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = theta.cos(), -theta.sin(), theta.sin(), theta.cos()
        return m

    p_rot = 1 - math.sqrt(max(1 - p, 0.0))
    G = eye
    s = gate(torch.exp2(torch.randn(n, device=device, generator=generator) * SCALE_STD), 1.0)
    G = G @ scale(s, s)
    G = G @ rotate(-gate((torch.rand(n, device=device, generator=generator) * 2 - 1) * math.pi * ROTATE_MAX, 0.0,
                         p_rot))
    s = gate(torch.exp2(torch.randn(n, device=device, generator=generator) * ANISO_STD), 1.0)
    G = G @ scale(s, 1 / s)
    G = G @ rotate(-gate((torch.rand(n, device=device, generator=generator) * 2 - 1) * math.pi * ROTATE_MAX, 0.0,
                         p_rot))
    t = torch.randn(n, 2, device=device, generator=generator) * XFRAC_STD * 2  # image widths → [-1, 1] units
    fires = _fires(n, p, device, generator).view(-1, 1)
    T = eye.clone()
    T[:, :2, 2] = t * fires
    return G @ T


def apply_geometric(x: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """Resample ``x`` through G (bilinear, reflecting at the borders); identity rows are skipped."""
    moved = (G - torch.eye(3, device=G.device)).abs().flatten(1).amax(1) > 1e-6
    if not bool(moved.any()):
        return x
    grid = F.affine_grid(G[:, :2, :].to(x.dtype), list(x.shape), align_corners=False)
    warped = grid_sample_reflect(x, grid)
    keep = moved.view(-1, 1, 1, 1).to(x.dtype)
    return warped * keep + x * (1 - keep)


def color_matrices(n: int, p: float, device, generator=None) -> torch.Tensor:
    """(n, 4, 4) colour transforms: brightness, contrast, luma flip, hue, saturation (NVlabs' order)."""
    eye = torch.eye(4, device=device).expand(n, 4, 4)
    v = torch.tensor([1.0, 1.0, 1.0, 0.0], device=device) / math.sqrt(3)  # the luma axis
    vv = torch.outer(v, v)
    C = eye.clone()

    def gate(values: torch.Tensor, neutral: float) -> torch.Tensor:
        fires = _fires(n, p, device, generator)
        return values * fires + neutral * (1 - fires)

    b = gate(torch.randn(n, device=device, generator=generator) * BRIGHTNESS_STD, 0.0)
    T = eye.clone()
    T[:, :3, 3] = b.view(-1, 1)
    C = T @ C
    s = gate(torch.exp2(torch.randn(n, device=device, generator=generator) * CONTRAST_STD), 1.0)
    S = eye.clone()
    S[:, 0, 0] = S[:, 1, 1] = S[:, 2, 2] = s
    C = S @ C
    flip = gate(torch.randint(0, 2, (n,), device=device, generator=generator).float(), 0.0)
    C = (eye - 2 * vv * flip.view(-1, 1, 1)) @ C
    theta = gate((torch.rand(n, device=device, generator=generator) * 2 - 1) * math.pi * HUE_MAX, 0.0)
    C = _rotate_about(v[:3], theta) @ C
    sat = gate(torch.exp2(torch.randn(n, device=device, generator=generator) * SATURATION_STD), 1.0)
    C = (vv + (eye - vv) * sat.view(-1, 1, 1)) @ C
    return C


def _rotate_about(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """(n, 4, 4) rotations by ``theta`` about the unit 3-vector ``axis`` (Rodrigues)."""
    vx, vy, vz = axis
    s, c = torch.sin(theta), torch.cos(theta)
    cc = 1 - c
    rows = [
        [vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s],
        [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s],
        [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c],
    ]
    R = torch.zeros(theta.shape[0], 4, 4, device=theta.device)
    for i in range(3):
        for j in range(3):
            R[:, i, j] = rows[i][j]
    R[:, 3, 3] = 1
    return R


def apply_color(x: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """The colour matrices applied to RGB images, or (averaged over RGB, as NVlabs does) to grey ones."""
    n, channels, h, w = x.shape
    C = C.to(x.dtype)
    if channels == 3:
        flat = x.reshape(n, 3, h * w)
        return (C[:, :3, :3] @ flat + C[:, :3, 3:]).reshape(n, 3, h, w)
    if channels == 1:
        grey = C[:, :3, :].mean(dim=1, keepdim=True)  # (n, 1, 4)
        return x * grey[:, :, :3].sum(dim=2).view(n, 1, 1, 1) + grey[:, :, 3].view(n, 1, 1, 1)
    return x


def augment(x: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """The pipeline at probability ``p``; differentiable in ``x``. ``p = 0`` returns ``x`` itself."""
    if p <= 0:
        return x
    x = _xflip(x, p, generator)
    x = _rotate90(x, p, generator)
    x = _integer_translation(x, p, generator)
    x = apply_geometric(x, geometric_matrices(x.shape[0], p, x.device, generator))
    return apply_color(x, color_matrices(x.shape[0], p, x.device, generator))


def adjust_p(p: float, mean_sign: float, batch_images: int, target: float = 0.6, ada_kimg: float = 500.0) -> float:
    """One step of the heuristic: p moves by ±batch_images/(ada_kimg·1000) towards r_t = target."""
    step = batch_images / (ada_kimg * 1000)
    direction = (mean_sign > target) - (mean_sign < target)
    return min(max(p + direction * step, 0.0), 1.0)
