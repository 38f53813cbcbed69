"""BigGAN: the authors' networks to the parameter, its defining parts, the paper's schedule, the
truncation trick's distribution, gradient accumulation, and learning the asked-for digits."""

from __future__ import annotations

import json
import math

import pytest
import torch
from click.testing import CliRunner

import ganzoo
from ganzoo.api import make_config
from ganzoo.cli.main import cli
from ganzoo.engine.ema import EMASettings
from ganzoo.parts.layers import SelfAttention, is_spectrally_normalised
from ganzoo.registry import get_registry

SMALL = {"model.g_ch": "4", "model.d_ch": "4", "model.latent_dim": "16", "model.shared_dim": "8", "model.g_attention": "16",
         "model.d_attention": "16"}


def networks(shape=(3, 32, 32), classes=10, profile="paper", **sets: str):
    registry = get_registry()
    config = make_config("biggan", profile=profile, overrides=sets)
    return registry.networks(registry.variant("biggan"), config, ganzoo.DataInfo("labelled-images", shape, classes))


def info(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["info", "biggan", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_imagenet128_networks_have_the_authors_70_4m_and_88_0m_parameters():
    found = info("--profile", "imagenet128", "--shape", "3,128,128", "--classes", "1000")
    assert found["networks"]["generator"]["parameters"] == 70_433_988
    assert found["networks"]["discriminator"]["parameters"] == 87_982_370
    assert found["loss"] == "hinge" and "truncated normal" in found["truncation"]
    assert "--G_ortho 0.0" in found["notes"] and "sagan-settings" in found["notes"]


def test_cifar10_networks_have_the_counts_of_launch_cifar_ema():
    found = info("--profile", "cifar10", "--shape", "3,32,32", "--classes", "10")
    assert found["networks"]["generator"]["parameters"] == 4_304_387
    assert found["networks"]["discriminator"]["parameters"] == 4_207_361


def test_one_unnormalised_shared_embedding_feeds_bias_free_sn_linears_of_every_conditional_bn():
    from ganzoo_biggan.networks import ClassConditionalBatchNorm

    G = networks(**SMALL)["generator"]
    embeddings = [m for m in G.modules() if isinstance(m, torch.nn.Embedding)]
    assert embeddings == [G.shared] and G.shared.weight.shape == (10, 8) and not is_spectrally_normalised(G.shared)
    norms = [m for m in G.modules() if isinstance(m, ClassConditionalBatchNorm)]
    assert len(norms) == 6  # two per block, three blocks at 32 px
    for norm in norms:
        for linear in (norm.gain, norm.bias):
            assert isinstance(linear, torch.nn.Linear) and linear.bias is None and is_spectrally_normalised(linear)
            assert linear.in_features == 8 + 4  # shared embedding + this block's z chunk


def test_shared_init_gain_scales_the_orthogonal_rows_of_the_shared_embedding():
    """The code's embedding rows are orthonormal; the demo's gain makes the class as loud as a z chunk."""
    sets = {**SMALL, "model.shared_dim": "16"}
    plain = networks(**sets)["generator"].shared.weight
    torch.manual_seed(0)
    louder = networks(**sets, **{"model.shared_init_gain": "4"})["generator"].shared.weight
    for weight, gain in ((plain, 1.0), (louder, 4.0)):
        assert torch.allclose(weight @ weight.t(), gain**2 * torch.eye(10), atol=1e-4)
    assert make_config("biggan", profile="demo").model.shared_init_gain > 1
    assert make_config("biggan", profile="paper").model.shared_init_gain == 1


def test_16_px_layout_is_the_32_px_one_a_block_shorter():
    nets = networks((1, 16, 16), 10, **{**SMALL, "model.g_attention": "8", "model.d_attention": "8"})
    G, D = nets["generator"], nets["discriminator"]
    assert len(G.blocks) == 2 and G.num_chunks == 3 and [len(block) for block in G.blocks] == [2, 1]
    labels = torch.tensor([0, 3, 9])
    images = G(torch.randn(3, G.latent_dim), labels)
    assert images.shape == (3, 1, 16, 16) and D(images, labels).shape == (3,)


def test_hierarchical_z_gives_the_first_layer_and_each_block_its_own_chunk():
    G = networks(**SMALL)["generator"]
    assert (G.num_chunks, G.chunk, G.linear.in_features) == (4, 4, 4)
    z, labels = torch.randn(5, 16), torch.tensor([0, 1, 2, 3, 4])
    first, conditions = G.conditions(z, labels)
    assert torch.equal(first, z[:, :4])
    for index, condition in enumerate(conditions):
        assert torch.equal(condition[:, :8], G.shared(labels))
        assert torch.equal(condition[:, 8:], z[:, 4 * (index + 1):4 * (index + 2)])
    # a block's chunk changes the image: z is used throughout, not only at the input
    G.eval()
    changed = z.clone()
    changed[:, 12:] += 1.0
    assert not torch.allclose(G(z, labels), G(changed, labels))


def test_attention_where_named_orthogonal_init_and_spectral_norm_everywhere_but_the_embedding():
    nets = networks(**SMALL)
    G, D = nets["generator"], nets["discriminator"]
    assert [len(block) for block in G.blocks] == [1, 2, 1]  # attention after the block making 16×16
    assert [type(b).__name__ for b in D.blocks] == ["DiscriminatorBlock", "SelfAttention", "DiscriminatorBlock",
                                                    "DiscriminatorBlock", "DiscriminatorBlock"]
    for net in (G, D):
        layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        assert layers and all(is_spectrally_normalised(m) for m in layers)
    assert is_spectrally_normalised(D.head.embedding)
    assert all(m.gamma.item() == 0 for m in (*G.modules(), *D.modules()) if isinstance(m, SelfAttention))
    conv = G.blocks[0][0].conv1.parametrizations.weight.original.flatten(1)  # 16 × 144: orthogonal rows
    assert torch.allclose(conv @ conv.t(), torch.eye(conv.shape[0]), atol=1e-5)
    cifar = networks(profile="cifar10")["generator"]
    weight = cifar.blocks[0][0].conv1.parametrizations.weight.original
    assert abs(weight.std().item() - 0.02) < 0.002  # N(0, 0.02), the CIFAR script's --G_init N02


def test_networks_map_noise_and_classes_to_images_and_scores():
    nets = networks((1, 32, 32), 10, **SMALL)
    labels = torch.tensor([0, 3, 9])
    images = nets["generator"](torch.randn(3, 16), labels)
    assert images.shape == (3, 1, 32, 32) and images.abs().max() <= 1
    assert nets["discriminator"](images, labels).shape == (3,)


def test_unsupported_sizes_and_missing_labels_are_one_line_errors():
    from ganzoo.errors import UserError

    with pytest.raises(UserError, match="--image-size 32"):
        networks((1, 28, 28), 10, **SMALL)
    with pytest.raises(UserError, match="class labels"):
        networks((1, 32, 32), 0, **SMALL)


def schedule_of(profile: str):
    registry = get_registry()
    config = make_config("biggan", profile=profile, overrides=SMALL)
    nets = networks(profile=profile, **SMALL)
    return config, registry.schedule(registry.variant("biggan"), config, nets)


def test_paper_schedule_is_appendix_c_with_ortho_regularisation_and_ema_from_a_start_step():
    config, schedule = schedule_of("paper")
    assert [(p.name, p.repeats) for p in schedule.players] == [("discriminator", 2), ("generator", 1)]
    groups = {p.name: p.optimizer.param_groups[0] for p in schedule.players}
    assert {k: (g["lr"], g["betas"], g["eps"]) for k, g in groups.items()} == {
        "discriminator": (2e-4, (0.0, 0.999), 1e-6), "generator": (5e-5, (0.0, 0.999), 1e-6)}
    assert schedule.ema == {"generator": EMASettings(decay=0.9999, start_step=20_000, buffers="average")}
    assert config.model.ortho_beta == 1e-4
    assert make_config("biggan", profile="imagenet128").model.ortho_beta == 1e-4


def test_sagan_settings_profile_is_the_launch_scripts_without_ortho_regularisation():
    config, schedule = schedule_of("sagan-settings")
    assert [(p.name, p.repeats, p.optimizer.param_groups[0]["lr"]) for p in schedule.players] == [
        ("discriminator", 1, 4e-4), ("generator", 1, 1e-4)]
    assert config.model.ortho_beta == 0.0
    cifar = make_config("biggan", profile="cifar10").model
    assert (cifar.ortho_beta, cifar.ema_start, cifar.d_steps) == (0.0, 1000, 4)


def test_generator_loss_carries_the_ortho_term_only_when_beta_is_set():
    from ganzoo.parts.regularisers import orthogonal_regularisation
    from ganzoo.spec import StepContext

    registry = get_registry()
    variant = registry.variant("biggan")
    for beta, expected in (("1e-4", {"adv", "ortho"}), ("0", {"adv"})):
        config = make_config("biggan", overrides={**SMALL, "model.ortho_beta": beta})
        nets = networks(**SMALL, **{"model.ortho_beta": beta})
        batch = {"real": torch.rand(4, 3, 32, 32) * 2 - 1, "label": torch.tensor([0, 1, 2, 3])}
        ctx = StepContext(variant, config, nets, batch, 0, torch.device("cpu"))
        terms = registry.losses(variant, "generator", ctx)
        assert set(terms) == expected
        if "ortho" in terms:
            assert torch.allclose(terms["ortho"], orthogonal_regularisation(nets["generator"], 1e-4))


# -- truncation ----------------------------------------------------------------------------------


def test_truncated_z_is_the_truncated_normal_not_a_scaled_one():
    from ganzoo_biggan.sampling import truncated_normal

    threshold = 0.5
    z = truncated_normal((400_000,), threshold, torch.Generator().manual_seed(0))
    assert z.abs().max() <= threshold
    normal = torch.distributions.Normal(0.0, 1.0)
    mass = 2 * normal.cdf(torch.tensor(threshold)) - 1
    # variance of N(0, 1) conditioned on |z| ≤ t: 1 − 2tφ(t) / (2Φ(t) − 1) ≈ 0.0796 at t = 0.5
    density = math.exp(-threshold**2 / 2) / math.sqrt(2 * math.pi)
    variance = 1 - 2 * threshold * density / mass.item()
    assert abs(z.var().item() - variance) < 0.002
    # its CDF is Φ's restricted to [−t, t]: a scaled normal's is not (checked at a few points)
    for x in (-0.4, -0.2, 0.0, 0.1, 0.3):
        expected = (normal.cdf(torch.tensor(x)) - normal.cdf(torch.tensor(-threshold))) / mass
        assert abs((z <= x).float().mean().item() - expected.item()) < 0.004
    scaled = torch.randn(400_000, generator=torch.Generator().manual_seed(0)) * math.sqrt(variance)
    assert abs((scaled <= 0.3).float().mean().item() - ((normal.cdf(torch.tensor(0.3)) - normal.cdf(
        torch.tensor(-threshold))) / mass).item()) > 0.01


def test_sampling_without_truncation_draws_plain_normal_z():
    from ganzoo_biggan.sampling import draw

    z, labels = draw(6, 16, 10, "cpu", torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(3)
    assert torch.equal(z, torch.randn(6, 16, generator=generator))
    assert torch.equal(labels, torch.randint(10, (6,), generator=generator))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("biggan") / "run"
    ganzoo.train("biggan", steps=1, batch_size=4, image_size=32, out=out, sample_every=1, checkpoint_every=1,
                 overrides=SMALL)
    return out


def test_ganzoo_sample_truncation_narrows_z_and_keeps_untruncated_sampling(tiny_run, tmp_path):
    run = ganzoo.load(tiny_run)
    labels = torch.arange(10).repeat(2)
    plain = run.sample(20, labels=labels, seed=1)
    assert torch.equal(plain, run.sample(20, labels=labels, seed=1, truncation=None))
    truncated = run.sample(20, labels=labels, seed=1, truncation=0.5)
    assert not torch.allclose(plain, truncated)
    result = CliRunner().invoke(cli, ["sample", str(tiny_run), "--class", "3", "--n", "4", "--truncation", "0.5",
                                      "--out", str(tmp_path / "t.npz")])
    assert result.exit_code == 0, result.output
    for bad in ("0", "-1", "nan"):
        result = CliRunner().invoke(cli, ["sample", str(tiny_run), "--truncation", bad, "--out", str(tmp_path / "b.png")])
        assert result.exit_code == 2 and "--truncation" in result.output and not (tmp_path / "b.png").exists()


def test_truncation_table_narrows_the_spread_of_each_asked_digit_as_the_threshold_falls(tiny_run):
    """scripts/truncation_table.py, the command behind docs/evaluation.md's truncation table: one row per
    threshold, and the within-class spread (variety) falls with the threshold, even untrained."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[1] / "scripts" / "truncation_table.py"
    result = subprocess.run([sys.executable, str(script), str(tiny_run), "--thresholds", "none", "1.0", "0.5", "0.25",
                             "--n", "40"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row[0].strip() for row in rows[1:]] == ["none", "1.0", "0.5", "0.25", "real digits"]
    pixel_spread = [float(row[4]) for row in rows[1:-1]]
    assert pixel_spread == sorted(pixel_spread, reverse=True) and pixel_spread[-1] < 0.5 * pixel_spread[0]
    assert float(rows[-1][4]) > 0 and float(rows[-1][3]) > 0  # the real digits' variety, to compare with


def test_variants_without_truncation_refuse_it_in_one_line(tmp_path):
    out = tmp_path / "run"
    ganzoo.train("dcgan", steps=1, batch_size=4, image_size=16, out=out, checkpoint_every=1, sample_every=1,
                 overrides={"model.ngf": "4", "model.ndf": "4", "model.latent_dim": "8"})
    result = CliRunner().invoke(cli, ["sample", str(out), "--truncation", "0.5", "--out", str(tmp_path / "s.png")])
    assert result.exit_code == 2
    assert "dcgan does not support --truncation" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "s.png").exists()


# -- gradient accumulation -----------------------------------------------------------------------


def test_accumulated_updates_equal_one_big_batch():
    from ganzoo_biggan.accumulation import accumulated_update

    from ganzoo.parts.losses import adversarial_loss

    torch.manual_seed(0)
    hinge = adversarial_loss("hinge")
    real, fake = torch.rand(16, 3, 32, 32) * 2 - 1, torch.rand(16, 3, 32, 32) * 2 - 1
    labels = torch.randint(10, (16,))
    start = {k: v.clone() for k, v in networks(**SMALL)["discriminator"].state_dict().items()}
    after = []
    for accumulations in (1, 4):
        D = networks(**SMALL)["discriminator"]
        D.load_state_dict(start)
        D.eval()  # spectral norm's stored σ estimate: the same function for every micro-batch
        optimizer = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.0, 0.999), eps=1e-6)
        size = 16 // accumulations

        def terms(index: int, D=D, size=size):
            part = slice(index * size, (index + 1) * size)
            return hinge.discriminator_terms(D(real[part], labels[part]), D(fake[part], labels[part]))

        for _ in range(3):
            logged = accumulated_update(optimizer, terms, accumulations)
        after.append(({k: v.clone() for k, v in D.state_dict().items()}, logged))
    (one, logged_one), (accumulated, logged_four) = after
    assert any(not torch.equal(one[k], start[k]) for k in one)  # the updates moved the weights
    for key in one:
        assert torch.allclose(one[key], accumulated[key], atol=1e-5), key
    for key in logged_one:
        assert torch.allclose(logged_one[key], logged_four[key], atol=1e-5)


# -- learning ----------------------------------------------------------------------------------------

#: The demo's parts and optimiser at 16 px (G 64-32-16, attention at 8 px in both, z of 24 in three
#: chunks), short enough for CI. Trial runs with one thread (about 60 s of CPU for 500 steps): class
#: accuracy of the EMA generator 0.81 (seed 0) and 0.64 (seed 1) at 500 steps, 0.98 and 0.60 at 600.
LEARNING = {"image_size": "16", "model.g_widths": "[4, 2, 1]", "model.g_attention": "[8]", "model.d_attention": "[8]",
            "model.latent_dim": "24", "model.d_steps": "1", "model.lr_g": "5e-4", "model.lr_d": "1e-3",
            "model.ema_decay": "0.99", "model.shared_init_gain": "5.66"}
LEARNING_STEPS = 500
#: Share of samples the shipped classifier reads as the asked digit; chance is 0.1.
MIN_CLASS_ACCURACY = 0.4


@pytest.mark.slow
def test_biggan_learns_the_asked_for_digits(tmp_path):
    from ganzoo.metrics.digits import classify_digits

    result = ganzoo.train("biggan", profile="demo", steps=LEARNING_STEPS, batch_size=32, seed=0, log_every=100,
                          sample_every=LEARNING_STEPS, checkpoint_every=LEARNING_STEPS, out=tmp_path / "run",
                          overrides=LEARNING)
    run = ganzoo.load(result.run_dir)
    assert run.weights == "ema"
    labels = torch.arange(10).repeat_interleave(30)
    predicted, confidence = classify_digits(run.sample(300, labels=labels, seed=1))
    accuracy = (predicted == labels).float().mean().item()
    print(f"biggan: class accuracy {accuracy:.3f}, mean confidence {confidence.mean():.3f}")
    assert accuracy > MIN_CLASS_ACCURACY
