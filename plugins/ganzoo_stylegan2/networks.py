"""StyleGAN2's networks (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN").

Laid out as NVlabs' ``training/networks.py`` of stylegan2-ada-pytorch lays them out, so that the
parameter counts equal that code's for every ``cfg_specs`` setting:

- :class:`MappingNetwork`: z and the class embedding normalised by their second moment, ``map``
  fully connected layers with an lr multiplier of 0.01, and the running average of w (β = 0.995)
  that truncation pulls towards (section 2 of the StyleGAN paper, Karras et al. 2019).
- :class:`SynthesisNetwork`: a learned 4×4 constant, per resolution two modulated and demodulated
  3×3 convolutions (section 2.2, equations 1-3) with per-pixel noise of learned strength, and the
  'skip' output: a toRGB at every resolution, summed with the upsampled image (section 4.1).
- :class:`Discriminator`: 'resnet' blocks (or 'orig', the cifar config), minibatch standard
  deviation, and for conditional models the projection of the output onto a mapped class code.

Every layer uses the equalised learning rate (Karras et al. 2018, "Progressive Growing of GANs",
section 4.1): weights drawn from N(0, 1) and scaled by He's constant at run time. Resampling uses
the FIR filter [1, 3, 3, 1] (:mod:`ganzoo_stylegan2.resample`). Channels at resolution r are
``min(channel_base / r, channel_max)``.

Deviations: no fp16 and no ``conv_clamp`` (the mixed-precision path is not built yet; every layer
runs in float32), and no custom CUDA kernels (resampling and bias-activation are plain PyTorch).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo_stylegan2.resample import downsample2d, setup_filter, upfirdn2d, upsample2d

#: Gain of the leaky ReLU (slope 0.2) that keeps the signal's magnitude: √2, as NVlabs' ``bias_act``.
LRELU_GAIN = math.sqrt(2.0)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """x / √(mean(x²) + ε) over the features (the StyleGAN mapping network's input normalisation)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def bias_act(x: torch.Tensor, bias: torch.Tensor | None = None, activation: str = "linear", gain: float = 1.0,
             limit: float | None = None) -> torch.Tensor:
    """NVlabs' ``bias_act`` in plain PyTorch: add the per-channel ``bias``, apply the activation
    (``"lrelu"``: leaky ReLU of slope 0.2 with its gain √2), multiply by ``gain``, clamp to ±``limit``.

    The same ops in the same order as written out, with less memory traffic: a step runs in place
    on a tensor made here whenever no earlier step saved that tensor for its backward pass, and the
    clamp is ``hardtanh``, whose backward is one kernel where ``clamp``'s is four (gt, lt, and,
    where). ``x`` itself is never modified; double backward (R1, path length) goes through it as
    through the plain ops.
    """
    writable = False  # x was made here and no backward pass needs its values
    if bias is not None:
        x = x + bias.reshape([1, -1] + [1] * (x.ndim - 2))
        writable = True
    if activation == "lrelu":
        x = F.leaky_relu(x, 0.2, inplace=writable)
        writable = not writable  # in place, its backward keeps the result; else a new tensor
        gain = gain * LRELU_GAIN
    elif activation != "linear":
        raise ValueError(f"unknown activation {activation!r}")
    if gain != 1:
        x = x.mul_(gain) if writable else x * gain
        writable = True  # a product with a number keeps nothing for its backward
    if limit is not None:
        x = F.hardtanh(x, -limit, limit, inplace=writable)
    return x


class FullyConnected(nn.Module):
    """An equalised-LR linear layer; ``lr_multiplier`` slows it down (0.01 in the mapping network)."""

    def __init__(self, in_features: int, out_features: int, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return bias_act(F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain), None, self.activation)


