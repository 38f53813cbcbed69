"""FIR resampling in plain PyTorch: upsample, pad, filter, downsample (``upfirdn2d``).

StyleGAN2 blurs with the separable binomial filter [1, 3, 3, 1] wherever it changes resolution
(Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN", appendix B, after
Zhang 2019, "Making Convolutional Networks Shift-Invariant Again"). NVlabs' code does this with a
custom CUDA kernel whose reference implementation is a depthwise convolution; this module is that
depthwise convolution, so the variant runs on any device without compiling anything.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: The binomial filter of StyleGAN2's resampling.
RESAMPLE_FILTER = (1.0, 3.0, 3.0, 1.0)


def setup_filter(taps: tuple[float, ...] = RESAMPLE_FILTER) -> torch.Tensor:
    """The 2-D filter as the outer product of ``taps`` with itself, normalised to sum 1."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, up: int = 1, down: int = 1,
              padding: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Insert ``up - 1`` zeros between pixels, pad by ``(left, right, top, bottom)``, convolve with
    ``f × gain``, keep every ``down``-th pixel (the semantics of NVlabs' ``upfirdn2d``)."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    weight = (f * gain).flip([0, 1]).to(x.dtype)[None, None].repeat(c, 1, 1, 1)
    left, right, top, bottom = padding
    if left == right >= 0 and top == bottom >= 0:  # the convolution pads itself: no padded copy of x
        x = F.conv2d(x, weight, padding=(top, left), groups=c)
    else:
        x = F.conv2d(F.pad(x, list(padding)), weight, groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Twice the resolution: zero insertion, then the filter with gain 4 (keeps the mean)."""
    fw = f.shape[-1]
    return upfirdn2d(x, f, up=2, padding=((fw + 1) // 2, (fw - 2) // 2, (fw + 1) // 2, (fw - 2) // 2), gain=4.0)


def downsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Half the resolution: the filter, then every second pixel."""
    fw = f.shape[-1]
    return upfirdn2d(x, f, down=2, padding=((fw - 1) // 2, (fw - 2) // 2, (fw - 1) // 2, (fw - 2) // 2))
