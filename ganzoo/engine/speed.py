"""Fast mode: the speed options the engine applies to a built run.

Eager mode runs the networks as their authors wrote them, in fp32, exactly like a hand-written loop.
Fast mode (``speed = "fast"``, the default on CUDA through ``speed = "auto"``) applies the switches
of the ``[fast]`` config section, each of which can be turned off alone:

- ``bf16``: bfloat16 autocast of the forward passes and losses; weights, gradients and the
  optimiser state stay fp32, so no loss scaling is needed.
- ``channels_last``: NHWC memory format for convolutional networks, which lets cuDNN use its
  tensor-core kernels without layout transposes. Networks holding an InstanceNorm keep NCHW: the
  instance-norm kernels have no channels_last path and would convert back and forth.
- ``fused_optimizer``: Adam/AdamW update all parameters of a player in one fused kernel instead of
  a loop (or a few ``foreach`` kernels) over them.
- ``compile``: ``torch.compile`` of each network's forward. Compiled graphs do not support double
  backward, which a gradient penalty needs (WGAN-GP, Gulrajani et al. 2017; R1). A call whose input
  is a leaf tensor that requires grad -- the interpolates of WGAN-GP, the reals of R1 -- asks for
  gradients with respect to the input, so it runs the same module eagerly. A penalty written on a
  non-leaf input fails loudly in backward ("does not currently support double backward"); call
  :func:`eager_forward` there or set ``fast.compile = false``.
- ``cuda_graphs``: ``torch.compile(mode="reduce-overhead")``, which replays CUDA graphs: it removes
  the launch overhead of small models (the MLP GAN) and is off by default (measure it first with
  ``ganzoo bench --set fast.cuda_graphs=true``).

Checkpoints are unaffected: networks keep their class and ``state_dict`` keys.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

#: The torch.compile backend; tests swap it for ``aot_eager`` to check the wiring quickly.
COMPILE_BACKEND = "inductor"

_EAGER_ATTRIBUTE = "_ganzoo_eager_forward"
#: Set on a module by :func:`eager_next_call`: its next call with gradients enabled runs eagerly.
_EAGER_NEXT_ATTRIBUTE = "_ganzoo_eager_next_call"


def fast_enabled(config: Any, device: torch.device) -> bool:
    """Whether fast mode applies to a run of ``config`` on ``device``."""
    if config.speed == "fast":
        return True
    if config.speed == "eager":
        return False
    return device.type == "cuda"


def bf16_enabled(config: Any, device: torch.device) -> bool:
    """bf16 autocast: asked for by ``precision = "bf16"`` (CUDA) or by fast mode (any device)."""
    if config.precision == "bf16" and device.type == "cuda":
        return True
    return fast_enabled(config, device) and config.fast.bf16 and device.type in ("cuda", "cpu")


def holds_instance_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.instancenorm._InstanceNorm) for m in module.modules())


def is_convolutional(module: nn.Module) -> bool:
    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in module.modules())


def holds_transposed_convolution(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.conv._ConvTransposeNd) for m in module.modules())


def to_channels_last(networks: Mapping[str, nn.Module], skip_transposed: bool = False) -> list[str]:
    """Convert the convolutional networks without InstanceNorm to channels_last; return their names.

    ``skip_transposed`` leaves networks with transposed convolutions as they are: compiled by
    inductor on CUDA, their backward failed with channels_last ("expected size 128==128, stride
    16==1 ... Error in op: torch.ops.aten.convolution_backward.default"; torch 2.11, an H200) for
    the DCGAN-style generators of the dcgan, cgan, wgan and cogan demos, because the strides that
    inductor predicts for the transposed convolution's input gradient are not those cuDNN returns
    at some shapes (pytorch/pytorch#171622). Their discriminators stay channels_last.
    """
    converted = []
    for name, net in networks.items():
        if skip_transposed and holds_transposed_convolution(net):
            continue
        if is_convolutional(net) and not holds_instance_norm(net):
            net.to(memory_format=torch.channels_last)
            converted.append(name)
    return converted


def fuse_optimizer(optimizer: torch.optim.Optimizer) -> bool:
    """Switch a fresh Adam/AdamW to its fused kernels in place; False when it cannot be.

    In place, so that learning-rate schedulers built on the optimiser keep working. Only before the
    first step (the fused kernels keep their ``step`` counters on the device).
    """
    if not isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)) or optimizer.state:
        return False
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if not params or any(group.get("differentiable") for group in optimizer.param_groups):
        return False
    if not all(p.is_floating_point() and p.device.type in ("cuda", "cpu") for p in params):
        return False
    for options in (optimizer.defaults, *optimizer.param_groups):
        options["fused"] = True
        options["foreach"] = False
    optimizer._step_supports_amp_scaling = True  # as Adam(fused=True) sets it, for GradScaler
    return True


def _wants_input_grad(args: tuple, kwargs: dict) -> bool:
    return any(
        isinstance(value, torch.Tensor) and value.requires_grad and value.is_leaf
        for value in (*args, *kwargs.values())
    )


def _power_iterations_stay_eager(module: nn.Module) -> None:
    """Keep spectral norm's parametrization (its power iteration and ``W / σ``) out of the graph.

    Compiled, the power iteration's in-place update of ``u`` and ``v`` reached a tensor that the
    compiled backward had saved (AOT autograd saved the buffer where eager mode saves a clone),
    so SNGAN and SAGAN stopped in their discriminator's backward with "one of the variables
    needed for gradient computation has been modified by an inplace operation" (torch 2.11 and
    2.14, CPU and CUDA). Eager, the parametrization clones ``u`` and ``v`` as it should; the layers
    around it stay compiled.
    """
    from torch.nn.utils.parametrizations import _SpectralNorm

    for sub in module.modules():
        if isinstance(sub, _SpectralNorm) and not getattr(sub, "_ganzoo_eager", False):
            sub.forward = torch.compiler.disable(sub.forward)
            sub._ganzoo_eager = True


def compile_network(module: nn.Module, mode: str | None = None) -> None:
    """Compile ``module``'s forward in place, keeping an eager path for gradient penalties."""
    if hasattr(module, _EAGER_ATTRIBUTE):
        return
    _power_iterations_stay_eager(module)
    eager = module.forward
    compiled = torch.compile(eager, backend=COMPILE_BACKEND, mode=mode)

    def forward(*args: Any, **kwargs: Any) -> Any:
        eager_next = module.__dict__.pop(_EAGER_NEXT_ATTRIBUTE, False)
        if torch.is_grad_enabled() and (eager_next or _wants_input_grad(args, kwargs)):
            return eager(*args, **kwargs)
        return compiled(*args, **kwargs)

    setattr(module, _EAGER_ATTRIBUTE, eager)
    module.forward = forward  # instance attribute: nn.Module.__call__ (and its hooks) stay in place


def eager_next_call(module: nn.Module) -> None:
    """Make ``module``'s next call run eagerly even if it was compiled.

    For a forward pre-hook that transforms a penalty's input (DiffAugment on the interpolates of a
    gradient penalty): the network then receives a non-leaf tensor, which the leaf test above
    cannot tell from an ordinary fake batch, yet the call still needs a double backward."""
    setattr(module, _EAGER_NEXT_ATTRIBUTE, True)


def eager_forward(module: nn.Module) -> Callable[..., Any]:
    """The uncompiled forward of ``module`` (itself when it was never compiled)."""
    return getattr(module, _EAGER_ATTRIBUTE, module.forward)


def apply(
    config: Any,
    device: torch.device,
    networks: Mapping[str, nn.Module],
    schedule: Any,
    ema: Mapping[str, nn.Module] | None = None,
) -> dict[str, Any]:
    """Apply the speed settings of ``config`` to a built run; return what was applied.

    Call after the schedule and the EMA copies exist (the EMA copies follow the memory format of
    their networks but are never compiled: they only draw samples).
    """
    if device.type == "cuda" and config.deterministic:
        # before cuBLAS's first call in this process (its handles are made lazily)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)  # an op without one warns, naming itself
    elif device.type == "cuda":
        # fixed shapes every step: let cuDNN pick the fastest algorithms (as the reference loops do)
        torch.backends.cudnn.benchmark = True
    applied: dict[str, Any] = {"mode": "eager", "bf16": bf16_enabled(config, device)}
    if not fast_enabled(config, device):
        return applied
    fast = config.fast
    applied["mode"] = "fast"
    if fast.channels_last:
        applied["channels_last"] = to_channels_last(networks, skip_transposed=fast.compile and device.type != "cpu")
        if ema:
            to_channels_last({k: v for k, v in ema.items() if k in applied["channels_last"]})
    if fast.fused_optimizer:
        applied["fused_optimizer"] = [p.name for p in schedule.players if fuse_optimizer(p.optimizer)]
    if fast.compile:
        mode = "reduce-overhead" if fast.cuda_graphs and device.type == "cuda" else None
        for net in networks.values():
            compile_network(net, mode)
        applied["compile"] = mode or "default"
    return applied