class Conv2d(nn.Module):
    """An equalised-LR convolution, optionally halving the resolution with the FIR filter first."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, activation: str = "linear",
                 bias: bool = True, down: bool = False, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.activation, self.down, self.padding = activation, down, kernel_size // 2
        self.conv_clamp = conv_clamp
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.register_buffer("resample_filter", setup_filter(), persistent=False)
        #: the layout of the output; the convolution itself picks NCHW for a one-channel input
        self.memory_format = torch.contiguous_format

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = self.weight * self.weight_gain
        if self.down and w.shape[-1] == 1:
            x = F.conv2d(downsample2d(x, self.resample_filter), w)
        elif self.down:  # filter with two pixels of padding, then a strided convolution (NVlabs' conv2d_resample)
            pad = self.padding + 1
            x = F.conv2d(upfirdn2d(x, self.resample_filter, padding=(pad, pad, pad, pad)), w, stride=2)
        else:
            x = F.conv2d(x, w, padding=self.padding)
        limit = None if self.conv_clamp is None else self.conv_clamp * gain
        x = x.contiguous(memory_format=self.memory_format)  # a no-op unless a fromRGB layer's output is NCHW
        return bias_act(x, self.bias, self.activation, gain, limit)


class MappingNetwork(nn.Module):
    """z (and the class) → w, broadcast to ``num_ws`` copies; keeps ``w_avg`` for truncation."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int | None, num_layers: int = 8,
                 lr_multiplier: float = 0.01, w_avg_beta: float | None = 0.995) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.w_avg_beta = w_avg_beta
        embed_features = w_dim if c_dim > 0 else 0
        features = [z_dim + embed_features] + [w_dim] * num_layers
        if c_dim > 0:
            self.embed = FullyConnected(c_dim, embed_features)
        self.layers = nn.ModuleList(
            FullyConnected(features[i], features[i + 1], "lrelu", lr_multiplier) for i in range(num_layers))
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor | None, labels: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, update_w_avg: bool = True) -> torch.Tensor:
        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z.float()))
        if self.c_dim > 0:
            onehot = F.one_hot(labels.long(), self.c_dim).to(torch.float32)
            parts.append(normalize_2nd_moment(self.embed(onehot)))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for layer in self.layers:
            x = layer(x)
        if self.num_ws is None:
            return x
        if self.w_avg_beta is not None and self.training and update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().float().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            x[:, :cutoff] = self.w_avg.to(x.dtype).lerp(x[:, :cutoff], truncation_psi)
        return x


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     up: bool = False, resample_filter: torch.Tensor | None = None) -> torch.Tensor:
    """Weights scaled by each sample's styles and, with ``demodulate``, divided by √(Σw² + 1e-8)
    (StyleGAN2 section 2.2, equations 1 and 3).

    Computed as NVlabs' networks.py computes it in training (``fused_modconv=False``): the
    activations are scaled by the styles, convolved with the one shared weight, and scaled by each
    sample's demodulation coefficients. That is the same sum as one grouped convolution with a
    weight per sample, but it never builds the N×out×in×k×k weights: on a CPU a 256-channel 4×4
    layer at batch 32 runs about 30 times faster. The coefficients Σᵢₖ(wₒᵢₖ·sᵢ)² are computed as
    s² · (Σₖw²)ᵀ, one small matrix product."""
    n, in_channels = x.shape[:2]
    out_channels = weight.shape[0]
    x = x * styles.reshape(n, in_channels, 1, 1)
    if up:  # transposed convolution of stride 2, then the FIR filter (NVlabs' conv2d_resample, up = 2)
        x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
        x = upfirdn2d(x, resample_filter, padding=(1, 1, 1, 1), gain=4.0)
    else:
        x = F.conv2d(x, weight, padding=weight.shape[2] // 2)
    if demodulate:
        coefficients = (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()
        x = x * coefficients.reshape(n, out_channels, 1, 1)
    return x


class SynthesisLayer(nn.Module):
    """A modulated 3×3 convolution, per-pixel noise with a learned strength, bias and leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False,
                 conv_clamp: float | None = None) -> None:
        super().__init__()
        self.up, self.resolution, self.conv_clamp = up, resolution, conv_clamp
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.register_buffer("resample_filter", setup_filter(), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        styles = self.affine(w)
        x = modulated_conv2d(x, self.weight, styles, up=self.up, resample_filter=self.resample_filter)
        if noise_mode == "random":
            x = x + torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device) * self.noise_strength
        elif noise_mode == "const":
            x = x + self.noise_const * self.noise_strength
        return bias_act(x, self.bias, "lrelu", limit=self.conv_clamp)


class ToRGB(nn.Module):
    """A modulated 1×1 convolution to image channels, without demodulation."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        return bias_act(modulated_conv2d(x, self.weight, styles, demodulate=False), self.bias, limit=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution of the 'skip' generator: (upsampling conv,) conv, toRGB added to the upsampled image."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 conv_clamp: float | None = None, latent_input: bool = False, channels_last: bool = False) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.latent_input = latent_input and in_channels == 0
        if self.latent_input:
            # StyleGAN (Karras et al. 2019), Table 1 configuration C: the latent also enters through the
            # "traditional input", a dense layer to the first resolution, which configuration D replaces
            # by the learned constant. Not in NVlabs' StyleGAN2 code; an option of ganzoo's.
            self.input = FullyConnected(w_dim, out_channels * resolution * resolution)
            self.input_shape = (out_channels, resolution, resolution)
        elif in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=True, conv_clamp=conv_clamp)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.torgb = ToRGB(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2
        self.register_buffer("resample_filter", setup_filter(), persistent=False)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                noise_mode: str = "random") -> tuple[torch.Tensor, torch.Tensor]:
        if self.in_channels == 0:
            if self.latent_input:
                x = self.input(ws[:, 0]).reshape(ws.shape[0], *self.input_shape)
            else:
                x = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x.contiguous(memory_format=self.memory_format), ws[:, 0], noise_mode)
        else:
            x = self.conv0(x, ws[:, 0], noise_mode)
            x = self.conv1(x, ws[:, 1], noise_mode)
        y = self.torgb(x, ws[:, self.num_conv])
        img = y if img is None else upsample2d(img, self.resample_filter) + y
        return x, img


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
    return min(channel_base // resolution, channel_max)


def block_resolutions(img_resolution: int) -> list[int]:
    log2 = int(math.log2(img_resolution))
    if img_resolution < 4 or 2**log2 != img_resolution:
        raise ValueError("the image size must be a power of two of at least 4")
    return [2**i for i in range(2, log2 + 1)]


class SynthesisNetwork(nn.Module):
    """w (one per layer) → image, from 4×4 up to ``img_resolution``."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, conv_clamp: float | None = None, latent_input: bool = False,
                 channels_last: bool = False) -> None:
        super().__init__()
        self.resolutions = block_resolutions(img_resolution)
        self.blocks = nn.ModuleList()
        self.num_ws = 0
        for res in self.resolutions:
            in_channels = channels_at(res // 2, channel_base, channel_max) if res > 4 else 0
            block = SynthesisBlock(in_channels, channels_at(res, channel_base, channel_max), w_dim, res, img_channels,
                                   conv_clamp, latent_input, channels_last)
            self.blocks.append(block)
            self.num_ws += block.num_conv
        self.num_ws += 1  # the last toRGB's own w
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, ws: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        x = img = None
        w_index = 0
        for block in self.blocks:
            # a block's toRGB shares its w with the next block's first convolution, as in NVlabs' code
            x, img = block(x, img, ws[:, w_index:w_index + block.num_conv + 1], noise_mode)
            w_index += block.num_conv
        return img


class Generator(nn.Module):
    """Mapping then synthesis; ``G(z, labels)`` gives images, with optional truncation of w."""

    def __init__(self, z_dim: int, num_classes: int, w_dim: int, img_resolution: int, img_channels: int,
                 mapping_layers: int = 8, lr_multiplier: float = 0.01, w_avg_beta: float = 0.995,
                 channel_base: int = 32768, channel_max: int = 512, conv_clamp: float | None = None,
                 latent_input: bool = False, channels_last: bool = False) -> None:
        super().__init__()
        self.z_dim, self.num_classes, self.w_dim, self.img_resolution = z_dim, num_classes, w_dim, img_resolution
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, channel_base, channel_max, conv_clamp,
                                          latent_input, channels_last)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, num_classes, w_dim, self.num_ws, mapping_layers, lr_multiplier, w_avg_beta)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "random") -> torch.Tensor:
        ws = self.mapping(z, labels, truncation_psi, truncation_cutoff)
        return self.synthesis(ws, noise_mode)


class MinibatchStd(nn.Module):
    """Appends the standard deviation of each feature over groups of ``group_size`` samples, averaged
    over ``num_channels`` groups of channels and the pixels (ProGAN, section 3; StyleGAN2's layout)."""

    def __init__(self, group_size: int, num_channels: int = 1) -> None:
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        if n % g:
            raise ValueError(f"the batch ({n}) must be a multiple of the minibatch-stddev group size ({g})")
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0)
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1)
        return torch.cat([x, y.repeat(g, 1, h, w)], dim=1)


