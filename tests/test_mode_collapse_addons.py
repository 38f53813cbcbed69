"""The minibatch-discrimination and pacgan add-ons change what each discriminator sees exactly as
their papers define: the minibatch layer's closeness features (a small case computed by hand), the
packs of m consecutive samples (shapes, grouping, real with real and fake with fake), the widened
first layer and the m times larger batch."""

from __future__ import annotations

import math

import pytest
import torch
from ganzoo_addons.minibatch_discrimination import (
    MinibatchDiscriminationSettings,
    insert_minibatch_layer,
    minibatch_layer_class,
)
from ganzoo_addons.pacgan import pack, pack_discriminator, packing_hook
from reliability_helpers import QUIET_RUN, TINY
from torch import nn

from ganzoo.api import make_config
from ganzoo.engine.trainer import Trainer
from ganzoo.errors import UserError
from ganzoo.registry import get_registry


def points_config(addons: list[str], **sets: str):
    overrides = {k: str(v) for k, v in {**QUIET_RUN, "model.point_width": 16, **sets}.items() if k != "device"}
    return make_config("gan", registry=get_registry(), addons=addons, dataset="grid25", batch_size=8,
                       device="cpu", overrides=overrides)


def build(addons: list[str], tmp_path, **sets: str) -> Trainer:
    trainer = Trainer(points_config(addons, **sets), get_registry(), run_dir=tmp_path / "run", quiet=True)
    trainer.build()
    return trainer


# --------------------------------------------------------------------------------------------------
# Minibatch discrimination (Salimans et al. 2016, section 3.2)
# --------------------------------------------------------------------------------------------------


def test_the_minibatch_layer_matches_a_case_computed_by_hand():
    layer = minibatch_layer_class()(in_features=2, B=2, C=2)
    with torch.no_grad():  # kernel 0: M = f; kernel 1: M = 2 f
        layer.T.copy_(torch.tensor([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 2.0]]))
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # L1 distances between rows of f: d01 = 2, d02 = 1, d12 = 1; kernel 1 doubles them
    e = math.exp
    expected_o = torch.tensor([
        [e(-2) + e(-1), e(-4) + e(-2)],
        [e(-2) + e(-1), e(-4) + e(-2)],
        [e(-1) + e(-1), e(-2) + e(-2)],
    ])
    out = layer(f)
    assert out.shape == (3, 4)
    torch.testing.assert_close(out[:, :2], f)
    torch.testing.assert_close(out[:, 2:], expected_o)


def test_minibatch_discrimination_goes_before_the_last_layer_and_sees_the_batch(tmp_path):
    plain = build([], tmp_path / "plain").networks["discriminator"]
    trainer = build(["minibatch-discrimination"], tmp_path, **{"minibatch-discrimination.B": "3",
                                                               "minibatch-discrimination.C": "4"})
    discriminator = trainer.networks["discriminator"]
    last = discriminator.model[-1]
    assert isinstance(last, nn.Sequential) and type(last[0]).__name__ == "MinibatchLayer"
    assert last[0].T.shape == (16, 3 * 4)
    assert last[1].in_features == 16 + 3 and last[1].out_features == 1
    assert [type(m) for m in discriminator.model[:-1]] == [type(m) for m in plain.model[:-1]]
    x = torch.randn(5, 2)
    before = discriminator(x).detach()
    assert before.shape == (5,)
    moved = x.clone()
    moved[4] += 3.0  # another sample of the batch moves: sample 0's decision changes
    assert not torch.allclose(discriminator(moved)[0], before[0])
    assert torch.allclose(plain(moved)[0], plain(x)[0])  # without the add-on it would not


def test_minibatch_discrimination_refuses_a_discriminator_without_a_linear_layer():
    convolutional = nn.Sequential(nn.Conv2d(1, 4, 3), nn.LeakyReLU(), nn.Conv2d(4, 1, 3))
    with pytest.raises(UserError, match="has none .* run it without --with minibatch-discrimination"):
        insert_minibatch_layer(convolutional, MinibatchDiscriminationSettings())


# --------------------------------------------------------------------------------------------------
# Packing (Lin et al. 2018, section 3)
# --------------------------------------------------------------------------------------------------


def test_pack_joins_m_consecutive_samples_on_the_feature_or_channel_axis():
    points = torch.arange(12.0).view(6, 2)
    packed = pack(points, 3)
    assert packed.shape == (2, 6)
    assert packed[0].tolist() == [0, 1, 2, 3, 4, 5] and packed[1].tolist() == [6, 7, 8, 9, 10, 11]
    images = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 3, 2, 2)
    packed = pack(images, 2)
    assert packed.shape == (2, 6, 2, 2)
    assert packed[0, :3].eq(0).all() and packed[0, 3:].eq(1).all() and packed[1, 3:].eq(3).all()
    with pytest.raises(UserError, match="got 5, not a multiple of 2"):
        pack(torch.zeros(5, 2), 2)


