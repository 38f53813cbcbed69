"""FLOP counting against closed forms, and the table of known GPU peaks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganzoo.bench.flops import count_flops, peak_bf16_tflops


def test_linear_training_step_counts_forward_and_weight_gradient():
    n, i, o = 32, 48, 24
    layer = nn.Linear(i, o)
    x = torch.randn(n, i)
    # forward 2·N·I·O, backward for the weight 2·N·I·O (x needs no gradient)
    assert count_flops(lambda: layer(x).sum().backward()) == 4 * n * i * o
    x.requires_grad_(True)  # and the input's gradient: one more 2·N·I·O
    assert count_flops(lambda: layer(x).sum().backward()) == 6 * n * i * o


def test_conv2d_forward_matches_the_closed_form():
    n, c_in, c_out, k, size, stride = 4, 3, 16, 4, 32, 2
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=1, bias=False)
    x = torch.randn(n, c_in, size, size)
    out_size = (size + 2 - k) // stride + 1
    with torch.no_grad():
        assert count_flops(lambda: conv(x)) == 2 * n * c_out * out_size * out_size * c_in * k * k


def test_a_gradient_penalty_double_backward_is_counted():
    critic = nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    x = torch.randn(4, 8, requires_grad=True)

    def penalty():
        (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        ((grad.norm(dim=1) - 1) ** 2).mean().backward()

    assert count_flops(penalty) > count_flops(lambda: critic(x).sum().backward())


@pytest.mark.parametrize(("name", "label", "peak"), [
    ("NVIDIA H100 80GB HBM3", "H100 SXM", 989.0),
    ("NVIDIA H100 PCIe", "H100 PCIe", 756.0),
    ("NVIDIA H200", "H200", 989.0),
    ("NVIDIA A100-SXM4-80GB", "A100", 312.0),
    ("NVIDIA L4", "L4", 121.0),
])
def test_known_gpus_have_their_dense_bf16_peak(name, label, peak):
    assert peak_bf16_tflops(name) == (label, peak)


def test_unknown_devices_have_no_peak():
    assert peak_bf16_tflops("Tesla T4") is None
    assert peak_bf16_tflops("AMD EPYC") is None
