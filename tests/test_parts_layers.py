"""Layers: spectral norm resumed bit-exactly, self-attention as the released code, conditional BN,
the projection head, each against values computed by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.parts.layers import ConditionalBatchNorm2d, ProjectionHead, SelfAttention, spectral_norm


def test_spectral_norm_divides_the_weight_by_its_largest_singular_value():
    torch.manual_seed(0)
    layer = spectral_norm(nn.Linear(3, 2, bias=False))
    with torch.no_grad():
        layer.parametrizations.weight.original.copy_(torch.tensor([[3.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    for _ in range(5):  # one power iteration per training forward converges on this diagonal matrix
        layer(torch.zeros(1, 3))
    layer.eval()
    assert layer.weight.flatten().tolist() == pytest.approx([1.0, 0.0, 0.0, 0.0, 1 / 3, 0.0], abs=1e-5)
    assert sum(p.numel() for p in layer.parameters()) == 6  # no parameter added: u and v are buffers


def train_steps(layer: nn.Module, optimizer: torch.optim.Optimizer, inputs: list[torch.Tensor]) -> None:
    for x in inputs:
        optimizer.zero_grad()
        layer(x).square().mean().backward()
        optimizer.step()


def test_spectral_norm_u_and_v_are_saved_and_a_resumed_run_is_bit_exact():
    torch.manual_seed(1)
    inputs = [torch.randn(4, 3, 8, 8) for _ in range(6)]

    def fresh():
        torch.manual_seed(2)
        layer = spectral_norm(nn.Conv2d(3, 5, 3))
        return layer, torch.optim.Adam(layer.parameters(), 1e-2)

    straight, optimizer = fresh()
    train_steps(straight, optimizer, inputs)

    first, optimizer = fresh()
    train_steps(first, optimizer, inputs[:3])
    saved = {k: v.clone() for k, v in first.state_dict().items()}
    assert {"parametrizations.weight.0._u", "parametrizations.weight.0._v"} <= set(saved)
    optimizer_state = optimizer.state_dict()
    torch.manual_seed(99)  # a resumed process starts from other random state
    resumed = spectral_norm(nn.Conv2d(3, 5, 3))
    resumed.load_state_dict(saved)
    optimizer = torch.optim.Adam(resumed.parameters(), 1e-2)
    optimizer.load_state_dict(optimizer_state)
    train_steps(resumed, optimizer, inputs[3:])

    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def reference_attention(x, layer: SelfAttention) -> torch.Tensor:
    """The released code's block, step by step with the layer's (normalised) weights."""
    n, c, h, w = x.shape
    theta = F.conv2d(x, layer.theta.weight).view(n, c // 8, h * w)
    phi = F.max_pool2d(F.conv2d(x, layer.phi.weight), 2).view(n, c // 8, h * w // 4)
    attention = torch.zeros(n, h * w, h * w // 4)
    for b in range(n):
        for i in range(h * w):
            attention[b, i] = torch.softmax(theta[b, :, i] @ phi[b], dim=0)
    g = F.max_pool2d(F.conv2d(x, layer.g.weight), 2).view(n, c // 2, h * w // 4)
    attended = torch.stack([g[b] @ attention[b].t() for b in range(n)]).view(n, c // 2, h, w)
    return x + layer.gamma * F.conv2d(attended, layer.out.weight)


def test_self_attention_has_the_released_codes_shapes_and_starts_as_the_identity():
    layer = SelfAttention(16)
    shapes = [tuple(m.weight.shape) for m in (layer.theta, layer.phi, layer.g, layer.out)]
    assert shapes == [(2, 16, 1, 1), (2, 16, 1, 1), (8, 16, 1, 1), (16, 8, 1, 1)]
    assert sum(p.numel() for p in layer.parameters()) == int(1.25 * 16 * 16) + 1  # no biases, plus γ
    assert layer.gamma.item() == 0.0
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(layer(x), x)


def test_self_attention_attends_over_the_pooled_positions():
    torch.manual_seed(0)
    layer = SelfAttention(16, spectral=False)
    with torch.no_grad():
        layer.gamma.fill_(0.7)
    x = torch.randn(2, 16, 4, 6)
    assert torch.allclose(layer(x), reference_attention(x, layer), atol=1e-5)


def test_conditional_batchnorm_applies_the_classes_gain_and_bias():
    layer = ConditionalBatchNorm2d(2, num_classes=3)
    x = torch.randn(4, 2, 3, 3)
    labels = torch.tensor([0, 1, 2, 1])
    assert torch.allclose(layer(x, labels), F.batch_norm(x, None, None, training=True, eps=1e-4))  # starts plain
    with torch.no_grad():
        layer.gain.weight[1] = torch.tensor([1.0, -0.5])
        layer.bias.weight[1] = torch.tensor([2.0, 3.0])
    normalised = F.batch_norm(x, None, None, training=True, eps=1e-4)
    out = layer(x, labels)
    assert torch.allclose(out[1, 0], normalised[1, 0] * 2.0 + 2.0, atol=1e-6)
    assert torch.allclose(out[3, 1], normalised[3, 1] * 0.5 + 3.0, atol=1e-6)
    assert torch.allclose(out[0], normalised[0], atol=1e-6)
    assert sum(p.numel() for p in layer.parameters()) == 2 * 3 * 2  # two embeddings, BN without affine


def test_projection_head_adds_the_inner_product_with_the_class_embedding():
    head = ProjectionHead(2, num_classes=2, spectral=False)
    with torch.no_grad():
        head.linear.weight.copy_(torch.tensor([[1.0, 2.0]]))
        head.linear.bias.fill_(0.5)
        head.embedding.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
    features = torch.tensor([[[[1.0, -4.0]], [[2.0, 3.0]]]])  # N=1, C=2, 1×2
    # h = Σ ReLU: (1, 5); ψ(h) = 1 + 10 + 0.5 = 11.5; class 0: + 1, class 1: − 5
    assert head(features, torch.tensor([0])).item() == 12.5
    assert head(features, torch.tensor([1])).item() == 6.5
    unconditional = ProjectionHead(2, spectral=False)
    assert unconditional(features).shape == (1,)
    with pytest.raises(ValueError, match="needs the labels"):
        head(features)