def test_pacgan_widens_the_first_layer_and_gives_one_decision_per_pack(tmp_path):
    plain = build([], tmp_path / "plain").networks["discriminator"]
    trainer = build(["pacgan"], tmp_path, **{"pacgan.m": "3"})
    discriminator = trainer.networks["discriminator"]
    first = discriminator.model[0]
    assert first.in_features == 2 * 3 and first.out_features == plain.model[0].out_features
    torch.testing.assert_close(first.weight[:, :2], plain.model[0].weight)  # the variant's own init, sample 1
    x = torch.randn(12, 2)
    decisions = discriminator(x)
    assert decisions.shape == (4,)
    torch.testing.assert_close(decisions, discriminator.model(x.view(4, 6)).view(-1))
    swapped = x.clone()
    swapped[[0, 1]] = x[[1, 0]]  # reorder within pack 0: only pack 0's decision may change
    after = discriminator(swapped)
    assert not torch.allclose(after[0], decisions[0]) and torch.allclose(after[1:], decisions[1:])


def test_pacgan_draws_m_times_the_batch_and_packs_real_with_real_fake_with_fake(tmp_path):
    trainer = build(["pacgan"], tmp_path, **{"pacgan.m": "4"})
    seen: list[torch.Tensor] = []
    discriminator = trainer.networks["discriminator"]
    discriminator.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()), prepend=True)
    latents = []
    trainer.networks["generator"].register_forward_pre_hook(lambda m, args: latents.append(args[0].shape[0]))
    ctx = trainer.context()
    trainer.train_iteration(ctx)
    assert ctx.batch["real"].shape == (32, 2) and latents == [32]  # batch_size 8 packs × m = 4
    real_calls = [x for x in seen if torch.equal(x, ctx.batch["real"])]
    fake_calls = [x for x in seen if x.shape == (32, 2) and not torch.equal(x, ctx.batch["real"])]
    assert real_calls and fake_calls  # every call holds reals only or fakes only, 32 samples → 8 packs
    trainer.train_iteration(ctx)
    assert ctx.batch["real"].shape == (32, 2)


def test_pacgan_refuses_a_conditional_discriminator_and_an_m_out_of_range():
    hook = packing_hook(2, "the discriminator of 'cgan'")
    with pytest.raises(UserError, match="called with labels .* run it without --with pacgan"):
        hook(nn.Identity(), (torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)))
    with pytest.raises(UserError, match="pacgan.m"):
        points_config(["pacgan"], **{"pacgan.m": "5"})
    with pytest.raises(UserError, match="not a linear layer"):
        pack_discriminator(nn.Sequential(nn.BatchNorm1d(2), nn.Linear(2, 1)), 2)


def test_both_add_ons_apply_to_image_variants_or_say_in_one_line_why_not():
    registry = get_registry()

    def networks(variant: str, addons: list[str], **sets: str):
        values = {**TINY[variant], **sets}
        options = {k: values.pop(k) for k in ("dataset", "image_size", "batch_size") if k in values}
        config = make_config(variant, registry=registry, addons=addons, overrides={k: str(v) for k, v in values.items()},
                             **options)
        data = registry.dataset(config.dataset).build(config).info
        return registry.networks(registry.variant(variant), config, data)

    packed = networks("dcgan", ["pacgan"], **{"pacgan.m": "3"})["discriminator"]
    plain = networks("dcgan", [])["discriminator"]
    first = next(m for m in packed.modules() if isinstance(m, nn.Conv2d))
    assert first.in_channels == 3 * next(m for m in plain.modules() if isinstance(m, nn.Conv2d)).in_channels
    images = torch.randn(6, 1, 16, 16)
    assert packed(images).numel() == plain(images[:2]).numel()  # one decision per pack of 3 images
    mbd = networks("gan", ["minibatch-discrimination"])["discriminator"]
    assert type(mbd.model[-1][0]).__name__ == "MinibatchLayer"
    with pytest.raises(UserError, match="the discriminator of 'dcgan', which has none"):
        networks("dcgan", ["minibatch-discrimination"])
    with pytest.raises(UserError, match="'cgan' is conditional.*run it without --with pacgan"):
        networks("cgan", ["pacgan"])