class DiscriminatorBlock(nn.Module):
    """conv3×3, conv3×3 ↓2, plus a 1×1 ↓2 shortcut ('resnet', summed with gain √0.5) and a fromRGB
    on the first block ('orig' and 'resnet')."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, img_channels: int,
                 architecture: str = "resnet", conv_clamp: float | None = None) -> None:
        super().__init__()
        self.in_channels, self.architecture = in_channels, architecture
        if in_channels == 0:
            self.fromrgb = Conv2d(img_channels, tmp_channels, 1, "lrelu", conv_clamp=conv_clamp)
        self.conv0 = Conv2d(tmp_channels, tmp_channels, 3, "lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2d(tmp_channels, out_channels, 3, "lrelu", down=True, conv_clamp=conv_clamp)
        if architecture == "resnet":
            self.skip = Conv2d(tmp_channels, out_channels, 1, bias=False, down=True)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor) -> torch.Tensor:
        if self.in_channels == 0:
            x = self.fromrgb(img)
        if self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            return y + self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        return self.conv1(self.conv0(x))


class Discriminator(nn.Module):
    """Image (and class) → one logit; conditional models project the output on a mapped class code."""

    def __init__(self, num_classes: int, img_resolution: int, img_channels: int, architecture: str = "resnet",
                 channel_base: int = 32768, channel_max: int = 512, mbstd_group_size: int = 4,
                 mbstd_num_channels: int = 1, mapping_layers: int = 8, conv_clamp: float | None = None,
                 channels_last: bool = False) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        resolutions = block_resolutions(img_resolution)[::-1][:-1]  # img_resolution down to 8
        channels = {res: channels_at(res, channel_base, channel_max) for res in [*resolutions, 4]}
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(channels[res] if res < img_resolution else 0, channels[res], channels[res // 2],
                               img_channels, architecture, conv_clamp)
            for res in resolutions)
        self.cmap_dim = channels[4] if num_classes > 0 else 0
        if num_classes > 0:
            self.mapping = MappingNetwork(0, num_classes, self.cmap_dim, None, mapping_layers, w_avg_beta=None)
        c4 = channels[4]
        self.mbstd = MinibatchStd(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.conv = Conv2d(c4 + mbstd_num_channels, c4, 3, "lrelu", conv_clamp=conv_clamp)
        self.fc = FullyConnected(c4 * 16, c4, "lrelu")
        self.out = FullyConnected(c4, max(self.cmap_dim, 1))
        if channels_last:
            self.to(memory_format=torch.channels_last)
            for layer in self.modules():
                if isinstance(layer, Conv2d):
                    layer.memory_format = torch.channels_last

    def forward(self, img: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = None
        img = img.contiguous(memory_format=self.memory_format)
        for block in self.blocks:
            x = block(x, img)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.cmap_dim > 0:
            cmap = self.mapping(None, labels)
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x.squeeze(1)