@pytest.mark.parametrize(("variant", "discriminator"), [("gan", "discriminator"), ("wgan-gp", "critic")])
def test_the_pacgan_toy_profile_builds_the_papers_networks_optimiser_batch_and_length(variant, discriminator):
    registry = get_registry()
    config = make_config(variant, registry=registry, dataset="grid25", profile="pacgan-toy", device="cpu")
    assert (config.steps, config.batch_size) == (400_000, 100)  # 400 epochs of 100,000 points, batches of 100
    assert (config.model.lr, config.model.beta1, config.model.beta2, config.model.point_latent_dim) == (1e-4, 0.8, 0.999, 2)
    data = registry.dataset("grid25").build(config).info
    networks = registry.networks(registry.variant(variant), config, data)
    count = {name: sum(p.numel() for p in net.parameters()) for name, net in networks.items()}
    # G: 2→400 (no bias), 3 × 400→400 (no bias), 4 batch norms, 400→2; D: 3 maxout of 200 × 5 pieces, 200→1
    assert count["generator"] == 2 * 400 + 3 * 400 * 400 + 4 * 2 * 400 + 400 * 2 + 2
    assert count[discriminator] == (2 * 1000 + 1000) + 2 * (200 * 1000 + 1000) + 201
    z = torch.randn(7, 2)
    assert networks["generator"](z).shape == (7, 2) and networks[discriminator](torch.randn(7, 2)).shape == (7,)
    with pytest.raises(UserError, match="model.point_networks"):
        bad = make_config(variant, registry=registry, dataset="grid25", overrides={"model.point_networks": "big"})
        registry.networks(registry.variant(variant), bad, data)


def test_wgan_gp_trains_on_the_pacgan_toy_networks_with_packing_and_a_penalty_per_pack(tmp_path):
    overrides = {**{k: str(v) for k, v in QUIET_RUN.items() if k != "device"}, "pacgan.m": "2"}
    config = make_config("wgan-gp", registry=get_registry(), addons=["pacgan"], dataset="grid25", profile="pacgan-toy",
                         batch_size=8, steps=2, device="cpu", overrides=overrides)
    trainer = Trainer(config, get_registry(), run_dir=tmp_path / "run", quiet=True)
    trainer.build()
    from ganzoo.parts.regularisers import pack_size

    assert pack_size(trainer.networks["critic"]) == 2
    ctx = trainer.context()
    terms = trainer.train_iteration(ctx)
    assert ctx.batch["real"].shape == (16, 2) and torch.isfinite(torch.stack([t.detach() for t in terms.values()])).all()


def test_the_gradient_penalties_take_one_norm_per_pack_of_a_packing_critic():
    """D(pack) = w·pack for packs of two 2-D samples, w = (3, 0, 0, 4): the gradient of every pack
    is w, of norm 5. Taken per sample, the norms would be 3 and 4."""
    from ganzoo.parts.regularisers import gradient_penalty, pack_size, r1_penalty

    critic = nn.Sequential(nn.Linear(2, 1, bias=False))
    assert pack_size(critic) == 1
    pack_discriminator(critic, 2)
    assert pack_size(critic) == 2 and critic[0].in_features == 4
    with torch.no_grad():
        critic[0].weight.copy_(torch.tensor([[3.0, 0.0, 0.0, 4.0]]))
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    torch.testing.assert_close(gradient_penalty(critic, real, fake), torch.tensor((5.0 - 1.0) ** 2))
    torch.testing.assert_close(gradient_penalty(critic, real, fake, epsilon=torch.rand(3)), torch.tensor(16.0))
    torch.testing.assert_close(r1_penalty(critic, real), torch.tensor(25.0))  # ‖∇‖² of a pack, not of a sample


def test_under_packing_the_image_clock_counts_the_m_times_larger_batch(tmp_path, monkeypatch):
    """An EMA with a half-life in kimg (StyleGAN2's clock) and images/s count what was drawn:
    batch_size × m samples per iteration with pacgan."""
    from ganzoo.engine import ema as ema_module

    seen: list[int] = []
    update = ema_module.update
    monkeypatch.setattr(ema_module, "update", lambda *args: (seen.append(args[-1]), update(*args))[1])
    trainer = Trainer(points_config(["pacgan", "ema"], **{"pacgan.m": "3", "ema.half_life_kimg": "1"}),
                      get_registry(), run_dir=tmp_path / "run", quiet=True)
    trainer.build()
    ctx = trainer.context()
    trainer.train_iteration(ctx)
    trainer.train_iteration(ctx)
    assert seen == [8 * 3, 8 * 3]
